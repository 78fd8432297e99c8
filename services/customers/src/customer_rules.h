#pragma once
// The customers service's rules as pure functions: validation (CUS-1, 2),
// duplicate keys (CUS-11), value score and tier cut (CUS-4, 5),
// freshness (CUS-6), completeness (CUS-7), risk questionnaire (CUS-10) and
// row-level access (GW-2). No I/O here, so every rule is unit-tested without a database.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth/principal.h"
#include "common/status/status.h"
#include "crm/customers/v1/customers.pb.h"

namespace crm::customers {

namespace pb = ::crm::customers::v1;

// ---- validation ----

// GB 32100-2015 unified social credit code: 18 chars from the code set,
// last one the mod-31 check character.
bool IsValidCreditCode(absl::string_view code);
// Mainland mobile (1[3-9]x 11 digits) or landline (0xx[x]-xxxxxxx[x]),
// optional +86 prefix.
bool IsValidPhone(absl::string_view phone);
bool IsValidQualificationRating(absl::string_view rating);

// Validates the fields of a customer being created (all fields) or updated
// (only `paths`, empty = all). Field names are prefixed with `prefix`.
void ValidateCustomer(const pb::Customer& c, const std::vector<std::string>& paths,
                      absl::string_view prefix, Violations& violations);
void ValidateContact(const pb::Contact& c, const std::vector<std::string>& paths,
                     absl::string_view prefix, Violations& violations);
void ValidateMember(const pb::Member& m, std::vector<FieldViolation>& violations);

// Fields a client may name in an update_mask.
const std::vector<std::string>& UpdatableCustomerFields();
const std::vector<std::string>& UpdatableContactFields();

// CUS-11: name with company-form suffixes, spaces and punctuation removed,
// lower-cased, so "福州某某科技有限公司" and "福州某某科技" collide.
std::string NameKey(absl::string_view display_name);

// ---- value model and tiers (CUS-4, CUS-5) ----

// The one currency of annual revenues (validated on write), so that the
// value score compares like with like.
inline constexpr char kRevenueCurrency[] = "CNY";

struct RankingInput {
  int64_t id = 0;
  double revenue = 0;        // in yuan (kRevenueCurrency)
  double employees = 0;
  double qualification = 0;  // 0..1 from the rating
  double products = 0;
  double members = 0;
  pb::Tier old_tier = pb::TIER_UNSPECIFIED;
  double old_score = 0;
};

struct RankingResult {
  int64_t id = 0;
  double score = 0;
  pb::Tier tier = pb::TIER_UNSPECIFIED;
  pb::Tier old_tier = pb::TIER_UNSPECIFIED;
  double old_score = 0;
  int64_t rank = 0;  // 1-based position by score
};

double QualificationScore(absl::string_view rating);

// Score = Σ weight × factor / max(factor over the population); a factor that
// is 0 everywhere contributes 0.
std::vector<double> ValueScores(const std::vector<RankingInput>& inputs, const pb::ValueModel& model);

// Tier cut. Ranked by score descending: the top 10 % are A (the top 30 % of
// A are A1), B runs from A's cut to the top 30 % (top 30 % of B are B1), the
// rest C. Rounding: a share of n is floor(share × n) — a tier is only
// granted to a customer that is wholly inside it, so with fewer than 10
// customers nobody is A. Ties: customers with equal scores always get the
// same tier; a cut that would split a tie moves up to just above the tied
// group (A, A1, A + B and B1 are maxima, never exceeded; when A's cut moves
// up, B takes the places A gave up).
std::vector<RankingResult> AssignTiers(const std::vector<RankingInput>& inputs,
                                       const pb::ValueModel& model);

pb::ServiceMode ServiceModeFor(pb::Tier tier, bool high_value);
absl::string_view TierName(pb::Tier tier);

// ---- freshness (CUS-6) ----

// Re-verification intervals in months (the freshness_policy table).
struct FreshnessPolicy {
  int a_months = 1, b_months = 2, directory_months = 6;
};

// Data last verified (or created) before these instants is stale.
struct StaleCutoffs {
  absl::Time a_verified_before;
  absl::Time b_verified_before;
  absl::Time directory_before;
};

// Dates and month boundaries (risk assessment day, freshness intervals) are
// in China Standard Time.
const absl::TimeZone& BusinessTimeZone();

// `t` moved by whole calendar months in the business time zone, the day
// clamped to the month (Jan 31 + 1 month → Feb 28/29).
absl::Time AddMonths(absl::Time t, int months);

// The cut-offs at `now`: each interval of `policy` back from now.
StaleCutoffs StaleCutoffsAt(absl::Time now, const FreshnessPolicy& policy);

// When the basic data was last verified: the last verification, or the
// creation when it was never verified.
absl::Time BasicDataVerifiedTime(const pb::Customer& c);

// The basic-data interval of a tier: A1/A2 a_months, B1/B2 b_months, 0 for
// tiers without one (C, not ranked yet).
int BasicDataMonths(pb::Tier tier, const FreshnessPolicy& policy);

// One re-verification of a customer that is overdue (CUS-6).
struct OverdueVerification {
  pb::StaleCustomer::What what;
  absl::Time due;
};

// What of `c` is overdue at `now`: its basic data (A and B tiers) and, for an
// enterprise, its employee directory. Empty when `c` is fresh.
std::vector<OverdueVerification> OverdueVerifications(const pb::Customer& c, const FreshnessPolicy& policy,
                                                      absl::Time now);

// ---- data quality (CUS-7) ----

// Share of required fields that are filled, 0..1.
double Completeness(const pb::Customer& c);

// ---- risk tolerance (CUS-10) ----

// Each answer 1..5; the average maps to five equal bands.
absl::StatusOr<pb::RiskTolerance> RiskToleranceFromAnswers(const std::vector<int>& answers);

// ---- access (GW-2) ----

// Which customers a principal may see and change.
struct AccessScope {
  enum class Kind { kAll, kTeam, kOwner, kTeamOrdinaryC, kNone };
  Kind kind = Kind::kNone;
  std::string subject;
  std::string team;
};

AccessScope ScopeFor(const auth::Principal& principal);
bool InScope(const AccessScope& scope, const pb::Customer& c);

}  // namespace crm::customers
