#include "services/customers/src/customer_events.h"
#include "services/customers/src/customer_rules.h"

#include <random>
#include <regex>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "common/testing/status_matchers.h"
#include "common/util/proto_time.h"
#include "gtest/gtest.h"

namespace crm::customers {
namespace {

using ::crm::testing::HasFieldViolation;
using ::crm::testing::IsOk;
using ::testing::ElementsAre;

pb::ValueModel RevenueOnly() {
  pb::ValueModel m;
  m.set_revenue_weight(1);
  return m;
}

// Population of n with distinct revenues n, n-1, ..., 1 (id i has revenue n-i+1).
std::vector<RankingInput> Population(int n) {
  std::vector<RankingInput> in;
  for (int i = 1; i <= n; ++i) {
    RankingInput r;
    r.id = i;
    r.revenue = n - i + 1;
    in.push_back(r);
  }
  return in;
}

std::map<pb::Tier, int> Counts(const std::vector<RankingResult>& results) {
  std::map<pb::Tier, int> counts;
  for (const auto& r : results) ++counts[r.tier];
  return counts;
}

TEST(CreditCodeTest, AcceptsValidCodes) {
  EXPECT_TRUE(IsValidCreditCode("91350100M000100Y43"));
}

TEST(CreditCodeTest, RejectsWrongCheckDigitLengthAndCharset) {
  EXPECT_FALSE(IsValidCreditCode("91350100M000100Y44"));  // check digit off by one
  EXPECT_FALSE(IsValidCreditCode("91350100M000100Y4"));   // 17 chars
  EXPECT_FALSE(IsValidCreditCode("91350100M000100Y433"));
  EXPECT_FALSE(IsValidCreditCode("91350100I000100Y43"));  // I is not in the code set
  EXPECT_FALSE(IsValidCreditCode("91350100m000100Y43"));  // lower case
}

// IsValidPhone is hand-written; the pattern it implements is the oracle.
TEST(PhoneTest, AgreesWithThePatternOnGeneratedNumbers) {
  const std::regex pattern(R"(^(\+86[- ]?)?(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8}(-[0-9]{1,6})?)$)");
  std::mt19937 rng(20261124);
  const std::string alphabet = "0123456789-- +x";
  const std::vector<std::string> prefixes = {"", "+86", "+86-", "+86 ", "0", "1", "13", "010-", "0591", "+8"};
  int accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string phone = prefixes[rng() % prefixes.size()];
    const size_t length = rng() % 18;
    // Mostly digits, so that valid numbers come up often.
    for (size_t j = 0; j < length; ++j) {
      phone += rng() % 4 != 0 ? static_cast<char>('0' + rng() % 10) : alphabet[rng() % alphabet.size()];
    }
    const bool want = std::regex_match(phone, pattern);
    ASSERT_EQ(IsValidPhone(phone), want) << "\"" << phone << "\"";
    accepted += want;
  }
  EXPECT_GT(accepted, 1000);  // the comparison covered valid numbers too
}

TEST(PhoneTest, MobileAndLandline) {
  EXPECT_TRUE(IsValidPhone("13800138000"));
  EXPECT_TRUE(IsValidPhone("+86 13800138000"));
  EXPECT_TRUE(IsValidPhone("0591-87654321"));
  EXPECT_TRUE(IsValidPhone("010-12345678-123"));
  EXPECT_FALSE(IsValidPhone("12800138000"));  // no 12x mobile prefix
  EXPECT_FALSE(IsValidPhone("1380013800"));
  EXPECT_FALSE(IsValidPhone("phone"));
  EXPECT_FALSE(IsValidPhone(""));
  EXPECT_TRUE(IsValidPhone("05918765432"));     // area and number undivided
  EXPECT_TRUE(IsValidPhone("05918765432-12"));  // ... with an extension
  EXPECT_FALSE(IsValidPhone("0591876543210"));  // 12 digits after the 0
  EXPECT_FALSE(IsValidPhone("0591--87654321"));
  EXPECT_FALSE(IsValidPhone("0591-87654321-1234567"));
  EXPECT_FALSE(IsValidPhone("+86  13800138000"));
}

// The status ValidateCustomer gives `c` as a create (no paths) or as an
// update of `paths`, with the request's "customer." prefix.
absl::Status Validate(const pb::Customer& c, const std::vector<std::string>& paths = {}) {
  Violations v;
  ValidateCustomer(c, paths, "customer.", v);
  return v.ToStatus();
}

TEST(ValidateCustomerTest, NamesEveryBadField) {
  pb::Customer c;
  c.set_kind(pb::ENTERPRISE);
  c.set_credit_code("91350100M000100Y44");
  c.set_phone("123");
  c.set_qualification_rating("AAAA");
  c.mutable_location()->set_latitude(91);
  const absl::Status s = Validate(c);
  EXPECT_THAT(s, HasFieldViolation("customer.display_name"));
  EXPECT_THAT(s, HasFieldViolation("customer.credit_code"));
  EXPECT_THAT(s, HasFieldViolation("customer.phone"));
  EXPECT_THAT(s, HasFieldViolation("customer.qualification_rating"));
  EXPECT_THAT(s, HasFieldViolation("customer.location.latitude"));
}

TEST(ValidateCustomerTest, EnterpriseNeedsCreditCodeIndividualMustNotHaveOne) {
  pb::Customer e;
  e.set_kind(pb::ENTERPRISE);
  e.set_display_name("福州某某科技有限公司");
  EXPECT_THAT(Validate(e), HasFieldViolation("customer.credit_code"));

  pb::Customer i;
  i.set_kind(pb::INDIVIDUAL);
  i.set_display_name("王先生");
  i.set_credit_code("91350100M000100Y43");
  EXPECT_THAT(Validate(i), HasFieldViolation("customer.credit_code"));
}

// CUS-10: an AML rating is for individuals, on create and on update alike.
TEST(ValidateCustomerTest, OnlyIndividualsHaveAnAmlRating) {
  pb::Customer e;
  e.set_kind(pb::ENTERPRISE);
  e.set_display_name("福州某某科技有限公司");
  e.set_credit_code("91350100M000100Y43");
  e.set_aml_rating(pb::AML_HIGH);
  EXPECT_THAT(Validate(e), HasFieldViolation("customer.aml_rating"));
  EXPECT_THAT(Validate(e, {"aml_rating"}), HasFieldViolation("customer.aml_rating"));

  pb::Customer i;
  i.set_kind(pb::INDIVIDUAL);
  i.set_display_name("王先生");
  i.set_aml_rating(pb::AML_HIGH);
  EXPECT_THAT(Validate(i, {"aml_rating"}), IsOk());
}

// CUS-4 ranks revenues against each other, so they share one currency.
TEST(ValidateCustomerTest, RevenueIsInYuan) {
  pb::Customer c;
  c.set_kind(pb::ENTERPRISE);
  c.mutable_annual_revenue()->set_units(5000000);
  for (const char* currency : {"USD", "HKD", "cny", ""}) {
    c.mutable_annual_revenue()->set_currency_code(currency);
    EXPECT_THAT(Validate(c, {"annual_revenue"}), HasFieldViolation("customer.annual_revenue.currency_code"))
        << currency;
  }
  c.mutable_annual_revenue()->set_currency_code("CNY");
  EXPECT_THAT(Validate(c, {"annual_revenue"}), IsOk());
}

TEST(ValidateCustomerTest, UpdateChecksOnlyMaskedFields) {
  pb::Customer c;
  c.set_kind(pb::ENTERPRISE);
  c.set_phone("bad");
  EXPECT_THAT(Validate(c, {"industry"}), IsOk());
}

TEST(ValidateContactTest, VipNeedsLevelOthersMustNotHaveOne) {
  pb::Contact vip;
  vip.set_display_name("李总");
  vip.set_phone("13800138000");
  vip.set_role(pb::VIP);
  Violations v1;
  ValidateContact(vip, {}, "contact.", v1);
  EXPECT_THAT(v1.ToStatus(), HasFieldViolation("contact.vip_level"));

  pb::Contact key = vip;
  key.set_role(pb::KEY_PERSON);
  key.set_vip_level(pb::GOLD);
  Violations v2;
  ValidateContact(key, {}, "contact.", v2);
  EXPECT_THAT(v2.ToStatus(), HasFieldViolation("contact.vip_level"));

  pb::Contact bad_birthday = vip;
  bad_birthday.set_vip_level(pb::GOLD);
  bad_birthday.mutable_birthday()->set_year(2023);
  bad_birthday.mutable_birthday()->set_month(2);
  bad_birthday.mutable_birthday()->set_day(29);
  Violations v3;
  ValidateContact(bad_birthday, {}, "contact.", v3);
  EXPECT_THAT(v3.ToStatus(), HasFieldViolation("contact.birthday"));
}

TEST(NameKeyTest, CompanyFormWordsDoNotMatter) {
  EXPECT_EQ(NameKey("福州某某科技有限公司"), NameKey("福州某某科技"));
  EXPECT_EQ(NameKey("福州某某科技股份有限公司"), NameKey("福州 某某科技"));
  EXPECT_NE(NameKey("福州某某科技"), NameKey("厦门某某科技"));
  EXPECT_EQ(NameKey("ACME Co., Ltd."), NameKey("acme"));
}

// CUS-4 populations named by the issue: 1, 9, 10, 11 and 1000.
TEST(AssignTiersTest, PopulationOfOneIsC) {
  auto r = AssignTiers(Population(1), RevenueOnly());
  EXPECT_EQ(Counts(r), (std::map<pb::Tier, int>{{pb::C, 1}}));
}

TEST(AssignTiersTest, PopulationOfNineHasNoA) {
  auto r = AssignTiers(Population(9), RevenueOnly());
  // floor(0.9) = 0 A; floor(2.7) = 2 in A+B → 2 B, floor(0.6) = 0 B1.
  EXPECT_EQ(Counts(r), (std::map<pb::Tier, int>{{pb::B2, 2}, {pb::C, 7}}));
}

TEST(AssignTiersTest, PopulationOfTen) {
  auto r = AssignTiers(Population(10), RevenueOnly());
  EXPECT_EQ(Counts(r), (std::map<pb::Tier, int>{{pb::A2, 1}, {pb::B2, 2}, {pb::C, 7}}));
  EXPECT_EQ(r[0].id, 1);  // the largest revenue
  EXPECT_EQ(r[0].tier, pb::A2);
}

TEST(AssignTiersTest, PopulationOfEleven) {
  auto r = AssignTiers(Population(11), RevenueOnly());
  EXPECT_EQ(Counts(r), (std::map<pb::Tier, int>{{pb::A2, 1}, {pb::B2, 2}, {pb::C, 8}}));
}

TEST(AssignTiersTest, PopulationOfThousand) {
  auto r = AssignTiers(Population(1000), RevenueOnly());
  EXPECT_EQ(Counts(r), (std::map<pb::Tier, int>{
                           {pb::A1, 30}, {pb::A2, 70}, {pb::B1, 60}, {pb::B2, 140}, {pb::C, 700}}));
  // Ranked by score: ids 1..30 are A1, 31..100 A2, 101..160 B1, 161..300 B2.
  for (const RankingResult& x : r) {
    const pb::Tier expected = x.id <= 30 ? pb::A1 : x.id <= 100 ? pb::A2 : x.id <= 160 ? pb::B1
                              : x.id <= 300 ? pb::B2 : pb::C;
    ASSERT_EQ(x.tier, expected) << "id " << x.id;
  }
}

TEST(AssignTiersTest, TiesAreNeverSplitAndQuotaIsNotExceeded) {
  // 20 customers; the 2nd and 3rd tie, so the A cut (2) would split them:
  // both drop to B instead of one being A.
  std::vector<RankingInput> in = Population(20);
  in[2].revenue = in[1].revenue;
  auto r = AssignTiers(in, RevenueOnly());
  std::map<int64_t, pb::Tier> by_id;
  for (const auto& x : r) by_id[x.id] = x.tier;
  EXPECT_EQ(by_id[1], pb::A2);
  EXPECT_EQ(by_id[2], by_id[3]);
  EXPECT_EQ(Counts(r)[pb::A1] + Counts(r)[pb::A2], 1);
  // B runs from A's cut to the top ⌊30 % × 20⌋ = 6: it takes the place A
  // gave up (5 customers, more than 20 % of 20); A + B never exceeds 6.
  EXPECT_EQ(Counts(r)[pb::B1] + Counts(r)[pb::B2], 5);
}

TEST(AssignTiersTest, TiesAtTheA1AndBCutsMoveThoseCutsUp) {
  // 100 customers: A is ids 1..10, A1 would be ids 1..3, A + B ids 1..30.
  std::vector<RankingInput> in = Population(100);
  in[3].revenue = in[2].revenue;    // ids 3 and 4 tie across the A1 cut
  in[30].revenue = in[29].revenue;  // ids 30 and 31 tie across the B/C cut
  auto r = AssignTiers(in, RevenueOnly());
  std::map<int64_t, pb::Tier> by_id;
  for (const auto& x : r) by_id[x.id] = x.tier;
  EXPECT_EQ(by_id[2], pb::A1);
  EXPECT_EQ(by_id[3], pb::A2);
  EXPECT_EQ(by_id[4], pb::A2);
  EXPECT_EQ(by_id[29], pb::B2);
  EXPECT_EQ(by_id[30], pb::C);
  EXPECT_EQ(by_id[31], pb::C);
  EXPECT_EQ(Counts(r), (std::map<pb::Tier, int>{
                           {pb::A1, 2}, {pb::A2, 8}, {pb::B1, 5}, {pb::B2, 14}, {pb::C, 71}}));
}

TEST(AssignTiersTest, AllEqualScoresAreAllC) {
  std::vector<RankingInput> in = Population(50);
  for (auto& x : in) x.revenue = 5;
  EXPECT_EQ(Counts(AssignTiers(in, RevenueOnly())), (std::map<pb::Tier, int>{{pb::C, 50}}));
}

TEST(ValueScoresTest, WeightsNormalisedFactors) {
  std::vector<RankingInput> in(2);
  in[0].revenue = 100;
  in[0].employees = 10;
  in[1].revenue = 50;
  in[1].employees = 20;
  pb::ValueModel m;
  m.set_revenue_weight(0.5);
  m.set_employee_weight(0.5);
  EXPECT_THAT(ValueScores(in, m), ElementsAre(0.75, 0.75));
}

TEST(ServiceModeTest, FollowsTierAndHighValue) {
  EXPECT_EQ(ServiceModeFor(pb::A1, false), pb::ONE_TO_ONE);
  EXPECT_EQ(ServiceModeFor(pb::B2, false), pb::ONE_TO_ONE);
  EXPECT_EQ(ServiceModeFor(pb::C, true), pb::ONE_TO_ONE);
  EXPECT_EQ(ServiceModeFor(pb::C, false), pb::ONE_TO_MANY);
}

TEST(CompletenessTest, CountsRequiredFields) {
  pb::Customer c;
  c.set_kind(pb::ENTERPRISE);
  EXPECT_DOUBLE_EQ(Completeness(c), 0.0);
  c.set_display_name("x");
  c.set_phone("13800138000");
  c.set_address("a");
  c.set_owner("m");
  c.set_credit_code("91350100M000100Y43");
  EXPECT_DOUBLE_EQ(Completeness(c), 0.5);
  c.set_industry("制造");
  c.mutable_location()->set_latitude(26);
  c.mutable_annual_revenue()->set_units(1);
  c.set_employee_count(3);
  c.set_qualification_rating("AA");
  EXPECT_DOUBLE_EQ(Completeness(c), 1.0);
}

TEST(RiskToleranceTest, AverageMapsToFiveBands) {
  EXPECT_EQ(*RiskToleranceFromAnswers({1, 1, 1, 1, 1}), pb::CONSERVATIVE);
  EXPECT_EQ(*RiskToleranceFromAnswers({3, 3, 3, 3, 3}), pb::BALANCED);
  EXPECT_EQ(*RiskToleranceFromAnswers({5, 5, 5, 5, 5}), pb::AGGRESSIVE);
  EXPECT_EQ(*RiskToleranceFromAnswers({2, 2, 2, 2, 3}), pb::MODERATELY_CONSERVATIVE);
  EXPECT_EQ(*RiskToleranceFromAnswers({4, 4, 4, 4, 4}), pb::GROWTH);
}

TEST(RiskToleranceTest, RejectsBadAnswers) {
  EXPECT_THAT(RiskToleranceFromAnswers({1, 2}), HasFieldViolation("answer_scores"));
  EXPECT_THAT(RiskToleranceFromAnswers({1, 2, 3, 4, 6}), HasFieldViolation("answer_scores[4]"));
}

TEST(AccessTest, ScopesFollowRoles) {
  pb::Customer c;
  c.set_owner("mgr-li");
  c.set_team("east");
  c.set_tier(pb::B1);
  auto principal = [](auth::Role role, std::string subject, std::string team) {
    return auth::Principal{std::move(subject), role, std::move(team)};
  };
  EXPECT_TRUE(InScope(ScopeFor(principal(auth::Role::kManager, "mgr-li", "east")), c));
  EXPECT_FALSE(InScope(ScopeFor(principal(auth::Role::kManager, "mgr-wang", "east")), c));
  EXPECT_TRUE(InScope(ScopeFor(principal(auth::Role::kSupervisor, "sup", "east")), c));
  EXPECT_FALSE(InScope(ScopeFor(principal(auth::Role::kSupervisor, "sup", "west")), c));
  EXPECT_TRUE(InScope(ScopeFor(principal(auth::Role::kAdmin, "root", "")), c));
  EXPECT_FALSE(InScope(ScopeFor(principal(auth::Role::kPhoneManager, "pm", "east")), c));
  c.set_tier(pb::C);
  EXPECT_TRUE(InScope(ScopeFor(principal(auth::Role::kPhoneManager, "pm", "east")), c));
  c.set_high_value(true);  // quality C is served one-to-one, not by phone
  EXPECT_FALSE(InScope(ScopeFor(principal(auth::Role::kPhoneManager, "pm", "east")), c));
}

}  // namespace
TEST(CustomerEventsTest, OnlyTierOwnershipAndArchivalAreAnnounced) {
  pb::Customer before;
  before.set_name("customers/7");
  before.set_tier(pb::B1);
  before.set_owner("mgr-li");
  before.set_team("east");
  before.set_status(pb::ACTIVE);
  pb::Customer after = before;
  after.set_industry("制造业");
  EXPECT_TRUE(EventsForChange(before, after).empty());

  after.set_tier(pb::A2);
  after.set_owner("mgr-wang");
  after.set_status(pb::ARCHIVED);
  auto events = EventsForChange(before, after);
  ASSERT_EQ(events.size(), 3u);
  const auto& tier = dynamic_cast<const pb::TierChanged&>(*events[0]);
  EXPECT_EQ(tier.old_tier(), pb::B1);
  EXPECT_EQ(tier.new_tier(), pb::A2);
  EXPECT_EQ(tier.owner(), "mgr-wang");
  const auto& owner = dynamic_cast<const pb::OwnershipChanged&>(*events[1]);
  EXPECT_EQ(owner.old_owner(), "mgr-li");
  EXPECT_EQ(owner.new_team(), "east");
  EXPECT_EQ(dynamic_cast<const pb::CustomerArchived&>(*events[2]).customer(), "customers/7");

  // Archiving an archived customer again announces nothing.
  EXPECT_TRUE(EventsForChange(after, after).empty());
}


// CUS-6: months are calendar months in China Standard Time.
TEST(FreshnessTest, MonthsAreCalendarMonthsInBusinessTimeClampedToTheMonth) {
  const absl::TimeZone cst = BusinessTimeZone();
  const absl::Time jan31 = absl::FromCivil(absl::CivilSecond(2027, 1, 31, 23, 30, 0), cst);
  EXPECT_EQ(AddMonths(jan31, 1), absl::FromCivil(absl::CivilSecond(2027, 2, 28, 23, 30, 0), cst));
  EXPECT_EQ(AddMonths(jan31, -2), absl::FromCivil(absl::CivilSecond(2026, 11, 30, 23, 30, 0), cst));
  const absl::Time now = absl::FromCivil(absl::CivilSecond(2027, 3, 15, 9, 0, 0), cst);
  const StaleCutoffs cutoffs = StaleCutoffsAt(now, FreshnessPolicy{});
  EXPECT_EQ(cutoffs.a_verified_before, absl::FromCivil(absl::CivilSecond(2027, 2, 15, 9, 0, 0), cst));
  EXPECT_EQ(cutoffs.b_verified_before, absl::FromCivil(absl::CivilSecond(2027, 1, 15, 9, 0, 0), cst));
  EXPECT_EQ(cutoffs.directory_before, absl::FromCivil(absl::CivilSecond(2026, 9, 15, 9, 0, 0), cst));
}

TEST(FreshnessTest, BasicDataIntervalFollowsTheTierClass) {
  const FreshnessPolicy policy{3, 5, 6};
  EXPECT_EQ(BasicDataMonths(pb::A1, policy), 3);
  EXPECT_EQ(BasicDataMonths(pb::A2, policy), 3);
  EXPECT_EQ(BasicDataMonths(pb::B1, policy), 5);
  EXPECT_EQ(BasicDataMonths(pb::B2, policy), 5);
  EXPECT_EQ(BasicDataMonths(pb::C, policy), 0);
  EXPECT_EQ(BasicDataMonths(pb::TIER_UNSPECIFIED, policy), 0);
}

TEST(FreshnessTest, OverdueVerificationsOfBasicDataAndDirectory) {
  const absl::TimeZone cst = BusinessTimeZone();
  pb::Customer c;
  c.set_kind(pb::ENTERPRISE);
  c.set_tier(pb::A1);
  ToProto(absl::FromCivil(absl::CivilSecond(2027, 1, 10, 9, 0, 0), cst), c.mutable_create_time());
  const FreshnessPolicy policy;
  EXPECT_TRUE(OverdueVerifications(c, policy, absl::FromCivil(absl::CivilSecond(2027, 2, 10, 9, 0, 0), cst)).empty());
  auto overdue = OverdueVerifications(c, policy, absl::FromCivil(absl::CivilSecond(2027, 2, 10, 9, 0, 1), cst));
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].what, pb::StaleCustomer::BASIC_DATA);
  EXPECT_EQ(overdue[0].due, absl::FromCivil(absl::CivilSecond(2027, 2, 10, 9, 0, 0), cst));
  overdue = OverdueVerifications(c, policy, absl::FromCivil(absl::CivilSecond(2027, 8, 1, 0, 0, 0), cst));
  ASSERT_EQ(overdue.size(), 2u);
  EXPECT_EQ(overdue[1].what, pb::StaleCustomer::DIRECTORY);
  EXPECT_EQ(overdue[1].due, absl::FromCivil(absl::CivilSecond(2027, 7, 10, 9, 0, 0), cst));
  c.set_tier(pb::C);  // no basic-data interval
  c.set_kind(pb::INDIVIDUAL);
  EXPECT_TRUE(OverdueVerifications(c, policy, absl::FromCivil(absl::CivilSecond(2030, 1, 1, 0, 0, 0), cst)).empty());
}

TEST(CustomerEventsTest, StaleRunsFromTheLastVerificationOrTheCreation) {
  const absl::TimeZone cst = BusinessTimeZone();
  pb::Customer c;
  c.set_name("customers/9");
  c.set_owner("mgr-li");
  c.set_team("east");
  c.set_tier(pb::B2);
  ToProto(absl::FromCivil(absl::CivilSecond(2027, 1, 1, 8, 0, 0), cst), c.mutable_create_time());
  pb::CustomerDataStale never_verified = StaleEvent(c, FreshnessPolicy{});
  EXPECT_EQ(never_verified.customer(), "customers/9");
  EXPECT_EQ(never_verified.owner(), "mgr-li");
  EXPECT_EQ(never_verified.team(), "east");
  EXPECT_EQ(never_verified.tier(), pb::B2);
  EXPECT_EQ(FromProto(never_verified.last_verified_time()), FromProto(c.create_time()));
  EXPECT_EQ(FromProto(never_verified.stale_since()), absl::FromCivil(absl::CivilSecond(2027, 3, 1, 8, 0, 0), cst));

  ToProto(absl::FromCivil(absl::CivilSecond(2027, 2, 10, 9, 0, 0), cst), c.mutable_last_verified_time());
  c.set_tier(pb::A1);
  pb::CustomerDataStale verified = StaleEvent(c, FreshnessPolicy{});
  EXPECT_EQ(FromProto(verified.last_verified_time()), FromProto(c.last_verified_time()));
  EXPECT_EQ(FromProto(verified.stale_since()), absl::FromCivil(absl::CivilSecond(2027, 3, 10, 9, 0, 0), cst));
}

TEST(CustomerEventsTest, ContactEventsCarryTheCareFieldsAndTheCustomersOwner) {
  pb::Customer customer;
  customer.set_name("customers/3");
  customer.set_owner("mgr-wang");
  customer.set_team("west");
  pb::Contact contact;
  contact.set_name("customers/3/contacts/8");
  contact.set_display_name("陈总");
  contact.set_role(pb::VIP);
  contact.set_vip_level(pb::DIAMOND);
  contact.set_phone("13800138000");
  contact.mutable_birthday()->set_year(1970);
  contact.mutable_birthday()->set_month(5);
  contact.mutable_birthday()->set_day(20);
  const pb::ContactAdded added = ContactAddedEvent(customer, contact);
  EXPECT_EQ(added.contact(), "customers/3/contacts/8");
  EXPECT_EQ(added.customer(), "customers/3");
  EXPECT_EQ(added.display_name(), "陈总");
  EXPECT_EQ(added.role(), pb::VIP);
  EXPECT_EQ(added.vip_level(), pb::DIAMOND);
  EXPECT_EQ(added.birthday().month(), 5);
  EXPECT_EQ(added.owner(), "mgr-wang");
  EXPECT_EQ(added.team(), "west");
  contact.clear_birthday();
  EXPECT_FALSE(ContactChangedEvent(customer, contact).has_birthday());
  const pb::ContactRemoved removed = ContactRemovedEvent(customer, contact);
  EXPECT_EQ(removed.contact(), "customers/3/contacts/8");
  EXPECT_EQ(removed.customer(), "customers/3");
}

}  // namespace crm::customers
