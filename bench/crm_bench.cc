// crm_bench: closed-loop load generator for the customers service and its
// two baselines (bench/README.md). bench/run.sh starts everything and runs
// it; to run it by hand against running servers:
//
//   crm_bench --scenarios=echo,get_customer --echo_address=127.0.0.1:PORT
//     --customers_address=127.0.0.1:PORT --jwt_hs256_key_file=KEY ...
//
// Exit status: 0 every target met, 1 a scenario could not run,
// 2 bad flags, 3 a target was missed.
#include <cppconn/driver.h>
#include <mysql_driver.h>

#include <cstdlib>
#include <iostream>
#include <set>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "bench/report.h"
#include "bench/scenarios.h"
#include "common/auth/principal.h"
#include "common/auth/secret_file.h"
#include "common/auth/token_minter.h"

ABSL_FLAG(std::string, scenarios, "all",
          "comma-separated: idle_rss, echo, get_customer, gateway_get_customer, gateway_http_get_customer, "
          "customer_360, direct_select, direct_select_each, direct_insert, "
          "create_customer, create_opportunity, record_complaint, book_visit_32_managers, book_visit_1_manager, "
          "plan_day_30, event_feed, import_members, recompute_tiers, breach_sweep, conflict_check_1m, "
          "rss_after_load; "
          "or all (in that order)");
ABSL_FLAG(int, callers, 32, "concurrent callers of the closed-loop scenarios");
ABSL_FLAG(double, warmup_seconds, 3, "warm-up before each measured period (not recorded)");
ABSL_FLAG(double, measure_seconds, 10, "measured period of each closed-loop scenario");
ABSL_FLAG(int, deadline_ms, 2000, "deadline of every unary call");
ABSL_FLAG(int, long_deadline_ms, 60000, "deadline of the import stream and of RecomputeTiers");
ABSL_FLAG(int, channels, 1, "client connections per server, shared round-robin by the callers");

ABSL_FLAG(std::string, customers_address, "", "host:port of crm-customers");
ABSL_FLAG(std::string, echo_address, "", "host:port of echo_server");
ABSL_FLAG(std::string, opportunities_address, "", "host:port of crm-opportunities (create_opportunity)");
ABSL_FLAG(int, opportunities_pid, 0, "pid of crm-opportunities (CPU per call)");
ABSL_FLAG(int, opportunity_customers, 100,
          "enterprises the manager owns for create_opportunity and record_complaint to pick from");
ABSL_FLAG(std::string, complaints_address, "", "host:port of crm-complaints (record_complaint)");
ABSL_FLAG(int, complaints_pid, 0, "pid of crm-complaints (CPU per call)");
ABSL_FLAG(std::string, complaints_db_name, "",
          "breach_sweep: a database of its own for the complaints schema (emptied and seeded)");
ABSL_FLAG(std::string, complaints_db_user, "", "breach_sweep: its user (same host and port as --db_host/--db_port)");
ABSL_FLAG(std::string, complaints_db_password_file, "", "breach_sweep: file with that user's password");
ABSL_FLAG(int, sweep_complaints, 1000000, "open complaints breach_sweep seeds (1 % of them due)");
ABSL_FLAG(std::string, scheduling_address, "",
          "host:port of crm-scheduling (book_visit_32_managers, book_visit_1_manager, plan_day_30, "
          "conflict_check_1m)");
ABSL_FLAG(int, scheduling_pid, 0, "pid of crm-scheduling (CPU per call)");
ABSL_FLAG(std::string, scheduling_db_name, "",
          "conflict_check_1m: crm-scheduling's own database, into which it seeds visits");
ABSL_FLAG(std::string, scheduling_db_user, "", "conflict_check_1m: its user (same host and port as --db_host/--db_port)");
ABSL_FLAG(std::string, scheduling_db_password_file, "", "conflict_check_1m: file with that user's password");
ABSL_FLAG(int, seed_visits, 1000000, "visits conflict_check_1m seeds");
ABSL_FLAG(int, seed_managers, 1000, "managers the seeded visits are spread over (the same number each)");
ABSL_FLAG(int, conflict_check_calls, 1000,
          "timed BookVisit calls conflict_check_1m makes for seeded managers, and as many for empty ones");
ABSL_FLAG(std::string, gateway_address, "",
          "host:port of crm-gateway's gRPC front (gateway_get_customer, customer_360)");
ABSL_FLAG(std::string, gateway_http_address, "",
          "host:port of crm-gateway's HTTP/JSON front (gateway_http_get_customer)");
ABSL_FLAG(int, gateway_pid, 0, "pid of crm-gateway (CPU per call)");
ABSL_FLAG(int, customers_360, 100,
          "enterprises customer_360 creates and picks from (each with contacts, an opportunity, a complaint, a visit)");
ABSL_FLAG(std::string, events_db_name, "", "event_feed: the consumer's own database (cursor, bench_effects)");
ABSL_FLAG(std::string, events_db_user, "", "event_feed: its user (same host and port as --db_host/--db_port)");
ABSL_FLAG(std::string, events_db_password_file, "", "event_feed: file with that user's password");
ABSL_FLAG(int, service_pid, 0, "pid of crm-customers (idle_rss, rss_after_load, CPU per call)");
ABSL_FLAG(int, echo_pid, 0, "pid of echo_server (CPU per call)");
ABSL_FLAG(int, mariadb_pid, 0, "pid of mariadbd (CPU per call)");
ABSL_FLAG(std::string, jwt_hs256_key_file, "", "the service's HS256 key: crm_bench mints an ADMIN token");
ABSL_FLAG(std::string, jwt_issuer, "crm-local", "token issuer the service expects");
ABSL_FLAG(std::string, jwt_audience, "crm", "token audience the service expects");

ABSL_FLAG(std::string, db_host, "127.0.0.1", "database of the service (direct_* baselines, seeding)");
ABSL_FLAG(int, db_port, 3306, "database port");
ABSL_FLAG(std::string, db_user, "", "database user");
ABSL_FLAG(std::string, db_name, "", "database (schema) of the customers service");
ABSL_FLAG(std::string, db_password_file, "", "file with the database password (else $CRM_DB_PASSWORD)");

ABSL_FLAG(int, customer_set, 1000, "enterprises created for get_customer / direct_select to pick from");
ABSL_FLAG(int, members, 100000, "members import_members streams");
ABSL_FLAG(int, members_per_message, 1000, "members per ImportMembers message");
ABSL_FLAG(int, enterprises, 100000, "active enterprises recompute_tiers ranks (seeded with SQL)");
ABSL_FLAG(int, echo_payload_bytes, 16, "payload of each Echo call (about a GetCustomer request)");

namespace {

const std::vector<std::string>& AllScenarios() {
  // Each baseline runs next to the scenario it is compared with.
  static const std::vector<std::string> kAll = {
      "idle_rss",      "echo",            "get_customer",    "gateway_get_customer", "gateway_http_get_customer",
      "customer_360",  "direct_select",  "direct_select_each",
      "direct_insert", "create_customer", "create_opportunity", "record_complaint", "book_visit_32_managers",
      "book_visit_1_manager", "plan_day_30", "event_feed", "import_members", "recompute_tiers", "breach_sweep",
      "conflict_check_1m", "rss_after_load"};
  return kAll;
}

[[noreturn]] void Usage(const std::string& message) {
  std::cerr << "crm_bench: " << message << "\n";
  std::exit(2);
}

// A database of the bench's own on the server of `db` (same host and
// port), from the --<prefix>_db_* flags.
crm::db::DbConfig OwnDatabase(const crm::db::DbConfig& db, const std::string& name, const std::string& user,
                              const std::string& password_file, const std::string& password_flag) {
  crm::db::DbConfig own;
  own.host = db.host;
  own.port = db.port;
  own.database = name;
  own.user = user;
  if (!password_file.empty()) {
    auto password = crm::auth::ReadSecretFile(password_file);
    if (!password.ok()) Usage("--" + password_flag + ": " + std::string(password.status().message()));
    own.password = *password;
  }
  return own;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("crm_bench: load generator and baselines for the customers service");
  absl::ParseCommandLine(argc, argv);
  // As in the servers (common/server): Debian's Abseil keeps a lock graph on
  // every mutex acquisition, which the load generator should not pay for.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  std::vector<std::string> scenarios;
  if (absl::GetFlag(FLAGS_scenarios) == "all") {
    scenarios = AllScenarios();
  } else {
    scenarios = absl::StrSplit(absl::GetFlag(FLAGS_scenarios), ',', absl::SkipWhitespace());
    const std::set<std::string> known(AllScenarios().begin(), AllScenarios().end());
    for (const std::string& s : scenarios) {
      if (known.count(s) == 0) Usage("unknown scenario '" + s + "'; known: " + absl::StrJoin(AllScenarios(), ", "));
    }
  }

  crm::bench::BenchConfig config;
  config.load.callers = absl::GetFlag(FLAGS_callers);
  config.load.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup_seconds));
  config.load.measure = absl::Seconds(absl::GetFlag(FLAGS_measure_seconds));
  config.deadline = absl::Milliseconds(absl::GetFlag(FLAGS_deadline_ms));
  config.long_deadline = absl::Milliseconds(absl::GetFlag(FLAGS_long_deadline_ms));
  config.channels = absl::GetFlag(FLAGS_channels);
  config.customers_address = absl::GetFlag(FLAGS_customers_address);
  config.echo_address = absl::GetFlag(FLAGS_echo_address);
  config.opportunities_address = absl::GetFlag(FLAGS_opportunities_address);
  config.opportunities_pid = absl::GetFlag(FLAGS_opportunities_pid);
  config.opportunity_customers = absl::GetFlag(FLAGS_opportunity_customers);
  config.complaints_address = absl::GetFlag(FLAGS_complaints_address);
  config.complaints_pid = absl::GetFlag(FLAGS_complaints_pid);
  config.sweep_complaints = absl::GetFlag(FLAGS_sweep_complaints);
  config.scheduling_address = absl::GetFlag(FLAGS_scheduling_address);
  config.scheduling_pid = absl::GetFlag(FLAGS_scheduling_pid);
  config.seed_visits = absl::GetFlag(FLAGS_seed_visits);
  config.seed_managers = absl::GetFlag(FLAGS_seed_managers);
  config.conflict_check_calls = absl::GetFlag(FLAGS_conflict_check_calls);
  config.gateway_address = absl::GetFlag(FLAGS_gateway_address);
  config.gateway_http_address = absl::GetFlag(FLAGS_gateway_http_address);
  config.gateway_pid = absl::GetFlag(FLAGS_gateway_pid);
  config.customers_360 = absl::GetFlag(FLAGS_customers_360);
  config.service_pid = absl::GetFlag(FLAGS_service_pid);
  config.echo_pid = absl::GetFlag(FLAGS_echo_pid);
  config.mariadb_pid = absl::GetFlag(FLAGS_mariadb_pid);
  config.db.host = absl::GetFlag(FLAGS_db_host);
  config.db.port = absl::GetFlag(FLAGS_db_port);
  config.db.user = absl::GetFlag(FLAGS_db_user);
  config.db.database = absl::GetFlag(FLAGS_db_name);
  config.customer_set = absl::GetFlag(FLAGS_customer_set);
  config.members = absl::GetFlag(FLAGS_members);
  config.members_per_message = absl::GetFlag(FLAGS_members_per_message);
  config.enterprises = absl::GetFlag(FLAGS_enterprises);
  config.echo_payload_bytes = absl::GetFlag(FLAGS_echo_payload_bytes);
  if (config.load.callers < 1 || config.channels < 1) Usage("--callers and --channels must be positive");
  if (config.load.measure <= absl::ZeroDuration() || config.load.warmup < absl::ZeroDuration()) {
    Usage("--measure_seconds must be positive and --warmup_seconds not negative");
  }
  config.events_db = OwnDatabase(config.db, absl::GetFlag(FLAGS_events_db_name), absl::GetFlag(FLAGS_events_db_user),
                                 absl::GetFlag(FLAGS_events_db_password_file), "events_db_password_file");
  config.complaints_db =
      OwnDatabase(config.db, absl::GetFlag(FLAGS_complaints_db_name), absl::GetFlag(FLAGS_complaints_db_user),
                  absl::GetFlag(FLAGS_complaints_db_password_file), "complaints_db_password_file");
  config.scheduling_db =
      OwnDatabase(config.db, absl::GetFlag(FLAGS_scheduling_db_name), absl::GetFlag(FLAGS_scheduling_db_user),
                  absl::GetFlag(FLAGS_scheduling_db_password_file), "scheduling_db_password_file");
  if (config.seed_managers < 1 || config.seed_visits < 2 * config.seed_managers || config.conflict_check_calls < 1) {
    Usage("--seed_managers and --conflict_check_calls must be positive, --seed_visits at least 2 per manager");
  }
  if (config.customers_360 < 1 || config.customers_360 > 500) Usage("--customers_360: 1 to 500");
  if (config.customer_set < 1 || config.opportunity_customers < 1 || config.members < 1 || config.members_per_message < 1 ||
      config.enterprises < 1 || config.echo_payload_bytes < 0 || config.sweep_complaints < 100) {
    Usage("--customer_set, --opportunity_customers, --members, --members_per_message and --enterprises must be "
          "positive, --sweep_complaints at least 100");
  }
  if (const std::string file = absl::GetFlag(FLAGS_db_password_file); !file.empty()) {
    auto password = crm::auth::ReadSecretFile(file);
    if (!password.ok()) Usage("--db_password_file: " + std::string(password.status().message()));
    config.db.password = *password;
  } else if (const char* password = std::getenv("CRM_DB_PASSWORD")) {
    config.db.password = password;
  }
  if (const std::string file = absl::GetFlag(FLAGS_jwt_hs256_key_file); !file.empty()) {
    auto key = crm::auth::ReadSecretFile(file);
    if (!key.ok()) Usage("--jwt_hs256_key_file: " + std::string(key.status().message()));
    crm::auth::Principal admin{.subject = "bench", .role = crm::auth::Role::kAdmin, .team = "bench"};
    auto token = crm::auth::MintHs256Token(*key, absl::GetFlag(FLAGS_jwt_issuer),
                                           absl::GetFlag(FLAGS_jwt_audience), admin, absl::Now(),
                                           absl::Hours(4));
    if (!token.ok()) Usage("cannot mint a token: " + std::string(token.status().message()));
    config.bearer_token = *token;
    crm::auth::Principal manager{.subject = config.manager_subject, .role = crm::auth::Role::kManager,
                                 .team = "bench"};
    auto manager_token = crm::auth::MintHs256Token(*key, absl::GetFlag(FLAGS_jwt_issuer),
                                                   absl::GetFlag(FLAGS_jwt_audience), manager, absl::Now(),
                                                   absl::Hours(4));
    crm::auth::Principal service{.subject = "bench-consumer", .role = crm::auth::Role::kService, .team = ""};
    auto service_token = crm::auth::MintHs256Token(*key, absl::GetFlag(FLAGS_jwt_issuer),
                                                   absl::GetFlag(FLAGS_jwt_audience), service, absl::Now(),
                                                   absl::Hours(4));
    if (!manager_token.ok() || !service_token.ok()) Usage("cannot mint the MANAGER and SERVICE tokens");
    config.manager_token = *manager_token;
    config.service_token = *service_token;
    // The scheduling scenarios' managers, one token each (the same key and
    // claims as the MANAGER above; minting cannot fail once that one worked).
    config.manager_token_for = [key = *key](const std::string& subject) {
      crm::auth::Principal p{.subject = subject, .role = crm::auth::Role::kManager, .team = "bench"};
      return *crm::auth::MintHs256Token(key, absl::GetFlag(FLAGS_jwt_issuer), absl::GetFlag(FLAGS_jwt_audience), p,
                                        absl::Now(), absl::Hours(4));
    };
  } else if (!config.customers_address.empty()) {
    Usage("--customers_address needs --jwt_hs256_key_file (the service requires a bearer token)");
  }

  // get_driver_instance() is not thread-safe: once, here.
  sql::Driver* driver = sql::mysql::get_mysql_driver_instance();
  crm::bench::Bench bench(config, driver);
  std::vector<crm::bench::ScenarioResult> results;
  for (const std::string& name : scenarios) {
    std::cerr << "crm_bench: " << name << " ..." << std::endl;
    std::vector<crm::bench::ScenarioResult> batch;
    if (name == "idle_rss") batch = {bench.IdleRss()};
    if (name == "echo") batch = {bench.Echo()};
    if (name == "get_customer") batch = {bench.GetCustomer()};
    if (name == "gateway_get_customer") batch = {bench.GatewayGetCustomer()};
    if (name == "gateway_http_get_customer") batch = {bench.GatewayHttpGetCustomer()};
    if (name == "customer_360") batch = {bench.Customer360()};
    if (name == "direct_select") batch = {bench.DirectSelect()};
    if (name == "direct_select_each") batch = {bench.DirectSelectEach()};
    if (name == "direct_insert") batch = {bench.DirectInsert()};
    if (name == "create_customer") batch = {bench.CreateCustomer()};
    if (name == "create_opportunity") batch = {bench.CreateOpportunity()};
    if (name == "record_complaint") batch = {bench.RecordComplaint()};
    if (name == "book_visit_32_managers") batch = {bench.BookVisitManyManagers()};
    if (name == "book_visit_1_manager") batch = {bench.BookVisitOneManager()};
    if (name == "plan_day_30") batch = {bench.PlanDay30()};
    if (name == "conflict_check_1m") batch = bench.ConflictCheck();
    if (name == "event_feed") batch = {bench.EventFeed()};
    if (name == "import_members") batch = bench.ImportMembers();
    if (name == "recompute_tiers") batch = bench.RecomputeTiers();
    if (name == "breach_sweep") batch = bench.BreachSweep();
    if (name == "rss_after_load") batch = {bench.RssAfterLoad()};
    for (crm::bench::ScenarioResult& r : batch) {
      if (!r.status.ok()) std::cerr << "crm_bench: " << r.name << ": " << r.status << std::endl;
      results.push_back(std::move(r));
    }
  }
  const crm::bench::Verdict verdict = crm::bench::PrintReport(config, results, std::cout);
  std::cout.flush();
  if (!verdict.all_ran) return 1;
  return verdict.all_targets_met ? 0 : 3;
}
