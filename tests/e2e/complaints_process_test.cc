// End to end: the real crm-customers binary and two replicas of
// crm-complaints on one database, configured by environment and spoken to
// over gRPC. A deadline that passes while every replica is down is
// announced once after they come back, however many replicas sweep; a
// complaint made while the customers service is down is still recorded and
// re-evaluated once it is back.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/db/pool.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "crm/complaints/v1/complaints.grpc.pb.h"
#include "crm/complaints/v1/events.pb.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "crm/events/v1/events.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"

namespace crm {
namespace {

namespace cpb = ::crm::customers::v1;
namespace pb = ::crm::complaints::v1;
using crm::testing::E2eContext;
using crm::testing::ServiceProcess;

const auth::Principal kOwner{"mgr-owner", auth::Role::kManager, "east"};
const auth::Principal kService{"svc-e2e", auth::Role::kService, ""};

// Polls `done` until it holds or `timeout` passes (waits on a condition,
// not on time: each poll is a real round trip).
bool Eventually(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time until = absl::Now() + timeout;
  while (absl::Now() < until) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

int CountOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class ComplaintsProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto customers = ServiceProcess::Create("customers", CRM_CUSTOMERS_BINARY);
    ASSERT_TRUE(customers.ok()) << customers.status();
    customers_ = std::move(*customers);
    ASSERT_TRUE(customers_->Start().ok()) << customers_->Log();
    // Restarts keep the address the complaints service was given.
    customers_->env()["CRM_LISTEN_ADDRESS"] = customers_->address();

    for (const char* name : {"complaints-a", "complaints-b"}) {
      auto replica = ServiceProcess::Create(name, CRM_COMPLAINTS_BINARY);
      ASSERT_TRUE(replica.ok()) << replica.status();
      (*replica)->env()["CRM_CUSTOMERS_ADDRESS"] = customers_->address();
      (*replica)->env()["CRM_BREACH_SWEEP_INTERVAL"] = "100ms";
      (*replica)->env()["CRM_CUSTOMERS_LOOKUP_TIMEOUT"] = "1s";
      if (!replicas_.empty()) (*replica)->ShareDatabaseWith(*replicas_.front());
      replicas_.push_back(std::move(*replica));
    }
    // One after the other: the second finds the migrations applied.
    for (auto& r : replicas_) ASSERT_TRUE(r->Start().ok()) << r->Log();
  }

  std::string NewCustomer() {
    cpb::CreateCustomerRequest create;
    create.mutable_customer()->set_kind(cpb::INDIVIDUAL);
    create.mutable_customer()->set_display_name("投诉客户");
    cpb::Customer customer;
    grpc::Status s = cpb::CustomerService::NewStub(customers_->channel())
                         ->CreateCustomer(E2eContext(kOwner).get(), create, &customer);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return customer.name();
  }

  absl::StatusOr<pb::Complaint> Record(const std::string& customer, ServiceProcess& via) {
    pb::RecordComplaintRequest req;
    req.set_request_id(absl::StrCat("e2e-", customer, "-", absl::ToUnixNanos(absl::Now())));
    req.mutable_complaint()->set_customer(customer);
    req.mutable_complaint()->set_channel(pb::HALL);
    req.mutable_complaint()->set_category(pb::TARIFF);
    req.mutable_complaint()->set_statement("账单多扣费");
    pb::Complaint out;
    grpc::Status s = pb::ComplaintService::NewStub(via.channel())->RecordComplaint(E2eContext(kOwner).get(), req, &out);
    if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    return out;
  }

  absl::StatusOr<pb::Complaint> Get(const std::string& name, ServiceProcess& via) {
    pb::GetComplaintRequest req;
    req.set_name(name);
    pb::Complaint out;
    grpc::Status s = pb::ComplaintService::NewStub(via.channel())->GetComplaint(E2eContext(kOwner).get(), req, &out);
    if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    return out;
  }

  // ComplaintSlaBreached events on the shared feed, by complaint.
  std::vector<pb::ComplaintSlaBreached> Breaches(const std::string& complaint) {
    std::vector<pb::ComplaintSlaBreached> out;
    events::v1::ListEventsRequest req;
    req.set_page_size(1000);
    events::v1::ListEventsResponse page;
    grpc::Status s = events::v1::EventFeed::NewStub(replicas_.front()->channel())
                         ->ListEvents(E2eContext(kService).get(), req, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const auto& e : page.events()) {
      pb::ComplaintSlaBreached b;
      if (e.payload().UnpackTo(&b) && b.complaint() == complaint) out.push_back(b);
    }
    return out;
  }

  std::unique_ptr<ServiceProcess> customers_;
  std::vector<std::unique_ptr<ServiceProcess>> replicas_;
};

TEST_F(ComplaintsProcessTest, ADeadlineThatPassesWhileDownIsAnnouncedOnceByTwoReplicas) {
  auto complaint = Record(NewCustomer(), *replicas_[0]);  // unranked → C: first response 8 h
  ASSERT_TRUE(complaint.ok()) << complaint.status();
  ASSERT_TRUE(Get(complaint->name(), *replicas_[1]).ok());  // both replicas serve it

  for (auto& r : replicas_) ASSERT_TRUE(r->Stop(SIGKILL).has_value());
  // Ten hours pass while nothing runs: move the complaint's recorded times
  // back instead of waiting (the clock is computed from its log).
  db::ConnectionPool pool(replicas_[0]->database());
  absl::Status moved = db::RunInTransaction(pool, absl::Now() + absl::Seconds(20), [&](sql::Connection& conn) {
    db::Execute(conn, "UPDATE clock_transitions SET at = at - INTERVAL 10 HOUR");
    db::Execute(conn, "UPDATE complaint_clocks SET breach_due = breach_due - INTERVAL 10 HOUR, "
                      "at_risk_time = at_risk_time - INTERVAL 10 HOUR");
    db::Execute(conn, "UPDATE complaints SET create_time = create_time - INTERVAL 10 HOUR");
    return absl::OkStatus();
  });
  ASSERT_TRUE(moved.ok()) << moved;

  for (auto& r : replicas_) ASSERT_TRUE(r->Start().ok()) << r->Log();
  ASSERT_TRUE(Eventually([&] { return !Breaches(complaint->name()).empty(); })) << replicas_[0]->Log();
  // Both replicas have swept at least three more times since: nothing new.
  const int seen_a = CountOf(replicas_[0]->Log(), "breach sweep"), seen_b = CountOf(replicas_[1]->Log(), "breach sweep");
  ASSERT_TRUE(Eventually([&] {
    return CountOf(replicas_[0]->Log(), "breach sweep") >= seen_a + 3 &&
           CountOf(replicas_[1]->Log(), "breach sweep") >= seen_b + 3;
  }));
  const auto breaches = Breaches(complaint->name());
  ASSERT_EQ(breaches.size(), 1u);
  EXPECT_EQ(breaches[0].clock(), "FIRST_RESPONSE");
  EXPECT_EQ(breaches[0].owner(), "mgr-owner");
  EXPECT_EQ(breaches[0].team(), "east");
  auto after = Get(complaint->name(), *replicas_[1]);
  ASSERT_TRUE(after.ok()) << after.status();
  for (const auto& clock : after->clocks()) {
    EXPECT_EQ(clock.state(), clock.kind() == pb::FIRST_RESPONSE ? pb::BREACHED : pb::ON_TRACK)
        << pb::ClockKind_Name(clock.kind());
  }
}

TEST_F(ComplaintsProcessTest, RecordedWhileCustomersIsDownThenReevaluated) {
  const std::string customer = NewCustomer();
  ASSERT_TRUE(customers_->Stop(SIGKILL).has_value());
  auto complaint = Record(customer, *replicas_[0]);
  ASSERT_TRUE(complaint.ok()) << complaint.status();
  EXPECT_TRUE(complaint->targets_provisional());
  for (const auto& clock : complaint->clocks()) {
    EXPECT_EQ(clock.target().seconds(), clock.kind() == pb::FIRST_RESPONSE ? 2 * 3600 : 24 * 3600);
  }
  ASSERT_TRUE(customers_->Start().ok()) << customers_->Log();
  // The replicas' job re-reads the customer with its own SERVICE token.
  ASSERT_TRUE(Eventually([&] {
    auto c = Get(complaint->name(), *replicas_[1]);
    return c.ok() && !c->targets_provisional();
  })) << replicas_[0]->Log() << replicas_[1]->Log();
  auto after = Get(complaint->name(), *replicas_[0]);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->tier_class(), pb::TIER_C);
  for (const auto& clock : after->clocks()) {
    EXPECT_EQ(clock.target().seconds(), clock.kind() == pb::FIRST_RESPONSE ? 8 * 3600 : 120 * 3600);
  }
}

}  // namespace
}  // namespace crm
