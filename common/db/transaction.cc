#include "common/db/transaction.h"

#include <cppconn/statement.h>

#include <memory>

namespace crm::db::internal {

void Begin(sql::Connection& conn) { conn.setAutoCommit(false); }

void Commit(sql::Connection& conn) {
  conn.commit();
  conn.setAutoCommit(true);
}

void RollbackQuietly(sql::Connection& conn) {
  try {
    conn.rollback();
    conn.setAutoCommit(true);
  } catch (const sql::SQLException&) {
    // The connection is already failing; the caller reports the first error.
  }
}

}  // namespace crm::db::internal
