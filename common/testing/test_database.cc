#include "common/testing/test_database.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/db/errors.h"
#include "common/db/transaction.h"

namespace crm::testing {
namespace {

std::string UniqueName(absl::string_view prefix) {
  std::random_device rd;
  return absl::StrCat(prefix, getpid(), "_", rd() % 1000000);
}

db::DbConfig ConfigFromEnv(const std::map<std::string, std::string>& env) {
  db::DbConfig c;
  auto get = [&](const char* k) {
    auto it = env.find(k);
    return it == env.end() ? std::string() : it->second;
  };
  c.host = get("MARIADB_HOST");
  (void)absl::SimpleAtoi(get("MARIADB_PORT"), &c.port);
  c.user = get("MARIADB_ADMIN_USER");
  c.password = get("MARIADB_ADMIN_PASSWORD");
  c.connect_timeout = absl::Seconds(2);
  c.io_timeout = absl::Seconds(10);
  return c;
}

absl::Status RunAdminStatement(const db::DbConfig& server, const std::string& statement) {
  db::DbConfig admin = server;
  admin.database.clear();
  admin.pool_size = 1;
  db::ConnectionPool pool(admin);
  return db::WithConnection(pool, absl::Now() + absl::Seconds(20), [&](sql::Connection& conn) {
    std::unique_ptr<sql::Statement> stmt(conn.createStatement());
    stmt->execute(statement);
    return absl::OkStatus();
  });
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ReadEnvFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  std::map<std::string, std::string> env;
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos || line.empty() || line[0] == '#') continue;
    env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

absl::StatusOr<TestDatabase> TestDatabase::Create(int pool_size) {
  const char* env_path = std::getenv("CRM_TEST_DB_ENV");
  if (env_path == nullptr) {
    return absl::FailedPreconditionError(
        "CRM_TEST_DB_ENV is not set: run integration tests through ctest (fixture 'mariadb')");
  }
  auto env = ReadEnvFile(env_path);
  if (!env.ok()) return env.status();
  TestDatabase db;
  db.config_ = ConfigFromEnv(*env);
  db.config_.database = UniqueName("t_");
  db.config_.pool_size = pool_size;
  absl::Status s = RunAdminStatement(
      db.config_, absl::StrCat("CREATE DATABASE `", db.config_.database,
                               "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"));
  if (!s.ok()) return s;
  db.owner_ = true;
  return db;
}

TestDatabase::~TestDatabase() {
  if (!owner_) return;
  (void)RunAdminStatement(config_, absl::StrCat("DROP DATABASE IF EXISTS `", config_.database, "`"));
}

absl::StatusOr<std::unique_ptr<PrivateMariaDb>> PrivateMariaDb::Start() {
  std::string root = (std::filesystem::temp_directory_path() / UniqueName("crm-mariadb-")).string();
  std::unique_ptr<PrivateMariaDb> db(new PrivateMariaDb(root));
  if (absl::Status s = db->RunScript("start"); !s.ok()) return s;
  if (absl::Status s = db->LoadEnv(); !s.ok()) return s;
  return db;
}

PrivateMariaDb::~PrivateMariaDb() {
  (void)RunScript("stop");
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
  std::filesystem::remove(root_ + ".log", ignored);
}

absl::Status PrivateMariaDb::RunScript(const std::string& verb) const {
  const std::string command =
      absl::StrCat("bash '", CRM_SOURCE_DIR, "/deploy/local/mariadb.sh' ", verb, " '", root_,
                   "' >>'", root_, ".log' 2>&1");
  if (std::system(command.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("mariadb.sh ", verb, " failed; see ", root_, ".log"));
  }
  return absl::OkStatus();
}

absl::Status PrivateMariaDb::LoadEnv() {
  auto env = ReadEnvFile(root_ + "/env");
  if (!env.ok()) return env.status();
  env_ = *env;
  return absl::OkStatus();
}

absl::Status PrivateMariaDb::Stop() { return RunScript("stop"); }
absl::Status PrivateMariaDb::Kill() { return RunScript("kill"); }
absl::Status PrivateMariaDb::Restart() { return RunScript("start"); }

db::DbConfig PrivateMariaDb::Config(const std::string& database) const {
  db::DbConfig c = ConfigFromEnv(env_);
  c.database = database;
  return c;
}

absl::Status PrivateMariaDb::CreateDatabase(const std::string& database) const {
  return RunAdminStatement(Config(""), absl::StrCat("CREATE DATABASE IF NOT EXISTS `", database,
                                                    "` CHARACTER SET utf8mb4"));
}

}  // namespace crm::testing
