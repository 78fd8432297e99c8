#include "tests/e2e/service_process.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/auth/token_minter.h"
#include "gtest/gtest.h"

namespace crm::testing {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;  // g++
#elif defined(__has_feature)
constexpr bool kAddressSanitizer = __has_feature(address_sanitizer);  // clang++
#else
constexpr bool kAddressSanitizer = false;
#endif

// Passed on from the test's environment (cmake/CrmTest.cmake): in a
// sanitizer build the services need the same suppressions, and as clients
// of each other the same quick gRPC backup poller, so a service stopped
// while its callers' channels sit idle stops at once.
constexpr const char* kInheritedEnvironment[] = {"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS",
                                                 "GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS"};

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceProcess>> ServiceProcess::Create(std::string name, std::string binary,
                                                                       const PrivateMariaDb* server) {
  if (server != nullptr) {
    const std::string database = absl::StrCat("crm_", name);
    if (absl::Status s = server->CreateDatabase(database); !s.ok()) return s;
    return std::unique_ptr<ServiceProcess>(
        new ServiceProcess(std::move(name), std::move(binary), std::nullopt, server->Config(database)));
  }
  auto db = TestDatabase::Create();
  if (!db.ok()) return db.status();
  db::DbConfig config = db->config();
  return std::unique_ptr<ServiceProcess>(
      new ServiceProcess(std::move(name), std::move(binary), std::move(*db), std::move(config)));
}

ServiceProcess::ServiceProcess(std::string name, std::string binary, std::optional<TestDatabase> owned,
                               db::DbConfig db)
    : name_(std::move(name)), binary_(std::move(binary)), owned_db_(std::move(owned)), db_(std::move(db)) {
  const std::string tag = absl::StrCat(name_, "-", getpid(), "-", db_.database);
  port_file_ = ::testing::TempDir() + tag + ".port";
  log_file_ = ::testing::TempDir() + tag + ".log";
  files_ = {port_file_, log_file_};
  env_ = {{"CRM_LISTEN_ADDRESS", "127.0.0.1:0"},
          {"CRM_PORT_FILE", port_file_},
          {"CRM_DB_HOST", db_.host},
          {"CRM_DB_PORT", absl::StrCat(db_.port)},
          {"CRM_DB_USER", db_.user},
          {"CRM_DB_NAME", db_.database},
          {"CRM_DB_PASSWORD_FILE", WriteFile("db.password", db_.password)},
          {"CRM_JWT_HS256_KEY_FILE", WriteFile("jwt.key", kE2eKey)},
          {"CRM_JWT_ISSUER", kE2eIssuer},
          {"CRM_HEALTH_PROBE_MS", "100"},
          {"CRM_SHUTDOWN_GRACE_SECONDS", "5"}};
  for (const char* name : kInheritedEnvironment) {
    if (const char* value = std::getenv(name)) env_[name] = value;
  }
}

ServiceProcess::~ServiceProcess() {
  if (kAddressSanitizer) Stop(SIGTERM, absl::Seconds(20));  // scans the log if it exited
  child_.reset();  // kills and reaps a process still running
  ExpectNoSanitizerReport(std::nullopt);
  if (::testing::Test::HasFailure()) std::cerr << name_ << " log:\n" << Log();
  for (const std::string& f : files_) std::remove(f.c_str());
}

void ServiceProcess::ExpectNoSanitizerReport(std::optional<int> wait_status) {
  const std::string log = Log();
  if (log.size() <= log_checked_) return;
  const std::string report = SanitizerReport(std::string_view(log).substr(log_checked_));
  log_checked_ = log.size();
  if (report.empty()) return;
  ADD_FAILURE() << name_ << " (" << binary_ << ") wrote a sanitizer report"
                << (wait_status ? absl::StrCat(", wait status ", *wait_status) : "") << ":\n"
                << report;
}

std::string ServiceProcess::WriteFile(const std::string& suffix, const std::string& content) {
  const std::string path =
      absl::StrCat(::testing::TempDir(), name_, "-", getpid(), "-", db_.database, ".", suffix);
  std::ofstream(path) << content;
  files_.push_back(path);
  return path;
}

absl::Status ServiceProcess::Start() { return Launch(false); }

absl::Status ServiceProcess::Launch(bool keep_channel) {
  std::remove(port_file_.c_str());
  auto child = ChildProcess::Start({binary_}, env_, log_file_);
  if (!child.ok()) return child.status();
  child_ = std::move(*child);
  // Polls the port file, and the child: one that exits (a port taken, bad
  // configuration) is reported at once instead of at the deadline.
  const absl::Time until = absl::Now() + absl::Seconds(60);
  std::optional<std::string> port;
  while (!port && absl::Now() < until) {
    if (child_->WaitFor(absl::ZeroDuration())) {
      return absl::FailedPreconditionError(absl::StrCat(name_, " exited during start-up"));
    }
    port = WaitForFileLine(port_file_, absl::Milliseconds(100));
  }
  if (!port || !absl::SimpleAtoi(*port, &port_)) {
    return absl::DeadlineExceededError(absl::StrCat(name_, " did not start listening"));
  }
  // Only a restart on purpose keeps the channel. A fresh start that happens
  // to get the old port back must not: that channel saw the old process
  // die and may still be waiting out its reconnect backoff, failing calls
  // at once with UNAVAILABLE.
  if (channel_ == nullptr || !keep_channel) {
    channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  }
  return absl::OkStatus();
}

absl::Status ServiceProcess::Restart() {
  if (port_ == 0) return Start();
  const std::string listen = env_["CRM_LISTEN_ADDRESS"];
  env_["CRM_LISTEN_ADDRESS"] = address();
  absl::Status started = Launch(true);
  env_["CRM_LISTEN_ADDRESS"] = listen;
  return started;
}

void ServiceProcess::Signal(int signal) const {
  if (child_ != nullptr) child_->Signal(signal);
}

std::optional<int> ServiceProcess::Stop(int signal, absl::Duration timeout) {
  if (child_ == nullptr) return std::nullopt;
  child_->Signal(signal);
  const std::optional<int> status = child_->WaitFor(timeout);
  if (status) ExpectNoSanitizerReport(status);
  return status;
}

std::optional<int> ServiceProcess::RunToExit(absl::Duration timeout) {
  auto child = ChildProcess::Start({binary_}, env_, log_file_);
  if (!child.ok()) return std::nullopt;
  child_ = std::move(*child);
  const std::optional<int> status = child_->WaitFor(timeout);
  if (status) ExpectNoSanitizerReport(status);
  return status;
}

void ServiceProcess::ShareDatabaseWith(const ServiceProcess& other) {
  shared_db_ = other.database();
  for (const char* key : {"CRM_DB_HOST", "CRM_DB_PORT", "CRM_DB_USER", "CRM_DB_NAME", "CRM_DB_PASSWORD_FILE"}) {
    env_[key] = other.env_.at(key);
  }
}

const db::DbConfig& ServiceProcess::database() const { return shared_db_ ? *shared_db_ : db_; }

std::string ServiceProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::string ServiceProcess::Log() const {
  std::ifstream in(log_file_);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string E2eToken(const auth::Principal& who, std::string_view key, std::string_view audience, absl::Time issued,
                     absl::Duration ttl) {
  auto token = auth::MintHs256Token(key, kE2eIssuer, audience, who, issued, ttl);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? *token : "";
}

std::string E2eBearer(const auth::Principal& who, std::string_view key, std::string_view audience, absl::Time issued,
                      absl::Duration ttl) {
  const std::string token = E2eToken(who, key, audience, issued, ttl);
  return token.empty() ? "" : absl::StrCat("Bearer ", token);
}

absl::TimeZone BusinessZone() {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &zone));
  return zone;
}

std::unique_ptr<grpc::ClientContext> E2eContext(const auth::Principal& who) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (std::string bearer = E2eBearer(who); !bearer.empty()) ctx->AddMetadata("authorization", bearer);
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  return ctx;
}

// ---- ServiceSuite

const char* ServiceName(Service service) {
  switch (service) {
    case Service::kCustomers: return "customers";
    case Service::kOpportunities: return "opportunities";
    case Service::kComplaints: return "complaints";
    case Service::kScheduling: return "scheduling";
    case Service::kGateway: return "gateway";
  }
  return "?";
}

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

absl::StatusOr<std::unique_ptr<ServiceSuite>> ServiceSuite::Create(Options options) {
  std::unique_ptr<ServiceSuite> suite(new ServiceSuite(std::move(options)));
  const SuiteBinaries& b = suite->options_.binaries;
  const std::pair<Service, const std::string*> binaries[] = {{Service::kCustomers, &b.customers},
                                                             {Service::kOpportunities, &b.opportunities},
                                                             {Service::kComplaints, &b.complaints},
                                                             {Service::kScheduling, &b.scheduling},
                                                             {Service::kGateway, &b.gateway}};
  for (const auto& [service, binary] : binaries) {
    if (binary->empty() && service == Service::kGateway) continue;
    auto process = ServiceProcess::Create(ServiceName(service), *binary, suite->options_.mariadb);
    if (!process.ok()) return process.status();
    // Tests stop services mid-run; the graceful stop waits out the whole
    // grace, so keep it short. (std::string: GCC 12 warns falsely on = "1".)
    (*process)->env()["CRM_SHUTDOWN_GRACE_SECONDS"] = std::string("1");
    suite->processes_[service] = *std::move(process);
  }
  return suite;
}

ServiceSuite::~ServiceSuite() {
  // Under AddressSanitizer each process is stopped with SIGTERM as it goes
  // away (ServiceProcess); signalled all at once here, their graceful
  // shutdowns overlap instead of adding up. (A second SIGTERM stays pending:
  // the services block it.)
  if (kAddressSanitizer) {
    for (const auto& [service, process] : processes_) process->Signal(SIGTERM);
  }
}

ServiceProcess& ServiceSuite::process(Service service) const { return *processes_.at(service); }

absl::Status ServiceSuite::Start() {
  // Each service dials the ones started before it (scheduling follows the
  // other three's event feeds; the gateway forwards to all four).
  const std::pair<Service, const char*> peers[] = {{Service::kCustomers, "CRM_CUSTOMERS_ADDRESS"},
                                                   {Service::kOpportunities, "CRM_OPPORTUNITIES_ADDRESS"},
                                                   {Service::kComplaints, "CRM_COMPLAINTS_ADDRESS"},
                                                   {Service::kScheduling, "CRM_SCHEDULING_ADDRESS"}};
  for (const auto& [service, process] : processes_) {
    for (const auto& [peer, key] : peers) {
      if (peer >= service) break;
      process->env().try_emplace(key, this->process(peer).address());
    }
    if (service == Service::kGateway) return StartGateway();
    if (absl::Status s = process->Start(); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(s.message(), "\n", process->Log()));
    }
  }
  return absl::OkStatus();
}

absl::Status ServiceSuite::StartGateway() {
  ServiceProcess& gateway = this->gateway();
  if (!options_.http_front) {
    absl::Status s = gateway.Start();
    return s.ok() ? s : absl::Status(s.code(), absl::StrCat(s.message(), "\n", gateway.Log()));
  }
  // The free port may be taken by someone else before the gateway binds it:
  // then it says so and exits, and another port is tried.
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int port = FreeLoopbackPort();
    if (port == 0) return absl::UnavailableError("no free loopback port");
    gateway.env()["CRM_HTTP_LISTEN_ADDRESS"] = absl::StrCat("127.0.0.1:", port);
    if (absl::Status s = gateway.Start(); !s.ok()) {
      if (absl::StrContains(gateway.Log(), "cannot start the HTTP front")) continue;
      return absl::Status(s.code(), absl::StrCat(s.message(), "\n", gateway.Log()));
    }
    // Polls GET /healthz (each poll a real round trip) until it answers.
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1, 0);
    client.set_read_timeout(5, 0);
    const absl::Time until = absl::Now() + absl::Seconds(30);
    while (absl::Now() < until && !absl::StrContains(gateway.Log(), "cannot start the HTTP front")) {
      if (auto reply = client.Get("/healthz"); reply && reply->status == 200) {
        http_port_ = port;
        return absl::OkStatus();
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    gateway.Stop(SIGKILL);
  }
  return absl::UnavailableError(
      absl::StrCat("the gateway's HTTP front never answered GET /healthz\n", gateway.Log()));
}

namespace {

absl::StatusOr<int> StopProcess(ServiceProcess& process, int signal) {
  std::optional<int> status = process.Stop(signal);
  if (!status) return absl::DeadlineExceededError(absl::StrCat("a process did not exit on signal ", signal));
  return *status;
}

}  // namespace

std::string SanitizerReport(std::string_view log) {
  constexpr std::string_view kMarkers[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"};
  constexpr int kMaxLines = 40;
  auto next_line = [&log](size_t from) {
    const size_t end = log.find('\n', from);
    return end == std::string_view::npos ? log.size() : end + 1;
  };
  for (size_t start = 0; start < log.size(); start = next_line(start)) {
    const std::string_view line = log.substr(start, next_line(start) - start);
    if (line.starts_with('{')) continue;
    for (std::string_view marker : kMarkers) {
      if (line.find(marker) == std::string_view::npos) continue;
      size_t end = start;
      for (int n = 0; n < kMaxLines && end < log.size(); ++n) end = next_line(end);
      return std::string(log.substr(start, end - start));
    }
  }
  return "";
}

absl::StatusOr<int> ServiceSuite::Kill(Service service) { return StopProcess(process(service), SIGKILL); }
absl::StatusOr<int> ServiceSuite::Terminate(Service service) { return StopProcess(process(service), SIGTERM); }

absl::Status ServiceSuite::Restart(Service service) {
  ServiceProcess& p = process(service);
  // The old port's sockets may linger a moment (or, rarely, someone took
  // the port): a failed bind makes the binary exit at once, so try again.
  absl::Status started;
  for (int attempt = 0; attempt < 5; ++attempt) {
    started = p.Restart();
    if (started.ok()) return started;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::Status(started.code(), absl::StrCat(started.message(), "\n", p.Log()));
}

}  // namespace crm::testing
