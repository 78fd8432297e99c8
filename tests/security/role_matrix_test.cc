// GW-2 as a matrix, end to end: the four services and the gateway as real
// processes, every call through the gateway's gRPC front. Each cell is one
// role doing one operation on one resource type that a manager (the
// "owner") made; the expected answer of every cell is written out below as
// data (DOMAIN.md GW-2 and the services' READMEs): OK, NOT_FOUND for a row
// the caller may not see, PERMISSION_DENIED for an operation the role may
// not do, and for lists whether the row is listed.
//
// The same run then checks that no secret reached a log or a client: the
// JWT key, the page-token key, the database passwords and every bearer
// token used must not appear in any process's output nor in any error
// message the matrix received.

#include <grpcpp/grpcpp.h>

#include <array>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status/grpc_status.h"
#include "common/testing/status_matchers.h"
#include "common/util/proto_time.h"
#include "crm/complaints/v1/complaints.grpc.pb.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "crm/gateway/v1/gateway.grpc.pb.h"
#include "crm/opportunities/v1/opportunities.grpc.pb.h"
#include "crm/scheduling/v1/scheduling.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"
#include "tests/security/secret_scan.h"

namespace crm {
namespace {

namespace cpb = ::crm::customers::v1;
namespace opb = ::crm::opportunities::v1;
namespace kpb = ::crm::complaints::v1;
namespace spb = ::crm::scheduling::v1;
namespace gw = ::crm::gateway::v1;
using crm::testing::BusinessZone;
using crm::testing::IsOk;
using crm::testing::kAllServices;
using crm::testing::ServiceName;
using crm::testing::ServiceSuite;
using CustomerStub = cpb::CustomerService::Stub;
using OpportunityStub = opb::OpportunityService::Stub;
using ComplaintStub = kpb::ComplaintService::Stub;
using SchedulingStub = spb::SchedulingService::Stub;
using GatewayStub = gw::GatewayService::Stub;

// ---- The roles (columns) ---------------------------------------------------

enum Column { kOwnerCol, kPeerCol, kSupCol, kOtherSupCol, kPhoneCol, kAdminCol, kServiceCol, kColumns };
constexpr const char* kColumnNames[kColumns] = {"owner MANAGER",  "peer MANAGER",  "team SUPERVISOR",
                                                "other SUPERVISOR", "PHONE_MANAGER", "ADMIN",
                                                "SERVICE"};
// The owner is a fresh manager of team east for every cell (so a cell's
// rows never collide with another's: one visit at a time, one expense
// claim a month); the others are fixed.
const auth::Principal kPeer{"mx-peer", auth::Role::kManager, "east"};
const auth::Principal kSupervisor{"mx-sup-east", auth::Role::kSupervisor, "east"};
const auth::Principal kOtherSupervisor{"mx-sup-west", auth::Role::kSupervisor, "west"};
const auth::Principal kPhone{"mx-phone-east", auth::Role::kPhoneManager, "east"};
const auth::Principal kAdmin{"mx-admin", auth::Role::kAdmin, ""};
const auth::Principal kService{"mx-service", auth::Role::kService, ""};

// ---- The expected table ----------------------------------------------------

enum class Want { kOk, kNotFound, kDenied, kListed, kUnlisted, kInvalid };
constexpr Want Y = Want::kOk;        // allowed
constexpr Want N = Want::kNotFound;  // the row is not theirs to see
constexpr Want D = Want::kDenied;    // the role may not do this
constexpr Want L = Want::kListed;    // the list answers and shows the row
constexpr Want H = Want::kUnlisted;  // the list answers without the row
constexpr Want I = Want::kInvalid;   // INVALID_ARGUMENT naming a field the role must give

const char* WantName(Want w) {
  switch (w) {
    case Want::kOk: return "OK";
    case Want::kNotFound: return "NOT_FOUND";
    case Want::kDenied: return "PERMISSION_DENIED";
    case Want::kListed: return "listed";
    case Want::kUnlisted: return "not listed";
    case Want::kInvalid: return "INVALID_ARGUMENT";
  }
  return "?";
}

struct Expectation {
  const char* resource;
  const char* operation;
  // owner, peer, team supervisor, other supervisor, phone manager, admin, service
  std::array<Want, kColumns> want;
};

// "one-to-one customer": the owner's high-value customer (served by the
// manager, CUS-5); "ordinary C customer": a ranked C enterprise of team
// east without the high-value flag, which the team's phone managers serve.
// Everything else hangs off a one-to-one customer of the owner.
const Expectation kExpected[] = {
    //                                         owner peer sup  osup phone admin service
    {"one-to-one customer", "create", {Y, Y, Y, Y, D, Y, Y}},
    {"one-to-one customer", "get", {Y, N, Y, N, N, Y, Y}},
    {"one-to-one customer", "list", {L, H, L, H, H, L, L}},
    {"one-to-one customer", "update", {Y, N, Y, N, N, Y, Y}},
    {"one-to-one customer", "archive", {Y, N, Y, N, D, Y, Y}},
    {"one-to-one customer", "verify", {Y, N, Y, N, N, Y, Y}},
    // Reassigning is the supervisor's (or ADMIN's); moving a customer to
    // another team is ADMIN's: the role is refused before the row is read.
    {"one-to-one customer", "reassign owner", {D, D, Y, N, D, Y, Y}},
    {"one-to-one customer", "move team", {D, D, D, D, D, Y, Y}},
    // GW-3 through the gateway's own view: the customers service decides.
    {"one-to-one customer", "customer 360", {Y, N, Y, N, N, Y, Y}},
    // CUS-4 on demand: ADMIN and SERVICE only.
    {"value tiers", "recompute", {D, D, D, D, D, Y, Y}},
    // GW-4 team dashboards: the team's supervisor, ADMIN, SERVICE.
    {"team report", "data quality of team east", {D, D, Y, D, D, Y, Y}},
    {"ordinary C customer", "get", {Y, N, Y, N, Y, Y, Y}},
    {"ordinary C customer", "list", {L, H, L, H, L, L, L}},
    {"ordinary C customer", "update", {Y, N, Y, N, Y, Y, Y}},
    {"ordinary C customer", "archive", {Y, N, Y, N, D, Y, Y}},
    // The team's phone managers serve these customers (CUS-5): their
    // contacts, complaints taken by phone (CMP-2) and care calls (SCH-5).
    {"ordinary C customer", "create contact", {Y, N, Y, N, Y, Y, Y}},
    {"ordinary C customer", "get contact", {Y, N, Y, N, Y, Y, Y}},
    {"ordinary C customer", "record complaint", {Y, N, Y, N, Y, Y, D}},
    {"ordinary C customer", "record care", {Y, N, Y, N, Y, Y, D}},
    // Opportunities are the owning manager's pipeline: rows there follow
    // owner and team, so a phone manager may see the customer yet not open
    // one (the role is refused, the customer is not hidden).
    {"ordinary C customer", "create opportunity", {Y, N, Y, N, D, Y, Y}},
    {"contact", "create", {Y, N, Y, N, N, Y, Y}},
    {"contact", "get", {Y, N, Y, N, N, Y, Y}},
    {"contact", "list", {L, N, L, N, N, L, L}},
    {"contact", "update", {Y, N, Y, N, N, Y, Y}},
    {"contact", "delete", {Y, N, Y, N, N, Y, Y}},
    {"opportunity", "create", {Y, N, Y, N, N, Y, Y}},
    {"opportunity", "get", {Y, N, Y, N, N, Y, Y}},
    {"opportunity", "list", {L, H, L, H, H, L, L}},
    {"opportunity", "update", {Y, N, Y, N, N, Y, Y}},
    {"opportunity", "move stage", {Y, N, Y, N, N, Y, Y}},
    {"proposal", "create", {Y, N, Y, N, N, Y, Y}},
    {"proposal", "get", {Y, N, Y, N, N, Y, Y}},
    {"proposal", "list", {L, N, L, N, N, L, L}},
    {"proposal", "update", {Y, N, Y, N, N, Y, Y}},
    {"proposal", "submit", {Y, N, Y, N, N, Y, Y}},
    // OPP-4: the supervisor of the owner's team approves (or ADMIN).
    {"proposal", "approve", {D, N, Y, N, N, Y, D}},
    {"proposal", "reject", {D, N, Y, N, N, Y, D}},
    // The product catalogue is ADMIN's.
    {"product", "create", {D, D, D, D, D, Y, D}},
    {"contract", "create", {Y, N, Y, N, N, Y, Y}},
    {"contract", "get", {Y, N, Y, N, N, Y, Y}},
    {"contract", "list", {L, N, L, N, N, L, L}},
    {"contract", "start delivery", {Y, N, Y, N, N, Y, Y}},
    // OPP-10: the supervisor decides a loan, after the investigation.
    {"loan application", "create", {Y, N, Y, N, N, Y, Y}},
    {"loan application", "get", {Y, N, Y, N, N, Y, Y}},
    {"loan application", "decide", {D, N, Y, N, N, Y, D}},
    // CMP-2: whoever receives a complaint owns it, so a person records it.
    {"complaint", "record", {Y, N, Y, N, N, Y, D}},
    {"complaint", "get", {Y, N, Y, N, N, Y, Y}},
    {"complaint", "list", {L, H, L, H, H, L, L}},
    {"complaint", "update", {Y, N, Y, N, N, Y, Y}},
    {"complaint", "respond", {Y, N, Y, N, N, Y, Y}},
    // Booked for the owner: a manager books only for themself, a
    // supervisor for the team (SCH-1, scheduling README).
    {"visit", "book", {Y, D, Y, N, D, Y, Y}},
    {"visit", "get", {Y, N, Y, N, N, Y, Y}},
    {"visit", "list", {L, H, L, H, H, L, L}},
    {"visit", "update", {Y, N, Y, N, N, Y, Y}},
    {"visit", "cancel", {Y, N, Y, N, N, Y, Y}},
    {"visit", "complete", {Y, N, Y, N, N, Y, Y}},
    // SCH-4: the supervisor verifies the visit logs.
    {"visit", "verify log", {D, N, Y, N, N, Y, D}},
    // SCH-7 urgent business, taken by a person.
    {"task", "create urgent", {Y, N, Y, N, N, Y, D}},
    {"task", "get", {Y, N, Y, N, N, Y, Y}},
    {"task", "list", {L, H, L, H, H, L, L}},
    {"task", "complete", {Y, N, Y, N, N, Y, Y}},
    // SCH-5: care is given by a person, to a contact they may see.
    {"care record", "record", {Y, N, Y, N, N, Y, D}},
    // SCH-11: a manager's own monthly claim; the team's supervisor decides.
    {"expense claim", "create", {Y, Y, Y, Y, Y, Y, D}},
    {"expense claim", "get", {Y, N, Y, N, N, Y, Y}},
    {"expense claim", "list", {L, H, L, H, H, L, L}},
    // Submitting declares the expenses: only the claimant does (the
    // service's rule; the supervisor decides afterwards).
    {"expense claim", "submit", {Y, N, D, N, N, D, D}},
    {"expense claim", "decide", {D, N, Y, N, N, Y, D}},
};

struct Outcome {
  absl::Status status;
  bool listed = false;
};

bool Matches(Want want, const Outcome& got) {
  switch (want) {
    case Want::kOk: return got.status.ok();
    case Want::kNotFound: return got.status.code() == absl::StatusCode::kNotFound;
    case Want::kDenied: return got.status.code() == absl::StatusCode::kPermissionDenied;
    case Want::kListed: return got.status.ok() && got.listed;
    case Want::kUnlisted: return got.status.ok() && !got.listed;
    case Want::kInvalid: return got.status.code() == absl::StatusCode::kInvalidArgument;
  }
  return false;
}

// GB 32100 check character, so that ordinary C customers can be
// enterprises (only enterprises are ranked).
std::string CreditCode(int serial) {
  static constexpr char kChars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  static constexpr int kWeights[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
  std::string body = absl::StrCat("9135010", 1000000000 + serial);  // 17 characters
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += static_cast<int>(std::string_view(kChars).find(body[i])) * kWeights[i];
  return body + kChars[(31 - sum % 31) % 31];
}

template <typename Row>
bool Lists(const google::protobuf::RepeatedPtrField<Row>& rows, const std::string& name) {
  for (const Row& row : rows) {
    if (row.name() == name) return true;
  }
  return false;
}

class RoleMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto suite = ServiceSuite::Create({.binaries = {CRM_CUSTOMERS_BINARY, CRM_OPPORTUNITIES_BINARY,
                                                    CRM_COMPLAINTS_BINARY, CRM_SCHEDULING_BINARY,
                                                    CRM_GATEWAY_BINARY}});
    ASSERT_THAT(suite, IsOk());
    suite_ = *std::move(suite);
    // Secrets the scan looks for: a page-token key of its own for every
    // process (the JWT key and database passwords are the suite's).
    page_token_key_ = secret_scan::RandomSecret("page-token");
    const std::string key_file = ::testing::TempDir() + "role-matrix-page-token.key";
    ASSERT_TRUE(secret_scan::WriteFile(key_file, page_token_key_));
    files_.push_back(key_file);
    for (crm::testing::Service s : kAllServices) {
      suite_->process(s).env()["CRM_PAGE_TOKEN_KEY_FILE"] = key_file;
    }
    // The matrix makes thousands of calls as few principals.
    suite_->gateway().env()["CRM_RATE_LIMIT_PER_SECOND"] = "100000";
    suite_->gateway().env()["CRM_RATE_LIMIT_BURST"] = "100000";
    ASSERT_THAT(suite_->Start(), IsOk());
    channel_ = suite_->gateway().channel();

    opb::CreateProductRequest product;
    product.mutable_product()->set_code(absl::StrCat("MX-", absl::ToUnixNanos(absl::Now())));
    product.mutable_product()->set_display_name("云专线 100M");
    product.mutable_product()->set_category(opb::INFO_SOLUTION);
    product.mutable_product()->set_manager_discount_limit(10);
    auto created = Call(kAdmin, &OpportunityStub::CreateProduct, product);
    ASSERT_THAT(created, IsOk());
    product_ = created->name();
  }

  void TearDown() override {
    for (const std::string& f : files_) std::remove(f.c_str());
  }

  // One call through the gateway as `who`; every token and error message
  // is remembered for the secret scan.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(const auth::Principal& who,
                                grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                                const std::type_identity_t<Request>& request) {
    const std::string bearer = crm::testing::E2eBearer(who);
    bearers_.insert(bearer);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", bearer);
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    Stub stub(channel_);
    Response out;
    const grpc::Status status = (stub.*rpc)(&ctx, request, &out);
    if (!status.ok()) {
      errors_.push_back(absl::StrCat(status.error_message(), " ", status.error_details()));
      return FromGrpcStatus(status);
    }
    return out;
  }

  // Setup calls must succeed; a failure there is the test's, not a cell's.
  template <typename T>
  T Must(absl::StatusOr<T> result, const char* what) {
    if (!result.ok()) throw std::runtime_error(absl::StrCat(what, ": ", result.status().ToString()));
    return *std::move(result);
  }

  auth::Principal NewOwner() { return {absl::StrCat("mx-owner-", ++owners_), auth::Role::kManager, "east"}; }
  std::string Unique(const char* prefix) { return absl::StrCat(prefix, "-", ++serial_); }

  // ---- Fixtures, made by the owner (or whoever the rules need) ----

  cpb::Customer OneToOneCustomer(const auth::Principal& owner) {
    cpb::CreateCustomerRequest req;
    req.set_request_id(Unique("mx-customer"));
    req.mutable_customer()->set_kind(cpb::INDIVIDUAL);
    req.mutable_customer()->set_display_name(absl::StrCat("矩阵客户 ", serial_));
    req.mutable_customer()->set_high_value(true);
    return Must(Call(owner, &CustomerStub::CreateCustomer, req), "create customer");
  }

  cpb::Customer OrdinaryCCustomer(const auth::Principal& owner) {
    cpb::CreateCustomerRequest req;
    req.set_request_id(Unique("mx-c-customer"));
    req.mutable_customer()->set_kind(cpb::ENTERPRISE);
    req.mutable_customer()->set_display_name(absl::StrCat("矩阵普通企业 ", serial_));
    req.mutable_customer()->set_credit_code(CreditCode(serial_));
    const cpb::Customer created = Must(Call(owner, &CustomerStub::CreateCustomer, req), "create enterprise");
    // Ranked (CUS-4): equal scores tie, and a tie is never split, so every
    // such enterprise is C.
    Must(Call(kAdmin, &CustomerStub::RecomputeTiers, cpb::RecomputeTiersRequest()), "recompute tiers");
    cpb::GetCustomerRequest get;
    get.set_name(created.name());
    cpb::Customer ranked = Must(Call(owner, &CustomerStub::GetCustomer, get), "get enterprise");
    EXPECT_EQ(ranked.tier(), cpb::C) << ranked.ShortDebugString();
    EXPECT_EQ(ranked.service_mode(), cpb::ONE_TO_MANY) << ranked.ShortDebugString();
    return ranked;
  }

  cpb::Contact NewContact(const auth::Principal& who, const std::string& customer,
                          cpb::ContactRole role = cpb::KEY_PERSON) {
    return Must(CreateContact(who, customer, role), "create contact");
  }
  absl::StatusOr<cpb::Contact> CreateContact(const auth::Principal& who, const std::string& customer,
                                             cpb::ContactRole role = cpb::KEY_PERSON) {
    cpb::CreateContactRequest req;
    req.set_parent(customer);
    req.set_request_id(Unique("mx-contact"));
    req.mutable_contact()->set_display_name("王经理");
    req.mutable_contact()->set_role(role);
    req.mutable_contact()->set_phone("13800138000");
    return Call(who, &CustomerStub::CreateContact, req);
  }

  absl::StatusOr<opb::Opportunity> CreateOpportunity(const auth::Principal& who, const std::string& customer) {
    opb::CreateOpportunityRequest req;
    req.mutable_opportunity()->set_customer(customer);
    req.mutable_opportunity()->set_type(opb::INFO_SOLUTION);
    req.mutable_opportunity()->set_title("园区 5G 专网");
    req.mutable_opportunity()->mutable_amount()->set_currency_code("CNY");
    req.mutable_opportunity()->mutable_amount()->set_units(480000);
    return Call(who, &OpportunityStub::CreateOpportunity, req);
  }
  opb::Opportunity NewOpportunity(const auth::Principal& owner) {
    return Must(CreateOpportunity(owner, OneToOneCustomer(owner).name()), "create opportunity");
  }

  absl::StatusOr<opb::Proposal> CreateProposal(const auth::Principal& who, const std::string& opportunity) {
    opb::CreateProposalRequest req;
    req.set_parent(opportunity);
    opb::Proposal& p = *req.mutable_proposal();
    p.set_title("信息化方案");
    opb::LineItem* item = p.add_line_items();
    item->set_product(product_);
    item->set_quantity(1);
    item->mutable_unit_price()->set_currency_code("CNY");
    item->mutable_unit_price()->set_units(1000);
    p.mutable_value_statement()->mutable_cost_reduction()->set_currency_code("CNY");
    p.mutable_value_statement()->mutable_cost_reduction()->set_units(2000);
    return Call(who, &OpportunityStub::CreateProposal, req);
  }
  opb::Proposal NewProposal(const auth::Principal& owner, bool submitted) {
    opb::Proposal p = Must(CreateProposal(owner, NewOpportunity(owner).name()), "create proposal");
    if (!submitted) return p;
    opb::SubmitProposalRequest submit;
    submit.set_name(p.name());
    return Must(Call(owner, &OpportunityStub::SubmitProposal, submit), "submit proposal");
  }
  // A proposal the customer accepted (approved by the team's supervisor,
  // presented): a contract can be signed on it.
  opb::Proposal AcceptedProposal(const auth::Principal& owner) {
    const opb::Proposal p = NewProposal(owner, true);
    opb::ApproveProposalRequest approve;
    approve.set_name(p.name());
    approve.set_reason("价格合理");
    Must(Call(kSupervisor, &OpportunityStub::ApproveProposal, approve), "approve proposal");
    opb::PresentProposalRequest present;
    present.set_name(p.name());
    Must(Call(owner, &OpportunityStub::PresentProposal, present), "present proposal");
    opb::RecordProposalOutcomeRequest outcome;
    outcome.set_name(p.name());
    outcome.set_accepted(true);
    return Must(Call(owner, &OpportunityStub::RecordProposalOutcome, outcome), "accept proposal");
  }
  absl::StatusOr<opb::Contract> CreateContract(const auth::Principal& who, const opb::Proposal& accepted) {
    opb::CreateContractRequest req;
    req.set_parent(accepted.name().substr(0, accepted.name().find("/proposals/")));
    req.set_request_id(Unique("mx-contract"));
    req.mutable_contract()->set_proposal(accepted.name());
    req.mutable_contract()->set_title("专线合同");
    req.mutable_contract()->mutable_amount()->set_currency_code("CNY");
    req.mutable_contract()->mutable_amount()->set_units(1000);
    req.mutable_contract()->set_urgency(opb::NORMAL);
    return Call(who, &OpportunityStub::CreateContract, req);
  }

  absl::StatusOr<kpb::Complaint> RecordComplaint(const auth::Principal& who, const std::string& customer) {
    kpb::RecordComplaintRequest req;
    req.mutable_complaint()->set_customer(customer);
    req.mutable_complaint()->set_channel(kpb::HALL);
    req.mutable_complaint()->set_category(kpb::TARIFF);
    req.mutable_complaint()->set_statement("账单多扣费");
    return Call(who, &ComplaintStub::RecordComplaint, req);
  }
  kpb::Complaint NewComplaint(const auth::Principal& owner) {
    return Must(RecordComplaint(owner, OneToOneCustomer(owner).name()), "record complaint");
  }

  // A visit of the owner that began a minute ago (so it can be completed).
  absl::StatusOr<spb::Visit> BookVisit(const auth::Principal& who, const auth::Principal& owner,
                                       const std::string& customer) {
    spb::BookVisitRequest req;
    req.set_request_id(Unique("mx-visit"));
    req.mutable_visit()->set_customer(customer);
    req.mutable_visit()->set_owner(owner.subject);
    req.mutable_visit()->set_purpose(spb::COURTESY);
    const absl::Time start = absl::Now() - absl::Minutes(1);
    ToProto(start, req.mutable_visit()->mutable_start_time());
    ToProto(start + absl::Minutes(30), req.mutable_visit()->mutable_end_time());
    return Call(who, &SchedulingStub::BookVisit, req);
  }
  spb::Visit NewVisit(const auth::Principal& owner, bool done) {
    spb::Visit v = Must(BookVisit(owner, owner, OneToOneCustomer(owner).name()), "book visit");
    if (!done) return v;
    spb::CompleteVisitRequest complete;
    complete.set_name(v.name());
    complete.set_status(spb::DONE);
    complete.mutable_log()->set_discussed("续约意向");
    return Must(Call(owner, &SchedulingStub::CompleteVisit, complete), "complete visit");
  }

  // Urgent business (SCH-7) needs a GOVERNMENT contact, which scheduling
  // learns from the customers service's events: retried until it has.
  absl::StatusOr<spb::Task> CreateUrgentTask(const auth::Principal& who, const std::string& customer) {
    spb::CreateUrgentTaskRequest req;
    req.set_customer(customer);
    req.set_kind(spb::URGENT_CARD_SERVICE);
    req.set_title("补办证件");
    req.set_request_id(Unique("mx-task"));
    return Call(who, &SchedulingStub::CreateUrgentTask, req);
  }
  std::string GovernmentCustomer(const auth::Principal& owner) {
    const std::string customer = OneToOneCustomer(owner).name();
    NewContact(owner, customer, cpb::GOVERNMENT);
    return customer;
  }
  spb::Task NewTask(const auth::Principal& owner, const std::string& customer) {
    const absl::Time until = absl::Now() + absl::Seconds(30);
    absl::StatusOr<spb::Task> task = CreateUrgentTask(owner, customer);
    while (task.status().code() == absl::StatusCode::kFailedPrecondition && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(50));  // polling for an event's effect, bounded
      task = CreateUrgentTask(owner, customer);
    }
    return Must(std::move(task), "create urgent task");
  }

  absl::StatusOr<spb::ExpenseClaim> CreateClaim(const auth::Principal& who) {
    spb::CreateExpenseClaimRequest req;
    req.set_request_id(Unique("mx-claim"));
    req.mutable_claim()->set_month(absl::FormatTime("%Y-%m", absl::Now(), BusinessZone()));
    return Call(who, &SchedulingStub::CreateExpenseClaim, req);
  }
  spb::ExpenseClaim NewClaim(const auth::Principal& owner, bool submitted) {
    spb::ExpenseClaim claim = Must(CreateClaim(owner), "create claim");
    spb::AddExpenseLineRequest line;
    line.set_claim(claim.name());
    line.set_request_id(Unique("mx-line"));
    const absl::CivilDay today = absl::ToCivilDay(absl::Now(), BusinessZone());
    line.mutable_line()->mutable_date()->set_year(static_cast<int32_t>(today.year()));
    line.mutable_line()->mutable_date()->set_month(today.month());
    line.mutable_line()->mutable_date()->set_day(today.day());
    line.mutable_line()->set_category(spb::TRANSPORT);
    line.mutable_line()->mutable_amount()->set_currency_code("CNY");
    line.mutable_line()->mutable_amount()->set_units(35);
    line.mutable_line()->set_description("出租车");
    line.mutable_line()->set_receipt("FP-0001");
    claim = Must(Call(owner, &SchedulingStub::AddExpenseLine, line), "add expense line");
    if (!submitted) return claim;
    spb::SubmitExpenseClaimRequest submit;
    submit.set_name(claim.name());
    return Must(Call(owner, &SchedulingStub::SubmitExpenseClaim, submit), "submit claim");
  }

  // ---- One cell: prepare as the owner, act as `who` ----

  Outcome RunCell(const std::string& resource, const std::string& op, const auth::Principal& owner,
                  const auth::Principal& who);
  // A care call on `contact` by `who`, once scheduling knows the contact.
  Outcome RecordCareOutcome(const auth::Principal& owner, const std::string& contact, const auth::Principal& who);

  std::unique_ptr<ServiceSuite> suite_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string product_;
  std::string page_token_key_;
  std::vector<std::string> files_;
  std::set<std::string> bearers_;
  std::vector<std::string> errors_;
  int owners_ = 0;
  int serial_ = 0;
};

template <typename T>
Outcome Of(const absl::StatusOr<T>& result) {
  return {result.status(), false};
}

Outcome RoleMatrixTest::RecordCareOutcome(const auth::Principal& owner, const std::string& contact,
                                          const auth::Principal& who) {
  auto record = [&](const auth::Principal& as) {
    spb::RecordCareRequest req;
    req.set_request_id(Unique("mx-care"));
    req.mutable_care()->set_contact(contact);
    req.mutable_care()->set_kind(spb::CARE_CALL);
    req.mutable_care()->set_note("节日问候");
    return Call(as, &SchedulingStub::RecordCare, req);
  };
  // Scheduling learns of the contact from the customers service's events:
  // the owner's own care call is retried until it has.
  const absl::Time until = absl::Now() + absl::Seconds(30);
  absl::StatusOr<spb::CareRecord> first = record(owner);
  while (first.status().code() == absl::StatusCode::kNotFound && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(50));  // polling for an event's effect, bounded
    first = record(owner);
  }
  Must(std::move(first), "record care as the owner");
  return Of(record(who));
}

Outcome RoleMatrixTest::RunCell(const std::string& resource, const std::string& op, const auth::Principal& owner,
                                const auth::Principal& who) {
  const bool admin_like = who.role == auth::Role::kAdmin || who.role == auth::Role::kService;

  if (resource == "one-to-one customer" || resource == "ordinary C customer") {
    if (op == "create") {
      cpb::CreateCustomerRequest req;
      req.set_request_id(Unique("mx-create"));
      req.mutable_customer()->set_kind(cpb::INDIVIDUAL);
      req.mutable_customer()->set_display_name("新建客户");
      req.mutable_customer()->set_high_value(true);
      if (admin_like) req.mutable_customer()->set_owner(owner.subject);  // they must name one
      return Of(Call(who, &CustomerStub::CreateCustomer, req));
    }
    const cpb::Customer c = resource == "ordinary C customer" ? OrdinaryCCustomer(owner) : OneToOneCustomer(owner);
    if (op == "get") {
      cpb::GetCustomerRequest req;
      req.set_name(c.name());
      return Of(Call(who, &CustomerStub::GetCustomer, req));
    }
    if (op == "list") {
      cpb::ListCustomersRequest req;
      req.set_owner(owner.subject);
      req.set_page_size(500);
      auto r = Call(who, &CustomerStub::ListCustomers, req);
      return {r.status(), r.ok() && Lists(r->customers(), c.name())};
    }
    if (op == "update") {
      cpb::UpdateCustomerRequest req;
      req.mutable_customer()->set_name(c.name());
      req.mutable_customer()->set_etag(c.etag());
      req.mutable_customer()->set_industry("制造业");
      req.mutable_update_mask()->add_paths("industry");
      return Of(Call(who, &CustomerStub::UpdateCustomer, req));
    }
    if (op == "archive") {
      cpb::ArchiveCustomerRequest req;
      req.set_name(c.name());
      req.set_etag(c.etag());
      return Of(Call(who, &CustomerStub::ArchiveCustomer, req));
    }
    if (op == "verify") {
      cpb::VerifyCustomerRequest req;
      req.set_name(c.name());
      req.set_fields_checked(10);
      return Of(Call(who, &CustomerStub::VerifyCustomer, req));
    }
    if (op == "reassign owner" || op == "move team") {
      cpb::UpdateCustomerRequest req;
      req.mutable_customer()->set_name(c.name());
      req.mutable_customer()->set_etag(c.etag());
      if (op == "reassign owner") {
        req.mutable_customer()->set_owner(kPeer.subject);
        req.mutable_update_mask()->add_paths("owner");
      } else {
        req.mutable_customer()->set_team("west");
        req.mutable_update_mask()->add_paths("team");
      }
      return Of(Call(who, &CustomerStub::UpdateCustomer, req));
    }
    if (op == "create contact") return Of(CreateContact(who, c.name()));
    if (op == "get contact") {
      cpb::GetContactRequest req;
      req.set_name(NewContact(owner, c.name()).name());
      return Of(Call(who, &CustomerStub::GetContact, req));
    }
    if (op == "record complaint") return Of(RecordComplaint(who, c.name()));
    if (op == "record care") return RecordCareOutcome(owner, NewContact(owner, c.name()).name(), who);
    if (op == "create opportunity") return Of(CreateOpportunity(who, c.name()));
    if (op == "customer 360") {
      gw::GetCustomer360Request req;
      req.set_name(c.name());
      return Of(Call(who, &GatewayStub::GetCustomer360, req));
    }
  }

  if (resource == "value tiers" && op == "recompute") {
    return Of(Call(who, &CustomerStub::RecomputeTiers, cpb::RecomputeTiersRequest()));
  }

  if (resource == "team report") {
    OneToOneCustomer(owner);  // the team has a customer
    cpb::GetDataQualityReportRequest req;
    req.set_team("east");
    return Of(Call(who, &CustomerStub::GetDataQualityReport, req));
  }

  if (resource == "product" && op == "create") {
    opb::CreateProductRequest req;
    req.mutable_product()->set_code(Unique("MX-PRODUCT"));
    req.mutable_product()->set_display_name("企业宽带");
    req.mutable_product()->set_category(opb::INFO_SOLUTION);
    return Of(Call(who, &OpportunityStub::CreateProduct, req));
  }

  if (resource == "loan application") {
    opb::CreateOpportunityRequest loan_opportunity;
    loan_opportunity.mutable_opportunity()->set_customer(OneToOneCustomer(owner).name());
    loan_opportunity.mutable_opportunity()->set_type(opb::LOAN);
    loan_opportunity.mutable_opportunity()->set_title("流动资金贷款");
    loan_opportunity.mutable_opportunity()->mutable_amount()->set_currency_code("CNY");
    loan_opportunity.mutable_opportunity()->mutable_amount()->set_units(2000000);
    const opb::Opportunity o =
        Must(Call(owner, &OpportunityStub::CreateOpportunity, loan_opportunity), "create loan opportunity");
    opb::CreateLoanApplicationRequest create;
    create.set_parent(o.name());
    create.set_request_id(Unique("mx-loan"));
    opb::LoanApplication& l = *create.mutable_loan_application();
    l.mutable_amount()->set_currency_code("CNY");
    l.mutable_amount()->set_units(2000000);
    l.set_term_months(36);
    l.set_annual_rate_bp(420);
    l.set_repayment_method(opb::EQUAL_INSTALLMENT);
    l.set_purpose("采购原材料");
    l.set_investigation_result("经营稳定，现金流充足");
    if (op == "create") return Of(Call(who, &OpportunityStub::CreateLoanApplication, create));
    const opb::LoanApplication loan =
        Must(Call(owner, &OpportunityStub::CreateLoanApplication, create), "create loan application");
    if (op == "get") {
      opb::GetLoanApplicationRequest req;
      req.set_name(loan.name());
      return Of(Call(who, &OpportunityStub::GetLoanApplication, req));
    }
    if (op == "decide") {
      opb::DecideLoanApplicationRequest req;
      req.set_name(loan.name());
      req.set_decision(opb::LOAN_APPROVED);
      req.set_reason("符合授信条件");
      return Of(Call(who, &OpportunityStub::DecideLoanApplication, req));
    }
  }

  if (resource == "contact") {
    const cpb::Customer c = OneToOneCustomer(owner);
    if (op == "create") return Of(CreateContact(who, c.name()));
    const cpb::Contact contact = NewContact(owner, c.name());
    if (op == "get") {
      cpb::GetContactRequest req;
      req.set_name(contact.name());
      return Of(Call(who, &CustomerStub::GetContact, req));
    }
    if (op == "list") {
      cpb::ListContactsRequest req;
      req.set_parent(c.name());
      auto r = Call(who, &CustomerStub::ListContacts, req);
      return {r.status(), r.ok() && Lists(r->contacts(), contact.name())};
    }
    if (op == "update") {
      cpb::UpdateContactRequest req;
      req.mutable_contact()->set_name(contact.name());
      req.mutable_contact()->set_etag(contact.etag());
      req.mutable_contact()->set_title("总经理");
      req.mutable_update_mask()->add_paths("title");
      return Of(Call(who, &CustomerStub::UpdateContact, req));
    }
    if (op == "delete") {
      cpb::DeleteContactRequest req;
      req.set_name(contact.name());
      req.set_etag(contact.etag());
      return Of(Call(who, &CustomerStub::DeleteContact, req));
    }
  }

  if (resource == "opportunity") {
    if (op == "create") return Of(CreateOpportunity(who, OneToOneCustomer(owner).name()));
    const opb::Opportunity o = NewOpportunity(owner);
    if (op == "get") {
      opb::GetOpportunityRequest req;
      req.set_name(o.name());
      return Of(Call(who, &OpportunityStub::GetOpportunity, req));
    }
    if (op == "list") {
      opb::ListOpportunitiesRequest req;
      req.set_owner(owner.subject);
      req.set_page_size(500);
      auto r = Call(who, &OpportunityStub::ListOpportunities, req);
      return {r.status(), r.ok() && Lists(r->opportunities(), o.name())};
    }
    if (op == "update") {
      opb::UpdateOpportunityRequest req;
      req.mutable_opportunity()->set_name(o.name());
      req.mutable_opportunity()->set_etag(o.etag());
      req.mutable_opportunity()->set_title("园区 5G 专网二期");
      req.mutable_update_mask()->add_paths("title");
      return Of(Call(who, &OpportunityStub::UpdateOpportunity, req));
    }
    if (op == "move stage") {
      opb::MoveOpportunityStageRequest req;
      req.set_name(o.name());
      req.set_stage(opb::SOLUTION);
      req.set_etag(o.etag());
      return Of(Call(who, &OpportunityStub::MoveOpportunityStage, req));
    }
  }

  if (resource == "proposal") {
    if (op == "create") return Of(CreateProposal(who, NewOpportunity(owner).name()));
    const opb::Proposal p = NewProposal(owner, op == "approve" || op == "reject");
    if (op == "get") {
      opb::GetProposalRequest req;
      req.set_name(p.name());
      return Of(Call(who, &OpportunityStub::GetProposal, req));
    }
    if (op == "list") {
      opb::ListProposalsRequest req;
      req.set_parent(p.name().substr(0, p.name().find("/proposals/")));
      auto r = Call(who, &OpportunityStub::ListProposals, req);
      return {r.status(), r.ok() && Lists(r->proposals(), p.name())};
    }
    if (op == "update") {
      opb::UpdateProposalRequest req;
      req.mutable_proposal()->set_name(p.name());
      req.mutable_proposal()->set_etag(p.etag());
      req.mutable_proposal()->set_title("信息化方案 v2");
      req.mutable_update_mask()->add_paths("title");
      return Of(Call(who, &OpportunityStub::UpdateProposal, req));
    }
    if (op == "submit") {
      opb::SubmitProposalRequest req;
      req.set_name(p.name());
      return Of(Call(who, &OpportunityStub::SubmitProposal, req));
    }
    if (op == "approve") {
      opb::ApproveProposalRequest req;
      req.set_name(p.name());
      req.set_reason("价格合理");
      return Of(Call(who, &OpportunityStub::ApproveProposal, req));
    }
    if (op == "reject") {
      opb::RejectProposalRequest req;
      req.set_name(p.name());
      req.set_reason("折扣过大");
      return Of(Call(who, &OpportunityStub::RejectProposal, req));
    }
  }

  if (resource == "contract") {
    const opb::Proposal accepted = AcceptedProposal(owner);
    if (op == "create") return Of(CreateContract(who, accepted));
    const opb::Contract k = Must(CreateContract(owner, accepted), "create contract");
    if (op == "get") {
      opb::GetContractRequest req;
      req.set_name(k.name());
      return Of(Call(who, &OpportunityStub::GetContract, req));
    }
    if (op == "list") {
      opb::ListContractsRequest req;
      req.set_parent(k.name().substr(0, k.name().find("/contracts/")));
      auto r = Call(who, &OpportunityStub::ListContracts, req);
      return {r.status(), r.ok() && Lists(r->contracts(), k.name())};
    }
    if (op == "start delivery") {
      opb::StartDeliveryRequest req;
      req.set_name(k.name());
      return Of(Call(who, &OpportunityStub::StartDelivery, req));
    }
  }

  if (resource == "complaint") {
    if (op == "record") return Of(RecordComplaint(who, OneToOneCustomer(owner).name()));
    const kpb::Complaint k = NewComplaint(owner);
    if (op == "get") {
      kpb::GetComplaintRequest req;
      req.set_name(k.name());
      return Of(Call(who, &ComplaintStub::GetComplaint, req));
    }
    if (op == "list") {
      kpb::ListComplaintsRequest req;
      req.set_owner(owner.subject);
      req.set_page_size(500);
      auto r = Call(who, &ComplaintStub::ListComplaints, req);
      return {r.status(), r.ok() && Lists(r->complaints(), k.name())};
    }
    if (op == "update") {
      kpb::UpdateComplaintRequest req;
      req.mutable_complaint()->set_name(k.name());
      req.mutable_complaint()->set_etag(k.etag());
      req.mutable_complaint()->set_confirmed_statement("客户确认：账单多扣费");
      req.mutable_update_mask()->add_paths("confirmed_statement");
      return Of(Call(who, &ComplaintStub::UpdateComplaint, req));
    }
    if (op == "respond") {
      kpb::RespondToComplaintRequest req;
      req.set_name(k.name());
      req.set_response("已联系客户核实");
      return Of(Call(who, &ComplaintStub::RespondToComplaint, req));
    }
  }

  if (resource == "visit") {
    if (op == "book") return Of(BookVisit(who, owner, OneToOneCustomer(owner).name()));
    const spb::Visit v = NewVisit(owner, op == "verify log");
    if (op == "get") {
      spb::GetVisitRequest req;
      req.set_name(v.name());
      return Of(Call(who, &SchedulingStub::GetVisit, req));
    }
    if (op == "list") {
      spb::ListVisitsRequest req;
      req.set_owner(owner.subject);
      req.set_page_size(500);
      auto r = Call(who, &SchedulingStub::ListVisits, req);
      return {r.status(), r.ok() && Lists(r->visits(), v.name())};
    }
    if (op == "update") {
      spb::UpdateVisitRequest req;
      req.mutable_visit()->set_name(v.name());
      req.mutable_visit()->set_etag(v.etag());
      req.mutable_visit()->set_purpose(spb::OFFER);
      req.mutable_update_mask()->add_paths("purpose");
      return Of(Call(who, &SchedulingStub::UpdateVisit, req));
    }
    if (op == "cancel") {
      spb::CancelVisitRequest req;
      req.set_name(v.name());
      req.set_reason("客户临时有事");
      return Of(Call(who, &SchedulingStub::CancelVisit, req));
    }
    if (op == "complete") {
      spb::CompleteVisitRequest req;
      req.set_name(v.name());
      req.set_status(spb::DONE);
      req.mutable_log()->set_discussed("续约意向");
      return Of(Call(who, &SchedulingStub::CompleteVisit, req));
    }
    if (op == "verify log") {
      spb::VerifyVisitLogRequest req;
      req.set_name(v.name());
      return Of(Call(who, &SchedulingStub::VerifyVisitLog, req));
    }
  }

  if (resource == "task") {
    const std::string customer = GovernmentCustomer(owner);
    const spb::Task t = NewTask(owner, customer);
    if (op == "create urgent") return Of(CreateUrgentTask(who, customer));
    if (op == "get") {
      spb::GetTaskRequest req;
      req.set_name(t.name());
      return Of(Call(who, &SchedulingStub::GetTask, req));
    }
    if (op == "list") {
      spb::ListTasksRequest req;
      req.set_owner(owner.subject);
      req.set_page_size(500);
      auto r = Call(who, &SchedulingStub::ListTasks, req);
      return {r.status(), r.ok() && Lists(r->tasks(), t.name())};
    }
    if (op == "complete") {
      spb::CompleteTaskRequest req;
      req.set_name(t.name());
      req.set_resolution("已办结");
      return Of(Call(who, &SchedulingStub::CompleteTask, req));
    }
  }

  if (resource == "care record" && op == "record") {
    return RecordCareOutcome(owner, NewContact(owner, OneToOneCustomer(owner).name()).name(), who);
  }

  if (resource == "expense claim") {
    if (op == "create") return Of(CreateClaim(who));
    const spb::ExpenseClaim claim = NewClaim(owner, op == "decide");
    if (op == "get") {
      spb::GetExpenseClaimRequest req;
      req.set_name(claim.name());
      return Of(Call(who, &SchedulingStub::GetExpenseClaim, req));
    }
    if (op == "list") {
      spb::ListExpenseClaimsRequest req;
      req.set_page_size(500);
      auto r = Call(who, &SchedulingStub::ListExpenseClaims, req);
      return {r.status(), r.ok() && Lists(r->claims(), claim.name())};
    }
    if (op == "submit") {
      spb::SubmitExpenseClaimRequest req;
      req.set_name(claim.name());
      return Of(Call(who, &SchedulingStub::SubmitExpenseClaim, req));
    }
    if (op == "decide") {
      spb::DecideExpenseClaimRequest req;
      req.set_name(claim.name());
      req.set_approve(true);
      return Of(Call(who, &SchedulingStub::DecideExpenseClaim, req));
    }
  }
  ADD_FAILURE() << "no runner for " << resource << " / " << op;
  return {absl::InternalError("no runner"), false};
}

TEST_F(RoleMatrixTest, EveryRoleEveryResourceEveryOperationThroughTheGateway) {
  int cells = 0, mismatches = 0;
  std::set<std::string> resources;
  for (const Expectation& row : kExpected) {
    resources.insert(row.resource);
    for (int col = 0; col < kColumns; ++col) {
      const auth::Principal owner = NewOwner();
      const auth::Principal* const others[kColumns] = {&owner,  &kPeer,  &kSupervisor, &kOtherSupervisor,
                                                       &kPhone, &kAdmin, &kService};
      Outcome got;
      try {
        got = RunCell(row.resource, row.operation, owner, *others[col]);
      } catch (const std::runtime_error& e) {
        ADD_FAILURE() << row.resource << " / " << row.operation << " / " << kColumnNames[col]
                      << ": setup failed: " << e.what();
        ++mismatches;
        continue;
      }
      ++cells;
      if (!Matches(row.want[col], got)) {
        ++mismatches;
        ADD_FAILURE() << row.resource << " / " << row.operation << " / " << kColumnNames[col] << ": want "
                      << WantName(row.want[col]) << ", got " << got.status
                      << (got.status.ok() ? (got.listed ? " (listed)" : " (not listed)") : "");
      }
    }
  }
  std::cout << "role matrix: " << cells << " cells checked (" << std::size(kExpected) << " operations on "
            << resources.size() << " resource types x " << kColumns << " roles), " << mismatches
            << " mismatches\n";
  EXPECT_EQ(cells, static_cast<int>(std::size(kExpected)) * kColumns);

  // ---- No secret in any process's output or any error a client saw.
  std::vector<secret_scan::Secret> secrets = {{"JWT signing key", crm::testing::kE2eKey},
                                              {"page-token key", page_token_key_}};
  for (crm::testing::Service s : kAllServices) {
    if (s == crm::testing::Service::kGateway) continue;  // no database
    secrets.push_back({absl::StrCat(ServiceName(s), " database password"), suite_->process(s).database().password});
  }
  for (const std::string& bearer : bearers_) {
    // The signature is what makes a token usable.
    secrets.push_back({"a bearer token's signature", bearer.substr(bearer.rfind('.') + 1)});
  }
  std::map<std::string, std::string> texts;
  for (crm::testing::Service s : kAllServices) texts[absl::StrCat(ServiceName(s), " log")] = suite_->process(s).Log();
  for (size_t i = 0; i < errors_.size(); ++i) texts[absl::StrCat("error #", i, " returned to a client")] = errors_[i];
  EXPECT_GT(errors_.size(), 100u);  // the scan saw the matrix's refusals
  for (const auto& [what, text] : texts) EXPECT_NE(text, "") << what;
  const std::vector<std::string> leaks = secret_scan::Leaks(secrets, texts);
  EXPECT_THAT(leaks, ::testing::IsEmpty());
  std::cout << "secret scan: " << secrets.size() << " secrets in " << texts.size() << " texts, "
            << leaks.size() << " leaks\n";
}

}  // namespace
}  // namespace crm
