#include "services/opportunities/src/opportunity_rules.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace crm::opportunities {
namespace {

using ::crm::testing::HasFieldViolation;
using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::HasSubstr;

Money Cny(int64_t units, int32_t nanos = 0) {
  Money m;
  m.set_currency_code("CNY");
  m.set_units(units);
  m.set_nanos(nanos);
  return m;
}

TEST(StageTemplateTest, EveryTypeHasATemplateStartingOpen) {
  for (int t = pb::INFO_SOLUTION; t <= pb::RETENTION; ++t) {
    const auto type = static_cast<pb::OpportunityType>(t);
    ASSERT_NE(FirstStage(type), pb::STAGE_UNSPECIFIED) << pb::OpportunityType_Name(type);
    EXPECT_EQ(StateFor(type, FirstStage(type)), pb::OPPORTUNITY_OPEN);
  }
  EXPECT_EQ(StageTemplates().size(), 6u);
}

TEST(StageTemplateTest, InfoSolutionFollowsTheTelecomTemplate) {
  const pb::StageTemplate& t = StageTemplates()[0];
  ASSERT_EQ(t.type(), pb::INFO_SOLUTION);
  std::vector<pb::Stage> stages;
  for (const auto& s : t.steps()) stages.push_back(s.stage());
  EXPECT_EQ(stages, (std::vector<pb::Stage>{pb::NEED_ANALYSIS, pb::SOLUTION, pb::NEGOTIATION,
                                            pb::CONTRACT, pb::DELIVERY, pb::AFTER_SALES}));
  EXPECT_EQ(DefaultWinProbability(pb::INFO_SOLUTION, pb::NEGOTIATION), 60);
  EXPECT_EQ(StateFor(pb::INFO_SOLUTION, pb::CONTRACT), pb::WON);
}

TEST(StageTemplateTest, LoanTemplateEndsInCollection) {
  EXPECT_EQ(FirstStage(pb::LOAN), pb::APPLICATION);
  EXPECT_THAT(CheckStageMove(pb::LOAN, pb::POST_LOAN_MONITORING, pb::COLLECTION), IsOk());
  EXPECT_THAT(CheckStageMove(pb::LOAN, pb::COLLECTION, pb::REPAYMENT),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("last stage")));
}

TEST(StageTemplateTest, MovesForwardByOneOnly) {
  EXPECT_THAT(CheckStageMove(pb::INFO_SOLUTION, pb::NEED_ANALYSIS, pb::SOLUTION), IsOk());
  EXPECT_THAT(CheckStageMove(pb::INFO_SOLUTION, pb::NEED_ANALYSIS, pb::NEGOTIATION),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("only to SOLUTION or LOST")));
  EXPECT_THAT(CheckStageMove(pb::INFO_SOLUTION, pb::NEGOTIATION, pb::SOLUTION),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // A stage of another template.
  EXPECT_THAT(CheckStageMove(pb::INFO_SOLUTION, pb::NEED_ANALYSIS, pb::APPLICATION),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(StageTemplateTest, LostOnlyFromOpenStagesAndFinal) {
  EXPECT_THAT(CheckStageMove(pb::WEALTH, pb::SOLUTION, pb::LOST), IsOk());
  EXPECT_THAT(CheckStageMove(pb::WEALTH, pb::FUNDED, pb::LOST), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckStageMove(pb::WEALTH, pb::LOST, pb::SOLUTION), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(DefaultWinProbability(pb::WEALTH, pb::LOST), 0);
  EXPECT_EQ(StateFor(pb::WEALTH, pb::LOST), pb::OPPORTUNITY_LOST);
}

TEST(StatusMachineTest, NeedsCloseTheLoop) {
  EXPECT_THAT(CheckNeedTransition(pb::OPEN, pb::IN_PROGRESS), IsOk());
  EXPECT_THAT(CheckNeedTransition(pb::IN_PROGRESS, pb::FULFILLED), IsOk());
  EXPECT_THAT(CheckNeedTransition(pb::OPEN, pb::FULFILLED), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckNeedTransition(pb::FULFILLED, pb::OPEN),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("closed")));
}

TEST(StatusMachineTest, ProposalsNeedApprovalBeforePresenting) {
  EXPECT_THAT(CheckProposalTransition(pb::DRAFT, pb::PENDING_APPROVAL), IsOk());
  EXPECT_THAT(CheckProposalTransition(pb::APPROVED, pb::PRESENTED), IsOk());
  EXPECT_THAT(CheckProposalTransition(pb::DRAFT, pb::PRESENTED), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckProposalTransition(pb::PENDING_APPROVAL, pb::PRESENTED),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckProposalTransition(pb::REJECTED, pb::DRAFT), IsOk());
}

TEST(StatusMachineTest, Contracts) {
  EXPECT_THAT(CheckContractTransition(pb::SIGNED, pb::IN_DELIVERY), IsOk());
  EXPECT_THAT(CheckContractTransition(pb::DELAYED, pb::DELIVERED), IsOk());
  EXPECT_THAT(CheckContractTransition(pb::SIGNED, pb::DELIVERED), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckContractTransition(pb::DELIVERED, pb::DELAYED), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(MoneyTest, MinorUnits) {
  EXPECT_EQ(*MinorUnits(Cny(12, 340000000), "m"), 1234);
  EXPECT_THAT(MinorUnits(Cny(1, 1), "m"), HasFieldViolation("m.nanos"));
  EXPECT_THAT(MinorUnits(Cny(-1), "m"), HasFieldViolation("m"));
  Money bad = Cny(1);
  bad.set_currency_code("cny");
  EXPECT_THAT(MinorUnits(bad, "m"), HasFieldViolation("m.currency_code"));
  const Money back = FromMinorUnits("CNY", 1234);
  EXPECT_EQ(back.units(), 12);
  EXPECT_EQ(back.nanos(), 340000000);
  EXPECT_EQ(FormatMinor(150), "1.50");
}

TEST(ProposalTest, LineTotalsRoundHalfUp) {
  EXPECT_EQ(LineTotalMinor(3, 1000, 10), 2700);
  EXPECT_EQ(LineTotalMinor(1, 5, 10), 5);  // 4.5 → 5
  EXPECT_EQ(LineTotalMinor(1, 1000, 100), 0);
}

TEST(ProposalTest, BenefitRatioBoundaryIsExactlyOnePointFive) {
  EXPECT_THAT(CheckBenefitRatio(10000, 15000), IsOk());  // exactly 1.5
  EXPECT_THAT(CheckBenefitRatio(10000, 14999),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("1 : 1.5")));
  EXPECT_THAT(CheckBenefitRatio(10001, 15001), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckBenefitRatio(10001, 15002), IsOk());  // 15001.5 rounds up
  EXPECT_THAT(CheckBenefitRatio(0, 0), IsOk());
}

pb::Proposal OneLine(const std::string& product, int discount) {
  pb::Proposal p;
  p.set_title("专线+云");
  auto* item = p.add_line_items();
  item->set_product(product);
  item->set_quantity(2);
  *item->mutable_unit_price() = Cny(1000);
  item->set_discount_percent(discount);
  *p.mutable_value_statement()->mutable_cost_reduction() = Cny(2500);
  *p.mutable_value_statement()->mutable_efficiency_gain() = Cny(500);
  return p;
}

TEST(ProposalTest, PrepareComputesTotalsAndSupervisorReasons) {
  std::map<std::string, ProductFacts> products;
  products["products/1"] = ProductFacts{pb::INFO_SOLUTION, pb::RISK_LEVEL_UNSPECIFIED, 10, false, true, true};
  pb::Proposal p = OneLine("products/1", 15);
  ASSERT_THAT(PrepareProposal(p, products), IsOk());
  EXPECT_EQ(p.total_cost().units(), 1700);
  EXPECT_EQ(p.total_benefit().units(), 3000);
  EXPECT_EQ(p.line_items(0).total().units(), 1700);
  EXPECT_TRUE(p.requires_supervisor());
  ASSERT_EQ(p.supervisor_reasons_size(), 2);
  EXPECT_THAT(p.supervisor_reasons(0), HasSubstr("exceeds the manager's limit of 10%"));
  EXPECT_THAT(p.supervisor_reasons(1), HasSubstr("new technology"));

  pb::Proposal within = OneLine("products/1", 10);
  products["products/1"].new_technology = false;
  ASSERT_THAT(PrepareProposal(within, products), IsOk());
  EXPECT_FALSE(within.requires_supervisor());
}

TEST(ProposalTest, PrepareRefusesBadContent) {
  std::map<std::string, ProductFacts> products;
  pb::Proposal p = OneLine("products/9", 120);
  p.mutable_line_items(0)->set_quantity(0);
  p.mutable_value_statement()->mutable_cost_reduction()->set_currency_code("USD");
  absl::Status s = PrepareProposal(p, products);
  EXPECT_THAT(s, HasFieldViolation("proposal.line_items[0].product"));
  EXPECT_THAT(s, HasFieldViolation("proposal.line_items[0].quantity"));
  EXPECT_THAT(s, HasFieldViolation("proposal.line_items[0].discount_percent"));
  EXPECT_THAT(s, HasFieldViolation("proposal.value_statement.cost_reduction.currency_code"));
}

TEST(SuitabilityTest, RiskLevelAgainstTolerance) {
  EXPECT_THAT(CheckSuitability("products/1", pb::R3, "customers/7", 3), IsOk());  // BALANCED ↔ R3
  EXPECT_THAT(CheckSuitability("products/1", pb::R1, "customers/7", 1), IsOk());
  EXPECT_THAT(CheckSuitability("products/1", pb::R4, "customers/7", 3),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::AllOf(HasSubstr("R4"), HasSubstr("BALANCED"), HasSubstr("customers/7"))));
  EXPECT_THAT(CheckSuitability("products/1", pb::R5, "customers/7", 4), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckSuitability("products/1", pb::R1, "customers/7", 0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no risk tolerance")));
  EXPECT_THAT(CheckSuitability("products/2", pb::RISK_LEVEL_UNSPECIFIED, "customers/7", 0), IsOk());
}

class DeadlineTest : public ::testing::Test {
 protected:
  DeadlineTest() {
    calendar::CalendarConfig config;
    config.zone = *calendar::LoadBusinessZone("Asia/Shanghai");
    EXPECT_THAT(calendar::ParseHolidayTable("2027-10-01..2027-10-07\n2027-10-09 workday", config), IsOk());
    cal_ = *calendar::WorkingCalendar::Create(config);
  }
  absl::Time At(int m, int d, int h, int min = 0) const {
    return absl::FromCivil(absl::CivilMinute(2027, m, d, h, min), cal_.zone());
  }
  calendar::WorkingCalendar cal_;
  DeadlinePolicy policy_;
};

TEST_F(DeadlineTest, FeedbackDueTwoWorkingDaysAfterTheRound) {
  EXPECT_EQ(FeedbackDue(cal_, policy_, At(3, 3, 15)), At(3, 6, 0));   // Wed → end of Fri
  EXPECT_EQ(FeedbackDue(cal_, policy_, At(3, 4, 15)), At(3, 9, 0));   // Thu → end of Mon
  EXPECT_EQ(FeedbackDue(cal_, policy_, At(3, 6, 10)), At(3, 10, 0));  // Sat → end of Tue
  // Across National Day: Thu 30 Sep → Fri 8 Oct, make-up Sat 9 Oct.
  EXPECT_EQ(FeedbackDue(cal_, policy_, At(9, 30, 16)), At(10, 10, 0));
}

TEST_F(DeadlineTest, DeliveryDeadlineByUrgency) {
  const absl::Time fri = At(3, 5, 11);
  EXPECT_EQ(DeliveryDeadline(cal_, policy_, fri, pb::EXTRA_URGENT), At(3, 9, 0));  // Mon
  EXPECT_EQ(DeliveryDeadline(cal_, policy_, fri, pb::URGENT), At(3, 11, 0));       // Wed
  EXPECT_EQ(DeliveryDeadline(cal_, policy_, fri, pb::NORMAL), At(3, 20, 0));       // Fri week after
  DeadlinePolicy fast = policy_;
  fast.normal_days = 5;
  EXPECT_EQ(DeliveryDeadline(cal_, fast, fri, pb::NORMAL), At(3, 13, 0));
  EXPECT_EQ(DeliveryDeadline(cal_, policy_, At(9, 30, 9), pb::URGENT), At(10, 12, 0));
}

TEST_F(DeadlineTest, DelayNoticeAtLeastTwoWorkingDaysBefore) {
  const absl::Time deadline = At(3, 13, 0);  // end of Friday 12 March
  EXPECT_FALSE(DelayNoticeLate(cal_, policy_, At(3, 10, 23, 59), deadline));  // Wednesday
  EXPECT_TRUE(DelayNoticeLate(cal_, policy_, At(3, 11, 8), deadline));        // Thursday
  // Deadline Monday 15 March: the notice is due by Thursday 11 March.
  EXPECT_FALSE(DelayNoticeLate(cal_, policy_, At(3, 11, 17), At(3, 16, 0)));
  EXPECT_TRUE(DelayNoticeLate(cal_, policy_, At(3, 12, 9), At(3, 16, 0)));
  // Across National Day: deadline end of Mon 11 Oct → notice by Fri 8 Oct.
  EXPECT_FALSE(DelayNoticeLate(cal_, policy_, At(10, 8, 12), At(10, 12, 0)));
  EXPECT_TRUE(DelayNoticeLate(cal_, policy_, At(10, 9, 12), At(10, 12, 0)));
}

TEST_F(DeadlineTest, RevisitTwoMonthsAfterDelivery) {
  EXPECT_EQ(RevisitDue(cal_, policy_, At(3, 5, 10)), At(5, 5, 10));
  EXPECT_EQ(RevisitDue(cal_, policy_, At(12, 31, 10)),
            absl::FromCivil(absl::CivilMinute(2028, 2, 29, 10, 0), cal_.zone()));
}

TEST(AccessTest, ScopesByRole) {
  auth::Principal mgr{"mgr-li", auth::Role::kManager, "east"};
  auth::Principal sup{"sup-wang", auth::Role::kSupervisor, "east"};
  auth::Principal admin{"root", auth::Role::kAdmin, ""};
  EXPECT_TRUE(InScope(ScopeFor(mgr), "mgr-li", "east"));
  EXPECT_FALSE(InScope(ScopeFor(mgr), "mgr-zhao", "east"));
  EXPECT_TRUE(InScope(ScopeFor(sup), "mgr-zhao", "east"));
  EXPECT_FALSE(InScope(ScopeFor(sup), "mgr-chen", "west"));
  EXPECT_TRUE(InScope(ScopeFor(admin), "mgr-chen", "west"));
  EXPECT_TRUE(IsSupervisorOf(sup, "east"));
  EXPECT_FALSE(IsSupervisorOf(sup, "west"));
  EXPECT_FALSE(IsSupervisorOf(mgr, "east"));
  EXPECT_TRUE(IsSupervisorOf(admin, "west"));
}

TEST(ValidationTest, NamesEveryBadField) {
  pb::Opportunity o;
  o.set_customer("customer/1");
  o.set_win_probability(140);
  Violations v;
  ValidateOpportunity(o, "opportunity.", v);
  const absl::Status s = v.ToStatus();
  EXPECT_THAT(s, HasFieldViolation("opportunity.customer"));
  EXPECT_THAT(s, HasFieldViolation("opportunity.type"));
  EXPECT_THAT(s, HasFieldViolation("opportunity.title"));
  EXPECT_THAT(s, HasFieldViolation("opportunity.amount"));
  EXPECT_THAT(s, HasFieldViolation("opportunity.win_probability"));

  pb::Product wealth;
  wealth.set_code("WM-1");
  wealth.set_display_name("稳健理财");
  wealth.set_category(pb::WEALTH);
  Violations pv;
  ValidateProduct(wealth, "product.", pv);
  EXPECT_THAT(pv.ToStatus(), HasFieldViolation("product.risk_level"));
}

TEST(ReassignmentTest, OpenMeansWorkStillToDo) {
  pb::Need need;
  need.set_status(pb::IN_PROGRESS);
  EXPECT_TRUE(NeedOpen(need));
  need.set_status(pb::FULFILLED);
  EXPECT_FALSE(NeedOpen(need));
  pb::Opportunity o;
  o.set_state(pb::OPPORTUNITY_OPEN);
  EXPECT_TRUE(OpportunityOpen(o));
  o.set_state(pb::WON);
  EXPECT_FALSE(OpportunityOpen(o));
  pb::Proposal p;
  p.set_status(pb::PRESENTED);
  EXPECT_TRUE(ProposalOpen(p));
  for (pb::ProposalStatus closed : {pb::ACCEPTED, pb::PROPOSAL_DECLINED, pb::REJECTED}) {
    p.set_status(closed);
    EXPECT_FALSE(ProposalOpen(p));
  }
  pb::NegotiationRound r;
  EXPECT_TRUE(NegotiationRoundOpen(r));
  r.mutable_end_time()->set_seconds(1);
  EXPECT_TRUE(NegotiationRoundOpen(r));  // feedback outstanding
  r.mutable_feedback_time()->set_seconds(2);
  EXPECT_FALSE(NegotiationRoundOpen(r));
  pb::Contract k;
  k.set_status(pb::DELIVERED);
  EXPECT_TRUE(ContractOpen(k));  // revisit outstanding
  k.mutable_revisit_time()->set_seconds(3);
  EXPECT_FALSE(ContractOpen(k));
  pb::LoanApplication l;
  EXPECT_TRUE(LoanApplicationOpen(l));
  l.set_decision(pb::LOAN_APPROVED);
  EXPECT_TRUE(LoanApplicationOpen(l));
  l.set_decision(pb::LOAN_REJECTED);
  EXPECT_FALSE(LoanApplicationOpen(l));
}

}  // namespace
}  // namespace crm::opportunities
