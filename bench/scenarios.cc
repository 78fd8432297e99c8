#include "bench/scenarios.h"

#include "common/db/pool.h"

#include <cppconn/connection.h>
#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>
#include <cppconn/statement.h>

#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/escaping.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "bench/sample_data.h"
#include "common/db/migrations.h"
#include "common/db/sql.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/util/proto_time.h"
#include "crm/bench/v1/echo.grpc.pb.h"
#include "crm/complaints/v1/complaints.grpc.pb.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "crm/events/v1/events.grpc.pb.h"
#include "crm/gateway/v1/gateway.grpc.pb.h"
#include "crm/opportunities/v1/opportunities.grpc.pb.h"
#include "crm/scheduling/v1/scheduling.grpc.pb.h"
#include "services/complaints/src/breach_job.h"
#include "services/complaints/src/complaint_migrations.h"
#include "services/complaints/src/mysql_complaint_repository.h"

namespace crm::bench {
namespace {

namespace pb = crm::customers::v1;
using Stopwatch = std::chrono::steady_clock;

constexpr char kDirectInsertTable[] = "bench_direct_inserts";
// Owner of the enterprises recompute_tiers seeds, so a rerun against the
// same database tops the population up instead of doubling it.
constexpr char kSeedOwner[] = "bench-tiers";
constexpr int kSeedRowsPerInsert = 1000;

absl::Duration Since(Stopwatch::time_point start) {
  return absl::FromChrono(Stopwatch::now() - start);
}

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// "<what> in 12.3 s (CPU s: MariaDB 8.1 crm_bench 0.4)": how long seeding
// took and what it cost the processes watched, the called server aside.
std::string SeedNote(const std::string& what, absl::Duration elapsed, const CpuUsage& cpu) {
  std::string note = absl::StrFormat("%s in %.1f s (CPU s:", what, absl::ToDoubleSeconds(elapsed));
  for (const auto& [label, seconds] : cpu.seconds) {
    if (label != "server") absl::StrAppend(&note, absl::StrFormat(" %s %.1f", label, seconds));
  }
  return note + ")";
}

absl::Status ToAbsl(const grpc::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", CodeName(s.error_code()), ": ", s.error_message()));
}

absl::Status SqlError(const sql::SQLException& e, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": mysql error ", e.getErrorCode(), ": ", e.what()));
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, int index) {
  grpc::ChannelArguments args;
  // Separate channels get separate connections only with their own
  // subchannel pool; otherwise gRPC shares one connection between them.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("crm.bench.channel_index", index);
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}


absl::StatusOr<int64_t> ReadProcStatusKiB(int pid, absl::string_view field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  if (!in) return absl::NotFoundError(absl::StrCat("no process ", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, absl::StrCat(field, ":"))) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(absl::string_view(line).substr(field.size() + 1), ' ', absl::SkipWhitespace());
    int64_t kib = 0;
    if (parts.size() == 2 && parts[1] == "kB" && absl::SimpleAtoi(parts[0], &kib)) return kib;
  }
  return absl::NotFoundError(absl::StrCat(field, " not in /proc/", pid, "/status"));
}

double MiB(int64_t kib) { return static_cast<double>(kib) / 1024.0; }

// A SQL string literal for the seed data (generated text; escaped anyway).
std::string Quote(absl::string_view s) {
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"'", "''"}}), "'");
}

// The service's name key for CUS-11, close enough for seeded rows: lower
// case, company-form words and spaces removed.
std::string SeedNameKey(absl::string_view display_name) {
  return absl::StrReplaceAll(display_name, {{"有限公司", ""}, {" ", ""}});
}

uint64_t RandomSerialBase() {
  std::mt19937_64 rng(std::random_device{}());
  return std::uniform_int_distribution<uint64_t>(2'000'000'000'000ull, 20'000'000'000'000ull)(rng);
}

}  // namespace

Bench::Bench(BenchConfig config, sql::Driver* driver)
    : config_(std::move(config)),
      driver_(driver),
      serial_base_(RandomSerialBase()) {
  for (int i = 0; i < config_.channels; ++i) {
    if (!config_.customers_address.empty()) {
      customers_channels_.push_back(MakeChannel(config_.customers_address, i));
    }
    if (!config_.echo_address.empty()) echo_channels_.push_back(MakeChannel(config_.echo_address, i));
    if (!config_.opportunities_address.empty()) {
      opportunities_channels_.push_back(MakeChannel(config_.opportunities_address, i));
    }
    if (!config_.complaints_address.empty()) {
      complaints_channels_.push_back(MakeChannel(config_.complaints_address, i));
    }
    if (!config_.scheduling_address.empty()) {
      scheduling_channels_.push_back(MakeChannel(config_.scheduling_address, i));
    }
    if (!config_.gateway_address.empty()) gateway_channels_.push_back(MakeChannel(config_.gateway_address, i));
  }
}

Bench::~Bench() = default;

LoadOptions Bench::WithCpuWatch(int server_pid, int server2_pid) const {
  LoadOptions options = config_.load;
  if (server_pid > 0) options.watch.push_back({"server", server_pid});
  if (server2_pid > 0) options.watch.push_back({"server2", server2_pid});
  if (config_.mariadb_pid > 0) options.watch.push_back({"MariaDB", config_.mariadb_pid});
  options.watch.push_back({"crm_bench", static_cast<int>(getpid())});
  return options;
}

LoadOptions Bench::WithCpuWatchAll(const std::vector<int>& server_pids) const {
  LoadOptions options = config_.load;
  for (size_t i = 0; i < server_pids.size(); ++i) {
    if (server_pids[i] > 0) options.watch.push_back({i == 0 ? "server" : absl::StrCat("server", i + 1), server_pids[i]});
  }
  if (config_.mariadb_pid > 0) options.watch.push_back({"MariaDB", config_.mariadb_pid});
  options.watch.push_back({"crm_bench", static_cast<int>(getpid())});
  return options;
}

uint64_t Bench::NextSerial() { return serial_base_ + next_serial_.fetch_add(1); }

std::shared_ptr<grpc::Channel> Bench::CustomersChannel(int caller) {
  return customers_channels_[static_cast<size_t>(caller) % customers_channels_.size()];
}

void Bench::Authorize(grpc::ClientContext& context, absl::Duration deadline) const {
  AuthorizeAs(context, deadline, config_.bearer_token);
}

template <typename Stub, typename Request, typename Response>
std::string Bench::CallWithToken(Stub& stub,
                                 grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                                 const Request& request, const std::string& token, Response& response) const {
  grpc::ClientContext context;
  AuthorizeAs(context, config_.deadline, token);
  grpc::Status s = (stub.*rpc)(&context, request, &response);
  return s.ok() ? std::string() : CodeName(s.error_code());
}

template <typename Stub, typename Request, typename Response>
std::string Bench::CallAsManager(Stub& stub,
                                 grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                                 const Request& request) const {
  Response response;
  return CallWithToken(stub, rpc, request, config_.manager_token, response);
}

const std::string& Bench::RandomManagerCustomer(std::mt19937_64& rng) const {
  return manager_customers_[std::uniform_int_distribution<size_t>(0, manager_customers_.size() - 1)(rng)];
}

void Bench::AuthorizeAs(grpc::ClientContext& context, absl::Duration deadline, const std::string& token) const {
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
}

absl::StatusOr<std::unique_ptr<sql::Connection>> Bench::Connect() const { return Connect(config_.db); }

absl::StatusOr<std::unique_ptr<sql::Connection>> Bench::Connect(const db::DbConfig& db) const {
  // The same session set-up as the services' pool.
  return db::OpenConnection(*driver_, db);
}

absl::StatusOr<std::string> Bench::CreateEnterprise(uint64_t serial) {
  return CreateEnterpriseAs(serial, absl::StrCat("bench-owner-", serial % 20), config_.bearer_token);
}

absl::StatusOr<std::string> Bench::CreateEnterpriseAs(uint64_t serial, const std::string& owner,
                                                      const std::string& token,
                                                      const std::function<void(pb::Customer&)>& adjust) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  auto stub = pb::CustomerService::NewStub(CustomersChannel(static_cast<int>(serial)));
  pb::CreateCustomerRequest request;
  *request.mutable_customer() = SampleEnterprise(rng, serial, owner);
  if (adjust) adjust(*request.mutable_customer());
  request.set_request_id(absl::StrCat("bench-", serial));
  // Set-up, not measured: ride out a full server thread pool. The request
  // id makes the retry safe.
  grpc::Status s;
  for (int attempt = 1; attempt <= 10; ++attempt) {
    grpc::ClientContext context;
    AuthorizeAs(context, config_.deadline, token);
    pb::Customer created;
    s = stub->CreateCustomer(&context, request, &created);
    if (s.ok()) return created.name();
    if (s.error_code() != grpc::RESOURCE_EXHAUSTED && s.error_code() != grpc::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(10 * attempt));
  }
  return ToAbsl(s, "CreateCustomer (enterprise)");
}

absl::StatusOr<std::string> Bench::CustomerSetNote() {
  if (!customer_ids_.empty()) return std::string("set-up: get_customer's enterprises");
  const auto setup_start = Stopwatch::now();
  if (absl::Status s = EnsureCustomerSet(); !s.ok()) return s;
  return absl::StrFormat("set-up: %d CreateCustomer in %.1f s", config_.customer_set,
                         absl::ToDoubleSeconds(Since(setup_start)));
}

absl::Status Bench::EnsureCustomerSet() {
  if (!customer_ids_.empty()) return absl::OkStatus();
  if (customers_channels_.empty()) return absl::FailedPreconditionError("needs --customers_address");
  std::mutex mu;
  absl::Status first_error = absl::OkStatus();
  std::vector<int64_t> ids;
  std::atomic<int> remaining{config_.customer_set};
  std::vector<std::thread> threads;
  // Fewer threads than the service's thread cap.
  for (int t = 0; t < std::min(config_.load.callers, 8); ++t) {
    threads.emplace_back([&] {
      while (remaining.fetch_sub(1) > 0) {
        absl::StatusOr<std::string> name = CreateEnterprise(NextSerial());
        std::lock_guard<std::mutex> lock(mu);
        int64_t id = 0;
        if (!name.ok()) {
          if (first_error.ok()) first_error = name.status();
        } else if (absl::SimpleAtoi(absl::string_view(*name).substr(sizeof("customers/") - 1), &id)) {
          ids.push_back(id);
        } else if (first_error.ok()) {
          first_error = absl::InternalError(absl::StrCat("unexpected customer name '", *name, "'"));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  if (!first_error.ok()) return first_error;
  customer_ids_ = std::move(ids);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- idle RSS

ScenarioResult Bench::IdleRss() {
  ScenarioResult r("idle_rss", "VmRSS of crm-customers after start-up, 1 CreateCustomer and 10 GetCustomer");
  if (config_.service_pid <= 0) {
    r.status = absl::FailedPreconditionError("needs --service_pid");
    return r;
  }
  if (customers_channels_.empty()) {
    r.status = absl::FailedPreconditionError("needs --customers_address");
    return r;
  }
  absl::StatusOr<std::string> name = CreateEnterprise(NextSerial());
  if (!name.ok()) {
    r.status = name.status();
    return r;
  }
  auto stub = pb::CustomerService::NewStub(CustomersChannel(0));
  for (int i = 0; i < 10; ++i) {
    grpc::ClientContext context;
    Authorize(context, config_.deadline);
    pb::GetCustomerRequest request;
    request.set_name(*name);
    pb::Customer customer;
    if (grpc::Status s = stub->GetCustomer(&context, request, &customer); !s.ok()) {
      r.status = ToAbsl(s, "GetCustomer");
      return r;
    }
  }
  // Let the calls' transient buffers go back before reading.
  absl::SleepFor(absl::Seconds(1));
  absl::StatusOr<int64_t> rss = ReadProcStatusKiB(config_.service_pid, "VmRSS");
  if (!rss.ok()) {
    r.status = rss.status();
    return r;
  }
  r.rss_mib = MiB(*rss);
  return r;
}

ScenarioResult Bench::RssAfterLoad() {
  ScenarioResult r("rss_after_load", "VmRSS (VmHWM = peak) of crm-customers after every scenario");
  if (config_.service_pid <= 0) {
    r.status = absl::FailedPreconditionError("needs --service_pid");
    return r;
  }
  absl::StatusOr<int64_t> rss = ReadProcStatusKiB(config_.service_pid, "VmRSS");
  absl::StatusOr<int64_t> hwm = ReadProcStatusKiB(config_.service_pid, "VmHWM");
  if (!rss.ok() || !hwm.ok()) {
    r.status = rss.ok() ? hwm.status() : rss.status();
    return r;
  }
  r.rss_mib = MiB(*rss);
  r.note = absl::StrFormat("peak (VmHWM) %.1f MiB", MiB(*hwm));
  return r;
}

// ---------------------------------------------------------------- echo

ScenarioResult Bench::Echo() {
  ScenarioResult r("echo", absl::StrCat("Echo on echo_server, ", config_.echo_payload_bytes,
                                            "-byte payload (gRPC floor)"));
  if (echo_channels_.empty()) {
    r.status = absl::FailedPreconditionError("needs --echo_address");
    return r;
  }
  const std::string payload(static_cast<size_t>(config_.echo_payload_bytes), 'x');
  auto result = RunClosedLoop(WithCpuWatch(config_.echo_pid), [&](int caller) -> absl::StatusOr<Call> {
    std::shared_ptr<crm::bench::v1::Echo::Stub> stub =
        crm::bench::v1::Echo::NewStub(echo_channels_[caller % echo_channels_.size()]);
    return Call([this, stub, &payload](std::mt19937_64&) -> std::string {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + config_.deadline));
      crm::bench::v1::EchoRequest request;
      request.set_payload(payload);
      crm::bench::v1::EchoResponse response;
      grpc::Status s = stub->Echo(&context, request, &response);
      return s.ok() ? std::string() : CodeName(s.error_code());
    });
  });
  r.SetLoad(result);
  return r;
}

// ---------------------------------------------------------------- GetCustomer

ScenarioResult Bench::GetCustomer() {
  ScenarioResult r("get_customer", absl::StrCat("GetCustomer, random picks over ", config_.customer_set,
                                            " enterprises"));
  absl::StatusOr<std::string> setup = CustomerSetNote();
  if (!setup.ok()) {
    r.status = setup.status();
    return r;
  }
  r.note = *std::move(setup);
  r.SetLoad(RunClosedLoop(WithCpuWatch(config_.service_pid), GetCustomerCallers(&customers_channels_)));
  return r;
}

CallerFactory Bench::GetCustomerCallers(const std::vector<std::shared_ptr<grpc::Channel>>* channels) {
  return [this, channels](int caller) -> absl::StatusOr<Call> {
    std::shared_ptr<pb::CustomerService::Stub> stub =
        pb::CustomerService::NewStub((*channels)[static_cast<size_t>(caller) % channels->size()]);
    return Call([this, stub](std::mt19937_64& rng) -> std::string {
      const int64_t id = customer_ids_[std::uniform_int_distribution<size_t>(0, customer_ids_.size() - 1)(rng)];
      grpc::ClientContext context;
      Authorize(context, config_.deadline);
      pb::GetCustomerRequest request;
      request.set_name(absl::StrCat("customers/", id));
      pb::Customer customer;
      grpc::Status s = stub->GetCustomer(&context, request, &customer);
      return s.ok() ? std::string() : CodeName(s.error_code());
    });
  };
}

// ---------------------------------------------------------------- direct select

absl::Status Bench::LoadCustomerIds() {
  if (!customer_ids_.empty()) return absl::OkStatus();
  // Run without get_customer: pick from whatever the table holds.
  auto conn = Connect();
  if (!conn.ok()) return conn.status();
  try {
    std::unique_ptr<sql::PreparedStatement> ps(
        (*conn)->prepareStatement("SELECT id FROM customers ORDER BY id LIMIT ?"));
    ps->setInt(1, config_.customer_set);
    std::unique_ptr<sql::ResultSet> rs(ps->executeQuery());
    while (rs->next()) customer_ids_.push_back(rs->getInt64(1));
  } catch (const sql::SQLException& e) {
    return SqlError(e, "load customer ids");
  }
  if (customer_ids_.empty()) {
    return absl::FailedPreconditionError("the customers table is empty: run get_customer first");
  }
  return absl::OkStatus();
}

ScenarioResult Bench::DirectSelect() {
  ScenarioResult r("direct_select", "Connector/C++ point select by primary key on customers (all columns read), "
                               "one connection and prepared statement per caller");
  if (absl::Status s = LoadCustomerIds(); !s.ok()) {
    r.status = s;
    return r;
  }
  auto result = RunClosedLoop(WithCpuWatch(0), [&](int) -> absl::StatusOr<Call> {
    absl::StatusOr<std::unique_ptr<sql::Connection>> conn = Connect();
    if (!conn.ok()) return conn.status();
    std::shared_ptr<sql::Connection> shared_conn(std::move(*conn));
    std::shared_ptr<sql::PreparedStatement> ps;
    try {
      ps.reset(shared_conn->prepareStatement("SELECT * FROM customers WHERE id = ?"));
    } catch (const sql::SQLException& e) {
      return SqlError(e, "prepare");
    }
    return Call([this, shared_conn, ps](std::mt19937_64& rng) -> std::string {
      const int64_t id = customer_ids_[std::uniform_int_distribution<size_t>(0, customer_ids_.size() - 1)(rng)];
      try {
        ps->setInt64(1, id);
        std::unique_ptr<sql::ResultSet> rs(ps->executeQuery());
        if (!rs->next()) return "NOT_FOUND";
        const unsigned columns = rs->getMetaData()->getColumnCount();
        size_t bytes = 0;
        for (unsigned c = 1; c <= columns; ++c) bytes += rs->getString(c).length();
        return bytes > 0 ? std::string() : "EMPTY_ROW";
      } catch (const sql::SQLException& e) {
        return absl::StrCat("mysql ", e.getErrorCode());
      }
    });
  });
  r.SetLoad(result);
  return r;
}

ScenarioResult Bench::DirectSelectEach() {
  ScenarioResult r("direct_select_each",
                   "diagnostic: direct_select as the repository does it: prepare, execute, read each "
                   "column by name, close, on every call");
  if (absl::Status s = LoadCustomerIds(); !s.ok()) {
    r.status = s;
    return r;
  }
  auto result = RunClosedLoop(WithCpuWatch(0), [&](int) -> absl::StatusOr<Call> {
    absl::StatusOr<std::unique_ptr<sql::Connection>> conn = Connect();
    if (!conn.ok()) return conn.status();
    std::shared_ptr<sql::Connection> shared_conn(std::move(*conn));
    auto columns = std::make_shared<std::vector<std::string>>();
    try {
      std::unique_ptr<sql::Statement> stmt(shared_conn->createStatement());
      std::unique_ptr<sql::ResultSet> rs(stmt->executeQuery("SELECT * FROM customers LIMIT 0"));
      sql::ResultSetMetaData* meta = rs->getMetaData();
      for (unsigned c = 1; c <= meta->getColumnCount(); ++c) columns->push_back(meta->getColumnLabel(c));
    } catch (const sql::SQLException& e) {
      return SqlError(e, "read the column names");
    }
    const std::string query = absl::StrCat("SELECT ", absl::StrJoin(*columns, ", "), " FROM customers WHERE id = ?");
    return Call([this, shared_conn, columns, query](std::mt19937_64& rng) -> std::string {
      const int64_t id = customer_ids_[std::uniform_int_distribution<size_t>(0, customer_ids_.size() - 1)(rng)];
      try {
        std::unique_ptr<sql::PreparedStatement> ps(shared_conn->prepareStatement(query));
        ps->setInt64(1, id);
        std::unique_ptr<sql::ResultSet> rs(ps->executeQuery());
        if (!rs->next()) return "NOT_FOUND";
        size_t bytes = 0;
        for (const std::string& column : *columns) bytes += rs->getString(column).length();
        return bytes > 0 ? std::string() : "EMPTY_ROW";
      } catch (const sql::SQLException& e) {
        return absl::StrCat("mysql ", e.getErrorCode());
      }
    });
  });
  r.SetLoad(result);
  return r;
}

// ---------------------------------------------------------------- CreateCustomer

CallerFactory Bench::CreateIndividualCaller(std::string owner_prefix, std::string request_prefix) {
  return [this, owner_prefix, request_prefix](int caller) -> absl::StatusOr<Call> {
    std::shared_ptr<pb::CustomerService::Stub> stub = pb::CustomerService::NewStub(CustomersChannel(caller));
    const std::string owner = absl::StrCat(owner_prefix, caller % 20);
    return Call([this, stub, owner, request_prefix](std::mt19937_64& rng) -> std::string {
      const uint64_t serial = NextSerial();
      pb::CreateCustomerRequest request;
      *request.mutable_customer() = SampleIndividual(rng, serial, owner);
      request.set_request_id(absl::StrCat(request_prefix, serial));
      grpc::ClientContext context;
      Authorize(context, config_.deadline);
      pb::Customer created;
      grpc::Status s = stub->CreateCustomer(&context, request, &created);
      return s.ok() ? std::string() : CodeName(s.error_code());
    });
  };
}

ScenarioResult Bench::CreateCustomer() {
  ScenarioResult r("create_customer", "CreateCustomer of a new INDIVIDUAL with a request_id "
                               "(durable commit: row + audit row + idempotency key)");
  if (customers_channels_.empty()) {
    r.status = absl::FailedPreconditionError("needs --customers_address");
    return r;
  }
  auto result = RunClosedLoop(WithCpuWatch(config_.service_pid), CreateIndividualCaller("bench-owner-", "bench-"));
  r.SetLoad(result);
  return r;
}

// ---------------------------------------------------------------- direct insert

ScenarioResult Bench::DirectInsert() {
  ScenarioResult r("direct_insert", absl::StrCat("Connector/C++ single-row INSERT, autocommit, into ",
                                            kDirectInsertTable,
                                            " (LIKE customers: same columns and indexes)"));
  {
    auto conn = Connect();
    if (!conn.ok()) {
      r.status = conn.status();
      return r;
    }
    try {
      std::unique_ptr<sql::Statement> stmt((*conn)->createStatement());
      stmt->execute(absl::StrCat("CREATE TABLE IF NOT EXISTS ", kDirectInsertTable, " LIKE customers"));
    } catch (const sql::SQLException& e) {
      r.status = SqlError(e, "create the insert table");
      return r;
    }
  }
  auto result = RunClosedLoop(WithCpuWatch(0), [&](int caller) -> absl::StatusOr<Call> {
    absl::StatusOr<std::unique_ptr<sql::Connection>> conn = Connect();
    if (!conn.ok()) return conn.status();
    std::shared_ptr<sql::Connection> shared_conn(std::move(*conn));
    std::shared_ptr<sql::PreparedStatement> ps;
    try {
      ps.reset(shared_conn->prepareStatement(absl::StrCat(
          "INSERT INTO ", kDirectInsertTable,
          " (kind, display_name, name_key, industry, address, it_usage_notes, competitor_notes, status, "
          "owner, team, phone, aml_rating, version, create_time, update_time) "
          "VALUES (?, ?, ?, '', ?, '', '', ?, ?, 'bench', ?, ?, 1, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))")));
    } catch (const sql::SQLException& e) {
      return SqlError(e, "prepare");
    }
    const std::string owner = absl::StrCat("bench-owner-", caller % 20);
    return Call([this, shared_conn, ps, owner](std::mt19937_64& rng) -> std::string {
      const pb::Customer c = SampleIndividual(rng, NextSerial(), owner);
      try {
        ps->setInt(1, c.kind());
        ps->setString(2, c.display_name());
        ps->setString(3, c.display_name());
        ps->setString(4, c.address());
        ps->setInt(5, c.status());
        ps->setString(6, c.owner());
        ps->setString(7, c.phone());
        ps->setInt(8, c.aml_rating());
        return ps->executeUpdate() == 1 ? std::string() : "NO_ROW";
      } catch (const sql::SQLException& e) {
        return absl::StrCat("mysql ", e.getErrorCode());
      }
    });
  });
  r.SetLoad(result);
  return r;
}

// ---------------------------------------------------------------- ImportMembers

std::vector<ScenarioResult> Bench::ImportMembers() {
  ScenarioResult first("import_members", absl::StrCat("ImportMembers: ", config_.members, " new members, ",
                                                config_.members_per_message, " per message, one stream"));
  ScenarioResult again("import_members_again", "the same stream again (every member exists: all updates)");
  if (customers_channels_.empty()) {
    first.status = absl::FailedPreconditionError("needs --customers_address");
    again.status = first.status;
    return {first, again};
  }
  absl::StatusOr<std::string> parent = CreateEnterprise(NextSerial());
  if (!parent.ok()) {
    first.status = parent.status();
    again.status = absl::FailedPreconditionError("the first import did not run");
    return {first, again};
  }
  std::mt19937_64 rng(42);
  std::vector<pb::ImportMembersRequest> messages;
  for (int i = 0; i < config_.members; ++i) {
    if (i % config_.members_per_message == 0) {
      messages.emplace_back();
      if (i == 0) messages.back().set_parent(*parent);
    }
    *messages.back().add_members() = SampleMember(rng, static_cast<uint64_t>(i));
  }
  auto stub = pb::CustomerService::NewStub(CustomersChannel(0));
  auto run = [&](ScenarioResult& r) {
    const std::vector<CpuWatch> watch = WithCpuWatch(config_.service_pid).watch;
    const CpuSnapshot cpu_before = TakeCpuSnapshot(watch);
    const auto start = Stopwatch::now();
    grpc::ClientContext context;
    Authorize(context, config_.long_deadline);
    pb::ImportMembersResponse response;
    std::unique_ptr<grpc::ClientWriter<pb::ImportMembersRequest>> writer =
        stub->ImportMembers(&context, &response);
    for (const pb::ImportMembersRequest& m : messages) {
      if (!writer->Write(m)) break;  // the server ended the call; Finish says why
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    const absl::Duration elapsed = Since(start);
    if (!s.ok()) {
      r.status = ToAbsl(s, "ImportMembers");
      return;
    }
    r.elapsed = elapsed;
    r.cpu = CpuUsed(watch, cpu_before, TakeCpuSnapshot(watch));
    r.note = absl::StrFormat("%d imported, %d rejected; %.0f members/s", response.imported(),
                             response.rejected(),
                             static_cast<double>(response.imported()) / absl::ToDoubleSeconds(elapsed));
    if (response.imported() != config_.members) {
      r.status = absl::DataLossError(absl::StrCat("imported ", response.imported(), " of ", config_.members,
                                                  " members (rejected ", response.rejected(), ")"));
    }
  };
  run(first);
  if (!first.status.ok()) {
    again.status = absl::FailedPreconditionError("the first import failed");
    return {first, again};
  }
  run(again);
  return {first, again};
}

// ---------------------------------------------------------------- RecomputeTiers

std::vector<ScenarioResult> Bench::RecomputeTiers() {
  ScenarioResult first("recompute_tiers", absl::StrCat("RecomputeTiers over ", config_.enterprises,
                                                " seeded active enterprises (every tier moves)"));
  ScenarioResult again("recompute_tiers_again", "RecomputeTiers again with nothing changed");
  if (customers_channels_.empty()) {
    first.status = absl::FailedPreconditionError("needs --customers_address");
    again.status = first.status;
    return {first, again};
  }

  // Seed with multi-row INSERTs straight into the service's table: fast, and
  // only the recompute itself is timed.
  const auto seed_start = Stopwatch::now();
  int64_t seeded = 0;
  int64_t existing = 0;
  {
    auto conn = Connect();
    if (!conn.ok()) {
      first.status = conn.status();
      again.status = first.status;
      return {first, again};
    }
    try {
      std::unique_ptr<sql::PreparedStatement> count(
          (*conn)->prepareStatement("SELECT COUNT(*) FROM customers WHERE owner = ?"));
      count->setString(1, kSeedOwner);
      std::unique_ptr<sql::ResultSet> rs(count->executeQuery());
      if (rs->next()) existing = rs->getInt64(1);
      std::unique_ptr<sql::Statement> stmt((*conn)->createStatement());
      std::mt19937_64 rng(7);
      for (int64_t i = existing; i < config_.enterprises;) {
        std::string sql =
            "INSERT INTO customers (kind, display_name, name_key, credit_code, industry, address, latitude, "
            "longitude, revenue_currency, revenue_units, revenue_nanos, employee_count, qualification_rating, "
            "it_usage_notes, competitor_notes, status, owner, team, high_value, phone, member_count, "
            "product_count, version, create_time, update_time) VALUES ";
        for (int row = 0; row < kSeedRowsPerInsert && i < config_.enterprises; ++row, ++i) {
          // Seed serials stay below the random base of the RPC-created ones.
          const uint64_t serial = 1'000'000'000'000ull + static_cast<uint64_t>(i);
          const pb::Customer c = SampleEnterprise(rng, serial, kSeedOwner);
          absl::StrAppend(
              &sql, row == 0 ? "" : ",", "(", static_cast<int>(pb::ENTERPRISE), ",", Quote(c.display_name()), ",",
              Quote(SeedNameKey(c.display_name())), ",", Quote(c.credit_code()), ",", Quote(c.industry()), ",",
              Quote(c.address()), ",", c.location().latitude(), ",", c.location().longitude(), ",'CNY',",
              c.annual_revenue().units(), ",0,", c.employee_count(), ",", Quote(c.qualification_rating()),
              ",'','',", static_cast<int>(pb::ACTIVE), ",", Quote(kSeedOwner), ",'bench',",
              std::uniform_int_distribution<int>(0, 9)(rng) == 0 ? 1 : 0, ",", Quote(c.phone()), ",",
              LogUniform(rng, 1, 5000), ",", std::uniform_int_distribution<int>(0, 6)(rng),
              ",1,UTC_TIMESTAMP(6),UTC_TIMESTAMP(6))");
        }
        seeded += stmt->executeUpdate(sql);
      }
    } catch (const sql::SQLException& e) {
      first.status = SqlError(e, "seed enterprises");
      again.status = first.status;
      return {first, again};
    }
  }
  const absl::Duration seed_time = Since(seed_start);

  auto stub = pb::CustomerService::NewStub(CustomersChannel(0));
  auto run = [&](ScenarioResult& r, const std::string& reason) {
    const std::vector<CpuWatch> watch = WithCpuWatch(config_.service_pid).watch;
    const CpuSnapshot cpu_before = TakeCpuSnapshot(watch);
    const auto start = Stopwatch::now();
    grpc::ClientContext context;
    Authorize(context, config_.long_deadline);
    pb::RecomputeTiersRequest request;
    request.set_reason(reason);
    pb::RecomputeTiersResponse response;
    grpc::Status s = stub->RecomputeTiers(&context, request, &response);
    const absl::Duration elapsed = Since(start);
    if (!s.ok()) {
      r.status = ToAbsl(s, "RecomputeTiers");
      return;
    }
    r.elapsed = elapsed;
    r.cpu = CpuUsed(watch, cpu_before, TakeCpuSnapshot(watch));
    r.note = absl::StrFormat("ranked %d, tier changed %d", response.ranked(), response.changed());
  };
  run(first, "bench: first ranking");
  first.note = absl::StrFormat("%s; seeded %d rows in %.1f s (%d already there)", first.note, seeded,
                               absl::ToDoubleSeconds(seed_time), existing);
  if (!first.status.ok()) {
    again.status = absl::FailedPreconditionError("the first recompute failed");
    return {first, again};
  }
  run(again, "bench: nothing changed");
  return {first, again};
}

// ---------------------------------------------------------------- CreateOpportunity

absl::StatusOr<std::vector<std::string>> Bench::CreateEnterprisesAs(
    int count, const std::string& owner, const std::string& token,
    const std::function<void(pb::Customer&)>& adjust) {
  if (customers_channels_.empty()) return absl::FailedPreconditionError("needs --customers_address");
  std::mutex mu;
  absl::Status first_error = absl::OkStatus();
  std::vector<std::string> customers;
  std::atomic<int> remaining{count};
  std::vector<std::thread> threads;
  for (int t = 0; t < std::min({config_.load.callers, count, 8}); ++t) {
    threads.emplace_back([&] {
      while (remaining.fetch_sub(1) > 0) {
        absl::StatusOr<std::string> name = CreateEnterpriseAs(NextSerial(), owner, token, adjust);
        std::lock_guard<std::mutex> lock(mu);
        if (name.ok()) {
          customers.push_back(*name);
        } else if (first_error.ok()) {
          first_error = name.status();
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  if (!first_error.ok()) return first_error;
  return customers;
}

absl::StatusOr<std::string> Bench::EnsureManagerCustomers() {
  if (!manager_customers_.empty()) {
    return absl::StrFormat("set-up: the %d enterprises of MANAGER %s created earlier in this run",
                           manager_customers_.size(), config_.manager_subject);
  }
  if (customers_channels_.empty()) return absl::FailedPreconditionError("needs --customers_address");
  if (config_.manager_token.empty()) {
    return absl::FailedPreconditionError("needs --jwt_hs256_key_file (for the MANAGER token)");
  }
  // Created through the customers service by the manager, so row-level
  // access lets the manager open opportunities and record complaints on them.
  const auto setup_start = Stopwatch::now();
  absl::StatusOr<std::vector<std::string>> customers =
      CreateEnterprisesAs(config_.opportunity_customers, config_.manager_subject, config_.manager_token);
  if (!customers.ok()) return customers.status();
  manager_customers_ = *std::move(customers);
  return absl::StrFormat("set-up: %d CreateCustomer as MANAGER %s in %.1f s", config_.opportunity_customers,
                         config_.manager_subject, absl::ToDoubleSeconds(Since(setup_start)));
}

ScenarioResult Bench::CreateOpportunity() {
  ScenarioResult r("create_opportunity",
                   absl::StrCat("CreateOpportunity (INFO_SOLUTION, request_id) as a MANAGER on random picks over ",
                                config_.opportunity_customers,
                                " of their enterprises; includes its GetCustomer call to crm-customers"));
  if (opportunities_channels_.empty()) {
    r.status = absl::FailedPreconditionError("needs --opportunities_address");
    return r;
  }
  absl::StatusOr<std::string> setup = EnsureManagerCustomers();
  if (!setup.ok()) {
    r.status = setup.status();
    return r;
  }
  r.note = *setup;
  namespace opb = crm::opportunities::v1;
  auto result = RunClosedLoop(WithCpuWatch(config_.opportunities_pid, config_.service_pid),
                              [&](int caller) -> absl::StatusOr<Call> {
    std::shared_ptr<opb::OpportunityService::Stub> stub = opb::OpportunityService::NewStub(
        opportunities_channels_[static_cast<size_t>(caller) % opportunities_channels_.size()]);
    return Call([this, stub](std::mt19937_64& rng) -> std::string {
      const uint64_t serial = NextSerial();
      opb::CreateOpportunityRequest request;
      opb::Opportunity& o = *request.mutable_opportunity();
      o.set_customer(RandomManagerCustomer(rng));
      o.set_type(opb::INFO_SOLUTION);
      o.set_title("5G 专网 + 云专线");
      o.mutable_amount()->set_currency_code("CNY");
      o.mutable_amount()->set_units(LogUniform(rng, 10'000, 5'000'000));
      request.set_request_id(absl::StrCat("bench-opp-", serial));
      return CallAsManager(*stub, &opb::OpportunityService::Stub::CreateOpportunity, request);
    });
  });
  r.SetLoad(result);
  return r;
}

// ---------------------------------------------------------------- event feed

namespace {

constexpr char kFeedProducer[] = "customers";

std::vector<db::Migration> BenchEffectMigrations() {
  return {{"V001__bench_effects.sql",
           "CREATE TABLE bench_effects (\n"
           "  producer VARCHAR(64) NOT NULL,\n"
           "  sequence BIGINT NOT NULL,\n"
           "  type VARCHAR(255) NOT NULL,\n"
           "  resource_name VARCHAR(255) NOT NULL,\n"
           "  event_time_us BIGINT NOT NULL,\n"
           "  apply_time DATETIME(6) NOT NULL,\n"
           "  PRIMARY KEY (producer, sequence)\n"
           ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;\n"}};
}

int64_t ToMicros(const google::protobuf::Timestamp& t) { return t.seconds() * 1'000'000 + t.nanos() / 1000; }

}  // namespace

ScenarioResult Bench::EventFeed() {
  ScenarioResult r("event_feed",
                   absl::StrCat("CreateCustomer closed loop for ", absl::ToDoubleSeconds(config_.load.measure),
                                " s (no warm-up) producing CustomerCreated events; an events::Consumer applies "
                                "the customers feed into bench_effects"));
  if (customers_channels_.empty()) {
    r.status = absl::FailedPreconditionError("needs --customers_address");
    return r;
  }
  if (config_.service_token.empty() || config_.events_db.database.empty()) {
    r.status = absl::FailedPreconditionError("needs --jwt_hs256_key_file and --events_db_name");
    return r;
  }
  db::DbConfig db_config = config_.events_db;
  db_config.pool_size = 2;
  db::ConnectionPool pool(db_config);
  if (absl::Status s = db::ApplyMigrations(pool, events::WithEventTables(BenchEffectMigrations()),
                                           absl::Now() + absl::Seconds(60));
      !s.ok()) {
    r.status = s;
    return r;
  }

  // Start at the feed's head: only this run's events count.
  auto feed = crm::events::v1::EventFeed::NewStub(CustomersChannel(0));
  auto head = [&]() -> absl::StatusOr<int64_t> {
    grpc::ClientContext context;
    AuthorizeAs(context, config_.deadline, config_.service_token);
    crm::events::v1::ListEventsRequest request;
    request.set_page_size(1);
    crm::events::v1::ListEventsResponse response;
    grpc::Status s = feed->ListEvents(&context, request, &response);
    if (!s.ok()) return ToAbsl(s, "ListEvents");
    return response.head_sequence();
  };
  absl::StatusOr<int64_t> start_head = head();
  if (!start_head.ok()) {
    r.status = start_head.status();
    return r;
  }
  try {
    absl::StatusOr<db::Lease> lease = pool.Acquire(absl::Now() + absl::Seconds(10));
    if (!lease.ok()) {
      r.status = lease.status();
      return r;
    }
    db::Execute(**lease, "DELETE FROM bench_effects WHERE producer = ?", std::string(kFeedProducer));
    db::Execute(**lease,
                "INSERT INTO event_cursors (producer, last_sequence, update_time) VALUES (?, ?, UTC_TIMESTAMP(6)) "
                "ON DUPLICATE KEY UPDATE last_sequence = VALUES(last_sequence), update_time = VALUES(update_time)",
                std::string(kFeedProducer), *start_head);
  } catch (const sql::SQLException& e) {
    r.status = SqlError(e, "set the consumer's cursor");
    return r;
  }

  events::ConsumerOptions options;
  options.producer = kFeedProducer;
  options.channel = CustomersChannel(0);
  const std::string token = config_.service_token;
  options.token_source = [token] { return token; };
  events::Consumer consumer(pool, std::move(options),
                            [](sql::Connection& conn, const events::v1::Event& e) -> absl::Status {
                              db::Execute(conn,
                                          "INSERT INTO bench_effects (producer, sequence, type, resource_name, "
                                          "event_time_us, apply_time) VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6))",
                                          e.producer(), e.sequence(), e.type(), e.resource_name(),
                                          ToMicros(e.event_time()));
                              return absl::OkStatus();
                            });

  // The consumer advances cursor() right after each commit: a watcher
  // stamps every sequence with the time its commit became visible.
  const int64_t first = *start_head + 1;
  std::vector<absl::Time> committed;  // index: sequence - first
  std::atomic<bool> done{false};
  std::atomic<int64_t> final_cursor{std::numeric_limits<int64_t>::max()};
  std::thread watcher([&] {
    int64_t seen = *start_head;
    while (!(done.load() && seen >= final_cursor.load())) {
      if (!consumer.WaitForCursor(seen + 1, absl::Milliseconds(50))) continue;
      const absl::Time now = absl::Now();
      const int64_t cursor = consumer.cursor();
      for (int64_t s = seen + 1; s <= cursor; ++s) committed.push_back(now);
      seen = cursor;
    }
  });
  consumer.Start();

  LoadOptions load = WithCpuWatch(config_.service_pid);
  load.warmup = absl::ZeroDuration();
  auto result = RunClosedLoop(load, CreateIndividualCaller("bench-feed-", "bench-feed-"));
  const absl::Time load_end = absl::Now();
  absl::StatusOr<int64_t> end_head = head();
  bool caught_up = false;
  if (end_head.ok()) caught_up = consumer.WaitForCursor(*end_head, absl::Seconds(120));
  final_cursor.store(consumer.cursor());
  done.store(true);
  watcher.join();
  consumer.Stop();
  if (!result.ok()) {
    r.status = result.status();
    return r;
  }
  r.load = *result;
  if (!end_head.ok()) {
    r.status = end_head.status();
    return r;
  }
  if (!caught_up) {
    r.status = absl::DeadlineExceededError(absl::StrCat("the consumer reached ", consumer.cursor(), " of head ",
                                                        *end_head, " within 120 s"));
    return r;
  }

  // Event times from the effect rows (what the consumer committed).
  std::vector<int64_t> event_us(static_cast<size_t>(*end_head - *start_head), -1);
  FeedResult f;
  try {
    absl::StatusOr<db::Lease> lease = pool.Acquire(absl::Now() + absl::Seconds(10));
    if (!lease.ok()) {
      r.status = lease.status();
      return r;
    }
    auto rs = db::Query(**lease,
                        "SELECT sequence, event_time_us FROM bench_effects WHERE producer = ? AND sequence > ? "
                        "AND sequence <= ?",
                        std::string(kFeedProducer), *start_head, *end_head);
    while (rs->next()) {
      const int64_t seq = rs->getInt64(1);
      event_us[static_cast<size_t>(seq - first)] = rs->getInt64(2);
      ++f.effect_rows;
    }
  } catch (const sql::SQLException& e) {
    r.status = SqlError(e, "read the effects");
    return r;
  }
  f.events = *end_head - *start_head;
  if (f.effect_rows != f.events || static_cast<int64_t>(committed.size()) < f.events) {
    r.status = absl::DataLossError(absl::StrCat(f.events, " events in the feed, ", f.effect_rows, " effect rows, ",
                                                committed.size(), " commits seen"));
    return r;
  }
  if (f.events == 0) {
    r.status = absl::InternalError("no events were produced");
    return r;
  }
  std::vector<int64_t> lag_nanos;
  lag_nanos.reserve(static_cast<size_t>(f.events));
  int64_t first_us = std::numeric_limits<int64_t>::max();
  for (size_t i = 0; i < event_us.size(); ++i) {
    first_us = std::min(first_us, event_us[i]);
    lag_nanos.push_back(absl::ToInt64Nanoseconds(committed[i] - absl::FromUnixMicros(event_us[i])));
  }
  const absl::Time last_commit = committed[static_cast<size_t>(f.events) - 1];
  f.span = last_commit - absl::FromUnixMicros(first_us);
  f.events_per_second = static_cast<double>(f.events) / std::max(1e-9, absl::ToDoubleSeconds(f.span));
  f.drain = std::max(absl::ZeroDuration(), last_commit - load_end);
  f.lag = Summarize(lag_nanos);
  r.feed = f;
  return r;
}

// ---------------------------------------------------------------- complaints

namespace {

namespace cmp = crm::complaints::v1;

// What customers say on the phone (CMP-1: the statement as heard).
constexpr const char* kStatements[] = {
    "宽带连续三天晚上断网，报修后一直没有人上门，要求尽快处理并说明原因。",
    "营业厅办理套餐变更时被告知可以当天生效，结果本月仍按原套餐扣费，要求退还差价。",
    "客户经理承诺的专线开通时间已经过了两周，公司业务受到影响，要求给出明确的开通日期。",
    "手机信号在办公楼内很差，电话经常掉线，多次反映没有改善。",
};

}  // namespace

ScenarioResult Bench::RecordComplaint() {
  ScenarioResult r("record_complaint",
                   absl::StrCat("RecordComplaint (COMPLAINT, PHONE, SERVICE, request_id) as a MANAGER on random "
                                "picks over ",
                                config_.opportunity_customers,
                                " of their enterprises; includes its GetCustomer call to crm-customers"));
  if (complaints_channels_.empty()) {
    r.status = absl::FailedPreconditionError("needs --complaints_address");
    return r;
  }
  absl::StatusOr<std::string> setup = EnsureManagerCustomers();
  if (!setup.ok()) {
    r.status = setup.status();
    return r;
  }
  r.note = *setup;
  auto result = RunClosedLoop(WithCpuWatch(config_.complaints_pid, config_.service_pid),
                              [&](int caller) -> absl::StatusOr<Call> {
    std::shared_ptr<cmp::ComplaintService::Stub> stub = cmp::ComplaintService::NewStub(
        complaints_channels_[static_cast<size_t>(caller) % complaints_channels_.size()]);
    return Call([this, stub](std::mt19937_64& rng) -> std::string {
      const uint64_t serial = NextSerial();
      cmp::RecordComplaintRequest request;
      cmp::Complaint& c = *request.mutable_complaint();
      c.set_customer(RandomManagerCustomer(rng));
      c.set_kind(cmp::COMPLAINT);
      c.set_channel(cmp::PHONE);
      c.set_category(cmp::SERVICE);
      c.set_statement(kStatements[std::uniform_int_distribution<size_t>(0, std::size(kStatements) - 1)(rng)]);
      request.set_request_id(absl::StrCat("bench-cmp-", serial));
      return CallAsManager(*stub, &cmp::ComplaintService::Stub::RecordComplaint, request);
    });
  });
  r.SetLoad(result);
  return r;
}

namespace {

// breach_sweep's seed: what RecordComplaint stores for a COMPLAINT from a
// C-class customer (regular, NORMAL: first response 8 h, resolution 120 h,
// elapsed hours; AT_RISK at 75 %), both clocks, without the
// clock_transitions rows (the sweep reads complaint_clocks only).
constexpr absl::Duration kSeedFirstResponseTarget = absl::Hours(8);
constexpr absl::Duration kSeedResolutionTarget = absl::Hours(120);
constexpr int kSeedThreads = 2;  // one connection each: MariaDB inserts on both cores

// One INSERT of complaints [first_id, end_id) and one of their clocks, in
// one transaction. Every complaint id % 100 == 0 has its RESOLUTION clock
// due at `now` (1 %); every other RESOLUTION clock is due 1 h to 119 h
// later. A complaint older than 7 h was responded to in time (IN_PROGRESS,
// FIRST_RESPONSE stopped and MET: no breach_due); a younger one is OPEN
// with its FIRST_RESPONSE clock running, due 1 h to 7 h later. So exactly
// the 1 % are due, whatever the sweep's `now` a few minutes later.
void SeedComplaints(sql::Connection& conn, int64_t first_id, int64_t end_id, absl::Time now) {
  std::mt19937_64 rng(static_cast<uint64_t>(first_id));
  std::string complaints =
      "INSERT INTO complaints (id, customer, owner, team, kind, status, vip, provisional, body, create_time, "
      "update_time) VALUES ";
  std::string clocks =
      "INSERT INTO complaint_clocks (complaint_id, kind, transfer_id, basis, stopped, breached, outcome, "
      "breach_due, at_risk_time, customer, owner, team) VALUES ";
  auto time_sql = [](absl::Time t) { return Quote(db::FormatDateTime(t)); };
  cmp::Complaint c;
  c.set_kind(cmp::COMPLAINT);
  c.set_channel(cmp::PHONE);
  c.set_category(cmp::SERVICE);
  c.set_severity(cmp::NORMAL);
  c.set_tier_class(cmp::TIER_C);
  for (int64_t id = first_id; id < end_id; ++id) {
    const bool due = id % 100 == 0;
    const absl::Duration until_due =
        due ? -absl::Seconds(std::uniform_int_distribution<int64_t>(60, 24 * 3600)(rng))
            : absl::Seconds(std::uniform_int_distribution<int64_t>(3600, 119 * 3600)(rng));
    const absl::Time resolution_due = now + until_due;
    const absl::Time created = resolution_due - kSeedResolutionTarget;
    const absl::Time first_response_due = created + kSeedFirstResponseTarget;
    const bool responded = first_response_due < now + absl::Hours(1);
    absl::Time updated = created;
    c.set_status(responded ? cmp::IN_PROGRESS : cmp::OPEN);
    c.clear_first_response_time();
    if (responded) {
      updated = created + kSeedFirstResponseTarget / 2;
      c.mutable_first_response_time()->set_seconds(absl::ToUnixSeconds(updated));
    }
    c.set_customer(absl::StrCat("customers/", std::uniform_int_distribution<int>(1, 100000)(rng)));
    c.set_owner(absl::StrCat("bench-cmp-", id % 200));
    c.set_team(absl::StrCat("bench-team-", id % 20));
    c.set_statement(kStatements[static_cast<size_t>(id) % std::size(kStatements)]);
    const std::string names = absl::StrCat(Quote(c.customer()), ",", Quote(c.owner()), ",", Quote(c.team()));
    const char* sep = id == first_id ? "" : ",";
    absl::StrAppend(&complaints, sep, "(", id, ",", names, ",", int{cmp::COMPLAINT}, ",", int{c.status()},
                    ",0,0,X'", absl::BytesToHexString(c.SerializeAsString()), "',", time_sql(created), ",",
                    time_sql(updated), ")");
    // (kind, stopped, outcome, breach_due, at_risk_time)
    const std::string first_response =
        responded ? absl::StrCat(int{cmp::FIRST_RESPONSE}, ",0,", int{cmp::ELAPSED_HOURS}, ",1,0,1,NULL,NULL")
                  : absl::StrCat(int{cmp::FIRST_RESPONSE}, ",0,", int{cmp::ELAPSED_HOURS}, ",0,0,0,",
                                 time_sql(first_response_due), ",",
                                 time_sql(created + kSeedFirstResponseTarget * 3 / 4));
    absl::StrAppend(&clocks, sep, "(", id, ",", first_response, ",", names, "),(", id, ",", int{cmp::RESOLUTION},
                    ",0,", int{cmp::ELAPSED_HOURS}, ",0,0,0,", time_sql(resolution_due), ",",
                    time_sql(created + kSeedResolutionTarget * 3 / 4), ",", names, ")");
  }
  std::unique_ptr<sql::Statement> stmt(conn.createStatement());
  stmt->execute("START TRANSACTION");
  stmt->executeUpdate(complaints);
  stmt->executeUpdate(clocks);
  stmt->execute("COMMIT");
}

}  // namespace

absl::Status Bench::SeedInParallel(const db::DbConfig& db, int64_t items, absl::string_view what,
                                   const std::function<void(sql::Connection&, int64_t, std::mt19937_64&)>& seed) const {
  std::atomic<int64_t> next_item{0};
  std::mutex mu;
  absl::Status first_failure = absl::OkStatus();
  std::vector<std::thread> threads;
  for (int t = 0; t < kSeedThreads; ++t) {
    threads.emplace_back([&, t] {
      absl::Status s = [&]() -> absl::Status {
        auto conn = Connect(db);
        if (!conn.ok()) return conn.status();
        std::mt19937_64 rng(static_cast<uint64_t>(t) + 1);
        try {
          for (int64_t item = next_item++; item < items; item = next_item++) seed(**conn, item, rng);
        } catch (const sql::SQLException& e) {
          next_item = items;  // the others stop too
          return SqlError(e, what);
        }
        return absl::OkStatus();
      }();
      std::lock_guard<std::mutex> lock(mu);
      if (first_failure.ok()) first_failure = s;
    });
  }
  for (std::thread& t : threads) t.join();
  return first_failure;
}

std::vector<ScenarioResult> Bench::BreachSweep() {
  // The breach job's own batch (500 clocks per transaction).
  const int batch = crm::complaints::BreachJobOptions().batch_size;
  const int64_t total = config_.sweep_complaints;
  const int64_t due = total / 100;  // ids 100, 200, …
  ScenarioResult first("breach_sweep",
                       absl::StrFormat("SweepDueClocks (batches of %d) over %d seeded open complaints "
                                       "(FIRST_RESPONSE and RESOLUTION clocks), %d RESOLUTION clocks due",
                                       batch, total, due));
  ScenarioResult again("breach_sweep_again", "SweepDueClocks again with nothing due");
  auto fail = [&](absl::Status s) -> std::vector<ScenarioResult> {
    first.status = s;
    again.status = absl::FailedPreconditionError("not run: the first sweep failed");
    return {first, again};
  };
  if (config_.complaints_db.database.empty()) {
    return fail(absl::FailedPreconditionError("needs --complaints_db_name"));
  }
  db::DbConfig db_config = config_.complaints_db;
  db_config.pool_size = 2;
  db::ConnectionPool pool(db_config);
  if (absl::Status s = db::ApplyMigrations(pool, events::WithEventTables(crm::complaints::Migrations()),
                                           absl::Now() + absl::Seconds(60));
      !s.ok()) {
    return fail(s);
  }

  // Seed straight into the tables (the database is the bench's own: start
  // empty), 1 000 complaints per INSERT, kSeedThreads connections.
  const std::vector<CpuWatch> watch = WithCpuWatch(0).watch;
  const CpuSnapshot seed_cpu_before = TakeCpuSnapshot(watch);
  const auto seed_start = Stopwatch::now();
  const absl::Time now = absl::Now();
  {
    auto conn = Connect(config_.complaints_db);
    if (!conn.ok()) return fail(conn.status());
    try {
      std::unique_ptr<sql::Statement> stmt((*conn)->createStatement());
      for (const char* table : {"complaints", "complaint_clocks", "clock_transitions"}) {
        stmt->execute(absl::StrCat("TRUNCATE TABLE ", table));
      }
    } catch (const sql::SQLException& e) {
      return fail(SqlError(e, "empty the complaint tables"));
    }
  }
  const int64_t chunks = (total + kSeedRowsPerInsert - 1) / kSeedRowsPerInsert;
  absl::Status seeded = SeedInParallel(config_.complaints_db, chunks, "seed complaints",
                                       [&](sql::Connection& conn, int64_t chunk, std::mt19937_64&) {
                                         SeedComplaints(conn, 1 + chunk * kSeedRowsPerInsert,
                                                        1 + std::min(total, (chunk + 1) * kSeedRowsPerInsert), now);
                                       });
  if (!seeded.ok()) return fail(seeded);
  const std::string seed_note =
      SeedNote(absl::StrFormat("seeded %d complaints + %d clocks", total, 2 * total), Since(seed_start),
               CpuUsed(watch, seed_cpu_before, TakeCpuSnapshot(watch)));

  crm::complaints::MysqlComplaintRepository repository(pool);
  auto run = [&](ScenarioResult& r, int64_t expected) {
    const CpuSnapshot cpu_before = TakeCpuSnapshot(watch);
    const auto start = Stopwatch::now();
    absl::StatusOr<int64_t> marked =
        crm::complaints::SweepDueClocks(repository, absl::Now(), absl::Now() + config_.long_deadline, batch);
    const absl::Duration elapsed = Since(start);
    if (!marked.ok()) {
      r.status = marked.status();
      return;
    }
    r.elapsed = elapsed;
    r.cpu = CpuUsed(watch, cpu_before, TakeCpuSnapshot(watch));
    r.note = absl::StrFormat("marked %d clocks", *marked);
    if (*marked != expected) {
      r.status = absl::InternalError(absl::StrCat("marked ", *marked, " clocks, expected ", expected));
    }
  };
  run(first, due);
  first.note = absl::StrCat(first.note, "; ", seed_note);
  if (!first.status.ok()) return fail(first.status);
  // Not timed: the table agrees with what the sweep returned.
  try {
    absl::StatusOr<db::Lease> lease = pool.Acquire(absl::Now() + absl::Seconds(10));
    if (!lease.ok()) return fail(lease.status());
    auto rs = db::Query(**lease, "SELECT COUNT(*) FROM complaint_clocks WHERE breached = TRUE");
    const int64_t breached = rs->next() ? rs->getInt64(1) : -1;
    if (breached != due) {
      return fail(absl::InternalError(absl::StrCat(breached, " clocks breached in the table, expected ", due)));
    }
  } catch (const sql::SQLException& e) {
    return fail(SqlError(e, "count the breached clocks"));
  }
  run(again, 0);
  return {first, again};
}

// ---------------------------------------------------------------- scheduling

namespace {

namespace sch = crm::scheduling::v1;

// A manager's customers lie within ±0.12° of central Fuzhou (about ±13 km):
// the farthest two are about 36 km apart, 94 minutes by the service's
// default travel model (30 km/h, detour factor 1.3), plus the 10-minute
// early-arrival margin.
constexpr double kCityLatitude = 26.08;
constexpr double kCityLongitude = 119.30;
constexpr double kCitySpread = 0.12;
// Booked visits last an hour, one every three hours: the two-hour gap fits
// the travel between any two customers of the manager, so every booking of
// a distinct slot must succeed.
constexpr absl::Duration kVisitLength = absl::Hours(1);
constexpr absl::Duration kSlotPitch = absl::Hours(3);
constexpr int kCustomersPerBookingManager = 4;
constexpr char kSeedOwnerPrefix[] = "bench-seed-";

void MoveToFuzhou(pb::Customer& c) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> offset(-kCitySpread, kCitySpread);
  c.mutable_location()->set_latitude(kCityLatitude + offset(rng));
  c.mutable_location()->set_longitude(kCityLongitude + offset(rng));
  c.set_address(absl::StrCat("福州市鼓楼区五四路", std::uniform_int_distribution<int>(1, 999)(rng), "号"));
}

// The first whole hour at least a day ahead: bookings start there.
absl::Time BookingBase() {
  const absl::Time t = absl::Now() + absl::Hours(24);
  return absl::FromUnixSeconds(absl::ToUnixSeconds(t) / 3600 * 3600 + 3600);
}

// Server-wide InnoDB row-lock waits and deadlocks so far (SHOW GLOBAL
// STATUS needs no privilege); empty when they cannot be read.
std::map<std::string, int64_t> ReadLockCounters(absl::StatusOr<std::unique_ptr<sql::Connection>>& conn) {
  std::map<std::string, int64_t> counters;
  if (!conn.ok()) return counters;
  try {
    std::unique_ptr<sql::Statement> stmt((*conn)->createStatement());
    std::unique_ptr<sql::ResultSet> rs(stmt->executeQuery(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_row_lock_waits', 'Innodb_deadlocks')"));
    while (rs->next()) counters[rs->getString(1)] = rs->getInt64(2);
  } catch (const sql::SQLException&) {
    counters.clear();
  }
  return counters;
}

// "; InnoDB during the run (server-wide): 12 row lock waits, 3 deadlocks",
// also kept in `counts`.
std::string LockCounterNote(const std::map<std::string, int64_t>& before,
                            const std::map<std::string, int64_t>& after, std::map<std::string, int64_t>& counts) {
  auto delta = [&](const std::string& name) -> std::optional<int64_t> {
    auto b = before.find(name), a = after.find(name);
    if (b == before.end() || a == after.end()) return std::nullopt;
    return a->second - b->second;
  };
  std::optional<int64_t> waits = delta("Innodb_row_lock_waits"), deadlocks = delta("Innodb_deadlocks");
  if (!waits || !deadlocks) return "";
  counts["InnoDB row lock waits"] = *waits;
  counts["InnoDB deadlocks"] = *deadlocks;
  return absl::StrFormat("; InnoDB during the run, warm-up included (server-wide): %d row lock waits, %d deadlocks",
                         *waits, *deadlocks);
}

sch::BookVisitRequest VisitRequest(const std::string& customer, absl::Time start, const std::string& owner,
                                   uint64_t serial) {
  sch::BookVisitRequest request;
  sch::Visit& v = *request.mutable_visit();
  v.set_customer(customer);
  v.set_owner(owner);
  v.set_purpose(sch::COURTESY);
  ToProto(start, v.mutable_start_time());
  ToProto(start + kVisitLength, v.mutable_end_time());
  request.set_request_id(absl::StrCat("bench-visit-", serial));
  return request;
}

}  // namespace

std::shared_ptr<grpc::Channel> Bench::SchedulingChannel(int caller) const {
  return scheduling_channels_[static_cast<size_t>(caller) % scheduling_channels_.size()];
}

ScenarioResult Bench::BookVisitManyManagers() {
  const int managers = config_.load.callers;
  ScenarioResult r("book_visit_32_managers",
                   absl::StrFormat("BookVisit (COURTESY, 1 h, request_id) at %d callers, each a different MANAGER "
                                   "booking its next 3-hourly slot for one of its %d enterprises in one city; "
                                   "includes its GetCustomer call to crm-customers",
                                   managers, kCustomersPerBookingManager));
  if (scheduling_channels_.empty() || !config_.manager_token_for) {
    r.status = absl::FailedPreconditionError("needs --scheduling_address and --jwt_hs256_key_file");
    return r;
  }
  const auto setup_start = Stopwatch::now();
  std::vector<std::string> tokens;
  std::vector<std::vector<std::string>> customers;
  for (int m = 0; m < managers; ++m) {
    const std::string subject = absl::StrCat("bench-sch-", m);
    tokens.push_back(config_.manager_token_for(subject));
    absl::StatusOr<std::vector<std::string>> created =
        CreateEnterprisesAs(kCustomersPerBookingManager, subject, tokens.back(), MoveToFuzhou);
    if (!created.ok()) {
      r.status = created.status();
      return r;
    }
    customers.push_back(*std::move(created));
  }
  r.note = absl::StrFormat("set-up: %d CreateCustomer as %d MANAGERs in %.1f s", managers * kCustomersPerBookingManager,
                           managers, absl::ToDoubleSeconds(Since(setup_start)));
  const absl::Time base = BookingBase();
  auto counter_conn = Connect();
  const std::map<std::string, int64_t> counters_before = ReadLockCounters(counter_conn);
  auto result = RunClosedLoop(WithCpuWatch(config_.scheduling_pid, config_.service_pid),
                              [&](int caller) -> absl::StatusOr<Call> {
    std::shared_ptr<sch::SchedulingService::Stub> stub = sch::SchedulingService::NewStub(SchedulingChannel(caller));
    // The caller's own manager: its slots are consecutive and never collide.
    return Call([this, stub, base, token = tokens[caller], mine = customers[caller],
                 slot = int64_t{0}](std::mt19937_64&) mutable -> std::string {
      const int64_t n = slot++;
      const sch::BookVisitRequest request =
          VisitRequest(mine[static_cast<size_t>(n) % mine.size()], base + n * kSlotPitch, "", NextSerial());
      sch::Visit visit;
      return CallWithToken(*stub, &sch::SchedulingService::Stub::BookVisit, request, token, visit);
    });
  });
  r.SetLoad(result);
  absl::StrAppend(&r.note, LockCounterNote(counters_before, ReadLockCounters(counter_conn), r.counts));
  return r;
}

ScenarioResult Bench::BookVisitOneManager() {
  const std::string subject = "bench-sch-one";
  ScenarioResult r("book_visit_1_manager",
                   absl::StrFormat("BookVisit as in book_visit_32_managers, but all %d callers book for ONE "
                                   "MANAGER (each call takes the next free 3-hourly slot: no conflict expected); "
                                   "includes its GetCustomer call to crm-customers",
                                   config_.load.callers));
  if (scheduling_channels_.empty() || !config_.manager_token_for) {
    r.status = absl::FailedPreconditionError("needs --scheduling_address and --jwt_hs256_key_file");
    return r;
  }
  const std::string token = config_.manager_token_for(subject);
  const auto setup_start = Stopwatch::now();
  absl::StatusOr<std::vector<std::string>> customers =
      CreateEnterprisesAs(kCustomersPerBookingManager, subject, token, MoveToFuzhou);
  if (!customers.ok()) {
    r.status = customers.status();
    return r;
  }
  const std::string setup_note = absl::StrFormat("set-up: %d CreateCustomer as MANAGER %s in %.1f s",
                                                 kCustomersPerBookingManager, subject,
                                                 absl::ToDoubleSeconds(Since(setup_start)));
  const absl::Time base = BookingBase();
  // Warm-up calls included: every booking the manager got must be sound.
  std::atomic<int64_t> next_slot{0};
  std::atomic<int64_t> refused{0};
  auto counter_conn = Connect();
  const std::map<std::string, int64_t> counters_before = ReadLockCounters(counter_conn);
  auto result = RunClosedLoop(WithCpuWatch(config_.scheduling_pid, config_.service_pid),
                              [&](int caller) -> absl::StatusOr<Call> {
    std::shared_ptr<sch::SchedulingService::Stub> stub = sch::SchedulingService::NewStub(SchedulingChannel(caller));
    return Call([&, stub](std::mt19937_64&) -> std::string {
      const int64_t n = next_slot.fetch_add(1);
      const sch::BookVisitRequest request = VisitRequest(
          (*customers)[static_cast<size_t>(n) % customers->size()], base + n * kSlotPitch, "", NextSerial());
      sch::Visit visit;
      std::string error = CallWithToken(*stub, &sch::SchedulingService::Stub::BookVisit, request, token, visit);
      if (error == "FAILED_PRECONDITION") ++refused;
      return error;
    });
  });
  r.SetLoad(result);
  const std::string counter_note = LockCounterNote(counters_before, ReadLockCounters(counter_conn), r.counts);
  if (!r.status.ok()) return r;

  // Every visit the manager now has, by ListVisits as the manager.
  std::vector<std::pair<absl::Time, absl::Time>> stored;
  auto stub = sch::SchedulingService::NewStub(SchedulingChannel(0));
  sch::ListVisitsRequest list;
  list.set_owner(subject);
  list.set_page_size(500);
  do {
    sch::ListVisitsResponse page;
    grpc::ClientContext context;
    AuthorizeAs(context, config_.long_deadline, token);
    if (grpc::Status s = stub->ListVisits(&context, list, &page); !s.ok()) {
      r.status = ToAbsl(s, "ListVisits");
      return r;
    }
    for (const sch::Visit& v : page.visits()) {
      if (v.status() == sch::PLANNED || v.status() == sch::DONE) {
        stored.emplace_back(FromProto(v.start_time()), FromProto(v.end_time()));
      }
    }
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  // In start order, a visit overlaps an earlier one iff it starts before the
  // latest end so far.
  std::sort(stored.begin(), stored.end());
  int64_t overlapping = 0;
  absl::Time latest_end = absl::InfinitePast();
  for (const auto& [start, end] : stored) {
    if (start < latest_end) ++overlapping;
    latest_end = std::max(latest_end, end);
  }
  r.counts["calls"] = next_slot.load();
  r.counts["FAILED_PRECONDITION"] = refused.load();
  r.counts["stored visits"] = static_cast<int64_t>(stored.size());
  r.counts["overlapping stored visits"] = overlapping;
  r.note = absl::StrFormat(
      "%s; %d BookVisit calls in all (warm-up included), %d refused with FAILED_PRECONDITION; ListVisits "
      "afterwards: %d visits stored, %d overlapping an earlier one%s",
      setup_note, next_slot.load(), refused.load(), stored.size(), overlapping, counter_note);
  return r;
}

namespace {

// conflict_check_1m's seed: one multi-row INSERT of one manager's
// `per_manager` visits as BookVisit stores them (PLANNED, busy), one a day
// at 10:00-11:00 Beijing time from `first_day` on, at customers of one city.
void SeedVisits(sql::Connection& conn, const std::string& owner, int per_manager, absl::Time first_day,
                absl::Time now, std::mt19937_64& rng) {
  std::string sql =
      "INSERT INTO visits (owner, team, customer, status, purpose, busy, start_time, end_time, body, create_time, "
      "update_time) VALUES ";
  auto time_sql = [](absl::Time t) { return Quote(db::FormatDateTime(t)); };
  std::uniform_real_distribution<double> offset(-kCitySpread, kCitySpread);
  sch::Visit v;
  v.set_owner(owner);
  v.set_team("bench");
  v.set_status(sch::PLANNED);
  for (int i = 0; i < per_manager; ++i) {
    const absl::Time start = first_day + absl::Hours(24) * i + absl::Hours(2);  // 10:00 at UTC+8
    v.set_customer(absl::StrCat("customers/", std::uniform_int_distribution<int>(1, 100000)(rng)));
    v.set_purpose(static_cast<sch::VisitPurpose>(std::uniform_int_distribution<int>(sch::GIFT, sch::PROPOSAL)(rng)));
    v.set_place(absl::StrCat("福州市鼓楼区五四路", std::uniform_int_distribution<int>(1, 999)(rng), "号"));
    v.mutable_location()->set_latitude(kCityLatitude + offset(rng));
    v.mutable_location()->set_longitude(kCityLongitude + offset(rng));
    ToProto(start, v.mutable_start_time());
    ToProto(start + kVisitLength, v.mutable_end_time());
    absl::StrAppend(&sql, i == 0 ? "" : ",", "(", Quote(owner), ",'bench',", Quote(v.customer()), ",",
                    int{sch::PLANNED}, ",", int{v.purpose()}, ",1,", time_sql(start), ",",
                    time_sql(start + kVisitLength), ",X'", absl::BytesToHexString(v.SerializeAsString()), "',",
                    time_sql(now), ",", time_sql(now), ")");
  }
  std::unique_ptr<sql::Statement> stmt(conn.createStatement());
  stmt->executeUpdate(sql);
}

}  // namespace

std::vector<ScenarioResult> Bench::ConflictCheck() {
  const int managers = config_.seed_managers;
  const int per_manager = config_.seed_visits / managers;
  const int calls = config_.conflict_check_calls;
  ScenarioResult loaded(
      "conflict_check_1m",
      absl::StrFormat("BookVisit, one call at a time (%d calls, ADMIN booking for a different seeded manager each "
                      "time), for managers with %d of %d seeded visits, into a free afternoon among them",
                      calls, per_manager, managers * per_manager));
  ScenarioResult empty("conflict_check_empty",
                       absl::StrFormat("the same BookVisit calls, interleaved with the ones above, each for a "
                                       "manager with no visit (%d calls)",
                                       calls));
  auto fail = [&](absl::Status s) -> std::vector<ScenarioResult> {
    loaded.status = s;
    empty.status = absl::FailedPreconditionError("not run: conflict_check_1m failed");
    return {loaded, empty};
  };
  if (scheduling_channels_.empty()) return fail(absl::FailedPreconditionError("needs --scheduling_address"));
  if (config_.scheduling_db.database.empty()) {
    return fail(absl::FailedPreconditionError("needs --scheduling_db_name"));
  }
  // The customer every timed booking visits (ADMIN sees it).
  absl::StatusOr<std::vector<std::string>> customer = CreateEnterprisesAs(1, "bench-seed", config_.bearer_token,
                                                                          MoveToFuzhou);
  if (!customer.ok()) return fail(customer.status());

  // Seed straight into the service's visits table: one INSERT (one
  // autocommit transaction) per manager, kSeedThreads connections. Seeded
  // days run from 500 days back to 500 days ahead, so the timed bookings,
  // in the next 400 days, have history before them and plans after.
  const absl::Time now = absl::Now();
  const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());
  const absl::Time first_day = absl::FromCivil(today - per_manager / 2, absl::UTCTimeZone());
  const std::vector<CpuWatch> watch = WithCpuWatch(config_.scheduling_pid).watch;
  const CpuSnapshot seed_cpu_before = TakeCpuSnapshot(watch);
  const auto seed_start = Stopwatch::now();
  {
    auto conn = Connect(config_.scheduling_db);
    if (!conn.ok()) return fail(conn.status());
    try {
      // A rerun against the same database starts from the same seed.
      std::unique_ptr<sql::Statement> stmt((*conn)->createStatement());
      stmt->executeUpdate(absl::StrCat("DELETE FROM visits WHERE owner LIKE '", kSeedOwnerPrefix, "%'"));
    } catch (const sql::SQLException& e) {
      return fail(SqlError(e, "delete earlier seed visits"));
    }
  }
  absl::Status seeded = SeedInParallel(config_.scheduling_db, managers, "seed visits",
                                       [&](sql::Connection& conn, int64_t m, std::mt19937_64& rng) {
                                         SeedVisits(conn, absl::StrCat(kSeedOwnerPrefix, m), per_manager, first_day,
                                                    now, rng);
                                       });
  if (!seeded.ok()) return fail(seeded);
  const std::string seed_note =
      SeedNote(absl::StrFormat("seeded %d visits of %d managers", managers * per_manager, managers),
               Since(seed_start), CpuUsed(watch, seed_cpu_before, TakeCpuSnapshot(watch)));

  // Alternate: a seeded manager, then a manager with nothing booked, at the
  // same time of day (15:00-16:00 Beijing time, between that day's seeded
  // 10:00 visit and the next day's), so both do the same work but for the
  // neighbours the check reads.
  auto stub = sch::SchedulingService::NewStub(SchedulingChannel(0));
  std::vector<int64_t> loaded_nanos, empty_nanos;
  std::map<std::string, int64_t> loaded_errors, empty_errors;
  const absl::Time first_booking_day = absl::FromCivil(today + 1, absl::UTCTimeZone()) + absl::Hours(7);
  for (int i = 0; i < calls; ++i) {
    const absl::Time start = first_booking_day + absl::Hours(24) * (i % std::max(1, per_manager / 2 - 100));
    for (bool seeded : {true, false}) {
      const std::string owner = seeded ? absl::StrCat(kSeedOwnerPrefix, i % managers)
                                       : absl::StrCat("bench-empty-", NextSerial());
      const sch::BookVisitRequest request = VisitRequest((*customer)[0], start, owner, NextSerial());
      sch::Visit visit;
      const auto call_start = Stopwatch::now();
      const std::string error =
          CallWithToken(*stub, &sch::SchedulingService::Stub::BookVisit, request, config_.bearer_token, visit);
      const int64_t nanos = absl::ToInt64Nanoseconds(Since(call_start));
      if (error.empty()) {
        (seeded ? loaded_nanos : empty_nanos).push_back(nanos);
      } else {
        ++(seeded ? loaded_errors : empty_errors)[error];
      }
    }
  }
  auto finish = [&](ScenarioResult& r, std::vector<int64_t>& nanos, const std::map<std::string, int64_t>& errors) {
    LoadResult l;
    l.ok_calls = static_cast<int64_t>(nanos.size());
    int64_t total_nanos = 0;
    for (int64_t n : nanos) total_nanos += n;
    for (const auto& [name, count] : errors) l.failed_calls += count;
    l.errors = errors;
    l.measured = absl::Nanoseconds(total_nanos);
    l.qps = total_nanos > 0 ? static_cast<double>(l.ok_calls) / (static_cast<double>(total_nanos) / 1e9) : 0;
    l.latency = Summarize(nanos);
    r.load = l;
  };
  finish(loaded, loaded_nanos, loaded_errors);
  finish(empty, empty_nanos, empty_errors);
  loaded.note = seed_note;
  return {loaded, empty};
}

ScenarioResult Bench::PlanDay30() {
  const std::string subject = "bench-plan";
  constexpr int kCandidates = 30;
  ScenarioResult r("plan_day_30",
                   absl::StrFormat("PlanDay as a MANAGER: %d candidate enterprises in one city, 09:00-18:00, "
                                   "60-minute visits, around 2 booked visits; includes its %d GetCustomer calls "
                                   "to crm-customers",
                                   kCandidates, kCandidates));
  if (scheduling_channels_.empty() || !config_.manager_token_for) {
    r.status = absl::FailedPreconditionError("needs --scheduling_address and --jwt_hs256_key_file");
    return r;
  }
  const std::string token = config_.manager_token_for(subject);
  const auto setup_start = Stopwatch::now();
  absl::StatusOr<std::vector<std::string>> candidates = CreateEnterprisesAs(kCandidates, subject, token, MoveToFuzhou);
  if (!candidates.ok()) {
    r.status = candidates.status();
    return r;
  }
  // The plan's day, a week ahead (Beijing time), with two visits booked:
  // 10:00-11:00 and 14:00-15:00, at two of the candidates' neighbours.
  const absl::TimeZone beijing = absl::FixedTimeZone(8 * 3600);
  const absl::CivilDay day = absl::ToCivilDay(absl::Now(), beijing) + 7;
  absl::StatusOr<std::vector<std::string>> booked_at = CreateEnterprisesAs(2, subject, token, MoveToFuzhou);
  if (!booked_at.ok()) {
    r.status = booked_at.status();
    return r;
  }
  auto setup_stub = sch::SchedulingService::NewStub(SchedulingChannel(0));
  for (int i = 0; i < 2; ++i) {
    const absl::Time start = absl::FromCivil(absl::CivilHour(day) + (i == 0 ? 10 : 14), beijing);
    sch::Visit visit;
    const std::string error =
        CallWithToken(*setup_stub, &sch::SchedulingService::Stub::BookVisit,
                      VisitRequest((*booked_at)[static_cast<size_t>(i)], start, "", NextSerial()), token, visit);
    if (!error.empty()) {
      r.status = absl::InternalError(absl::StrCat("booking the day's fixed visits: ", error));
      return r;
    }
  }
  std::string setup_note = absl::StrFormat("set-up: %d CreateCustomer and 2 BookVisit as MANAGER %s in %.1f s",
                                           kCandidates + 2, subject, absl::ToDoubleSeconds(Since(setup_start)));

  sch::PlanDayRequest request;
  request.mutable_date()->set_year(static_cast<int32_t>(day.year()));
  request.mutable_date()->set_month(day.month());
  request.mutable_date()->set_day(day.day());
  for (const std::string& c : *candidates) request.add_candidates(c);
  std::mutex mu;
  std::map<std::string, int64_t> algorithms;
  sch::DayPlan last_plan;
  auto result = RunClosedLoop(WithCpuWatch(config_.scheduling_pid, config_.service_pid),
                              [&](int caller) -> absl::StatusOr<Call> {
    std::shared_ptr<sch::SchedulingService::Stub> stub = sch::SchedulingService::NewStub(SchedulingChannel(caller));
    return Call([&, stub](std::mt19937_64&) -> std::string {
      sch::DayPlan plan;
      std::string error = CallWithToken(*stub, &sch::SchedulingService::Stub::PlanDay, request, token, plan);
      if (error.empty()) {
        std::lock_guard<std::mutex> lock(mu);
        ++algorithms[plan.algorithm()];
        last_plan = std::move(plan);
      }
      return error;
    });
  });
  r.SetLoad(result);
  int fixed = 0;
  for (const sch::PlannedStop& stop : last_plan.stops()) fixed += stop.fixed() ? 1 : 0;
  std::vector<std::string> seen;
  for (const auto& [algorithm, count] : algorithms) seen.push_back(absl::StrCat("\"", algorithm, "\" ×", count));
  r.note = absl::StrFormat("%s; algorithm returned: %s (warm-up included); each plan: %d stops (%d fixed), %d "
                           "unscheduled, %.1f km, %d min of travel",
                           setup_note, absl::StrJoin(seen, ", "), last_plan.stops_size(), fixed,
                           last_plan.unscheduled_size(), last_plan.total_travel_km(),
                           last_plan.total_travel_minutes());
  return r;
}

// ---------------------------------------------------------------- gateway

namespace {

namespace gw = crm::gateway::v1;
namespace opb = crm::opportunities::v1;

constexpr char k360Manager[] = "bench-360";
constexpr int kContactsPer360Customer = 3;

// "host:port" → (host, port).
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) || port <= 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("expected host:port, got '", address, "'"));
  }
  return std::make_pair(address.substr(0, colon), port);
}

// What differs between two messages, for the report ("" when equal).
std::string Difference(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  google::protobuf::util::MessageDifferencer differencer;
  std::string report;
  differencer.ReportDifferencesToString(&report);
  if (differencer.Compare(a, b)) return "";
  return report.size() > 300 ? absl::StrCat(report.substr(0, 300), "…") : report;
}

}  // namespace

absl::StatusOr<pb::Customer> Bench::DirectGetCustomer(int64_t id) {
  auto stub = pb::CustomerService::NewStub(CustomersChannel(0));
  grpc::ClientContext context;
  Authorize(context, config_.deadline);
  pb::GetCustomerRequest request;
  request.set_name(absl::StrCat("customers/", id));
  pb::Customer customer;
  if (grpc::Status s = stub->GetCustomer(&context, request, &customer); !s.ok()) {
    return ToAbsl(s, "GetCustomer (direct)");
  }
  return customer;
}

ScenarioResult Bench::GatewayGetCustomer() {
  ScenarioResult r("gateway_get_customer",
                   absl::StrCat("GetCustomer through crm-gateway's gRPC front (forwarded by method name to "
                                "crm-customers), random picks over ",
                                config_.customer_set, " enterprises"));
  if (gateway_channels_.empty()) {
    r.status = absl::FailedPreconditionError("needs --gateway_address");
    return r;
  }
  absl::StatusOr<std::string> setup = CustomerSetNote();
  if (!setup.ok()) {
    r.status = setup.status();
    return r;
  }
  r.note = *std::move(setup);
  // Before the load: the gateway answers what crm-customers answers.
  const int64_t probe = customer_ids_.front();
  absl::StatusOr<pb::Customer> direct = DirectGetCustomer(probe);
  if (!direct.ok()) {
    r.status = direct.status();
    return r;
  }
  {
    auto stub = pb::CustomerService::NewStub(gateway_channels_.front());
    grpc::ClientContext context;
    Authorize(context, config_.deadline);
    pb::GetCustomerRequest request;
    request.set_name(absl::StrCat("customers/", probe));
    pb::Customer via_gateway;
    if (grpc::Status s = stub->GetCustomer(&context, request, &via_gateway); !s.ok()) {
      r.status = ToAbsl(s, "GetCustomer through the gateway");
      return r;
    }
    const std::string diff = Difference(*direct, via_gateway);
    absl::StrAppend(&r.note, "; checked: customers/", probe, diff.empty() ? " is the same message through the gateway"
                                                                           : absl::StrCat(" DIFFERS through the gateway: ", diff));
  }
  r.SetLoad(RunClosedLoop(WithCpuWatch(config_.gateway_pid, config_.service_pid), GetCustomerCallers(&gateway_channels_)));
  return r;
}

ScenarioResult Bench::GatewayHttpGetCustomer() {
  ScenarioResult r("gateway_http_get_customer",
                   absl::StrCat("GetCustomer over crm-gateway's HTTP/JSON front (GET /v1/customers/{id}, bearer "
                                "token, one keep-alive cpp-httplib connection per caller), random picks over ",
                                config_.customer_set, " enterprises"));
  if (config_.gateway_http_address.empty()) {
    r.status = absl::FailedPreconditionError("needs --gateway_http_address");
    return r;
  }
  absl::StatusOr<std::pair<std::string, int>> address = SplitHostPort(config_.gateway_http_address);
  if (!address.ok()) {
    r.status = address.status();
    return r;
  }
  absl::StatusOr<std::string> setup = CustomerSetNote();
  if (!setup.ok()) {
    r.status = setup.status();
    return r;
  }
  r.note = *std::move(setup);
  const auto [host, port] = *address;
  const time_t timeout_s = static_cast<time_t>(absl::ToInt64Seconds(config_.deadline));
  const time_t timeout_us = static_cast<time_t>(absl::ToInt64Microseconds(config_.deadline) % 1'000'000);
  const httplib::Headers headers = {{"Authorization", absl::StrCat("Bearer ", config_.bearer_token)}};
  // Every TCP connection the callers' clients open (the first of each, and
  // every reconnection after the server closed one).
  auto connections = std::make_shared<std::atomic<int64_t>>(0);
  auto make_client = [&, connections] {
    auto client = std::make_shared<httplib::Client>(host, port);
    client->set_keep_alive(true);
    client->set_connection_timeout(timeout_s, timeout_us);
    client->set_read_timeout(timeout_s, timeout_us);
    client->set_write_timeout(timeout_s, timeout_us);
    client->set_socket_options([connections](socket_t) { connections->fetch_add(1); });
    return client;
  };
  // Before the load: the JSON parses to the message crm-customers answers.
  const int64_t probe = customer_ids_.front();
  absl::StatusOr<pb::Customer> direct = DirectGetCustomer(probe);
  if (!direct.ok()) {
    r.status = direct.status();
    return r;
  }
  {
    auto client = make_client();
    httplib::Result res = client->Get(absl::StrCat("/v1/customers/", probe), headers);
    if (!res) {
      r.status = absl::UnavailableError(absl::StrCat("HTTP GET /v1/customers/", probe, ": ", httplib::to_string(res.error())));
      return r;
    }
    if (res->status != 200) {
      r.status = absl::UnavailableError(absl::StrCat("HTTP GET /v1/customers/", probe, ": status ", res->status, ": ",
                                                     res->body.substr(0, 300)));
      return r;
    }
    pb::Customer via_http;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    if (auto parsed = google::protobuf::util::JsonStringToMessage(res->body, &via_http, options); !parsed.ok()) {
      absl::StrAppend(&r.note, "; checked: the JSON of customers/", probe, " does NOT parse as a Customer: ",
                      std::string(parsed.message()));
    } else {
      const std::string diff = Difference(*direct, via_http);
      absl::StrAppend(&r.note, "; checked: customers/", probe,
                      diff.empty() ? " in JSON parses to the same message as the direct GetCustomer"
                                   : absl::StrCat(" in JSON DIFFERS from the direct GetCustomer: ", diff));
    }
    absl::StrAppend(&r.note, absl::StrFormat(" (%d bytes of JSON)", res->body.size()));
  }
  const int64_t connections_before = connections->load();
  std::atomic<int64_t> calls{0};  // warm-up included, like the connections
  // Per call: status 200 and the customer's name in the body (the JSON is
  // not parsed in the loop: the time is the gateway's, not the client's).
  auto result = RunClosedLoop(WithCpuWatch(config_.gateway_pid, config_.service_pid),
                              [&](int) -> absl::StatusOr<Call> {
    std::shared_ptr<httplib::Client> client = make_client();
    return Call([this, client, &headers, &calls](std::mt19937_64& rng) -> std::string {
      calls.fetch_add(1, std::memory_order_relaxed);
      const int64_t id = customer_ids_[std::uniform_int_distribution<size_t>(0, customer_ids_.size() - 1)(rng)];
      httplib::Result res = client->Get(absl::StrCat("/v1/customers/", id), headers);
      if (!res) return absl::StrCat("HTTP client: ", httplib::to_string(res.error()));
      if (res->status != 200) return absl::StrCat("HTTP ", res->status);
      if (res->body.find(absl::StrCat("\"name\":\"customers/", id, "\"")) == std::string::npos) {
        return "HTTP 200 with another customer";
      }
      return std::string();
    });
  });
  r.SetLoad(result);
  const int64_t opened = connections->load() - connections_before;
  r.counts["HTTP connections"] = opened;
  absl::StrAppend(&r.note, absl::StrFormat("; %d callers opened %d TCP connections for %d calls (warm-up "
                                           "included): %.1f calls per connection",
                                           config_.load.callers, opened, calls.load(),
                                           static_cast<double>(calls.load()) /
                                               static_cast<double>(std::max<int64_t>(1, opened))));
  return r;
}

ScenarioResult Bench::Customer360() {
  const int n = config_.customers_360;
  ScenarioResult r("customer_360",
                   absl::StrFormat("GatewayService.GetCustomer360 through crm-gateway's gRPC front as MANAGER %s, "
                                   "random picks over %d of their enterprises (each: %d contacts, 1 open opportunity, "
                                   "1 open complaint, 1 upcoming visit); the gateway makes 7 calls per view",
                                   k360Manager, n, kContactsPer360Customer));
  if (gateway_channels_.empty() || opportunities_channels_.empty() || complaints_channels_.empty() ||
      scheduling_channels_.empty() || !config_.manager_token_for) {
    r.status = absl::FailedPreconditionError(
        "needs --gateway_address, --opportunities_address, --complaints_address, --scheduling_address and "
        "--jwt_hs256_key_file");
    return r;
  }
  const std::string token = config_.manager_token_for(k360Manager);
  const auto setup_start = Stopwatch::now();
  absl::StatusOr<std::vector<std::string>> customers = CreateEnterprisesAs(n, k360Manager, token, MoveToFuzhou);
  if (!customers.ok()) {
    r.status = customers.status();
    return r;
  }
  // Set-up, not measured: each customer's contacts, opportunity, complaint
  // and visit (one 3-hourly slot each, so the manager's visits never
  // conflict), 8 customers at a time, retrying a full server thread pool
  // (the request ids make retries safe).
  const absl::Time base = BookingBase();
  std::mutex mu;
  absl::Status first_error = absl::OkStatus();
  std::atomic<int> next{0};
  auto fill = [&] {
    auto customer_stub = pb::CustomerService::NewStub(CustomersChannel(0));
    auto opportunity_stub = opb::OpportunityService::NewStub(opportunities_channels_.front());
    auto complaint_stub = cmp::ComplaintService::NewStub(complaints_channels_.front());
    auto scheduling_stub = sch::SchedulingService::NewStub(SchedulingChannel(0));
    std::mt19937_64 rng(std::random_device{}());
    auto call = [&](auto& stub, auto rpc, const auto& request, auto& response, const char* what) -> absl::Status {
      grpc::Status s;
      for (int attempt = 1; attempt <= 10; ++attempt) {
        grpc::ClientContext context;
        AuthorizeAs(context, config_.deadline, token);
        s = ((*stub).*rpc)(&context, request, &response);
        if (s.ok() || (s.error_code() != grpc::RESOURCE_EXHAUSTED && s.error_code() != grpc::UNAVAILABLE)) break;
        absl::SleepFor(absl::Milliseconds(10 * attempt));
      }
      return ToAbsl(s, what);
    };
    for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      const std::string& customer = (*customers)[static_cast<size_t>(i)];
      absl::Status status = absl::OkStatus();
      static constexpr pb::ContactRole kRoles[kContactsPer360Customer] = {pb::KEY_PERSON, pb::CONTACT, pb::VIP};
      static constexpr const char* kTitles[kContactsPer360Customer] = {"总经理", "信息中心主任", "董事长"};
      for (int c = 0; c < kContactsPer360Customer && status.ok(); ++c) {
        const uint64_t serial = NextSerial();
        pb::CreateContactRequest request;
        request.set_parent(customer);
        request.set_request_id(absl::StrCat("bench-contact-", serial));
        pb::Contact& contact = *request.mutable_contact();
        contact.set_display_name(PersonName(rng, 0));
        contact.set_role(kRoles[c]);
        if (kRoles[c] == pb::VIP) contact.set_vip_level(pb::GOLD);
        contact.set_phone(MobilePhone(serial % 100'000'000));
        contact.set_title(kTitles[c]);
        pb::Contact created;
        status = call(customer_stub, &pb::CustomerService::Stub::CreateContact, request, created, "CreateContact");
      }
      if (status.ok()) {
        opb::CreateOpportunityRequest request;
        opb::Opportunity& o = *request.mutable_opportunity();
        o.set_customer(customer);
        o.set_type(opb::INFO_SOLUTION);
        o.set_title("5G 专网 + 云专线");
        o.mutable_amount()->set_currency_code("CNY");
        o.mutable_amount()->set_units(LogUniform(rng, 10'000, 5'000'000));
        request.set_request_id(absl::StrCat("bench-opp-", NextSerial()));
        opb::Opportunity created;
        status = call(opportunity_stub, &opb::OpportunityService::Stub::CreateOpportunity, request, created,
                      "CreateOpportunity");
      }
      if (status.ok()) {
        cmp::RecordComplaintRequest request;
        cmp::Complaint& c = *request.mutable_complaint();
        c.set_customer(customer);
        c.set_kind(cmp::COMPLAINT);
        c.set_channel(cmp::PHONE);
        c.set_category(cmp::SERVICE);
        c.set_statement(kStatements[static_cast<size_t>(i) % std::size(kStatements)]);
        request.set_request_id(absl::StrCat("bench-cmp-", NextSerial()));
        cmp::Complaint created;
        status = call(complaint_stub, &cmp::ComplaintService::Stub::RecordComplaint, request, created,
                      "RecordComplaint");
      }
      if (status.ok()) {
        const sch::BookVisitRequest request = VisitRequest(customer, base + i * kSlotPitch, "", NextSerial());
        sch::Visit created;
        status = call(scheduling_stub, &sch::SchedulingService::Stub::BookVisit, request, created, "BookVisit");
      }
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = absl::Status(status.code(), absl::StrCat(customer, ": ", status.message()));
        return;
      }
    }
  };
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < std::min(n, 8); ++t) threads.emplace_back(fill);
    for (std::thread& t : threads) t.join();
  }
  if (!first_error.ok()) {
    r.status = first_error;
    return r;
  }
  // Every visit lies within the view's horizon.
  const int horizon_days =
      std::min(90, static_cast<int>(absl::ToInt64Hours(base - absl::Now() + n * kSlotPitch) / 24) + 2);
  r.note = absl::StrFormat("set-up: %d CreateCustomer, %d CreateContact, %d CreateOpportunity, %d RecordComplaint, "
                           "%d BookVisit as MANAGER %s in %.1f s; horizon_days %d",
                           n, n * kContactsPer360Customer, n, n, n, k360Manager,
                           absl::ToDoubleSeconds(Since(setup_start)), horizon_days);
  // What one view holds: checked once here, and its row count on every call.
  auto request_for = [&](const std::string& customer) {
    gw::GetCustomer360Request request;
    request.set_name(customer);
    request.set_horizon_days(horizon_days);
    return request;
  };
  constexpr int kExpectedRows = kContactsPer360Customer + 3;  // + opportunity, complaint, visit
  auto rows = [](const gw::Customer360& v) {
    return v.contacts_size() + v.open_opportunities_size() + v.open_complaints_size() + v.upcoming_visits_size();
  };
  {
    auto stub = gw::GatewayService::NewStub(gateway_channels_.front());
    gw::Customer360 view;
    const std::string error =
        CallWithToken(*stub, &gw::GatewayService::Stub::GetCustomer360, request_for(customers->front()), token, view);
    if (!error.empty()) {
      r.status = absl::UnavailableError(absl::StrCat("GetCustomer360 of ", customers->front(), ": ", error));
      return r;
    }
    std::vector<std::string> missing;
    for (const gw::UnavailablePart& p : view.unavailable()) missing.push_back(absl::StrCat(p.part(), " ", p.code()));
    absl::StrAppend(&r.note,
                    absl::StrFormat("; checked %s: customer %s, %d contacts, %d open opportunities, %d pipeline "
                                    "lines, %d open complaints, %d upcoming visits, %d due tasks, unavailable: %s; "
                                    "%d bytes",
                                    customers->front(), view.customer().name() == customers->front() ? "ok" : "MISSING",
                                    view.contacts_size(), view.open_opportunities_size(), view.pipeline_size(),
                                    view.open_complaints_size(), view.upcoming_visits_size(), view.due_tasks_size(),
                                    missing.empty() ? "none" : absl::StrJoin(missing, ", "), view.ByteSizeLong()));
  }
  // A view with a part missing or short counts as a failure, not a success.
  auto result = RunClosedLoop(
      WithCpuWatchAll({config_.gateway_pid, config_.service_pid, config_.opportunities_pid, config_.complaints_pid,
                       config_.scheduling_pid}),
      [&](int caller) -> absl::StatusOr<Call> {
        std::shared_ptr<gw::GatewayService::Stub> stub =
            gw::GatewayService::NewStub(gateway_channels_[static_cast<size_t>(caller) % gateway_channels_.size()]);
        return Call([&, stub](std::mt19937_64& rng) -> std::string {
          const std::string& customer =
              (*customers)[std::uniform_int_distribution<size_t>(0, customers->size() - 1)(rng)];
          gw::Customer360 view;
          std::string error =
              CallWithToken(*stub, &gw::GatewayService::Stub::GetCustomer360, request_for(customer), token, view);
          if (!error.empty()) return error;
          if (view.unavailable_size() > 0) {
            return absl::StrCat("OK, ", view.unavailable(0).part(), " unavailable (", view.unavailable(0).code(), ")");
          }
          if (view.customer().name() != customer || rows(view) != kExpectedRows) return "OK, incomplete view";
          return std::string();
        });
      });
  r.SetLoad(result);
  return r;
}

}  // namespace crm::bench
