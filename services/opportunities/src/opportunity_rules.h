#pragma once
// The opportunities rules (DOMAIN.md §2) as pure functions: stage templates
// and win probabilities (OPP-2), status machines (OPP-1, OPP-4, OPP-8),
// money in minor units, the benefit/cost rule (OPP-4), supervisor triggers
// (OPP-5), suitability (OPP-7), working-day deadlines (OPP-6, OPP-8, OPP-9)
// and row-level access (GW-2). No I/O.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/principal.h"
#include "common/auth/row_access.h"
#include "common/calendar/working_calendar.h"
#include "common/status/status.h"
#include "crm/opportunities/v1/opportunities.pb.h"

namespace crm::opportunities {

namespace pb = ::crm::opportunities::v1;
using Money = ::crm::type::v1::Money;

// ---- access (GW-2): common/auth/row_access.h

using auth::AccessScope;
using auth::InScope;
using auth::IsSupervisorOf;
using auth::ScopeFor;

// ---- stage templates (OPP-2)

const std::vector<pb::StageTemplate>& StageTemplates();
// The type's first stage; STAGE_UNSPECIFIED for an unknown type.
pb::Stage FirstStage(pb::OpportunityType type);
// Default win probability (percent) of `stage` in the type's template; 0 for LOST.
int DefaultWinProbability(pb::OpportunityType type, pb::Stage stage);
pb::OpportunityState StateFor(pb::OpportunityType type, pb::Stage stage);
// OK when `to` is the next stage of the template after `from`, or LOST from
// an open stage. FAILED_PRECONDITION names the allowed next stage.
absl::Status CheckStageMove(pb::OpportunityType type, pb::Stage from, pb::Stage to);

// ---- status machines

absl::Status CheckNeedTransition(pb::NeedStatus from, pb::NeedStatus to);
absl::Status CheckProposalTransition(pb::ProposalStatus from, pb::ProposalStatus to);
absl::Status CheckContractTransition(pb::ContractStatus from, pb::ContractStatus to);

// ---- money: integer minor units (fen), never floating point

// Two decimals at most; INVALID_ARGUMENT on `field` otherwise.
absl::StatusOr<int64_t> MinorUnits(const Money& m, const std::string& field);
Money FromMinorUnits(const std::string& currency, int64_t minor);
// "1234.50"
std::string FormatMinor(int64_t minor);
// Adds violations for a malformed amount (currency "XXX", units/nanos
// signs, more than two decimals, negative when !allow_negative).
void ValidateMoney(const Money& m, const std::string& field, bool required, Violations& v);

// ---- proposals (OPP-3 … OPP-5, OPP-7)

struct ProductFacts {
  pb::OpportunityType category = pb::OPPORTUNITY_TYPE_UNSPECIFIED;
  pb::RiskLevel risk_level = pb::RISK_LEVEL_UNSPECIFIED;
  int manager_discount_limit = 0;
  bool new_tariff = false;
  bool new_technology = false;
  bool active = true;
};

// quantity × unit price × (100 − discount) / 100, rounded half up.
int64_t LineTotalMinor(int64_t quantity, int64_t unit_price_minor, int discount_percent);
// Validates the content (line items, value statement, comparisons) and
// fills total fields, total_cost, total_benefit, requires_supervisor and
// supervisor_reasons from `products` (keyed by product name).
absl::Status PrepareProposal(pb::Proposal& proposal,
                             const std::map<std::string, ProductFacts>& products);
// OPP-4: FAILED_PRECONDITION unless benefit ≥ 1.5 × cost.
absl::Status CheckBenefitRatio(int64_t cost_minor, int64_t benefit_minor);

// Customer risk tolerance (CUS-10): 0 = not assessed, 1 = CONSERVATIVE … 5 = AGGRESSIVE.
// OPP-7: a wealth product of level R<n> needs tolerance ≥ n. FAILED_PRECONDITION
// naming the product's level and the customer's tolerance.
absl::Status CheckSuitability(const std::string& product, pb::RiskLevel level,
                              const std::string& customer, int tolerance);
std::string RiskToleranceName(int tolerance);

// ---- deadlines (OPP-6, OPP-8, OPP-9)

struct DeadlinePolicy {
  int extra_urgent_days = 1;
  int urgent_days = 3;
  int normal_days = 10;
  int feedback_days = 2;      // OPP-6
  int delay_notice_days = 2;  // OPP-8
  int revisit_months = 2;     // OPP-9
};

// End of the N-th working day after signing, N from the urgency.
absl::Time DeliveryDeadline(const calendar::WorkingCalendar& cal, const DeadlinePolicy& policy,
                            absl::Time sign_time, pb::Urgency urgency);
// End of the feedback_days-th working day after the round ended.
absl::Time FeedbackDue(const calendar::WorkingCalendar& cal, const DeadlinePolicy& policy,
                       absl::Time end_time);
// True when a delay notice at `notice_time` comes later than
// delay_notice_days working days before the day of `deadline`.
bool DelayNoticeLate(const calendar::WorkingCalendar& cal, const DeadlinePolicy& policy,
                     absl::Time notice_time, absl::Time deadline);
// revisit_months after delivery, same time of day, day clamped to the month.
absl::Time RevisitDue(const calendar::WorkingCalendar& cal, const DeadlinePolicy& policy,
                      absl::Time delivered_time);

// ---- field validation of client input (prefix e.g. "need.")

void ValidateNeed(const pb::Need& need, const std::string& prefix, Violations& v);
void ValidateOpportunity(const pb::Opportunity& o, const std::string& prefix, Violations& v);
void ValidateProduct(const pb::Product& p, const std::string& prefix, Violations& v);
void ValidateLoanApplication(const pb::LoanApplication& l, const std::string& prefix, Violations& v);

// ---- reassignment (GW-5): what follows a customer to its new owner
//
// When the customers service reassigns a customer (OwnershipChanged), its
// open work moves with it; closed work keeps the owner who did it. An
// opportunity moves together with all its children (they are reached through
// it), and the tree is open while the opportunity or any child is open.

bool NeedOpen(const pb::Need& n);                      // not FULFILLED / DECLINED
bool OpportunityOpen(const pb::Opportunity& o);        // OPPORTUNITY_OPEN
bool ProposalOpen(const pb::Proposal& p);              // not ACCEPTED / DECLINED / REJECTED
bool NegotiationRoundOpen(const pb::NegotiationRound& r);  // not ended, or feedback outstanding
bool ContractOpen(const pb::Contract& c);              // not delivered, or revisit outstanding
bool LoanApplicationOpen(const pb::LoanApplication& l);  // undecided, or approved (monitoring)

}  // namespace crm::opportunities
