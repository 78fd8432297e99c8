// End to end: the real crm-customers, crm-opportunities, crm-complaints and
// crm-scheduling binaries, each with its own database, configured by
// environment and spoken to over gRPC (one read-only look at the scheduling
// database, see ProjectionKnows). The scheduling service follows the other
// three event feeds and turns closed complaints, ended negotiation rounds,
// signed and delivered contracts into tasks (SCH-9): exactly one task per
// source event, also when it is killed in the middle and events pile up
// while it is down; the events that settle a task close it; the owner and
// the team's supervisor see the tasks, nobody else (GW-2); and a booking
// looks the customer up in the customers service with the caller's token.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db/pool.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "common/testing/status_matchers.h"
#include "common/util/proto_time.h"
#include "crm/complaints/v1/complaints.grpc.pb.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "crm/events/v1/events.grpc.pb.h"
#include "crm/opportunities/v1/opportunities.grpc.pb.h"
#include "crm/scheduling/v1/events.pb.h"
#include "crm/scheduling/v1/scheduling.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"

namespace crm {
namespace {

namespace cpb = ::crm::customers::v1;
namespace opb = ::crm::opportunities::v1;
namespace kpb = ::crm::complaints::v1;
namespace spb = ::crm::scheduling::v1;
using crm::testing::E2eContext;
using crm::testing::IsOk;
using crm::testing::ServiceProcess;
using crm::testing::ServiceSuite;
using crm::testing::StatusIs;
using ::testing::HasSubstr;

const auth::Principal kOwner{"mgr-owner", auth::Role::kManager, "east"};
const auth::Principal kOther{"mgr-other", auth::Role::kManager, "east"};
const auth::Principal kSupervisor{"sup-east", auth::Role::kSupervisor, "east"};
const auth::Principal kOtherSupervisor{"sup-west", auth::Role::kSupervisor, "west"};
const auth::Principal kAdmin{"admin", auth::Role::kAdmin, ""};
const auth::Principal kService{"svc-e2e", auth::Role::kService, ""};

constexpr char kAddress[] = "上海市浦东新区世纪大道 100 号";
constexpr double kLatitude = 31.2353, kLongitude = 121.5055;

// Polls `done` until it holds or `timeout` passes (waits on a condition,
// not on time: each poll is a real round trip).
bool Eventually(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(60)) {
  const absl::Time until = absl::Now() + timeout;
  while (absl::Now() < until) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

// One unary call as `as` on a fresh stub of `channel`.
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> Call(const std::shared_ptr<grpc::Channel>& channel,
                              grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                              const std::type_identity_t<Request>& request, const auth::Principal& as) {
  Stub stub(channel);
  Response out;
  const grpc::Status s = (stub.*rpc)(E2eContext(as).get(), request, &out);
  if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  return out;
}

type::v1::Money Cny(int64_t units) {
  type::v1::Money m;
  m.set_currency_code("CNY");
  m.set_units(units);
  return m;
}

// The task the scheduling service must hold for one source event.
struct WantedTask {
  std::string source;
  spb::TaskKind kind;
  spb::TaskState state;
  // The due time the event carries; unset for the delivery notice, whose
  // due time the scheduling service derives from the delivery deadline.
  std::optional<absl::Time> due;
  std::optional<absl::Time> delivery_deadline;
};

std::string Describe(const WantedTask& w) {
  return absl::StrCat(spb::TaskKind_Name(w.kind), " from ", w.source, " (", spb::TaskState_Name(w.state), ")");
}

class SchedulingProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // With the HS256 key in its environment the scheduling service mints
    // its own SERVICE token for the feeds (no --service_token_file).
    auto suite = ServiceSuite::Create({.binaries = {CRM_CUSTOMERS_BINARY, CRM_OPPORTUNITIES_BINARY,
                                                    CRM_COMPLAINTS_BINARY, CRM_SCHEDULING_BINARY, /*gateway=*/""}});
    ASSERT_THAT(suite, IsOk());
    suite_ = *std::move(suite);
    ASSERT_THAT(suite_->Start(), IsOk());
    customers_ = &suite_->customers();
    opportunities_ = &suite_->opportunities();
    complaints_ = &suite_->complaints();
    scheduling_ = &suite_->scheduling();
  }

  // ---- customers

  std::string NewCustomer() {
    cpb::CreateCustomerRequest req;
    req.mutable_customer()->set_kind(cpb::INDIVIDUAL);
    req.mutable_customer()->set_display_name("排程客户");
    req.mutable_customer()->set_address(kAddress);
    req.mutable_customer()->mutable_location()->set_latitude(kLatitude);
    req.mutable_customer()->mutable_location()->set_longitude(kLongitude);
    auto created = Call(customers_->channel(), &cpb::CustomerService::Stub::CreateCustomer, req, kOwner);
    EXPECT_THAT(created, IsOk());
    if (!created.ok()) return "";
    EXPECT_EQ(created->owner(), kOwner.subject);
    EXPECT_EQ(created->team(), kOwner.team);
    return created->name();
  }

  // ---- complaints (CMP-7: closing opens the revisit)

  // Records a complaint and takes it to RESOLVED: answered, resolution
  // proposed and accepted by the customer.
  kpb::Complaint ResolvedComplaint(const std::string& customer) {
    using Stub = kpb::ComplaintService::Stub;
    const auto& ch = complaints_->channel();
    kpb::RecordComplaintRequest record;
    record.mutable_complaint()->set_customer(customer);
    record.mutable_complaint()->set_channel(kpb::HALL);
    record.mutable_complaint()->set_category(kpb::TARIFF);
    record.mutable_complaint()->set_statement("账单多扣费");
    auto c = Call(ch, &Stub::RecordComplaint, record, kOwner);
    EXPECT_THAT(c, IsOk());
    if (!c.ok()) return {};
    kpb::RespondToComplaintRequest respond;
    respond.set_name(c->name());
    respond.set_response("已联系客户核实");
    EXPECT_THAT(Call(ch, &Stub::RespondToComplaint, respond, kOwner), IsOk());
    kpb::ProposeResolutionRequest propose;
    propose.set_name(c->name());
    propose.set_resolution("退还多扣费用");
    EXPECT_THAT(Call(ch, &Stub::ProposeResolution, propose, kOwner), IsOk());
    kpb::RecordCustomerDecisionRequest accept;
    accept.set_name(c->name());
    accept.set_accepted(true);
    auto resolved = Call(ch, &Stub::RecordCustomerDecision, accept, kOwner);
    EXPECT_THAT(resolved, IsOk());
    if (!resolved.ok()) return {};
    EXPECT_EQ(resolved->status(), kpb::RESOLVED);
    return *resolved;
  }

  // Closes it (event ComplaintClosed, with the revisit due time).
  kpb::Complaint Close(const kpb::Complaint& resolved) {
    kpb::CloseComplaintRequest close;
    close.set_name(resolved.name());
    auto closed = Call(complaints_->channel(), &kpb::ComplaintService::Stub::CloseComplaint, close, kOwner);
    EXPECT_THAT(closed, IsOk());
    if (!closed.ok()) return {};
    EXPECT_EQ(closed->status(), kpb::CLOSED);
    EXPECT_TRUE(closed->has_revisit_due_time());
    EXPECT_EQ(closed->owner(), kOwner.subject);
    return *closed;
  }

  // ---- opportunities (OPP-6, OPP-8, OPP-9)

  std::string NewOpportunity(const std::string& customer) {
    opb::CreateOpportunityRequest req;
    req.mutable_opportunity()->set_customer(customer);
    req.mutable_opportunity()->set_type(opb::INFO_SOLUTION);
    req.mutable_opportunity()->set_title("园区 5G 专网");
    *req.mutable_opportunity()->mutable_amount() = Cny(480000);
    auto o = Call(opportunities_->channel(), &opb::OpportunityService::Stub::CreateOpportunity, req, kOwner);
    EXPECT_THAT(o, IsOk());
    return o.ok() ? o->name() : "";
  }

  // A negotiation round of `opportunity`, started and ended now (event
  // NegotiationEnded, feedback due 2 working days later).
  opb::NegotiationRound EndedRound(const std::string& opportunity) {
    using Stub = opb::OpportunityService::Stub;
    opb::CreateNegotiationRoundRequest create;
    create.set_parent(opportunity);
    create.mutable_round()->set_subject("价格谈判");
    auto round = Call(opportunities_->channel(), &Stub::CreateNegotiationRound, create, kOwner);
    EXPECT_THAT(round, IsOk());
    if (!round.ok()) return {};
    opb::EndNegotiationRoundRequest end;
    end.set_name(round->name());
    end.set_outcome("客户要求再降 5%");
    auto ended = Call(opportunities_->channel(), &Stub::EndNegotiationRound, end, kOwner);
    EXPECT_THAT(ended, IsOk());
    if (!ended.ok()) return {};
    EXPECT_TRUE(ended->has_feedback_due_time());
    return *ended;
  }

  // A contract on a proposal the customer accepted (event ContractSigned).
  opb::Contract SignedContract(const std::string& opportunity) {
    using Stub = opb::OpportunityService::Stub;
    const auto& ch = opportunities_->channel();
    opb::CreateProductRequest product_req;
    product_req.mutable_product()->set_code(absl::StrCat("SCH-E2E-", absl::ToUnixNanos(absl::Now())));
    product_req.mutable_product()->set_display_name("云专线 100M");
    product_req.mutable_product()->set_category(opb::INFO_SOLUTION);
    product_req.mutable_product()->set_manager_discount_limit(10);
    auto product = Call(ch, &Stub::CreateProduct, product_req, kAdmin);
    EXPECT_THAT(product, IsOk());
    if (!product.ok()) return {};

    opb::CreateProposalRequest proposal_req;
    proposal_req.set_parent(opportunity);
    opb::Proposal& draft = *proposal_req.mutable_proposal();
    draft.set_title("信息化方案");
    opb::LineItem* item = draft.add_line_items();
    item->set_product(product->name());
    item->set_quantity(1);
    *item->mutable_unit_price() = Cny(1000);
    *draft.mutable_value_statement()->mutable_cost_reduction() = Cny(2000);  // benefit ≥ 1.5 × cost (OPP-4)
    draft.mutable_value_statement()->set_image("数字化标杆");
    opb::CompetitorComparison* rival = draft.add_competitor_comparisons();
    rival->set_competitor("友商");
    *rival->mutable_their_price() = Cny(999);
    auto proposal = Call(ch, &Stub::CreateProposal, proposal_req, kOwner);
    EXPECT_THAT(proposal, IsOk());
    if (!proposal.ok()) return {};
    opb::SubmitProposalRequest submit;
    submit.set_name(proposal->name());
    EXPECT_THAT(Call(ch, &Stub::SubmitProposal, submit, kOwner), IsOk());
    opb::ApproveProposalRequest approve;
    approve.set_name(proposal->name());
    EXPECT_THAT(Call(ch, &Stub::ApproveProposal, approve, kSupervisor), IsOk());
    opb::PresentProposalRequest present;
    present.set_name(proposal->name());
    EXPECT_THAT(Call(ch, &Stub::PresentProposal, present, kOwner), IsOk());
    opb::RecordProposalOutcomeRequest accept;
    accept.set_name(proposal->name());
    accept.set_accepted(true);
    EXPECT_THAT(Call(ch, &Stub::RecordProposalOutcome, accept, kOwner), IsOk());

    opb::CreateContractRequest contract_req;
    contract_req.set_parent(opportunity);
    contract_req.mutable_contract()->set_proposal(proposal->name());
    contract_req.mutable_contract()->set_title("云专线合同");
    *contract_req.mutable_contract()->mutable_amount() = Cny(1000);
    contract_req.mutable_contract()->set_urgency(opb::URGENT);
    auto contract = Call(ch, &Stub::CreateContract, contract_req, kOwner);
    EXPECT_THAT(contract, IsOk());
    if (!contract.ok()) return {};
    EXPECT_EQ(contract->status(), opb::SIGNED);
    EXPECT_TRUE(contract->has_delivery_deadline());
    return *contract;
  }

  // Delivers it (event ContractDelivered, with the revisit due time).
  opb::Contract Delivered(const opb::Contract& contract) {
    using Stub = opb::OpportunityService::Stub;
    opb::StartDeliveryRequest start;
    start.set_name(contract.name());
    EXPECT_THAT(Call(opportunities_->channel(), &Stub::StartDelivery, start, kOwner), IsOk());
    opb::CompleteDeliveryRequest complete;
    complete.set_name(contract.name());
    auto delivered = Call(opportunities_->channel(), &Stub::CompleteDelivery, complete, kOwner);
    EXPECT_THAT(delivered, IsOk());
    if (!delivered.ok()) return {};
    EXPECT_EQ(delivered->status(), opb::DELIVERED);
    EXPECT_TRUE(delivered->has_revisit_due_time());
    return *delivered;
  }

  // ---- scheduling

  // The scheduling service copies the team of a task made from an
  // opportunities event (which names no team) from its care projection when
  // it applies the event, and never fills it in later; the projection comes
  // from the customers feed, which is not ordered against the others. So
  // that the teams do not depend on that race, events are made once the
  // projection knows the customer. No public API shows the projection,
  // hence this read-only look at its table.
  bool ProjectionKnows(const std::string& customer) {
    if (scheduling_db_ == nullptr) scheduling_db_ = std::make_unique<db::ConnectionPool>(scheduling_->database());
    auto n = db::WithConnection(*scheduling_db_, absl::Now() + absl::Seconds(10),
                                [&](sql::Connection& conn) -> absl::StatusOr<int64_t> {
                                  auto rs = db::Query(conn,
                                                      "SELECT COUNT(*) FROM care_customers "
                                                      "WHERE customer = ? AND owner = ? AND team = ?",
                                                      customer, kOwner.subject, kOwner.team);
                                  return rs->next() ? rs->getInt64(1) : 0;
                                });
    return n.ok() && *n == 1;
  }

  // Every task `as` sees with the filter of `req`, page by page.
  absl::StatusOr<std::vector<spb::Task>> Tasks(const auth::Principal& as, spb::ListTasksRequest req = {}) {
    std::vector<spb::Task> out;
    req.set_page_size(7);  // small pages: the paging is part of what is read
    while (true) {
      auto page = Call(scheduling_->channel(), &spb::SchedulingService::Stub::ListTasks, req, as);
      if (!page.ok()) return page.status();
      for (const spb::Task& t : page->tasks()) out.push_back(t);
      if (page->next_page_token().empty()) return out;
      req.set_page_token(page->next_page_token());
    }
  }

  absl::StatusOr<std::vector<spb::Task>> TasksFrom(const std::string& source, const auth::Principal& as) {
    spb::ListTasksRequest req;
    req.set_source(source);
    return Tasks(as, req);
  }

  // True once every wanted task is there in its wanted state.
  bool AllThere(const std::vector<WantedTask>& wanted) {
    auto tasks = Tasks(kOwner);
    if (!tasks.ok()) return false;
    for (const WantedTask& w : wanted) {
      bool found = false;
      for (const spb::Task& t : *tasks) found |= t.source() == w.source && t.kind() == w.kind && t.state() == w.state;
      if (!found) return false;
    }
    return true;
  }

  // Exactly one task per source event, each as wanted, and nothing else.
  void ExpectExactly(const std::vector<WantedTask>& wanted, const std::string& customer) {
    std::map<std::string, std::multiset<spb::TaskKind>> kinds_by_source;
    for (const WantedTask& w : wanted) kinds_by_source[w.source].insert(w.kind);
    for (const auto& [source, kinds] : kinds_by_source) {
      auto from = TasksFrom(source, kOwner);
      ASSERT_THAT(from, IsOk());
      std::multiset<spb::TaskKind> seen;
      for (const spb::Task& t : *from) {
        EXPECT_EQ(t.source(), source);
        seen.insert(t.kind());
      }
      EXPECT_EQ(seen, kinds) << "tasks from " << source;
    }
    auto all = Tasks(kOwner);
    ASSERT_THAT(all, IsOk());
    EXPECT_EQ(all->size(), wanted.size()) << "no task without a source event";

    for (const WantedTask& w : wanted) {
      SCOPED_TRACE(Describe(w));
      const spb::Task* task = nullptr;
      for (const spb::Task& t : *all) {
        if (t.source() == w.source && t.kind() == w.kind) task = &t;
      }
      ASSERT_NE(task, nullptr);
      EXPECT_EQ(task->state(), w.state);
      EXPECT_EQ(task->customer(), customer);
      EXPECT_EQ(task->owner(), kOwner.subject);
      EXPECT_EQ(task->team(), kOwner.team);
      EXPECT_FALSE(task->title().empty());
      if (w.due) {
        EXPECT_EQ(FromProto(task->due_time()), *w.due);
      }
      if (w.delivery_deadline) {
        // OPP-8: the notice is due 2 working days before the deadline, at
        // its time of day: 2 to 4 calendar days earlier (a weekend between).
        const absl::Duration lead = *w.delivery_deadline - FromProto(task->due_time());
        EXPECT_EQ(lead % absl::Hours(24), absl::ZeroDuration());
        EXPECT_GE(lead, absl::Hours(48));
        EXPECT_LE(lead, absl::Hours(96));
      }
      if (w.state == spb::TASK_DONE) {
        EXPECT_TRUE(task->has_done_time());
        EXPECT_FALSE(task->resolution().empty());
        EXPECT_FALSE(task->overdue());
      }
      auto got = Call(scheduling_->channel(), &spb::SchedulingService::Stub::GetTask,
                      [&] {
                        spb::GetTaskRequest g;
                        g.set_name(task->name());
                        return g;
                      }(),
                      kOwner);
      ASSERT_THAT(got, IsOk());
      EXPECT_EQ(got->etag(), task->etag());
    }
  }

  // The scheduling service's own feed, from the start.
  std::vector<events::v1::Event> SchedulingFeed() {
    std::vector<events::v1::Event> out;
    events::v1::ListEventsRequest req;
    req.set_page_size(1000);
    while (true) {
      auto page = Call(scheduling_->channel(), &events::v1::EventFeed::Stub::ListEvents, req, kService);
      EXPECT_THAT(page, IsOk());
      if (!page.ok() || page->events().empty()) return out;
      for (const auto& e : page->events()) out.push_back(e);
      req.set_after_sequence(out.back().sequence());
    }
  }

  std::unique_ptr<ServiceSuite> suite_;
  ServiceProcess *customers_ = nullptr, *opportunities_ = nullptr, *complaints_ = nullptr, *scheduling_ = nullptr;
  std::unique_ptr<db::ConnectionPool> scheduling_db_;
};

TEST_F(SchedulingProcessTest, EachSourceEventMakesOneTaskAcrossACrashOnlyForItsOwner) {
  const std::string customer = NewCustomer();
  ASSERT_FALSE(customer.empty());
  const std::string opportunity = NewOpportunity(customer);
  ASSERT_FALSE(opportunity.empty());
  ASSERT_TRUE(Eventually([&] { return ProjectionKnows(customer); })) << scheduling_->Log();

  // ---- 1. Events while the scheduling service runs.
  const kpb::Complaint c1 = Close(ResolvedComplaint(customer));
  const opb::NegotiationRound r1 = EndedRound(opportunity);
  const opb::Contract k1_signed = SignedContract(opportunity);
  const opb::Contract k1 = Delivered(k1_signed);
  ASSERT_FALSE(HasFailure()) << "the events could not be made";

  std::vector<WantedTask> wanted = {
      {c1.name(), spb::COMPLAINT_REVISIT, spb::TASK_OPEN, FromProto(c1.revisit_due_time()), {}},
      {r1.name(), spb::NEGOTIATION_FEEDBACK, spb::TASK_OPEN, FromProto(r1.feedback_due_time()), {}},
      // Delivered: the delivery notice is settled, the after-sales revisit opens.
      {k1.name(), spb::DELIVERY_NOTICE, spb::TASK_DONE, {}, FromProto(k1_signed.delivery_deadline())},
      {k1.name(), spb::AFTER_SALES_REVISIT, spb::TASK_OPEN, FromProto(k1.revisit_due_time()), {}},
  };
  ASSERT_TRUE(Eventually([&] { return AllThere(wanted); })) << scheduling_->Log();
  ExpectExactly(wanted, customer);

  // ---- 2. Killed in the middle: a complaint closes as the process dies
  // (its event may or may not have been applied), more happens while it is
  // down, and it comes back on the same database.
  const kpb::Complaint c2_resolved = ResolvedComplaint(customer);
  const opb::Contract k2_signed = SignedContract(NewOpportunity(customer));
  const kpb::Complaint c3_resolved = ResolvedComplaint(customer);
  ASSERT_FALSE(c2_resolved.name().empty() || k2_signed.name().empty() || c3_resolved.name().empty());
  const kpb::Complaint c2 = Close(c2_resolved);
  const std::optional<int> killed = scheduling_->Stop(SIGKILL);
  ASSERT_TRUE(killed.has_value());
  EXPECT_TRUE(WIFSIGNALED(*killed) && WTERMSIG(*killed) == SIGKILL);

  const kpb::Complaint c3 = Close(c3_resolved);
  const opb::Contract k2 = Delivered(k2_signed);
  const opb::NegotiationRound r2 = EndedRound(opportunity);
  kpb::RecordRevisitRequest revisit;  // closes c1's revisit task
  revisit.set_name(c1.name());
  revisit.set_satisfaction(5);
  revisit.set_comment("客户满意");
  auto revisited = Call(complaints_->channel(), &kpb::ComplaintService::Stub::RecordRevisit, revisit, kOwner);
  ASSERT_THAT(revisited, IsOk());
  EXPECT_EQ(revisited->status(), kpb::REVISITED);
  ASSERT_FALSE(c2.name().empty() || c3.name().empty() || k2.name().empty() || r2.name().empty())
      << "the events could not be made";

  ASSERT_TRUE(scheduling_->Start().ok()) << scheduling_->Log();
  wanted[0].state = spb::TASK_DONE;
  wanted.push_back({c2.name(), spb::COMPLAINT_REVISIT, spb::TASK_OPEN, FromProto(c2.revisit_due_time()), {}});
  wanted.push_back({c3.name(), spb::COMPLAINT_REVISIT, spb::TASK_OPEN, FromProto(c3.revisit_due_time()), {}});
  wanted.push_back({k2.name(), spb::DELIVERY_NOTICE, spb::TASK_DONE, {}, FromProto(k2_signed.delivery_deadline())});
  wanted.push_back({k2.name(), spb::AFTER_SALES_REVISIT, spb::TASK_OPEN, FromProto(k2.revisit_due_time()), {}});
  wanted.push_back({r2.name(), spb::NEGOTIATION_FEEDBACK, spb::TASK_OPEN, FromProto(r2.feedback_due_time()), {}});
  ASSERT_TRUE(Eventually([&] { return AllThere(wanted); })) << scheduling_->Log();
  ExpectExactly(wanted, customer);

  auto c1_tasks = TasksFrom(c1.name(), kOwner);
  ASSERT_THAT(c1_tasks, IsOk());
  ASSERT_EQ(c1_tasks->size(), 1u);
  EXPECT_EQ(c1_tasks->front().state(), spb::TASK_DONE);
  EXPECT_EQ(c1_tasks->front().resolution(), "revisit recorded");

  // The scheduling service announced each task once, and each closing once.
  std::map<std::string, int> created, completed;
  std::set<std::string> names;
  for (const auto& e : SchedulingFeed()) {
    spb::TaskCreated c;
    spb::TaskCompleted d;
    if (e.payload().UnpackTo(&c)) {
      ++created[absl::StrCat(c.source(), " ", c.kind())];
      names.insert(c.task());
      EXPECT_EQ(c.customer(), customer);
      EXPECT_EQ(c.owner(), kOwner.subject);
    } else if (e.payload().UnpackTo(&d)) {
      ++completed[d.task()];
    }
  }
  EXPECT_EQ(created.size(), wanted.size());
  for (const WantedTask& w : wanted) {
    EXPECT_EQ(created[absl::StrCat(w.source, " ", spb::TaskKind_Name(w.kind))], 1) << Describe(w);
  }
  EXPECT_EQ(names.size(), wanted.size());
  EXPECT_EQ(completed.size(), 3u);  // c1's revisit, k1's and k2's delivery notices
  for (const auto& [task, n] : completed) EXPECT_EQ(n, 1) << task;

  // ---- 3. Row-level access (GW-2): the team's supervisor sees every task;
  // another manager of the same team and another team's supervisor see none.
  auto team_view = Tasks(kSupervisor);
  ASSERT_THAT(team_view, IsOk());
  EXPECT_EQ(team_view->size(), wanted.size());
  auto west = Tasks(kOtherSupervisor);
  ASSERT_THAT(west, IsOk());
  EXPECT_TRUE(west->empty());
  auto others = Tasks(kOther);
  ASSERT_THAT(others, IsOk());
  EXPECT_TRUE(others->empty());
  for (const WantedTask& w : wanted) {
    auto from = TasksFrom(w.source, kOther);
    ASSERT_THAT(from, IsOk());
    EXPECT_TRUE(from->empty()) << w.source;
  }
  spb::ListTasksRequest by_owner;
  by_owner.set_owner(kOwner.subject);
  auto asked_by_owner = Tasks(kOther, by_owner);
  ASSERT_THAT(asked_by_owner, IsOk());
  EXPECT_TRUE(asked_by_owner->empty());
  for (const std::string& name : names) {
    spb::GetTaskRequest get;
    get.set_name(name);
    EXPECT_THAT(Call(scheduling_->channel(), &spb::SchedulingService::Stub::GetTask, get, kOther),
                StatusIs(absl::StatusCode::kNotFound))
        << name;
  }

  // ---- 4. Bookings: place and location come from the customers service,
  // asked with the caller's token; the manager cannot be in two places.
  const absl::Time start = absl::FromUnixSeconds((absl::ToUnixSeconds(absl::Now()) / 3600 + 48) * 3600);
  spb::BookVisitRequest book;
  book.mutable_visit()->set_customer(customer);
  book.mutable_visit()->set_purpose(spb::COURTESY);
  ToProto(start, book.mutable_visit()->mutable_start_time());
  ToProto(start + absl::Hours(1), book.mutable_visit()->mutable_end_time());
  auto visit = Call(scheduling_->channel(), &spb::SchedulingService::Stub::BookVisit, book, kOwner);
  ASSERT_THAT(visit, IsOk());
  EXPECT_EQ(visit->customer(), customer);
  EXPECT_EQ(visit->owner(), kOwner.subject);
  EXPECT_EQ(visit->team(), kOwner.team);
  EXPECT_EQ(visit->status(), spb::PLANNED);
  EXPECT_EQ(visit->place(), kAddress);
  EXPECT_DOUBLE_EQ(visit->location().latitude(), kLatitude);
  EXPECT_DOUBLE_EQ(visit->location().longitude(), kLongitude);

  // The customers service does not show the customer to another manager.
  EXPECT_THAT(Call(scheduling_->channel(), &spb::SchedulingService::Stub::BookVisit, book, kOther),
              StatusIs(absl::StatusCode::kNotFound));

  spb::BookVisitRequest overlapping = book;
  ToProto(start + absl::Minutes(30), overlapping.mutable_visit()->mutable_start_time());
  ToProto(start + absl::Minutes(90), overlapping.mutable_visit()->mutable_end_time());
  EXPECT_THAT(Call(scheduling_->channel(), &spb::SchedulingService::Stub::BookVisit, overlapping, kOwner),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(visit->name())));
  spb::ListVisitsRequest list;
  auto visits = Call(scheduling_->channel(), &spb::SchedulingService::Stub::ListVisits, list, kOwner);
  ASSERT_THAT(visits, IsOk());
  ASSERT_EQ(visits->visits_size(), 1);
  EXPECT_EQ(visits->visits(0).name(), visit->name());

  // ---- 5. A graceful stop ends the feed consumers' long polls and exits 0.
  const std::optional<int> stopped = scheduling_->Stop(SIGTERM);
  ASSERT_TRUE(stopped.has_value());
  EXPECT_TRUE(WIFEXITED(*stopped) && WEXITSTATUS(*stopped) == 0) << *stopped;
}

}  // namespace
}  // namespace crm
