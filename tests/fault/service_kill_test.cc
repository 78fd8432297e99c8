// Fault: each service, and then the gateway, killed with SIGKILL in turn
// under a steady mixed load through the gateway, and started again on its
// port and database. Afterwards every acknowledged create is stored exactly
// once and every acknowledged update is in (the clients retried with their
// request ids and etags), the event consumers have caught up with every
// producer, and complaint deadlines that fell due while the complaints
// service was down are each announced once.
//
// "Fell due while down": with the complaints process dead, three of its
// complaints are moved 10 hours into the past in its database (recorded
// time, clock log, breach due times), as if 10 hours had passed during the
// outage; their 8-hour first-response clocks are then overdue, and nothing
// else is.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/db/pool.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "common/testing/status_matchers.h"
#include "crm/complaints/v1/events.pb.h"
#include "crm/events/v1/events.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"
#include "tests/fault/fault_load.h"

namespace crm::fault {
namespace {

using crm::testing::E2eContext;
using crm::testing::IsOk;
using crm::testing::Service;
using crm::testing::ServiceSuite;

const auth::Principal kService{"svc-fault", auth::Role::kService, ""};

int CountOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// "complaints/17" → 17.
int64_t IdOf(const std::string& name) {
  int64_t id = 0;
  EXPECT_TRUE(absl::SimpleAtoi(name.substr(name.rfind('/') + 1), &id)) << name;
  return id;
}

// ComplaintSlaBreached events on the complaints feed, per complaint.
std::map<std::string, int> Breaches(const ServiceSuite& suite) {
  std::map<std::string, int> out;
  events::v1::EventFeed::Stub feed(suite.complaints().channel());
  events::v1::ListEventsRequest req;
  req.set_page_size(1000);
  while (true) {
    events::v1::ListEventsResponse page;
    grpc::Status s = feed.ListEvents(E2eContext(kService).get(), req, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok() || page.events().empty()) return out;
    for (const auto& e : page.events()) {
      complaints::v1::ComplaintSlaBreached b;
      if (e.payload().UnpackTo(&b)) ++out[b.complaint()];
    }
    req.set_after_sequence(page.events().rbegin()->sequence());
  }
}

int64_t QueryInt(const db::DbConfig& database, const std::string& query) {
  db::DbConfig config = database;
  config.pool_size = 1;
  db::ConnectionPool pool(config);
  int64_t value = -1;
  absl::Status s = db::WithConnection(pool, absl::Now() + absl::Seconds(10), [&](sql::Connection& conn) {
    auto rs = db::Query(conn, query);
    if (rs->next()) value = rs->getInt64(1);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << query << ": " << s;
  return value;
}

TEST(ServiceKillTest, EachServiceKilledUnderLoadLosesAndDuplicatesNothing) {
  auto created = ServiceSuite::Create({.binaries = {CRM_CUSTOMERS_BINARY, CRM_OPPORTUNITIES_BINARY,
                                                    CRM_COMPLAINTS_BINARY, CRM_SCHEDULING_BINARY, CRM_GATEWAY_BINARY}});
  ASSERT_THAT(created, IsOk());
  ServiceSuite& suite = **created;
  suite.complaints().env()["CRM_BREACH_SWEEP_INTERVAL"] = "100ms";
  ASSERT_THAT(suite.Start(), IsOk());

  MixedLoad load({.gateway = suite.gateway().channel(), .workers = 6, .tag = "kill"});
  load.Start();
  ASSERT_TRUE(load.WaitForAcknowledged(100, absl::Seconds(60))) << "the load did not get going";

  int faults = 0;
  std::vector<std::string> overdue;
  for (Service service : testing::kAllServices) {
    SCOPED_TRACE(testing::ServiceName(service));
    auto killed = suite.Kill(service);
    ASSERT_THAT(killed, IsOk());
    EXPECT_TRUE(WIFSIGNALED(*killed) && WTERMSIG(*killed) == SIGKILL);
    ++faults;
    // The load runs into the outage (its calls fail and are retried) ...
    EXPECT_TRUE(load.WaitForFailedAttempts(5, absl::Seconds(20)));
    if (service == Service::kComplaints) {
      const std::vector<std::string> recorded = load.AcknowledgedComplaints();
      ASSERT_GE(recorded.size(), 3u);
      overdue.assign(recorded.begin(), recorded.begin() + 3);
      std::vector<std::string> ids;
      for (const std::string& name : overdue) ids.push_back(absl::StrCat(IdOf(name)));
      const std::string in = absl::StrCat(" IN (", absl::StrJoin(ids, ","), ")");
      db::ConnectionPool pool(suite.complaints().database());
      absl::Status moved = db::RunInTransaction(pool, absl::Now() + absl::Seconds(20), [&](sql::Connection& conn) {
        db::Execute(conn, absl::StrCat("UPDATE clock_transitions SET at = at - INTERVAL 10 HOUR WHERE complaint_id", in));
        db::Execute(conn, absl::StrCat("UPDATE complaint_clocks SET breach_due = breach_due - INTERVAL 10 HOUR, "
                                       "at_risk_time = at_risk_time - INTERVAL 10 HOUR WHERE complaint_id",
                                       in));
        db::Execute(conn, absl::StrCat("UPDATE complaints SET create_time = create_time - INTERVAL 10 HOUR WHERE id", in));
        return absl::OkStatus();
      });
      ASSERT_THAT(moved, IsOk());
    }
    ASSERT_THAT(suite.Restart(service), IsOk());
    // ... and goes on once the service is back.
    ASSERT_TRUE(load.WaitForAcknowledged(60, absl::Seconds(60)))
        << "no progress after the restart\n" << absl::StrJoin(load.error_samples(), "\n");
  }
  const MixedLoad::Verification v = StopAndVerify(load, suite);

  // Breaches: each overdue complaint announced once, after at least three
  // more sweeps; no other complaint.
  ASSERT_TRUE(Eventually([&] { return Breaches(suite).size() >= overdue.size(); }, absl::Seconds(30)))
      << suite.complaints().Log();
  const int sweeps = CountOf(suite.complaints().Log(), "breach sweep");
  ASSERT_TRUE(Eventually([&] { return CountOf(suite.complaints().Log(), "breach sweep") >= sweeps + 3; },
                         absl::Seconds(30)));
  std::map<std::string, int> wanted;
  for (const std::string& name : overdue) wanted[name] = 1;
  EXPECT_EQ(Breaches(suite), wanted);

  // Event consumers: every cursor at its producer's last event, and the
  // scheduling service's customer projection holds every customer once.
  auto last = [&](Service producer) {
    return QueryInt(suite.process(producer).database(), "SELECT last_sequence FROM event_sequence WHERE id = 1");
  };
  auto cursor = [&](Service consumer, const char* producer) {
    return QueryInt(suite.process(consumer).database(),
                    absl::StrCat("SELECT last_sequence FROM event_cursors WHERE producer = '", producer, "'"));
  };
  EXPECT_TRUE(Eventually(
      [&] {
        return cursor(Service::kScheduling, "customers") == last(Service::kCustomers) &&
               cursor(Service::kScheduling, "opportunities") == last(Service::kOpportunities) &&
               cursor(Service::kScheduling, "complaints") == last(Service::kComplaints) &&
               cursor(Service::kOpportunities, "customers") == last(Service::kCustomers);
      },
      absl::Seconds(60)))
      << "scheduling at customers " << cursor(Service::kScheduling, "customers") << " of "
      << last(Service::kCustomers) << ", opportunities " << cursor(Service::kScheduling, "opportunities") << " of "
      << last(Service::kOpportunities) << ", complaints " << cursor(Service::kScheduling, "complaints") << " of "
      << last(Service::kComplaints);
  const std::vector<std::string> customers = load.AcknowledgedCustomers();
  EXPECT_EQ(QueryInt(suite.scheduling().database(), "SELECT COUNT(*) FROM care_customers"),
            QueryInt(suite.customers().database(), "SELECT COUNT(*) FROM customers"));
  std::vector<std::string> quoted;
  for (const std::string& name : customers) quoted.push_back(absl::StrCat("'", name, "'"));
  const int64_t projected =
      QueryInt(suite.scheduling().database(), absl::StrCat("SELECT COUNT(*) FROM care_customers WHERE customer IN (",
                                                           absl::StrJoin(quoted, ","), ")"));
  EXPECT_EQ(projected, static_cast<int64_t>(customers.size()));

  PrintLoadFigures("kill -9 each service + gateway", faults, load, v);
}

}  // namespace
}  // namespace crm::fault
