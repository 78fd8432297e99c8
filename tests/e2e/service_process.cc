#include "tests/e2e/service_process.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/auth/token_minter.h"
#include "gtest/gtest.h"

namespace crm::testing {

absl::StatusOr<std::unique_ptr<ServiceProcess>> ServiceProcess::Create(std::string name,
                                                                       std::string binary) {
  auto db = TestDatabase::Create();
  if (!db.ok()) return db.status();
  return std::unique_ptr<ServiceProcess>(
      new ServiceProcess(std::move(name), std::move(binary), std::move(*db)));
}

ServiceProcess::ServiceProcess(std::string name, std::string binary, TestDatabase db)
    : name_(std::move(name)), binary_(std::move(binary)), db_(std::move(db)) {
  const db::DbConfig& c = db_.config();
  const std::string tag = absl::StrCat(name_, "-", getpid(), "-", c.database);
  port_file_ = ::testing::TempDir() + tag + ".port";
  log_file_ = ::testing::TempDir() + tag + ".log";
  files_ = {port_file_, log_file_};
  env_ = {{"CRM_LISTEN_ADDRESS", "127.0.0.1:0"},
          {"CRM_PORT_FILE", port_file_},
          {"CRM_DB_HOST", c.host},
          {"CRM_DB_PORT", absl::StrCat(c.port)},
          {"CRM_DB_USER", c.user},
          {"CRM_DB_NAME", c.database},
          {"CRM_DB_PASSWORD_FILE", WriteFile("db.password", c.password)},
          {"CRM_JWT_HS256_KEY_FILE", WriteFile("jwt.key", kE2eKey)},
          {"CRM_JWT_ISSUER", kE2eIssuer},
          {"CRM_HEALTH_PROBE_MS", "100"},
          {"CRM_SHUTDOWN_GRACE_SECONDS", "5"}};
}

ServiceProcess::~ServiceProcess() {
  if (::testing::Test::HasFailure()) std::cerr << name_ << " log:\n" << Log();
  child_.reset();  // kills and reaps a process still running
  for (const std::string& f : files_) std::remove(f.c_str());
}

std::string ServiceProcess::WriteFile(const std::string& suffix, const std::string& content) {
  const std::string path = absl::StrCat(::testing::TempDir(), name_, "-", getpid(), "-",
                                        db_.config().database, ".", suffix);
  std::ofstream(path) << content;
  files_.push_back(path);
  return path;
}

absl::Status ServiceProcess::Start() {
  std::remove(port_file_.c_str());
  auto child = ChildProcess::Start({binary_}, env_, log_file_);
  if (!child.ok()) return child.status();
  child_ = std::move(*child);
  auto port = WaitForFileLine(port_file_, absl::Seconds(60));
  if (!port || !absl::SimpleAtoi(*port, &port_)) {
    return absl::DeadlineExceededError(absl::StrCat(name_, " did not start listening"));
  }
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  return absl::OkStatus();
}

void ServiceProcess::Signal(int signal) const {
  if (child_ != nullptr) child_->Signal(signal);
}

std::optional<int> ServiceProcess::Stop(int signal, absl::Duration timeout) {
  if (child_ == nullptr) return std::nullopt;
  child_->Signal(signal);
  return child_->WaitFor(timeout);
}

std::optional<int> ServiceProcess::RunToExit(absl::Duration timeout) {
  auto child = ChildProcess::Start({binary_}, env_, log_file_);
  if (!child.ok()) return std::nullopt;
  child_ = std::move(*child);
  return child_->WaitFor(timeout);
}

void ServiceProcess::ShareDatabaseWith(const ServiceProcess& other) {
  shared_db_ = other.database();
  for (const char* key : {"CRM_DB_HOST", "CRM_DB_PORT", "CRM_DB_USER", "CRM_DB_NAME", "CRM_DB_PASSWORD_FILE"}) {
    env_[key] = other.env_.at(key);
  }
}

const db::DbConfig& ServiceProcess::database() const { return shared_db_ ? *shared_db_ : db_.config(); }

std::string ServiceProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::string ServiceProcess::Log() const {
  std::ifstream in(log_file_);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::unique_ptr<grpc::ClientContext> E2eContext(const auth::Principal& who) {
  auto token = auth::MintHs256Token(kE2eKey, kE2eIssuer, "crm", who, absl::Now(), absl::Hours(1));
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (token.ok()) ctx->AddMetadata("authorization", absl::StrCat("Bearer ", *token));
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  return ctx;
}

}  // namespace crm::testing
