#include "services/opportunities/src/opportunity_rules.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"

namespace crm::opportunities {
namespace {

using auth::Role;

constexpr int64_t kNanosPerMinor = 10'000'000;  // two decimals
constexpr int64_t kMaxUnits = 1'000'000'000'000;  // 10^12: sums stay far from int64 overflow

pb::StageTemplate Template(pb::OpportunityType type,
                           std::initializer_list<std::pair<pb::Stage, int>> steps) {
  pb::StageTemplate t;
  t.set_type(type);
  for (const auto& [stage, probability] : steps) {
    auto* step = t.add_steps();
    step->set_stage(stage);
    step->set_default_win_probability(probability);
  }
  return t;
}

const pb::StageTemplate* TemplateFor(pb::OpportunityType type) {
  for (const pb::StageTemplate& t : StageTemplates()) {
    if (t.type() == type) return &t;
  }
  return nullptr;
}

int IndexOf(const pb::StageTemplate& t, pb::Stage stage) {
  for (int i = 0; i < t.steps_size(); ++i) {
    if (t.steps(i).stage() == stage) return i;
  }
  return -1;
}

template <typename Enum>
absl::Status CheckTransition(Enum from, Enum to, const std::multimap<Enum, Enum>& allowed,
                             const std::string& (*name)(Enum), absl::string_view what) {
  auto [first, last] = allowed.equal_range(from);
  std::vector<std::string> next;
  for (auto it = first; it != last; ++it) {
    if (it->second == to) return absl::OkStatus();
    next.push_back(name(it->second));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      what, " cannot move from ", name(from), " to ", name(to), next.empty() ? "; it is closed" : "; allowed: ",
      absl::StrJoin(next, ", ")));
}

}  // namespace

// ---------------------------------------------------------------- stages

const std::vector<pb::StageTemplate>& StageTemplates() {
  static const std::vector<pb::StageTemplate> kTemplates = {
      Template(pb::INFO_SOLUTION, {{pb::NEED_ANALYSIS, 10}, {pb::SOLUTION, 30}, {pb::NEGOTIATION, 60},
                                   {pb::CONTRACT, 100}, {pb::DELIVERY, 100}, {pb::AFTER_SALES, 100}}),
      Template(pb::LOAN, {{pb::APPLICATION, 10}, {pb::INVESTIGATION, 30}, {pb::APPROVAL, 60},
                          {pb::CONTRACT, 90}, {pb::DISBURSEMENT, 100}, {pb::REPAYMENT, 100},
                          {pb::POST_LOAN_MONITORING, 100}, {pb::COLLECTION, 100}}),
      Template(pb::DEPOSIT, {{pb::NEED_ANALYSIS, 10}, {pb::SOLUTION, 30}, {pb::NEGOTIATION, 60},
                             {pb::CONTRACT, 90}, {pb::FUNDED, 100}}),
      Template(pb::WEALTH, {{pb::NEED_ANALYSIS, 10}, {pb::RISK_ASSESSMENT, 20}, {pb::SOLUTION, 40},
                            {pb::CONTRACT, 90}, {pb::FUNDED, 100}, {pb::AFTER_SALES, 100}}),
      Template(pb::CREDIT_CARD, {{pb::APPLICATION, 20}, {pb::INVESTIGATION, 40}, {pb::APPROVAL, 70},
                                 {pb::CARD_ISSUED, 90}, {pb::ACTIVATED, 100}}),
      Template(pb::RETENTION, {{pb::CHURN_SIGNAL, 20}, {pb::SOLUTION, 40}, {pb::NEGOTIATION, 60},
                               {pb::RETAINED, 100}}),
  };
  return kTemplates;
}

pb::Stage FirstStage(pb::OpportunityType type) {
  const pb::StageTemplate* t = TemplateFor(type);
  return t == nullptr ? pb::STAGE_UNSPECIFIED : t->steps(0).stage();
}

int DefaultWinProbability(pb::OpportunityType type, pb::Stage stage) {
  const pb::StageTemplate* t = TemplateFor(type);
  const int i = t == nullptr ? -1 : IndexOf(*t, stage);
  return i < 0 ? 0 : t->steps(i).default_win_probability();
}

pb::OpportunityState StateFor(pb::OpportunityType type, pb::Stage stage) {
  if (stage == pb::LOST) return pb::OPPORTUNITY_LOST;
  return DefaultWinProbability(type, stage) >= 100 ? pb::WON : pb::OPPORTUNITY_OPEN;
}

absl::Status CheckStageMove(pb::OpportunityType type, pb::Stage from, pb::Stage to) {
  const pb::StageTemplate* t = TemplateFor(type);
  if (t == nullptr) return absl::FailedPreconditionError("the opportunity has no known type");
  if (from == pb::LOST) return absl::FailedPreconditionError("the opportunity is lost; it is closed");
  const int i = IndexOf(*t, from);
  if (i < 0) return absl::FailedPreconditionError("the current stage is not in the type's template");
  if (to == pb::LOST) {
    if (StateFor(type, from) == pb::OPPORTUNITY_OPEN) return absl::OkStatus();
    return absl::FailedPreconditionError("a won opportunity cannot be lost");
  }
  if (i + 1 >= t->steps_size()) {
    return absl::FailedPreconditionError(absl::StrCat(
        pb::Stage_Name(from), " is the last stage of ", pb::OpportunityType_Name(type)));
  }
  const pb::Stage next = t->steps(i + 1).stage();
  if (to == next) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(pb::OpportunityType_Name(type), " moves from ", pb::Stage_Name(from), " only to ",
                   pb::Stage_Name(next), StateFor(type, from) == pb::OPPORTUNITY_OPEN ? " or LOST" : "",
                   ", not to ", pb::Stage_Name(to)));
}

// ---------------------------------------------------------------- status machines

absl::Status CheckNeedTransition(pb::NeedStatus from, pb::NeedStatus to) {
  static const std::multimap<pb::NeedStatus, pb::NeedStatus> kAllowed = {
      {pb::OPEN, pb::IN_PROGRESS}, {pb::OPEN, pb::DECLINED},
      {pb::IN_PROGRESS, pb::FULFILLED}, {pb::IN_PROGRESS, pb::DECLINED}};
  if (from == to) return absl::OkStatus();
  return CheckTransition(from, to, kAllowed, &pb::NeedStatus_Name, "a need");
}

absl::Status CheckProposalTransition(pb::ProposalStatus from, pb::ProposalStatus to) {
  static const std::multimap<pb::ProposalStatus, pb::ProposalStatus> kAllowed = {
      {pb::DRAFT, pb::PENDING_APPROVAL},  {pb::PENDING_APPROVAL, pb::APPROVED},
      {pb::PENDING_APPROVAL, pb::REJECTED}, {pb::REJECTED, pb::DRAFT},
      {pb::APPROVED, pb::PRESENTED},      {pb::PRESENTED, pb::ACCEPTED},
      {pb::PRESENTED, pb::PROPOSAL_DECLINED}};
  return CheckTransition(from, to, kAllowed, &pb::ProposalStatus_Name, "a proposal");
}

absl::Status CheckContractTransition(pb::ContractStatus from, pb::ContractStatus to) {
  static const std::multimap<pb::ContractStatus, pb::ContractStatus> kAllowed = {
      {pb::SIGNED, pb::IN_DELIVERY}, {pb::SIGNED, pb::DELAYED},     {pb::IN_DELIVERY, pb::DELIVERED},
      {pb::IN_DELIVERY, pb::DELAYED}, {pb::DELAYED, pb::DELAYED},  {pb::DELAYED, pb::IN_DELIVERY},
      {pb::DELAYED, pb::DELIVERED}};
  return CheckTransition(from, to, kAllowed, &pb::ContractStatus_Name, "a contract");
}

// ---------------------------------------------------------------- money

void ValidateMoney(const Money& m, const std::string& field, bool required, Violations& v) {
  const bool empty = m.currency_code().empty() && m.units() == 0 && m.nanos() == 0;
  if (empty) {
    if (required) v.Add(field, "required");
    return;
  }
  if (m.currency_code().size() != 3 ||
      !std::all_of(m.currency_code().begin(), m.currency_code().end(),
                   [](char c) { return c >= 'A' && c <= 'Z'; })) {
    v.Add(absl::StrCat(field, ".currency_code"), "an ISO 4217 code such as CNY");
  }
  if (m.units() < 0 || m.nanos() < 0) {
    v.Add(field, "must not be negative");
  } else if (m.nanos() >= 1'000'000'000 || m.nanos() % kNanosPerMinor != 0) {
    v.Add(absl::StrCat(field, ".nanos"), "at most two decimals (a multiple of 10000000)");
  } else if (m.units() > kMaxUnits) {
    v.Add(absl::StrCat(field, ".units"), "too large");
  }
}

absl::StatusOr<int64_t> MinorUnits(const Money& m, const std::string& field) {
  Violations v;
  ValidateMoney(m, field, false, v);
  if (!v.empty()) return v.ToStatus();
  return m.units() * 100 + m.nanos() / kNanosPerMinor;
}

std::string FormatMinor(int64_t minor) {
  return absl::StrFormat("%s%d.%02d", minor < 0 ? "-" : "", std::abs(minor) / 100, std::abs(minor) % 100);
}

Money FromMinorUnits(const std::string& currency, int64_t minor) {
  Money m;
  m.set_currency_code(currency);
  m.set_units(minor / 100);
  m.set_nanos(static_cast<int32_t>((minor % 100) * kNanosPerMinor));
  return m;
}

// ---------------------------------------------------------------- proposals

int64_t LineTotalMinor(int64_t quantity, int64_t unit_price_minor, int discount_percent) {
  const __int128 gross = static_cast<__int128>(quantity) * unit_price_minor;
  const __int128 net100 = gross * (100 - discount_percent);
  return static_cast<int64_t>((net100 + 50) / 100);
}

absl::Status PrepareProposal(pb::Proposal& proposal,
                             const std::map<std::string, ProductFacts>& products) {
  Violations v;
  std::string currency;
  auto same_currency = [&](const Money& m, const std::string& field) {
    if (m.currency_code().empty()) return;
    if (currency.empty()) currency = m.currency_code();
    if (m.currency_code() != currency) v.Add(field, absl::StrCat("every amount must be in ", currency));
  };
  CheckText(proposal.title(), "proposal.title", 200, /*required=*/true, v);
  if (proposal.line_items().empty()) v.Add("proposal.line_items", "at least one product");
  int64_t cost = 0;
  std::vector<std::string> reasons;
  for (int i = 0; i < proposal.line_items_size(); ++i) {
    pb::LineItem& item = *proposal.mutable_line_items(i);
    const std::string f = absl::StrCat("proposal.line_items[", i, "]");
    auto product = products.find(item.product());
    if (product == products.end()) {
      v.Add(absl::StrCat(f, ".product"), absl::StrCat("unknown product '", item.product(), "'"));
    } else if (!product->second.active) {
      v.Add(absl::StrCat(f, ".product"), absl::StrCat(item.product(), " is no longer sold"));
    }
    if (item.quantity() <= 0 || item.quantity() > 1'000'000) v.Add(absl::StrCat(f, ".quantity"), "1..1000000");
    if (item.discount_percent() < 0 || item.discount_percent() > 100) {
      v.Add(absl::StrCat(f, ".discount_percent"), "0..100");
    }
    ValidateMoney(item.unit_price(), absl::StrCat(f, ".unit_price"), true, v);
    same_currency(item.unit_price(), absl::StrCat(f, ".unit_price.currency_code"));
    if (!v.empty()) continue;
    const int64_t total = LineTotalMinor(item.quantity(), item.unit_price().units() * 100 +
                                                              item.unit_price().nanos() / kNanosPerMinor,
                                         item.discount_percent());
    *item.mutable_total() = FromMinorUnits(item.unit_price().currency_code(), total);
    cost += total;
    const ProductFacts& facts = product->second;
    if (item.discount_percent() > facts.manager_discount_limit) {
      reasons.push_back(absl::StrCat(item.product(), ": discount ", item.discount_percent(),
                                     "% exceeds the manager's limit of ", facts.manager_discount_limit, "%"));
    }
    if (facts.new_tariff) reasons.push_back(absl::StrCat(item.product(), ": new tariff"));
    if (facts.new_technology) reasons.push_back(absl::StrCat(item.product(), ": new technology"));
  }
  const pb::ValueStatement& value = proposal.value_statement();
  int64_t benefit = 0;
  for (const auto& [m, name] : {std::pair{&value.cost_reduction(), "cost_reduction"},
                                std::pair{&value.efficiency_gain(), "efficiency_gain"},
                                std::pair{&value.risk_reduction(), "risk_reduction"}}) {
    const std::string f = absl::StrCat("proposal.value_statement.", name);
    ValidateMoney(*m, f, false, v);
    same_currency(*m, absl::StrCat(f, ".currency_code"));
    if (v.empty()) benefit += m->units() * 100 + m->nanos() / kNanosPerMinor;
  }
  for (int i = 0; i < proposal.competitor_comparisons_size(); ++i) {
    const pb::CompetitorComparison& c = proposal.competitor_comparisons(i);
    const std::string f = absl::StrCat("proposal.competitor_comparisons[", i, "]");
    if (c.competitor().empty()) v.Add(absl::StrCat(f, ".competitor"), "required");
    ValidateMoney(c.their_price(), absl::StrCat(f, ".their_price"), false, v);
  }
  if (!v.empty()) return v.ToStatus();
  *proposal.mutable_total_cost() = FromMinorUnits(currency, cost);
  *proposal.mutable_total_benefit() = FromMinorUnits(currency, benefit);
  proposal.set_requires_supervisor(!reasons.empty());
  proposal.clear_supervisor_reasons();
  for (std::string& r : reasons) proposal.add_supervisor_reasons(std::move(r));
  return absl::OkStatus();
}

absl::Status CheckBenefitRatio(int64_t cost_minor, int64_t benefit_minor) {
  // benefit ≥ 1.5 × cost  ⇔  2 × benefit ≥ 3 × cost, exact in integers.
  if (static_cast<__int128>(benefit_minor) * 2 >= static_cast<__int128>(cost_minor) * 3) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "input/output ratio below 1 : 1.5 (OPP-4): the customer's benefit ", FormatMinor(benefit_minor),
      " is less than 1.5 x the cost ", FormatMinor(cost_minor), " (needs at least ",
      FormatMinor((cost_minor * 3 + 1) / 2), ")"));
}

std::string RiskToleranceName(int tolerance) {
  static const char* const kNames[] = {"NOT_ASSESSED", "CONSERVATIVE", "MODERATELY_CONSERVATIVE",
                                       "BALANCED", "GROWTH", "AGGRESSIVE"};
  return tolerance >= 0 && tolerance <= 5 ? kNames[tolerance] : "UNKNOWN";
}

absl::Status CheckSuitability(const std::string& product, pb::RiskLevel level,
                              const std::string& customer, int tolerance) {
  if (level == pb::RISK_LEVEL_UNSPECIFIED) return absl::OkStatus();
  if (tolerance <= 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "suitability (OPP-7): ", customer, " has no risk tolerance assessment; ", product,
        " is a ", pb::RiskLevel_Name(level), " product"));
  }
  if (static_cast<int>(level) > tolerance) {
    return absl::FailedPreconditionError(absl::StrCat(
        "suitability (OPP-7): ", product, " has risk level ", pb::RiskLevel_Name(level),
        ", above the risk tolerance ", RiskToleranceName(tolerance), " of ", customer,
        " (suitable up to R", tolerance, ")"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- deadlines

absl::Time DeliveryDeadline(const calendar::WorkingCalendar& cal, const DeadlinePolicy& policy,
                            absl::Time sign_time, pb::Urgency urgency) {
  const int days = urgency == pb::EXTRA_URGENT ? policy.extra_urgent_days
                   : urgency == pb::URGENT     ? policy.urgent_days
                                               : policy.normal_days;
  return cal.EndOf(cal.AddWorkingDays(cal.DayOf(sign_time), days));
}

absl::Time FeedbackDue(const calendar::WorkingCalendar& cal, const DeadlinePolicy& policy,
                       absl::Time end_time) {
  return cal.EndOf(cal.AddWorkingDays(cal.DayOf(end_time), policy.feedback_days));
}

bool DelayNoticeLate(const calendar::WorkingCalendar& cal, const DeadlinePolicy& policy,
                     absl::Time notice_time, absl::Time deadline) {
  // A deadline is the end of a day (midnight): its day is the one before.
  const absl::CivilDay deadline_day = cal.DayOf(deadline - absl::Nanoseconds(1));
  const absl::CivilDay latest = cal.AddWorkingDays(deadline_day, -policy.delay_notice_days);
  return cal.DayOf(notice_time) > latest;
}

absl::Time RevisitDue(const calendar::WorkingCalendar& cal, const DeadlinePolicy& policy,
                      absl::Time delivered_time) {
  const absl::CivilSecond cs = absl::ToCivilSecond(delivered_time, cal.zone());
  const absl::CivilMonth month = absl::CivilMonth(cs) + policy.revisit_months;
  const absl::CivilDay last_day = absl::CivilDay(month + 1) - 1;
  const int day = std::min<int>(cs.day(), last_day.day());
  return absl::FromCivil(
      absl::CivilSecond(month.year(), month.month(), day, cs.hour(), cs.minute(), cs.second()),
      cal.zone());
}

// ---------------------------------------------------------------- validation

namespace {
void Required(const std::string& value, const std::string& field, Violations& v, size_t max = 200) {
  if (value.empty()) {
    v.Add(field, "required");
  } else if (value.size() > max) {
    v.Add(field, absl::StrCat("at most ", max, " bytes"));
  }
}
void Bounded(const std::string& value, const std::string& field, Violations& v, size_t max) {
  if (value.size() > max) v.Add(field, absl::StrCat("at most ", max, " bytes"));
}
bool IsCustomerName(const std::string& name) {
  if (name.rfind("customers/", 0) != 0) return false;
  const std::string id = name.substr(10);
  return !id.empty() && id.size() <= 18 && id[0] != '0' &&
         std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}
}  // namespace

void ValidateNeed(const pb::Need& need, const std::string& prefix, Violations& v) {
  if (!IsCustomerName(need.customer())) v.Add(prefix + "customer", "a customer name 'customers/{id}'");
  if (need.source() == pb::NEED_SOURCE_UNSPECIFIED || !pb::NeedSource_IsValid(need.source())) {
    v.Add(prefix + "source", "required: one of the need sources");
  }
  Required(need.title(), prefix + "title", v);
  Bounded(need.description(), prefix + "description", v, 4000);
  Bounded(need.resolution(), prefix + "resolution", v, 2000);
}

void ValidateOpportunity(const pb::Opportunity& o, const std::string& prefix, Violations& v) {
  if (!IsCustomerName(o.customer())) v.Add(prefix + "customer", "a customer name 'customers/{id}'");
  if (o.type() == pb::OPPORTUNITY_TYPE_UNSPECIFIED || !pb::OpportunityType_IsValid(o.type())) {
    v.Add(prefix + "type", "required: one of the opportunity types");
  }
  Required(o.title(), prefix + "title", v);
  Bounded(o.description(), prefix + "description", v, 4000);
  ValidateMoney(o.amount(), prefix + "amount", true, v);
  if (o.win_probability() < 0 || o.win_probability() > 100) v.Add(prefix + "win_probability", "0..100");
  if (o.has_expected_close_date()) {
    const auto& d = o.expected_close_date();
    const absl::CivilDay day(d.year(), d.month(), d.day());
    if (d.year() < 2000 || d.year() > 2200 || day.month() != d.month() || day.day() != d.day()) {
      v.Add(prefix + "expected_close_date", "not a calendar date");
    }
  }
}

void ValidateProduct(const pb::Product& p, const std::string& prefix, Violations& v) {
  Required(p.code(), prefix + "code", v, 64);
  Required(p.display_name(), prefix + "display_name", v);
  if (p.category() == pb::OPPORTUNITY_TYPE_UNSPECIFIED || !pb::OpportunityType_IsValid(p.category())) {
    v.Add(prefix + "category", "required: the opportunity type it is sold in");
  }
  if (!pb::RiskLevel_IsValid(p.risk_level())) v.Add(prefix + "risk_level", "R1..R5");
  if (p.category() == pb::WEALTH && p.risk_level() == pb::RISK_LEVEL_UNSPECIFIED) {
    v.Add(prefix + "risk_level", "required for wealth products (R1..R5)");
  }
  ValidateMoney(p.list_price(), prefix + "list_price", false, v);
  if (p.manager_discount_limit() < 0 || p.manager_discount_limit() > 100) {
    v.Add(prefix + "manager_discount_limit", "0..100");
  }
}

void ValidateLoanApplication(const pb::LoanApplication& l, const std::string& prefix, Violations& v) {
  ValidateMoney(l.amount(), prefix + "amount", true, v);
  if (l.amount().units() == 0 && l.amount().nanos() == 0) v.Add(prefix + "amount", "must be positive");
  if (l.term_months() <= 0 || l.term_months() > 600) v.Add(prefix + "term_months", "1..600");
  if (l.annual_rate_bp() < 0 || l.annual_rate_bp() > 10000) v.Add(prefix + "annual_rate_bp", "0..10000");
  if (l.repayment_method() == pb::REPAYMENT_METHOD_UNSPECIFIED ||
      !pb::RepaymentMethod_IsValid(l.repayment_method())) {
    v.Add(prefix + "repayment_method", "required");
  }
  Required(l.purpose(), prefix + "purpose", v, 2000);
  for (int i = 0; i < l.documents_size(); ++i) {
    Required(l.documents(i).name(), absl::StrCat(prefix, "documents[", i, "].name"), v);
  }
  Bounded(l.investigation_result(), prefix + "investigation_result", v, 8000);
}

bool NeedOpen(const pb::Need& n) { return n.status() != pb::FULFILLED && n.status() != pb::DECLINED; }

bool OpportunityOpen(const pb::Opportunity& o) { return o.state() == pb::OPPORTUNITY_OPEN; }

bool ProposalOpen(const pb::Proposal& p) {
  return p.status() != pb::ACCEPTED && p.status() != pb::PROPOSAL_DECLINED && p.status() != pb::REJECTED;
}

bool NegotiationRoundOpen(const pb::NegotiationRound& r) {
  return !r.has_end_time() || !r.has_feedback_time();
}

bool ContractOpen(const pb::Contract& c) { return c.status() != pb::DELIVERED || !c.has_revisit_time(); }

bool LoanApplicationOpen(const pb::LoanApplication& l) { return l.decision() != pb::LOAN_REJECTED; }

}  // namespace crm::opportunities
