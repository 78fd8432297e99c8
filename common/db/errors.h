#pragma once
// MySQL/MariaDB error → canonical status, in one place. Only the repository
// layer sees sql::SQLException; everything above it sees absl::Status.

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace sql {
class SQLException;
}

namespace crm::db {

// Server and client error numbers we act on.
inline constexpr int kErrDuplicateKey = 1062;
inline constexpr int kErrLockWaitTimeout = 1205;
inline constexpr int kErrDeadlock = 1213;
inline constexpr int kErrServerGone = 2006;
inline constexpr int kErrLostConnection = 2013;
// Server-side errors that end the session.
inline constexpr int kErrTooManyConnections = 1040;
inline constexpr int kErrServerShutdown = 1053;
inline constexpr int kErrConnectionKilled = 1927;
// max_statement_time passed (the pool sets it from the caller's deadline).
inline constexpr int kErrStatementTimeout = 1969;

// duplicate key → ALREADY_EXISTS, deadlock/lock wait → ABORTED, lost or
// refused connection → UNAVAILABLE, statement past the caller's deadline →
// DEADLINE_EXCEEDED, anything else → INTERNAL. The message
// names `context` but never carries SQL text to the client.
absl::Status ToStatus(const sql::SQLException& e, absl::string_view context);
absl::Status ErrorCodeToStatus(int mysql_error, absl::string_view context);

bool IsRetryableTransactionError(int mysql_error);
bool IsConnectionError(int mysql_error);

}  // namespace crm::db
