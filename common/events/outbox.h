#pragma once
// Transactional outbox. A service writes its business rows and the event
// row in ONE local transaction, so an event exists exactly when its effect
// was committed. The feed (feed_service.h) serves the rows to consumers.
//
//   db::RunInTransaction(pool, deadline, [&](sql::Connection& conn) -> absl::Status {
//     ... business statements ...
//     events::AppendEvent(conn, "opportunities/12", approved, clock.Now());  // last
//     return absl::OkStatus();
//   });

#include <cstdint>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/db/migrations.h"

namespace sql {
class Connection;
}

namespace crm::events {

// Appends one event inside the caller's open transaction (conn from
// crm::db::RunInTransaction) and returns the sequence number assigned.
// The event's type is the payload's full message name. Make it the last
// statement of the transaction: from here to commit, appends of this
// service are serialised (see outbox.cc). Throws sql::SQLException like any
// statement; RunInTransaction maps it to a status.
int64_t AppendEvent(sql::Connection& conn, absl::string_view resource_name,
                    const google::protobuf::Message& payload, absl::Time event_time);

// One event of a batch for AppendEvents.
struct OutboxEvent {
  std::string resource_name;
  const google::protobuf::Message* payload;  // not owned
  absl::Time event_time;
};

// AppendEvent for many events at once (bulk jobs such as a tier recompute):
// one counter update and multi-row INSERTs. Returns the sequence number of
// the first event; the rest follow in order. Same rules as AppendEvent.
int64_t AppendEvents(sql::Connection& conn, const std::vector<OutboxEvent>& events);

// Migrations creating the outbox and counter tables and the consumer cursor
// table. A service concatenates them with its own:
//   ApplyMigrations(pool, events::WithEventTables(svc::Migrations()), deadline);
// Their names start with kEventMigrationPrefix, which sorts before every
// service's V001__… and is reserved: a service migration using it aborts.
std::vector<db::Migration> WithEventTables(const std::vector<db::Migration>& service_migrations);

inline constexpr absl::string_view kEventMigrationPrefix = "V000_events_";

// The event migrations alone (exposed for tests).
std::vector<db::Migration> EventMigrations();

}  // namespace crm::events
