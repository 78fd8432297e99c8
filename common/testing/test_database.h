#pragma once
// Integration-test databases on a real MariaDB.
//
// TestDatabase: a fresh, uniquely named database on the shared server that
// the CTest fixture "mariadb" starts (deploy/local/mariadb.sh; its
// connection details come from the file named by CRM_TEST_DB_ENV). Dropped
// when the object goes away.
//
// PrivateMariaDb: a server of the test's own, for tests that stop, kill or
// restart the database under a running service.

#include <map>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "common/db/pool.h"

namespace crm::testing {

class TestDatabase {
 public:
  // Creates the database; fails the test run with a clear message when the
  // fixture is not running.
  static absl::StatusOr<TestDatabase> Create(int pool_size = 8);
  TestDatabase(TestDatabase&& other) noexcept
      : config_(std::move(other.config_)), owner_(std::exchange(other.owner_, false)) {}
  ~TestDatabase();

  const db::DbConfig& config() const { return config_; }

 private:
  TestDatabase() = default;
  db::DbConfig config_;
  bool owner_ = false;
};

class PrivateMariaDb {
 public:
  // Starts a server in a temporary folder on a free loopback port.
  static absl::StatusOr<std::unique_ptr<PrivateMariaDb>> Start();
  ~PrivateMariaDb();  // stops the server and removes the folder

  absl::Status Stop();     // graceful shutdown
  absl::Status Kill();     // SIGKILL, like a crash
  absl::Status Restart();  // start again on the same port with the same data

  // Admin credentials on a database created for the test.
  db::DbConfig Config(const std::string& database) const;
  absl::Status CreateDatabase(const std::string& database) const;

 private:
  explicit PrivateMariaDb(std::string root) : root_(std::move(root)) {}
  absl::Status RunScript(const std::string& verb) const;
  absl::Status LoadEnv();
  std::string root_;
  std::map<std::string, std::string> env_;
};

// Reads KEY=VALUE lines.
absl::StatusOr<std::map<std::string, std::string>> ReadEnvFile(const std::string& path);

}  // namespace crm::testing
