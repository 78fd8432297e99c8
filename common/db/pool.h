#pragma once
// Connection pool for MySQL Connector/C++ 1.1. A Connector/C++ connection is
// never shared between threads: a caller leases one, uses it, and the lease
// returns it on destruction. Connections that hit a connection-level error
// are discarded, and the idle ones are dropped with them (after a server
// restart they are all dead), so the next lease reconnects. A connection
// idle for more than `ping_after_idle` is pinged before it is lent again, so
// a restart that no call saw does not fail the first calls after it. Each pooled
// connection carries a cache of its prepared statements (statement_cache.h),
// so a hot query is prepared once per connection, not once per call.
// Health pings use one more connection of their own (see Ping).

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sql {
class Connection;
class Driver;
}  // namespace sql

namespace crm::db {

struct DbConfig {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string socket;  // when set, used instead of host:port
  std::string user;
  std::string password;
  std::string database;
  int pool_size = 8;
  absl::Duration connect_timeout = absl::Seconds(3);
  absl::Duration io_timeout = absl::Seconds(30);
  // Connect, read and write timeout of the health probe's own connection
  // (whole seconds, at least 1): a hung link fails the probe within this.
  absl::Duration probe_timeout = absl::Seconds(2);
  // A connection idle for longer than this is pinged before it is lent.
  absl::Duration ping_after_idle = absl::Seconds(1);
  // The session's innodb_lock_wait_timeout (whole seconds, at least 1). No
  // call runs longer than 30 s (server::kMaxCallDuration), so a statement
  // waiting longer for a row lock than that (MariaDB's default: 50 s) would
  // only hold its connection for a caller that has gone.
  absl::Duration lock_wait_timeout = absl::Seconds(30);
};

class ConnectionPool;
class PooledConnection;

class Lease {
 public:
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&&) = delete;
  ~Lease();

  sql::Connection& operator*() const { return get(); }
  sql::Connection* operator->() const { return &get(); }
  sql::Connection& get() const;

  // The connection failed at the connection level: close it instead of
  // returning it, and drop the idle ones too.
  void MarkBroken() { broken_ = true; }

 private:
  friend class ConnectionPool;
  Lease(ConnectionPool* pool, std::unique_ptr<PooledConnection> conn);
  ConnectionPool* pool_;
  std::unique_ptr<PooledConnection> conn_;
  bool broken_ = false;
};

class ConnectionPool {
 public:
  // Does not connect: the service must start (and report NOT_SERVING) even
  // while the database is down.
  explicit ConnectionPool(DbConfig config);
  ~ConnectionPool();

  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Waits until a connection is free or `deadline` passes
  // (DEADLINE_EXCEEDED); UNAVAILABLE when the database cannot be reached.
  // The lease's statements are limited (max_statement_time) to the time
  // left before `deadline`, rounded up to 1, 2, 5, 10 or 30 s; none when
  // more than 30 s are left. A statement cut off is DEADLINE_EXCEEDED.
  absl::StatusOr<Lease> Acquire(absl::Time deadline);

  // Round trip to the server ("SELECT 1") on a connection kept for pings
  // only and opened with probe_timeout: a pooled connection would wait
  // io_timeout on a hung link, and a busy pool says nothing about the
  // database. A failed ping closes that connection; the next one
  // reconnects. Pings take turns; DEADLINE_EXCEEDED if another is still
  // running at `deadline`.
  absl::Status Ping(absl::Time deadline);

  const DbConfig& config() const { return config_; }

 private:
  friend class Lease;
  // Wraps `conn` in a lease, its statements limited to `deadline`.
  absl::StatusOr<Lease> Lend(std::unique_ptr<PooledConnection> conn, absl::Time deadline);
  void Return(std::unique_ptr<PooledConnection> conn, bool broken);
  void DropIdle();
  absl::StatusOr<std::unique_ptr<PooledConnection>> Connect();

  const DbConfig config_;
  sql::Driver* driver_;
  absl::Mutex mu_;
  std::deque<std::unique_ptr<PooledConnection>> idle_ ABSL_GUARDED_BY(mu_);
  int leased_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Mutex probe_mu_;
  bool probing_ ABSL_GUARDED_BY(probe_mu_) = false;
  // Taken out while a ping runs; null after a failure.
  std::unique_ptr<sql::Connection> probe_ ABSL_GUARDED_BY(probe_mu_);
};

// One session set up the way every pooled connection is (UTC, utf8mb4,
// READ COMMITTED, autocommit, no silent reconnect); for tools that need a
// connection of their own, like the benchmark's baselines.
absl::StatusOr<std::unique_ptr<sql::Connection>> OpenConnection(sql::Driver& driver,
                                                                const DbConfig& config);

// Calls Driver::threadInit() once per thread and threadEnd() at thread exit,
// as Connector/C++ requires for every thread that uses it.
void EnsureThreadInit(sql::Driver* driver);

}  // namespace crm::db
