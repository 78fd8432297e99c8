#pragma once
// One real service binary for end-to-end tests, configured only through its
// environment like a container: its own database on the fixture MariaDB,
// key files in the test's temp dir, 127.0.0.1 and a port it picks itself.
// Every file it writes is removed, and the process is killed and reaped, when
// the object goes away; the service's log is printed if the test failed.
// The test's own sanitizer settings (ASAN_OPTIONS, LSAN_OPTIONS,
// UBSAN_OPTIONS: suppressions, halt on error) are handed on, and each time
// the process has exited its log is scanned: a sanitizer report in it
// fails the test (ADD_FAILURE with the report). In an AddressSanitizer
// build a process still running at the end gets SIGTERM before SIGKILL, so
// that LeakSanitizer checks it at exit; one killed with SIGKILL on purpose
// is not leak-checked.

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/principal.h"
#include "common/testing/process.h"
#include "common/testing/test_database.h"

namespace crm::testing {

inline constexpr char kE2eKey[] = "e2e-test-hs256-key-0123456789abcdef0123";
inline constexpr char kE2eIssuer[] = "crm-e2e";

class ServiceProcess {
 public:
  // Creates the service's database on the fixture MariaDB, or on `server`
  // when given; does not start it yet.
  static absl::StatusOr<std::unique_ptr<ServiceProcess>> Create(std::string name, std::string binary,
                                                                const PrivateMariaDb* server = nullptr);
  ~ServiceProcess();

  // The environment the next Start() uses; tests may change it.
  std::map<std::string, std::string>& env() { return env_; }

  // Starts the binary and waits until it listens (after its migrations);
  // fails at once if it exits first. channel() is then a new channel.
  absl::Status Start();
  // Starts it again on the port it had (after Stop), so that clients'
  // channels reconnect to it; channel() stays the same channel.
  absl::Status Restart();
  // SIGTERM (graceful) or SIGKILL (crash) and wait; the raw wait status
  // (nullopt if it did not exit in time).
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
  int port() const { return port_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::string Log() const;

 private:
  ServiceProcess(std::string name, std::string binary, std::optional<TestDatabase> owned, db::DbConfig db);
  absl::Status Launch(bool keep_channel);
  std::string WriteFile(const std::string& suffix, const std::string& content);
  // Once the process has exited: ADD_FAILURE if the log written since the
  // last check holds a sanitizer report.
  void ExpectNoSanitizerReport(std::optional<int> wait_status);

  std::string name_, binary_;
  std::optional<TestDatabase> owned_db_;  // dropped with this object
  db::DbConfig db_;
  std::optional<db::DbConfig> shared_db_;
  std::map<std::string, std::string> env_;
  std::string port_file_, log_file_;
  size_t log_checked_ = 0;  // bytes of the log already scanned
  std::vector<std::string> files_;
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// A client context with a bearer token for `who` (signed with kE2eKey) and
// a 20 s deadline.
std::unique_ptr<grpc::ClientContext> E2eContext(const auth::Principal& who);

// ---- The whole suite -------------------------------------------------------
//
// ServiceSuite: crm-customers, crm-opportunities, crm-complaints,
// crm-scheduling and (optionally) crm-gateway as real processes on loopback,
// each with its own database, wired to each other by address, sharing
// kE2eKey so tokens from E2eContext / E2eBearer pass everywhere.
//
//   auto suite = ServiceSuite::Create({.binaries = {CRM_CUSTOMERS_BINARY, …}});
//   ASSERT_TRUE(suite.ok()) << suite.status();
//   (*suite)->process(Service::kGateway).env()["CRM_RATE_LIMIT_PER_SECOND"] = "5";  // optional
//   ASSERT_TRUE((*suite)->Start().ok());      // in dependency order, each listening
//   CustomerService::Stub stub((*suite)->gateway().channel());
//   (*suite)->Kill(Service::kComplaints);     // SIGKILL, reaped
//   (*suite)->Restart(Service::kComplaints);  // same port, same database
//
// Start() fills each peer address (CRM_CUSTOMERS_ADDRESS …) only where the
// test has not set one, so a test can put something (a fault proxy) between
// a caller and a service. Processes are killed and reaped, databases
// dropped, when the suite goes away.

enum class Service { kCustomers, kOpportunities, kComplaints, kScheduling, kGateway };
inline constexpr Service kAllServices[] = {Service::kCustomers, Service::kOpportunities, Service::kComplaints,
                                           Service::kScheduling, Service::kGateway};
// "customers", …, "gateway".
const char* ServiceName(Service service);

struct SuiteBinaries {
  std::string customers, opportunities, complaints, scheduling;
  std::string gateway;  // empty: no gateway
};

class ServiceSuite {
 public:
  struct Options {
    SuiteBinaries binaries;
    // Also start the gateway's HTTP/JSON front on a free port (http_port()).
    bool http_front = false;
    // When set, every database lives on this server instead of the shared
    // fixture (tests that stop or restart MariaDB). Not owned.
    const PrivateMariaDb* mariadb = nullptr;
  };

  // Creates every service's database and environment; starts nothing.
  static absl::StatusOr<std::unique_ptr<ServiceSuite>> Create(Options options);
  ~ServiceSuite();

  // Starts customers, opportunities, complaints, scheduling, then the
  // gateway (and waits for its HTTP front to answer, if asked for).
  absl::Status Start();

  ServiceProcess& process(Service service) const;
  ServiceProcess& customers() const { return process(Service::kCustomers); }
  ServiceProcess& opportunities() const { return process(Service::kOpportunities); }
  ServiceProcess& complaints() const { return process(Service::kComplaints); }
  ServiceProcess& scheduling() const { return process(Service::kScheduling); }
  ServiceProcess& gateway() const { return process(Service::kGateway); }
  int http_port() const { return http_port_; }

  // SIGKILL (a crash) or SIGTERM (graceful, waits out the drain and grace)
  // and reap; the raw wait status, or an error if it did not exit.
  absl::StatusOr<int> Kill(Service service);
  absl::StatusOr<int> Terminate(Service service);
  // Starts a stopped service again on its previous port (its peers and the
  // gateway keep their channels to it) and its database.
  absl::Status Restart(Service service);

 private:
  explicit ServiceSuite(Options options) : options_(std::move(options)) {}
  absl::Status StartGateway();

  Options options_;
  std::map<Service, std::unique_ptr<ServiceProcess>> processes_;
  int http_port_ = 0;
};

// A token for `who` from kE2eIssuer for `audience`, signed with `key`,
// issued at `issued` and valid for `ttl`; "" (and a test failure) if it
// cannot be minted.
std::string E2eToken(const auth::Principal& who, std::string_view key = kE2eKey, std::string_view audience = "crm",
                     absl::Time issued = absl::Now(), absl::Duration ttl = absl::Hours(1));
// "Bearer <E2eToken(...)>", "" if there is no token.
std::string E2eBearer(const auth::Principal& who, std::string_view key = kE2eKey, std::string_view audience = "crm",
                      absl::Time issued = absl::Now(), absl::Duration ttl = absl::Hours(1));

// The services' business zone (Asia/Shanghai, the gateway's --time_zone
// default): what "today" and a month are for day plans, dashboards, claims.
absl::TimeZone BusinessZone();

// A loopback port nobody listens on right now (bound, read, released).
int FreeLoopbackPort();

// The first AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer
// ("runtime error:") report in a process's log, up to 40 lines from its
// first line; "" if there is none. The services' own log lines (JSON,
// starting with '{') are never taken for one, whatever they quote.
std::string SanitizerReport(std::string_view log);

}  // namespace crm::testing
