#pragma once
// Runs a unit of work in one local transaction, mapping SQL errors to
// statuses and retrying deadlocks and lock wait timeouts (the whole
// function runs again, so it must only touch the database).

#include <cppconn/connection.h>
#include <cppconn/exception.h>

#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/db/errors.h"
#include "common/db/pool.h"

namespace crm::db {

struct TransactionOptions {
  int max_attempts = 3;
  absl::string_view context = "transaction";
};

namespace internal {
void Begin(sql::Connection& conn);
void Commit(sql::Connection& conn);
void RollbackQuietly(sql::Connection& conn);
inline absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}
}  // namespace internal

// fn: (sql::Connection&) -> absl::Status or absl::StatusOr<T>. A non-OK
// result rolls back; an OK one commits.
template <typename Fn>
auto RunInTransaction(ConnectionPool& pool, absl::Time deadline, Fn&& fn,
                      TransactionOptions options = {})
    -> std::invoke_result_t<Fn&, sql::Connection&> {
  using Result = std::invoke_result_t<Fn&, sql::Connection&>;
  absl::Status last_error;
  for (int attempt = 1; attempt <= options.max_attempts; ++attempt) {
    auto lease = pool.Acquire(deadline);
    if (!lease.ok()) return Result(lease.status());
    sql::Connection& conn = lease->get();
    try {
      internal::Begin(conn);
      Result result = fn(conn);
      if (internal::StatusOf(result).ok()) {
        internal::Commit(conn);
      } else {
        internal::RollbackQuietly(conn);
      }
      return result;
    } catch (const sql::SQLException& e) {
      const int code = e.getErrorCode();
      if (IsConnectionError(code)) {
        lease->MarkBroken();
      } else {
        internal::RollbackQuietly(conn);
      }
      last_error = ToStatus(e, options.context);
      if (!IsRetryableTransactionError(code) || absl::Now() >= deadline) break;
    } catch (...) {
      // The transaction is still open: back in the pool, the connection's
      // next START TRANSACTION would commit its half-done writes.
      lease->MarkBroken();
      throw;
    }
  }
  return Result(last_error);
}

// Same error mapping without a transaction (single reads).
template <typename Fn>
auto WithConnection(ConnectionPool& pool, absl::Time deadline, Fn&& fn,
                    absl::string_view context = "query")
    -> std::invoke_result_t<Fn&, sql::Connection&> {
  using Result = std::invoke_result_t<Fn&, sql::Connection&>;
  auto lease = pool.Acquire(deadline);
  if (!lease.ok()) return Result(lease.status());
  try {
    return fn(lease->get());
  } catch (const sql::SQLException& e) {
    if (IsConnectionError(e.getErrorCode())) lease->MarkBroken();
    return Result(ToStatus(e, context));
  } catch (...) {
    lease->MarkBroken();  // its session state is unknown
    throw;
  }
}

}  // namespace crm::db
