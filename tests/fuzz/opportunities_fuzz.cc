// Fuzz target over the opportunities service's request validation (DOMAIN.md
// §2): field checks, money in minor units, stage moves (OPP-2), need
// transitions (OPP-1) and proposal preparation with its totals, supervisor
// triggers and benefit rule (OPP-3 … OPP-5). Bad input must come back as
// INVALID_ARGUMENT naming the field (or FAILED_PRECONDITION for a rule the
// state forbids); nothing may crash, overflow or hang.

#include <map>
#include <string>
#include <vector>

#include "common/db/idempotency.h"
#include "common/util/aip.h"
#include "common/util/resource_name.h"
#include "crm/fuzz/v1/fuzz_inputs.pb.h"
#include "services/opportunities/src/opportunity_rules.h"
#include "tests/fuzz/fuzz_support.h"

namespace crm::opportunities {
namespace {

using fuzz::CheckRefusal;
using fuzz::v1::OpportunitiesInput;
constexpr std::initializer_list<absl::StatusCode> kRefusedOrPrecondition = {
    absl::StatusCode::kInvalidArgument, absl::StatusCode::kFailedPrecondition};

bool Has(const std::vector<std::string>& paths, const char* path) {
  return std::find(paths.begin(), paths.end(), path) != paths.end();
}

void CreateNeed(const pb::CreateNeedRequest& req) {
  CheckRefusal(db::ValidateRequestId(req.request_id()));
  Violations v;
  ValidateNeed(req.need(), "need.", v);
  CheckRefusal(v.ToStatus());
}

void UpdateNeed(const pb::UpdateNeedRequest& req, pb::Need stored) {
  CheckRefusal(ParseSingleId(req.need().name(), "needs", "need.name").status());
  absl::StatusOr<std::vector<std::string>> paths =
      MaskPaths(req.update_mask(), {"title", "description", "status", "resolution"});
  CheckRefusal(paths.status());
  if (!paths.ok()) return;
  const pb::NeedStatus from = stored.status();
  ApplyMask(req.need(), *paths, stored);
  if (Has(*paths, "status") && stored.status() != pb::NEED_STATUS_UNSPECIFIED &&
      pb::NeedStatus_IsValid(stored.status())) {
    CheckRefusal(CheckNeedTransition(from, stored.status()), kRefusedOrPrecondition);
  }
  Violations v;
  ValidateNeed(stored, "need.", v);
  CheckRefusal(v.ToStatus());
}

void CreateOpportunity(const pb::CreateOpportunityRequest& req) {
  CheckRefusal(db::ValidateRequestId(req.request_id()));
  Violations v;
  ValidateOpportunity(req.opportunity(), "opportunity.", v);
  const absl::Status status = v.ToStatus();
  CheckRefusal(status);
  if (!status.ok()) return;
  const pb::Stage first = FirstStage(req.opportunity().type());
  const int probability = DefaultWinProbability(req.opportunity().type(), first);
  CRM_FUZZ_CHECK(probability >= 0 && probability <= 100, std::to_string(probability));
}

void UpdateOpportunity(const pb::UpdateOpportunityRequest& req, pb::Opportunity stored) {
  CheckRefusal(ParseSingleId(req.opportunity().name(), "opportunities", "opportunity.name").status());
  absl::StatusOr<std::vector<std::string>> paths = MaskPaths(
      req.update_mask(), {"title", "description", "amount", "expected_close_date", "win_probability"});
  CheckRefusal(paths.status());
  if (!paths.ok()) return;
  ApplyMask(req.opportunity(), *paths, stored);
  Violations v;
  ValidateOpportunity(stored, "opportunity.", v);
  CheckRefusal(v.ToStatus());
}

void MoveStage(const pb::MoveOpportunityStageRequest& req, const pb::Opportunity& stored) {
  CheckRefusal(ParseSingleId(req.name(), "opportunities", "name").status());
  const absl::Status status = CheckStageMove(stored.type(), stored.stage(), req.stage());
  CheckRefusal(status, kRefusedOrPrecondition);
  if (!status.ok()) return;
  const int probability = DefaultWinProbability(stored.type(), req.stage());
  CRM_FUZZ_CHECK(probability >= 0 && probability <= 100, std::to_string(probability));
  StateFor(stored.type(), req.stage());
}

void CreateProduct(const pb::CreateProductRequest& req) {
  CheckRefusal(db::ValidateRequestId(req.request_id()));
  Violations v;
  ValidateProduct(req.product(), "product.", v);
  CheckRefusal(v.ToStatus());
}

// The catalogue as the repository returns it: products CreateProduct accepted.
std::map<std::string, ProductFacts> Catalogue(const OpportunitiesInput& input) {
  std::map<std::string, ProductFacts> products;
  for (const pb::Product& p : input.products()) {
    Violations v;
    ValidateProduct(p, "product.", v);
    if (!v.empty() || !ParseSingleId(p.name(), "products", "name").ok()) continue;
    products[p.name()] = ProductFacts{p.category(), p.risk_level(), p.manager_discount_limit(),
                                      p.new_tariff(), p.new_technology(), p.active()};
  }
  return products;
}

void CreateProposal(const pb::CreateProposalRequest& req, const std::map<std::string, ProductFacts>& products) {
  CheckRefusal(db::ValidateRequestId(req.request_id()));
  CheckRefusal(ParseSingleId(req.parent(), "opportunities", "parent").status());
  pb::Proposal proposal = req.proposal();
  const absl::Status status = PrepareProposal(proposal, products);
  CheckRefusal(status, kRefusedOrPrecondition);
  if (!status.ok()) return;
  // The totals PrepareProposal filled are well-formed money, and the
  // benefit rule (OPP-4) decides on them without error.
  absl::StatusOr<int64_t> cost = MinorUnits(proposal.total_cost(), "total_cost");
  absl::StatusOr<int64_t> benefit = MinorUnits(proposal.total_benefit(), "total_benefit");
  CRM_FUZZ_CHECK(cost.ok(), cost.status().ToString());
  CRM_FUZZ_CHECK(benefit.ok(), benefit.status().ToString());
  CheckRefusal(CheckBenefitRatio(*cost, *benefit), {absl::StatusCode::kFailedPrecondition});
  FormatMinor(*cost);
}

void CreateContract(const pb::CreateContractRequest& req) {
  CheckRefusal(db::ValidateRequestId(req.request_id()));
  CheckRefusal(ParseSingleId(req.parent(), "opportunities", "parent").status());
  Violations v;
  ValidateMoney(req.contract().amount(), "contract.amount", true, v);
  const absl::Status status = v.ToStatus();
  CheckRefusal(status);
  if (!status.ok()) return;
  absl::StatusOr<int64_t> minor = MinorUnits(req.contract().amount(), "contract.amount");
  CRM_FUZZ_CHECK(minor.ok(), minor.status().ToString());
  const Money back = FromMinorUnits(req.contract().amount().currency_code(), *minor);
  absl::StatusOr<int64_t> again = MinorUnits(back, "contract.amount");
  CRM_FUZZ_CHECK(again.ok() && *again == *minor, FormatMinor(*minor));
}

void CreateLoanApplication(const pb::CreateLoanApplicationRequest& req) {
  CheckRefusal(db::ValidateRequestId(req.request_id()));
  CheckRefusal(ParseSingleId(req.parent(), "opportunities", "parent").status());
  Violations v;
  ValidateLoanApplication(req.loan_application(), "loan_application.", v);
  CheckRefusal(v.ToStatus());
}

}  // namespace
}  // namespace crm::opportunities

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace o = crm::opportunities;
  using crm::fuzz::v1::OpportunitiesInput;
  OpportunitiesInput input;
  if (!crm::fuzz::ParseInput(data, size, input)) return -1;  // not kept in the corpus
  switch (input.request_case()) {
    case OpportunitiesInput::kCreateNeed: o::CreateNeed(input.create_need()); break;
    case OpportunitiesInput::kUpdateNeed: o::UpdateNeed(input.update_need(), input.stored_need()); break;
    case OpportunitiesInput::kCreateOpportunity: o::CreateOpportunity(input.create_opportunity()); break;
    case OpportunitiesInput::kUpdateOpportunity:
      o::UpdateOpportunity(input.update_opportunity(), input.stored_opportunity());
      break;
    case OpportunitiesInput::kMoveOpportunityStage:
      o::MoveStage(input.move_opportunity_stage(), input.stored_opportunity());
      break;
    case OpportunitiesInput::kCreateProduct: o::CreateProduct(input.create_product()); break;
    case OpportunitiesInput::kCreateProposal: o::CreateProposal(input.create_proposal(), o::Catalogue(input)); break;
    case OpportunitiesInput::kCreateContract: o::CreateContract(input.create_contract()); break;
    case OpportunitiesInput::kCreateLoanApplication:
      o::CreateLoanApplication(input.create_loan_application());
      break;
    case OpportunitiesInput::REQUEST_NOT_SET: break;
  }
  return 0;
}
