#include "services/customers/src/customer_rules.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "common/util/proto_time.h"

namespace crm::customers {
namespace {

constexpr absl::string_view kCreditCodeChars = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr int kCreditCodeWeights[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20,
                                        29, 25, 13, 8, 24, 10, 30, 28};
constexpr absl::string_view kRatings[] = {"C", "CC", "CCC", "B", "BB", "BBB", "A", "AA", "AAA"};

bool Covers(const std::vector<std::string>& paths, absl::string_view field) {
  return paths.empty() || std::find(paths.begin(), paths.end(), field) != paths.end();
}

std::string F(absl::string_view prefix, absl::string_view field) { return absl::StrCat(prefix, field); }

bool ValidDate(const crm::type::v1::Date& d) {
  if (d.year() < 1900 || d.year() > 2200 || d.month() < 1 || d.month() > 12 || d.day() < 1) {
    return false;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (d.day() > kDays[d.month() - 1]) return false;
  const bool leap = (d.year() % 4 == 0 && d.year() % 100 != 0) || d.year() % 400 == 0;
  return !(d.month() == 2 && d.day() == 29 && !leap);
}

void CheckLength(absl::string_view value, size_t max, const std::string& field, Violations& v) {
  // Lengths are in bytes of UTF-8; the columns are sized in characters, so
  // this is conservative for Chinese text.
  if (value.size() > max) v.Add(field, absl::StrCat("at most ", max, " bytes"));
}

}  // namespace

bool IsValidCreditCode(absl::string_view code) {
  if (code.size() != 18) return false;
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    size_t pos = kCreditCodeChars.find(code[i]);
    if (pos == absl::string_view::npos) return false;
    sum += static_cast<int>(pos) * kCreditCodeWeights[i];
  }
  int check = 31 - sum % 31;
  if (check == 31) check = 0;
  return code[17] == kCreditCodeChars[check];
}

bool IsValidPhone(absl::string_view phone) {
  // ^(\+86[- ]?)?(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$ by hand: std::regex
  // was a visible share of CreateCustomer's CPU, and ImportMembers checks
  // every member's phone.
  if (absl::ConsumePrefix(&phone, "+86") && !phone.empty() && (phone[0] == '-' || phone[0] == ' ')) {
    phone.remove_prefix(1);
  }
  const auto all_digits = [](absl::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (phone.size() == 11 && phone[0] == '1' && phone[1] >= '3' && phone[1] <= '9' && all_digits(phone)) {
    return true;
  }
  if (phone.empty() || phone[0] != '0') return false;
  // Landline: digit runs between dashes, the leading 0 not counted.
  std::vector<absl::string_view> runs = absl::StrSplit(phone.substr(1), '-');
  for (absl::string_view run : runs) {
    if (run.empty() || !all_digits(run)) return false;
  }
  const auto between = [](absl::string_view run, size_t lo, size_t hi) {
    return run.size() >= lo && run.size() <= hi;
  };
  const auto area_and_number = [&](absl::string_view area, absl::string_view number) {
    return between(area, 2, 3) && between(number, 7, 8);
  };
  const auto undivided = [&](absl::string_view run) { return between(run, 9, 11); };
  switch (runs.size()) {
    case 1:
      return undivided(runs[0]);
    case 2:  // area-number, or an undivided number and its extension
      return area_and_number(runs[0], runs[1]) || (undivided(runs[0]) && between(runs[1], 1, 6));
    case 3:
      return area_and_number(runs[0], runs[1]) && between(runs[2], 1, 6);
    default:
      return false;
  }
}

bool IsValidQualificationRating(absl::string_view rating) {
  return std::find(std::begin(kRatings), std::end(kRatings), rating) != std::end(kRatings);
}

double QualificationScore(absl::string_view rating) {
  auto it = std::find(std::begin(kRatings), std::end(kRatings), rating);
  if (it == std::end(kRatings)) return 0;
  return static_cast<double>(it - std::begin(kRatings) + 1) / std::size(kRatings);
}

const std::vector<std::string>& UpdatableCustomerFields() {
  static const std::vector<std::string> kFields = {
      "display_name", "credit_code", "industry", "address", "location", "annual_revenue",
      "employee_count", "qualification_rating", "it_usage_notes", "competitor_notes", "status",
      "owner", "high_value", "phone", "aml_rating"};
  return kFields;
}

const std::vector<std::string>& UpdatableContactFields() {
  static const std::vector<std::string> kFields = {"display_name", "role", "phone", "title",
                                                   "birthday", "hobbies", "family_notes",
                                                   "vip_level"};
  return kFields;
}

void ValidateCustomer(const pb::Customer& c, const std::vector<std::string>& paths,
                      absl::string_view prefix, Violations& v) {
  const bool creating = paths.empty();
  if (creating && c.kind() == pb::CUSTOMER_KIND_UNSPECIFIED) v.Add(F(prefix, "kind"), "required");
  if (Covers(paths, "display_name")) {
    if (absl::StripAsciiWhitespace(c.display_name()).empty()) {
      v.Add(F(prefix, "display_name"), "required");
    }
    CheckLength(c.display_name(), 200, F(prefix, "display_name"), v);
  }
  if (Covers(paths, "credit_code")) {
    if (c.kind() == pb::ENTERPRISE && c.credit_code().empty()) {
      v.Add(F(prefix, "credit_code"), "required for an enterprise");
    } else if (c.kind() == pb::INDIVIDUAL && !c.credit_code().empty()) {
      v.Add(F(prefix, "credit_code"), "only enterprises have a credit code");
    } else if (!c.credit_code().empty() && !IsValidCreditCode(c.credit_code())) {
      v.Add(F(prefix, "credit_code"),
            "not a valid unified social credit code (18 characters, GB 32100 check digit)");
    }
  }
  if (Covers(paths, "industry")) CheckLength(c.industry(), 100, F(prefix, "industry"), v);
  if (Covers(paths, "address")) CheckLength(c.address(), 500, F(prefix, "address"), v);
  if (Covers(paths, "location") && c.has_location()) {
    // Written so NaN fails too (every comparison with NaN is false).
    if (!(std::abs(c.location().latitude()) <= 90)) v.Add(F(prefix, "location.latitude"), "must be within ±90");
    if (!(std::abs(c.location().longitude()) <= 180)) {
      v.Add(F(prefix, "location.longitude"), "must be within ±180");
    }
  }
  if (Covers(paths, "annual_revenue") && c.has_annual_revenue()) {
    const auto& m = c.annual_revenue();
    if (m.units() < 0 || m.nanos() < 0 || m.nanos() > 999999999) {
      v.Add(F(prefix, "annual_revenue"), "must be a non-negative amount");
    }
    // The value score (CUS-4) ranks enterprises by revenue, so every revenue
    // must be in one currency; the handbooks' customers report in yuan.
    if (m.currency_code() != kRevenueCurrency) {
      v.Add(F(prefix, "annual_revenue.currency_code"),
            absl::StrCat("must be ", kRevenueCurrency, ": the value score ranks revenues in yuan"));
    }
  }
  if (Covers(paths, "employee_count") && c.employee_count() < 0) {
    v.Add(F(prefix, "employee_count"), "must not be negative");
  }
  if (Covers(paths, "qualification_rating") && !c.qualification_rating().empty() &&
      !IsValidQualificationRating(c.qualification_rating())) {
    v.Add(F(prefix, "qualification_rating"), "one of AAA, AA, A, BBB, BB, B, CCC, CC, C");
  }
  if (Covers(paths, "it_usage_notes")) CheckLength(c.it_usage_notes(), 20000, F(prefix, "it_usage_notes"), v);
  if (Covers(paths, "competitor_notes")) {
    CheckLength(c.competitor_notes(), 20000, F(prefix, "competitor_notes"), v);
  }
  if (Covers(paths, "status")) {
    if (c.status() == pb::ARCHIVED) {
      v.Add(F(prefix, "status"), "use ArchiveCustomer to archive");
    } else if (!creating && c.status() == pb::CUSTOMER_STATUS_UNSPECIFIED) {
      v.Add(F(prefix, "status"), "required");
    } else if (!pb::CustomerStatus_IsValid(c.status())) {
      v.Add(F(prefix, "status"), "unknown status");
    }
  }
  if (Covers(paths, "owner")) CheckLength(c.owner(), 100, F(prefix, "owner"), v);
  if (Covers(paths, "team")) CheckLength(c.team(), 100, F(prefix, "team"), v);
  if (Covers(paths, "phone") && !c.phone().empty() && !IsValidPhone(c.phone())) {
    v.Add(F(prefix, "phone"), "not a phone number (mobile 1xxxxxxxxxx or landline 0xxx-xxxxxxx)");
  }
  if (Covers(paths, "aml_rating") && !pb::AmlRating_IsValid(c.aml_rating())) {
    v.Add(F(prefix, "aml_rating"), "unknown rating");
  }
  if (Covers(paths, "aml_rating") && c.kind() == pb::ENTERPRISE && c.aml_rating() != pb::AML_RATING_UNSPECIFIED) {
    v.Add(F(prefix, "aml_rating"), "only individuals have an AML rating");
  }
  if (!pb::CustomerKind_IsValid(c.kind())) v.Add(F(prefix, "kind"), "unknown kind");
}

void ValidateContact(const pb::Contact& c, const std::vector<std::string>& paths,
                     absl::string_view prefix, Violations& v) {
  const bool creating = paths.empty();
  if (Covers(paths, "display_name")) {
    if (absl::StripAsciiWhitespace(c.display_name()).empty()) v.Add(F(prefix, "display_name"), "required");
    CheckLength(c.display_name(), 100, F(prefix, "display_name"), v);
  }
  if (Covers(paths, "role") || Covers(paths, "vip_level")) {
    if (c.role() == pb::CONTACT_ROLE_UNSPECIFIED || !pb::ContactRole_IsValid(c.role())) {
      v.Add(F(prefix, "role"), "one of KEY_PERSON, CONTACT, VIP, GOVERNMENT, MEMBER");
    }
    if (c.role() == pb::VIP && (c.vip_level() == pb::VIP_LEVEL_UNSPECIFIED ||
                                !pb::VipLevel_IsValid(c.vip_level()))) {
      v.Add(F(prefix, "vip_level"), "required for a VIP: DIAMOND, GOLD or SILVER");
    }
    if (c.role() != pb::VIP && c.vip_level() != pb::VIP_LEVEL_UNSPECIFIED) {
      v.Add(F(prefix, "vip_level"), "only VIP contacts have a level");
    }
  }
  if (Covers(paths, "phone")) {
    if (creating && c.phone().empty()) {
      v.Add(F(prefix, "phone"), "required");
    } else if (!c.phone().empty() && !IsValidPhone(c.phone())) {
      v.Add(F(prefix, "phone"), "not a phone number (mobile 1xxxxxxxxxx or landline 0xxx-xxxxxxx)");
    }
  }
  if (Covers(paths, "title")) CheckLength(c.title(), 100, F(prefix, "title"), v);
  if (Covers(paths, "birthday") && c.has_birthday() && !ValidDate(c.birthday())) {
    v.Add(F(prefix, "birthday"), "not a calendar date");
  }
  if (Covers(paths, "hobbies")) CheckLength(c.hobbies(), 5000, F(prefix, "hobbies"), v);
  if (Covers(paths, "family_notes")) CheckLength(c.family_notes(), 5000, F(prefix, "family_notes"), v);
}

void ValidateMember(const pb::Member& m, std::vector<FieldViolation>& out) {
  if (absl::StripAsciiWhitespace(m.display_name()).empty()) {
    out.push_back({"display_name", "required"});
  } else if (m.display_name().size() > 100) {
    out.push_back({"display_name", "at most 100 bytes"});
  }
  if (!IsValidPhone(m.phone())) out.push_back({"phone", "not a phone number"});
  if (m.department().size() > 100) out.push_back({"department", "at most 100 bytes"});
  if (m.title().size() > 100) out.push_back({"title", "at most 100 bytes"});
  if (m.brand().size() > 50) out.push_back({"brand", "at most 50 bytes"});
  size_t products = 0;
  for (const auto& p : m.products()) {
    products += p.size() + 1;
    if (p.find(';') != std::string::npos) out.push_back({"products", "must not contain ';'"});
  }
  if (products > 500) out.push_back({"products", "at most 500 bytes in all"});
}

std::string NameKey(absl::string_view display_name) {
  std::string key = absl::AsciiStrToLower(display_name);
  // Company-form words that do not tell two companies apart.
  for (const char* noise : {"股份有限公司", "有限责任公司", "有限公司", "集团", "股份", "公司",
                            "co., ltd.", "co.,ltd.", "co. ltd", "ltd.", "ltd", "inc.", "inc",
                            "（", "）", "(", ")", "·", ",", ".", "，", "。", " ", "\t", "-"}) {
    absl::StrReplaceAll({{noise, ""}}, &key);
  }
  return key.empty() ? absl::AsciiStrToLower(display_name) : key;
}

std::vector<double> ValueScores(const std::vector<RankingInput>& in, const pb::ValueModel& model) {
  double max_revenue = 0, max_employees = 0, max_qualification = 0, max_products = 0, max_members = 0;
  for (const RankingInput& r : in) {
    max_revenue = std::max(max_revenue, r.revenue);
    max_employees = std::max(max_employees, r.employees);
    max_qualification = std::max(max_qualification, r.qualification);
    max_products = std::max(max_products, r.products);
    max_members = std::max(max_members, r.members);
  }
  auto norm = [](double v, double max) { return max > 0 ? v / max : 0.0; };
  std::vector<double> scores;
  scores.reserve(in.size());
  for (const RankingInput& r : in) {
    scores.push_back(model.revenue_weight() * norm(r.revenue, max_revenue) +
                     model.employee_weight() * norm(r.employees, max_employees) +
                     model.qualification_weight() * norm(r.qualification, max_qualification) +
                     model.product_count_weight() * norm(r.products, max_products) +
                     model.member_count_weight() * norm(r.members, max_members));
  }
  return scores;
}

namespace {

// Largest k ≤ quota such that positions [begin, begin+k) do not split a run
// of equal scores at the cut.
size_t CutWithoutSplittingTies(const std::vector<RankingResult>& ranked, size_t begin, size_t quota) {
  size_t cut = begin + quota;
  if (cut >= ranked.size()) return ranked.size() - begin;
  while (cut > begin && ranked[cut - 1].score == ranked[cut].score) --cut;
  return cut - begin;
}

}  // namespace

std::vector<RankingResult> AssignTiers(const std::vector<RankingInput>& inputs,
                                       const pb::ValueModel& model) {
  const std::vector<double> scores = ValueScores(inputs, model);
  std::vector<RankingResult> ranked(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    ranked[i] = {inputs[i].id, scores[i], pb::C, inputs[i].old_tier, inputs[i].old_score, 0};
  }
  // Equal scores: lower id first, only so ranks are stable between runs.
  std::sort(ranked.begin(), ranked.end(), [](const RankingResult& a, const RankingResult& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  const size_t n = ranked.size();
  // Integer arithmetic: floor(n × 10 / 100) without floating-point error.
  const size_t a_count = CutWithoutSplittingTies(ranked, 0, n * 10 / 100);
  const size_t ab_quota = n * 30 / 100;
  const size_t b_count = CutWithoutSplittingTies(ranked, a_count, ab_quota > a_count ? ab_quota - a_count : 0);
  const size_t a1_count = CutWithoutSplittingTies(ranked, 0, a_count * 30 / 100);
  const size_t b1_count = CutWithoutSplittingTies(ranked, a_count, b_count * 30 / 100);
  for (size_t i = 0; i < n; ++i) {
    ranked[i].rank = static_cast<int64_t>(i + 1);
    if (i < a1_count) {
      ranked[i].tier = pb::A1;
    } else if (i < a_count) {
      ranked[i].tier = pb::A2;
    } else if (i < a_count + b1_count) {
      ranked[i].tier = pb::B1;
    } else if (i < a_count + b_count) {
      ranked[i].tier = pb::B2;
    } else {
      ranked[i].tier = pb::C;
    }
  }
  return ranked;
}

pb::ServiceMode ServiceModeFor(pb::Tier tier, bool high_value) {
  switch (tier) {
    case pb::A1:
    case pb::A2:
    case pb::B1:
    case pb::B2:
      return pb::ONE_TO_ONE;
    case pb::C:
      return high_value ? pb::ONE_TO_ONE : pb::ONE_TO_MANY;
    default:
      return pb::SERVICE_MODE_UNSPECIFIED;
  }
}

absl::string_view TierName(pb::Tier tier) {
  switch (tier) {
    case pb::A1: return "A1";
    case pb::A2: return "A2";
    case pb::B1: return "B1";
    case pb::B2: return "B2";
    case pb::C: return "C";
    default: return "UNRANKED";
  }
}

// ---------------------------------------------------------------- freshness

const absl::TimeZone& BusinessTimeZone() {
  static const absl::TimeZone kZone = absl::FixedTimeZone(8 * 60 * 60);
  return kZone;
}

absl::Time AddMonths(absl::Time t, int months) {
  const absl::CivilSecond cs = absl::ToCivilSecond(t, BusinessTimeZone());
  const absl::CivilMonth month = absl::CivilMonth(cs) + months;
  const absl::CivilDay last_day = absl::CivilDay(absl::CivilMonth(month + 1)) - 1;
  const int day = std::min<int>(cs.day(), last_day.day());
  return absl::FromCivil(absl::CivilSecond(month.year(), month.month(), day, cs.hour(), cs.minute(),
                                           cs.second()),
                         BusinessTimeZone());
}

StaleCutoffs StaleCutoffsAt(absl::Time now, const FreshnessPolicy& policy) {
  return {AddMonths(now, -policy.a_months), AddMonths(now, -policy.b_months),
          AddMonths(now, -policy.directory_months)};
}

absl::Time BasicDataVerifiedTime(const pb::Customer& c) {
  return FromProto(c.has_last_verified_time() ? c.last_verified_time() : c.create_time());
}

int BasicDataMonths(pb::Tier tier, const FreshnessPolicy& policy) {
  switch (tier) {
    case pb::A1:
    case pb::A2:
      return policy.a_months;
    case pb::B1:
    case pb::B2:
      return policy.b_months;
    default:
      return 0;
  }
}

std::vector<OverdueVerification> OverdueVerifications(const pb::Customer& c, const FreshnessPolicy& policy,
                                                      absl::Time now) {
  std::vector<OverdueVerification> out;
  auto add = [&](pb::StaleCustomer::What what, absl::Time base, int months) {
    const absl::Time due = AddMonths(base, months);
    if (due < now) out.push_back({what, due});
  };
  if (const int months = BasicDataMonths(c.tier(), policy); months > 0) {
    add(pb::StaleCustomer::BASIC_DATA, BasicDataVerifiedTime(c), months);
  }
  if (c.kind() == pb::ENTERPRISE) {
    add(pb::StaleCustomer::DIRECTORY,
        FromProto(c.has_directory_collected_time() ? c.directory_collected_time() : c.create_time()),
        policy.directory_months);
  }
  return out;
}

double Completeness(const pb::Customer& c) {
  std::vector<bool> filled;
  filled.push_back(!c.display_name().empty());
  filled.push_back(!c.phone().empty());
  filled.push_back(!c.address().empty());
  filled.push_back(!c.owner().empty());
  if (c.kind() == pb::ENTERPRISE) {
    filled.push_back(!c.credit_code().empty());
    filled.push_back(!c.industry().empty());
    filled.push_back(c.has_location());
    filled.push_back(c.has_annual_revenue() && (c.annual_revenue().units() > 0 || c.annual_revenue().nanos() > 0));
    filled.push_back(c.employee_count() > 0);
    filled.push_back(!c.qualification_rating().empty());
  } else {
    filled.push_back(c.risk_tolerance() != pb::RISK_TOLERANCE_UNSPECIFIED);
    filled.push_back(c.aml_rating() != pb::AML_RATING_UNSPECIFIED);
  }
  const auto done = std::count(filled.begin(), filled.end(), true);
  return static_cast<double>(done) / static_cast<double>(filled.size());
}

absl::StatusOr<pb::RiskTolerance> RiskToleranceFromAnswers(const std::vector<int>& answers) {
  Violations v;
  if (answers.size() < 5 || answers.size() > 30) {
    v.Add("answer_scores", "between 5 and 30 answers");
  }
  for (size_t i = 0; i < answers.size(); ++i) {
    if (answers[i] < 1 || answers[i] > 5) v.Add(absl::StrCat("answer_scores[", i, "]"), "must be 1..5");
  }
  if (!v.empty()) return v.ToStatus();
  double sum = 0;
  for (int a : answers) sum += a;
  const double average = sum / static_cast<double>(answers.size());
  // Five equal bands over [1, 5]: width 0.8.
  int level = static_cast<int>((average - 1.0) / 0.8) + 1;
  level = std::clamp(level, 1, 5);
  return static_cast<pb::RiskTolerance>(level);
}

AccessScope ScopeFor(const auth::Principal& p) {
  switch (p.role) {
    case auth::Role::kAdmin:
    case auth::Role::kService:
      return {AccessScope::Kind::kAll, p.subject, p.team};
    // A token may carry no team. A team-less supervisor sees what they own
    // (as auth::ScopeWhere has it for the other services) and a team-less
    // phone manager nothing: "team = ''" must never match a team-less row.
    case auth::Role::kSupervisor:
      if (p.team.empty()) return {AccessScope::Kind::kOwner, p.subject, p.team};
      return {AccessScope::Kind::kTeam, p.subject, p.team};
    case auth::Role::kManager:
      return {AccessScope::Kind::kOwner, p.subject, p.team};
    case auth::Role::kPhoneManager:
      if (p.team.empty()) return {AccessScope::Kind::kNone, p.subject, p.team};
      return {AccessScope::Kind::kTeamOrdinaryC, p.subject, p.team};
  }
  return {};
}

bool InScope(const AccessScope& scope, const pb::Customer& c) {
  switch (scope.kind) {
    case AccessScope::Kind::kAll: return true;
    case AccessScope::Kind::kTeam: return !scope.team.empty() && c.team() == scope.team;
    case AccessScope::Kind::kOwner: return c.owner() == scope.subject;
    case AccessScope::Kind::kTeamOrdinaryC:
      return !scope.team.empty() && c.team() == scope.team && c.tier() == pb::C && !c.high_value();
    case AccessScope::Kind::kNone: return false;
  }
  return false;
}

}  // namespace crm::customers
