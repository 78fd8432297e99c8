#include "common/db/pool.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/db/errors.h"
#include "common/db/statement_cache.h"

namespace crm::db {
namespace {

struct ThreadGuard {
  sql::Driver* driver = nullptr;
  ~ThreadGuard() {
    if (driver != nullptr) driver->threadEnd();
  }
};

int Seconds(absl::Duration d) { return static_cast<int>(absl::ToInt64Seconds(d)); }

// The statement time limit for a lease whose caller has `left` before its
// deadline: rounded up to a coarse step, so no statement is cut before its
// caller's deadline and calls with similar deadlines find the session
// already set (a change costs a round trip). Beyond the longest call no limit.
absl::Duration StatementLimitFor(absl::Duration left) {
  for (absl::Duration step : {absl::Seconds(1), absl::Seconds(2), absl::Seconds(5), absl::Seconds(10),
                              absl::Seconds(30)}) {
    if (left <= step) return step;
  }
  return absl::ZeroDuration();
}

bool Alive(sql::Connection& conn) {
  try {
    return conn.isValid();
  } catch (const sql::SQLException&) {
    return false;
  }
}

}  // namespace

void EnsureThreadInit(sql::Driver* driver) {
  thread_local ThreadGuard guard;
  if (guard.driver == nullptr) {
    driver->threadInit();
    guard.driver = driver;
  }
}

Lease::Lease(ConnectionPool* pool, std::unique_ptr<PooledConnection> conn)
    : pool_(pool), conn_(std::move(conn)) {}

sql::Connection& Lease::get() const { return conn_->connection(); }

Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), conn_(std::move(other.conn_)), broken_(other.broken_) {
  other.pool_ = nullptr;
}

Lease::~Lease() {
  if (pool_ != nullptr) pool_->Return(std::move(conn_), broken_);
}

ConnectionPool::ConnectionPool(DbConfig config)
    // get_driver_instance() is not thread-safe; the pool is built in main.
    : config_(std::move(config)), driver_(sql::mysql::get_mysql_driver_instance()) {}

ConnectionPool::~ConnectionPool() {
  absl::MutexLock lock(&mu_);
  EnsureThreadInit(driver_);
  idle_.clear();
}

absl::StatusOr<std::unique_ptr<sql::Connection>> OpenConnection(sql::Driver& driver, const DbConfig& config) {
  EnsureThreadInit(&driver);
  sql::ConnectOptionsMap options;
  if (!config.socket.empty()) {
    options["hostName"] = sql::SQLString("unix://" + config.socket);
  } else {
    options["hostName"] = sql::SQLString(absl::StrCat("tcp://", config.host, ":", config.port));
  }
  options["userName"] = sql::SQLString(config.user);
  options["password"] = sql::SQLString(config.password);
  options["schema"] = sql::SQLString(config.database);
  options["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
  options["OPT_CONNECT_TIMEOUT"] = Seconds(config.connect_timeout);
  options["OPT_READ_TIMEOUT"] = Seconds(config.io_timeout);
  options["OPT_WRITE_TIMEOUT"] = Seconds(config.io_timeout);
  // Never reconnect silently: it would drop session state mid-transaction.
  options["OPT_RECONNECT"] = false;
  try {
    std::unique_ptr<sql::Connection> conn(driver.connect(options));
    std::unique_ptr<sql::Statement> stmt(conn->createStatement());
    // Times are stored as UTC DATETIME(6); READ COMMITTED avoids gap locks.
    stmt->execute(absl::StrCat("SET time_zone = '+00:00', NAMES utf8mb4 COLLATE utf8mb4_unicode_ci, "
                               "innodb_lock_wait_timeout = ", std::max(1, Seconds(config.lock_wait_timeout))));
    conn->setTransactionIsolation(sql::TRANSACTION_READ_COMMITTED);
    conn->setAutoCommit(true);
    return conn;
  } catch (const sql::SQLException& e) {
    return ToStatus(e, "connect");
  }
}

absl::StatusOr<std::unique_ptr<PooledConnection>> ConnectionPool::Connect() {
  auto conn = OpenConnection(*driver_, config_);
  if (!conn.ok()) return conn.status();
  return std::make_unique<PooledConnection>(std::move(*conn));
}

absl::StatusOr<Lease> ConnectionPool::Acquire(absl::Time deadline) {
  EnsureThreadInit(driver_);
  std::unique_ptr<PooledConnection> idle;
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || leased_ < config_.pool_size;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&available), deadline)) {
      return absl::DeadlineExceededError("no database connection free before the deadline");
    }
    ++leased_;
    if (!idle_.empty()) {
      // Most recently returned first: under light load one connection
      // stays in use (and needs no ping) while the others age.
      idle = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (idle != nullptr) {
    // A connection that sat idle may have outlived the server (a restart
    // while no call ran): one ping, outside the lock, finds out before the
    // caller's statement does. Busy connections are lent without it.
    if (absl::Now() - idle->returned_at() < config_.ping_after_idle || Alive(idle->connection())) {
      return Lend(std::move(idle), deadline);
    }
    idle.reset();
    DropIdle();  // as old as this one
  }
  // Connect outside the lock: it can take up to connect_timeout.
  auto conn = Connect();
  if (!conn.ok()) {
    absl::MutexLock lock(&mu_);
    --leased_;
    return conn.status();
  }
  return Lend(std::move(*conn), deadline);
}

absl::StatusOr<Lease> ConnectionPool::Lend(std::unique_ptr<PooledConnection> conn, absl::Time deadline) {
  // The caller's deadline reaches the database: MariaDB stops a statement
  // (a row-lock wait included) that outruns it, rather than working on for
  // a caller that has gone.
  const absl::Duration limit = StatementLimitFor(deadline - absl::Now());
  Lease lease(this, std::move(conn));
  if (limit == lease.conn_->statement_limit()) return lease;
  try {
    std::unique_ptr<sql::Statement> stmt(lease->createStatement());
    stmt->execute(absl::StrCat("SET SESSION max_statement_time = ", absl::ToInt64Seconds(limit)));
    lease.conn_->set_statement_limit(limit);
    return lease;
  } catch (const sql::SQLException& e) {
    if (IsConnectionError(e.getErrorCode())) lease.MarkBroken();
    return ToStatus(e, "statement limit");
  }
}

void ConnectionPool::Return(std::unique_ptr<PooledConnection> conn, bool broken) {
  {
    absl::MutexLock lock(&mu_);
    --leased_;
    if (!broken) {
      if (conn != nullptr) {
        conn->set_returned_at(absl::Now());
        idle_.push_back(std::move(conn));
      }
      return;
    }
  }
  conn.reset();
  DropIdle();
}

void ConnectionPool::DropIdle() {
  std::deque<std::unique_ptr<PooledConnection>> dropped;
  absl::MutexLock lock(&mu_);
  dropped.swap(idle_);  // closed when this scope ends, after the unlock
}

absl::Status ConnectionPool::Ping(absl::Time deadline) {
  EnsureThreadInit(driver_);
  std::unique_ptr<sql::Connection> conn;
  {
    absl::MutexLock lock(&probe_mu_);
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(probe_mu_) { return !probing_; };
    if (!probe_mu_.AwaitWithDeadline(absl::Condition(&idle), deadline)) {
      return absl::DeadlineExceededError("another database ping is still running");
    }
    probing_ = true;
    conn = std::move(probe_);
  }
  absl::Status status;
  if (conn == nullptr) {
    DbConfig probe_config = config_;
    probe_config.connect_timeout = probe_config.io_timeout = config_.probe_timeout;
    auto opened = OpenConnection(*driver_, probe_config);
    if (opened.ok()) {
      conn = *std::move(opened);
    } else {
      status = opened.status();
    }
  }
  if (conn != nullptr) {
    try {
      std::unique_ptr<sql::Statement> stmt(conn->createStatement());
      std::unique_ptr<sql::ResultSet> rs(stmt->executeQuery("SELECT 1"));
    } catch (const sql::SQLException& e) {
      conn.reset();  // reconnect on the next ping
      status = ErrorCodeToStatus(e.getErrorCode(), "ping");
    }
  }
  absl::MutexLock lock(&probe_mu_);
  probe_ = std::move(conn);
  probing_ = false;
  return status;
}

}  // namespace crm::db
