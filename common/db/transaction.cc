#include "common/db/transaction.h"

#include <cppconn/statement.h>

#include <memory>

namespace crm::db::internal {

// START TRANSACTION / COMMIT leave autocommit on: one round trip each,
// where toggling autocommit around commit() takes three.
namespace {
void Run(sql::Connection& conn, const char* statement) {
  std::unique_ptr<sql::Statement> stmt(conn.createStatement());
  stmt->execute(statement);
}
}  // namespace

void Begin(sql::Connection& conn) { Run(conn, "START TRANSACTION"); }

void Commit(sql::Connection& conn) { Run(conn, "COMMIT"); }

void RollbackQuietly(sql::Connection& conn) {
  try {
    Run(conn, "ROLLBACK");
  } catch (const sql::SQLException&) {
    // The connection is already failing; the caller reports the first error.
  }
}

}  // namespace crm::db::internal
