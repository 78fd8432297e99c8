#pragma once
// One real service binary for end-to-end tests, configured only through its
// environment like a container: its own database on the fixture MariaDB,
// key files in the test's temp dir, 127.0.0.1 and a port it picks itself.
// Every file it writes is removed, and the process is killed and reaped, when
// the object goes away; the service's log is printed if the test failed.

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/principal.h"
#include "common/testing/process.h"
#include "common/testing/test_database.h"

namespace crm::testing {

inline constexpr char kE2eKey[] = "e2e-test-hs256-key-0123456789abcdef0123";
inline constexpr char kE2eIssuer[] = "crm-e2e";

class ServiceProcess {
 public:
  // Creates the service's database; does not start it yet.
  static absl::StatusOr<std::unique_ptr<ServiceProcess>> Create(std::string name, std::string binary);
  ~ServiceProcess();

  // The environment the next Start() uses; tests may change it.
  std::map<std::string, std::string>& env() { return env_; }

  // Starts the binary and waits until it listens (after its migrations).
  absl::Status Start();
  // SIGTERM (graceful) or SIGKILL (crash) and wait; the raw wait status.
  std::optional<int> Stop(int signal, absl::Duration timeout = absl::Seconds(30));
  // Sends `signal` without waiting (Stop waits).
  void Signal(int signal) const;
  // Starts the binary and waits for it to exit (for start-up failures).
  std::optional<int> RunToExit(absl::Duration timeout = absl::Seconds(30));

  // Points this process at `other`'s database (a second replica of the
  // same service); its own empty database stays unused.
  void ShareDatabaseWith(const ServiceProcess& other);
  const db::DbConfig& database() const;

  std::string address() const;
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::string Log() const;

 private:
  ServiceProcess(std::string name, std::string binary, TestDatabase db);
  std::string WriteFile(const std::string& suffix, const std::string& content);

  std::string name_, binary_;
  TestDatabase db_;
  std::optional<db::DbConfig> shared_db_;
  std::map<std::string, std::string> env_;
  std::string port_file_, log_file_;
  std::vector<std::string> files_;
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// A client context with a bearer token for `who` (signed with kE2eKey) and
// a 20 s deadline.
std::unique_ptr<grpc::ClientContext> E2eContext(const auth::Principal& who);

}  // namespace crm::testing
