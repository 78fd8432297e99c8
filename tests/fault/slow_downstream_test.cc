// Fault: a slow or stalled downstream, made by the fault proxy of this
// folder (fault_proxy.h) on loopback — once between the gateway and the
// customers service, once between the customers service and MariaDB —
// while a mixed load runs through the gateway. While the link is stalled,
// a burst of calls larger than the service's database pool all end by
// their deadline (DEADLINE_EXCEEDED or UNAVAILABLE, or shed at once with
// RESOURCE_EXHAUSTED by the thread cap), and calls that do not need the
// stalled link still succeed; a slowed link
// makes short deadlines fire and long ones succeed. With the database link
// stalled the customers service's readiness turns NOT_SERVING (its probe
// has its own connection with a 2 s timeout, --db_probe_timeout_seconds).
// Once the link is healthy again, calls succeed within their deadline,
// health is SERVING, and nothing the load had acknowledged is lost or
// duplicated. Calls with long deadlines wait for the stalled link in the
// service's batch queue up to its bound; beyond it they are refused at once
// with RESOURCE_EXHAUSTED, and every one that waited is answered once the
// link heals.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "crm/complaints/v1/complaints.grpc.pb.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"
#include "tests/fault/fault_load.h"
#include "tests/fault/fault_proxy.h"

namespace crm::fault {
namespace {

namespace cpb = ::crm::customers::v1;
namespace kpb = ::crm::complaints::v1;
using crm::testing::E2eContext;
using crm::testing::IsOk;
using crm::testing::ServiceSuite;
using Health = grpc::health::v1::HealthCheckResponse;

const auth::Principal kProbe{"mgr-fault-probe", auth::Role::kManager, "east"};
// Three times the customers service's database connections (a pool of 4
// is set below), well within its thread cap (4 × pool + 8 = 24 threads,
// pollers and the load's calls included): calls beyond the cap are shed
// with RESOURCE_EXHAUSTED by design, which is not the case under test.
constexpr int kBurst = 12;

struct Outcome {
  grpc::StatusCode code;
  absl::Duration latency;
};

grpc::Status GetCustomer(const std::shared_ptr<grpc::Channel>& channel, const std::string& customer,
                         absl::Duration deadline) {
  cpb::CustomerService::Stub stub(channel);
  auto ctx = E2eContext(kProbe);
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  cpb::GetCustomerRequest get;
  get.set_name(customer);
  cpb::Customer reply;
  return stub.GetCustomer(ctx.get(), get, &reply);
}

// `calls` GetCustomer calls at once over `channel`, each with `deadline`.
std::vector<Outcome> Burst(const std::shared_ptr<grpc::Channel>& channel, const std::string& customer, int calls,
                           absl::Duration deadline) {
  std::vector<Outcome> out(calls);
  std::vector<std::thread> threads;
  for (int i = 0; i < calls; ++i) {
    threads.emplace_back([&, i] {
      const absl::Time start = absl::Now();
      const grpc::Status s = GetCustomer(channel, customer, deadline);
      out[i] = {s.error_code(), absl::Now() - start};
    });
  }
  for (std::thread& t : threads) t.join();
  return out;
}

// Every call of a burst failed by its deadline (none waited for a free
// thread): DEADLINE_EXCEEDED or UNAVAILABLE, or RESOURCE_EXHAUSTED where
// the service's thread cap shed it (the load's own retries, every ≤ 320 ms
// with 3 s deadlines, keep threads waiting for the stalled pool). Prints
// how many ended with each.
void ExpectAllFailedFast(const std::string& what, const std::vector<Outcome>& outcomes, absl::Duration deadline) {
  absl::Duration slowest;
  std::map<grpc::StatusCode, int> codes;
  for (const Outcome& o : outcomes) {
    EXPECT_TRUE(o.code == grpc::StatusCode::DEADLINE_EXCEEDED || o.code == grpc::StatusCode::UNAVAILABLE ||
                o.code == grpc::StatusCode::RESOURCE_EXHAUSTED)
        << "code " << o.code;
    ++codes[o.code];
    slowest = std::max(slowest, o.latency);
  }
  EXPECT_LT(slowest, deadline + absl::Seconds(2));
  std::printf("%s: %d DEADLINE_EXCEEDED, %d UNAVAILABLE, %d RESOURCE_EXHAUSTED, slowest %.2f s\n", what.c_str(),
              codes[grpc::StatusCode::DEADLINE_EXCEEDED], codes[grpc::StatusCode::UNAVAILABLE],
              codes[grpc::StatusCode::RESOURCE_EXHAUSTED], absl::ToDoubleSeconds(slowest));
}

class SlowDownstreamTest : public ::testing::Test {
 protected:
  // The suite, with the customers service's pool small enough that a burst
  // exceeds it; `wire` puts the proxy in place before the start.
  void StartSuite(const std::function<void(ServiceSuite&, FaultProxy&)>& wire) {
    auto proxy = FaultProxy::Start();
    ASSERT_THAT(proxy, IsOk());
    proxy_ = *std::move(proxy);
    auto created = ServiceSuite::Create({.binaries = {CRM_CUSTOMERS_BINARY, CRM_OPPORTUNITIES_BINARY,
                                                      CRM_COMPLAINTS_BINARY, CRM_SCHEDULING_BINARY,
                                                      CRM_GATEWAY_BINARY}});
    ASSERT_THAT(created, IsOk());
    suite_ = *std::move(created);
    suite_->customers().env()["CRM_DB_POOL_SIZE"] = "4";
    wire(*suite_, *proxy_);
    ASSERT_THAT(suite_->Start(), IsOk());
    // The customers port is known only now; the gateway connects lazily.
    if (upstream_service_) proxy_->set_upstream("127.0.0.1", suite_->customers().port());

    cpb::CustomerService::Stub stub(suite_->gateway().channel());
    cpb::CreateCustomerRequest create;
    create.set_request_id("fault-probe-customer");
    create.mutable_customer()->set_kind(cpb::INDIVIDUAL);
    create.mutable_customer()->set_display_name("探测客户");
    cpb::Customer created_customer;
    grpc::Status s = stub.CreateCustomer(E2eContext(kProbe).get(), create, &created_customer);
    ASSERT_TRUE(s.ok()) << s.error_message();
    customer_ = created_customer.name();

    load_ = std::make_unique<MixedLoad>(
        MixedLoad::Options{.gateway = suite_->gateway().channel(), .workers = 2, .tag = tag_});
    load_->Start();
    ASSERT_TRUE(load_->WaitForAcknowledged(30, absl::Seconds(60)));
  }

  // Calls not needing the stalled link still succeed through the gateway.
  void ExpectComplaintsAnswer() {
    kpb::ComplaintService::Stub stub(suite_->gateway().channel());
    auto ctx = E2eContext(kProbe);
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    kpb::ListComplaintsRequest list;
    kpb::ListComplaintsResponse reply;
    grpc::Status s = stub.ListComplaints(ctx.get(), list, &reply);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  }

  // After the fault: health is SERVING soon, a call succeeds within its
  // deadline, then a whole burst does; the load made progress and lost or
  // duplicated nothing.
  void ExpectRecoveryAndVerify(const std::string& scenario, int faults) {
    const absl::Time healed = absl::Now();
    EXPECT_TRUE(Eventually([&] { return HealthOf(suite_->customers()) == Health::SERVING; }, absl::Seconds(10)));
    std::printf("%s: customers health SERVING %.2f s after the link healed\n", scenario.c_str(),
                absl::ToDoubleSeconds(absl::Now() - healed));
    ASSERT_TRUE(Eventually([&] { return GetCustomer(suite_->gateway().channel(), customer_, absl::Seconds(2)).ok(); },
                           absl::Seconds(20)));
    std::printf("%s: first call through %.2f s after the link healed\n", scenario.c_str(),
                absl::ToDoubleSeconds(absl::Now() - healed));
    for (const Outcome& o : Burst(suite_->gateway().channel(), customer_, kBurst, absl::Seconds(5))) {
      EXPECT_EQ(o.code, grpc::StatusCode::OK);
    }
    EXPECT_TRUE(load_->WaitForAcknowledged(30, absl::Seconds(60)))
        << absl::StrJoin(load_->error_samples(), "\n");
    const MixedLoad::Verification v = StopAndVerify(*load_, *suite_);
    PrintLoadFigures(scenario, faults, *load_, v);
  }

  void TearDown() override {
    if (load_ != nullptr) load_->Stop();
    if (proxy_ != nullptr) proxy_->set_mode(FaultProxy::Mode::kPass);
  }

  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<ServiceSuite> suite_;
  std::unique_ptr<MixedLoad> load_;
  std::string customer_;
  std::string tag_ = "slow";
  bool upstream_service_ = false;
};

// The customers service reaches MariaDB through the proxy.
void DatabaseLinkThroughProxy(ServiceSuite& suite, FaultProxy& proxy) {
  const db::DbConfig& db = suite.customers().database();
  proxy.set_upstream(db.host, db.port);
  suite.customers().env()["CRM_DB_HOST"] = "127.0.0.1";
  suite.customers().env()["CRM_DB_PORT"] = absl::StrCat(proxy.port());
}

TEST_F(SlowDownstreamTest, GatewayToCustomersStalledThenSlowed) {
  upstream_service_ = true;
  tag_ = "proxy-gw";
  ASSERT_NO_FATAL_FAILURE(StartSuite([](ServiceSuite& suite, FaultProxy& proxy) {
    suite.gateway().env()["CRM_CUSTOMERS_ADDRESS"] = proxy.address();
  }));

  proxy_->set_mode(FaultProxy::Mode::kStall);
  ExpectAllFailedFast("gateway -> customers stalled, via the gateway",
                      Burst(suite_->gateway().channel(), customer_, kBurst, absl::Seconds(1)), absl::Seconds(1));
  ExpectComplaintsAnswer();

  proxy_->set_mode(FaultProxy::Mode::kDelay, absl::Milliseconds(300));
  EXPECT_EQ(GetCustomer(suite_->gateway().channel(), customer_, absl::Milliseconds(200)).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(GetCustomer(suite_->gateway().channel(), customer_, absl::Seconds(10)).ok());

  proxy_->set_mode(FaultProxy::Mode::kPass);
  ExpectRecoveryAndVerify("stall+delay gateway -> customers", 2);
}

TEST_F(SlowDownstreamTest, CustomersToMariaDbStalled) {
  tag_ = "proxy-db";
  ASSERT_NO_FATAL_FAILURE(StartSuite(DatabaseLinkThroughProxy));

  proxy_->set_mode(FaultProxy::Mode::kStall);
  // The probe's ping (every 100 ms here) times out within
  // --db_probe_timeout_seconds, 2 s by default.
  const absl::Time stalled = absl::Now();
  EXPECT_TRUE(Eventually([&] { return HealthOf(suite_->customers()) == Health::NOT_SERVING; }, absl::Seconds(15)));
  std::printf("customers health NOT_SERVING %.2f s after its database link stalled\n",
              absl::ToDoubleSeconds(absl::Now() - stalled));
  ExpectAllFailedFast("customers -> MariaDB stalled, direct",
                      Burst(suite_->customers().channel(), customer_, kBurst, absl::Seconds(1)), absl::Seconds(1));
  ExpectAllFailedFast("customers -> MariaDB stalled, via the gateway",
                      Burst(suite_->gateway().channel(), customer_, kBurst, absl::Seconds(1)), absl::Seconds(1));
  ExpectComplaintsAnswer();

  proxy_->set_mode(FaultProxy::Mode::kPass);
  ExpectRecoveryAndVerify("stall customers -> MariaDB", 1);
}

// GetCustomer's batch queue holds this many calls (db::GroupCommitOptions'
// max_queued); the service refuses more at once.
constexpr int kReadQueueBound = 4096;

TEST_F(SlowDownstreamTest, CallsBeyondTheBatchQueueBoundAreRefusedAtOnceAndTheRestAnswered) {
  tag_ = "proxy-db-queue";
  ASSERT_NO_FATAL_FAILURE(StartSuite(DatabaseLinkThroughProxy));
  proxy_->set_mode(FaultProxy::Mode::kStall);

  // More GetCustomer calls than the queue holds, all at once on the callback
  // API, with a deadline far longer than the stall: one batch holds the
  // stalled link, the queue fills, and the rest must be refused at once.
  constexpr int kExtra = 256;
  constexpr int kCalls = kReadQueueBound + kExtra;
  struct Call {
    std::unique_ptr<grpc::ClientContext> ctx;
    cpb::GetCustomerRequest request;
    cpb::Customer reply;
    grpc::Status status;
    absl::Duration latency;
  };
  std::vector<Call> calls(kCalls);
  absl::Mutex mu;
  int answered = 0, refused = 0;
  cpb::CustomerService::Stub stub(suite_->customers().channel());
  for (Call& call : calls) {
    call.ctx = E2eContext(kProbe);
    call.ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(25)));
    call.request.set_name(customer_);
    const absl::Time start = absl::Now();
    stub.async()->GetCustomer(call.ctx.get(), &call.request, &call.reply, [&, start](grpc::Status status) {
      absl::MutexLock lock(&mu);
      call.status = std::move(status);
      call.latency = absl::Now() - start;
      ++answered;
      if (call.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++refused;
    });
  }
  // The first batch and the load's own reads take a few places either way;
  // most extra calls are refused while the link is still stalled.
  constexpr int kMostlyRefused = kExtra - 64;
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                        +[](int* n) { return *n >= kMostlyRefused; }, &refused),
                                    absl::Seconds(20)))
        << refused << " refused, " << answered << " answered";
  }
  proxy_->set_mode(FaultProxy::Mode::kPass);
  {
    // Every call ends by its deadline at the latest, and the callbacks use
    // `calls` and `mu`: wait for all of them, however they end.
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(+[](int* n) { return *n == kCalls; }, &answered));
  }

  int ok = 0;
  absl::Duration slowest_refusal;
  for (const Call& call : calls) {
    if (call.status.ok()) {
      ++ok;
      EXPECT_EQ(call.reply.name(), customer_);
      continue;
    }
    ASSERT_EQ(call.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << call.status.error_message();
    EXPECT_NE(call.status.error_message().find("too many calls are waiting"), std::string::npos)
        << call.status.error_message();
    slowest_refusal = std::max(slowest_refusal, call.latency);
  }
  // Refused at once, not after waiting: well inside the 25 s deadline.
  EXPECT_LT(slowest_refusal, absl::Seconds(10));
  // The load's queued reads shift the split by a few either way; what
  // waited in the queue (nearly all of it ours) was answered.
  EXPECT_GE(refused, kMostlyRefused);
  EXPECT_GE(ok, kReadQueueBound - 64);
  EXPECT_EQ(ok + refused, kCalls);
  std::printf("queue bound: %d of %d calls refused with RESOURCE_EXHAUSTED (slowest refusal %.2f s), %d answered\n",
              refused, kCalls, absl::ToDoubleSeconds(slowest_refusal), ok);
  ExpectRecoveryAndVerify("stall customers -> MariaDB, queue bound", 1);
}

}  // namespace
}  // namespace crm::fault
