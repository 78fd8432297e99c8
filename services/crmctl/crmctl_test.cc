#include <grpcpp/grpcpp.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/auth/token_verifier.h"
#include "common/testing/status_matchers.h"
#include "common/util/clock.h"
#include "crm/complaints/v1/complaints.grpc.pb.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "crm/scheduling/v1/scheduling.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/crmctl/args.h"
#include "services/crmctl/dispatch.h"
#include "services/crmctl/members_csv.h"
#include "services/crmctl/rpc.h"

namespace crm::crmctl {
namespace {

namespace v1 = crm::customers::v1;
namespace cmp = crm::complaints::v1;
namespace sch = crm::scheduling::v1;
using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

std::string TempFile(const std::string& name, const std::string& contents) {
  const std::string path = ::testing::TempDir() + "/crmctl_" + name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

struct Result {
  int exit_code;
  std::string out;
  std::string err;
};

Result RunCrmctl(const GlobalOptions& options, std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = RunCommand(options, args, out, err);
  return {code, out.str(), err.str()};
}

// ---- Args ----

TEST(ArgsTest, ParsesFlagsAndPositionals) {
  auto args = Args::Parse({"customers/1", "--etag", "e1", "--mask=a,b", "--", "--x"},
                          {"etag", "mask"});
  ASSERT_THAT(args, IsOk());
  EXPECT_THAT(args->positional(), ElementsAre("customers/1", "--x"));
  EXPECT_EQ(args->Get("etag"), "e1");
  EXPECT_EQ(args->Get("mask"), "a,b");
  EXPECT_EQ(args->Get("json"), std::nullopt);
  EXPECT_EQ(args->GetOr("json", "{}"), "{}");
}

TEST(ArgsTest, RefusesUnknownRepeatedAndValuelessFlags) {
  const auto invalid = StatusIs(absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Args::Parse({"--nope", "1"}, {"etag"}), invalid);
  EXPECT_THAT(Args::Parse({"--etag", "1", "--etag=2"}, {"etag"}), invalid);
  EXPECT_THAT(Args::Parse({"--etag"}, {"etag"}), invalid);
}

TEST(ArgsTest, SwitchesTakeNoValueOrTrueFalse) {
  auto args = Args::Parse({"--open-only", "--status", "OPEN", "--at-risk-only=false", "x"},
                          {"status"}, {"open-only", "at-risk-only"});
  ASSERT_THAT(args, IsOk());
  EXPECT_TRUE(args->Enabled("open-only"));
  EXPECT_FALSE(args->Enabled("at-risk-only"));
  EXPECT_FALSE(args->Enabled("status"));
  EXPECT_EQ(args->Get("status"), "OPEN");
  EXPECT_THAT(args->positional(), ElementsAre("x"));
  const auto invalid = StatusIs(absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Args::Parse({"--open-only=yes"}, {}, {"open-only"}), invalid);
  EXPECT_THAT(Args::Parse({"--open-only", "--open-only"}, {}, {"open-only"}), invalid);
  EXPECT_EQ(ParseBool("true"), true);
  EXPECT_EQ(ParseBool("false"), false);
  EXPECT_EQ(ParseBool("1"), std::nullopt);
}

// ---- Members CSV ----

TEST(MembersCsvTest, ReadsRowsWithHeaderBomQuotesAndProducts) {
  std::istringstream in(
      "\xEF\xBB\xBF"
      "display_name,phone,department,title,brand,products\r\n"
      "张三,13800000001,研发部,工程师,移动,5G套餐; 云盘 ;\r\n"
      "\r\n"
      "\"Li, Si\",13800000002,\"Sales\nEast\",\"The \"\"Boss\"\"\"\n"
      "王五,13800000003\n");
  auto members = ReadMembersCsv(in);
  ASSERT_THAT(members, IsOk());
  ASSERT_EQ(members->size(), 3u);
  EXPECT_EQ((*members)[0].display_name(), "张三");
  EXPECT_EQ((*members)[0].brand(), "移动");
  EXPECT_THAT((*members)[0].products(), ElementsAre("5G套餐", "云盘"));
  EXPECT_EQ((*members)[1].display_name(), "Li, Si");
  EXPECT_EQ((*members)[1].department(), "Sales\nEast");
  EXPECT_EQ((*members)[1].title(), "The \"Boss\"");
  EXPECT_EQ((*members)[2].phone(), "13800000003");
  EXPECT_EQ((*members)[2].department(), "");
  EXPECT_THAT((*members)[2].products(), IsEmpty());
}

TEST(MembersCsvTest, ReportsTheLineOfBadRows) {
  std::istringstream too_wide("a,1\nb,2,d,t,br,p,extra\n");
  EXPECT_THAT(ReadMembersCsv(too_wide),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
  std::istringstream unterminated("a,1\n\"b,2\n");
  EXPECT_THAT(ReadMembersCsv(unterminated),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
}

// ---- Output ----

TEST(PrintRpcErrorTest, PrintsCodeMessageAndFieldViolations) {
  google::rpc::BadRequest bad_request;
  auto* v = bad_request.add_field_violations();
  v->set_field("customer.credit_code");
  v->set_description("must be 18 characters");
  google::rpc::Status details;
  details.set_code(3);
  details.set_message("invalid customer");
  details.add_details()->PackFrom(bad_request);
  std::ostringstream err;
  PrintRpcError(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "invalid customer",
                             details.SerializeAsString()),
                err);
  EXPECT_EQ(err.str(),
            "ERROR INVALID_ARGUMENT: invalid customer\n"
            "  customer.credit_code: must be 18 characters\n");
}

TEST(PrintMessageTest, OneObjectPerLine) {
  v1::Customer customer;
  customer.set_name("customers/1");
  customer.set_tier(v1::A1);
  std::ostringstream out;
  PrintMessage(customer, /*pretty=*/false, out);
  EXPECT_EQ(out.str(), "{\"name\":\"customers/1\",\"tier\":\"A1\"}\n");
}

// ---- Usage errors ----

TEST(RunCommandTest, UsageErrorsExitTwo) {
  GlobalOptions options;
  options.address = "127.0.0.1:1";
  EXPECT_EQ(RunCrmctl(options, {}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"frobnicate"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"customers", "frobnicate"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"customers", "get"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"customers", "get", "a", "b"}).exit_code, kExitUsage);
  Result missing = RunCrmctl(options, {"customers", "update", "customers/1", "--json", "{}"});
  EXPECT_EQ(missing.exit_code, kExitUsage);
  EXPECT_THAT(missing.err, HasSubstr("missing --mask"));
  Result bad_json = RunCrmctl(options, {"customers", "create", "--json", "{\"nope\":1}"});
  EXPECT_EQ(bad_json.exit_code, kExitUsage);
  EXPECT_THAT(bad_json.err, HasSubstr("crm.customers.v1.Customer"));
  EXPECT_EQ(RunCrmctl(options, {"customers", "list", "--tier", "Z9"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"customers", "list", "--page-size", "-1"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"members", "import", "--parent", "customers/1", "--csv", "/no/such.csv"})
                .exit_code,
            kExitUsage);
  Result help = RunCrmctl(options, {"help"});
  EXPECT_EQ(help.exit_code, kExitOk);
  EXPECT_THAT(help.out, HasSubstr("members import --parent PARENT --csv CSV"));
  EXPECT_THAT(help.out, HasSubstr("complaints list [--customer CUSTOMER] [--owner OWNER] "
                                  "[--status STATUS] [--page-size PAGE_SIZE] "
                                  "[--page-token PAGE_TOKEN] [--open-only] [--at-risk-only]"));
}

TEST(RunCommandTest, GatewayViewUsageErrorsExitTwo) {
  GlobalOptions options;
  options.address = "127.0.0.1:1";
  EXPECT_EQ(RunCrmctl(options, {"customer360"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"customer360", "customers/1", "--horizon-days", "91"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"dashboard", "--period", "FORTNIGHT"}).exit_code, kExitUsage);
  Result bad_start = RunCrmctl(options, {"dashboard", "--start", "2026-11-1"});
  EXPECT_EQ(bad_start.exit_code, kExitUsage);
  EXPECT_THAT(bad_start.err, HasSubstr("--start must be a date"));
  // Nothing listens there: the call itself fails (exit 1), after parsing.
  EXPECT_EQ(RunCrmctl(options, {"suite", "health"}).exit_code, kExitFailed);
  EXPECT_THAT(RunCrmctl(options, {"help"}).out, HasSubstr("dashboard [--owner OWNER] [--team TEAM]"));
}

TEST(RunCommandTest, ComplaintUsageErrorsExitTwo) {
  GlobalOptions options;
  options.address = "127.0.0.1:1";
  EXPECT_EQ(RunCrmctl(options, {"complaints", "frobnicate"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"complaints", "list", "--open-only=maybe"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"complaints", "list", "--page-size", "x"}).exit_code, kExitUsage);
  Result no_response = RunCrmctl(options, {"complaints", "respond", "complaints/1"});
  EXPECT_EQ(no_response.exit_code, kExitUsage);
  EXPECT_THAT(no_response.err, HasSubstr("missing --response"));
  EXPECT_EQ(RunCrmctl(options, {"complaints", "decide", "complaints/1", "--accepted", "yes"})
                .exit_code,
            kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"complaints", "revisit", "complaints/1", "--satisfaction", "6"})
                .exit_code,
            kExitUsage);
  Result bad_json = RunCrmctl(options, {"complaints", "record", "--json", "{\"nope\":1}"});
  EXPECT_EQ(bad_json.exit_code, kExitUsage);
  EXPECT_THAT(bad_json.err, HasSubstr("crm.complaints.v1.Complaint"));
  Result bad_time = RunCrmctl(options, {"complaints", "report", "--start", "2024-05-01",
                                        "--end", "2024-06-01T00:00:00Z"});
  EXPECT_EQ(bad_time.exit_code, kExitUsage);
  EXPECT_THAT(bad_time.err, HasSubstr("--start must be an RFC 3339 time"));
}

TEST(RunCommandTest, SchedulingUsageErrorsExitTwo) {
  GlobalOptions options;
  options.address = "127.0.0.1:1";
  const std::vector<std::string> book = {"visits", "book", "--customer", "customers/1", "--start",
                                         "2026-11-24T10:00:00+08:00", "--end", "2026-11-24T11:00:00+08:00"};
  Result no_purpose = RunCrmctl(options, book);
  EXPECT_EQ(no_purpose.exit_code, kExitUsage);
  EXPECT_THAT(no_purpose.err, HasSubstr("missing --purpose"));
  std::vector<std::string> bad_purpose = book;
  bad_purpose.insert(bad_purpose.end(), {"--purpose", "LUNCH"});
  Result purpose = RunCrmctl(options, bad_purpose);
  EXPECT_EQ(purpose.exit_code, kExitUsage);
  EXPECT_THAT(purpose.err, HasSubstr("--purpose must be one of ON_SITE_SERVICE, GIFT, COURTESY, OFFER, "
                                     "EVENT_INVITATION, NEGOTIATION, REVISIT, PROPOSAL"));
  Result bad_end = RunCrmctl(options, {"visits", "book", "--customer", "customers/1", "--purpose", "GIFT",
                                       "--start", "2026-11-24T10:00:00+08:00", "--end", "11:00"});
  EXPECT_EQ(bad_end.exit_code, kExitUsage);
  EXPECT_THAT(bad_end.err, HasSubstr("--end must be an RFC 3339 time"));
  EXPECT_EQ(RunCrmctl(options, {"visits", "list", "--status", "VISIT_STATUS_UNSPECIFIED"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"visits", "list", "--start", "tomorrow"}).exit_code, kExitUsage);
  Result done_without_log = RunCrmctl(options, {"visits", "complete", "visits/1", "--status", "DONE"});
  EXPECT_EQ(done_without_log.exit_code, kExitUsage);
  EXPECT_THAT(done_without_log.err, HasSubstr("--discussed"));
  EXPECT_EQ(RunCrmctl(options, {"visits", "complete", "visits/1", "--status", "NO_SHOW", "--discussed", "x"})
                .exit_code,
            kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"visits", "complete", "visits/1", "--status", "CANCELLED"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"visits", "cancel", "visits/1"}).exit_code, kExitUsage);
  for (const std::vector<std::string>& plan : std::vector<std::vector<std::string>>{
           {"--date", "2026-11-31", "--candidates", "customers/1"},
           {"--date", "2026-11-3", "--candidates", "customers/1"},
           {"--date", "2026-11-24", "--candidates", " , "},
           {"--date", "2026-11-24", "--candidates", "customers/1", "--day-start", "9:00"},
           {"--date", "2026-11-24", "--candidates", "customers/1", "--day-start", "19:00"},
           {"--date", "2026-11-24", "--candidates", "customers/1", "--visit-minutes", "0"},
           {"--date", "2026-11-24", "--candidates", "customers/1", "--home", "26.1"},
           {"--date", "2026-11-24", "--candidates", "customers/1", "--home", "95,119"}}) {
    std::vector<std::string> args = {"plan-day"};
    args.insert(args.end(), plan.begin(), plan.end());
    EXPECT_EQ(RunCrmctl(options, args).exit_code, kExitUsage) << absl::StrJoin(plan, " ");
  }
  EXPECT_EQ(RunCrmctl(options, {"care", "due", "--horizon-days", "400"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"care", "special-days", "--days-ahead", "x"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"tasks", "list", "--kind", "CHORE"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"tasks", "list", "--due-before", "2026-11-24"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"tasks", "complete", "tasks/1"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"calendar", "export", "--out", "/no/such/dir/x.ics"}).exit_code, kExitUsage);
  Result help = RunCrmctl(options, {"help"});
  EXPECT_THAT(help.out, HasSubstr("visits book --customer CUSTOMER --start START --end END --purpose PURPOSE "
                                  "[--contact CONTACT] [--place PLACE] [--owner OWNER] [--request-id REQUEST_ID]"));
  EXPECT_THAT(help.out, HasSubstr("plan-day --date DATE --candidates CANDIDATES"));
}

TEST(RunCommandTest, UnreachableServerExitsOne) {
  GlobalOptions options;
  options.address = "127.0.0.1:1";
  options.timeout = absl::Seconds(5);
  Result result = RunCrmctl(options, {"customers", "get", "customers/1"});
  EXPECT_EQ(result.exit_code, kExitFailed);
  EXPECT_THAT(result.err, StartsWith("ERROR UNAVAILABLE"));
}

// ---- token ----

constexpr char kKey[] = "crmctl-test-key-crmctl-test-key-0123456789";

TEST(TokenCommandTest, PrintsATokenTheVerifierAccepts) {
  const std::string key_file = TempFile("key", std::string(kKey) + "\n");
  Result result = RunCrmctl(GlobalOptions(), {"token", "--key-file", key_file, "--subject", "u-7",
                                        "--role", "SUPERVISOR", "--team", "north", "--ttl-hours", "1"});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  ASSERT_FALSE(result.out.empty());
  ASSERT_EQ(result.out.back(), '\n');

  auth::AuthConfig config;
  config.hs256_key = kKey;
  config.issuer = "crm-local";
  config.audience = "crm";
  auto verifier = auth::TokenVerifier::Create(config, RealClock::Get());
  ASSERT_THAT(verifier, IsOk());
  auto principal = (*verifier)->Verify(result.out.substr(0, result.out.size() - 1));
  ASSERT_THAT(principal, IsOk());
  EXPECT_EQ(principal->subject, "u-7");
  EXPECT_EQ(principal->role, auth::Role::kSupervisor);
  EXPECT_EQ(principal->team, "north");

  // Valid for the hour asked for, not longer.
  FakeClock later(absl::Now() + absl::Hours(1) + absl::Minutes(1));
  auto later_verifier = auth::TokenVerifier::Create(config, later);
  ASSERT_THAT(later_verifier, IsOk());
  EXPECT_THAT((*later_verifier)->Verify(result.out.substr(0, result.out.size() - 1)),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(TokenCommandTest, RefusesBadInput) {
  const std::string key_file = TempFile("key2", kKey);
  EXPECT_EQ(RunCrmctl(GlobalOptions(), {"token", "--key-file", key_file, "--subject", "u", "--role", "ROOT"})
                .exit_code,
            kExitUsage);
  EXPECT_EQ(RunCrmctl(GlobalOptions(), {"token", "--key-file", TempFile("short", "short"), "--subject",
                                  "u", "--role", "ADMIN"})
                .exit_code,
            kExitUsage);
  EXPECT_EQ(RunCrmctl(GlobalOptions(), {"token", "--key-file", key_file, "--subject", "u", "--role",
                                  "ADMIN", "--ttl-hours", "0"})
                .exit_code,
            kExitUsage);
}

// ---- Against an in-process fake server ----

class FakeCustomerService final : public v1::CustomerService::Service {
 public:
  grpc::Status GetCustomer(grpc::ServerContext* context, const v1::GetCustomerRequest* request,
                           v1::Customer* response) override {
    RecordAuthorization(*context);
    response->set_name(request->name());
    response->set_display_name("华为技术有限公司");
    return grpc::Status::OK;
  }

  grpc::Status CreateCustomer(grpc::ServerContext*, const v1::CreateCustomerRequest*,
                              v1::Customer*) override {
    google::rpc::BadRequest bad_request;
    auto* v = bad_request.add_field_violations();
    v->set_field("customer.display_name");
    v->set_description("required");
    google::rpc::Status details;
    details.set_code(grpc::StatusCode::INVALID_ARGUMENT);
    details.set_message("invalid customer");
    details.add_details()->PackFrom(bad_request);
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "invalid customer",
                        details.SerializeAsString());
  }

  grpc::Status UpdateCustomer(grpc::ServerContext*, const v1::UpdateCustomerRequest* request,
                              v1::Customer* response) override {
    *response = request->customer();
    response->set_etag(absl::StrJoin(request->update_mask().paths(), "+"));
    return grpc::Status::OK;
  }

  grpc::Status ImportMembers(grpc::ServerContext*,
                             grpc::ServerReader<v1::ImportMembersRequest>* reader,
                             v1::ImportMembersResponse* response) override {
    v1::ImportMembersRequest request;
    absl::MutexLock lock(&mu_);
    while (reader->Read(&request)) {
      parents_.push_back(request.parent());
      batch_sizes_.push_back(request.members_size());
      response->set_imported(response->imported() + request.members_size());
    }
    return grpc::Status::OK;
  }

  std::string authorization() const {
    absl::MutexLock lock(&mu_);
    return authorization_;
  }
  std::vector<std::string> parents() const {
    absl::MutexLock lock(&mu_);
    return parents_;
  }
  std::vector<int> batch_sizes() const {
    absl::MutexLock lock(&mu_);
    return batch_sizes_;
  }

 private:
  void RecordAuthorization(const grpc::ServerContext& context) {
    absl::MutexLock lock(&mu_);
    auto it = context.client_metadata().find("authorization");
    authorization_ =
        it == context.client_metadata().end() ? "" : std::string(it->second.data(), it->second.size());
  }

  mutable absl::Mutex mu_;
  std::string authorization_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> parents_ ABSL_GUARDED_BY(mu_);
  std::vector<int> batch_sizes_ ABSL_GUARDED_BY(mu_);
};

class FakeComplaintService final : public cmp::ComplaintService::Service {
 public:
  grpc::Status RecordComplaint(grpc::ServerContext*, const cmp::RecordComplaintRequest* request,
                               cmp::Complaint* response) override {
    absl::MutexLock lock(&mu_);
    record_ = *request;
    *response = request->complaint();
    response->set_name("complaints/7");
    response->set_status(cmp::OPEN);
    return grpc::Status::OK;
  }

  grpc::Status ListComplaints(grpc::ServerContext*, const cmp::ListComplaintsRequest* request,
                              cmp::ListComplaintsResponse* response) override {
    absl::MutexLock lock(&mu_);
    list_ = *request;
    ++list_calls_;
    cmp::Complaint* complaint = response->add_complaints();
    complaint->set_name("complaints/7");
    complaint->set_status(request->status());
    response->set_next_page_token("p2");
    return grpc::Status::OK;
  }

  grpc::Status RecordCustomerDecision(grpc::ServerContext*,
                                      const cmp::RecordCustomerDecisionRequest* request,
                                      cmp::Complaint* response) override {
    absl::MutexLock lock(&mu_);
    decision_ = *request;
    response->set_name(request->name());
    response->set_status(request->accepted() ? cmp::RESOLVED : cmp::IN_PROGRESS);
    response->set_escalated(!request->accepted());
    return grpc::Status::OK;
  }

  grpc::Status RecordRevisit(grpc::ServerContext*, const cmp::RecordRevisitRequest* request,
                             cmp::Complaint* response) override {
    absl::MutexLock lock(&mu_);
    ++revisit_calls_;
    response->set_name(request->name());
    response->mutable_revisit()->set_satisfaction(request->satisfaction());
    return grpc::Status::OK;
  }

  grpc::Status GetSlaComplianceReport(grpc::ServerContext*,
                                      const cmp::GetSlaComplianceReportRequest* request,
                                      cmp::SlaComplianceReport* response) override {
    absl::MutexLock lock(&mu_);
    report_ = *request;
    response->set_vip_target_met(true);
    return grpc::Status::OK;
  }

  cmp::RecordComplaintRequest record() const {
    absl::MutexLock lock(&mu_);
    return record_;
  }
  cmp::ListComplaintsRequest list() const {
    absl::MutexLock lock(&mu_);
    return list_;
  }
  int list_calls() const {
    absl::MutexLock lock(&mu_);
    return list_calls_;
  }
  cmp::RecordCustomerDecisionRequest decision() const {
    absl::MutexLock lock(&mu_);
    return decision_;
  }
  int revisit_calls() const {
    absl::MutexLock lock(&mu_);
    return revisit_calls_;
  }
  cmp::GetSlaComplianceReportRequest report() const {
    absl::MutexLock lock(&mu_);
    return report_;
  }

 private:
  mutable absl::Mutex mu_;
  cmp::RecordComplaintRequest record_ ABSL_GUARDED_BY(mu_);
  cmp::ListComplaintsRequest list_ ABSL_GUARDED_BY(mu_);
  int list_calls_ ABSL_GUARDED_BY(mu_) = 0;
  cmp::RecordCustomerDecisionRequest decision_ ABSL_GUARDED_BY(mu_);
  int revisit_calls_ ABSL_GUARDED_BY(mu_) = 0;
  cmp::GetSlaComplianceReportRequest report_ ABSL_GUARDED_BY(mu_);
};

class FakeSchedulingService final : public sch::SchedulingService::Service {
 public:
  grpc::Status BookVisit(grpc::ServerContext*, const sch::BookVisitRequest* request,
                         sch::Visit* response) override {
    absl::MutexLock lock(&mu_);
    book_ = *request;
    if (request->visit().start_time().seconds() == kBookedStart) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "the manager is already booked: overlaps visits/1 (SCH-2)");
    }
    *response = request->visit();
    response->set_name("visits/2");
    response->set_status(sch::PLANNED);
    return grpc::Status::OK;
  }

  grpc::Status ListVisits(grpc::ServerContext*, const sch::ListVisitsRequest* request,
                          sch::ListVisitsResponse* response) override {
    absl::MutexLock lock(&mu_);
    list_ = *request;
    response->add_visits()->set_name("visits/1");
    return grpc::Status::OK;
  }

  grpc::Status CompleteVisit(grpc::ServerContext*, const sch::CompleteVisitRequest* request,
                             sch::Visit* response) override {
    absl::MutexLock lock(&mu_);
    complete_ = *request;
    response->set_name(request->name());
    response->set_status(request->status());
    return grpc::Status::OK;
  }

  grpc::Status PlanDay(grpc::ServerContext*, const sch::PlanDayRequest* request, sch::DayPlan* response) override {
    absl::MutexLock lock(&mu_);
    plan_ = *request;
    response->set_algorithm("exact");
    return grpc::Status::OK;
  }

  grpc::Status ListTasks(grpc::ServerContext*, const sch::ListTasksRequest* request,
                         sch::ListTasksResponse*) override {
    absl::MutexLock lock(&mu_);
    tasks_ = *request;
    return grpc::Status::OK;
  }

  grpc::Status ExportCalendar(grpc::ServerContext*, const sch::ExportCalendarRequest* request,
                              sch::CalendarExport* response) override {
    absl::MutexLock lock(&mu_);
    export_ = *request;
    response->set_content_type("text/calendar; charset=utf-8");
    response->set_ics("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n");
    return grpc::Status::OK;
  }

  static constexpr int64_t kBookedStart = 1764000000;

  sch::BookVisitRequest book() const {
    absl::MutexLock lock(&mu_);
    return book_;
  }
  sch::ListVisitsRequest list() const {
    absl::MutexLock lock(&mu_);
    return list_;
  }
  sch::CompleteVisitRequest complete() const {
    absl::MutexLock lock(&mu_);
    return complete_;
  }
  sch::PlanDayRequest plan() const {
    absl::MutexLock lock(&mu_);
    return plan_;
  }
  sch::ListTasksRequest tasks() const {
    absl::MutexLock lock(&mu_);
    return tasks_;
  }
  sch::ExportCalendarRequest calendar_export() const {
    absl::MutexLock lock(&mu_);
    return export_;
  }

 private:
  mutable absl::Mutex mu_;
  sch::BookVisitRequest book_ ABSL_GUARDED_BY(mu_);
  sch::ListVisitsRequest list_ ABSL_GUARDED_BY(mu_);
  sch::CompleteVisitRequest complete_ ABSL_GUARDED_BY(mu_);
  sch::PlanDayRequest plan_ ABSL_GUARDED_BY(mu_);
  sch::ListTasksRequest tasks_ ABSL_GUARDED_BY(mu_);
  sch::ExportCalendarRequest export_ ABSL_GUARDED_BY(mu_);
};

class FakeHealth final : public grpc::health::v1::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override {
    response->set_status(request->service().empty()
                             ? grpc::health::v1::HealthCheckResponse::SERVING
                             : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
    return grpc::Status::OK;
  }
};

class CrmctlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&customers_);
    builder.RegisterService(&complaints_);
    builder.RegisterService(&scheduling_);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    options_.address = "127.0.0.1:" + std::to_string(port);
    options_.token = "tok-123";
  }
  void TearDown() override { server_->Shutdown(); }

  FakeCustomerService customers_;
  FakeComplaintService complaints_;
  FakeSchedulingService scheduling_;
  FakeHealth health_;
  std::unique_ptr<grpc::Server> server_;
  GlobalOptions options_;
};

TEST_F(CrmctlServerTest, GetPrintsJsonAndSendsBearerToken) {
  Result result = RunCrmctl(options_, {"customers", "get", "customers/9"});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_EQ(result.out, "{\"name\":\"customers/9\",\"displayName\":\"华为技术有限公司\"}\n");
  EXPECT_EQ(customers_.authorization(), "Bearer tok-123");
}

TEST_F(CrmctlServerTest, ErrorsPrintFieldViolationsAndExitOne) {
  Result result = RunCrmctl(options_, {"customers", "create", "--json", "{\"kind\":\"ENTERPRISE\"}"});
  EXPECT_EQ(result.exit_code, kExitFailed);
  EXPECT_EQ(result.err,
            "ERROR INVALID_ARGUMENT: invalid customer\n  customer.display_name: required\n");
  EXPECT_EQ(result.out, "");
}

TEST_F(CrmctlServerTest, UpdateSendsNameEtagAndMask) {
  Result result = RunCrmctl(options_, {"customers", "update", "customers/3", "--json",
                                 "{\"displayName\":\"新名\",\"industry\":\"IT\"}", "--mask",
                                 "display_name, industry", "--etag", "ignored-by-fake"});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("\"name\":\"customers/3\""));
  EXPECT_THAT(result.out, HasSubstr("\"etag\":\"display_name+industry\""));
}

TEST_F(CrmctlServerTest, ImportStreamsBatchesOfAThousand) {
  std::string csv = "display_name,phone,department,title,brand,products\n";
  for (int i = 0; i < 2500; ++i) absl::StrAppend(&csv, "员工", i, ",139", i, ",部门,,,\n");
  const std::string path = TempFile("members.csv", csv);
  Result result = RunCrmctl(options_, {"members", "import", "--parent", "customers/5", "--csv", path});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_EQ(result.out, "{\"imported\":\"2500\"}\n");
  EXPECT_THAT(customers_.batch_sizes(), ElementsAre(1000, 1000, 500));
  EXPECT_THAT(customers_.parents(), ElementsAre("customers/5", "", ""));
}

TEST_F(CrmctlServerTest, HealthExitsZeroOnlyWhenServing) {
  Result serving = RunCrmctl(options_, {"health"});
  EXPECT_EQ(serving.exit_code, kExitOk);
  EXPECT_EQ(serving.out, "SERVING\n");
  Result not_serving = RunCrmctl(options_, {"health", "--service", "crm.customers.v1.CustomerService"});
  EXPECT_EQ(not_serving.exit_code, kExitFailed);
  EXPECT_EQ(not_serving.out, "NOT_SERVING\n");
}

TEST_F(CrmctlServerTest, UnimplementedCallReportsCode) {
  Result result = RunCrmctl(options_, {"quality"});
  EXPECT_EQ(result.exit_code, kExitFailed);
  EXPECT_THAT(result.err, StartsWith("ERROR UNIMPLEMENTED"));
}

// ---- complaints ----

TEST_F(CrmctlServerTest, ComplaintsRecordSendsComplaintAndRequestId) {
  Result result = RunCrmctl(
      options_, {"complaints", "record", "--request-id", "r-42", "--json",
                 "{\"customer\":\"customers/1\",\"channel\":\"PHONE\","
                 "\"statement\":\"网络中断\",\"severity\":\"MAJOR\"}"});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  const cmp::RecordComplaintRequest sent = complaints_.record();
  EXPECT_EQ(sent.request_id(), "r-42");
  EXPECT_EQ(sent.complaint().customer(), "customers/1");
  EXPECT_EQ(sent.complaint().channel(), cmp::PHONE);
  EXPECT_EQ(sent.complaint().severity(), cmp::MAJOR);
  EXPECT_EQ(sent.complaint().statement(), "网络中断");
  EXPECT_EQ(result.out,
            "{\"name\":\"complaints/7\",\"customer\":\"customers/1\",\"channel\":\"PHONE\","
            "\"severity\":\"MAJOR\",\"statement\":\"网络中断\",\"status\":\"OPEN\"}\n");

  // From a file, without a request id.
  const std::string path = TempFile("complaint.json", "{\"customer\":\"customers/2\"}");
  ASSERT_EQ(RunCrmctl(options_, {"complaints", "record", "--json", "@" + path}).exit_code, kExitOk);
  EXPECT_EQ(complaints_.record().complaint().customer(), "customers/2");
  EXPECT_EQ(complaints_.record().request_id(), "");
}

TEST_F(CrmctlServerTest, ComplaintsListSendsFiltersAndRejectsUnknownStatus) {
  Result result = RunCrmctl(options_, {"complaints", "list", "--customer", "customers/1",
                                       "--status", "in_progress", "--open-only", "--page-size",
                                       "5", "--page-token", "p1"});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  const cmp::ListComplaintsRequest sent = complaints_.list();
  EXPECT_EQ(sent.customer(), "customers/1");
  EXPECT_EQ(sent.owner(), "");
  EXPECT_EQ(sent.status(), cmp::IN_PROGRESS);
  EXPECT_TRUE(sent.open_only());
  EXPECT_FALSE(sent.at_risk_only());
  EXPECT_EQ(sent.page_size(), 5);
  EXPECT_EQ(sent.page_token(), "p1");
  EXPECT_EQ(result.out,
            "{\"complaints\":[{\"name\":\"complaints/7\",\"status\":\"IN_PROGRESS\"}],"
            "\"nextPageToken\":\"p2\"}\n");

  ASSERT_EQ(RunCrmctl(options_, {"complaints", "list", "--at-risk-only", "--owner", "u-1"})
                .exit_code,
            kExitOk);
  EXPECT_TRUE(complaints_.list().at_risk_only());
  EXPECT_FALSE(complaints_.list().open_only());
  EXPECT_EQ(complaints_.list().owner(), "u-1");
  EXPECT_EQ(complaints_.list().status(), cmp::COMPLAINT_STATUS_UNSPECIFIED);
  EXPECT_EQ(complaints_.list_calls(), 2);

  for (const char* bad : {"PENDING", "COMPLAINT_STATUS_UNSPECIFIED"}) {
    Result rejected = RunCrmctl(options_, {"complaints", "list", "--status", bad});
    EXPECT_EQ(rejected.exit_code, kExitUsage) << bad;
    EXPECT_EQ(rejected.out, "");
    EXPECT_THAT(rejected.err, HasSubstr("--status must be one of OPEN, IN_PROGRESS, "
                                        "WAITING_ON_CUSTOMER, RESOLUTION_PROPOSED, RESOLVED, "
                                        "CLOSED, REVISITED"));
  }
  EXPECT_EQ(complaints_.list_calls(), 2);  // nothing sent
}

TEST_F(CrmctlServerTest, ComplaintsDecideSendsRejectionWithComment) {
  Result result = RunCrmctl(options_, {"complaints", "decide", "complaints/7", "--accepted",
                                       "false", "--comment", "仍然断网", "--etag", "e3"});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  const cmp::RecordCustomerDecisionRequest sent = complaints_.decision();
  EXPECT_EQ(sent.name(), "complaints/7");
  EXPECT_FALSE(sent.accepted());
  EXPECT_EQ(sent.comment(), "仍然断网");
  EXPECT_EQ(sent.etag(), "e3");
  EXPECT_EQ(result.out,
            "{\"name\":\"complaints/7\",\"escalated\":true,\"status\":\"IN_PROGRESS\"}\n");

  ASSERT_EQ(RunCrmctl(options_, {"complaints", "decide", "complaints/8", "--accepted", "true"})
                .exit_code,
            kExitOk);
  EXPECT_TRUE(complaints_.decision().accepted());
  EXPECT_EQ(complaints_.decision().comment(), "");
  EXPECT_EQ(complaints_.decision().etag(), "");
}

TEST_F(CrmctlServerTest, ComplaintsRevisitRejectsNonNumericSatisfaction) {
  Result result = RunCrmctl(options_, {"complaints", "revisit", "complaints/7", "--satisfaction",
                                       "good"});
  EXPECT_EQ(result.exit_code, kExitUsage);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "crmctl: --satisfaction must be an integer from 1 to 5\n");
  EXPECT_EQ(complaints_.revisit_calls(), 0);

  Result ok = RunCrmctl(options_, {"complaints", "revisit", "complaints/7", "--satisfaction", "5"});
  ASSERT_EQ(ok.exit_code, kExitOk) << ok.err;
  EXPECT_EQ(ok.out, "{\"name\":\"complaints/7\",\"revisit\":{\"satisfaction\":5}}\n");
  EXPECT_EQ(complaints_.revisit_calls(), 1);
}

TEST_F(CrmctlServerTest, ComplaintsReportSendsPeriodAndTeam) {
  Result result = RunCrmctl(options_, {"complaints", "report", "--start",
                                       "2024-05-01T00:00:00+08:00", "--end",
                                       "2024-06-01T00:00:00Z", "--team", "east"});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  const cmp::GetSlaComplianceReportRequest sent = complaints_.report();
  EXPECT_EQ(sent.start_time().seconds(), 1714492800);  // 2024-04-30T16:00:00Z
  EXPECT_EQ(sent.end_time().seconds(), 1717200000);
  EXPECT_EQ(sent.team(), "east");
  EXPECT_EQ(result.out, "{\"vipTargetMet\":true}\n");
}

TEST_F(CrmctlServerTest, ComplaintsUnimplementedCallReportsCode) {
  Result result = RunCrmctl(options_, {"complaints", "close", "complaints/7", "--etag", "e1"});
  EXPECT_EQ(result.exit_code, kExitFailed);
  EXPECT_THAT(result.err, StartsWith("ERROR UNIMPLEMENTED"));
}

// ---- scheduling ----

TEST_F(CrmctlServerTest, VisitsBookSendsTheVisitAndReportsAConflict) {
  Result result = RunCrmctl(options_, {"visits", "book", "--customer", "customers/3", "--start",
                                       "2026-11-24T10:00:00+08:00", "--end", "2026-11-24T11:00:00+08:00",
                                       "--purpose", "negotiation", "--contact", "customers/3/contacts/4",
                                       "--place", "福州市五四路1号", "--request-id", "r-9"});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  const sch::BookVisitRequest sent = scheduling_.book();
  EXPECT_EQ(sent.request_id(), "r-9");
  EXPECT_EQ(sent.visit().customer(), "customers/3");
  EXPECT_EQ(sent.visit().contact(), "customers/3/contacts/4");
  EXPECT_EQ(sent.visit().place(), "福州市五四路1号");
  EXPECT_EQ(sent.visit().owner(), "");
  EXPECT_EQ(sent.visit().purpose(), sch::NEGOTIATION);
  EXPECT_EQ(sent.visit().start_time().seconds(), 1795485600);  // 2026-11-24T02:00:00Z
  EXPECT_EQ(sent.visit().end_time().seconds(), 1795489200);
  EXPECT_THAT(result.out, StartsWith("{\"name\":\"visits/2\",\"customer\":\"customers/3\""));

  Result conflict = RunCrmctl(options_, {"visits", "book", "--customer", "customers/3", "--start",
                                         "2025-11-24T16:00:00Z", "--end", "2025-11-24T17:00:00Z", "--purpose",
                                         "GIFT", "--owner", "u-2"});
  EXPECT_EQ(conflict.exit_code, kExitFailed);
  EXPECT_EQ(conflict.err, "ERROR FAILED_PRECONDITION: the manager is already booked: overlaps visits/1 (SCH-2)\n");
  EXPECT_EQ(conflict.out, "");
  EXPECT_EQ(scheduling_.book().visit().owner(), "u-2");
  EXPECT_EQ(scheduling_.book().request_id(), "");
}

TEST_F(CrmctlServerTest, VisitsListSendsOnlyTheFiltersGiven) {
  ASSERT_EQ(RunCrmctl(options_, {"visits", "list"}).exit_code, kExitOk);
  EXPECT_FALSE(scheduling_.list().has_start_time());
  EXPECT_FALSE(scheduling_.list().has_end_time());
  EXPECT_EQ(scheduling_.list().status(), sch::VISIT_STATUS_UNSPECIFIED);

  Result result = RunCrmctl(options_, {"visits", "list", "--owner", "u-1", "--customer", "customers/3", "--status",
                                       "planned", "--start", "2026-11-01T00:00:00+08:00", "--unverified-only",
                                       "--page-size", "20"});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  const sch::ListVisitsRequest sent = scheduling_.list();
  EXPECT_EQ(sent.owner(), "u-1");
  EXPECT_EQ(sent.customer(), "customers/3");
  EXPECT_EQ(sent.status(), sch::PLANNED);
  EXPECT_EQ(sent.start_time().seconds(), 1793462400);  // 2026-10-31T16:00:00Z
  EXPECT_FALSE(sent.has_end_time());
  EXPECT_TRUE(sent.unverified_only());
  EXPECT_EQ(sent.page_size(), 20);
  EXPECT_EQ(result.out, "{\"visits\":[{\"name\":\"visits/1\"}]}\n");
}

TEST_F(CrmctlServerTest, VisitsCompleteSendsTheLogOnlyWhenDone) {
  ASSERT_EQ(RunCrmctl(options_, {"visits", "complete", "visits/5", "--status", "DONE", "--discussed", "续约",
                                 "--needs-found", "专线扩容", "--etag", "3"})
                .exit_code,
            kExitOk);
  sch::CompleteVisitRequest sent = scheduling_.complete();
  EXPECT_EQ(sent.name(), "visits/5");
  EXPECT_EQ(sent.etag(), "3");
  EXPECT_EQ(sent.status(), sch::DONE);
  EXPECT_EQ(sent.log().discussed(), "续约");
  EXPECT_EQ(sent.log().needs_found(), "专线扩容");

  ASSERT_EQ(RunCrmctl(options_, {"visits", "complete", "visits/6", "--status", "no_show"}).exit_code, kExitOk);
  sent = scheduling_.complete();
  EXPECT_EQ(sent.status(), sch::NO_SHOW);
  EXPECT_FALSE(sent.has_log());
}

TEST_F(CrmctlServerTest, PlanDaySendsDateCandidatesWindowAndHome) {
  Result result = RunCrmctl(options_, {"plan-day", "--date", "2026-11-24", "--candidates",
                                       "customers/1, customers/2,customers/3", "--day-start", "08:30",
                                       "--visit-minutes", "45", "--home", "26.08,119.30"});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  const sch::PlanDayRequest sent = scheduling_.plan();
  EXPECT_EQ(sent.date().year(), 2026);
  EXPECT_EQ(sent.date().month(), 11);
  EXPECT_EQ(sent.date().day(), 24);
  EXPECT_THAT(sent.candidates(), ElementsAre("customers/1", "customers/2", "customers/3"));
  EXPECT_EQ(sent.day_start_minute(), 8 * 60 + 30);
  EXPECT_EQ(sent.day_end_minute(), 18 * 60);  // the default end kept
  EXPECT_EQ(sent.visit_minutes(), 45);
  EXPECT_DOUBLE_EQ(sent.home().latitude(), 26.08);
  EXPECT_DOUBLE_EQ(sent.home().longitude(), 119.30);
  EXPECT_EQ(result.out, "{\"algorithm\":\"exact\"}\n");

  ASSERT_EQ(RunCrmctl(options_, {"plan-day", "--date", "2026-11-25", "--candidates", "customers/1"}).exit_code,
            kExitOk);
  EXPECT_EQ(scheduling_.plan().day_start_minute(), 0);  // the service's default window
  EXPECT_EQ(scheduling_.plan().day_end_minute(), 0);
  EXPECT_FALSE(scheduling_.plan().has_home());
}

TEST_F(CrmctlServerTest, TasksListSendsStateKindAndDeadline) {
  ASSERT_EQ(RunCrmctl(options_, {"tasks", "list", "--state", "TASK_OPEN", "--kind", "complaint_revisit",
                                 "--due-before", "2026-12-01T00:00:00Z", "--source", "complaints/7"})
                .exit_code,
            kExitOk);
  const sch::ListTasksRequest sent = scheduling_.tasks();
  EXPECT_EQ(sent.state(), sch::TASK_OPEN);
  EXPECT_EQ(sent.kind(), sch::COMPLAINT_REVISIT);
  EXPECT_EQ(sent.due_before().seconds(), 1796083200);
  EXPECT_EQ(sent.source(), "complaints/7");
}

TEST_F(CrmctlServerTest, CalendarExportWritesTheIcsToStdoutOrAFile) {
  Result result = RunCrmctl(options_, {"calendar", "export", "--owner", "u-1"});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_EQ(result.out, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n");
  EXPECT_EQ(scheduling_.calendar_export().owner(), "u-1");
  EXPECT_FALSE(scheduling_.calendar_export().has_start_time());

  const std::string path = ::testing::TempDir() + "/crmctl_calendar.ics";
  Result to_file = RunCrmctl(options_, {"calendar", "export", "--start", "2026-11-01T00:00:00Z", "--end",
                                        "2026-12-01T00:00:00Z", "--out", path});
  ASSERT_EQ(to_file.exit_code, kExitOk) << to_file.err;
  EXPECT_EQ(to_file.out, "");
  std::ifstream file(path, std::ios::binary);
  std::stringstream contents;
  contents << file.rdbuf();
  EXPECT_EQ(contents.str(), "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n");
  EXPECT_EQ(scheduling_.calendar_export().start_time().seconds(), 1793491200);
  EXPECT_EQ(scheduling_.calendar_export().end_time().seconds(), 1796083200);
}

TEST_F(CrmctlServerTest, SchedulingUnimplementedCallReportsCode) {
  Result result = RunCrmctl(options_, {"care", "due", "--overdue-only"});
  EXPECT_EQ(result.exit_code, kExitFailed);
  EXPECT_THAT(result.err, StartsWith("ERROR UNIMPLEMENTED"));
}

}  // namespace
}  // namespace crm::crmctl
