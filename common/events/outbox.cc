#include "common/events/outbox.h"

#include <cppconn/exception.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/db/sql.h"
#include "common/util/log.h"

namespace crm::events {

int64_t AppendEvent(sql::Connection& conn, absl::string_view resource_name,
                    const google::protobuf::Message& payload, absl::Time event_time) {
  // Sequence numbers are gap-free in COMMIT order, so a consumer that has
  // read "up to N" can never miss an event committed later with a lower
  // number. The counter row is updated inside the caller's transaction: the
  // UPDATE takes the row's exclusive lock and InnoDB holds it until this
  // transaction commits or rolls back. A concurrent appender waits here and
  // reads N+1 only after N has committed; if N's transaction rolls back, so
  // does the increment and the next appender gets N itself. Allocation order
  // therefore equals commit order, and every snapshot sees a contiguous
  // prefix 1..head. The price is that appends of one service are serialised
  // from this statement to commit, which is why it comes last.
  if (db::Execute(conn,
                  "UPDATE event_sequence SET last_sequence = LAST_INSERT_ID(last_sequence + 1) "
                  "WHERE id = 1") != 1) {
    throw sql::SQLException("event_sequence has no counter row; apply events::WithEventTables");
  }
  // Append time comes from the database, not the caller's (possibly fake)
  // clock: it only drives pruning. The number is the session's
  // LAST_INSERT_ID() the UPDATE set, read back with RETURNING: one round
  // trip fewer than reading it first.
  auto rs = db::Query(conn,
                      "INSERT INTO event_outbox (sequence, type, resource_name, event_time, payload, "
                      "append_time) VALUES (LAST_INSERT_ID(), ?, ?, ?, ?, UTC_TIMESTAMP(6)) RETURNING sequence",
                      payload.GetDescriptor()->full_name(), resource_name, event_time,
                      payload.SerializeAsString());
  rs->next();
  return rs->getInt64(1);
}

int64_t AppendEvents(sql::Connection& conn, const std::vector<OutboxEvent>& events) {
  if (events.empty()) return 0;
  const auto count = static_cast<int64_t>(events.size());
  // Reserves the whole range under the same row lock as AppendEvent.
  if (db::Execute(conn,
                  "UPDATE event_sequence SET last_sequence = LAST_INSERT_ID(last_sequence + ?) "
                  "WHERE id = 1",
                  count) != 1) {
    throw sql::SQLException("event_sequence has no counter row; apply events::WithEventTables");
  }
  // Numbered from the reserved range's end (LAST_INSERT_ID(), as in
  // AppendEvent) without reading it first.
  int64_t first = 0;
  constexpr size_t kRowsPerInsert = 500;
  for (size_t start = 0; start < events.size(); start += kRowsPerInsert) {
    const size_t end = std::min(events.size(), start + kRowsPerInsert);
    std::string sql =
        "INSERT INTO event_outbox (sequence, type, resource_name, event_time, payload, append_time) "
        "VALUES ";
    std::vector<db::Param> params;
    params.reserve((end - start) * 5);
    for (size_t i = start; i < end; ++i) {
      const OutboxEvent& e = events[i];
      absl::StrAppend(&sql, i == start ? "" : ",", "(LAST_INSERT_ID() - ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))");
      params.insert(params.end(), {count - 1 - static_cast<int64_t>(i), e.payload->GetDescriptor()->full_name(),
                                   e.resource_name, e.event_time, e.payload->SerializeAsString()});
    }
    if (start == 0) {
      sql += " RETURNING sequence";
      db::ResultSetPtr rs = db::QueryDynamic(conn, sql, params);
      rs->next();
      first = rs->getInt64(1);
    } else {
      db::ExecuteDynamic(conn, sql, params);
    }
  }
  return first;
}

std::vector<db::Migration> EventMigrations() {
  // Never edit these once released (the checksum is recorded); add a
  // V000_events_003__… instead. Each statement is safe to re-run.
  return {
      {"V000_events_001__outbox.sql", R"sql(
CREATE TABLE IF NOT EXISTS event_sequence (
  id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  last_sequence BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT IGNORE INTO event_sequence (id, last_sequence) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS event_outbox (
  sequence BIGINT NOT NULL PRIMARY KEY,
  type VARCHAR(255) CHARACTER SET ascii NOT NULL,
  resource_name VARCHAR(512) NOT NULL,
  event_time DATETIME(6) NOT NULL,
  payload LONGBLOB NOT NULL,
  append_time DATETIME(6) NOT NULL,
  KEY event_outbox_append_time (append_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
)sql"},
      {"V000_events_002__cursors.sql", R"sql(
CREATE TABLE IF NOT EXISTS event_cursors (
  producer VARCHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  last_sequence BIGINT NOT NULL,
  update_time DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
)sql"},
  };
}

std::vector<db::Migration> WithEventTables(const std::vector<db::Migration>& service_migrations) {
  std::vector<db::Migration> all = EventMigrations();
  for (const db::Migration& m : service_migrations) {
    if (absl::StartsWith(m.name, kEventMigrationPrefix)) {
      // A programming error in the service's schema folder: refuse to start.
      log::Error("migration name uses the prefix reserved for event tables", {{"name", m.name}});
      std::abort();
    }
    all.push_back(m);
  }
  return all;
}

}  // namespace crm::events
