#pragma once
// Server-side prepared statements, prepared once per pooled connection.
//
// Preparing a statement costs a round trip and server CPU; doing it (and
// closing it) on every call was most of the database cost of a point read.
// Each pooled connection therefore keeps its statements, keyed by SQL text,
// for as long as it lives. A cached statement is lent to one execution at a
// time: while a result set read from it is still open, the same SQL gets a
// private statement instead, so nested use of one query never clobbers the
// rows being read. Everything here is used only by the thread that holds the
// connection's lease, so it needs no locking (except the registry that finds
// a connection's cache).

#include <memory>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sql {
class Connection;
class PreparedStatement;
}  // namespace sql

namespace crm::db {

class StatementCache;

// A prepared statement borrowed for one execution; returns to its cache (or
// is closed, when private) on destruction. Must not outlive the lease of
// its connection.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) = delete;
  ~Statement();

  sql::PreparedStatement& operator*() const { return *statement_; }
  sql::PreparedStatement* operator->() const { return statement_; }

 private:
  friend Statement PrepareStatement(sql::Connection& conn, absl::string_view query);
  Statement(sql::PreparedStatement* cached, bool* in_use);
  explicit Statement(std::unique_ptr<sql::PreparedStatement> owned);

  sql::PreparedStatement* statement_;
  std::unique_ptr<sql::PreparedStatement> owned_;
  bool* in_use_ = nullptr;
};

// The cached statement for `query` on `conn` (prepared on first use), or a
// private one when the cached one is busy, the cache is full, or `conn` is
// not a pooled connection.
Statement PrepareStatement(sql::Connection& conn, absl::string_view query);

// A pool's connection together with its statements, which are closed before
// the connection.
class PooledConnection {
 public:
  explicit PooledConnection(std::unique_ptr<sql::Connection> conn);
  ~PooledConnection();
  PooledConnection(const PooledConnection&) = delete;
  PooledConnection& operator=(const PooledConnection&) = delete;

  sql::Connection& connection() const { return *conn_; }

  // When the pool last took it back (the pool checks a connection that sat
  // idle for a while before lending it again).
  absl::Time returned_at() const { return returned_at_; }
  void set_returned_at(absl::Time t) { returned_at_ = t; }

  // The session's max_statement_time as last set by the pool (zero: none,
  // MariaDB's default).
  absl::Duration statement_limit() const { return statement_limit_; }
  void set_statement_limit(absl::Duration limit) { statement_limit_ = limit; }

 private:
  std::unique_ptr<sql::Connection> conn_;
  absl::Time returned_at_ = absl::InfiniteFuture();
  absl::Duration statement_limit_ = absl::ZeroDuration();
  std::unique_ptr<StatementCache> cache_;
};

}  // namespace crm::db
