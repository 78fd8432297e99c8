#pragma once
// The benchmark scenarios. Each returns a ScenarioResult; a scenario that
// cannot run (service down, bad credentials) reports its status and the
// others still run.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "bench/closed_loop.h"
#include "common/db/pool.h"
#include "crm/customers/v1/customers.pb.h"

namespace sql {
class Connection;
class Driver;
}  // namespace sql

namespace crm::bench {


struct BenchConfig {
  LoadOptions load;
  absl::Duration deadline = absl::Seconds(2);        // every unary call
  absl::Duration long_deadline = absl::Seconds(60);  // import stream, tier recompute
  std::string customers_address;
  std::string echo_address;
  int channels = 1;            // client connections per server
  std::string bearer_token;    // ADMIN token for the customers service
  // create_opportunity: the opportunities service, and a MANAGER token whose
  // subject owns the customers the opportunities are opened on.
  std::string opportunities_address;
  int opportunities_pid = 0;   // crm-opportunities: CPU per call
  std::string manager_token;
  std::string manager_subject = "bench-mgr";
  int opportunity_customers = 100;  // customers create_opportunity and record_complaint pick from
  // record_complaint: the complaints service (as the same MANAGER).
  std::string complaints_address;
  int complaints_pid = 0;      // crm-complaints: CPU per call
  // breach_sweep: a crm_complaints-schema database of the bench's own,
  // seeded with sweep_complaints open complaints (1 % of them due).
  db::DbConfig complaints_db;
  int sweep_complaints = 1000000;
  // book_visit_32_managers, book_visit_1_manager, plan_day_30: the
  // scheduling service; each manager books with its own MANAGER token
  // (manager_token_for mints one for any subject, team "bench").
  std::string scheduling_address;
  int scheduling_pid = 0;      // crm-scheduling: CPU per call
  std::function<std::string(const std::string& subject)> manager_token_for;
  // conflict_check_1m: the scheduling service's own database, into which
  // seed_visits visits of seed_managers managers are inserted, and how many
  // timed BookVisit calls go to each side (a seeded manager, an empty one).
  db::DbConfig scheduling_db;
  int seed_visits = 1000000;
  int seed_managers = 1000;
  int conflict_check_calls = 1000;
  // event_feed: a SERVICE token for the customers service's EventFeed, and
  // the consumer's own database (cursor and effect table).
  std::string service_token;
  db::DbConfig events_db;
  db::DbConfig db;
  // gateway_get_customer, gateway_http_get_customer, customer_360: crm-gateway's
  // gRPC front and its HTTP/JSON front (host:port).
  std::string gateway_address;
  std::string gateway_http_address;
  int gateway_pid = 0;         // crm-gateway: CPU per call
  int customers_360 = 100;     // customers customer_360 picks from (each with contacts, an opportunity, ...)
  int service_pid = 0;         // crm-customers: idle_rss, and CPU per call
  int echo_pid = 0;            // echo_server: CPU per call
  int mariadb_pid = 0;         // mariadbd: CPU per call
  int customer_set = 1000;     // customers GetCustomer / direct_select pick from
  int members = 100000;
  int members_per_message = 1000;
  int enterprises = 100000;    // active enterprises recompute_tiers ranks
  int echo_payload_bytes = 16;
};

// event_feed: events produced by a closed loop and applied by a consumer.
struct FeedResult {
  int64_t events = 0;             // applied by the consumer (sequence range of the run)
  int64_t effect_rows = 0;        // rows in the effect table for that range (must equal events)
  absl::Duration span;            // first event_time to the last effect commit
  double events_per_second = 0;   // events / span
  absl::Duration drain;           // end of the load to the last effect commit
  LatencySummary lag;             // event_time to the consumer's commit, per event
};

struct ScenarioResult {
  ScenarioResult(std::string name, std::string measures)
      : name(std::move(name)), measures(std::move(measures)) {}

  std::string name;       // flag name: "get_customer"
  std::string measures;   // one line: what was timed
  absl::Status status = absl::OkStatus();
  std::optional<LoadResult> load;          // closed-loop scenarios
  std::optional<absl::Duration> elapsed;   // one-shot scenarios
  std::optional<CpuUsage> cpu;             // one-shot scenarios: CPU during `elapsed`
  std::optional<double> rss_mib;           // idle_rss
  std::string note;                        // counts, set-up times
  std::optional<FeedResult> feed;          // event_feed
  // Counts the report's checks read ("overlapping stored visits").
  std::map<std::string, int64_t> counts;

  // Records a closed loop's outcome: its numbers, or why it failed.
  void SetLoad(const absl::StatusOr<LoadResult>& result) {
    if (result.ok()) {
      load = *result;
    } else {
      status = result.status();
    }
  }
};

class Bench {
 public:
  // `driver` comes from get_driver_instance() in main (not thread-safe).
  Bench(BenchConfig config, sql::Driver* driver);
  ~Bench();

  ScenarioResult IdleRss();
  ScenarioResult Echo();
  ScenarioResult GetCustomer();
  // GetCustomer through crm-gateway: its gRPC front (forwarded by method
  // name) and its HTTP/JSON front (GET /v1/customers/{id}, one keep-alive
  // connection per caller), on the same customers and callers as GetCustomer.
  ScenarioResult GatewayGetCustomer();
  ScenarioResult GatewayHttpGetCustomer();
  // GatewayService.GetCustomer360 through the gateway's gRPC front as a
  // MANAGER, over customers_360 of their customers, each with three
  // contacts, an open opportunity, an open complaint and an upcoming visit.
  ScenarioResult Customer360();
  ScenarioResult DirectSelect();
  // Diagnostic: DirectSelect the way the service's repository queries
  // (prepare, execute, read every column by name, close on every call).
  ScenarioResult DirectSelectEach();
  ScenarioResult CreateCustomer();
  // CreateOpportunity (with its GetCustomer call to the customers service)
  // on customers owned by the manager subject.
  ScenarioResult CreateOpportunity();
  // CreateCustomer for a fixed time with an events::Consumer applying the
  // customers service's feed into its own database; throughput and lag.
  ScenarioResult EventFeed();
  // RecordComplaint (with its GetCustomer call to the customers service) as
  // the manager, on the same customers as CreateOpportunity.
  ScenarioResult RecordComplaint();
  // BookVisit at `callers` closed-loop callers, each a different manager
  // booking consecutive non-overlapping visits for its own customers.
  ScenarioResult BookVisitManyManagers();
  // BookVisit at `callers` callers all booking for one manager (distinct
  // slots, serialised on the manager's lock); afterwards ListVisits checks
  // that no two stored visits of the manager overlap.
  ScenarioResult BookVisitOneManager();
  // Two results: BookVisit latency, one call at a time, for managers with
  // 1 000 of 1 000 000 seeded visits each and for managers with none.
  std::vector<ScenarioResult> ConflictCheck();
  // PlanDay with 30 candidates around two booked visits.
  ScenarioResult PlanDay30();
  // Two results: SweepDueClocks over sweep_complaints seeded open
  // complaints of which 1 % are due, in-process against complaints_db; then
  // a second sweep with nothing due.
  std::vector<ScenarioResult> BreachSweep();
  ScenarioResult DirectInsert();
  // Two results: the first import (all inserts) and a re-import of the same
  // members (all updates).
  std::vector<ScenarioResult> ImportMembers();
  // Two results: the first recompute over freshly seeded enterprises and a
  // second one with nothing changed.
  std::vector<ScenarioResult> RecomputeTiers();
  // VmRSS and VmHWM of the service after the load (informational).
  ScenarioResult RssAfterLoad();

 private:
  // Callers that each create new INDIVIDUALs owned by <owner_prefix><n>, with
  // request ids <request_prefix><serial> (create_customer and event_feed).
  CallerFactory CreateIndividualCaller(std::string owner_prefix, std::string request_prefix);
  // config_.load plus the processes whose CPU time is reported: the server
  // called, the service it calls in turn (server2), MariaDB and crm_bench.
  LoadOptions WithCpuWatch(int server_pid, int server2_pid = 0) const;
  // The same with any number of servers: "server", "server2", "server3", ...
  LoadOptions WithCpuWatchAll(const std::vector<int>& server_pids) const;
  // Callers of GetCustomer (ADMIN, random picks over customer_ids_) on `channels`.
  CallerFactory GetCustomerCallers(const std::vector<std::shared_ptr<grpc::Channel>>* channels);
  // GetCustomer of customers/{id} straight from crm-customers (checks).
  absl::StatusOr<customers::v1::Customer> DirectGetCustomer(int64_t id);
  // `count` enterprises owned by `owner`, created through the customers
  // service as `token`'s principal (8 in parallel); `adjust` changes each
  // sample before it is sent.
  absl::StatusOr<std::vector<std::string>> CreateEnterprisesAs(
      int count, const std::string& owner, const std::string& token,
      const std::function<void(customers::v1::Customer&)>& adjust = {});
  std::shared_ptr<grpc::Channel> SchedulingChannel(int caller) const;
  // Creates opportunity_customers enterprises owned by the manager subject
  // (once; create_opportunity and record_complaint share them) and returns
  // a note for the report on how they were set up.
  absl::StatusOr<std::string> EnsureManagerCustomers();
  absl::Status LoadCustomerIds();
  std::shared_ptr<grpc::Channel> CustomersChannel(int caller);
  void Authorize(grpc::ClientContext& context, absl::Duration deadline) const;
  void AuthorizeAs(grpc::ClientContext& context, absl::Duration deadline, const std::string& token) const;
  // One of manager_customers_, uniformly.
  const std::string& RandomManagerCustomer(std::mt19937_64& rng) const;
  // One unary call as the MANAGER: "" when it succeeded, else the code name.
  template <typename Stub, typename Request, typename Response>
  std::string CallAsManager(Stub& stub,
                            grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                            const Request& request) const;
  // The same with `token`, keeping the response.
  template <typename Stub, typename Request, typename Response>
  std::string CallWithToken(Stub& stub,
                            grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                            const Request& request, const std::string& token, Response& response) const;
  // Runs seed(connection, item, rng) for items 0 .. items-1 spread over
  // kSeedThreads connections to `db`, each with its own rng; the first
  // failure (named after `what`) stops the others and is returned.
  absl::Status SeedInParallel(const db::DbConfig& db, int64_t items, absl::string_view what,
                              const std::function<void(sql::Connection&, int64_t, std::mt19937_64&)>& seed) const;
  absl::StatusOr<std::unique_ptr<sql::Connection>> Connect() const;  // config_.db
  absl::StatusOr<std::unique_ptr<sql::Connection>> Connect(const db::DbConfig& db) const;
  // Creates customer_set enterprises through the service (once).
  absl::Status EnsureCustomerSet();
  // EnsureCustomerSet for the GetCustomer scenarios; the report's set-up note.
  absl::StatusOr<std::string> CustomerSetNote();
  absl::StatusOr<std::string> CreateEnterprise(uint64_t serial);
  // As `token`'s principal, owned by `owner`; `adjust` changes the sample.
  absl::StatusOr<std::string> CreateEnterpriseAs(uint64_t serial, const std::string& owner,
                                                 const std::string& token,
                                                 const std::function<void(customers::v1::Customer&)>& adjust = {});
  uint64_t NextSerial();

  const BenchConfig config_;
  sql::Driver* const driver_;
  std::vector<std::shared_ptr<grpc::Channel>> customers_channels_;
  std::vector<std::shared_ptr<grpc::Channel>> echo_channels_;
  std::vector<std::shared_ptr<grpc::Channel>> opportunities_channels_;
  std::vector<std::shared_ptr<grpc::Channel>> complaints_channels_;
  std::vector<std::shared_ptr<grpc::Channel>> scheduling_channels_;
  std::vector<std::shared_ptr<grpc::Channel>> gateway_channels_;
  std::vector<int64_t> customer_ids_;
  std::vector<std::string> manager_customers_;  // "customers/{id}" owned by manager_subject
  // Serials make credit codes, names and request ids unique; the base is
  // random so runs against the same database do not collide.
  const uint64_t serial_base_;
  std::atomic<uint64_t> next_serial_{0};
};

}  // namespace crm::bench
