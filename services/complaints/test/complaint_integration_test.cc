// The complaints service over gRPC against MariaDB, with the real customers
// service in-process (its own database) for tier and VIP lookups.
#include <atomic>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/testing/request_id_scope.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_database.h"
#include "common/util/proto_time.h"
#include "crm/complaints/v1/events.pb.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/complaints/src/breach_job.h"
#include "services/complaints/test/complaint_test_env.h"
#include "services/customers/test/customer_test_env.h"

namespace crm::complaints {
namespace {

namespace cpb = ::crm::customers::v1;
using ::crm::testing::HasFieldViolation;
using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::HasSubstr;
using auth::Role;
using testing::ComplaintsServer;
using testing::kStart;
using Stub = pb::ComplaintService::Stub;

std::string RequestId() {
  static std::atomic<int> n{0};
  return absl::StrCat("req-", ++n, "-", absl::ToUnixNanos(absl::Now()));
}

absl::Duration Target(const pb::Complaint& c, pb::ClockKind kind) {
  for (const pb::SlaClock& clock : c.clocks()) {
    if (clock.kind() == kind) return absl::Seconds(clock.target().seconds());
  }
  return absl::ZeroDuration();
}

const pb::SlaClock& ClockOf(const pb::Complaint& c, pb::ClockKind kind) {
  for (const pb::SlaClock& clock : c.clocks()) {
    if (clock.kind() == kind) return clock;
  }
  static const pb::SlaClock kNone;
  return kNone;
}

struct Principal {
  Role role = Role::kManager;
  std::string subject = "mgr-wang";
  std::string team = "east";
};

class ComplaintsIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto customers_db = crm::testing::TestDatabase::Create();
    auto complaints_db = crm::testing::TestDatabase::Create();
    ASSERT_TRUE(customers_db.ok()) << customers_db.status();
    ASSERT_TRUE(complaints_db.ok()) << complaints_db.status();
    customers_db_ = new crm::testing::TestDatabase(std::move(*customers_db));
    complaints_db_ = new crm::testing::TestDatabase(std::move(*complaints_db));
    customers_ = customers::testing::CustomersServer::Start(customers_db_->config()).release();
    ASSERT_NE(customers_, nullptr);
    customers_pool_ = new db::ConnectionPool(customers_db_->config());
    server_ = ComplaintsServer::Start(complaints_db_->config(), absl::StrCat("127.0.0.1:", customers_->port())).release();
    ASSERT_NE(server_, nullptr);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete customers_pool_;
    delete customers_;
    delete complaints_db_;
    delete customers_db_;
  }
  void TearDown() override {
    server_->clock().Set(kStart);
    server_->set_customers_down(false);
  }

  // Calls `rpc` as `who`; the response or the status.
  template <typename Req, typename Resp>
  static absl::StatusOr<Resp> Invoke(grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Req&, Resp*),
                                     const Req& req, const Principal& who = {}) {
    Resp resp;
    auto ctx = ComplaintsServer::As(who.role, who.subject, who.team);
    grpc::Status s = (server_->stub().*rpc)(ctx.get(), req, &resp);
    if (!s.ok()) return FromGrpcStatus(s);
    return resp;
  }

  // An enterprise owned by `owner` with the given tier (1 = A1 … 5 = C; 0 unranked).
  static std::string NewCustomer(int tier, const std::string& owner = "mgr-wang", const std::string& team = "east") {
    static std::atomic<int> n{9100};
    cpb::CreateCustomerRequest req;
    const int seq = ++n;
    *req.mutable_customer() = customers::testing::Enterprise(absl::StrCat("福州投诉测试", seq), seq);
    cpb::Customer c;
    grpc::Status s = customers_->stub().CreateCustomer(customers_->As(Role::kManager, owner, team).get(), req, &c);
    EXPECT_TRUE(s.ok()) << s.error_message();
    absl::Status set = db::RunInTransaction(*customers_pool_, absl::Now() + absl::Seconds(10), [&](sql::Connection& conn) {
      db::Execute(conn, "UPDATE customers SET tier = ? WHERE id = ?", int64_t{tier},
                  std::stoll(c.name().substr(c.name().find('/') + 1)));
      return absl::OkStatus();
    });
    EXPECT_THAT(set, IsOk());
    return c.name();
  }

  static std::string NewContact(const std::string& customer, cpb::ContactRole role,
                                const std::string& owner = "mgr-wang") {
    cpb::CreateContactRequest req;
    req.set_parent(customer);
    req.mutable_contact()->set_display_name("张总");
    req.mutable_contact()->set_role(role);
    req.mutable_contact()->set_phone("13800001111");
    if (role == cpb::VIP) req.mutable_contact()->set_vip_level(cpb::GOLD);
    cpb::Contact c;
    grpc::Status s = customers_->stub().CreateContact(customers_->As(Role::kManager, owner).get(), req, &c);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return c.name();
  }

  static pb::Complaint Draft(const std::string& customer) {
    pb::Complaint c;
    c.set_customer(customer);
    c.set_channel(pb::PHONE);
    c.set_category(pb::SERVICE);
    c.set_statement("专线中断两小时,业务受影响");
    c.set_confirmed_statement("已向客户复述:专线中断两小时");
    return c;
  }

  static absl::StatusOr<pb::Complaint> Record(const pb::Complaint& draft, const Principal& who = {},
                                              const std::string& request_id = RequestId()) {
    pb::RecordComplaintRequest req;
    *req.mutable_complaint() = draft;
    req.set_request_id(request_id);
    return Invoke(&Stub::RecordComplaint, req, who);
  }

  static absl::StatusOr<pb::Complaint> Get(const std::string& name, const Principal& who = {}) {
    pb::GetComplaintRequest req;
    req.set_name(name);
    return Invoke(&Stub::GetComplaint, req, who);
  }

  // The customer accepts a proposed resolution: RESOLVED.
  static void ProposeAndAccept(const std::string& name, const Principal& who = {}) {
    pb::ProposeResolutionRequest propose;
    propose.set_name(name);
    propose.set_resolution("已处理");
    ASSERT_THAT(Invoke(&Stub::ProposeResolution, propose, who), IsOk());
    pb::RecordCustomerDecisionRequest accept;
    accept.set_name(name);
    accept.set_accepted(true);
    ASSERT_THAT(Invoke(&Stub::RecordCustomerDecision, accept, who), IsOk());
  }

  // Events of `type` (full message name suffix) about `complaint`.
  static std::vector<events::v1::Event> EventsOf(const std::string& complaint, const std::string& type) {
    std::vector<events::v1::Event> out;
    for (const events::v1::Event& e : server_->Events()) {
      if (e.resource_name() == complaint && e.type() == absl::StrCat("crm.complaints.v1.", type)) out.push_back(e);
    }
    return out;
  }

  static int64_t Count(const std::string& query) {
    auto n = db::WithConnection(server_->pool(), absl::Now() + absl::Seconds(10),
                                [&](sql::Connection& conn) -> absl::StatusOr<int64_t> {
                                  auto rs = db::Query(conn, query);
                                  return rs->next() ? rs->getInt64(1) : 0;
                                });
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  static inline crm::testing::TestDatabase* customers_db_ = nullptr;
  static inline crm::testing::TestDatabase* complaints_db_ = nullptr;
  static inline customers::testing::CustomersServer* customers_ = nullptr;
  static inline db::ConnectionPool* customers_pool_ = nullptr;
  static inline ComplaintsServer* server_ = nullptr;
};

// ---------------------------------------------------------------- recording

TEST_F(ComplaintsIntegrationTest, TargetsComeFromTierVipAndSeverity) {
  const std::string a = NewCustomer(1), b = NewCustomer(3), c = NewCustomer(5), unranked = NewCustomer(0);
  struct Case {
    std::string customer;
    pb::Severity severity;
    bool vip_contact;
    pb::TierClass tier_class;
    int first_response_h, resolution_h;
  };
  const std::vector<Case> cases = {
      {a, pb::NORMAL, false, pb::TIER_A, 2, 48},   {b, pb::NORMAL, false, pb::TIER_B, 4, 72},
      {c, pb::NORMAL, false, pb::TIER_C, 8, 120},  {unranked, pb::NORMAL, false, pb::TIER_C, 8, 120},
      {c, pb::MAJOR, false, pb::TIER_C, 2, 24},    {b, pb::NORMAL, true, pb::TIER_B, 2, 24},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(absl::StrCat(k.customer, " ", pb::Severity_Name(k.severity), k.vip_contact ? " VIP" : ""));
    pb::Complaint draft = Draft(k.customer);
    draft.set_severity(k.severity);
    if (k.vip_contact) draft.set_contact(NewContact(k.customer, cpb::VIP));
    auto recorded = Record(draft);
    ASSERT_THAT(recorded, IsOk());
    EXPECT_EQ(recorded->tier_class(), k.tier_class);
    EXPECT_EQ(recorded->vip(), k.vip_contact);
    EXPECT_FALSE(recorded->targets_provisional());
    EXPECT_EQ(recorded->status(), pb::OPEN);
    EXPECT_EQ(recorded->owner(), "mgr-wang");
    EXPECT_EQ(Target(*recorded, pb::FIRST_RESPONSE), absl::Hours(k.first_response_h));
    EXPECT_EQ(Target(*recorded, pb::RESOLUTION), absl::Hours(k.resolution_h));
    EXPECT_EQ(ClockOf(*recorded, pb::RESOLUTION).state(), pb::ON_TRACK);
    EXPECT_EQ(FromProto(ClockOf(*recorded, pb::RESOLUTION).due_time()), kStart + absl::Hours(k.resolution_h));
  }
}

TEST_F(ComplaintsIntegrationTest, AClassComplaintsNotifyTheSupervisorOnRecording) {
  auto a = Record(Draft(NewCustomer(2)));
  auto c = Record(Draft(NewCustomer(5)));
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(c, IsOk());
  for (const auto& [complaint, notify] : {std::pair{*a, true}, std::pair{*c, false}}) {
    auto events = EventsOf(complaint.name(), "ComplaintRecorded");
    ASSERT_EQ(events.size(), 1u);
    pb::ComplaintRecorded payload;
    ASSERT_TRUE(events[0].payload().UnpackTo(&payload));
    EXPECT_EQ(payload.notify_supervisor(), notify) << complaint.name();
    EXPECT_EQ(payload.owner(), "mgr-wang");
    EXPECT_EQ(payload.team(), "east");
  }
}

TEST_F(ComplaintsIntegrationTest, RetriesWithOneRequestIdRecordOnce) {
  const pb::Complaint draft = Draft(NewCustomer(4));
  const std::string id = RequestId();
  const int64_t before = Count("SELECT COUNT(*) FROM complaints");
  std::vector<std::thread> threads;
  std::vector<std::string> names(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto c = Record(draft, {}, id);
      EXPECT_THAT(c, IsOk());
      if (c.ok()) names[i] = c->name();
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& n : names) EXPECT_EQ(n, names[0]);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM complaints"), before + 1);
  EXPECT_EQ(EventsOf(names[0], "ComplaintRecorded").size(), 1u);
}

// Issue 8: a request id is scoped to its caller. Keyed on (method, request
// id) alone, mgr-zhao (another team) reusing mgr-wang's request id was
// handed mgr-wang's complaint, and a supervisor's note with the request id
// of the manager's note was dropped as a retry of it.
TEST_F(ComplaintsIntegrationTest, RequestIdsAreScopedToTheCaller) {
  const std::map<std::string, Principal> who = {{"mgr-wang", {Role::kManager, "mgr-wang", "east"}},
                                                {"mgr-zhao", {Role::kManager, "mgr-zhao", "west"}},
                                                {"sup-east", {Role::kSupervisor, "sup-east", "east"}}};
  const std::map<std::string, std::string> customers = {{"mgr-wang", NewCustomer(4, "mgr-wang", "east")},
                                                        {"mgr-zhao", NewCustomer(4, "mgr-zhao", "west")}};
  const crm::testing::IdempotentCreate complaints{
      .create = [&](const std::string& caller, const std::string& request_id) -> absl::StatusOr<std::string> {
        ASSIGN_OR_RETURN(pb::Complaint c, Record(Draft(customers.at(caller)), who.at(caller), request_id));
        return c.name();
      },
      .read = [&](const std::string& caller, const std::string& name) -> absl::StatusOr<std::string> {
        ASSIGN_OR_RETURN(pb::Complaint c, Get(name, who.at(caller)));
        return c.SerializeAsString();
      },
      .count = [] { return Count("SELECT COUNT(*) FROM complaints"); }};
  crm::testing::ExpectRequestIdScopedToCaller(complaints, "mgr-wang", "mgr-zhao", RequestId());

  // Notes on one complaint by its manager and their supervisor.
  auto complaint = Record(Draft(customers.at("mgr-wang")));
  ASSERT_THAT(complaint, IsOk());
  const std::string id = complaint->name().substr(complaint->name().rfind('/') + 1);
  int n = 0;
  const crm::testing::IdempotentCreate notes{
      .create = [&](const std::string& caller, const std::string& request_id) -> absl::StatusOr<std::string> {
        pb::AddComplaintNoteRequest req;
        req.set_parent(complaint->name());
        req.set_text(absl::StrCat("备注 ", ++n));
        req.set_request_id(request_id);
        ASSIGN_OR_RETURN(pb::TimelineEntry note, Invoke(&Stub::AddComplaintNote, req, who.at(caller)));
        return note.name();
      },
      .read = [&](const std::string& caller, const std::string& name) -> absl::StatusOr<std::string> {
        pb::ListTimelineRequest req;
        req.set_parent(complaint->name());
        req.set_page_size(100);
        ASSIGN_OR_RETURN(pb::ListTimelineResponse timeline, Invoke(&Stub::ListTimeline, req, who.at(caller)));
        for (const pb::TimelineEntry& e : timeline.entries()) {
          if (e.name() == name) return e.SerializeAsString();
        }
        return absl::NotFoundError(name);
      },
      .count = [&] { return Count(absl::StrCat("SELECT COUNT(*) FROM timeline WHERE complaint_id = ", id)); }};
  crm::testing::ExpectRequestIdScopedToCaller(notes, "mgr-wang", "sup-east", RequestId());
}

TEST_F(ComplaintsIntegrationTest, BadInputIsRefusedByFieldAndWritesNothing) {
  const std::string customer = NewCustomer(3);
  const int64_t before = Count("SELECT COUNT(*) FROM complaints");
  struct Case {
    std::string field;
    std::function<void(pb::RecordComplaintRequest&)> spoil;
  };
  const std::vector<Case> cases = {
      {"request_id", [](auto& r) { r.set_request_id("bad\x01id"); }},
      {"request_id", [](auto& r) { r.set_request_id(std::string(65, 'x')); }},
      {"complaint.customer", [](auto& r) { r.mutable_complaint()->clear_customer(); }},
      {"complaint.customer", [](auto& r) { r.mutable_complaint()->set_customer("customers/0"); }},
      {"complaint.customer", [](auto& r) { r.mutable_complaint()->set_customer("customers/1; DROP TABLE x"); }},
      {"complaint.channel", [](auto& r) { r.mutable_complaint()->clear_channel(); }},
      {"complaint.channel", [](auto& r) { r.mutable_complaint()->set_channel(static_cast<pb::Channel>(99)); }},
      {"complaint.category", [](auto& r) { r.mutable_complaint()->clear_category(); }},
      {"complaint.severity", [](auto& r) { r.mutable_complaint()->set_severity(static_cast<pb::Severity>(-1)); }},
      {"complaint.kind", [](auto& r) { r.mutable_complaint()->set_kind(static_cast<pb::ComplaintKind>(7)); }},
      {"complaint.statement", [](auto& r) { r.mutable_complaint()->clear_statement(); }},
      {"complaint.statement", [](auto& r) { r.mutable_complaint()->set_statement(std::string(4001, 'a')); }},
      {"complaint.confirmed_statement",
       [](auto& r) { r.mutable_complaint()->set_confirmed_statement(std::string(4001, 'a')); }},
      {"complaint.contact", [](auto& r) { r.mutable_complaint()->set_contact("contacts/3"); }},
      {"complaint.contact", [](auto& r) { r.mutable_complaint()->set_contact("customers/999999/contacts/1"); }},
  };
  for (const Case& k : cases) {
    pb::RecordComplaintRequest req;
    *req.mutable_complaint() = Draft(customer);
    req.set_request_id(RequestId());
    k.spoil(req);
    EXPECT_THAT(Invoke(&Stub::RecordComplaint, req), HasFieldViolation(k.field)) << k.field;
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM complaints"), before);
  // A customer the caller may not see is NOT_FOUND, and a SERVICE caller owns nothing.
  EXPECT_THAT(Record(Draft(customer), {Role::kManager, "mgr-other", "west"}), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Record(Draft(customer), {Role::kService, "svc", ""}), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM complaints"), before);
}

TEST_F(ComplaintsIntegrationTest, CustomersDownRecordsWithStrictestTargetsThenReevaluates) {
  const std::string customer = NewCustomer(5);
  server_->set_customers_down(true);
  auto recorded = Record(Draft(customer));
  ASSERT_THAT(recorded, IsOk());
  EXPECT_TRUE(recorded->targets_provisional());
  EXPECT_EQ(Target(*recorded, pb::FIRST_RESPONSE), absl::Hours(2));
  EXPECT_EQ(Target(*recorded, pb::RESOLUTION), absl::Hours(24));
  // Still down: the pass stops at the first UNAVAILABLE and changes nothing.
  const client::Caller service{absl::Now() + absl::Seconds(20), ComplaintsServer::Token(Role::kService, "crm-complaints", "")};
  EXPECT_THAT(server_->service().ReevaluateProvisional(service, 100), StatusIs(absl::StatusCode::kUnavailable));

  server_->set_customers_down(false);
  server_->clock().Advance(absl::Hours(1));
  auto done = server_->service().ReevaluateProvisional(service, 100);
  ASSERT_THAT(done, IsOk());
  EXPECT_GE(*done, 1);
  auto after = Get(recorded->name());
  ASSERT_THAT(after, IsOk());
  EXPECT_FALSE(after->targets_provisional());
  EXPECT_EQ(after->tier_class(), pb::TIER_C);
  EXPECT_EQ(Target(*after, pb::FIRST_RESPONSE), absl::Hours(8));
  EXPECT_EQ(Target(*after, pb::RESOLUTION), absl::Hours(120));
  // The clock kept counting from the recording: 1 h of 120 h used.
  EXPECT_EQ(ClockOf(*after, pb::RESOLUTION).used().seconds(), 3600);
  pb::ListClockTransitionsRequest log_req;
  log_req.set_name(recorded->name());
  auto log = Invoke(&Stub::ListClockTransitions, log_req);
  ASSERT_THAT(log, IsOk());
  int retargets = 0;
  for (const auto& t : log->transitions()) {
    if (t.action() == pb::RETARGET) {
      ++retargets;
      EXPECT_THAT(t.reason(), HasSubstr("tier C"));
    }
  }
  EXPECT_EQ(retargets, 2);
}

TEST_F(ComplaintsIntegrationTest, EveryRpcRefusesBadNamesAndMissingTextByField) {
  auto c = Record(Draft(NewCustomer(3)));
  ASSERT_THAT(c, IsOk());
  const int64_t transitions = Count("SELECT COUNT(*) FROM clock_transitions");
  const int64_t timeline = Count("SELECT COUNT(*) FROM timeline");
  for (const std::string bad : {"", "complaints/abc", "complaints/0", "customers/1", "complaints/1/x", "complaints/1'--"}) {
    SCOPED_TRACE(bad);
    pb::GetComplaintRequest get;
    get.set_name(bad);
    EXPECT_THAT(Invoke(&Stub::GetComplaint, get), HasFieldViolation("name"));
    pb::RespondToComplaintRequest respond;
    respond.set_name(bad);
    respond.set_response("ok");
    EXPECT_THAT(Invoke(&Stub::RespondToComplaint, respond), HasFieldViolation("name"));
    pb::ListTimelineRequest timeline_req;
    timeline_req.set_parent(bad);
    EXPECT_THAT(Invoke(&Stub::ListTimeline, timeline_req), HasFieldViolation("parent"));
    pb::CompleteTransferRequest complete;
    complete.set_name(bad);
    complete.set_reply("done");
    EXPECT_THAT(Invoke(&Stub::CompleteTransfer, complete), HasFieldViolation("name"));
  }
  pb::RespondToComplaintRequest respond;
  respond.set_name(c->name());
  EXPECT_THAT(Invoke(&Stub::RespondToComplaint, respond), HasFieldViolation("response"));
  pb::PauseComplaintClockRequest pause;
  pause.set_name(c->name());
  EXPECT_THAT(Invoke(&Stub::PauseComplaintClock, pause), HasFieldViolation("reason"));
  pause.set_reason(std::string(1001, 'r'));
  EXPECT_THAT(Invoke(&Stub::PauseComplaintClock, pause), HasFieldViolation("reason"));
  pb::ProposeResolutionRequest propose;
  propose.set_name(c->name());
  EXPECT_THAT(Invoke(&Stub::ProposeResolution, propose), HasFieldViolation("resolution"));
  pb::TransferComplaintRequest transfer;
  transfer.set_parent(c->name());
  transfer.set_request_id(RequestId());
  transfer.mutable_transfer()->set_department("计费中心");
  transfer.mutable_transfer()->set_request("核对账单");
  ToProto(kStart - absl::Hours(1), transfer.mutable_transfer()->mutable_due_time());
  EXPECT_THAT(Invoke(&Stub::TransferComplaint, transfer), HasFieldViolation("transfer.due_time"));
  pb::AddComplaintNoteRequest note;
  note.set_parent(c->name());
  note.set_request_id(RequestId());
  EXPECT_THAT(Invoke(&Stub::AddComplaintNote, note), HasFieldViolation("text"));
  pb::ListComplaintsRequest list;
  list.set_page_size(-1);
  EXPECT_THAT(Invoke(&Stub::ListComplaints, list), HasFieldViolation("page_size"));
  list.set_page_size(10);
  list.set_page_token("forged");
  EXPECT_THAT(Invoke(&Stub::ListComplaints, list), HasFieldViolation("page_token"));
  list.clear_page_token();
  list.set_status(static_cast<pb::ComplaintStatus>(42));
  EXPECT_THAT(Invoke(&Stub::ListComplaints, list), HasFieldViolation("status"));
  pb::GetSlaComplianceReportRequest report;
  ToProto(kStart, report.mutable_start_time());
  ToProto(kStart - absl::Hours(1), report.mutable_end_time());
  EXPECT_THAT(Invoke(&Stub::GetSlaComplianceReport, report), HasFieldViolation("end_time"));
  // Nothing was written by any of them.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM clock_transitions"), transitions);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM timeline"), timeline);
  auto unchanged = Get(c->name());
  ASSERT_THAT(unchanged, IsOk());
  EXPECT_EQ(unchanged->etag(), c->etag());

  // A note, retried with its request id, is one timeline entry.
  note.set_text("客户来电催促");
  auto first = Invoke(&Stub::AddComplaintNote, note);
  auto retry = Invoke(&Stub::AddComplaintNote, note);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(retry, IsOk());
  EXPECT_EQ(first->name(), retry->name());
  EXPECT_EQ(first->kind(), pb::NOTE);
  EXPECT_EQ(first->author(), "mgr-wang");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM timeline"), timeline + 1);
}

// ---------------------------------------------------------------- lifecycle

TEST_F(ComplaintsIntegrationTest, FullLifecycleWithPauseRejectionEscalationAndRevisit) {
  auto c = Record(Draft(NewCustomer(5)));  // C: 8 h / 120 h
  ASSERT_THAT(c, IsOk());
  const std::string name = c->name();
  FakeClock& clock = server_->clock();

  clock.Advance(absl::Hours(1));
  pb::RespondToComplaintRequest respond;
  respond.set_name(name);
  respond.set_response("已联系网络部排查");
  auto responded = Invoke(&Stub::RespondToComplaint, respond);
  ASSERT_THAT(responded, IsOk());
  EXPECT_EQ(responded->status(), pb::IN_PROGRESS);
  EXPECT_EQ(ClockOf(*responded, pb::FIRST_RESPONSE).state(), pb::MET);
  EXPECT_THAT(Invoke(&Stub::RespondToComplaint, respond), StatusIs(absl::StatusCode::kFailedPrecondition));

  // Waiting on the customer across what would have been the deadline.
  pb::PauseComplaintClockRequest pause;
  pause.set_name(name);
  pause.set_reason("等待客户提供故障时间段");
  pause.set_etag(responded->etag());
  auto paused = Invoke(&Stub::PauseComplaintClock, pause);
  ASSERT_THAT(paused, IsOk());
  EXPECT_EQ(paused->status(), pb::WAITING_ON_CUSTOMER);
  EXPECT_TRUE(ClockOf(*paused, pb::RESOLUTION).paused());
  clock.Advance(absl::Hours(200));
  EXPECT_THAT(SweepDueClocks(server_->repository(), clock.Now(), absl::Now() + absl::Seconds(20), 100),
              ::testing::AnyOf(IsOk()));
  auto still = Get(name);
  ASSERT_THAT(still, IsOk());
  EXPECT_EQ(ClockOf(*still, pb::RESOLUTION).state(), pb::ON_TRACK);
  EXPECT_EQ(ClockOf(*still, pb::RESOLUTION).used().seconds(), 3600);
  EXPECT_TRUE(EventsOf(name, "ComplaintSlaBreached").empty());

  pb::ResumeComplaintClockRequest resume;
  resume.set_name(name);
  resume.set_reason("客户已回复");
  auto resumed = Invoke(&Stub::ResumeComplaintClock, resume);
  ASSERT_THAT(resumed, IsOk());
  EXPECT_EQ(resumed->status(), pb::IN_PROGRESS);
  EXPECT_EQ(FromProto(ClockOf(*resumed, pb::RESOLUTION).due_time()), clock.Now() + absl::Hours(119));

  // The customer rejects the first resolution: escalated to the supervisor.
  pb::ProposeResolutionRequest propose;
  propose.set_name(name);
  propose.set_resolution("更换光模块");
  ASSERT_THAT(Invoke(&Stub::ProposeResolution, propose), IsOk());
  pb::RecordCustomerDecisionRequest reject;
  reject.set_name(name);
  reject.set_accepted(false);
  EXPECT_THAT(Invoke(&Stub::RecordCustomerDecision, reject), HasFieldViolation("comment"));
  reject.set_comment("客户要求赔偿");
  auto rejected = Invoke(&Stub::RecordCustomerDecision, reject);
  ASSERT_THAT(rejected, IsOk());
  EXPECT_EQ(rejected->status(), pb::IN_PROGRESS);
  EXPECT_TRUE(rejected->escalated());
  EXPECT_EQ(rejected->escalation_count(), 1);
  auto escalations = EventsOf(name, "ComplaintEscalated");
  ASSERT_EQ(escalations.size(), 1u);
  pb::ComplaintEscalated escalated;
  ASSERT_TRUE(escalations[0].payload().UnpackTo(&escalated));
  EXPECT_EQ(escalated.reason(), "CUSTOMER_REJECTED");
  EXPECT_EQ(escalated.team(), "east");

  propose.set_resolution("更换光模块并减免当月费用");
  ASSERT_THAT(Invoke(&Stub::ProposeResolution, propose), IsOk());
  pb::RecordCustomerDecisionRequest accept;
  accept.set_name(name);
  accept.set_accepted(true);
  auto resolved = Invoke(&Stub::RecordCustomerDecision, accept);
  ASSERT_THAT(resolved, IsOk());
  EXPECT_EQ(resolved->status(), pb::RESOLVED);
  EXPECT_EQ(ClockOf(*resolved, pb::RESOLUTION).state(), pb::MET);
  EXPECT_EQ(EventsOf(name, "ComplaintResolved").size(), 1u);

  pb::RecordRevisitRequest revisit;
  revisit.set_name(name);
  revisit.set_satisfaction(5);
  EXPECT_THAT(Invoke(&Stub::RecordRevisit, revisit), StatusIs(absl::StatusCode::kFailedPrecondition));
  pb::CloseComplaintRequest close;
  close.set_name(name);
  auto closed = Invoke(&Stub::CloseComplaint, close);
  ASSERT_THAT(closed, IsOk());
  EXPECT_EQ(closed->status(), pb::CLOSED);
  // Closed on 2027-01-09 (Shanghai): the revisit is due by 2027-02-01 00:00.
  const absl::TimeZone shanghai = calendar::WorkingCalendar().zone();
  EXPECT_EQ(FromProto(closed->revisit_due_time()), absl::FromCivil(absl::CivilDay(2027, 2, 1), shanghai));
  EXPECT_EQ(EventsOf(name, "ComplaintClosed").size(), 1u);

  revisit.set_satisfaction(6);
  EXPECT_THAT(Invoke(&Stub::RecordRevisit, revisit), HasFieldViolation("satisfaction"));
  revisit.set_satisfaction(5);
  auto revisited = Invoke(&Stub::RecordRevisit, revisit);
  ASSERT_THAT(revisited, IsOk());
  EXPECT_EQ(revisited->status(), pb::REVISITED);
  EXPECT_EQ(revisited->revisit().satisfaction(), 5);
  EXPECT_EQ(EventsOf(name, "ComplaintRevisited").size(), 1u);

  // Every clock transition and state change is on record, in order.
  pb::ListTimelineRequest timeline_req;
  timeline_req.set_parent(name);
  timeline_req.set_page_size(3);
  std::vector<std::string> texts;
  while (true) {
    auto page = Invoke(&Stub::ListTimeline, timeline_req);
    ASSERT_THAT(page, IsOk());
    for (const auto& e : page->entries()) texts.push_back(e.text());
    if (page->next_page_token().empty()) break;
    timeline_req.set_page_token(page->next_page_token());
  }
  ASSERT_GE(texts.size(), 10u);
  EXPECT_THAT(texts.front(), HasSubstr("recorded by mgr-wang"));
  EXPECT_THAT(texts.back(), HasSubstr("CLOSED → REVISITED"));
  pb::ListClockTransitionsRequest log_req;
  log_req.set_name(name);
  auto log = Invoke(&Stub::ListClockTransitions, log_req);
  ASSERT_THAT(log, IsOk());
  std::vector<pb::ClockAction> resolution_actions;
  for (const auto& t : log->transitions()) {
    if (t.kind() == pb::RESOLUTION) {
      resolution_actions.push_back(t.action());
      EXPECT_FALSE(t.actor().empty());
    }
  }
  EXPECT_EQ(resolution_actions, (std::vector<pb::ClockAction>{pb::START, pb::PAUSE, pb::RESUME, pb::PAUSE,
                                                              pb::RESUME, pb::PAUSE, pb::STOP}));
}

TEST_F(ComplaintsIntegrationTest, RevisitAfterTheMonthOfClosingIsRefused) {
  auto c = Record(Draft(NewCustomer(3)));
  ASSERT_THAT(c, IsOk());
  ProposeAndAccept(c->name());
  pb::CloseComplaintRequest close;
  close.set_name(c->name());
  ASSERT_THAT(Invoke(&Stub::CloseComplaint, close), IsOk());
  server_->clock().Advance(absl::Hours(24 * 31));
  pb::RecordRevisitRequest revisit;
  revisit.set_name(c->name());
  revisit.set_satisfaction(4);
  EXPECT_THAT(Invoke(&Stub::RecordRevisit, revisit),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("CMP-7")));
}

// ---------------------------------------------------------------- breaches

TEST_F(ComplaintsIntegrationTest, TwoReplicasSweepingTogetherAnnounceEachBreachOnce) {
  // Clear earlier tests' due clocks so the counts below are this test's.
  server_->clock().Set(kStart + absl::Hours(24 * 400));
  ASSERT_THAT(SweepDueClocks(server_->repository(), server_->clock().Now(), absl::Now() + absl::Seconds(30), 500),
              IsOk());
  server_->clock().Set(kStart);
  const std::string customer = NewCustomer(5);  // C: first response 8 h
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) {
    auto c = Record(Draft(customer));
    ASSERT_THAT(c, IsOk());
    names.push_back(c->name());
  }
  // Ten of them are answered in time; thirty first-response clocks fall due.
  for (int i = 0; i < 10; ++i) {
    pb::RespondToComplaintRequest respond;
    respond.set_name(names[i]);
    respond.set_response("已回复");
    ASSERT_THAT(Invoke(&Stub::RespondToComplaint, respond), IsOk());
  }
  const absl::Time later = kStart + absl::Hours(9);
  db::ConnectionPool other_pool(complaints_db_->config());
  MysqlComplaintRepository other_replica(other_pool);
  std::atomic<int64_t> marked{0};
  std::vector<std::thread> replicas;
  for (ComplaintRepository* repo : {static_cast<ComplaintRepository*>(&server_->repository()),
                                    static_cast<ComplaintRepository*>(&other_replica)}) {
    replicas.emplace_back([&, repo] {
      for (int round = 0; round < 5; ++round) {
        auto n = SweepDueClocks(*repo, later, absl::Now() + absl::Seconds(30), 7);
        EXPECT_THAT(n, IsOk());
        if (n.ok()) marked += *n;
      }
    });
  }
  for (auto& t : replicas) t.join();
  EXPECT_EQ(marked.load(), 30);
  int breached_events = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    auto events = EventsOf(names[i], "ComplaintSlaBreached");
    breached_events += static_cast<int>(events.size());
    EXPECT_EQ(events.size(), i < 10 ? 0u : 1u) << names[i];
    if (!events.empty()) {
      pb::ComplaintSlaBreached payload;
      ASSERT_TRUE(events[0].payload().UnpackTo(&payload));
      EXPECT_EQ(payload.clock(), "FIRST_RESPONSE");
      EXPECT_EQ(payload.owner(), "mgr-wang");
    }
  }
  EXPECT_EQ(breached_events, 30);
  // Restart-like: a fresh sweep later finds nothing more to announce.
  auto again = SweepDueClocks(other_replica, later + absl::Hours(1), absl::Now() + absl::Seconds(30), 500);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again, 0);
  server_->clock().Set(later);
  auto breached = Get(names[20]);
  ASSERT_THAT(breached, IsOk());
  EXPECT_EQ(ClockOf(*breached, pb::FIRST_RESPONSE).state(), pb::BREACHED);
  EXPECT_TRUE(ClockOf(*breached, pb::FIRST_RESPONSE).has_breach_time());
  // Responding late stops the clock but it stays BREACHED, and no second event.
  pb::RespondToComplaintRequest late;
  late.set_name(names[20]);
  late.set_response("迟到的回复");
  auto responded = Invoke(&Stub::RespondToComplaint, late);
  ASSERT_THAT(responded, IsOk());
  EXPECT_EQ(ClockOf(*responded, pb::FIRST_RESPONSE).state(), pb::BREACHED);
  EXPECT_TRUE(ClockOf(*responded, pb::FIRST_RESPONSE).stopped());
  ASSERT_THAT(SweepDueClocks(server_->repository(), later + absl::Hours(2), absl::Now() + absl::Seconds(30), 500),
              IsOk());
  EXPECT_EQ(EventsOf(names[20], "ComplaintSlaBreached").size(), 1u);
}

TEST_F(ComplaintsIntegrationTest, AtRiskListingFollowsTheConfiguredFraction) {
  auto c = Record(Draft(NewCustomer(5)));  // first response 8 h; at risk after 6 h
  ASSERT_THAT(c, IsOk());
  pb::ListComplaintsRequest req;
  req.set_at_risk_only(true);
  req.set_customer(c->customer());
  server_->clock().Set(kStart + absl::Hours(5));
  auto before = Invoke(&Stub::ListComplaints, req);
  ASSERT_THAT(before, IsOk());
  EXPECT_EQ(before->complaints_size(), 0);
  server_->clock().Set(kStart + absl::Hours(6));
  auto after = Invoke(&Stub::ListComplaints, req);
  ASSERT_THAT(after, IsOk());
  ASSERT_EQ(after->complaints_size(), 1);
  EXPECT_EQ(ClockOf(after->complaints(0), pb::FIRST_RESPONSE).state(), pb::AT_RISK);
}

// ---------------------------------------------------------------- transfers

TEST_F(ComplaintsIntegrationTest, TransfersKeepTheOwnerAndCarryTheirOwnDueTime) {
  auto c = Record(Draft(NewCustomer(3)));
  ASSERT_THAT(c, IsOk());
  pb::TransferComplaintRequest req;
  req.set_parent(c->name());
  req.set_request_id(RequestId());
  req.mutable_transfer()->set_department("网络维护中心");
  req.mutable_transfer()->set_request("请排查 OLT 端口");
  EXPECT_THAT(Invoke(&Stub::TransferComplaint, req), HasFieldViolation("transfer.due_time"));
  ToProto(kStart + absl::Hours(4), req.mutable_transfer()->mutable_due_time());
  auto transfer = Invoke(&Stub::TransferComplaint, req);
  ASSERT_THAT(transfer, IsOk());
  EXPECT_EQ(transfer->transferred_by(), "mgr-wang");
  auto again = Invoke(&Stub::TransferComplaint, req);  // retry: same transfer
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->name(), transfer->name());
  auto after = Get(c->name());
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->owner(), "mgr-wang");
  ASSERT_EQ(after->clocks_size(), 3);
  EXPECT_EQ(ClockOf(*after, pb::TRANSFER).transfer(), transfer->name());
  EXPECT_EQ(FromProto(ClockOf(*after, pb::TRANSFER).due_time()), kStart + absl::Hours(4));

  // Resolved, but the department has not answered: closing waits for it.
  ProposeAndAccept(c->name());
  pb::CloseComplaintRequest close;
  close.set_name(c->name());
  EXPECT_THAT(Invoke(&Stub::CloseComplaint, close), StatusIs(absl::StatusCode::kFailedPrecondition));
  pb::CompleteTransferRequest complete;
  complete.set_name(transfer->name());
  complete.set_reply("端口已更换");
  auto completed = Invoke(&Stub::CompleteTransfer, complete);
  ASSERT_THAT(completed, IsOk());
  EXPECT_EQ(completed->reply(), "端口已更换");
  EXPECT_THAT(Invoke(&Stub::CompleteTransfer, complete), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Invoke(&Stub::CloseComplaint, close), IsOk());
  pb::ListTransfersRequest list;
  list.set_parent(c->name());
  auto listed = Invoke(&Stub::ListTransfers, list);
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->transfers_size(), 1);
  EXPECT_TRUE(listed->transfers(0).has_complete_time());
}

// ---------------------------------------------------------------- access and etags

TEST_F(ComplaintsIntegrationTest, RowLevelAccessByRole) {
  auto c = Record(Draft(NewCustomer(3)));
  ASSERT_THAT(c, IsOk());
  EXPECT_THAT(Get(c->name(), {Role::kManager, "mgr-other", "east"}), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Get(c->name(), {Role::kSupervisor, "sup-west", "west"}), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Get(c->name(), {Role::kSupervisor, "sup-east", "east"}), IsOk());
  EXPECT_THAT(Get(c->name(), {Role::kAdmin, "admin", ""}), IsOk());
  pb::AddComplaintNoteRequest note;
  note.set_parent(c->name());
  note.set_text("另一个经理的备注");
  note.set_request_id(RequestId());
  EXPECT_THAT(Invoke(&Stub::AddComplaintNote, note, {Role::kManager, "mgr-other", "east"}),
              StatusIs(absl::StatusCode::kNotFound));
  pb::ListComplaintsRequest list;
  list.set_customer(c->customer());
  auto theirs = Invoke(&Stub::ListComplaints, list, {Role::kManager, "mgr-other", "east"});
  ASSERT_THAT(theirs, IsOk());
  EXPECT_EQ(theirs->complaints_size(), 0);
  auto mine = Invoke(&Stub::ListComplaints, list);
  ASSERT_THAT(mine, IsOk());
  EXPECT_EQ(mine->complaints_size(), 1);
}

TEST_F(ComplaintsIntegrationTest, ConcurrentEditsWithOneEtagLetExactlyOneWin) {
  auto c = Record(Draft(NewCustomer(3)));
  ASSERT_THAT(c, IsOk());
  std::atomic<int> ok{0}, aborted{0};
  std::vector<std::thread> writers;
  for (int i = 0; i < 6; ++i) {
    writers.emplace_back([&, i] {
      pb::UpdateComplaintRequest req;
      req.mutable_complaint()->set_name(c->name());
      req.mutable_complaint()->set_etag(c->etag());
      req.mutable_complaint()->set_category(i % 2 == 0 ? pb::NETWORK : pb::TARIFF);
      req.mutable_complaint()->set_resolvability(pb::SHORT_TERM);
      req.mutable_update_mask()->add_paths("category");
      req.mutable_update_mask()->add_paths("resolvability");
      auto r = Invoke(&Stub::UpdateComplaint, req);
      if (r.ok()) ++ok;
      if (r.status().code() == absl::StatusCode::kAborted) ++aborted;
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), 5);
  pb::UpdateComplaintRequest bad;
  bad.mutable_complaint()->set_name(c->name());
  bad.mutable_update_mask()->add_paths("severity");
  EXPECT_THAT(Invoke(&Stub::UpdateComplaint, bad), HasFieldViolation("update_mask"));
}

// ---------------------------------------------------------------- policy, faults, reports

TEST_F(ComplaintsIntegrationTest, AdminChangesThePolicyTableForNewComplaints) {
  auto listed = Invoke(&Stub::ListSlaPolicies, pb::ListSlaPoliciesRequest());
  ASSERT_THAT(listed, IsOk());
  EXPECT_EQ(listed->policies_size(), 36);
  pb::UpdateSlaPolicyRequest req;
  req.mutable_policy()->set_name("slaPolicies/servicerequest-normal-regular-b");
  req.mutable_policy()->mutable_resolution_target()->set_seconds(36 * 3600);
  req.mutable_policy()->set_basis(pb::WORKING_HOURS);
  req.mutable_update_mask()->add_paths("resolution_target");
  req.mutable_update_mask()->add_paths("basis");
  EXPECT_THAT(Invoke(&Stub::UpdateSlaPolicy, req), StatusIs(absl::StatusCode::kPermissionDenied));
  const Principal admin{Role::kAdmin, "admin", ""};
  req.mutable_policy()->set_etag("999");
  EXPECT_THAT(Invoke(&Stub::UpdateSlaPolicy, req, admin), StatusIs(absl::StatusCode::kAborted));
  req.mutable_policy()->clear_etag();
  auto updated = Invoke(&Stub::UpdateSlaPolicy, req, admin);
  ASSERT_THAT(updated, IsOk());
  EXPECT_EQ(updated->resolution_target().seconds(), 36 * 3600);
  EXPECT_EQ(updated->first_response_target().seconds(), 4 * 3600);
  req.mutable_policy()->set_name("slaPolicies/nonsense");
  EXPECT_THAT(Invoke(&Stub::UpdateSlaPolicy, req, admin), HasFieldViolation("policy.name"));

  pb::Complaint inquiry = Draft(NewCustomer(4));
  inquiry.set_kind(pb::SERVICE_REQUEST);
  inquiry.set_category(pb::BUSINESS);
  auto recorded = Record(inquiry);
  ASSERT_THAT(recorded, IsOk());
  EXPECT_EQ(Target(*recorded, pb::RESOLUTION), absl::Hours(36));
  EXPECT_EQ(ClockOf(*recorded, pb::RESOLUTION).basis(), pb::WORKING_HOURS);
  // Friday 08:00 Shanghai + 36 working hours (09:00-18:00) = Thursday 09:00... = 4 days of 9 h.
  const absl::TimeZone shanghai = calendar::WorkingCalendar().zone();
  EXPECT_EQ(FromProto(ClockOf(*recorded, pb::RESOLUTION).due_time()),
            absl::FromCivil(absl::CivilMinute(2027, 1, 6, 18, 0), shanghai));
}

TEST_F(ComplaintsIntegrationTest, FaultReportsNeedFindingsAndFeedTheAnalysisReport) {
  const std::string customer = NewCustomer(2);
  pb::Complaint fault = Draft(customer);
  fault.set_kind(pb::FAULT_REPORT);
  fault.set_category(pb::NETWORK);
  auto c = Record(fault);
  ASSERT_THAT(c, IsOk());
  pb::ProposeResolutionRequest propose;
  propose.set_name(c->name());
  propose.set_resolution("已恢复");
  EXPECT_THAT(Invoke(&Stub::ProposeResolution, propose), StatusIs(absl::StatusCode::kFailedPrecondition));
  server_->clock().Advance(absl::Hours(3));
  pb::RecordFaultFindingsRequest findings;
  findings.set_name(c->name());
  findings.mutable_findings()->set_cause("光缆被施工挖断");
  EXPECT_THAT(Invoke(&Stub::RecordFaultFindings, findings), HasFieldViolation("findings.fix"));
  findings.mutable_findings()->set_fix("熔接光缆");
  ToProto(kStart + absl::Hours(2), findings.mutable_findings()->mutable_restoration_time());
  ASSERT_THAT(Invoke(&Stub::RecordFaultFindings, findings), IsOk());
  ASSERT_THAT(Invoke(&Stub::ProposeResolution, propose), IsOk());
  pb::RecordFaultFindingsRequest on_complaint = findings;
  auto plain = Record(Draft(customer));
  ASSERT_THAT(plain, IsOk());
  on_complaint.set_name(plain->name());
  EXPECT_THAT(Invoke(&Stub::RecordFaultFindings, on_complaint), StatusIs(absl::StatusCode::kFailedPrecondition));

  pb::GetFaultAnalysisReportRequest report_req;
  report_req.set_customer(customer);
  ToProto(kStart - absl::Hours(1), report_req.mutable_start_time());
  ToProto(kStart + absl::Hours(24), report_req.mutable_end_time());
  auto report = Invoke(&Stub::GetFaultAnalysisReport, report_req);
  ASSERT_THAT(report, IsOk());
  ASSERT_EQ(report->faults_size(), 1);
  EXPECT_EQ(report->faults(0).findings().cause(), "光缆被施工挖断");
  EXPECT_EQ(report->restored(), 1);
  EXPECT_EQ(report->mean_time_to_restore().seconds(), 2 * 3600);
  report_req.clear_end_time();
  EXPECT_THAT(Invoke(&Stub::GetFaultAnalysisReport, report_req), HasFieldViolation("end_time"));
}

TEST_F(ComplaintsIntegrationTest, ComplianceReportPerManagerAndVipSatisfaction) {
  // A period of its own, so other tests' complaints do not count.
  const absl::Time period = kStart + absl::Hours(24 * 60);
  server_->clock().Set(period);
  const std::string customer = NewCustomer(3, "mgr-zhao", "north");
  auto finish = [&](const std::string& name, int satisfaction, const Principal& who) {
    ProposeAndAccept(name, who);
    pb::CloseComplaintRequest close;
    close.set_name(name);
    ASSERT_THAT(Invoke(&Stub::CloseComplaint, close, who), IsOk());
    pb::RecordRevisitRequest revisit;
    revisit.set_name(name);
    revisit.set_satisfaction(satisfaction);
    ASSERT_THAT(Invoke(&Stub::RecordRevisit, revisit, who), IsOk());
  };
  const Principal zhao{Role::kManager, "mgr-zhao", "north"};
  const Principal qian{Role::kManager, "mgr-qian", "north"};
  pb::Complaint vip_draft = Draft(customer);
  vip_draft.set_contact(NewContact(customer, cpb::VIP, "mgr-zhao"));
  auto v1 = Record(vip_draft, zhao);
  auto v2 = Record(vip_draft, zhao);
  auto late = Record(Draft(customer), zhao);
  ASSERT_THAT(v1, IsOk());
  ASSERT_THAT(v2, IsOk());
  ASSERT_THAT(late, IsOk());
  finish(v1->name(), 5, zhao);
  finish(v2->name(), 3, zhao);
  // mgr-qian has no access to mgr-zhao's customer, so records on a customer of their own.
  auto q = Record(Draft(NewCustomer(3, "mgr-qian", "north")), qian);
  ASSERT_THAT(q, IsOk());
  server_->clock().Advance(absl::Hours(5));  // B: first response 4 h → `late` and q breach
  ASSERT_THAT(SweepDueClocks(server_->repository(), server_->clock().Now(), absl::Now() + absl::Seconds(30), 500),
              IsOk());
  // q is closed but not (yet) revisited; `late` stays open.
  ProposeAndAccept(q->name(), qian);
  pb::CloseComplaintRequest close_q;
  close_q.set_name(q->name());
  ASSERT_THAT(Invoke(&Stub::CloseComplaint, close_q, qian), IsOk());

  pb::GetSlaComplianceReportRequest req;
  ToProto(period, req.mutable_start_time());
  ToProto(period + absl::Hours(24), req.mutable_end_time());
  auto team = Invoke(&Stub::GetSlaComplianceReport, req, {Role::kSupervisor, "sup-north", "north"});
  ASSERT_THAT(team, IsOk());
  ASSERT_EQ(team->managers_size(), 2);
  const pb::ComplianceFigures& z = team->managers(1).owner() == "mgr-zhao" ? team->managers(1).figures()
                                                                            : team->managers(0).figures();
  EXPECT_EQ(z.complaints(), 3);
  EXPECT_EQ(z.first_response_decided(), 3);
  EXPECT_EQ(z.first_response_met(), 2);
  EXPECT_EQ(z.resolution_decided(), 2);
  EXPECT_EQ(z.resolution_met(), 2);
  EXPECT_EQ(z.revisits(), 2);
  EXPECT_DOUBLE_EQ(z.average_satisfaction(), 4.0);
  EXPECT_EQ(z.closed(), 2);  // REVISITED counts as closed; `late` (open) does not
  EXPECT_DOUBLE_EQ(z.revisit_rate(), 1.0);
  EXPECT_EQ(team->total().complaints(), 4);
  EXPECT_EQ(team->total().closed(), 3);
  EXPECT_EQ(team->total().revisits(), 2);
  EXPECT_DOUBLE_EQ(team->total().revisit_rate(), 2.0 / 3.0);
  EXPECT_EQ(team->vip_revisits(), 2);
  EXPECT_EQ(team->vip_satisfied(), 1);
  EXPECT_DOUBLE_EQ(team->vip_satisfaction_rate(), 0.5);
  EXPECT_FALSE(team->vip_target_met());
  ASSERT_EQ(team->teams_size(), 1);
  EXPECT_EQ(team->teams(0).team(), "north");
  EXPECT_EQ(team->teams(0).figures().closed(), 3);
  EXPECT_DOUBLE_EQ(team->teams(0).figures().revisit_rate(), 2.0 / 3.0);
  auto own = Invoke(&Stub::GetSlaComplianceReport, req, qian);
  ASSERT_THAT(own, IsOk());
  ASSERT_EQ(own->managers_size(), 1);
  EXPECT_EQ(own->managers(0).owner(), "mgr-qian");
  EXPECT_EQ(own->total().first_response_met(), 0);
  EXPECT_EQ(own->total().closed(), 1);
  EXPECT_DOUBLE_EQ(own->total().revisit_rate(), 0.0);
}

}  // namespace
}  // namespace crm::complaints
