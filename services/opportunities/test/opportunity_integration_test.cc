// The opportunities service over gRPC against MariaDB, with the real
// customers service in-process (its own database) for customer lookups.
#include <atomic>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "common/events/test/event_test_support.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/testing/request_id_scope.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_database.h"
#include "common/util/proto_time.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "crm/opportunities/v1/events.pb.h"
#include "gtest/gtest.h"
#include "services/customers/test/customer_test_env.h"
#include "services/opportunities/test/opportunity_test_env.h"

namespace crm::opportunities {
namespace {

namespace cpb = ::crm::customers::v1;
using ::crm::testing::HasFieldViolation;
using ::crm::testing::StatusIs;
using ::testing::HasSubstr;
using auth::Role;
using testing::OpportunitiesServer;

Money Cny(int64_t units) {
  Money m;
  m.set_currency_code("CNY");
  m.set_units(units);
  return m;
}

std::string Uuid(absl::string_view tag) {
  static std::atomic<int> n{0};
  return absl::StrCat(tag, "-", ++n, "-", absl::ToUnixNanos(absl::Now()));
}

class OpportunitiesIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto customers_db = crm::testing::TestDatabase::Create();
    auto opportunities_db = crm::testing::TestDatabase::Create();
    ASSERT_TRUE(customers_db.ok()) << customers_db.status();
    ASSERT_TRUE(opportunities_db.ok()) << opportunities_db.status();
    customers_db_ = new crm::testing::TestDatabase(std::move(*customers_db));
    opportunities_db_ = new crm::testing::TestDatabase(std::move(*opportunities_db));
    customers_ = customers::testing::CustomersServer::Start(customers_db_->config()).release();
    ASSERT_NE(customers_, nullptr);
    server_ = OpportunitiesServer::Start(opportunities_db_->config(),
                                         absl::StrCat("127.0.0.1:", customers_->port()))
                  .release();
    ASSERT_NE(server_, nullptr);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete customers_;
    delete opportunities_db_;
    delete customers_db_;
  }
  void TearDown() override { server_->clock().Set(testing::kStart); }

  static pb::OpportunityService::Stub& stub() { return server_->stub(); }
  static auto As(Role role, const std::string& subject, const std::string& team = "east") {
    return OpportunitiesServer::As(role, subject, team);
  }

  // An enterprise customer owned by `owner` (team `team`).
  static std::string NewCustomer(const std::string& owner, const std::string& team = "east") {
    static std::atomic<int> n{7000};
    cpb::CreateCustomerRequest req;
    *req.mutable_customer() = customers::testing::Enterprise(absl::StrCat("福州商机测试", n.load()), ++n);
    cpb::Customer c;
    grpc::Status s = customers_->stub().CreateCustomer(As(Role::kManager, owner, team).get(), req, &c);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return c.name();
  }

  // An individual owned by mgr-li with the given questionnaire answers.
  static std::string NewIndividual(int answer) {
    cpb::CreateCustomerRequest req;
    req.mutable_customer()->set_kind(cpb::INDIVIDUAL);
    req.mutable_customer()->set_display_name("王女士");
    req.mutable_customer()->set_phone("13700001111");
    req.mutable_customer()->set_aml_rating(cpb::AML_LOW);
    cpb::Customer c;
    EXPECT_TRUE(customers_->stub().CreateCustomer(As(Role::kManager, "mgr-li").get(), req, &c).ok());
    cpb::AssessRiskToleranceRequest assess;
    assess.set_name(c.name());
    for (int i = 0; i < 5; ++i) assess.add_answer_scores(answer);
    EXPECT_TRUE(customers_->stub().AssessRiskTolerance(As(Role::kManager, "mgr-li").get(), assess, &c).ok());
    return c.name();
  }

  static absl::StatusOr<pb::Opportunity> CreateOpportunity(const std::string& customer, pb::OpportunityType type,
                                                           int64_t amount, const std::string& as = "mgr-li",
                                                           const std::string& request_id = "") {
    pb::CreateOpportunityRequest req;
    req.mutable_opportunity()->set_customer(customer);
    req.mutable_opportunity()->set_type(type);
    req.mutable_opportunity()->set_title("5G 专网 + 云专线");
    *req.mutable_opportunity()->mutable_amount() = Cny(amount);
    req.set_request_id(request_id);
    pb::Opportunity o;
    grpc::Status s = stub().CreateOpportunity(As(Role::kManager, as).get(), req, &o);
    if (!s.ok()) return FromGrpcStatus(s);
    return o;
  }

  // The payloads of type T about `resource` on this service's feed, in order.
  template <typename T>
  static std::vector<T> EventsAbout(const std::string& resource) {
    auto feed = events::testing::ReadWholeFeed(server_->feed(), [] { return As(Role::kService, "svc-test", ""); });
    EXPECT_TRUE(feed.ok()) << feed.status();
    std::vector<T> out;
    if (!feed.ok()) return out;
    for (const events::v1::Event& e : *feed) {
      if (e.type() != T::descriptor()->full_name() || e.resource_name() != resource) continue;
      EXPECT_TRUE(e.payload().UnpackTo(&out.emplace_back())) << e.type();
    }
    return out;
  }

  static std::string NewProduct(pb::OpportunityType category, pb::RiskLevel risk, int discount_limit = 10,
                                bool new_technology = false) {
    pb::CreateProductRequest req;
    req.mutable_product()->set_code(Uuid("P"));
    req.mutable_product()->set_display_name("云专线 100M");
    req.mutable_product()->set_category(category);
    req.mutable_product()->set_risk_level(risk);
    req.mutable_product()->set_manager_discount_limit(discount_limit);
    req.mutable_product()->set_new_technology(new_technology);
    pb::Product p;
    grpc::Status s = stub().CreateProduct(As(Role::kAdmin, "admin", "").get(), req, &p);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return p.name();
  }

  static absl::StatusOr<pb::Proposal> CreateProposal(const std::string& opportunity, const std::string& product,
                                                     int64_t unit_price, int64_t benefit, int discount = 0) {
    pb::CreateProposalRequest req;
    req.set_parent(opportunity);
    pb::Proposal& p = *req.mutable_proposal();
    p.set_title("信息化方案");
    auto* item = p.add_line_items();
    item->set_product(product);
    item->set_quantity(1);
    *item->mutable_unit_price() = Cny(unit_price);
    item->set_discount_percent(discount);
    *p.mutable_value_statement()->mutable_cost_reduction() = Cny(benefit);
    p.mutable_value_statement()->set_image("数字化标杆");
    auto* rival = p.add_competitor_comparisons();
    rival->set_competitor("友商");
    *rival->mutable_their_price() = Cny(unit_price - 1);
    pb::Proposal out;
    grpc::Status s = stub().CreateProposal(As(Role::kManager, "mgr-li").get(), req, &out);
    if (!s.ok()) return FromGrpcStatus(s);
    return out;
  }

  static inline crm::testing::TestDatabase* customers_db_ = nullptr;
  static inline crm::testing::TestDatabase* opportunities_db_ = nullptr;
  static inline customers::testing::CustomersServer* customers_ = nullptr;
  static inline OpportunitiesServer* server_ = nullptr;
};

// ---------------------------------------------------------------- needs

TEST_F(OpportunitiesIntegrationTest, NeedsFollowAClosedLoopAndEscalate) {
  const std::string customer = NewCustomer("mgr-li");
  pb::CreateNeedRequest create;
  create.mutable_need()->set_customer(customer);
  create.mutable_need()->set_source(pb::KEY_PERSON_RELATION);
  create.mutable_need()->set_title("分支机构视频会议");
  create.set_request_id(Uuid("need"));
  pb::Need need, again;
  ASSERT_TRUE(stub().CreateNeed(As(Role::kManager, "mgr-li").get(), create, &need).ok());
  EXPECT_EQ(need.status(), pb::OPEN);
  EXPECT_EQ(need.owner(), "mgr-li");
  ASSERT_TRUE(stub().CreateNeed(As(Role::kManager, "mgr-li").get(), create, &again).ok());
  EXPECT_EQ(again.name(), need.name());  // retried create: same need

  pb::UpdateNeedRequest update;
  update.mutable_need()->set_name(need.name());
  update.mutable_need()->set_status(pb::FULFILLED);
  update.mutable_update_mask()->add_paths("status");
  pb::Need updated;
  EXPECT_EQ(stub().UpdateNeed(As(Role::kManager, "mgr-li").get(), update, &updated).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  update.mutable_need()->set_status(pb::IN_PROGRESS);
  ASSERT_TRUE(stub().UpdateNeed(As(Role::kManager, "mgr-li").get(), update, &updated).ok());
  update.mutable_need()->set_status(pb::FULFILLED);
  EXPECT_THAT(FromGrpcStatus(stub().UpdateNeed(As(Role::kManager, "mgr-li").get(), update, &updated)),
              HasFieldViolation("need.resolution"));

  pb::EscalateNeedRequest escalate;
  escalate.set_name(need.name());
  escalate.set_reason("个性化需求，需主管协调");
  escalate.set_etag(updated.etag());
  pb::Need escalated;
  ASSERT_TRUE(stub().EscalateNeed(As(Role::kManager, "mgr-li").get(), escalate, &escalated).ok());
  EXPECT_TRUE(escalated.escalated());
  EXPECT_EQ(stub().EscalateNeed(As(Role::kManager, "mgr-li").get(), escalate, &escalated).error_code(),
            grpc::StatusCode::ABORTED);  // stale etag

  // Another manager does not see it; the team's supervisor does.
  pb::GetNeedRequest get;
  get.set_name(need.name());
  pb::Need seen;
  EXPECT_EQ(stub().GetNeed(As(Role::kManager, "mgr-zhao").get(), get, &seen).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(stub().GetNeed(As(Role::kSupervisor, "sup-wang").get(), get, &seen).ok());

  pb::ListChangesRequest changes;
  changes.set_parent(need.name());
  pb::ListChangesResponse history;
  ASSERT_TRUE(stub().ListChanges(As(Role::kManager, "mgr-li").get(), changes, &history).ok());
  ASSERT_GE(history.changes_size(), 3);
  EXPECT_EQ(history.changes(0).field(), "*");
  EXPECT_EQ(history.changes(1).field(), "status");
  EXPECT_EQ(history.changes(1).actor(), "mgr-li");
  EXPECT_EQ(history.changes(1).method(), "UpdateNeed");
}

// ---------------------------------------------------------------- opportunities

TEST_F(OpportunitiesIntegrationTest, OwnerComesFromTheCustomerAndOthersSeeNothing) {
  const std::string customer = NewCustomer("mgr-li");
  auto o = CreateOpportunity(customer, pb::INFO_SOLUTION, 100000);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->owner(), "mgr-li");
  EXPECT_EQ(o->team(), "east");
  EXPECT_EQ(o->stage(), pb::NEED_ANALYSIS);
  EXPECT_EQ(o->win_probability(), 10);

  pb::GetOpportunityRequest get;
  get.set_name(o->name());
  pb::Opportunity seen;
  EXPECT_EQ(stub().GetOpportunity(As(Role::kManager, "mgr-zhao").get(), get, &seen).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stub().GetOpportunity(As(Role::kSupervisor, "sup-chen", "west").get(), get, &seen).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(stub().GetOpportunity(As(Role::kSupervisor, "sup-wang", "east").get(), get, &seen).ok());
  EXPECT_TRUE(stub().GetOpportunity(As(Role::kAdmin, "admin", "").get(), get, &seen).ok());

  // Another manager cannot open an opportunity on mgr-li's customer: the
  // customers service does not show it to them.
  EXPECT_THAT(CreateOpportunity(customer, pb::INFO_SOLUTION, 1, "mgr-zhao"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(CreateOpportunity("customers/999999", pb::INFO_SOLUTION, 1), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(OpportunitiesIntegrationTest, BadInputNamesEveryField) {
  pb::CreateOpportunityRequest req;
  req.mutable_opportunity()->set_customer("customer/x");
  req.mutable_opportunity()->mutable_amount()->set_currency_code("CNY");
  req.mutable_opportunity()->mutable_amount()->set_nanos(1);
  req.set_request_id(std::string(65, 'x'));
  pb::Opportunity o;
  const absl::Status s = FromGrpcStatus(stub().CreateOpportunity(As(Role::kManager, "mgr-li").get(), req, &o));
  EXPECT_THAT(s, HasFieldViolation("request_id"));
  req.set_request_id("");
  const absl::Status s2 = FromGrpcStatus(stub().CreateOpportunity(As(Role::kManager, "mgr-li").get(), req, &o));
  EXPECT_THAT(s2, HasFieldViolation("opportunity.customer"));
  EXPECT_THAT(s2, HasFieldViolation("opportunity.type"));
  EXPECT_THAT(s2, HasFieldViolation("opportunity.title"));
  EXPECT_THAT(s2, HasFieldViolation("opportunity.amount.nanos"));
}

TEST_F(OpportunitiesIntegrationTest, RetriedCreateWithTheSameRequestIdMakesOneRow) {
  const std::string customer = NewCustomer("mgr-li");
  const std::string request_id = Uuid("opp");
  std::vector<std::thread> threads;
  std::vector<std::string> names(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto o = CreateOpportunity(customer, pb::DEPOSIT, 5000, "mgr-li", request_id);
      if (o.ok()) names[i] = o->name();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& n : names) EXPECT_EQ(n, names[0]);
  pb::ListOpportunitiesRequest list;
  list.set_customer(customer);
  pb::ListOpportunitiesResponse resp;
  ASSERT_TRUE(stub().ListOpportunities(As(Role::kManager, "mgr-li").get(), list, &resp).ok());
  EXPECT_EQ(resp.opportunities_size(), 1);
}

// Issue 8: a request id is scoped to its caller. Keyed on (method, request
// id) alone, mgr-zhao (another team) reusing mgr-li's request id was handed
// mgr-li's opportunity, on a customer mgr-zhao cannot see.
TEST_F(OpportunitiesIntegrationTest, RequestIdsAreScopedToTheCaller) {
  using Stub = pb::OpportunityService::Stub;
  const std::map<std::string, std::string> teams = {{"mgr-li", "east"}, {"mgr-zhao", "west"}};
  const std::map<std::string, std::string> customers = {{"mgr-li", NewCustomer("mgr-li", "east")},
                                                        {"mgr-zhao", NewCustomer("mgr-zhao", "west")}};
  // `rpc` as manager `caller`.
  auto call = [&](auto rpc, const std::string& caller, const auto& req, auto* resp) {
    return FromGrpcStatus((stub().*rpc)(As(Role::kManager, caller, teams.at(caller)).get(), req, resp));
  };
  auto count = [](const std::string& table) -> int64_t {
    auto n = db::WithConnection(server_->pool(), absl::Now() + absl::Seconds(10),
                                [&](sql::Connection& conn) -> absl::StatusOr<int64_t> {
                                  auto rs = db::Query(conn, absl::StrCat("SELECT COUNT(*) FROM ", table));
                                  return rs->next() ? rs->getInt64(1) : 0;
                                });
    EXPECT_TRUE(n.ok()) << n.status();
    return n.value_or(-1);
  };
  int n = 0;

  const crm::testing::IdempotentCreate opportunities{
      .create = [&](const std::string& caller, const std::string& request_id) -> absl::StatusOr<std::string> {
        ASSIGN_OR_RETURN(pb::Opportunity o,
                         CreateOpportunity(customers.at(caller), pb::DEPOSIT, 1000 + ++n, caller, request_id));
        return o.name();
      },
      .read = [&](const std::string& caller, const std::string& name) -> absl::StatusOr<std::string> {
        pb::GetOpportunityRequest req;
        req.set_name(name);
        pb::Opportunity out;
        RETURN_IF_ERROR(call(&Stub::GetOpportunity, caller, req, &out));
        return out.SerializeAsString();
      },
      .count = [&] { return count("opportunities"); }};
  crm::testing::ExpectRequestIdScopedToCaller(opportunities, "mgr-li", "mgr-zhao", Uuid("shared"));

  const crm::testing::IdempotentCreate needs{
      .create = [&](const std::string& caller, const std::string& request_id) -> absl::StatusOr<std::string> {
        pb::CreateNeedRequest req;
        req.mutable_need()->set_customer(customers.at(caller));
        req.mutable_need()->set_source(pb::KEY_PERSON_RELATION);
        req.mutable_need()->set_title(absl::StrCat("需求 ", ++n));
        req.set_request_id(request_id);
        pb::Need out;
        RETURN_IF_ERROR(call(&Stub::CreateNeed, caller, req, &out));
        return out.name();
      },
      .read = [&](const std::string& caller, const std::string& name) -> absl::StatusOr<std::string> {
        pb::GetNeedRequest req;
        req.set_name(name);
        pb::Need out;
        RETURN_IF_ERROR(call(&Stub::GetNeed, caller, req, &out));
        return out.SerializeAsString();
      },
      .count = [&] { return count("needs"); }};
  crm::testing::ExpectRequestIdScopedToCaller(needs, "mgr-li", "mgr-zhao", Uuid("shared"));
}

TEST_F(OpportunitiesIntegrationTest, ConcurrentUpdatesWithTheSameEtagExactlyOneWins) {
  auto o = CreateOpportunity(NewCustomer("mgr-li"), pb::INFO_SOLUTION, 1000);
  ASSERT_TRUE(o.ok());
  constexpr int kWriters = 6;
  std::atomic<int> ok{0}, aborted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      pb::UpdateOpportunityRequest req;
      req.mutable_opportunity()->set_name(o->name());
      req.mutable_opportunity()->set_etag(o->etag());
      req.mutable_opportunity()->set_title(absl::StrCat("标题 ", i));
      req.mutable_update_mask()->add_paths("title");
      pb::Opportunity out;
      grpc::Status s = stub().UpdateOpportunity(As(Role::kManager, "mgr-li").get(), req, &out);
      if (s.ok()) {
        ok++;
      } else {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
        aborted++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), kWriters - 1);
}

TEST_F(OpportunitiesIntegrationTest, StagesFollowTheTemplateAndFeedThePipeline) {
  const std::string customer = NewCustomer("mgr-pipe", "pipe-team");
  auto a = CreateOpportunity(customer, pb::INFO_SOLUTION, 100000, "mgr-pipe");
  auto b = CreateOpportunity(customer, pb::LOAN, 200000, "mgr-pipe");
  ASSERT_TRUE(a.ok() && b.ok());
  pb::MoveOpportunityStageRequest move;
  move.set_name(a->name());
  move.set_stage(pb::NEGOTIATION);  // skips SOLUTION
  pb::Opportunity moved;
  EXPECT_EQ(stub().MoveOpportunityStage(As(Role::kManager, "mgr-pipe", "pipe-team").get(), move, &moved).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  move.set_stage(pb::SOLUTION);
  ASSERT_TRUE(stub().MoveOpportunityStage(As(Role::kManager, "mgr-pipe", "pipe-team").get(), move, &moved).ok());
  EXPECT_EQ(moved.win_probability(), 30);
  move.set_stage(pb::LOST);
  EXPECT_THAT(FromGrpcStatus(stub().MoveOpportunityStage(As(Role::kManager, "mgr-pipe", "pipe-team").get(), move, &moved)),
              HasFieldViolation("reason"));

  // 100000 × 30 % + 200000 × 10 % = 50000.
  pb::GetWeightedPipelineRequest pipe;
  pipe.set_owner("mgr-pipe");
  pb::WeightedPipeline result;
  ASSERT_TRUE(stub().GetWeightedPipeline(As(Role::kManager, "mgr-pipe", "pipe-team").get(), pipe, &result).ok());
  ASSERT_EQ(result.totals_size(), 1);
  EXPECT_EQ(result.totals(0).weighted_amount().units(), 50000);
  EXPECT_EQ(result.totals(0).open_count(), 2);
  pipe.clear_owner();
  pipe.set_team("pipe-team");
  ASSERT_TRUE(stub().GetWeightedPipeline(As(Role::kSupervisor, "sup-pipe", "pipe-team").get(), pipe, &result).ok());
  EXPECT_EQ(result.totals(0).total_amount().units(), 300000);
  EXPECT_EQ(stub().GetWeightedPipeline(As(Role::kManager, "mgr-pipe", "pipe-team").get(), pipe, &result).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // One customer's pipeline (Customer 360): its owner sees both, another
  // manager nothing, another team's supervisor nothing.
  pipe.clear_team();
  pipe.set_customer(customer);
  ASSERT_TRUE(stub().GetWeightedPipeline(As(Role::kManager, "mgr-pipe", "pipe-team").get(), pipe, &result).ok());
  ASSERT_EQ(result.totals_size(), 1);
  EXPECT_EQ(result.totals(0).weighted_amount().units(), 50000);
  ASSERT_TRUE(stub().GetWeightedPipeline(As(Role::kManager, "mgr-other", "pipe-team").get(), pipe, &result).ok());
  EXPECT_EQ(result.totals_size(), 0);
  ASSERT_TRUE(stub().GetWeightedPipeline(As(Role::kSupervisor, "sup-x", "other-team").get(), pipe, &result).ok());
  EXPECT_EQ(result.totals_size(), 0);
  // A supervisor naming a manager of another team sees nothing of theirs.
  pipe.clear_customer();
  pipe.set_owner("mgr-pipe");
  ASSERT_TRUE(stub().GetWeightedPipeline(As(Role::kSupervisor, "sup-x", "other-team").get(), pipe, &result).ok());
  EXPECT_EQ(result.totals_size(), 0);
  pipe.set_team("pipe-team");
  EXPECT_THAT(FromGrpcStatus(stub().GetWeightedPipeline(As(Role::kAdmin, "admin").get(), pipe, &result)),
              HasFieldViolation("owner"));
}

// ---------------------------------------------------------------- proposals

TEST_F(OpportunitiesIntegrationTest, ProposalApprovalFlowWithRatioAndSupervisor) {
  auto o = CreateOpportunity(NewCustomer("mgr-li"), pb::INFO_SOLUTION, 100000);
  ASSERT_TRUE(o.ok());
  const std::string product = NewProduct(pb::INFO_SOLUTION, pb::RISK_LEVEL_UNSPECIFIED, 10, true);
  // Cost 10000, benefit 14999: below 1.5.
  auto p = CreateProposal(o->name(), product, 10000, 14999, 20);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->revision(), 1);
  EXPECT_TRUE(p->requires_supervisor());
  EXPECT_EQ(p->supervisor_reasons_size(), 2);  // discount beyond 10 %, new technology
  EXPECT_EQ(p->total_cost().units(), 8000);

  pb::PresentProposalRequest present;
  present.set_name(p->name());
  pb::Proposal out;
  EXPECT_THAT(FromGrpcStatus(stub().PresentProposal(As(Role::kManager, "mgr-li").get(), present, &out)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("approved")));

  pb::SubmitProposalRequest submit;
  submit.set_name(p->name());
  ASSERT_TRUE(stub().SubmitProposal(As(Role::kManager, "mgr-li").get(), submit, &out).ok());
  EXPECT_EQ(out.status(), pb::PENDING_APPROVAL);

  pb::ApproveProposalRequest approve;
  approve.set_name(p->name());
  EXPECT_EQ(stub().ApproveProposal(As(Role::kManager, "mgr-li").get(), approve, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub().ApproveProposal(As(Role::kSupervisor, "sup-chen", "west").get(), approve, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // 8000 × 1.5 = 12000 ≤ 14999: passes. Make it fail first with a bigger cost.
  pb::RejectProposalRequest reject;
  reject.set_name(p->name());
  reject.set_reason("折扣过大");
  ASSERT_TRUE(stub().RejectProposal(As(Role::kSupervisor, "sup-wang").get(), reject, &out).ok());
  pb::UpdateProposalRequest update;
  update.mutable_proposal()->set_name(p->name());
  auto* item = update.mutable_proposal()->add_line_items();
  item->set_product(product);
  item->set_quantity(1);
  *item->mutable_unit_price() = Cny(10000);
  item->set_discount_percent(0);
  update.mutable_update_mask()->add_paths("line_items");
  ASSERT_TRUE(stub().UpdateProposal(As(Role::kManager, "mgr-li").get(), update, &out).ok());
  EXPECT_EQ(out.revision(), 2);
  EXPECT_EQ(out.status(), pb::DRAFT);
  ASSERT_TRUE(stub().SubmitProposal(As(Role::kManager, "mgr-li").get(), submit, &out).ok());
  EXPECT_THAT(FromGrpcStatus(stub().ApproveProposal(As(Role::kSupervisor, "sup-wang").get(), approve, &out)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("1 : 1.5")));

  update.mutable_update_mask()->Clear();
  update.mutable_update_mask()->add_paths("value_statement");
  *update.mutable_proposal()->mutable_value_statement()->mutable_cost_reduction() = Cny(15000);  // exactly 1.5
  pb::Proposal rejected;
  ASSERT_TRUE(stub().RejectProposal(As(Role::kSupervisor, "sup-wang").get(), reject, &rejected).ok());
  ASSERT_TRUE(stub().UpdateProposal(As(Role::kManager, "mgr-li").get(), update, &out).ok());
  EXPECT_EQ(out.revision(), 3);
  ASSERT_TRUE(stub().SubmitProposal(As(Role::kManager, "mgr-li").get(), submit, &out).ok());
  ASSERT_TRUE(stub().ApproveProposal(As(Role::kSupervisor, "sup-wang").get(), approve, &out).ok());
  EXPECT_EQ(out.approver(), "sup-wang");
  ASSERT_TRUE(stub().PresentProposal(As(Role::kManager, "mgr-li").get(), present, &out).ok());
  pb::RecordProposalOutcomeRequest outcome;
  outcome.set_name(p->name());
  outcome.set_accepted(true);
  ASSERT_TRUE(stub().RecordProposalOutcome(As(Role::kManager, "mgr-li").get(), outcome, &out).ok());
  EXPECT_EQ(out.status(), pb::ACCEPTED);

  pb::ListProposalRevisionsRequest revisions;
  revisions.set_name(p->name());
  revisions.set_page_size(2);
  pb::ListProposalRevisionsResponse page;
  ASSERT_TRUE(stub().ListProposalRevisions(As(Role::kManager, "mgr-li").get(), revisions, &page).ok());
  ASSERT_EQ(page.revisions_size(), 2);
  EXPECT_EQ(page.revisions(0).proposal().line_items(0).discount_percent(), 20);
  ASSERT_FALSE(page.next_page_token().empty());
  revisions.set_page_token(page.next_page_token());
  ASSERT_TRUE(stub().ListProposalRevisions(As(Role::kManager, "mgr-li").get(), revisions, &page).ok());
  ASSERT_EQ(page.revisions_size(), 1);
  EXPECT_EQ(page.revisions(0).revision(), 3);

  // The approval went to the outbox with the change.
  events::v1::ListEventsRequest feed_req;
  feed_req.set_page_size(1000);
  events::v1::ListEventsResponse feed;
  ASSERT_TRUE(server_->feed().ListEvents(As(Role::kService, "svc-test", "").get(), feed_req, &feed).ok());
  int approved = 0;
  for (const auto& e : feed.events()) {
    if (e.type() == "crm.opportunities.v1.ProposalApproved" && e.resource_name() == p->name()) ++approved;
  }
  EXPECT_EQ(approved, 1);
}

TEST_F(OpportunitiesIntegrationTest, SuitabilityRefusesAWealthProductAboveTheTolerance) {
  const std::string balanced = NewIndividual(3);  // BALANCED: up to R3
  auto o = CreateOpportunity(balanced, pb::WEALTH, 500000);
  ASSERT_TRUE(o.ok()) << o.status();
  const std::string r4 = NewProduct(pb::WEALTH, pb::R4);
  const std::string r3 = NewProduct(pb::WEALTH, pb::R3);
  EXPECT_THAT(CreateProposal(o->name(), r4, 100000, 200000),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::AllOf(HasSubstr("R4"), HasSubstr("BALANCED"))));
  EXPECT_TRUE(CreateProposal(o->name(), r3, 100000, 200000).ok());
}

// ---------------------------------------------------------------- negotiation and contracts

TEST_F(OpportunitiesIntegrationTest, FeedbackIsDueTwoWorkingDaysAfterTheRound) {
  const std::string customer = NewCustomer("mgr-li");
  auto o = CreateOpportunity(customer, pb::INFO_SOLUTION, 1000);
  ASSERT_TRUE(o.ok());
  pb::CreateNegotiationRoundRequest create;
  create.set_parent(o->name());
  create.mutable_round()->set_subject("价格谈判第一轮");
  pb::NegotiationRound round;
  ASSERT_TRUE(stub().CreateNegotiationRound(As(Role::kManager, "mgr-li").get(), create, &round).ok());
  pb::EndNegotiationRoundRequest end;
  end.set_name(round.name());
  end.set_outcome("客户要求再降 5%");
  ASSERT_TRUE(stub().EndNegotiationRound(As(Role::kManager, "mgr-li").get(), end, &round).ok());
  // Ended Friday 1 Jan 08:00 Shanghai → due at the end of Tuesday 5 Jan.
  EXPECT_EQ(FromProto(round.feedback_due_time()),
            absl::FromCivil(absl::CivilDay(2027, 1, 6), *calendar::LoadBusinessZone("Asia/Shanghai")));

  pb::ListOverdueFeedbackRequest overdue;
  pb::ListOverdueFeedbackResponse late;
  ASSERT_TRUE(stub().ListOverdueFeedback(As(Role::kManager, "mgr-li").get(), overdue, &late).ok());
  for (const auto& r : late.rounds()) EXPECT_NE(r.name(), round.name());
  server_->clock().Advance(absl::Hours(24 * 6));
  overdue.set_page_size(500);
  ASSERT_TRUE(stub().ListOverdueFeedback(As(Role::kManager, "mgr-li").get(), overdue, &late).ok());
  bool listed = false;
  for (const auto& r : late.rounds()) listed |= r.name() == round.name();
  EXPECT_TRUE(listed);
  pb::RecordNegotiationFeedbackRequest feedback;
  feedback.set_name(round.name());
  feedback.set_feedback("已回复客户");
  ASSERT_TRUE(stub().RecordNegotiationFeedback(As(Role::kManager, "mgr-li").get(), feedback, &round).ok());
  EXPECT_TRUE(round.feedback_late());
  ASSERT_TRUE(stub().ListOverdueFeedback(As(Role::kManager, "mgr-li").get(), overdue, &late).ok());
  for (const auto& r : late.rounds()) EXPECT_NE(r.name(), round.name());
  // A second recording is refused and announces nothing.
  pb::NegotiationRound again;
  EXPECT_EQ(stub().RecordNegotiationFeedback(As(Role::kManager, "mgr-li").get(), feedback, &again).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // SCH-9: the end of the round opens the scheduling service's feedback
  // task, which needs the customer.
  const auto ended = EventsAbout<pb::NegotiationEnded>(round.name());
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].customer(), customer);
  // OPP-6, SCH-9: the feedback closes the scheduling service's task.
  auto recorded = EventsAbout<pb::NegotiationFeedbackRecorded>(round.name());
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].round(), round.name());
  EXPECT_EQ(recorded[0].customer(), customer);
  EXPECT_EQ(recorded[0].owner(), "mgr-li");
  EXPECT_EQ(FromProto(recorded[0].feedback_time()), server_->clock().Now());
  EXPECT_EQ(FromProto(recorded[0].feedback_time()), FromProto(round.feedback_time()));
  EXPECT_TRUE(recorded[0].late());

  // Feedback within the two working days is not late.
  create.mutable_round()->set_subject("价格谈判第二轮");
  pb::NegotiationRound second;
  ASSERT_TRUE(stub().CreateNegotiationRound(As(Role::kManager, "mgr-li").get(), create, &second).ok());
  end.set_name(second.name());
  ASSERT_TRUE(stub().EndNegotiationRound(As(Role::kManager, "mgr-li").get(), end, &second).ok());
  server_->clock().Advance(absl::Hours(24));
  feedback.set_name(second.name());
  ASSERT_TRUE(stub().RecordNegotiationFeedback(As(Role::kManager, "mgr-li").get(), feedback, &second).ok());
  EXPECT_FALSE(second.feedback_late());
  recorded = EventsAbout<pb::NegotiationFeedbackRecorded>(second.name());
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].customer(), customer);
  EXPECT_EQ(FromProto(recorded[0].feedback_time()), server_->clock().Now());
  EXPECT_FALSE(recorded[0].late());
}

TEST_F(OpportunitiesIntegrationTest, ContractDeliveryDelayAndRevisit) {
  const std::string customer = NewCustomer("mgr-li");
  auto o = CreateOpportunity(customer, pb::INFO_SOLUTION, 1000);
  ASSERT_TRUE(o.ok());
  const std::string product = NewProduct(pb::INFO_SOLUTION, pb::RISK_LEVEL_UNSPECIFIED);
  auto p = CreateProposal(o->name(), product, 1000, 2000);
  ASSERT_TRUE(p.ok());
  pb::CreateContractRequest create;
  create.set_parent(o->name());
  create.mutable_contract()->set_proposal(p->name());
  create.mutable_contract()->set_title("云专线合同");
  *create.mutable_contract()->mutable_amount() = Cny(1000);
  create.mutable_contract()->set_urgency(pb::URGENT);
  create.set_request_id(Uuid("contract"));
  pb::Contract contract;
  EXPECT_THAT(FromGrpcStatus(stub().CreateContract(As(Role::kManager, "mgr-li").get(), create, &contract)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("ACCEPTED")));
  pb::Proposal out;
  pb::SubmitProposalRequest submit;
  submit.set_name(p->name());
  pb::ApproveProposalRequest approve;
  approve.set_name(p->name());
  pb::PresentProposalRequest present;
  present.set_name(p->name());
  pb::RecordProposalOutcomeRequest accept;
  accept.set_name(p->name());
  accept.set_accepted(true);
  ASSERT_TRUE(stub().SubmitProposal(As(Role::kManager, "mgr-li").get(), submit, &out).ok());
  ASSERT_TRUE(stub().ApproveProposal(As(Role::kAdmin, "admin", "").get(), approve, &out).ok());
  ASSERT_TRUE(stub().PresentProposal(As(Role::kManager, "mgr-li").get(), present, &out).ok());
  ASSERT_TRUE(stub().RecordProposalOutcome(As(Role::kManager, "mgr-li").get(), accept, &out).ok());
  ASSERT_TRUE(stub().CreateContract(As(Role::kManager, "mgr-li").get(), create, &contract).ok());
  const absl::TimeZone cst = *calendar::LoadBusinessZone("Asia/Shanghai");
  // Signed Friday 1 Jan, URGENT = 3 working days → end of Wednesday 6 Jan.
  EXPECT_EQ(FromProto(contract.delivery_deadline()), absl::FromCivil(absl::CivilDay(2027, 1, 7), cst));
  EXPECT_EQ(contract.status(), pb::SIGNED);

  // Notice on Tuesday 5 Jan: only 1 working day left → late, but recorded.
  server_->clock().Set(absl::FromCivil(absl::CivilSecond(2027, 1, 5, 10, 0, 0), cst));
  pb::RecordDelayNoticeRequest delay;
  delay.set_name(contract.name());
  delay.set_reason("设备到货延迟");
  ToProto(absl::FromCivil(absl::CivilDay(2027, 1, 15), cst), delay.mutable_new_deadline());
  ASSERT_TRUE(stub().RecordDelayNotice(As(Role::kManager, "mgr-li").get(), delay, &contract).ok());
  EXPECT_EQ(contract.status(), pb::DELAYED);
  ASSERT_EQ(contract.delay_notices_size(), 1);
  EXPECT_TRUE(contract.delay_notices(0).late());
  // Second notice on Mon 11 Jan against the new deadline (end of Thu 14 Jan): in time.
  server_->clock().Set(absl::FromCivil(absl::CivilSecond(2027, 1, 11, 10, 0, 0), cst));
  ToProto(absl::FromCivil(absl::CivilDay(2027, 1, 20), cst), delay.mutable_new_deadline());
  ASSERT_TRUE(stub().RecordDelayNotice(As(Role::kManager, "mgr-li").get(), delay, &contract).ok());
  EXPECT_FALSE(contract.delay_notices(1).late());

  pb::CompleteDeliveryRequest deliver;
  deliver.set_name(contract.name());
  ASSERT_TRUE(stub().CompleteDelivery(As(Role::kManager, "mgr-li").get(), deliver, &contract).ok());
  EXPECT_EQ(FromProto(contract.revisit_due_time()), absl::FromCivil(absl::CivilSecond(2027, 3, 11, 10, 0, 0), cst));

  pb::ListDueRevisitsRequest due;
  due.set_page_size(500);
  ToProto(absl::FromCivil(absl::CivilDay(2027, 4, 1), cst), due.mutable_due_before());
  pb::ListDueRevisitsResponse revisits;
  ASSERT_TRUE(stub().ListDueRevisits(As(Role::kManager, "mgr-li").get(), due, &revisits).ok());
  bool listed = false;
  for (const auto& c : revisits.contracts()) listed |= c.name() == contract.name();
  EXPECT_TRUE(listed);
  // Training is an after-sales step too, but not the revisit: no event.
  pb::RecordAfterSalesRequest training;
  training.set_name(contract.name());
  training.set_step(pb::TRAINING);
  ASSERT_TRUE(stub().RecordAfterSales(As(Role::kManager, "mgr-li").get(), training, &contract).ok());
  EXPECT_TRUE(EventsAbout<pb::AfterSalesRevisited>(contract.name()).empty());

  server_->clock().Set(absl::FromCivil(absl::CivilSecond(2027, 3, 2, 15, 30, 0), cst));
  pb::RecordAfterSalesRequest revisit;
  revisit.set_name(contract.name());
  revisit.set_step(pb::REVISIT);
  revisit.set_notes("客户满意");
  ASSERT_TRUE(stub().RecordAfterSales(As(Role::kManager, "mgr-li").get(), revisit, &contract).ok());
  ASSERT_TRUE(stub().ListDueRevisits(As(Role::kManager, "mgr-li").get(), due, &revisits).ok());
  for (const auto& c : revisits.contracts()) EXPECT_NE(c.name(), contract.name());
  pb::Contract again;
  EXPECT_EQ(stub().RecordAfterSales(As(Role::kManager, "mgr-li").get(), revisit, &again).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // SCH-9: delay notices and the delivery name the customer (tasks).
  const auto delayed = EventsAbout<pb::DeliveryDelayed>(contract.name());
  ASSERT_EQ(delayed.size(), 2u);
  EXPECT_EQ(delayed[0].customer(), customer);
  const auto delivered = EventsAbout<pb::ContractDelivered>(contract.name());
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].customer(), customer);
  // OPP-9, SCH-9: the revisit closes the scheduling service's revisit task, once.
  const auto revisited = EventsAbout<pb::AfterSalesRevisited>(contract.name());
  ASSERT_EQ(revisited.size(), 1u);
  EXPECT_EQ(revisited[0].contract(), contract.name());
  EXPECT_EQ(revisited[0].customer(), customer);
  EXPECT_EQ(revisited[0].owner(), "mgr-li");
  EXPECT_EQ(FromProto(revisited[0].revisit_time()), absl::FromCivil(absl::CivilSecond(2027, 3, 2, 15, 30, 0), cst));
  EXPECT_EQ(FromProto(revisited[0].revisit_time()), FromProto(contract.revisit_time()));
}

// ---------------------------------------------------------------- loans

TEST_F(OpportunitiesIntegrationTest, LoanApplicationDecisionAndTracking) {
  auto o = CreateOpportunity(NewCustomer("mgr-li"), pb::LOAN, 3000000);
  ASSERT_TRUE(o.ok());
  pb::CreateLoanApplicationRequest create;
  create.set_parent(o->name());
  auto& loan = *create.mutable_loan_application();
  *loan.mutable_amount() = Cny(3000000);
  loan.set_term_months(36);
  loan.set_annual_rate_bp(435);
  loan.set_repayment_method(pb::EQUAL_INSTALLMENT);
  loan.set_purpose("流动资金周转");
  loan.add_documents()->set_name("营业执照");
  pb::LoanApplication app;
  ASSERT_TRUE(stub().CreateLoanApplication(As(Role::kManager, "mgr-li").get(), create, &app).ok());
  pb::DecideLoanApplicationRequest decide;
  decide.set_name(app.name());
  decide.set_decision(pb::LOAN_APPROVED);
  decide.set_reason("经营稳定");
  EXPECT_EQ(stub().DecideLoanApplication(As(Role::kManager, "mgr-li").get(), decide, &app).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub().DecideLoanApplication(As(Role::kSupervisor, "sup-wang").get(), decide, &app).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // no investigation yet
  pb::UpdateLoanApplicationRequest update;
  update.mutable_loan_application()->set_name(app.name());
  update.mutable_loan_application()->set_investigation_result("现金流良好，抵押充足");
  update.mutable_update_mask()->add_paths("investigation_result");
  ASSERT_TRUE(stub().UpdateLoanApplication(As(Role::kManager, "mgr-li").get(), update, &app).ok());
  ASSERT_TRUE(stub().DecideLoanApplication(As(Role::kSupervisor, "sup-wang").get(), decide, &app).ok());
  EXPECT_EQ(app.decider(), "sup-wang");

  pb::CreateLoanTrackingEntryRequest entry;
  entry.set_parent(app.name());
  entry.mutable_entry()->set_kind(pb::LOAN_COLLECTION);
  entry.mutable_entry()->set_notes("电话催收");
  pb::LoanTrackingEntry created;
  EXPECT_THAT(FromGrpcStatus(stub().CreateLoanTrackingEntry(As(Role::kManager, "mgr-li").get(), entry, &created)),
              HasFieldViolation("entry.overdue_days"));
  entry.mutable_entry()->set_overdue_days(15);
  *entry.mutable_entry()->mutable_overdue_amount() = Cny(90000);
  ASSERT_TRUE(stub().CreateLoanTrackingEntry(As(Role::kManager, "mgr-li").get(), entry, &created).ok());
  EXPECT_EQ(created.author(), "mgr-li");
  pb::ListLoanTrackingEntriesRequest list;
  list.set_parent(app.name());
  pb::ListLoanTrackingEntriesResponse entries;
  ASSERT_TRUE(stub().ListLoanTrackingEntries(As(Role::kManager, "mgr-li").get(), list, &entries).ok());
  EXPECT_EQ(entries.entries_size(), 1);
  EXPECT_EQ(stub().ListLoanTrackingEntries(As(Role::kManager, "mgr-zhao").get(), list, &entries).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- GW-5: customer reassigned

// Audit rows the consumer wrote for `resource`.
int64_t MovesOf(db::ConnectionPool& pool, const std::string& resource) {
  absl::StatusOr<int64_t> n = db::WithConnection(pool, absl::Now() + absl::Seconds(10),
                                                 [&](sql::Connection& conn) -> absl::StatusOr<int64_t> {
    auto rs = db::Query(conn, "SELECT COUNT(*) AS n FROM changes WHERE resource = ? AND method = ?",
                        resource, std::string("OwnershipChanged"));
    rs->next();
    return rs->getInt64("n");
  });
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? *n : -1;
}

TEST_F(OpportunitiesIntegrationTest, ReassignedCustomerMovesOpenRowsOnceThroughTheEventFeed) {
  const std::string customers_target = absl::StrCat("127.0.0.1:", customers_->port());
  const std::string customer = NewCustomer("mgr-a");
  absl::StatusOr<pb::Opportunity> open = CreateOpportunity(customer, pb::INFO_SOLUTION, 1000, "mgr-a");
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_EQ(open->owner(), "mgr-a");
  // A lost opportunity is closed work: it stays with mgr-a.
  absl::StatusOr<pb::Opportunity> lost = CreateOpportunity(customer, pb::INFO_SOLUTION, 500, "mgr-a");
  ASSERT_TRUE(lost.ok()) << lost.status();
  pb::MoveOpportunityStageRequest move;
  move.set_name(lost->name());
  move.set_stage(pb::LOST);
  move.set_reason("budget cut");
  pb::Opportunity moved;
  ASSERT_TRUE(stub().MoveOpportunityStage(As(Role::kManager, "mgr-a").get(), move, &moved).ok());
  ASSERT_EQ(moved.state(), pb::OPPORTUNITY_LOST);
  pb::CreateNeedRequest create_need;
  create_need.mutable_need()->set_customer(customer);
  create_need.mutable_need()->set_source(pb::KEY_PERSON_RELATION);
  create_need.mutable_need()->set_title("视频会议");
  pb::Need need;
  ASSERT_TRUE(stub().CreateNeed(As(Role::kManager, "mgr-a").get(), create_need, &need).ok());

  auto consumer = server_->FollowCustomers(customers_target);
  consumer->Start();

  // A supervisor of the team reassigns the customer to mgr-b.
  cpb::UpdateCustomerRequest update;
  update.mutable_customer()->set_name(customer);
  update.mutable_customer()->set_owner("mgr-b");
  update.mutable_update_mask()->add_paths("owner");
  cpb::Customer updated;
  grpc::Status s = customers_->stub().UpdateCustomer(As(Role::kSupervisor, "sup-east", "east").get(), update, &updated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(updated.owner(), "mgr-b");
  const std::vector<events::v1::Event> feed = customers_->Events();
  ASSERT_FALSE(feed.empty());
  ASSERT_EQ(feed.back().type(), "crm.customers.v1.OwnershipChanged");
  const int64_t last = feed.back().sequence();
  ASSERT_TRUE(consumer->WaitForCursor(last, absl::Seconds(20))) << "cursor " << consumer->cursor();

  pb::GetOpportunityRequest get;
  get.set_name(open->name());
  pb::Opportunity seen;
  ASSERT_TRUE(stub().GetOpportunity(As(Role::kManager, "mgr-b").get(), get, &seen).ok());
  EXPECT_EQ(seen.owner(), "mgr-b");
  EXPECT_EQ(seen.team(), "east");
  EXPECT_NE(seen.etag(), open->etag());
  EXPECT_EQ(stub().GetOpportunity(As(Role::kManager, "mgr-a").get(), get, &seen).error_code(),
            grpc::StatusCode::NOT_FOUND);
  pb::GetNeedRequest get_need;
  get_need.set_name(need.name());
  pb::Need seen_need;
  ASSERT_TRUE(stub().GetNeed(As(Role::kManager, "mgr-b").get(), get_need, &seen_need).ok());
  EXPECT_EQ(seen_need.owner(), "mgr-b");
  get.set_name(lost->name());
  ASSERT_TRUE(stub().GetOpportunity(As(Role::kManager, "mgr-a").get(), get, &seen).ok());
  EXPECT_EQ(seen.owner(), "mgr-a");

  // The audit trail names the move.
  pb::ListChangesRequest changes;
  changes.set_parent(open->name());
  pb::ListChangesResponse trail;
  ASSERT_TRUE(stub().ListChanges(As(Role::kManager, "mgr-b").get(), changes, &trail).ok());
  bool found = false;
  for (const pb::FieldChange& c : trail.changes()) {
    if (c.method() == "OwnershipChanged") {
      found = true;
      EXPECT_EQ(c.field(), "owner");
      EXPECT_EQ(c.old_value(), "mgr-a");
      EXPECT_EQ(c.new_value(), "mgr-b");
      EXPECT_EQ(c.actor(), "customers");
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(MovesOf(server_->pool(), open->name()), 1);
  EXPECT_EQ(MovesOf(server_->pool(), need.name()), 1);
  EXPECT_EQ(MovesOf(server_->pool(), lost->name()), 0);

  // A restarted consumer resumes from its committed cursor: nothing twice.
  consumer->Stop();
  consumer.reset();
  auto restarted = server_->FollowCustomers(customers_target);
  restarted->Start();
  ASSERT_TRUE(restarted->WaitForCursor(last, absl::Seconds(20)));
  restarted->Stop();
  EXPECT_EQ(MovesOf(server_->pool(), open->name()), 1);
  // Even a replay from the start (cursor reset) finds the rows already moved.
  ASSERT_TRUE(db::WithConnection(server_->pool(), absl::Now() + absl::Seconds(10), [](sql::Connection& conn) {
                db::Execute(conn, "UPDATE event_cursors SET last_sequence = 0 WHERE producer = ?",
                            std::string("customers"));
                return absl::OkStatus();
              }).ok());
  auto replay = server_->FollowCustomers(customers_target);
  replay->Start();
  ASSERT_TRUE(replay->WaitForCursor(last, absl::Seconds(20)));
  replay->Stop();
  EXPECT_EQ(MovesOf(server_->pool(), open->name()), 1);
  EXPECT_EQ(MovesOf(server_->pool(), need.name()), 1);
  get.set_name(open->name());
  ASSERT_TRUE(stub().GetOpportunity(As(Role::kManager, "mgr-b").get(), get, &seen).ok());
}

// ---------------------------------------------------------------- the customers service is down

TEST(OpportunitiesWithoutCustomersTest, CustomersServiceDownIsAClearUnavailable) {
  auto db = crm::testing::TestDatabase::Create();
  ASSERT_TRUE(db.ok()) << db.status();
  int closed_port = 0;
  {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &closed_port);
    cpb::CustomerService::Service unimplemented;
    builder.RegisterService(&unimplemented);
    builder.BuildAndStart()->Shutdown();
  }
  auto server = OpportunitiesServer::Start(db->config(), absl::StrCat("127.0.0.1:", closed_port));
  ASSERT_NE(server, nullptr);
  pb::CreateOpportunityRequest req;
  req.mutable_opportunity()->set_customer("customers/1");
  req.mutable_opportunity()->set_type(pb::INFO_SOLUTION);
  req.mutable_opportunity()->set_title("t");
  *req.mutable_opportunity()->mutable_amount() = Cny(1);
  pb::Opportunity o;
  const absl::Status s = FromGrpcStatus(server->stub().CreateOpportunity(
      OpportunitiesServer::As(Role::kManager, "mgr-li").get(), req, &o));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("customers service unavailable")));
}

}  // namespace
}  // namespace crm::opportunities
