#include "common/server/service_config.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/auth/secret_file.h"
#include "common/auth/service_token.h"
#include "common/client/client.h"
#include "common/config/config.h"
#include "common/util/log.h"

ABSL_FLAG(std::string, listen_address, "127.0.0.1:50051", "host:port to serve gRPC on");
ABSL_FLAG(std::string, port_file, "", "write the bound port here once listening");
ABSL_FLAG(int, max_threads, 0,
          "gRPC server thread cap; calls beyond it get RESOURCE_EXHAUSTED (0 = 4 x db_pool_size + 8)");
ABSL_FLAG(int, max_message_bytes, 8 << 20, "largest request or response message");
ABSL_FLAG(int, shutdown_grace_seconds, 10, "time running calls get to finish on SIGTERM");
ABSL_FLAG(int, shutdown_drain_seconds, 0,
          "on SIGTERM, report NOT_SERVING and keep serving this long before stopping (load balancers "
          "that poll health take the replica out first; Kubernetes: or a preStop delay)");
ABSL_FLAG(int, max_connection_age_seconds, 0,
          "close client connections after this age so clients re-resolve and reach new replicas "
          "(0 = never; calls in flight get --shutdown_grace_seconds)");
ABSL_FLAG(int, health_port, 0,
          "also serve grpc.health.v1, and nothing else, in plaintext on this port (same host as "
          "--listen_address), for probes that cannot speak TLS such as the kubelet's; 0 = off");
ABSL_FLAG(bool, migrate_only, false, "apply the schema migrations, then exit (a deployment's migration job)");
ABSL_FLAG(int, health_probe_ms, 1000, "how often the database is pinged for health");
ABSL_FLAG(int, event_retention_hours, 24 * 7,
          "outbox events older than this are pruned; consumers must not fall further behind");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");

// TLS (common/tls): off unless the files are given.
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate chain of this server; set: the listener speaks TLS only");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA certificates; set: clients must present a certificate signed by one (mutual TLS)");
ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM CA certificates; set: calls to other services use TLS and verify their certificates");
ABSL_FLAG(std::string, tls_client_cert_file, "",
          "PEM certificate chain presented on calls to other services (their --tls_client_ca_file)");
ABSL_FLAG(std::string, tls_client_key_file, "", "PEM private key of --tls_client_cert_file");

ABSL_FLAG(std::string, db_host, "127.0.0.1", "MariaDB host");
ABSL_FLAG(int, db_port, 3306, "MariaDB port");
ABSL_FLAG(std::string, db_socket, "", "unix socket (instead of host:port)");
ABSL_FLAG(std::string, db_user, "", "database user");
ABSL_FLAG(std::string, db_name, "", "database (schema) name");
ABSL_FLAG(std::string, db_password_file, "",
          "file holding the database password (or set CRM_DB_PASSWORD; never a flag, so it "
          "does not show in ps)");
ABSL_FLAG(int, db_pool_size, 32,
          "database connections per process (each sync-server call holds one while it runs)");
ABSL_FLAG(int, db_probe_timeout_seconds, 2,
          "connect/read/write timeout of the health probe's own database connection: a hung "
          "database link turns readiness NOT_SERVING within about this");

ABSL_FLAG(std::string, jwt_hs256_key_file, "",
          "HS256 shared key file (local runs); during a key rollover a comma-separated list, the "
          "first one signing this process's own SERVICE tokens");
ABSL_FLAG(std::string, jwt_rs256_public_key_file, "",
          "RS256 public key PEM file (production); during a key rollover a comma-separated list");
ABSL_FLAG(std::string, jwt_issuer, "crm-local", "required token issuer");
ABSL_FLAG(std::string, jwt_audience, "crm", "required token audience");
ABSL_FLAG(std::string, page_token_key_file, "",
          "key that signs page tokens; share it across replicas");

namespace crm::server {
namespace {

std::string ReadSecretOrDie(const std::string& flag, const std::string& path) {
  auto secret = auth::ReadSecretFile(path);
  if (!secret.ok()) config::Die(absl::StrCat("--", flag, ": ", secret.status().message()));
  return *secret;
}

log::Level ParseLogLevel(const std::string& name) {
  if (name == "debug") return log::Level::kDebug;
  if (name == "info") return log::Level::kInfo;
  if (name == "warning") return log::Level::kWarning;
  if (name == "error") return log::Level::kError;
  config::Die(absl::StrCat("--log_level: unknown level '", name, "'"));
}

}  // namespace

ServiceConfig LoadServiceConfig(DatabaseUse database) {
  ServiceConfig c;
  log::SetMinLevel(ParseLogLevel(absl::GetFlag(FLAGS_log_level)));

  c.server.listen_address = absl::GetFlag(FLAGS_listen_address);
  c.server.max_threads = absl::GetFlag(FLAGS_max_threads);
  c.server.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  c.server.shutdown_grace = absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds));
  if (c.server.shutdown_grace < absl::ZeroDuration() || c.server.shutdown_grace > absl::Minutes(5)) {
    config::Die("--shutdown_grace_seconds: 0 to 300");
  }
  c.server.shutdown_drain = absl::Seconds(absl::GetFlag(FLAGS_shutdown_drain_seconds));
  if (c.server.shutdown_drain < absl::ZeroDuration() || c.server.shutdown_drain > absl::Minutes(5)) {
    config::Die("--shutdown_drain_seconds: 0 to 300");
  }
  c.server.max_connection_age = absl::Seconds(absl::GetFlag(FLAGS_max_connection_age_seconds));
  if (c.server.max_connection_age < absl::ZeroDuration()) {
    config::Die("--max_connection_age_seconds: 0 (never) or positive");
  }
  c.server.max_connection_age_grace = c.server.shutdown_grace;
  c.migrate_only = absl::GetFlag(FLAGS_migrate_only);
  c.server.health_probe_interval = absl::Milliseconds(absl::GetFlag(FLAGS_health_probe_ms));
  c.port_file = absl::GetFlag(FLAGS_port_file);
  const int retention_hours = absl::GetFlag(FLAGS_event_retention_hours);
  if (retention_hours < 1) config::Die("--event_retention_hours: at least 1");
  c.event_retention = absl::Hours(retention_hours);
  if (c.server.listen_address.find(':') == std::string::npos) {
    config::Die("--listen_address: expected host:port");
  }
  if (const int health_port = absl::GetFlag(FLAGS_health_port); health_port != 0) {
    const size_t colon = c.server.listen_address.rfind(':');
    if (health_port < 0 || health_port > 65535) config::Die("--health_port: 0 (off) or 1..65535");
    if (c.server.listen_address.substr(colon + 1) == absl::StrCat(health_port)) {
      config::Die("--health_port: must differ from the --listen_address port");
    }
    c.server.health_listen_address = absl::StrCat(c.server.listen_address.substr(0, colon), ":", health_port);
  }
  if (c.server.max_threads != 0 && c.server.max_threads < 4) {
    config::Die("--max_threads: 0 (derived from --db_pool_size) or at least 4");
  }
  if (c.server.max_message_bytes < 1024) config::Die("--max_message_bytes: too small");
  if (c.server.health_probe_interval <= absl::ZeroDuration()) {
    config::Die("--health_probe_ms: must be positive");
  }
  auto server_tls = tls::LoadServerTls(absl::GetFlag(FLAGS_tls_cert_file), absl::GetFlag(FLAGS_tls_key_file),
                                       absl::GetFlag(FLAGS_tls_client_ca_file));
  if (!server_tls.ok()) config::Die(server_tls.status().message());
  c.server.tls = *std::move(server_tls);
  auto channel_tls = tls::LoadChannelTls(absl::GetFlag(FLAGS_tls_ca_file), absl::GetFlag(FLAGS_tls_client_cert_file),
                                         absl::GetFlag(FLAGS_tls_client_key_file));
  if (!channel_tls.ok()) config::Die(channel_tls.status().message());
  client::SetChannelTls(*std::move(channel_tls));

  if (database == DatabaseUse::kRequired) {
    c.db.host = absl::GetFlag(FLAGS_db_host);
    c.db.port = absl::GetFlag(FLAGS_db_port);
    c.db.socket = absl::GetFlag(FLAGS_db_socket);
    c.db.user = absl::GetFlag(FLAGS_db_user);
    c.db.database = absl::GetFlag(FLAGS_db_name);
    c.db.pool_size = absl::GetFlag(FLAGS_db_pool_size);
    if (c.db.user.empty()) config::Die("--db_user (CRM_DB_USER) is required");
    if (c.db.database.empty()) config::Die("--db_name (CRM_DB_NAME) is required");
    if (c.db.port <= 0 || c.db.port > 65535) config::Die("--db_port: out of range");
    if (c.db.pool_size < 1 || c.db.pool_size > 512) config::Die("--db_pool_size: 1..512");
    c.db.probe_timeout = absl::Seconds(absl::GetFlag(FLAGS_db_probe_timeout_seconds));
    if (c.db.probe_timeout < absl::Seconds(1) || c.db.probe_timeout > absl::Seconds(60)) {
      config::Die("--db_probe_timeout_seconds: 1..60");
    }
    if (c.server.max_threads == 0) c.server.max_threads = ThreadCapForPool(c.db.pool_size);
    const std::string password_file = absl::GetFlag(FLAGS_db_password_file);
    if (!password_file.empty()) {
      c.db.password = ReadSecretOrDie("db_password_file", password_file);
    } else if (const char* pw = std::getenv("CRM_DB_PASSWORD")) {
      c.db.password = pw;
    }
  } else if (c.server.max_threads == 0) {
    c.server.max_threads = ThreadCapForPool(8);
  }

  const std::string hs_file = absl::GetFlag(FLAGS_jwt_hs256_key_file);
  const std::string rs_file = absl::GetFlag(FLAGS_jwt_rs256_public_key_file);
  if (hs_file.empty() == rs_file.empty()) {
    config::Die("set exactly one of --jwt_hs256_key_file and --jwt_rs256_public_key_file");
  }
  {
    // Key rotation: every listed key verifies; the first is the main one.
    const bool hs = !hs_file.empty();
    const char* flag = hs ? "jwt_hs256_key_file" : "jwt_rs256_public_key_file";
    const std::vector<std::string> files = absl::StrSplit(hs ? hs_file : rs_file, ',');
    for (size_t i = 0; i < files.size(); ++i) {
      if (files[i].empty()) config::Die(absl::StrCat("--", flag, ": empty file name in the list"));
      std::string key = ReadSecretOrDie(flag, files[i]);
      if (i > 0) {
        c.auth.rollover_keys.push_back(std::move(key));
      } else {
        (hs ? c.auth.hs256_key : c.auth.rs256_public_key_pem) = std::move(key);
      }
    }
  }
  c.auth.issuer = absl::GetFlag(FLAGS_jwt_issuer);
  c.auth.audience = absl::GetFlag(FLAGS_jwt_audience);
  if (c.auth.issuer.empty() || c.auth.audience.empty()) {
    config::Die("--jwt_issuer and --jwt_audience must not be empty");
  }

  const std::string page_key_file = absl::GetFlag(FLAGS_page_token_key_file);
  if (!page_key_file.empty()) {
    c.page_token_key = ReadSecretOrDie("page_token_key_file", page_key_file);
  } else if (!c.auth.hs256_key.empty()) {
    // A secret already shared by every replica that takes the same tokens.
    log::Warning("no --page_token_key_file: page tokens are signed with a key derived from the HS256 key");
    c.page_token_key = absl::StrCat("page-token:", c.auth.hs256_key);
  } else {
    // An RS256 public key is public: tokens signed with it could be forged.
    config::Die("--page_token_key_file: required with --jwt_rs256_public_key_file (a public key cannot sign)");
  }
  return c;
}

absl::Status DatabaseReadiness(db::ConnectionPool& pool) {
  // Only the probe thread pings, so there is never a turn to wait for.
  return pool.Ping(absl::Now() + pool.config().probe_timeout);
}

void WritePortFile(const std::string& path, int port) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << port << "\n";
  }
  std::error_code error;
  std::filesystem::rename(tmp, path, error);
  if (error) config::Die(absl::StrCat("--port_file: cannot write ", path, ": ", error.message()));
}

std::unique_ptr<auth::TokenVerifier> TokenVerifierOrDie(const ServiceConfig& config, const Clock& clock) {
  absl::StatusOr<std::unique_ptr<auth::TokenVerifier>> verifier = auth::TokenVerifier::Create(config.auth, clock);
  if (!verifier.ok()) config::Die(verifier.status().message());
  return *std::move(verifier);
}

std::function<std::string()> ServiceTokenSourceOrDie(const ServiceConfig& config, const std::string& token_file,
                                                     const std::string& subject, const Clock& clock) {
  absl::StatusOr<std::function<std::string()>> source =
      auth::ServiceTokenSource(config.auth, token_file, subject, clock);
  if (!source.ok()) config::Die(absl::StrCat("--service_token_file: ", source.status().message()));
  return *std::move(source);
}

std::optional<int> ExitCodeAfterMigrations(const absl::Status& migrated, const ServiceConfig& config) {
  if (!migrated.ok()) {
    log::Error("migrations failed", {{"error", migrated.ToString()}});
    return 1;
  }
  if (config.migrate_only) {
    log::Info("migrations applied; exiting (--migrate_only)");
    return 0;
  }
  return std::nullopt;
}

bool StartServing(GrpcServer& server, const ServiceConfig& config) {
  absl::StatusOr<int> port = server.Start();
  if (!port.ok()) {
    log::Error("cannot start", {{"error", port.status().ToString()}});
    return false;
  }
  WritePortFile(config.port_file, *port);
  return true;
}

}  // namespace crm::server
