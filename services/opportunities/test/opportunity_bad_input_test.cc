// Malformed requests to the opportunities service over real gRPC against
// MariaDB (issue 8, "Bad input"), with the real customers service
// in-process: each row is refused with INVALID_ARGUMENT naming its field
// (RESOURCE_EXHAUSTED for size) and neither database changes.
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "common/testing/bad_input.h"
#include "common/testing/status_matchers.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/customers/test/customer_test_env.h"
#include "services/customers/test/service_with_customers.h"
#include "services/opportunities/test/opportunity_test_env.h"

namespace crm::opportunities {
namespace {

namespace cpb = ::crm::customers::v1;
using ::crm::testing::BadInputTable;
using ::crm::testing::IsOk;
using auth::Role;
using testing::OpportunitiesServer;

Money Cny(int64_t units) {
  Money m;
  m.set_currency_code("CNY");
  m.set_units(units);
  return m;
}

class OpportunitiesBadInputTest : public customers::testing::ServiceWithCustomers<OpportunitiesServer> {
 protected:
  static std::unique_ptr<grpc::ClientContext> Admin() { return OpportunitiesServer::As(Role::kAdmin, "admin"); }
};

TEST_F(OpportunitiesBadInputTest, EveryMalformedRequestIsRefusedAndChangesNothing) {
  // A customer with a need, an opportunity (two, for a second page), a product and a proposal.
  cpb::CreateCustomerRequest new_customer;
  *new_customer.mutable_customer() = customers::testing::Enterprise("福州商机坏输入有限公司", 1);
  cpb::Customer customer;
  ASSERT_TRUE(customers_->stub()
                  .CreateCustomer(OpportunitiesServer::As(Role::kManager, "mgr-li").get(), new_customer, &customer)
                  .ok());
  auto& stub = server_->stub();
  pb::CreateNeedRequest create_need;
  create_need.mutable_need()->set_customer(customer.name());
  create_need.mutable_need()->set_source(pb::KEY_PERSON_RELATION);
  create_need.mutable_need()->set_title("专线扩容");
  create_need.set_request_id("bad-input-need-1");
  pb::Need need;
  ASSERT_TRUE(stub.CreateNeed(Admin().get(), create_need, &need).ok());
  pb::CreateOpportunityRequest create_opportunity;
  create_opportunity.mutable_opportunity()->set_customer(customer.name());
  create_opportunity.mutable_opportunity()->set_type(pb::INFO_SOLUTION);
  create_opportunity.mutable_opportunity()->set_title("5G 专网");
  *create_opportunity.mutable_opportunity()->mutable_amount() = Cny(480000);
  pb::Opportunity opportunity;
  ASSERT_TRUE(stub.CreateOpportunity(Admin().get(), create_opportunity, &opportunity).ok());
  ASSERT_TRUE(stub.CreateOpportunity(Admin().get(), create_opportunity, &opportunity).ok());
  pb::CreateProductRequest create_product;
  create_product.mutable_product()->set_code("P-BAD-INPUT-1");
  create_product.mutable_product()->set_display_name("云专线 100M");
  create_product.mutable_product()->set_category(pb::INFO_SOLUTION);
  create_product.mutable_product()->set_manager_discount_limit(10);
  pb::Product product;
  ASSERT_TRUE(stub.CreateProduct(Admin().get(), create_product, &product).ok());
  pb::CreateProposalRequest create_proposal;
  create_proposal.set_parent(opportunity.name());
  create_proposal.mutable_proposal()->set_title("专网方案");
  pb::LineItem* item = create_proposal.mutable_proposal()->add_line_items();
  item->set_product(product.name());
  item->set_quantity(2);
  *item->mutable_unit_price() = Cny(1000);
  *create_proposal.mutable_proposal()->mutable_value_statement()->mutable_cost_reduction() = Cny(5000);
  pb::Proposal proposal;
  ASSERT_TRUE(stub.CreateProposal(Admin().get(), create_proposal, &proposal).ok());
  pb::ListOpportunitiesRequest first_page;
  first_page.set_page_size(1);
  pb::ListOpportunitiesResponse page;
  ASSERT_TRUE(stub.ListOpportunities(Admin().get(), first_page, &page).ok());
  const std::string foreign_token = page.next_page_token();  // a genuine token of another query
  ASSERT_FALSE(foreign_token.empty());

  // The valid requests every row starts from.
  create_need.set_request_id("bad-input-need-2");
  create_opportunity.set_request_id("bad-input-opportunity-2");
  create_product.mutable_product()->set_code("P-BAD-INPUT-2");
  create_proposal.set_request_id("bad-input-proposal-2");
  pb::GetNeedRequest get_need;
  get_need.set_name(need.name());
  pb::UpdateNeedRequest update_need;
  update_need.mutable_need()->set_name(need.name());
  update_need.mutable_need()->set_title("专线扩容（二期）");
  update_need.mutable_update_mask()->add_paths("title");
  pb::ListNeedsRequest list_needs;
  list_needs.set_status(pb::OPEN);
  pb::EscalateNeedRequest escalate;
  escalate.set_name(need.name());
  escalate.set_reason("个性化需求");
  pb::GetOpportunityRequest get_opportunity;
  get_opportunity.set_name(opportunity.name());
  pb::UpdateOpportunityRequest update_opportunity;
  update_opportunity.mutable_opportunity()->set_name(opportunity.name());
  *update_opportunity.mutable_opportunity()->mutable_amount() = Cny(500000);
  update_opportunity.mutable_update_mask()->add_paths("amount");
  pb::ListOpportunitiesRequest list_opportunities;
  list_opportunities.set_type(pb::INFO_SOLUTION);
  pb::MoveOpportunityStageRequest move;
  move.set_name(opportunity.name());
  move.set_stage(pb::SOLUTION);
  pb::GetWeightedPipelineRequest pipeline;
  pipeline.set_owner("mgr-li");
  pb::ListChangesRequest changes;
  changes.set_parent(opportunity.name());
  pb::UpdateProductRequest update_product;
  update_product.mutable_product()->set_name(product.name());
  update_product.mutable_product()->set_manager_discount_limit(20);
  update_product.mutable_update_mask()->add_paths("manager_discount_limit");
  pb::GetProductRequest get_product;
  get_product.set_name(product.name());
  pb::ListProductsRequest list_products;
  pb::GetProposalRequest get_proposal;
  get_proposal.set_name(proposal.name());
  pb::ListProposalsRequest list_proposals;
  list_proposals.set_parent(opportunity.name());
  pb::CreateNegotiationRoundRequest create_round;
  create_round.set_parent(opportunity.name());
  create_round.mutable_round()->set_subject("价格谈判");
  pb::ListOverdueFeedbackRequest overdue;
  pb::CreateLoanApplicationRequest create_loan;  // its parent is not a LOAN: only rows refused before that check
  create_loan.set_parent(opportunity.name());
  *create_loan.mutable_loan_application()->mutable_amount() = Cny(1000000);
  create_loan.mutable_loan_application()->set_term_months(36);
  create_loan.mutable_loan_application()->set_annual_rate_bp(435);
  create_loan.mutable_loan_application()->set_repayment_method(static_cast<pb::RepaymentMethod>(1));
  create_loan.mutable_loan_application()->set_purpose("流动资金");

  BadInputTable t("crm.opportunities.v1.OpportunityService");
  // Needs.
  using CreateNeed = pb::CreateNeedRequest;
  t.Add("need missing", "CreateNeed", create_need, [](CreateNeed& r) { r.clear_need(); }, "need.customer");
  t.AddBadNames("CreateNeed", create_need, "need.customer", customer.name());
  t.AddUnknownEnum("CreateNeed", create_need, "need.source");
  t.Add("need source unspecified", "CreateNeed", create_need, [](CreateNeed& r) { r.mutable_need()->clear_source(); },
        "need.source");
  t.Add("need title empty", "CreateNeed", create_need, [](CreateNeed& r) { r.mutable_need()->clear_title(); },
        "need.title");
  t.AddTooLong("CreateNeed", create_need, "need.title", 200);
  t.AddTooLong("CreateNeed", create_need, "need.description", 4000);
  t.AddTooLong("CreateNeed", create_need, "request_id", 64);
  t.AddInvalidUtf8("CreateNeed", create_need, "need.title");
  t.AddOversize("CreateNeed", create_need, "need.description");
  t.AddBadNames("GetNeed", get_need, "name", need.name());
  using UpdateNeed = pb::UpdateNeedRequest;
  t.AddBadNames("UpdateNeed", update_need, "need.name", need.name());
  for (const char* path : {"", "name", "customer", "owner", "escalated", "etag", "no_such_field"}) {
    t.Add(absl::StrCat("need update_mask \"", path, "\""), "UpdateNeed", update_need,
          [path](UpdateNeed& r) { r.mutable_update_mask()->add_paths(path); }, "update_mask");
  }
  t.Add("need status 999 by mask", "UpdateNeed", update_need,
        [](UpdateNeed& r) {
          r.mutable_need()->set_status(static_cast<pb::NeedStatus>(999));
          r.mutable_update_mask()->add_paths("status");
        },
        "need.status");
  t.AddTooLong("UpdateNeed", update_need, "need.title", 200);
  t.AddBadPaging("ListNeeds", list_needs, foreign_token);
  t.AddUnknownEnum("ListNeeds", list_needs, "status");
  t.AddBadNames("ListNeeds", list_needs, "customer", customer.name(), /*optional=*/true);
  t.Add("escalation reason empty", "EscalateNeed", escalate,
        [](pb::EscalateNeedRequest& r) { r.clear_reason(); }, "reason");
  t.AddTooLong("EscalateNeed", escalate, "reason", 2000);
  t.AddBadNames("EscalateNeed", escalate, "name", need.name());

  // Opportunities.
  using CreateOpp = pb::CreateOpportunityRequest;
  t.AddBadNames("CreateOpportunity", create_opportunity, "opportunity.customer", customer.name());
  t.AddUnknownEnum("CreateOpportunity", create_opportunity, "opportunity.type");
  t.AddTooLong("CreateOpportunity", create_opportunity, "opportunity.title", 200);
  t.AddTooLong("CreateOpportunity", create_opportunity, "opportunity.description", 4000);
  t.Add("amount missing", "CreateOpportunity", create_opportunity,
        [](CreateOpp& r) { r.mutable_opportunity()->clear_amount(); }, "opportunity.amount");
  t.Add("amount negative", "CreateOpportunity", create_opportunity,
        [](CreateOpp& r) { r.mutable_opportunity()->mutable_amount()->set_units(-1); }, "opportunity.amount");
  t.Add("amount most negative int64", "CreateOpportunity", create_opportunity,
        [](CreateOpp& r) {
          r.mutable_opportunity()->mutable_amount()->set_units(std::numeric_limits<int64_t>::min());
        },
        "opportunity.amount");
  t.Add("amount largest int64", "CreateOpportunity", create_opportunity,
        [](CreateOpp& r) {
          r.mutable_opportunity()->mutable_amount()->set_units(std::numeric_limits<int64_t>::max());
        },
        "opportunity.amount.units");
  t.Add("amount three decimals", "CreateOpportunity", create_opportunity,
        [](CreateOpp& r) { r.mutable_opportunity()->mutable_amount()->set_nanos(1000000); },
        "opportunity.amount.nanos");
  t.Add("amount currency not ISO", "CreateOpportunity", create_opportunity,
        [](CreateOpp& r) { r.mutable_opportunity()->mutable_amount()->set_currency_code("'; "); },
        "opportunity.amount.currency_code");
  t.Add("expected close 31 April", "CreateOpportunity", create_opportunity,
        [](CreateOpp& r) {
          auto* d = r.mutable_opportunity()->mutable_expected_close_date();
          d->set_year(2027);
          d->set_month(4);
          d->set_day(31);
        },
        "opportunity.expected_close_date");
  t.Add("expected close year 99999", "CreateOpportunity", create_opportunity,
        [](CreateOpp& r) {
          auto* d = r.mutable_opportunity()->mutable_expected_close_date();
          d->set_year(99999);
          d->set_month(1);
          d->set_day(1);
        },
        "opportunity.expected_close_date");
  t.AddBadNames("CreateOpportunity", create_opportunity, "opportunity.need", need.name(), /*optional=*/true);
  t.AddOversize("CreateOpportunity", create_opportunity, "opportunity.description");
  t.AddBadNames("GetOpportunity", get_opportunity, "name", opportunity.name());
  using UpdateOpp = pb::UpdateOpportunityRequest;
  t.AddBadNames("UpdateOpportunity", update_opportunity, "opportunity.name", opportunity.name());
  for (const char* path : {"", "stage", "state", "customer", "owner", "type", "amount.units"}) {
    t.Add(absl::StrCat("opportunity update_mask \"", path, "\""), "UpdateOpportunity", update_opportunity,
          [path](UpdateOpp& r) { r.mutable_update_mask()->add_paths(path); }, "update_mask");
  }
  t.Add("win probability 101", "UpdateOpportunity", update_opportunity,
        [](UpdateOpp& r) {
          r.mutable_opportunity()->set_win_probability(101);
          r.mutable_update_mask()->add_paths("win_probability");
        },
        "opportunity.win_probability");
  t.Add("win probability negative", "UpdateOpportunity", update_opportunity,
        [](UpdateOpp& r) {
          r.mutable_opportunity()->set_win_probability(std::numeric_limits<int32_t>::min());
          r.mutable_update_mask()->add_paths("win_probability");
        },
        "opportunity.win_probability");
  t.Add("updated amount negative", "UpdateOpportunity", update_opportunity,
        [](UpdateOpp& r) { r.mutable_opportunity()->mutable_amount()->set_units(-5); }, "opportunity.amount");
  t.AddBadPaging("ListOpportunities", list_opportunities, foreign_token);
  t.AddUnknownEnum("ListOpportunities", list_opportunities, "type");
  t.AddUnknownEnum("ListOpportunities", list_opportunities, "state");
  t.AddBadNames("ListOpportunities", list_opportunities, "customer", customer.name(), /*optional=*/true);
  t.AddTooLong("ListOpportunities", list_opportunities, "owner", 100);
  t.AddBadNames("MoveOpportunityStage", move, "name", opportunity.name());
  t.AddUnknownEnum("MoveOpportunityStage", move, "stage");
  t.Add("stage LOST without reason", "MoveOpportunityStage", move,
        [](pb::MoveOpportunityStageRequest& r) { r.set_stage(pb::LOST); }, "reason");
  using Pipeline = pb::GetWeightedPipelineRequest;
  t.Add("pipeline with no scope", "GetWeightedPipeline", pipeline, [](Pipeline& r) { r.clear_owner(); },
        "customer");
  t.Add("pipeline with two scopes", "GetWeightedPipeline", pipeline, [](Pipeline& r) { r.set_team("east"); },
        "owner");
  t.AddTooLong("GetWeightedPipeline", pipeline, "owner", 100);
  t.Add("pipeline customer not a name", "GetWeightedPipeline", pipeline,
        [](Pipeline& r) {
          r.clear_owner();
          r.set_customer("customers/1' OR '1'='1");
        },
        "customer");
  t.AddBadNames("ListChanges", changes, "parent", opportunity.name());
  t.AddBadPaging("ListChanges", changes, foreign_token);

  // Products (ADMIN only; the caller is ADMIN).
  using CreateProduct = pb::CreateProductRequest;
  t.Add("product code empty", "CreateProduct", create_product,
        [](CreateProduct& r) { r.mutable_product()->clear_code(); }, "product.code");
  t.AddTooLong("CreateProduct", create_product, "product.code", 64);
  t.AddTooLong("CreateProduct", create_product, "product.display_name", 200);
  t.AddUnknownEnum("CreateProduct", create_product, "product.category");
  t.AddUnknownEnum("CreateProduct", create_product, "product.risk_level");
  t.Add("wealth product without risk level", "CreateProduct", create_product,
        [](CreateProduct& r) { r.mutable_product()->set_category(pb::WEALTH); }, "product.risk_level");
  t.Add("discount limit 101", "CreateProduct", create_product,
        [](CreateProduct& r) { r.mutable_product()->set_manager_discount_limit(101); },
        "product.manager_discount_limit");
  t.Add("discount limit negative", "CreateProduct", create_product,
        [](CreateProduct& r) { r.mutable_product()->set_manager_discount_limit(-1); },
        "product.manager_discount_limit");
  t.Add("list price negative", "CreateProduct", create_product,
        [](CreateProduct& r) { *r.mutable_product()->mutable_list_price() = Cny(-1); }, "product.list_price");
  t.AddBadNames("GetProduct", get_product, "name", product.name());
  using UpdateProduct = pb::UpdateProductRequest;
  t.AddBadNames("UpdateProduct", update_product, "product.name", product.name());
  t.Add("product update_mask \"code\"", "UpdateProduct", update_product,
        [](UpdateProduct& r) { r.mutable_update_mask()->add_paths("code"); }, "update_mask");
  t.Add("product update_mask \"category\"", "UpdateProduct", update_product,
        [](UpdateProduct& r) { r.mutable_update_mask()->add_paths("category"); }, "update_mask");
  t.AddBadPaging("ListProducts", list_products, foreign_token);
  t.AddUnknownEnum("ListProducts", list_products, "category");

  // Proposals: line items.
  using CreateProposal = pb::CreateProposalRequest;
  t.AddBadNames("CreateProposal", create_proposal, "parent", opportunity.name());
  t.Add("proposal title empty", "CreateProposal", create_proposal,
        [](CreateProposal& r) { r.mutable_proposal()->clear_title(); }, "proposal.title");
  t.AddTooLong("CreateProposal", create_proposal, "proposal.title", 200);
  t.Add("no line items", "CreateProposal", create_proposal,
        [](CreateProposal& r) { r.mutable_proposal()->clear_line_items(); }, "proposal.line_items");
  t.Add("line item product not a name", "CreateProposal", create_proposal,
        [](CreateProposal& r) { r.mutable_proposal()->mutable_line_items(0)->set_product("products/abc"); },
        "proposal.line_items[0].product");
  t.Add("line item quantity 0", "CreateProposal", create_proposal,
        [](CreateProposal& r) { r.mutable_proposal()->mutable_line_items(0)->set_quantity(0); },
        "proposal.line_items[0].quantity");
  t.Add("line item quantity negative", "CreateProposal", create_proposal,
        [](CreateProposal& r) { r.mutable_proposal()->mutable_line_items(0)->set_quantity(-3); },
        "proposal.line_items[0].quantity");
  t.Add("line item quantity largest int64", "CreateProposal", create_proposal,
        [](CreateProposal& r) {
          r.mutable_proposal()->mutable_line_items(0)->set_quantity(std::numeric_limits<int64_t>::max());
        },
        "proposal.line_items[0].quantity");
  t.Add("line item discount 101", "CreateProposal", create_proposal,
        [](CreateProposal& r) { r.mutable_proposal()->mutable_line_items(0)->set_discount_percent(101); },
        "proposal.line_items[0].discount_percent");
  t.Add("line item unit price largest int64", "CreateProposal", create_proposal,
        [](CreateProposal& r) {
          r.mutable_proposal()->mutable_line_items(0)->mutable_unit_price()->set_units(
              std::numeric_limits<int64_t>::max());
        },
        "proposal.line_items[0].unit_price.units");
  t.Add("benefit in another currency", "CreateProposal", create_proposal,
        [](CreateProposal& r) {
          r.mutable_proposal()->mutable_value_statement()->mutable_cost_reduction()->set_currency_code("USD");
        },
        "proposal.value_statement.cost_reduction.currency_code");
  t.AddBadNames("GetProposal", get_proposal, "name", proposal.name());
  t.AddBadNames("ListProposals", list_proposals, "parent", opportunity.name());
  t.AddBadPaging("ListProposals", list_proposals, foreign_token);

  // Negotiation rounds, overdue feedback, loans.
  t.AddBadNames("CreateNegotiationRound", create_round, "parent", opportunity.name());
  t.Add("round subject empty", "CreateNegotiationRound", create_round,
        [](pb::CreateNegotiationRoundRequest& r) { r.mutable_round()->clear_subject(); }, "round.subject");
  t.AddTooLong("CreateNegotiationRound", create_round, "round.subject", 500);
  t.AddTooLong("CreateNegotiationRound", create_round, "round.customer_attendees", 2000);
  t.AddBadPaging("ListOverdueFeedback", overdue, foreign_token);
  t.AddTooLong("ListOverdueFeedback", overdue, "owner", 100);
  t.AddBadNames("CreateLoanApplication", create_loan, "parent", opportunity.name());
  t.AddTooLong("CreateLoanApplication", create_loan, "request_id", 64);

  ExpectAllRefusedChangingNothing(t, [] { return Admin(); });

  // The unchanged requests the rows started from are valid.
  EXPECT_TRUE(stub.CreateNeed(Admin().get(), create_need, &need).ok());
  EXPECT_TRUE(stub.UpdateNeed(Admin().get(), update_need, &need).ok());
  EXPECT_TRUE(stub.CreateOpportunity(Admin().get(), create_opportunity, &opportunity).ok());
  EXPECT_TRUE(stub.UpdateOpportunity(Admin().get(), update_opportunity, &opportunity).ok());
  EXPECT_TRUE(stub.CreateProduct(Admin().get(), create_product, &product).ok());
  EXPECT_TRUE(stub.UpdateProduct(Admin().get(), update_product, &product).ok());
  EXPECT_TRUE(stub.CreateProposal(Admin().get(), create_proposal, &proposal).ok());
  pb::NegotiationRound round;
  EXPECT_TRUE(stub.CreateNegotiationRound(Admin().get(), create_round, &round).ok());
  pb::WeightedPipeline weighted;
  EXPECT_TRUE(stub.GetWeightedPipeline(Admin().get(), pipeline, &weighted).ok());
}

}  // namespace
}  // namespace crm::opportunities
