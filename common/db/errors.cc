#include "common/db/errors.h"

#include <cppconn/exception.h>

#include "absl/strings/str_cat.h"
#include "common/util/log.h"

namespace crm::db {

bool IsRetryableTransactionError(int mysql_error) {
  return mysql_error == kErrDeadlock || mysql_error == kErrLockWaitTimeout;
}

bool IsConnectionError(int mysql_error) {
  return mysql_error == kErrTooManyConnections || mysql_error == kErrServerShutdown ||
         mysql_error == kErrConnectionKilled ||
         // 2000-2099 are client errors (server gone, lost connection, cannot
         // connect …); most mean the connection is unusable.
         (mysql_error >= 2000 && mysql_error < 2100);
}

absl::Status ErrorCodeToStatus(int mysql_error, absl::string_view context) {
  if (mysql_error == kErrDuplicateKey) {
    return absl::AlreadyExistsError(absl::StrCat(context, ": already exists"));
  }
  if (IsRetryableTransactionError(mysql_error)) {
    return absl::AbortedError(absl::StrCat(context, ": concurrent update, retry"));
  }
  if (IsConnectionError(mysql_error)) {
    return absl::UnavailableError(absl::StrCat(context, ": database unavailable"));
  }
  if (mysql_error == kErrStatementTimeout) {
    return absl::DeadlineExceededError(absl::StrCat(context, ": deadline passed in the database"));
  }
  return absl::InternalError(absl::StrCat(context, ": database error ", mysql_error));
}

absl::Status ToStatus(const sql::SQLException& e, absl::string_view context) {
  const int code = e.getErrorCode();
  if (code != kErrDuplicateKey && !IsRetryableTransactionError(code) && code != kErrStatementTimeout) {
    // Full text for operators only; clients get the canonical message.
    log::Warning("sql error", {{"context", context},
                               {"code", absl::StrCat(code)},
                               {"sqlstate", e.getSQLState()},
                               {"error", e.what()}});
  }
  return ErrorCodeToStatus(code, context);
}

}  // namespace crm::db
