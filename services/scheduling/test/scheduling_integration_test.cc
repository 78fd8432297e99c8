// The scheduling service over gRPC against MariaDB, with the real customers
// service in-process (its own database) for geo points, ownership and
// tiers. Events of the other services are applied through the same intake
// the consumers use (event_intake.h); the e2e test runs the real feeds.
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/auth/token_minter.h"
#include "common/db/migrations.h"
#include "common/events/outbox.h"
#include "common/server/server.h"
#include "common/db/sql.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/testing/request_id_scope.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_database.h"
#include "common/util/proto_time.h"
#include "crm/complaints/v1/events.pb.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "crm/customers/v1/events.pb.h"
#include "crm/opportunities/v1/events.pb.h"
#include "crm/scheduling/v1/scheduling.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/customers/test/customer_test_env.h"
#include "services/scheduling/src/event_consumers.h"
#include "services/scheduling/src/event_intake.h"
#include "services/scheduling/src/mysql_scheduling_store.h"
#include "services/scheduling/src/scheduling_handler.h"
#include "services/scheduling/src/scheduling_migrations.h"

namespace crm::scheduling {
namespace {

namespace cpb = ::crm::customers::v1;
namespace ctest = ::crm::customers::testing;
using ::crm::testing::HasFieldViolation;
using ::crm::testing::StatusIs;
using ::testing::HasSubstr;
using auth::Role;

// 2027-01-01T00:00:00Z, a Friday, 08:00 in Shanghai (the customers test
// server's start too).
const absl::Time kStart = absl::FromUnixSeconds(1798761600);
const absl::TimeZone kShanghai = [] {
  absl::TimeZone tz;
  (void)absl::LoadTimeZone("Asia/Shanghai", &tz);
  return tz;
}();

absl::Time Local(int y, int m, int d, int hh, int mm = 0) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), kShanghai);
}

std::string Token(Role role, const std::string& subject, const std::string& team = "east") {
  auto token = auth::MintHs256Token(ctest::kTestKey, ctest::kIssuer, ctest::kAudience,
                                    auth::Principal{subject, role, team}, kStart, absl::Hours(24 * 400));
  return token.ok() ? *token : "";
}

std::unique_ptr<grpc::ClientContext> As(Role role, const std::string& subject, const std::string& team = "east") {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", absl::StrCat("Bearer ", Token(role, subject, team)));
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  return ctx;
}

absl::Status Status(const grpc::Status& s) { return FromGrpcStatus(s); }

std::string RequestId() {
  static std::atomic<int> n{0};
  return absl::StrCat("req-", ++n, "-", absl::ToUnixNanos(absl::Now()));
}

class SchedulingIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto customers_db = crm::testing::TestDatabase::Create();
    auto db = crm::testing::TestDatabase::Create();
    ASSERT_TRUE(customers_db.ok()) << customers_db.status();
    ASSERT_TRUE(db.ok()) << db.status();
    customers_db_ = new crm::testing::TestDatabase(std::move(*customers_db));
    db_ = new crm::testing::TestDatabase(std::move(*db));
    customers_ = ctest::CustomersServer::Start(customers_db_->config()).release();
    ASSERT_NE(customers_, nullptr);

    clock_ = new FakeClock(kStart);
    pool_ = new db::ConnectionPool(db_->config());
    ASSERT_TRUE(db::ApplyMigrations(*pool_, events::WithEventTables(Migrations()), absl::Now() + absl::Seconds(60))
                    .ok());
    store_ = new MysqlSchedulingStore(*pool_);
    verifier_ = ctest::NewTestVerifier(*clock_).release();
    tokens_ = new PageTokenCodec("page-token-test-key");
    sites_ = NewGrpcCustomerSites(customers_->channel(), absl::Seconds(5)).release();
    ServiceSettings settings;
    settings.festivals = {{0, 1, 5, "Team day"}};
    service_ = new SchedulingService(*store_, *sites_, *clock_, *tokens_, calendar_, settings);
    ASSERT_TRUE(service_->SeedCarePolicies(absl::Now() + absl::Seconds(10)).ok());
    handler_ = new SchedulingHandler(*service_, *verifier_);
    server_ = new server::GrpcServer(ctest::TestServerOptions(), {handler_}, {"crm.scheduling.v1.SchedulingService"},
                                     [] { return absl::OkStatus(); });
    auto port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.status();
    stub_ = pb::SchedulingService::NewStub(
                grpc::CreateChannel(absl::StrCat("127.0.0.1:", *port), grpc::InsecureChannelCredentials()))
                .release();

    // Ten enterprises of mgr-wang, the last with the highest revenue (tier
    // A after the recompute); sites spread east of the first by ~10 km each.
    for (int i = 1; i <= 10; ++i) {
      cpb::CreateCustomerRequest req;
      *req.mutable_customer() = ctest::Enterprise(absl::StrCat("Sched Co ", i), 700 + i);
      req.mutable_customer()->mutable_location()->set_longitude(119.30 + 0.1 * (i - 1));
      req.mutable_customer()->mutable_annual_revenue()->set_units(1000000 * i);
      cpb::Customer c;
      ASSERT_TRUE(customers_->stub().CreateCustomer(As(Role::kManager, "mgr-wang").get(), req, &c).ok());
      customer_names_.push_back(c.name());
    }
    cpb::RecomputeTiersRequest recompute;
    recompute.set_reason("test");
    cpb::RecomputeTiersResponse recomputed;
    ASSERT_TRUE(customers_->stub().RecomputeTiers(As(Role::kAdmin, "admin").get(), recompute, &recomputed).ok());
  }
  static void TearDownTestSuite() {
    server_->Shutdown();
    delete stub_;
    delete server_;
    delete handler_;
    delete service_;
    delete sites_;
    delete tokens_;
    delete verifier_;
    delete store_;
    delete pool_;
    delete clock_;
    delete customers_;
    delete db_;
    delete customers_db_;
  }

  static const std::string& CustomerAt(int i) { return customer_names_[i]; }
  static const std::string& TierACustomer() { return customer_names_.back(); }

  static pb::Visit NewVisit(const std::string& customer, absl::Time start, absl::Duration length,
                            pb::VisitPurpose purpose = pb::COURTESY) {
    pb::Visit v;
    v.set_customer(customer);
    v.set_purpose(purpose);
    ToProto(start, v.mutable_start_time());
    ToProto(start + length, v.mutable_end_time());
    v.add_checklist()->set_text("bring the renewal offer");
    return v;
  }

  // Books as mgr-wang (who owns every test customer), or, for another
  // manager of the team, as the team's supervisor on their behalf.
  static absl::StatusOr<pb::Visit> Book(const pb::Visit& v, const std::string& manager = "mgr-wang",
                                        const std::string& request_id = "") {
    pb::BookVisitRequest req;
    *req.mutable_visit() = v;
    req.set_request_id(request_id);
    if (manager != "mgr-wang") req.mutable_visit()->set_owner(manager);
    pb::Visit out;
    grpc::Status s = stub_->BookVisit(
        (manager == "mgr-wang" ? As(Role::kManager, manager) : As(Role::kSupervisor, "sup-east", "east")).get(), req,
        &out);
    if (!s.ok()) return Status(s);
    return out;
  }

  static int64_t CountRows(const std::string& table) {
    auto lease = pool_->Acquire(absl::Now() + absl::Seconds(5));
    auto rs = db::Query(lease->get(), absl::StrCat("SELECT COUNT(*) AS n FROM ", table));
    return rs->next() ? rs->getInt64("n") : -1;
  }

  // Applies `payload` as event `sequence` of `producer`, as the consumers do.
  static absl::Status Deliver(const std::string& producer, int64_t sequence,
                              const google::protobuf::Message& payload) {
    events::v1::Event e;
    e.set_sequence(sequence);
    e.set_producer(producer);
    e.set_type(payload.GetDescriptor()->full_name());
    ToProto(clock_->Now(), e.mutable_event_time());
    e.mutable_payload()->PackFrom(payload);
    return store_->Transact(
        absl::Now() + absl::Seconds(10),
        [&](SchedulingTx& tx) { return ApplyEvent(tx, e, calendar_, clock_->Now()); }, "test event");
  }

  static pb::ListTasksResponse Tasks(pb::ListTasksRequest req, const std::string& as = "mgr-wang",
                                     Role role = Role::kManager) {
    pb::ListTasksResponse resp;
    EXPECT_TRUE(stub_->ListTasks(As(role, as).get(), req, &resp).ok());
    return resp;
  }

  static inline crm::testing::TestDatabase* customers_db_ = nullptr;
  static inline crm::testing::TestDatabase* db_ = nullptr;
  static inline ctest::CustomersServer* customers_ = nullptr;
  static inline FakeClock* clock_ = nullptr;
  static inline const calendar::WorkingCalendar calendar_{};
  static inline db::ConnectionPool* pool_ = nullptr;
  static inline MysqlSchedulingStore* store_ = nullptr;
  static inline auth::TokenVerifier* verifier_ = nullptr;
  static inline PageTokenCodec* tokens_ = nullptr;
  static inline CustomerSites* sites_ = nullptr;
  static inline SchedulingService* service_ = nullptr;
  static inline SchedulingHandler* handler_ = nullptr;
  static inline server::GrpcServer* server_ = nullptr;
  static inline pb::SchedulingService::Stub* stub_ = nullptr;
  static inline std::vector<std::string> customer_names_;
};

// ---------------------------------------------------------------- visits

TEST_F(SchedulingIntegrationTest, BookingDefaultsPlaceAndLocationFromTheCustomer) {
  auto v = Book(NewVisit(CustomerAt(0), Local(2027, 2, 1, 9), absl::Hours(1)));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->status(), pb::PLANNED);
  EXPECT_EQ(v->owner(), "mgr-wang");
  EXPECT_EQ(v->team(), "east");
  EXPECT_EQ(v->place(), "福建省福州市鼓楼区五四路 1 号");
  EXPECT_NEAR(v->location().longitude(), 119.30, 1e-9);
  pb::GetVisitRequest get;
  get.set_name(v->name());
  pb::Visit read;
  ASSERT_TRUE(stub_->GetVisit(As(Role::kManager, "mgr-wang").get(), get, &read).ok());
  EXPECT_EQ(read.etag(), "1");
  EXPECT_EQ(read.checklist(0).text(), "bring the renewal offer");
}

TEST_F(SchedulingIntegrationTest, OverlapAndTravelTimeAreRefusedTouchingAtTheSamePlaceIsNot) {
  const absl::Time t = Local(2027, 2, 2, 9);
  ASSERT_TRUE(Book(NewVisit(CustomerAt(0), t, absl::Hours(1))).ok());
  // One minute of overlap.
  EXPECT_THAT(Book(NewVisit(CustomerAt(0), t + absl::Minutes(59), absl::Hours(1))).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("overlaps")));
  // Touching at the same customer: no travel needed.
  ASSERT_TRUE(Book(NewVisit(CustomerAt(0), t + absl::Hours(1), absl::Hours(1))).ok());
  // Customer 1 is ~10 km east: 10 km × 1.3 / 30 km/h = 26 min + 10 min margin.
  EXPECT_THAT(Book(NewVisit(CustomerAt(1), t + absl::Hours(2) + absl::Minutes(30), absl::Hours(1))).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("travel")));
  EXPECT_TRUE(Book(NewVisit(CustomerAt(1), t + absl::Hours(2) + absl::Minutes(40), absl::Hours(1))).ok());
  // …and before a visit too: ending 20 minutes before the 09:00 one elsewhere.
  EXPECT_THAT(Book(NewVisit(CustomerAt(1), t - absl::Minutes(80), absl::Hours(1))).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("travel")));
}

TEST_F(SchedulingIntegrationTest, ConcurrentBookingsForOneManagerNeverOverlap) {
  // 8 clients × 16 attempts at random half-hour-aligned slots of one day,
  // at two places ~10 km apart: many collide. Whatever was accepted must be
  // free of overlaps and of too-short travel gaps.
  const std::string manager = "mgr-wang";
  const absl::Time day = Local(2027, 3, 1, 8);
  std::atomic<int> accepted{0}, refused{0}, other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 rng(c);
      for (int i = 0; i < 16; ++i) {
        const absl::Time start = day + absl::Minutes(30) * static_cast<int>(rng() % 20);
        pb::BookVisitRequest req;
        *req.mutable_visit() = NewVisit(CustomerAt(static_cast<int>(rng() % 2)), start, absl::Minutes(60));
        pb::Visit out;
        grpc::Status s = stub_->BookVisit(As(Role::kManager, manager).get(), req, &out);
        if (s.ok()) {
          ++accepted;
        } else if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
          ++refused;
        } else {
          ++other;
          ADD_FAILURE() << s.error_message();
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_GT(accepted.load(), 2);
  EXPECT_GT(refused.load(), 0);
  EXPECT_EQ(other.load(), 0);

  pb::ListVisitsRequest list;
  list.set_owner(manager);
  list.set_page_size(500);
  ToProto(day, list.mutable_start_time());
  ToProto(day + absl::Hours(24), list.mutable_end_time());
  pb::ListVisitsResponse visits;
  ASSERT_TRUE(stub_->ListVisits(As(Role::kManager, manager).get(), list, &visits).ok());
  ASSERT_EQ(visits.visits_size(), accepted.load());
  std::vector<Slot> slots;
  for (const pb::Visit& v : visits.visits()) {
    slots.push_back({v.name(), FromProto(v.start_time()), FromProto(v.end_time()),
                     {v.location().latitude(), v.location().longitude(), true}, v.place()});
  }
  for (const Slot& s : slots) {
    EXPECT_FALSE(FindConflict(s, slots, TravelSettings{}).has_value()) << s.id << " conflicts";
  }
  std::cout << "concurrent bookings: " << accepted << " accepted, " << refused << " refused, 0 overlaps\n";
}

TEST_F(SchedulingIntegrationTest, BookingIsIdempotentByRequestId) {
  const std::string id = RequestId();
  const int64_t before = CountRows("visits");
  auto first = Book(NewVisit(CustomerAt(2), Local(2027, 2, 3, 9), absl::Hours(1)), "mgr-wang", id);
  auto again = Book(NewVisit(CustomerAt(2), Local(2027, 2, 3, 9), absl::Hours(1)), "mgr-wang", id);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(first->name(), again->name());
  EXPECT_EQ(CountRows("visits"), before + 1);
}

// Issue 8: a request id is scoped to its caller. Keyed on (method, request
// id) alone, a second caller reusing a first caller's request id was handed
// the first caller's visit, plan, log entry or claim.
TEST_F(SchedulingIntegrationTest, RequestIdsAreScopedToTheCaller) {
  using crm::testing::ExpectRequestIdScopedToCaller;
  using crm::testing::IdempotentCreate;
  using Stub = pb::SchedulingService::Stub;
  const std::map<std::string, Role> roles = {
      {"mgr-wang", Role::kManager}, {"sup-east", Role::kSupervisor}, {"mgr-idem-a", Role::kManager},
      {"mgr-idem-b", Role::kManager}};
  auto call = [&](auto rpc, const std::string& caller, const auto& req, auto* resp) {
    return Status((stub_->*rpc)(As(roles.at(caller), caller).get(), req, resp));
  };
  int n = 0;

  // mgr-wang books for themself, sup-east for mgr-idem-v, on mgr-wang's customer.
  const IdempotentCreate visits{
      .create = [&](const std::string& caller, const std::string& request_id) -> absl::StatusOr<std::string> {
        const pb::Visit v = NewVisit(CustomerAt(3), Local(2027, 3, 1 + ++n, 9), absl::Hours(1));
        ASSIGN_OR_RETURN(pb::Visit booked, Book(v, caller == "mgr-wang" ? "mgr-wang" : "mgr-idem-v", request_id));
        return booked.name();
      },
      .read = [&](const std::string& caller, const std::string& name) -> absl::StatusOr<std::string> {
        pb::GetVisitRequest req;
        req.set_name(name);
        pb::Visit out;
        RETURN_IF_ERROR(call(&Stub::GetVisit, caller, req, &out));
        return out.SerializeAsString();
      },
      .count = [] { return CountRows("visits"); }};
  ExpectRequestIdScopedToCaller(visits, "mgr-wang", "sup-east", RequestId());

  const IdempotentCreate plans{
      .create = [&](const std::string& caller, const std::string& request_id) -> absl::StatusOr<std::string> {
        pb::CreateWorkPlanRequest req;
        req.mutable_plan()->set_period(pb::YEAR);
        req.mutable_plan()->mutable_period_start()->set_year(2028 + ++n);
        req.mutable_plan()->mutable_period_start()->set_month(1);
        req.mutable_plan()->mutable_period_start()->set_day(1);
        req.mutable_plan()->add_items()->set_text("visit every A customer");
        req.set_request_id(request_id);
        pb::WorkPlan out;
        RETURN_IF_ERROR(call(&Stub::CreateWorkPlan, caller, req, &out));
        return out.name();
      },
      .read = [&](const std::string& caller, const std::string& name) -> absl::StatusOr<std::string> {
        pb::GetWorkPlanRequest req;
        req.set_name(name);
        pb::WorkPlan out;
        RETURN_IF_ERROR(call(&Stub::GetWorkPlan, caller, req, &out));
        return out.SerializeAsString();
      },
      .count = [] { return CountRows("work_plans"); }};
  ExpectRequestIdScopedToCaller(plans, "mgr-idem-a", "mgr-idem-b", RequestId());

  const IdempotentCreate log_entries{
      .create = [&](const std::string& caller, const std::string& request_id) -> absl::StatusOr<std::string> {
        pb::AddWorkLogEntryRequest req;
        req.mutable_entry()->mutable_date()->set_year(2027);
        req.mutable_entry()->mutable_date()->set_month(1);
        req.mutable_entry()->mutable_date()->set_day(1);
        req.mutable_entry()->set_text(absl::StrCat("called customer ", ++n));
        req.mutable_entry()->set_minutes(30);
        req.set_request_id(request_id);
        pb::WorkLogEntry out;
        RETURN_IF_ERROR(call(&Stub::AddWorkLogEntry, caller, req, &out));
        return out.name();
      },
      .read = [&](const std::string& caller, const std::string& name) -> absl::StatusOr<std::string> {
        pb::ListWorkLogEntriesRequest req;
        req.mutable_start_date()->set_year(2027);
        req.mutable_start_date()->set_month(1);
        req.mutable_start_date()->set_day(1);
        *req.mutable_end_date() = req.start_date();
        pb::ListWorkLogEntriesResponse out;
        RETURN_IF_ERROR(call(&Stub::ListWorkLogEntries, caller, req, &out));
        for (const pb::WorkLogEntry& e : out.entries()) {
          if (e.name() == name) return e.SerializeAsString();
        }
        return absl::NotFoundError(name);
      },
      .count = [] { return CountRows("work_log_entries"); }};
  ExpectRequestIdScopedToCaller(log_entries, "mgr-idem-a", "mgr-idem-b", RequestId());

  const IdempotentCreate claims{
      .create = [&](const std::string& caller, const std::string& request_id) -> absl::StatusOr<std::string> {
        pb::CreateExpenseClaimRequest req;
        req.mutable_claim()->set_month("2027-01");
        req.set_request_id(request_id);
        pb::ExpenseClaim out;
        RETURN_IF_ERROR(call(&Stub::CreateExpenseClaim, caller, req, &out));
        return out.name();
      },
      .read = [&](const std::string& caller, const std::string& name) -> absl::StatusOr<std::string> {
        pb::GetExpenseClaimRequest req;
        req.set_name(name);
        pb::ExpenseClaim out;
        RETURN_IF_ERROR(call(&Stub::GetExpenseClaim, caller, req, &out));
        return out.SerializeAsString();
      },
      .count = [] { return CountRows("expense_claims"); }};
  ExpectRequestIdScopedToCaller(claims, "mgr-idem-a", "mgr-idem-b", RequestId());
}

TEST_F(SchedulingIntegrationTest, BadBookingsNameTheFieldAndWriteNothing) {
  const int64_t before = CountRows("visits");
  const absl::Time t = Local(2027, 2, 4, 9);
  struct Case {
    std::function<void(pb::Visit&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](pb::Visit& v) { v.set_customer("customer/1"); }, "visit.customer"},
      {[](pb::Visit& v) { v.set_purpose(pb::VISIT_PURPOSE_UNSPECIFIED); }, "visit.purpose"},
      {[](pb::Visit& v) { v.set_purpose(static_cast<pb::VisitPurpose>(99)); }, "visit.purpose"},
      {[&](pb::Visit& v) { ToProto(t, v.mutable_end_time()); }, "visit.end_time"},
      {[](pb::Visit& v) { v.clear_start_time(); }, "visit.start_time"},
      {[](pb::Visit& v) {  // an hour before the fake clock's now
         ToProto(kStart - absl::Hours(1), v.mutable_start_time());
         ToProto(kStart, v.mutable_end_time());
       },
       "visit.start_time"},
      {[](pb::Visit& v) { v.set_contact("customers/999999/contacts/1"); }, "visit.contact"},
      {[](pb::Visit& v) { v.mutable_location()->set_latitude(91); }, "visit.location.latitude"},
      {[](pb::Visit& v) { v.set_place(std::string(501, 'x')); }, "visit.place"},
      {[](pb::Visit& v) { v.add_checklist(); }, "visit.checklist[1].text"},
  };
  for (const Case& c : cases) {
    pb::Visit v = NewVisit(CustomerAt(3), t, absl::Hours(1));
    c.mutate(v);
    EXPECT_THAT(Book(v).status(), HasFieldViolation(c.field)) << c.field;
  }
  pb::BookVisitRequest bad_id;
  *bad_id.mutable_visit() = NewVisit(CustomerAt(3), t, absl::Hours(1));
  bad_id.set_request_id(std::string(65, 'r'));
  pb::Visit out;
  EXPECT_THAT(Status(stub_->BookVisit(As(Role::kManager, "mgr-wang").get(), bad_id, &out)),
              HasFieldViolation("request_id"));
  // A customer that does not exist, or that the caller may not see.
  EXPECT_THAT(Book(NewVisit("customers/999999", t, absl::Hours(1))).status(),
              StatusIs(absl::StatusCode::kNotFound));
  pb::BookVisitRequest hidden;
  *hidden.mutable_visit() = NewVisit(CustomerAt(3), t, absl::Hours(1));
  EXPECT_THAT(Status(stub_->BookVisit(As(Role::kManager, "mgr-li").get(), hidden, &out)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(CountRows("visits"), before);
}

TEST_F(SchedulingIntegrationTest, RowLevelAccessOnVisits) {
  auto v = Book(NewVisit(CustomerAt(4), Local(2027, 2, 5, 9), absl::Hours(1)));
  ASSERT_TRUE(v.ok());
  pb::GetVisitRequest get;
  get.set_name(v->name());
  pb::Visit out;
  EXPECT_THAT(Status(stub_->GetVisit(As(Role::kManager, "mgr-li").get(), get, &out)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(stub_->GetVisit(As(Role::kSupervisor, "sup-east", "east").get(), get, &out).ok());
  EXPECT_THAT(Status(stub_->GetVisit(As(Role::kSupervisor, "sup-west", "west").get(), get, &out)),
              StatusIs(absl::StatusCode::kNotFound));
  // A manager may not book for someone else.
  pb::BookVisitRequest other;
  *other.mutable_visit() = NewVisit(CustomerAt(4), Local(2027, 2, 5, 14), absl::Hours(1));
  other.mutable_visit()->set_owner("mgr-li");
  EXPECT_THAT(Status(stub_->BookVisit(As(Role::kManager, "mgr-wang").get(), other, &out)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  pb::ListVisitsRequest list;
  pb::ListVisitsResponse visits;
  ASSERT_TRUE(stub_->ListVisits(As(Role::kManager, "mgr-li").get(), list, &visits).ok());
  EXPECT_EQ(visits.visits_size(), 0);
}

TEST_F(SchedulingIntegrationTest, MovingCancellingCompletingAndVerifying) {
  const absl::Time t = Local(2027, 1, 1, 10);  // two hours after the fake clock's start
  auto a = Book(NewVisit(CustomerAt(5), t, absl::Hours(1), pb::REVISIT));
  auto b = Book(NewVisit(CustomerAt(5), t + absl::Hours(2), absl::Hours(1)));
  ASSERT_TRUE(a.ok() && b.ok());
  // Moving b onto a is refused; a stale etag is ABORTED.
  pb::UpdateVisitRequest move;
  *move.mutable_visit() = *b;
  ToProto(t + absl::Minutes(30), move.mutable_visit()->mutable_start_time());
  ToProto(t + absl::Minutes(90), move.mutable_visit()->mutable_end_time());
  move.mutable_update_mask()->add_paths("start_time");
  move.mutable_update_mask()->add_paths("end_time");
  pb::Visit out;
  EXPECT_THAT(Status(stub_->UpdateVisit(As(Role::kManager, "mgr-wang").get(), move, &out)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ToProto(t + absl::Hours(3), move.mutable_visit()->mutable_start_time());
  ToProto(t + absl::Hours(4), move.mutable_visit()->mutable_end_time());
  ASSERT_TRUE(stub_->UpdateVisit(As(Role::kManager, "mgr-wang").get(), move, &out).ok());
  EXPECT_EQ(out.etag(), "2");
  EXPECT_THAT(Status(stub_->UpdateVisit(As(Role::kManager, "mgr-wang").get(), move, &out)),
              StatusIs(absl::StatusCode::kAborted));

  // Cancelling needs a reason and frees the slot.
  pb::CancelVisitRequest cancel;
  cancel.set_name(b->name());
  EXPECT_THAT(Status(stub_->CancelVisit(As(Role::kManager, "mgr-wang").get(), cancel, &out)),
              HasFieldViolation("reason"));
  cancel.set_reason("customer travelling");
  ASSERT_TRUE(stub_->CancelVisit(As(Role::kManager, "mgr-wang").get(), cancel, &out).ok());
  EXPECT_EQ(out.status(), pb::CANCELLED);
  EXPECT_TRUE(Book(NewVisit(CustomerAt(5), t + absl::Hours(3), absl::Hours(1))).ok());

  // A revisit task of the customer, closed when the revisit visit is done.
  complaints::v1::ComplaintClosed closed;
  closed.set_complaint("complaints/77");
  closed.set_customer(CustomerAt(5));
  closed.set_owner("mgr-wang");
  closed.set_team("east");
  ToProto(Local(2027, 2, 1, 0), closed.mutable_revisit_due_time());
  ASSERT_TRUE(Deliver("complaints", 1, closed).ok());

  // Completing before the start is refused; the log is required.
  pb::CompleteVisitRequest complete;
  complete.set_name(a->name());
  complete.set_status(pb::DONE);
  EXPECT_THAT(Status(stub_->CompleteVisit(As(Role::kManager, "mgr-wang").get(), complete, &out)),
              HasFieldViolation("log.discussed"));
  complete.mutable_log()->set_discussed("renewal terms");
  complete.mutable_log()->set_needs_found("a second line");
  EXPECT_THAT(Status(stub_->CompleteVisit(As(Role::kManager, "mgr-wang").get(), complete, &out)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not started")));
  clock_->Advance(absl::Hours(3));
  ASSERT_TRUE(stub_->CompleteVisit(As(Role::kManager, "mgr-wang").get(), complete, &out).ok());
  EXPECT_EQ(out.status(), pb::DONE);
  pb::ListTasksRequest by_source;
  by_source.set_source("complaints/77");
  pb::ListTasksResponse tasks = Tasks(by_source);
  ASSERT_EQ(tasks.tasks_size(), 1);
  EXPECT_EQ(tasks.tasks(0).state(), pb::TASK_DONE);
  EXPECT_EQ(tasks.tasks(0).resolution(), a->name());

  // SCH-4: the team's supervisor verifies; the manager cannot.
  pb::VerifyVisitLogRequest verify;
  verify.set_name(a->name());
  EXPECT_THAT(Status(stub_->VerifyVisitLog(As(Role::kManager, "mgr-wang").get(), verify, &out)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_TRUE(stub_->VerifyVisitLog(As(Role::kSupervisor, "sup-east", "east").get(), verify, &out).ok());
  EXPECT_EQ(out.log().verified_by(), "sup-east");
  EXPECT_THAT(Status(stub_->VerifyVisitLog(As(Role::kSupervisor, "sup-east", "east").get(), verify, &out)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  clock_->Set(kStart);
}

TEST_F(SchedulingIntegrationTest, OnSiteServiceDaysFollowSch8) {
  // Unranked customer: refused. Tier A: within 10:00-16:00, at least 2 h,
  // at most 2 per month.
  EXPECT_THAT(Book(NewVisit(CustomerAt(6), Local(2027, 4, 5, 10), absl::Hours(4), pb::ON_SITE_SERVICE)).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Book(NewVisit(TierACustomer(), Local(2027, 4, 5, 9), absl::Hours(4), pb::ON_SITE_SERVICE)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Book(NewVisit(TierACustomer(), Local(2027, 4, 5, 10), absl::Hours(1), pb::ON_SITE_SERVICE)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto first = Book(NewVisit(TierACustomer(), Local(2027, 4, 5, 10), absl::Hours(5), pb::ON_SITE_SERVICE));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(Book(NewVisit(TierACustomer(), Local(2027, 4, 12, 10), absl::Hours(4), pb::ON_SITE_SERVICE)).ok());
  EXPECT_THAT(Book(NewVisit(TierACustomer(), Local(2027, 4, 19, 10), absl::Hours(4), pb::ON_SITE_SERVICE)).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  pb::RecordOnSiteLogRequest log;
  log.set_name(first->name());
  log.mutable_on_site()->set_personal_inquiries(-1);
  pb::Visit out;
  EXPECT_THAT(Status(stub_->RecordOnSiteLog(As(Role::kManager, "mgr-wang").get(), log, &out)),
              HasFieldViolation("on_site.personal_inquiries"));
  log.mutable_on_site()->set_personal_inquiries(12);
  log.mutable_on_site()->set_group_transactions(3);
  ASSERT_TRUE(stub_->RecordOnSiteLog(As(Role::kManager, "mgr-wang").get(), log, &out).ok());
  clock_->Set(Local(2027, 4, 5, 16));
  pb::CompleteVisitRequest done;
  done.set_name(first->name());
  done.set_status(pb::DONE);
  done.mutable_log()->set_discussed("on-site day");
  ASSERT_TRUE(stub_->CompleteVisit(As(Role::kManager, "mgr-wang").get(), done, &out).ok());
  clock_->Set(kStart);

  pb::GetOnSiteReportRequest report_req;
  report_req.set_month("2027-04");
  pb::OnSiteReport report;
  ASSERT_TRUE(stub_->GetOnSiteReport(As(Role::kManager, "mgr-wang").get(), report_req, &report).ok());
  ASSERT_EQ(report.customers_size(), 1);
  EXPECT_EQ(report.customers(0).days(), 1);  // only DONE days count
  EXPECT_DOUBLE_EQ(report.customers(0).hours(), 5);
  EXPECT_EQ(report.total().totals().personal_inquiries(), 12);
  EXPECT_EQ(report.total().totals().group_transactions(), 3);
  report_req.set_month("2027-13");
  EXPECT_THAT(Status(stub_->GetOnSiteReport(As(Role::kManager, "mgr-wang").get(), report_req, &report)),
              HasFieldViolation("month"));
}

TEST_F(SchedulingIntegrationTest, DayPlanKeepsFixedVisitsAndUsesTheExactAlgorithmForFewCandidates) {
  const std::string manager = "mgr-planner";
  // A fixed visit at 11:00 at customer 0.
  ASSERT_TRUE(Book(NewVisit(CustomerAt(0), Local(2027, 5, 3, 11), absl::Hours(1)), manager).ok());
  pb::PlanDayRequest req;
  req.set_manager(manager);
  req.mutable_date()->set_year(2027);
  req.mutable_date()->set_month(5);
  req.mutable_date()->set_day(3);
  for (int i = 1; i <= 4; ++i) req.add_candidates(CustomerAt(i));
  pb::DayPlan plan;
  // The supervisor plans for the manager (the candidates are mgr-wang's).
  ASSERT_TRUE(stub_->PlanDay(As(Role::kSupervisor, "sup-east", "east").get(), req, &plan).ok());
  EXPECT_EQ(plan.algorithm(), "exact");
  int fixed = 0;
  for (int i = 0; i < plan.stops_size(); ++i) {
    if (plan.stops(i).fixed()) ++fixed;
    if (i > 0) {
      EXPECT_LE(FromProto(plan.stops(i - 1).end_time()), FromProto(plan.stops(i).start_time()));
    }
  }
  EXPECT_EQ(fixed, 1);
  EXPECT_EQ(plan.stops_size() + plan.unscheduled_size(), 5);
  EXPECT_GT(plan.total_travel_km(), 0);
  req.add_candidates(CustomerAt(1));
  EXPECT_THAT(Status(stub_->PlanDay(As(Role::kSupervisor, "sup-east", "east").get(), req, &plan)),
              HasFieldViolation("candidates[4]"));
}

// ---------------------------------------------------------------- care

TEST_F(SchedulingIntegrationTest, CareCadenceAndSpecialDaysFollowCustomerEvents) {
  const std::string customer = CustomerAt(7);
  customers::v1::CustomerCreated created;
  created.set_customer(customer);
  created.set_display_name("Sched Co 8");
  created.set_owner("mgr-care");
  created.set_team("east");
  ASSERT_TRUE(Deliver("customers", 1, created).ok());
  customers::v1::ContactAdded gold;
  gold.set_contact(absl::StrCat(customer, "/contacts/1"));
  gold.set_customer(customer);
  gold.set_display_name("Chen");
  gold.set_role(cpb::VIP);
  gold.set_vip_level(cpb::GOLD);
  gold.mutable_birthday()->set_year(1980);
  gold.mutable_birthday()->set_month(1);
  gold.mutable_birthday()->set_day(4);
  ASSERT_TRUE(Deliver("customers", 2, gold).ok());
  customers::v1::ContactAdded key;
  key.set_contact(absl::StrCat(customer, "/contacts/2"));
  key.set_customer(customer);
  key.set_display_name("Lin");
  key.set_role(cpb::KEY_PERSON);
  ASSERT_TRUE(Deliver("customers", 3, key).ok());

  pb::ListCareDueRequest req;
  req.set_horizon_days(61);
  pb::ListCareDueResponse due;
  ASSERT_TRUE(stub_->ListCareDue(As(Role::kManager, "mgr-care").get(), req, &due).ok());
  // The unranked customer's key person has no cadence; the GOLD VIP every 60 days.
  ASSERT_EQ(due.care_size(), 1);
  EXPECT_EQ(due.care(0).contact(), gold.contact());
  EXPECT_EQ(due.care(0).interval_days(), 60);
  EXPECT_FALSE(due.care(0).overdue());
  // Coverage in the work summary counts the same population (GW-4).
  pb::GetWorkSummaryRequest summary_req;
  summary_req.set_period(pb::MONTH);
  summary_req.mutable_period_start()->set_year(2027);
  summary_req.mutable_period_start()->set_month(1);
  summary_req.mutable_period_start()->set_day(1);
  pb::WorkSummary summary;
  ASSERT_TRUE(stub_->GetWorkSummary(As(Role::kManager, "mgr-care").get(), summary_req, &summary).ok());
  EXPECT_EQ(summary.care_targets(), 1);
  EXPECT_EQ(summary.care_overdue(), 0);
  EXPECT_DOUBLE_EQ(summary.care_coverage(), 1.0);

  // The customer becomes A: the key person is due monthly (SCH-5).
  customers::v1::TierChanged tier;
  tier.set_customer(customer);
  tier.set_new_tier(cpb::A1);
  ASSERT_TRUE(Deliver("customers", 4, tier).ok());
  ASSERT_TRUE(stub_->ListCareDue(As(Role::kManager, "mgr-care").get(), req, &due).ok());
  ASSERT_EQ(due.care_size(), 2);
  EXPECT_EQ(due.care(0).contact(), key.contact());  // most urgent first
  EXPECT_EQ(due.care(0).interval_days(), 30);

  // 31 days later the key person is overdue; a care call puts it right.
  clock_->Advance(absl::Hours(24 * 31));
  req.set_overdue_only(true);
  ASSERT_TRUE(stub_->ListCareDue(As(Role::kManager, "mgr-care").get(), req, &due).ok());
  ASSERT_EQ(due.care_size(), 1);
  EXPECT_TRUE(due.care(0).overdue());
  // Two under a cadence, one overdue: half covered; for mgr-care's supervisor too.
  ASSERT_TRUE(stub_->GetWorkSummary(As(Role::kManager, "mgr-care").get(), summary_req, &summary).ok());
  EXPECT_EQ(summary.care_targets(), 2);
  EXPECT_EQ(summary.care_overdue(), 1);
  EXPECT_DOUBLE_EQ(summary.care_coverage(), 0.5);
  summary_req.set_owner("mgr-care");
  ASSERT_TRUE(stub_->GetWorkSummary(As(Role::kSupervisor, "sup-east", "east").get(), summary_req, &summary).ok());
  EXPECT_DOUBLE_EQ(summary.care_coverage(), 0.5);
  // A supervisor of another team sees no targets.
  ASSERT_TRUE(stub_->GetWorkSummary(As(Role::kSupervisor, "sup-west", "west").get(), summary_req, &summary).ok());
  EXPECT_EQ(summary.care_targets(), 0);
  EXPECT_DOUBLE_EQ(summary.care_coverage(), 1.0);
  summary_req.clear_owner();
  pb::RecordCareRequest care;
  care.mutable_care()->set_contact(key.contact());
  care.mutable_care()->set_kind(pb::CARE_CALL);
  care.set_request_id(RequestId());
  pb::CareRecord record;
  EXPECT_THAT(Status(stub_->RecordCare(As(Role::kManager, "mgr-other").get(), care, &record)),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_TRUE(stub_->RecordCare(As(Role::kManager, "mgr-care").get(), care, &record).ok());
  pb::CareRecord again;
  ASSERT_TRUE(stub_->RecordCare(As(Role::kManager, "mgr-care").get(), care, &again).ok());
  EXPECT_EQ(record.name(), again.name());
  ASSERT_TRUE(stub_->ListCareDue(As(Role::kManager, "mgr-care").get(), req, &due).ok());
  EXPECT_EQ(due.care_size(), 0);
  ASSERT_TRUE(stub_->GetWorkSummary(As(Role::kManager, "mgr-care").get(), summary_req, &summary).ok());
  EXPECT_EQ(summary.care_targets(), 2);
  EXPECT_EQ(summary.care_overdue(), 0);
  EXPECT_DOUBLE_EQ(summary.care_coverage(), 1.0);
  clock_->Set(kStart);

  // SCH-6: the birthday (Jan 4) and the configured festival (Jan 5) are
  // within the 7-day lead from Jan 1.
  pb::ListSpecialDaysRequest days_req;
  pb::ListSpecialDaysResponse days;
  ASSERT_TRUE(stub_->ListSpecialDays(As(Role::kManager, "mgr-care").get(), days_req, &days).ok());
  ASSERT_EQ(days.days_size(), 2);
  EXPECT_EQ(days.days(0).kind(), pb::BIRTHDAY);
  EXPECT_EQ(days.days(0).days_until(), 3);
  EXPECT_EQ(days.days(1).kind(), pb::FESTIVAL);
  EXPECT_EQ(days.days(1).title(), "Team day");
  days_req.set_days_ahead(-1);
  EXPECT_THAT(Status(stub_->ListSpecialDays(As(Role::kManager, "mgr-care").get(), days_req, &days)),
              HasFieldViolation("days_ahead"));

  // A removed contact drops out of the lists.
  customers::v1::ContactRemoved removed;
  removed.set_contact(gold.contact());
  removed.set_customer(customer);
  ASSERT_TRUE(Deliver("customers", 5, removed).ok());
  days_req.set_days_ahead(0);
  ASSERT_TRUE(stub_->ListSpecialDays(As(Role::kManager, "mgr-care").get(), days_req, &days).ok());
  EXPECT_EQ(days.days_size(), 1);
}

TEST_F(SchedulingIntegrationTest, TheRealCustomersFeedKeepsTheCareProjectionCurrentExactlyOnce) {
  // A contact created in the customers service reaches the care list
  // through the consumer the binary runs (NewEventConsumer), once.
  cpb::CreateCustomerRequest create;
  *create.mutable_customer() = ctest::Enterprise("Feed Co", 900);
  cpb::Customer customer;
  ASSERT_TRUE(customers_->stub().CreateCustomer(As(Role::kManager, "mgr-feed").get(), create, &customer).ok());
  cpb::CreateContactRequest contact_req;
  contact_req.set_parent(customer.name());
  contact_req.mutable_contact()->set_display_name("Zhou");
  contact_req.mutable_contact()->set_role(cpb::VIP);
  contact_req.mutable_contact()->set_vip_level(cpb::DIAMOND);
  contact_req.mutable_contact()->set_phone("13800138000");
  cpb::Contact contact;
  grpc::Status created = customers_->stub().CreateContact(As(Role::kManager, "mgr-feed").get(), contact_req, &contact);
  ASSERT_TRUE(created.ok()) << created.error_message();

  const std::string token = Token(Role::kService, "crm-scheduling", "");
  auto consumer =
      NewEventConsumer(*pool_, "customers", customers_->channel(), [token] { return token; }, calendar_, *clock_);
  const int64_t head = static_cast<int64_t>(customers_->Events().size());
  for (int i = 0; i < 50 && consumer->cursor() < head; ++i) ASSERT_TRUE(consumer->PollOnce().ok());
  ASSERT_EQ(consumer->cursor(), head);

  pb::ListCareDueRequest req;
  req.set_horizon_days(60);
  pb::ListCareDueResponse due;
  ASSERT_TRUE(stub_->ListCareDue(As(Role::kManager, "mgr-feed").get(), req, &due).ok());
  ASSERT_EQ(due.care_size(), 1);
  EXPECT_EQ(due.care(0).contact(), contact.name());
  EXPECT_EQ(due.care(0).interval_days(), 60);
  // A second consumer on the same cursor (a restart or another replica)
  // applies nothing again.
  auto replica =
      NewEventConsumer(*pool_, "customers", customers_->channel(), [token] { return token; }, calendar_, *clock_);
  auto applied = replica->PollOnce();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 0);
}

TEST_F(SchedulingIntegrationTest, CarePoliciesAreAdminOnlyAndEtagged) {
  pb::ListCarePoliciesResponse policies;
  ASSERT_TRUE(stub_->ListCarePolicies(As(Role::kManager, "mgr-wang").get(), {}, &policies).ok());
  ASSERT_GE(policies.policies_size(), 5);
  pb::UpdateCarePolicyRequest update;
  *update.mutable_policy() = policies.policies(0);
  update.mutable_policy()->set_interval_days(300);
  update.mutable_update_mask()->add_paths("interval_days");
  pb::CarePolicy out;
  EXPECT_THAT(Status(stub_->UpdateCarePolicy(As(Role::kManager, "mgr-wang").get(), update, &out)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_TRUE(stub_->UpdateCarePolicy(As(Role::kAdmin, "admin").get(), update, &out).ok());
  EXPECT_EQ(out.interval_days(), 300);
  EXPECT_THAT(Status(stub_->UpdateCarePolicy(As(Role::kAdmin, "admin").get(), update, &out)),
              StatusIs(absl::StatusCode::kAborted));
  *update.mutable_policy() = out;
  update.mutable_policy()->set_interval_days(-1);
  EXPECT_THAT(Status(stub_->UpdateCarePolicy(As(Role::kAdmin, "admin").get(), update, &out)),
              HasFieldViolation("policy.interval_days"));
}

// ---------------------------------------------------------------- tasks

TEST_F(SchedulingIntegrationTest, EachSourceEventMakesExactlyOneTaskAndTheMatchingEventClosesIt) {
  const std::string customer = CustomerAt(8);
  customers::v1::CustomerCreated created;
  created.set_customer(customer);
  created.set_owner("mgr-wang");
  created.set_team("east");
  ASSERT_TRUE(Deliver("customers", 30, created).ok());
  opportunities::v1::NegotiationEnded ended;
  ended.set_round("negotiationRounds/5");
  ended.set_customer(customer);
  ended.set_owner("mgr-wang");
  ToProto(Local(2027, 1, 6, 18), ended.mutable_feedback_due_time());
  ASSERT_TRUE(Deliver("opportunities", 1, ended).ok());
  ASSERT_TRUE(Deliver("opportunities", 1, ended).ok());  // delivered twice
  opportunities::v1::ContractSigned signed_contract;
  signed_contract.set_contract("contracts/9");
  signed_contract.set_customer(customer);
  signed_contract.set_owner("mgr-wang");
  ToProto(Local(2027, 1, 15, 18), signed_contract.mutable_delivery_deadline());  // a Friday
  ASSERT_TRUE(Deliver("opportunities", 2, signed_contract).ok());
  opportunities::v1::ContractDelivered delivered;
  delivered.set_contract("contracts/9");
  delivered.set_customer(customer);
  delivered.set_owner("mgr-wang");
  ToProto(Local(2027, 3, 14, 0), delivered.mutable_revisit_due_time());
  ASSERT_TRUE(Deliver("opportunities", 3, delivered).ok());
  ASSERT_TRUE(Deliver("opportunities", 3, delivered).ok());

  pb::ListTasksRequest req;
  req.set_customer(customer);
  pb::ListTasksResponse tasks = Tasks(req);
  ASSERT_EQ(tasks.tasks_size(), 3);
  EXPECT_EQ(tasks.tasks(0).kind(), pb::NEGOTIATION_FEEDBACK);
  EXPECT_EQ(tasks.tasks(0).team(), "east");  // the event has none: from the care projection
  EXPECT_EQ(FromProto(tasks.tasks(0).due_time()), Local(2027, 1, 6, 18));
  EXPECT_EQ(tasks.tasks(1).kind(), pb::DELIVERY_NOTICE);
  // OPP-8: two working days before Friday the 15th is Wednesday the 13th.
  EXPECT_EQ(FromProto(tasks.tasks(1).due_time()), Local(2027, 1, 13, 18));
  EXPECT_EQ(tasks.tasks(1).state(), pb::TASK_DONE);  // closed by the delivery
  EXPECT_EQ(tasks.tasks(2).kind(), pb::AFTER_SALES_REVISIT);
  EXPECT_EQ(tasks.tasks(2).state(), pb::TASK_OPEN);

  opportunities::v1::NegotiationFeedbackRecorded feedback;
  feedback.set_round("negotiationRounds/5");
  feedback.set_customer(customer);
  ASSERT_TRUE(Deliver("opportunities", 4, feedback).ok());
  tasks = Tasks(req);
  EXPECT_EQ(tasks.tasks(0).state(), pb::TASK_DONE);

  // The after-sales task is completed by hand; twice is refused.
  pb::CompleteTaskRequest complete;
  complete.set_name(tasks.tasks(2).name());
  pb::Task out;
  EXPECT_THAT(Status(stub_->CompleteTask(As(Role::kManager, "mgr-wang").get(), complete, &out)),
              HasFieldViolation("resolution"));
  complete.set_resolution("phoned the customer; training done");
  EXPECT_THAT(Status(stub_->CompleteTask(As(Role::kManager, "mgr-li").get(), complete, &out)),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_TRUE(stub_->CompleteTask(As(Role::kManager, "mgr-wang").get(), complete, &out).ok());
  EXPECT_EQ(out.state(), pb::TASK_DONE);
  EXPECT_THAT(Status(stub_->CompleteTask(As(Role::kManager, "mgr-wang").get(), complete, &out)),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  // Ownership moves open tasks; staleness makes one task per lapse.
  customers::v1::CustomerDataStale stale;
  stale.set_customer(customer);
  stale.set_owner("mgr-wang");
  stale.set_team("east");
  ToProto(Local(2026, 12, 1, 0), stale.mutable_stale_since());
  ToProto(Local(2026, 11, 1, 0), stale.mutable_last_verified_time());
  ASSERT_TRUE(Deliver("customers", 10, stale).ok());
  ASSERT_TRUE(Deliver("customers", 11, stale).ok());  // the same lapse announced again
  customers::v1::OwnershipChanged moved;
  moved.set_customer(customer);
  moved.set_old_owner("mgr-wang");
  moved.set_new_owner("mgr-zhao");
  moved.set_new_team("east");
  ASSERT_TRUE(Deliver("customers", 12, moved).ok());
  req.set_kind(pb::DATA_REVERIFICATION);
  tasks = Tasks(req, "mgr-zhao");
  ASSERT_EQ(tasks.tasks_size(), 1);
  EXPECT_TRUE(tasks.tasks(0).overdue());
  customers::v1::CustomerVerified verified;
  verified.set_customer(customer);
  ASSERT_TRUE(Deliver("customers", 13, verified).ok());
  tasks = Tasks(req, "mgr-zhao");
  EXPECT_EQ(tasks.tasks(0).state(), pb::TASK_DONE);
}

TEST_F(SchedulingIntegrationTest, ATaskMadeBeforeItsCustomerIsKnownGetsTheTeamLater) {
  // The feeds are not ordered with each other: the round ended before the
  // customers feed announced the customer.
  opportunities::v1::NegotiationEnded ended;
  ended.set_round("negotiationRounds/600");
  ended.set_customer("customers/600");
  ended.set_owner("mgr-wang");
  ToProto(Local(2027, 1, 6, 18), ended.mutable_feedback_due_time());
  ASSERT_TRUE(Deliver("opportunities", 600, ended).ok());
  pb::ListTasksRequest req;
  req.set_source("negotiationRounds/600");
  ASSERT_EQ(Tasks(req, "sup-east", Role::kSupervisor).tasks_size(), 0);  // no team yet
  customers::v1::CustomerCreated created;
  created.set_customer("customers/600");
  created.set_owner("mgr-wang");
  created.set_team("east");
  ASSERT_TRUE(Deliver("customers", 600, created).ok());
  pb::ListTasksResponse tasks = Tasks(req, "sup-east", Role::kSupervisor);
  ASSERT_EQ(tasks.tasks_size(), 1);
  EXPECT_EQ(tasks.tasks(0).team(), "east");
}

TEST_F(SchedulingIntegrationTest, UrgentGovernmentBusinessIsDueIn2Or6Hours) {
  const std::string customer = CustomerAt(9);
  pb::CreateUrgentTaskRequest req;
  req.set_customer(customer);
  req.set_kind(pb::URGENT_CARD_SERVICE);
  req.set_title("SIM replacement for the bureau chief");
  pb::Task out;
  // No GOVERNMENT contact known: SCH-7 does not apply.
  EXPECT_THAT(Status(stub_->CreateUrgentTask(As(Role::kManager, "mgr-wang").get(), req, &out)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("GOVERNMENT")));
  customers::v1::ContactAdded gov;
  gov.set_contact(absl::StrCat(customer, "/contacts/9"));
  gov.set_customer(customer);
  gov.set_role(cpb::GOVERNMENT);
  ASSERT_TRUE(Deliver("customers", 20, gov).ok());
  req.set_request_id(RequestId());
  ASSERT_TRUE(stub_->CreateUrgentTask(As(Role::kManager, "mgr-wang").get(), req, &out).ok());
  EXPECT_EQ(FromProto(out.due_time()), kStart + absl::Hours(2));
  pb::Task again;
  ASSERT_TRUE(stub_->CreateUrgentTask(As(Role::kManager, "mgr-wang").get(), req, &again).ok());
  EXPECT_EQ(again.name(), out.name());
  req.set_kind(pb::URGENT_GOODS);
  req.set_request_id(RequestId());
  ASSERT_TRUE(stub_->CreateUrgentTask(As(Role::kManager, "mgr-wang").get(), req, &out).ok());
  EXPECT_EQ(FromProto(out.due_time()), kStart + absl::Hours(6));
  req.set_kind(pb::COMPLAINT_REVISIT);
  EXPECT_THAT(Status(stub_->CreateUrgentTask(As(Role::kManager, "mgr-wang").get(), req, &out)),
              HasFieldViolation("kind"));
}

// ---------------------------------------------------------------- work plans, log, claims

TEST_F(SchedulingIntegrationTest, WorkPlansLogAndSummary) {
  pb::CreateWorkPlanRequest plan_req;
  plan_req.mutable_plan()->set_period(pb::MONTH);
  plan_req.mutable_plan()->mutable_period_start()->set_year(2027);
  plan_req.mutable_plan()->mutable_period_start()->set_month(1);
  plan_req.mutable_plan()->mutable_period_start()->set_day(2);
  plan_req.mutable_plan()->add_items()->set_text("visit every A customer");
  pb::WorkPlan plan;
  EXPECT_THAT(Status(stub_->CreateWorkPlan(As(Role::kManager, "mgr-log").get(), plan_req, &plan)),
              HasFieldViolation("plan.period_start"));
  plan_req.mutable_plan()->mutable_period_start()->set_day(1);
  ASSERT_TRUE(stub_->CreateWorkPlan(As(Role::kManager, "mgr-log").get(), plan_req, &plan).ok());
  EXPECT_EQ(plan.owner(), "mgr-log");
  EXPECT_THAT(Status(stub_->CreateWorkPlan(As(Role::kManager, "mgr-log").get(), plan_req, &plan)),
              StatusIs(absl::StatusCode::kAlreadyExists));
  pb::UpdateWorkPlanRequest update;
  *update.mutable_plan() = plan;
  update.mutable_plan()->add_items()->set_text("two on-site days");
  update.mutable_update_mask()->add_paths("items");
  pb::WorkPlan updated;
  EXPECT_THAT(Status(stub_->UpdateWorkPlan(As(Role::kManager, "mgr-other").get(), update, &updated)),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_TRUE(stub_->UpdateWorkPlan(As(Role::kManager, "mgr-log").get(), update, &updated).ok());
  EXPECT_EQ(updated.items_size(), 2);

  pb::AddWorkLogEntryRequest entry_req;
  entry_req.mutable_entry()->mutable_date()->set_year(2027);
  entry_req.mutable_entry()->mutable_date()->set_month(1);
  entry_req.mutable_entry()->mutable_date()->set_day(2);  // tomorrow
  entry_req.mutable_entry()->set_text("visited Sched Co 1");
  entry_req.mutable_entry()->set_minutes(90);
  pb::WorkLogEntry entry;
  EXPECT_THAT(Status(stub_->AddWorkLogEntry(As(Role::kManager, "mgr-log").get(), entry_req, &entry)),
              HasFieldViolation("entry.date"));
  entry_req.mutable_entry()->mutable_date()->set_day(1);
  ASSERT_TRUE(stub_->AddWorkLogEntry(As(Role::kManager, "mgr-log").get(), entry_req, &entry).ok());
  entry_req.mutable_entry()->set_corrects(entry.name());
  entry_req.mutable_entry()->set_minutes(60);
  pb::WorkLogEntry correction;
  EXPECT_THAT(Status(stub_->AddWorkLogEntry(As(Role::kManager, "mgr-other").get(), entry_req, &correction)),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_TRUE(stub_->AddWorkLogEntry(As(Role::kManager, "mgr-log").get(), entry_req, &correction).ok());

  pb::GetWorkSummaryRequest summary_req;
  summary_req.set_period(pb::MONTH);
  *summary_req.mutable_period_start() = plan.period_start();
  pb::WorkSummary summary;
  ASSERT_TRUE(stub_->GetWorkSummary(As(Role::kManager, "mgr-log").get(), summary_req, &summary).ok());
  EXPECT_EQ(summary.log_entries(), 2);
  EXPECT_EQ(summary.log_minutes(), 150);
  EXPECT_EQ(summary.plan(), plan.name());
  // A supervisor of another team learns nothing about mgr-log.
  summary_req.set_owner("mgr-log");
  ASSERT_TRUE(stub_->GetWorkSummary(As(Role::kSupervisor, "sup-west", "west").get(), summary_req, &summary).ok());
  EXPECT_EQ(summary.log_entries(), 0);
  EXPECT_TRUE(summary.plan().empty());

  // The team's summary (GW-4 team dashboards) counts mgr-log's entries for
  // its own supervisor; another team's supervisor and managers are refused.
  summary_req.clear_owner();
  summary_req.set_team("east");
  ASSERT_TRUE(stub_->GetWorkSummary(As(Role::kSupervisor, "sup-east", "east").get(), summary_req, &summary).ok());
  EXPECT_EQ(summary.team(), "east");
  EXPECT_TRUE(summary.owner().empty());
  EXPECT_GE(summary.log_entries(), 2);
  EXPECT_GE(summary.log_minutes(), 150);
  EXPECT_TRUE(summary.plan().empty());
  EXPECT_THAT(Status(stub_->GetWorkSummary(As(Role::kSupervisor, "sup-west", "west").get(), summary_req, &summary)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Status(stub_->GetWorkSummary(As(Role::kManager, "mgr-log").get(), summary_req, &summary)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  summary_req.set_owner("mgr-log");
  EXPECT_THAT(Status(stub_->GetWorkSummary(As(Role::kAdmin, "admin").get(), summary_req, &summary)),
              HasFieldViolation("team"));
}

TEST_F(SchedulingIntegrationTest, ExpenseClaimsTotalAndGoThroughTheSupervisor) {
  pb::CreateExpenseClaimRequest create;
  create.mutable_claim()->set_month("2027-01");
  pb::ExpenseClaim claim;
  ASSERT_TRUE(stub_->CreateExpenseClaim(As(Role::kManager, "mgr-claim").get(), create, &claim).ok());
  EXPECT_EQ(claim.currency_code(), "CNY");
  EXPECT_THAT(Status(stub_->CreateExpenseClaim(As(Role::kManager, "mgr-claim").get(), create, &claim)),
              StatusIs(absl::StatusCode::kAlreadyExists));
  create.mutable_claim()->set_month("2027-02");
  EXPECT_THAT(Status(stub_->CreateExpenseClaim(As(Role::kManager, "mgr-claim").get(), create, &claim)),
              HasFieldViolation("claim.month"));

  const auto add = [&](int day, pb::ExpenseCategory category, int64_t units, int32_t nanos) {
    pb::AddExpenseLineRequest req;
    req.set_claim(claim.name());
    req.mutable_line()->mutable_date()->set_year(2027);
    req.mutable_line()->mutable_date()->set_month(1);
    req.mutable_line()->mutable_date()->set_day(day);
    req.mutable_line()->set_category(category);
    req.mutable_line()->mutable_amount()->set_units(units);
    req.mutable_line()->mutable_amount()->set_nanos(nanos);
    req.mutable_line()->set_description("taxi to the customer");
    req.mutable_line()->set_receipt("INV-1");
    pb::ExpenseClaim out;
    grpc::Status s = stub_->AddExpenseLine(As(Role::kManager, "mgr-claim").get(), req, &out);
    if (s.ok()) claim = out;
    return Status(s);
  };
  EXPECT_THAT(add(0, pb::TRANSPORT, 10, 0), HasFieldViolation("line.date"));
  EXPECT_THAT(add(1, pb::TRANSPORT, -10, 0), HasFieldViolation("line.amount"));
  EXPECT_THAT(add(1, pb::EXPENSE_CATEGORY_UNSPECIFIED, 10, 0), HasFieldViolation("line.category"));
  ASSERT_TRUE(add(1, pb::TRANSPORT, 35, 500000000).ok());
  ASSERT_TRUE(add(2, pb::TRANSPORT, 12, 700000000).ok());
  ASSERT_TRUE(add(3, pb::ENTERTAINMENT, 300, 0).ok());
  EXPECT_EQ(claim.lines_size(), 3);
  EXPECT_EQ(claim.total().units(), 348);
  EXPECT_EQ(claim.total().nanos(), 200000000);
  ASSERT_EQ(claim.totals_size(), 2);
  EXPECT_EQ(claim.totals(0).category(), pb::TRANSPORT);
  EXPECT_EQ(claim.totals(0).total().units(), 48);

  pb::SubmitExpenseClaimRequest submit;
  submit.set_name(claim.name());
  ASSERT_TRUE(stub_->SubmitExpenseClaim(As(Role::kManager, "mgr-claim").get(), submit, &claim).ok());
  EXPECT_EQ(claim.status(), pb::SUBMITTED);
  EXPECT_EQ(add(4, pb::TRANSPORT, 1, 0).code(), absl::StatusCode::kFailedPrecondition);
  pb::DecideExpenseClaimRequest decide;
  decide.set_name(claim.name());
  decide.set_approve(false);
  EXPECT_THAT(Status(stub_->DecideExpenseClaim(As(Role::kSupervisor, "sup-east", "east").get(), decide, &claim)),
              HasFieldViolation("comment"));
  decide.set_approve(true);
  EXPECT_THAT(Status(stub_->DecideExpenseClaim(As(Role::kManager, "mgr-claim").get(), decide, &claim)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_TRUE(stub_->DecideExpenseClaim(As(Role::kSupervisor, "sup-east", "east").get(), decide, &claim).ok());
  EXPECT_EQ(claim.status(), pb::APPROVED);
  EXPECT_EQ(claim.decided_by(), "sup-east");
}

// ---------------------------------------------------------------- calendar

TEST_F(SchedulingIntegrationTest, CalendarExportHasStableUidsForVisitsAndTaskDueDates) {
  const std::string manager = "mgr-ical";
  auto v = Book(NewVisit(CustomerAt(2), Local(2027, 1, 20, 9), absl::Hours(1)), manager);
  ASSERT_TRUE(v.ok()) << v.status();
  pb::ExportCalendarRequest req;
  pb::CalendarExport first, second;
  ASSERT_TRUE(stub_->ExportCalendar(As(Role::kManager, manager).get(), req, &first).ok());
  clock_->Advance(absl::Minutes(5));
  ASSERT_TRUE(stub_->ExportCalendar(As(Role::kManager, manager).get(), req, &second).ok());
  clock_->Set(kStart);
  EXPECT_EQ(first.content_type(), "text/calendar; charset=utf-8");
  EXPECT_THAT(first.ics(), HasSubstr("BEGIN:VCALENDAR\r\n"));
  EXPECT_THAT(first.ics(), HasSubstr(absl::StrCat("UID:", v->name(), "@crm-suite\r\n")));
  EXPECT_THAT(second.ics(), HasSubstr(absl::StrCat("UID:", v->name(), "@crm-suite\r\n")));
  EXPECT_THAT(first.ics(), HasSubstr("TZID=Asia/Shanghai"));
  EXPECT_THAT(Status(stub_->ExportCalendar(As(Role::kManager, "mgr-li").get(), [&] {
                pb::ExportCalendarRequest other;
                other.set_owner(manager);
                return other;
              }(), &first)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  ToProto(kStart, req.mutable_start_time());
  ToProto(kStart - absl::Hours(1), req.mutable_end_time());
  EXPECT_THAT(Status(stub_->ExportCalendar(As(Role::kManager, manager).get(), req, &first)),
              HasFieldViolation("end_time"));
}

TEST_F(SchedulingIntegrationTest, GetsAndListsOfPlansLogsClaimsAndTasksAreScoped) {
  const std::string manager = "mgr-docs";
  pb::CreateWorkPlanRequest plan_req;
  plan_req.mutable_plan()->set_period(pb::WEEK);
  plan_req.mutable_plan()->mutable_period_start()->set_year(2026);
  plan_req.mutable_plan()->mutable_period_start()->set_month(12);
  plan_req.mutable_plan()->mutable_period_start()->set_day(28);  // a Monday
  plan_req.mutable_plan()->add_items()->set_text("call every VIP");
  plan_req.set_request_id(RequestId());
  pb::WorkPlan plan, replay;
  ASSERT_TRUE(stub_->CreateWorkPlan(As(Role::kManager, manager).get(), plan_req, &plan).ok());
  ASSERT_TRUE(stub_->CreateWorkPlan(As(Role::kManager, manager).get(), plan_req, &replay).ok());
  EXPECT_EQ(plan.name(), replay.name());
  pb::GetWorkPlanRequest get_plan;
  get_plan.set_name(plan.name());
  EXPECT_TRUE(stub_->GetWorkPlan(As(Role::kManager, manager).get(), get_plan, &replay).ok());
  EXPECT_THAT(Status(stub_->GetWorkPlan(As(Role::kManager, "mgr-other").get(), get_plan, &replay)),
              StatusIs(absl::StatusCode::kNotFound));
  get_plan.set_name("workPlans/x");
  EXPECT_THAT(Status(stub_->GetWorkPlan(As(Role::kManager, manager).get(), get_plan, &replay)),
              HasFieldViolation("name"));
  pb::ListWorkPlansRequest plans_req;
  plans_req.set_period(pb::WEEK);
  pb::ListWorkPlansResponse plans;
  ASSERT_TRUE(stub_->ListWorkPlans(As(Role::kManager, manager).get(), plans_req, &plans).ok());
  ASSERT_EQ(plans.plans_size(), 1);
  plans_req.set_period(pb::YEAR);
  ASSERT_TRUE(stub_->ListWorkPlans(As(Role::kManager, manager).get(), plans_req, &plans).ok());
  EXPECT_EQ(plans.plans_size(), 0);

  pb::AddWorkLogEntryRequest entry_req;
  entry_req.mutable_entry()->mutable_date()->set_year(2026);
  entry_req.mutable_entry()->mutable_date()->set_month(12);
  entry_req.mutable_entry()->mutable_date()->set_day(31);
  entry_req.mutable_entry()->set_text("year-end calls");
  pb::WorkLogEntry entry;
  ASSERT_TRUE(stub_->AddWorkLogEntry(As(Role::kManager, manager).get(), entry_req, &entry).ok());
  pb::ListWorkLogEntriesRequest log_req;
  *log_req.mutable_start_date() = entry_req.entry().date();
  *log_req.mutable_end_date() = entry_req.entry().date();
  pb::ListWorkLogEntriesResponse log;
  ASSERT_TRUE(stub_->ListWorkLogEntries(As(Role::kManager, manager).get(), log_req, &log).ok());
  ASSERT_EQ(log.entries_size(), 1);
  EXPECT_EQ(log.entries(0).text(), "year-end calls");
  ASSERT_TRUE(stub_->ListWorkLogEntries(As(Role::kManager, "mgr-other").get(), log_req, &log).ok());
  EXPECT_EQ(log.entries_size(), 0);
  log_req.mutable_end_date()->set_month(2);
  log_req.mutable_end_date()->set_day(30);
  EXPECT_THAT(Status(stub_->ListWorkLogEntries(As(Role::kManager, manager).get(), log_req, &log)),
              HasFieldViolation("end_date"));

  pb::CreateExpenseClaimRequest claim_req;
  claim_req.mutable_claim()->set_month("2026-12");
  claim_req.mutable_claim()->set_currency_code("cny");
  pb::ExpenseClaim claim;
  EXPECT_THAT(Status(stub_->CreateExpenseClaim(As(Role::kManager, manager).get(), claim_req, &claim)),
              HasFieldViolation("claim.currency_code"));
  claim_req.mutable_claim()->set_currency_code("CNY");
  ASSERT_TRUE(stub_->CreateExpenseClaim(As(Role::kManager, manager).get(), claim_req, &claim).ok());
  pb::GetExpenseClaimRequest get_claim;
  get_claim.set_name(claim.name());
  EXPECT_TRUE(stub_->GetExpenseClaim(As(Role::kSupervisor, "sup-east", "east").get(), get_claim, &claim).ok());
  EXPECT_THAT(Status(stub_->GetExpenseClaim(As(Role::kSupervisor, "sup-west", "west").get(), get_claim, &claim)),
              StatusIs(absl::StatusCode::kNotFound));
  pb::ListExpenseClaimsRequest claims_req;
  claims_req.set_status(pb::DRAFT);
  pb::ListExpenseClaimsResponse claims;
  ASSERT_TRUE(stub_->ListExpenseClaims(As(Role::kManager, manager).get(), claims_req, &claims).ok());
  ASSERT_EQ(claims.claims_size(), 1);
  EXPECT_EQ(claims.claims(0).name(), claim.name());
  claims_req.set_status(static_cast<pb::ClaimStatus>(42));
  EXPECT_THAT(Status(stub_->ListExpenseClaims(As(Role::kManager, manager).get(), claims_req, &claims)),
              HasFieldViolation("status"));

  pb::GetTaskRequest get_task;
  get_task.set_name("tasks/999999");
  pb::Task task;
  EXPECT_THAT(Status(stub_->GetTask(As(Role::kManager, manager).get(), get_task, &task)),
              StatusIs(absl::StatusCode::kNotFound));
  pb::ListTasksRequest tasks_req;
  tasks_req.set_kind(static_cast<pb::TaskKind>(77));
  pb::ListTasksResponse tasks;
  EXPECT_THAT(Status(stub_->ListTasks(As(Role::kManager, manager).get(), tasks_req, &tasks)),
              HasFieldViolation("kind"));
}

TEST_F(SchedulingIntegrationTest, ListsPageWithTokensBoundToTheirQuery) {
  const std::string manager = "mgr-pages";
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Book(NewVisit(CustomerAt(3), Local(2027, 6, 1 + i, 9), absl::Hours(1)), manager).ok());
  }
  pb::ListVisitsRequest req;
  req.set_owner(manager);
  req.set_page_size(2);
  std::set<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    pb::ListVisitsResponse resp;
    ASSERT_TRUE(stub_->ListVisits(As(Role::kManager, manager).get(), req, &resp).ok());
    for (const pb::Visit& v : resp.visits()) seen.insert(v.name());
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(seen.size(), 5u);
  req.set_page_token("tampered");
  pb::ListVisitsResponse resp;
  EXPECT_THAT(Status(stub_->ListVisits(As(Role::kManager, manager).get(), req, &resp)),
              HasFieldViolation("page_token"));
  req.set_page_token("");
  req.set_page_size(-1);
  EXPECT_THAT(Status(stub_->ListVisits(As(Role::kManager, manager).get(), req, &resp)),
              HasFieldViolation("page_size"));
}

}  // namespace
}  // namespace crm::scheduling
