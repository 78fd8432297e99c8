#pragma once
// The configuration every service process shares (listen address, database,
// token verification, page tokens), read from flags with CRM_* environment
// fallbacks. LoadServiceConfig() validates it and ends the process with a
// clear message when something is wrong.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "common/auth/token_verifier.h"
#include "common/db/pool.h"
#include "common/server/server.h"

namespace crm::server {

struct ServiceConfig {
  ServerOptions server;
  db::DbConfig db;
  auth::AuthConfig auth;
  std::string page_token_key;
  std::string port_file;  // written with the bound port once listening
  // Outbox events older than this are pruned (common/events); a consumer
  // further behind than this must resynchronise.
  absl::Duration event_retention = absl::Hours(24 * 7);
  // Apply the migrations and exit 0 (a deployment's one-time job).
  bool migrate_only = false;
};

enum class DatabaseUse { kRequired, kNone };

// Reads flags (see service_config.cc for names and defaults); also makes
// every client::MakeChannel of the process use the --tls_ca_file and
// --tls_client_* settings (client::SetChannelTls). With
// DatabaseUse::kNone (the gateway) the --db_* flags are ignored and `db`
// stays default.
ServiceConfig LoadServiceConfig(DatabaseUse database = DatabaseUse::kRequired);

// Health readiness for a database-backed service: NOT_SERVING when the
// database does not answer a ping within --db_probe_timeout_seconds (the
// ping has a connection of its own, so a busy pool is still serving).
absl::Status DatabaseReadiness(db::ConnectionPool& pool);

// Writes `port` to `path` atomically (tests and scripts use port 0).
void WritePortFile(const std::string& path, int port);

// Start-up steps every main() takes the same way; each ends the process
// with a clear message (config::Die, exit 2) where it cannot go on.

// The verifier of callers' bearer tokens (config.auth).
std::unique_ptr<auth::TokenVerifier> TokenVerifierOrDie(const ServiceConfig& config, const Clock& clock);

// The token this service presents when it calls others on its own behalf
// (auth/service_token.h): from `token_file`, the --service_token_file flag's
// value, or minted for `subject`.
std::function<std::string()> ServiceTokenSourceOrDie(const ServiceConfig& config, const std::string& token_file,
                                                     const std::string& subject, const Clock& clock);

// What main() returns once the start-up migrations have run: 1 (logged)
// when they failed, 0 (logged) under --migrate_only; nullopt to go on and
// serve.
std::optional<int> ExitCodeAfterMigrations(const absl::Status& migrated, const ServiceConfig& config);

// Starts `server` and writes the port it listens on to --port_file; false
// (logged) when it cannot listen.
bool StartServing(GrpcServer& server, const ServiceConfig& config);

}  // namespace crm::server
