// Fuzz target over the customers service's request validation (DOMAIN.md §1):
// the checks CustomerService makes before it reaches its repository, and the
// tier cut of RecomputeTiers (CUS-4, CUS-5). Bad input must come back as
// INVALID_ARGUMENT naming the field; nothing may crash or hang.

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "common/db/idempotency.h"
#include "common/util/aip.h"
#include "common/util/resource_name.h"
#include "crm/fuzz/v1/fuzz_inputs.pb.h"
#include "services/customers/src/customer_rules.h"
#include "tests/fuzz/fuzz_support.h"

namespace crm::customers {
namespace {

using fuzz::CheckRefusal;

void RequestId(const std::string& request_id, Violations& v) {
  if (absl::Status s = db::ValidateRequestId(request_id); !s.ok()) v.Add("request_id", std::string(s.message()));
}

void CreateCustomer(const pb::CreateCustomerRequest& req) {
  Violations v;
  RequestId(req.request_id(), v);
  ValidateCustomer(req.customer(), {}, "customer.", v);
  const absl::Status status = v.ToStatus();
  CheckRefusal(status);
  if (!status.ok()) return;
  const double completeness = Completeness(req.customer());
  CRM_FUZZ_CHECK(completeness >= 0 && completeness <= 1, std::to_string(completeness));
  NameKey(req.customer().display_name());
}

void UpdateCustomer(const pb::UpdateCustomerRequest& req, pb::Customer stored) {
  absl::Status status = ParseSingleId(req.customer().name(), "customers", "customer.name").status();
  CheckRefusal(status);
  if (!status.ok()) return;
  std::vector<std::string> allowed = UpdatableCustomerFields();
  allowed.push_back("team");
  absl::StatusOr<std::vector<std::string>> paths = MaskPaths(req.update_mask(), allowed);
  CheckRefusal(paths.status());
  if (!paths.ok()) return;
  ApplyMask(req.customer(), *paths, stored);
  Violations v;
  ValidateCustomer(stored, *paths, "customer.", v);
  CheckRefusal(v.ToStatus());
}

void CreateContact(const pb::CreateContactRequest& req) {
  CheckRefusal(ParseSingleId(req.parent(), "customers", "parent").status());
  Violations v;
  RequestId(req.request_id(), v);
  ValidateContact(req.contact(), {}, "contact.", v);
  CheckRefusal(v.ToStatus());
}

void UpdateContact(const pb::UpdateContactRequest& req, pb::Contact stored) {
  CheckRefusal(ParseResourceName(req.contact().name(), {"customers", "contacts"}, "contact.name").status());
  absl::StatusOr<std::vector<std::string>> paths = MaskPaths(req.update_mask(), UpdatableContactFields());
  CheckRefusal(paths.status());
  if (!paths.ok()) return;
  ApplyMask(req.contact(), *paths, stored);
  Violations v;
  ValidateContact(stored, *paths, "contact.", v);
  CheckRefusal(v.ToStatus());
}

void ImportMembers(const pb::ImportMembersRequest& req) {
  for (const pb::Member& member : req.members()) {
    std::vector<FieldViolation> problems;
    ValidateMember(member, problems);
    for (const FieldViolation& p : problems) CRM_FUZZ_CHECK(!p.field.empty(), p.description);
  }
}

void AssessRiskTolerance(const pb::AssessRiskToleranceRequest& req) {
  CheckRefusal(ParseSingleId(req.name(), "customers", "name").status());
  absl::StatusOr<pb::RiskTolerance> level =
      RiskToleranceFromAnswers({req.answer_scores().begin(), req.answer_scores().end()});
  CheckRefusal(level.status());
  if (level.ok()) {
    CRM_FUZZ_CHECK(*level != pb::RISK_TOLERANCE_UNSPECIFIED && pb::RiskTolerance_IsValid(*level),
                   std::to_string(*level));
  }
}

bool FiniteNonNegative(double x) { return std::isfinite(x) && x >= 0; }

// The repository hands RecomputeTiers a model UpdateValueModel accepted
// (finite, non-negative weights) and stored factors that are counts and
// amounts (finite, non-negative); other rows cannot reach the rule.
void RecomputeTiers(const fuzz::v1::CustomersInput::TierRecompute& in) {
  const pb::ValueModel& m = in.model();
  for (double w : {m.revenue_weight(), m.employee_weight(), m.qualification_weight(), m.product_count_weight(),
                   m.member_count_weight()}) {
    if (!FiniteNonNegative(w)) return;
  }
  std::vector<RankingInput> inputs;
  for (const auto& row : in.rows()) {
    if (!FiniteNonNegative(row.revenue()) || !FiniteNonNegative(row.employees()) ||
        !FiniteNonNegative(row.products()) || !FiniteNonNegative(row.members()) ||
        !pb::Tier_IsValid(row.old_tier())) {
      return;
    }
    RankingInput r;
    r.id = static_cast<int64_t>(inputs.size()) + 1;
    r.revenue = row.revenue();
    r.employees = row.employees();
    r.qualification = QualificationScore(row.qualification_rating());
    r.products = row.products();
    r.members = row.members();
    r.old_tier = row.old_tier();
    inputs.push_back(r);
  }
  const std::vector<RankingResult> results = AssignTiers(inputs, m);
  const size_t n = inputs.size();
  CRM_FUZZ_CHECK(results.size() == n, std::to_string(results.size()));
  std::map<pb::Tier, size_t> per_tier;
  std::map<double, pb::Tier> tier_of_score;
  for (const RankingResult& r : results) {
    CRM_FUZZ_CHECK(r.tier >= pb::A1 && r.tier <= pb::C, std::to_string(r.tier));
    ++per_tier[r.tier];
    // Equal scores always get the same tier.
    auto [it, inserted] = tier_of_score.emplace(r.score, r.tier);
    CRM_FUZZ_CHECK(inserted || it->second == r.tier, std::to_string(r.score));
  }
  // The quotas are maxima: floor(10 %) A, floor(30 %) A and B together.
  const size_t a = per_tier[pb::A1] + per_tier[pb::A2];
  const size_t b = per_tier[pb::B1] + per_tier[pb::B2];
  CRM_FUZZ_CHECK(a <= n / 10, std::to_string(a) + " A of " + std::to_string(n));
  CRM_FUZZ_CHECK(a + b <= 3 * n / 10, std::to_string(a + b) + " A+B of " + std::to_string(n));
}

}  // namespace
}  // namespace crm::customers

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace c = crm::customers;
  crm::fuzz::v1::CustomersInput input;
  if (!crm::fuzz::ParseInput(data, size, input)) return -1;  // not kept in the corpus
  switch (input.request_case()) {
    case crm::fuzz::v1::CustomersInput::kCreateCustomer: c::CreateCustomer(input.create_customer()); break;
    case crm::fuzz::v1::CustomersInput::kUpdateCustomer:
      c::UpdateCustomer(input.update_customer(), input.stored_customer());
      break;
    case crm::fuzz::v1::CustomersInput::kCreateContact: c::CreateContact(input.create_contact()); break;
    case crm::fuzz::v1::CustomersInput::kUpdateContact:
      c::UpdateContact(input.update_contact(), input.stored_contact());
      break;
    case crm::fuzz::v1::CustomersInput::kImportMembers: c::ImportMembers(input.import_members()); break;
    case crm::fuzz::v1::CustomersInput::kAssessRiskTolerance:
      c::AssessRiskTolerance(input.assess_risk_tolerance());
      break;
    case crm::fuzz::v1::CustomersInput::kRecomputeTiers: c::RecomputeTiers(input.recompute_tiers()); break;
    case crm::fuzz::v1::CustomersInput::REQUEST_NOT_SET: break;
  }
  return 0;
}
