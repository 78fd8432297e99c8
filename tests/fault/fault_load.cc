#include "tests/fault/fault_load.h"

#include <google/protobuf/field_mask.pb.h>

#include <cstdio>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/util/proto_time.h"
#include "crm/complaints/v1/complaints.grpc.pb.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "crm/opportunities/v1/opportunities.grpc.pb.h"
#include "crm/scheduling/v1/scheduling.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"

namespace crm::fault {
namespace {

namespace cpb = ::crm::customers::v1;
namespace opb = ::crm::opportunities::v1;
namespace kpb = ::crm::complaints::v1;
namespace spb = ::crm::scheduling::v1;

constexpr char kAddress[] = "上海市浦东新区世纪大道 100 号";

// Every row a manager owns, page by page, as that manager, straight from
// the owning service. `list` fills one page and returns the next token.
template <typename Row>
std::vector<Row> ListAll(const std::function<grpc::Status(grpc::ClientContext&, const std::string& token,
                                                          std::vector<Row>& rows, std::string& next)>& list,
                         const auth::Principal& as, std::vector<std::string>& problems) {
  std::vector<Row> rows;
  std::string token;
  do {
    auto ctx = testing::E2eContext(as);
    std::string next;
    grpc::Status s = list(*ctx, token, rows, next);
    if (!s.ok()) {
      problems.push_back(absl::StrCat("listing as ", as.subject, ": ", s.error_message()));
      return rows;
    }
    token = next;
  } while (!token.empty());
  return rows;
}

}  // namespace

void PrintFaultTable(const std::vector<FaultFigures>& rows) {
  std::printf("\n%-34s %12s %7s %13s %14s %6s %11s\n", "scenario", "load calls/s", "faults", "acknowledged",
              "rows verified", "lost", "duplicated");
  for (const FaultFigures& r : rows) {
    std::printf("%-34s %12.1f %7d %13lld %14lld %6lld %11lld\n", r.scenario.c_str(), r.calls_per_second, r.faults,
                static_cast<long long>(r.acknowledged), static_cast<long long>(r.verified),
                static_cast<long long>(r.lost), static_cast<long long>(r.duplicated));
  }
  std::fflush(stdout);
}

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

bool Eventually(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  while (absl::Now() < until) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

grpc::health::v1::HealthCheckResponse::ServingStatus HealthOf(const testing::ServiceProcess& process) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  grpc::health::v1::HealthCheckResponse reply;
  grpc::Status s = grpc::health::v1::Health::NewStub(process.channel())->Check(&ctx, {}, &reply);
  return s.ok() ? reply.status() : grpc::health::v1::HealthCheckResponse::UNKNOWN;
}

MixedLoad::MixedLoad(Options options) : options_(std::move(options)) {
  for (int i = 0; i < options_.workers; ++i) {
    auto w = std::make_unique<Worker>();
    w->who = {absl::StrCat("mgr-", options_.tag, "-", i), auth::Role::kManager, "east"};
    workers_.push_back(std::move(w));
  }
}

MixedLoad::~MixedLoad() { Stop(); }

void MixedLoad::Start() {
  started_ = absl::Now();
  for (auto& w : workers_) threads_.emplace_back([this, w = w.get()] { Run(*w); });
}

void MixedLoad::Stop() {
  stop_ = true;
  if (threads_.empty()) return;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  stopped_ = absl::Now();
}

absl::Duration MixedLoad::elapsed() const { return (threads_.empty() ? stopped_ : absl::Now()) - started_; }

std::vector<std::string> MixedLoad::error_samples() const {
  absl::MutexLock lock(&mu_);
  return error_samples_;
}

std::vector<std::string> MixedLoad::AcknowledgedComplaints() const {
  absl::MutexLock lock(&mu_);
  return complaints_;
}

std::vector<std::string> MixedLoad::AcknowledgedCustomers() const {
  absl::MutexLock lock(&mu_);
  return customers_;
}

bool MixedLoad::WaitForAcknowledged(int64_t n, absl::Duration timeout) const {
  const int64_t target = acknowledged() + n;
  return Eventually([&] { return acknowledged() >= target; }, timeout);
}

bool MixedLoad::WaitForFailedAttempts(int64_t n, absl::Duration timeout) const {
  const int64_t target = failed_attempts() + n;
  return Eventually([&] { return failed_attempts() >= target; }, timeout);
}

void MixedLoad::Error(const Worker& w, const std::string& what, const grpc::Status& s) {
  ++errors_;
  absl::MutexLock lock(&mu_);
  if (error_samples_.size() < 20) {
    error_samples_.push_back(absl::StrCat(w.who.subject, " ", what, ": code ", s.error_code(), " ", s.error_message()));
  }
}

grpc::Status MixedLoad::Call(Worker& w, const std::function<grpc::Status(grpc::ClientContext&)>& rpc) {
  const absl::Time give_up = absl::Now() + options_.give_up;
  absl::Duration backoff = absl::Milliseconds(20);
  while (true) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", testing::E2eBearer(w.who));
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_deadline));
    ++calls_;
    grpc::Status s = rpc(ctx);
    if (s.ok()) {
      ++acknowledged_;
      return s;
    }
    if (!Retryable(s.error_code()) || absl::Now() + backoff > give_up) return s;
    ++failed_attempts_;
    absl::SleepFor(backoff);  // the client's retry back-off
    backoff = std::min(backoff * 2, absl::Milliseconds(320));
  }
}

void MixedLoad::Run(Worker& w) {
  while (!stop_ && Round(w)) {
  }
}

bool MixedLoad::Round(Worker& w) {
  const int n = w.next++;
  const std::string id = absl::StrCat(options_.tag, "-", w.who.subject, "-", n);

  cpb::CustomerService::Stub customers(options_.gateway);
  cpb::CreateCustomerRequest create;
  create.set_request_id(absl::StrCat(id, "-customer"));
  create.mutable_customer()->set_kind(cpb::INDIVIDUAL);
  create.mutable_customer()->set_display_name(absl::StrCat("故障客户 ", create.request_id()));
  create.mutable_customer()->set_address(kAddress);
  cpb::Customer customer;
  grpc::Status s = Call(w, [&](grpc::ClientContext& ctx) { return customers.CreateCustomer(&ctx, create, &customer); });
  if (!s.ok()) {
    Error(w, create.request_id(), s);
    return false;
  }
  w.acked.push_back({"customer", create.request_id(), customer.name()});
  w.customers.push_back({customer.name(), 0});
  {
    absl::MutexLock lock(&mu_);
    customers_.push_back(customer.name());
  }

  opb::OpportunityService::Stub opportunities(options_.gateway);
  opb::CreateOpportunityRequest opportunity;
  opportunity.set_request_id(absl::StrCat(id, "-opportunity"));
  opportunity.mutable_opportunity()->set_customer(customer.name());
  opportunity.mutable_opportunity()->set_type(opb::INFO_SOLUTION);
  opportunity.mutable_opportunity()->set_title(opportunity.request_id());
  opportunity.mutable_opportunity()->mutable_amount()->set_currency_code("CNY");
  opportunity.mutable_opportunity()->mutable_amount()->set_units(100000 + n);
  opb::Opportunity o;
  s = Call(w, [&](grpc::ClientContext& ctx) { return opportunities.CreateOpportunity(&ctx, opportunity, &o); });
  if (!s.ok()) {
    Error(w, opportunity.request_id(), s);
    return false;
  }
  w.acked.push_back({"opportunity", opportunity.request_id(), o.name()});

  kpb::ComplaintService::Stub complaints(options_.gateway);
  kpb::RecordComplaintRequest record;
  record.set_request_id(absl::StrCat(id, "-complaint"));
  record.mutable_complaint()->set_customer(customer.name());
  record.mutable_complaint()->set_channel(kpb::HALL);
  record.mutable_complaint()->set_category(kpb::TARIFF);
  record.mutable_complaint()->set_statement(absl::StrCat("账单多扣费 ", record.request_id()));
  kpb::Complaint c;
  s = Call(w, [&](grpc::ClientContext& ctx) { return complaints.RecordComplaint(&ctx, record, &c); });
  if (!s.ok()) {
    Error(w, record.request_id(), s);
    return false;
  }
  w.acked.push_back({"complaint", record.request_id(), c.name()});
  {
    absl::MutexLock lock(&mu_);
    complaints_.push_back(c.name());
  }

  // One hour each, two hours apart, from three days ahead: one manager's
  // visits never overlap, so a refusal can only mean a retried booking was
  // taken for a new one.
  spb::SchedulingService::Stub scheduling(options_.gateway);
  spb::BookVisitRequest book;
  book.set_request_id(absl::StrCat(id, "-visit"));
  const absl::Time start =
      absl::FromUnixSeconds((absl::ToUnixSeconds(started_) / 3600 + 72) * 3600) + absl::Hours(2) * n;
  book.mutable_visit()->set_customer(customer.name());
  book.mutable_visit()->set_purpose(spb::COURTESY);
  ToProto(start, book.mutable_visit()->mutable_start_time());
  ToProto(start + absl::Hours(1), book.mutable_visit()->mutable_end_time());
  book.mutable_visit()->add_checklist()->set_text(book.request_id());
  spb::Visit v;
  s = Call(w, [&](grpc::ClientContext& ctx) { return scheduling.BookVisit(&ctx, book, &v); });
  if (!s.ok()) {
    Error(w, book.request_id(), s);
    return false;
  }
  w.acked.push_back({"visit", book.request_id(), v.name()});

  if (!Increment(w, w.customers.back())) return false;

  cpb::GetCustomerRequest get;
  get.set_name(customer.name());
  cpb::Customer read;
  s = Call(w, [&](grpc::ClientContext& ctx) { return customers.GetCustomer(&ctx, get, &read); });
  if (!s.ok()) {
    Error(w, absl::StrCat("get ", customer.name()), s);
    return false;
  }
  return true;
}

bool MixedLoad::Increment(Worker& w, CustomerState& c) {
  cpb::CustomerService::Stub customers(options_.gateway);
  bool unknown_outcome = false;  // an update may have been applied unseen
  for (int attempt = 0; attempt < 50; ++attempt) {
    cpb::GetCustomerRequest get;
    get.set_name(c.name);
    cpb::Customer current;
    grpc::Status s = Call(w, [&](grpc::ClientContext& ctx) { return customers.GetCustomer(&ctx, get, &current); });
    if (!s.ok()) {
      Error(w, absl::StrCat("get ", c.name), s);
      return false;
    }
    // This client is the customer's only writer: a count one past what it
    // knows means its last update went through.
    if (unknown_outcome && current.employee_count() == c.increments + 1) {
      ++c.increments;
      return true;
    }
    cpb::UpdateCustomerRequest update;
    update.mutable_customer()->set_name(c.name);
    update.mutable_customer()->set_etag(current.etag());
    update.mutable_customer()->set_employee_count(current.employee_count() + 1);
    update.mutable_update_mask()->add_paths("employee_count");
    cpb::Customer updated;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", testing::E2eBearer(w.who));
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_deadline));
    ++calls_;
    s = customers.UpdateCustomer(&ctx, update, &updated);
    if (s.ok()) {
      ++acknowledged_;
      ++c.increments;
      return true;
    }
    if (Retryable(s.error_code())) {
      ++failed_attempts_;
      unknown_outcome = true;
    } else if (s.error_code() != grpc::StatusCode::ABORTED) {  // ABORTED: the etag moved; read again
      Error(w, absl::StrCat("update ", c.name), s);
      return false;
    }
  }
  Error(w, absl::StrCat("update ", c.name), grpc::Status(grpc::StatusCode::ABORTED, "no attempt succeeded"));
  return false;
}

MixedLoad::Verification MixedLoad::Verify(const testing::ServiceSuite& suite) const {
  Verification out;
  cpb::CustomerService::Stub customers(suite.customers().channel());
  opb::OpportunityService::Stub opportunities(suite.opportunities().channel());
  kpb::ComplaintService::Stub complaints(suite.complaints().channel());
  spb::SchedulingService::Stub scheduling(suite.scheduling().channel());
  for (const auto& w : workers_) {
    // Stored rows by the request id in their text, with their names.
    std::map<std::string, std::vector<std::string>> stored;
    std::map<std::string, int64_t> employees;
    auto rows = [&](const std::string& kind, const std::string& text, const std::string& name) {
      const std::string marker = absl::StrCat(options_.tag, "-", w->who.subject, "-");
      const size_t at = text.find(marker);
      stored[absl::StrCat(kind, " ", at == std::string::npos ? text : text.substr(at))].push_back(name);
    };
    for (const cpb::Customer& c : ListAll<cpb::Customer>(
             [&](grpc::ClientContext& ctx, const std::string& token, std::vector<cpb::Customer>& all, std::string& next) {
               cpb::ListCustomersRequest req;
               req.set_page_size(500);
               req.set_page_token(token);
               cpb::ListCustomersResponse page;
               grpc::Status s = customers.ListCustomers(&ctx, req, &page);
               all.insert(all.end(), page.customers().begin(), page.customers().end());
               next = page.next_page_token();
               return s;
             },
             w->who, out.problems)) {
      rows("customer", c.display_name(), c.name());
      employees[c.name()] = c.employee_count();
    }
    for (const opb::Opportunity& o : ListAll<opb::Opportunity>(
             [&](grpc::ClientContext& ctx, const std::string& token, std::vector<opb::Opportunity>& all,
                 std::string& next) {
               opb::ListOpportunitiesRequest req;
               req.set_page_size(500);
               req.set_page_token(token);
               opb::ListOpportunitiesResponse page;
               grpc::Status s = opportunities.ListOpportunities(&ctx, req, &page);
               all.insert(all.end(), page.opportunities().begin(), page.opportunities().end());
               next = page.next_page_token();
               return s;
             },
             w->who, out.problems)) {
      rows("opportunity", o.title(), o.name());
    }
    for (const kpb::Complaint& c : ListAll<kpb::Complaint>(
             [&](grpc::ClientContext& ctx, const std::string& token, std::vector<kpb::Complaint>& all,
                 std::string& next) {
               kpb::ListComplaintsRequest req;
               req.set_page_size(500);
               req.set_page_token(token);
               kpb::ListComplaintsResponse page;
               grpc::Status s = complaints.ListComplaints(&ctx, req, &page);
               all.insert(all.end(), page.complaints().begin(), page.complaints().end());
               next = page.next_page_token();
               return s;
             },
             w->who, out.problems)) {
      rows("complaint", c.statement(), c.name());
    }
    for (const spb::Visit& v : ListAll<spb::Visit>(
             [&](grpc::ClientContext& ctx, const std::string& token, std::vector<spb::Visit>& all, std::string& next) {
               spb::ListVisitsRequest req;
               req.set_page_size(500);
               req.set_page_token(token);
               spb::ListVisitsResponse page;
               grpc::Status s = scheduling.ListVisits(&ctx, req, &page);
               all.insert(all.end(), page.visits().begin(), page.visits().end());
               next = page.next_page_token();
               return s;
             },
             w->who, out.problems)) {
      rows("visit", v.checklist().empty() ? "" : v.checklist(0).text(), v.name());
    }

    std::set<std::string> acknowledged;
    for (const Acked& a : w->acked) {
      const std::string key = absl::StrCat(a.kind, " ", a.request_id);
      acknowledged.insert(key);
      auto it = stored.find(key);
      if (it == stored.end()) {
        ++out.lost;
        out.problems.push_back(absl::StrCat("lost: ", key, " (", a.name, ")"));
      } else if (it->second.size() > 1) {
        out.duplicated += static_cast<int64_t>(it->second.size()) - 1;
        out.problems.push_back(absl::StrCat("duplicated: ", key, " ", it->second.size(), " rows"));
      } else if (it->second.front() != a.name) {
        ++out.lost;
        out.problems.push_back(absl::StrCat("acknowledged as ", a.name, " but stored as ", it->second.front()));
      } else {
        ++out.verified;
      }
    }
    for (const auto& [key, names] : stored) {
      if (!acknowledged.contains(key)) out.unacknowledged_stored += static_cast<int64_t>(names.size());
    }
    for (const CustomerState& c : w->customers) {
      auto it = employees.find(c.name);
      if (it != employees.end() && it->second == c.increments) {
        ++out.verified;
      } else {
        ++out.lost;
        out.problems.push_back(absl::StrCat("lost update: ", c.name, " has employee_count ",
                                            it == employees.end() ? -1 : it->second, ", acknowledged ",
                                            c.increments));
      }
    }
  }
  return out;
}

MixedLoad::Verification StopAndVerify(MixedLoad& load, const testing::ServiceSuite& suite) {
  load.Stop();
  EXPECT_EQ(load.errors(), 0) << absl::StrJoin(load.error_samples(), "\n");
  MixedLoad::Verification v = load.Verify(suite);
  EXPECT_EQ(v.lost, 0);
  EXPECT_EQ(v.duplicated, 0);
  EXPECT_TRUE(v.problems.empty()) << absl::StrJoin(v.problems, "\n");
  EXPECT_GT(v.verified, 0);
  return v;
}

void PrintLoadFigures(const std::string& scenario, int faults, const MixedLoad& load,
                      const MixedLoad::Verification& v) {
  PrintFaultTable({{.scenario = scenario,
                    .calls_per_second = static_cast<double>(load.calls()) / absl::ToDoubleSeconds(load.elapsed()),
                    .faults = faults,
                    .acknowledged = load.acknowledged(),
                    .verified = v.verified,
                    .lost = v.lost,
                    .duplicated = v.duplicated}});
  std::printf("failed attempts retried: %lld; rows stored for creates never acknowledged: %lld\n",
              static_cast<long long>(load.failed_attempts()), static_cast<long long>(v.unacknowledged_stored));
}

}  // namespace crm::fault
