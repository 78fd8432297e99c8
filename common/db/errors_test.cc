#include "common/db/errors.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace crm::db {
namespace {

using ::crm::testing::StatusIs;

TEST(ErrorsTest, MapsMysqlErrorsToCanonicalCodes) {
  EXPECT_THAT(ErrorCodeToStatus(kErrDuplicateKey, "x"), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(ErrorCodeToStatus(kErrDeadlock, "x"), StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(ErrorCodeToStatus(kErrLockWaitTimeout, "x"), StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(ErrorCodeToStatus(kErrServerGone, "x"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ErrorCodeToStatus(kErrLostConnection, "x"), StatusIs(absl::StatusCode::kUnavailable));
  // A server shutting down, a killed session, a full server: clients may retry.
  EXPECT_THAT(ErrorCodeToStatus(kErrServerShutdown, "x"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ErrorCodeToStatus(kErrConnectionKilled, "x"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ErrorCodeToStatus(kErrTooManyConnections, "x"), StatusIs(absl::StatusCode::kUnavailable));
  // A statement stopped at the caller's deadline (max_statement_time).
  EXPECT_THAT(ErrorCodeToStatus(kErrStatementTimeout, "x"), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(ErrorCodeToStatus(1064, "x"), StatusIs(absl::StatusCode::kInternal));
}

TEST(ErrorsTest, MessageNamesContextButNoSql) {
  absl::Status s = ErrorCodeToStatus(1064, "create customer");
  EXPECT_EQ(s.message(), "create customer: database error 1064");
}

}  // namespace
}  // namespace crm::db
