// End to end: the real crm-customers and crm-complaints binaries and the
// crm-gateway binary in front of them, each configured by environment, and
// a client that speaks gRPC to the gateway only. The gateway forwards by
// method name with the caller's token and deadline; it refuses calls
// without a valid token (no token, bad signature, expired, wrong
// audience), rate-limits per principal with a RetryInfo hint, and the
// owning service still keeps one manager out of another's customers (GW-2).
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "crm/complaints/v1/complaints.grpc.pb.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"

namespace crm {
namespace {

namespace cpb = ::crm::customers::v1;
namespace kpb = ::crm::complaints::v1;
using crm::testing::E2eBearer;
using crm::testing::E2eContext;
using crm::testing::kE2eKey;
using crm::testing::ServiceProcess;

const auth::Principal kOwner{"mgr-gw-owner", auth::Role::kManager, "east"};
const auth::Principal kOther{"mgr-gw-other", auth::Role::kManager, "east"};

std::unique_ptr<grpc::ClientContext> ContextWithToken(const std::string& authorization) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!authorization.empty()) ctx->AddMetadata("authorization", authorization);
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  return ctx;
}

// A unary call by method name with an empty request; returns when it ends
// (the context's deadline bounds it).
grpc::Status CallByName(const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext* ctx,
                        const std::string& method) {
  grpc::GenericStub generic(channel);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  grpc::Status status;
  absl::Notification done;
  generic.UnaryCall(ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  return status;
}

class GatewayProcessTest : public ::testing::Test {
 protected:
  void StartSuite(std::map<std::string, std::string> gateway_env = {}) {
    customers_ = Create("customers", CRM_CUSTOMERS_BINARY);
    ASSERT_NE(customers_, nullptr);
    customers_->env()["CRM_SHUTDOWN_GRACE_SECONDS"] = "1";
    ASSERT_TRUE(customers_->Start().ok()) << customers_->Log();

    complaints_ = Create("complaints", CRM_COMPLAINTS_BINARY);
    ASSERT_NE(complaints_, nullptr);
    complaints_->env()["CRM_CUSTOMERS_ADDRESS"] = customers_->address();
    complaints_->env()["CRM_SHUTDOWN_GRACE_SECONDS"] = "1";
    ASSERT_TRUE(complaints_->Start().ok()) << complaints_->Log();

    gateway_ = Create("gateway", CRM_GATEWAY_BINARY);
    ASSERT_NE(gateway_, nullptr);
    gateway_->env()["CRM_CUSTOMERS_ADDRESS"] = customers_->address();
    gateway_->env()["CRM_COMPLAINTS_ADDRESS"] = complaints_->address();
    gateway_->env()["CRM_SHUTDOWN_GRACE_SECONDS"] = "1";
    for (const auto& [k, v] : gateway_env) gateway_->env()[k] = v;
    ASSERT_TRUE(gateway_->Start().ok()) << gateway_->Log();
    customers_stub_ = cpb::CustomerService::NewStub(gateway_->channel());
  }

  static std::unique_ptr<ServiceProcess> Create(const char* name, const char* binary) {
    auto process = ServiceProcess::Create(name, binary);
    EXPECT_TRUE(process.ok()) << process.status();
    return process.ok() ? *std::move(process) : nullptr;
  }

  cpb::Customer CreateCustomer(const auth::Principal& as, const std::string& name) {
    cpb::CreateCustomerRequest req;
    req.mutable_customer()->set_kind(cpb::INDIVIDUAL);
    req.mutable_customer()->set_display_name(name);
    cpb::Customer created;
    grpc::Status s = customers_stub_->CreateCustomer(E2eContext(as).get(), req, &created);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    return created;
  }

  grpc::Status GetCustomer(grpc::ClientContext* ctx, const std::string& name, cpb::Customer* out = nullptr) {
    cpb::GetCustomerRequest req;
    req.set_name(name);
    cpb::Customer ignored;
    return customers_stub_->GetCustomer(ctx, req, out != nullptr ? out : &ignored);
  }

  std::unique_ptr<ServiceProcess> customers_, complaints_, gateway_;
  std::unique_ptr<cpb::CustomerService::Stub> customers_stub_;
};

// The start-up checks every service's main() shares (common/config,
// common/server/service_config.h): a peer address without a port names its
// flag, and a key the token verifier refuses ends start-up too, both with
// exit 2.
TEST_F(GatewayProcessTest, BadStartUpConfigurationNamesTheFlagAndExits) {
  gateway_ = Create("gateway", CRM_GATEWAY_BINARY);
  ASSERT_NE(gateway_, nullptr);
  gateway_->env()["CRM_SCHEDULING_ADDRESS"] = "scheduling.internal";
  std::optional<int> status = gateway_->RunToExit();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 2) << gateway_->Log();
  EXPECT_NE(gateway_->Log().find("configuration error: --scheduling_address: expected host:port"), std::string::npos)
      << gateway_->Log();

  // A PEM document where the HS256 secret belongs: TokenVerifier refuses it.
  const std::string pem_path = absl::StrCat(::testing::TempDir(), "/gateway-hs256-is-a-pem.key");
  {
    std::ofstream pem(pem_path);
    pem << "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n";
  }
  gateway_->env()["CRM_SCHEDULING_ADDRESS"] = "127.0.0.1:1";
  gateway_->env()["CRM_JWT_HS256_KEY_FILE"] = pem_path;
  status = gateway_->RunToExit();
  std::remove(pem_path.c_str());
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 2) << gateway_->Log();
  EXPECT_NE(gateway_->Log().find("configuration error: hs256_key is a PEM document"), std::string::npos)
      << gateway_->Log();

  // RS256 with no page-token key: the public key must not sign page tokens
  // (anyone holding it could forge one).
  gateway_->env().erase("CRM_JWT_HS256_KEY_FILE");
  gateway_->env()["CRM_JWT_RS256_PUBLIC_KEY_FILE"] = pem_path;
  {
    std::ofstream pem(pem_path);
    pem << "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n";
  }
  status = gateway_->RunToExit();
  std::remove(pem_path.c_str());
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 2) << gateway_->Log();
  EXPECT_NE(gateway_->Log().find("configuration error: --page_token_key_file: required with "
                                 "--jwt_rs256_public_key_file"),
            std::string::npos)
      << gateway_->Log();
}

TEST_F(GatewayProcessTest, ForwardsCallsWithTheCallersIdentity) {
  ASSERT_NO_FATAL_FAILURE(StartSuite());
  // The gateway itself reports SERVING.
  auto health = grpc::health::v1::Health::NewStub(gateway_->channel());
  grpc::health::v1::HealthCheckResponse h;
  grpc::ClientContext hctx;
  ASSERT_TRUE(health->Check(&hctx, {}, &h).ok());
  EXPECT_EQ(h.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  const cpb::Customer created = CreateCustomer(kOwner, "网关客户");
  ASSERT_FALSE(created.name().empty());
  EXPECT_EQ(created.owner(), kOwner.subject);  // the customers service saw the caller's token

  cpb::Customer got;
  auto ctx = E2eContext(kOwner);
  ctx->AddMetadata("x-request-id", "e2e-request-42");
  grpc::Status s = GetCustomer(ctx.get(), created.name(), &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.display_name(), "网关客户");
  EXPECT_EQ(got.name(), created.name());
  // The request id comes back to the client and into the access log.
  auto rid = ctx->GetServerInitialMetadata().find("x-request-id");
  ASSERT_NE(rid, ctx->GetServerInitialMetadata().end());
  EXPECT_EQ(std::string(rid->second.data(), rid->second.size()), "e2e-request-42");
  // The access line is written when the call is done on the gateway's
  // side, which may be just after the client has the answer.
  const absl::Time until = absl::Now() + absl::Seconds(20);
  while (gateway_->Log().find("\"request_id\":\"e2e-request-42\"") == std::string::npos && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_THAT(gateway_->Log(), ::testing::HasSubstr("\"request_id\":\"e2e-request-42\""));

  // GW-2 holds through the gateway: the owning service refuses another manager.
  EXPECT_EQ(GetCustomer(E2eContext(kOther).get(), created.name()).error_code(), grpc::StatusCode::NOT_FOUND);

  // A second backend, chosen by package: the complaints service answers.
  auto complaints = kpb::ComplaintService::NewStub(gateway_->channel());
  kpb::GetComplaintRequest get_complaint;
  get_complaint.set_name("complaints/does-not-exist");
  kpb::Complaint complaint;
  const grpc::Status cs = complaints->GetComplaint(E2eContext(kOwner).get(), get_complaint, &complaint);
  EXPECT_NE(cs.error_code(), grpc::StatusCode::UNIMPLEMENTED) << cs.error_message();
  EXPECT_NE(cs.error_code(), grpc::StatusCode::UNAVAILABLE) << cs.error_message();
  EXPECT_NE(cs.error_code(), grpc::StatusCode::UNAUTHENTICATED) << cs.error_message();

  // Methods no backend serves, including the internal event feeds.
  for (const char* method : {"/crm.events.v1.EventFeed/ReadEvents", "/crm.nothing.v1.Nothing/Do"}) {
    EXPECT_EQ(CallByName(gateway_->channel(), E2eContext(kOwner).get(), method).error_code(),
              grpc::StatusCode::UNIMPLEMENTED)
        << method;
  }

  // A client-streamed method is refused even with a single message (a unary
  // forward would carry only that one).
  cpb::ImportMembersResponse imported;
  auto import_context = E2eContext(kOwner);
  auto import = customers_stub_->ImportMembers(import_context.get(), &imported);
  cpb::ImportMembersRequest chunk;
  chunk.set_parent(created.name());
  import->Write(chunk);
  import->WritesDone();
  const grpc::Status streamed = import->Finish();
  EXPECT_EQ(streamed.error_code(), grpc::StatusCode::UNIMPLEMENTED) << streamed.error_message();
  EXPECT_THAT(streamed.error_message(), ::testing::HasSubstr("unary calls only"));
}

TEST_F(GatewayProcessTest, RefusesCallsWithoutAValidToken) {
  ASSERT_NO_FATAL_FAILURE(StartSuite());
  const cpb::Customer created = CreateCustomer(kOwner, "鉴权客户");
  const absl::Time now = absl::Now();
  const std::string valid = E2eBearer(kOwner, kE2eKey, "crm", now, absl::Hours(1));
  ASSERT_TRUE(GetCustomer(ContextWithToken(valid).get(), created.name()).ok());

  struct Case {
    const char* what;
    std::string authorization;
  };
  std::string bad_signature = valid;
  bad_signature.back() = bad_signature.back() == 'A' ? 'B' : 'A';
  const Case cases[] = {
      {"no token", ""},
      {"not a bearer token", "Basic dXNlcjpwYXNz"},
      {"bad signature", bad_signature},
      {"other key", E2eBearer(kOwner, "another-hs256-key-0123456789abcdef012345", "crm", now, absl::Hours(1))},
      {"expired", E2eBearer(kOwner, kE2eKey, "crm", now - absl::Hours(2), absl::Hours(1))},
      {"wrong audience", E2eBearer(kOwner, kE2eKey, "not-crm", now, absl::Hours(1))},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(GetCustomer(ContextWithToken(c.authorization).get(), created.name()).error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << c.what;
  }
}

TEST_F(GatewayProcessTest, RateLimitsEachPrincipalWithRetryInfo) {
  ASSERT_NO_FATAL_FAILURE(
      StartSuite({{"CRM_RATE_LIMIT_PER_SECOND", "5"}, {"CRM_RATE_LIMIT_BURST", "5"}}));
  // Five quick calls pass the door (whatever the customers service then
  // answers about a customer that does not exist), the sixth is refused.
  for (int i = 0; i < 5; ++i) {
    const grpc::Status s = GetCustomer(E2eContext(kOwner).get(), "customers/0");
    EXPECT_NE(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << i;
    EXPECT_NE(s.error_code(), grpc::StatusCode::UNAVAILABLE) << i << " " << s.error_message();
  }
  const grpc::Status refused = GetCustomer(E2eContext(kOwner).get(), "customers/0");
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(refused.error_details()));
  bool has_retry_info = false;
  for (const auto& any : details.details()) {
    google::rpc::RetryInfo info;
    if (any.UnpackTo(&info)) {
      has_retry_info = true;
      EXPECT_GT(info.retry_delay().seconds() * 1'000'000'000LL + info.retry_delay().nanos(), 0);
      EXPECT_LE(info.retry_delay().seconds(), 1);
    }
  }
  EXPECT_TRUE(has_retry_info);
  // Another principal has its own bucket.
  EXPECT_NE(GetCustomer(E2eContext(kOther).get(), "customers/0").error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

// A backend that never answers: it records what it was sent and ends a
// call only when gRPC cancels it (deadline or client gone).
class SilentBackend final : public grpc::CallbackGenericService {
 public:
  struct Seen {
    std::chrono::system_clock::time_point deadline;
    std::string authorization, request_id;
  };

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      Reactor(SilentBackend& backend, grpc::GenericCallbackServerContext* ctx) : backend_(backend) {
        auto md = [&](const char* key) {
          auto it = ctx->client_metadata().find(key);
          return it == ctx->client_metadata().end() ? std::string() : std::string(it->second.data(), it->second.size());
        };
        absl::MutexLock lock(&backend_.mu_);
        if (!backend_.seen_.has_value()) {
          backend_.seen_ = Seen{ctx->deadline(), md("authorization"), md("x-request-id")};
        }
        backend_.methods_.push_back(ctx->method());
      }
      void OnCancel() override {
        Finish(grpc::Status::CANCELLED);
        absl::MutexLock lock(&backend_.mu_);
        ++backend_.cancelled_;
      }
      void OnDone() override { delete this; }

     private:
      SilentBackend& backend_;
    };
    return new Reactor(*this, ctx);
  }

  absl::Mutex mu_;
  std::optional<Seen> seen_ ABSL_GUARDED_BY(mu_);  // the first call
  std::vector<std::string> methods_ ABSL_GUARDED_BY(mu_);  // of every call
  int cancelled_ ABSL_GUARDED_BY(mu_) = 0;

  bool WaitFor(const std::function<bool()>& done) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&done, &std::function<bool()>::operator()), absl::Seconds(20));
  }
};

// `backend` served on a free loopback port; `port` receives the port.
std::unique_ptr<grpc::Server> Serve(SilentBackend& backend, int& port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&backend);
  return builder.BuildAndStart();
}

TEST_F(GatewayProcessTest, ClientDeadlinePropagates) {
  SilentBackend silent;
  int port = 0;
  std::unique_ptr<grpc::Server> server = Serve(silent, port);
  ASSERT_NE(server, nullptr);
  // The silent backend stands in for the scheduling service.
  ASSERT_NO_FATAL_FAILURE(StartSuite({{"CRM_SCHEDULING_ADDRESS", absl::StrCat("127.0.0.1:", port)}}));

  auto ctx = E2eContext(kOwner);
  ctx->AddMetadata("x-request-id", "deadline-check");
  const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(300);
  ctx->set_deadline(deadline);
  // The call reached the backend with the client's deadline, token and
  // request id; it ends DEADLINE_EXCEEDED for the client (no hang) and the
  // backend's call is cancelled too.
  EXPECT_EQ(CallByName(gateway_->channel(), ctx.get(), "/crm.scheduling.v1.SchedulingService/ListTasks").error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(silent.WaitFor([&] { return silent.seen_.has_value(); }));
  EXPECT_TRUE(silent.WaitFor([&] { return silent.cancelled_ >= 1; }));
  {
    absl::MutexLock lock(&silent.mu_);
    ASSERT_TRUE(silent.seen_.has_value());
    // On the wire a deadline is a timeout in whole units: allow rounding.
    EXPECT_LE(silent.seen_->deadline, deadline + std::chrono::milliseconds(50));
    EXPECT_GT(silent.seen_->deadline, deadline - std::chrono::seconds(1));
    EXPECT_THAT(silent.seen_->authorization, ::testing::StartsWith("Bearer "));
    EXPECT_EQ(silent.seen_->request_id, "deadline-check");
  }

  // A 1 ms deadline fails DEADLINE_EXCEEDED (here or at the gateway), never hangs.
  auto quick = E2eContext(kOwner);
  quick->set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(1)));
  EXPECT_EQ(CallByName(gateway_->channel(), quick.get(), "/crm.scheduling.v1.SchedulingService/ListTasks").error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);

  // A method of a backend newer than this gateway (not in its protos) still
  // reaches the backend that serves its package.
  constexpr char kNewer[] = "/crm.scheduling.v1.SchedulingService/PlanQuarter";
  auto newer = E2eContext(kOwner);
  newer->set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(300)));
  EXPECT_EQ(CallByName(gateway_->channel(), newer.get(), kNewer).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(silent.WaitFor(
      [&] { return std::find(silent.methods_.begin(), silent.methods_.end(), kNewer) != silent.methods_.end(); }));
  gateway_->Stop(SIGTERM);
  server->Shutdown(std::chrono::system_clock::now());
}

TEST_F(GatewayProcessTest, CapsTheForwardedDeadline) {
  // A backend that never answers, so the outcome cannot depend on how fast
  // a real one would have been.
  SilentBackend silent;
  int port = 0;
  std::unique_ptr<grpc::Server> server = Serve(silent, port);
  ASSERT_NE(server, nullptr);
  ASSERT_NO_FATAL_FAILURE(StartSuite(
      {{"CRM_MAX_CALL_DURATION", "200ms"}, {"CRM_SCHEDULING_ADDRESS", absl::StrCat("127.0.0.1:", port)}}));
  // The client allows 20 s; the gateway gives the backend call 200 ms.
  auto ctx = E2eContext(kOwner);
  const absl::Time start = absl::Now();
  ctx->set_deadline(absl::ToChronoTime(start + absl::Seconds(20)));
  EXPECT_EQ(CallByName(gateway_->channel(), ctx.get(), "/crm.scheduling.v1.SchedulingService/ListTasks").error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_TRUE(silent.WaitFor([&] { return silent.seen_.has_value(); }));
  {
    absl::MutexLock lock(&silent.mu_);
    EXPECT_LE(silent.seen_->deadline, absl::ToChronoTime(start + absl::Milliseconds(200) + absl::Seconds(1)))
        << "the backend was given the client's 20 s, not the cap";
  }
  gateway_->Stop(SIGTERM);
  server->Shutdown(std::chrono::system_clock::now());
}

// Issue 7: two replicas of the customers service behind the gateway (one
// database), steady load through the gateway, and one replica stopped
// mid-load the way a rolling upgrade stops it (SIGTERM: NOT_SERVING, a
// short drain, then running calls finish). No call fails beyond those in
// flight on the stopping replica as it closes (seen: 0 to 3 of 8 callers,
// CANCELLED): the gateway's channel balances round-robin over both
// addresses and moves to the other replica.
TEST_F(GatewayProcessTest, StoppingOneOfTwoReplicasUnderLoadFailsOnlyCallsInFlight) {
  customers_ = Create("customers", CRM_CUSTOMERS_BINARY);
  ASSERT_NE(customers_, nullptr);
  customers_->env()["CRM_SHUTDOWN_DRAIN_SECONDS"] = "1";
  ASSERT_TRUE(customers_->Start().ok()) << customers_->Log();
  std::unique_ptr<ServiceProcess> second = Create("customers-2", CRM_CUSTOMERS_BINARY);
  ASSERT_NE(second, nullptr);
  second->ShareDatabaseWith(*customers_);
  ASSERT_TRUE(second->Start().ok()) << second->Log();
  gateway_ = Create("gateway", CRM_GATEWAY_BINARY);
  ASSERT_NE(gateway_, nullptr);
  gateway_->env()["CRM_CUSTOMERS_ADDRESS"] = absl::StrCat("ipv4:", customers_->address(), ",", second->address());
  gateway_->env()["CRM_RATE_LIMIT_PER_SECOND"] = "100000";
  gateway_->env()["CRM_RATE_LIMIT_BURST"] = "100000";
  ASSERT_TRUE(gateway_->Start().ok()) << gateway_->Log();
  customers_stub_ = cpb::CustomerService::NewStub(gateway_->channel());
  const cpb::Customer created = CreateCustomer(kOwner, "两副本客户");
  ASSERT_FALSE(created.name().empty());

  constexpr int kCallers = 8;
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, ok_after_stop{0};
  std::atomic<bool> replica_gone{false};
  absl::Mutex mu;
  std::vector<std::string> failures;
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&] {
      while (!stop.load()) {
        const grpc::Status s = GetCustomer(E2eContext(kOwner).get(), created.name());
        if (s.ok()) {
          ok++;
          if (replica_gone.load()) ok_after_stop++;
        } else {
          absl::MutexLock lock(&mu);
          failures.push_back(absl::StrCat(s.error_code(), " ", s.error_message()));
        }
      }
    });
  }
  // Let load reach both replicas, stop the first, keep the load on a while.
  const absl::Time until = absl::Now() + absl::Seconds(20);
  while (ok.load() < 200 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
  const int before = ok.load();
  auto exited = customers_->Stop(SIGTERM);
  replica_gone = true;
  while (ok_after_stop.load() < 200 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
  stop = true;
  for (std::thread& t : callers) t.join();

  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(WEXITSTATUS(*exited), 0);
  EXPECT_GE(before, 200);
  EXPECT_GE(ok_after_stop.load(), 200) << "the remaining replica served the load";
  // The only calls allowed to fail are those in flight on the stopping
  // replica when it closed (at most one per caller), and only as cut off.
  absl::MutexLock lock(&mu);
  EXPECT_LE(failures.size(), static_cast<size_t>(kCallers));
  for (const std::string& f : failures) {
    EXPECT_TRUE(absl::StartsWith(f, absl::StrCat(grpc::StatusCode::CANCELLED, " ")) ||
                absl::StartsWith(f, absl::StrCat(grpc::StatusCode::UNAVAILABLE, " ")))
        << f;
  }
  std::cout << "two replicas, one stopped under load: " << ok.load() << " calls ok (" << ok_after_stop.load()
            << " after the stop), " << failures.size() << " failed\n";
}

}  // namespace
}  // namespace crm
