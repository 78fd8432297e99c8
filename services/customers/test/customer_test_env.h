#pragma once
// A real customers server for integration tests: MariaDB schema from the
// migrations, the gRPC handler on a loopback port, and clients that carry
// freshly minted tokens. The clock is fake so time-based rules are tested
// without waiting.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/auth/principal.h"
#include "common/auth/token_verifier.h"
#include "common/db/pool.h"
#include "common/events/feed_service.h"
#include "common/server/server.h"
#include "common/util/clock.h"
#include "common/util/page_token.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "services/customers/src/customer_handler.h"
#include "services/customers/src/mysql_customer_repository.h"

namespace crm::customers::testing {

inline constexpr char kTestKey[] = "integration-test-hs256-key-0123456789abcdef";
inline constexpr char kIssuer[] = "crm-test";
inline constexpr char kAudience[] = "crm";

class CustomersServer {
 public:
  // Applies the migrations to `db` and serves on 127.0.0.1:<free port>.
  static std::unique_ptr<CustomersServer> Start(const db::DbConfig& db);
  ~CustomersServer();

  int port() const { return port_; }
  FakeClock& clock() { return clock_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  pb::CustomerService::Stub& stub() { return *stub_; }
  // The service behind the server (for background work such as the
  // staleness sweep, which has no RPC), on the fake clock.
  CustomerService& service() { return *service_; }

  // A context with a valid token for the principal and a 20 s deadline.
  std::unique_ptr<grpc::ClientContext> As(auth::Role role, const std::string& subject,
                                          const std::string& team = "east") const;
  std::unique_ptr<grpc::ClientContext> WithToken(const std::string& token) const;
  std::string Token(auth::Role role, const std::string& subject, const std::string& team,
                    absl::Time now, absl::Duration ttl) const;

  // Every event on the service's feed (crm.events.v1.EventFeed), read as a
  // SERVICE caller.
  std::vector<events::v1::Event> Events() const;

 private:
  CustomersServer() : clock_(absl::FromUnixSeconds(1798761600)) {}  // 2027-01-01T00:00:00Z
  FakeClock clock_;
  std::unique_ptr<db::ConnectionPool> pool_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<PageTokenCodec> tokens_;
  std::unique_ptr<MysqlCustomerRepository> repo_;
  std::unique_ptr<CustomerService> service_;
  std::unique_ptr<CustomerHandler> handler_;
  std::unique_ptr<events::EventFeedService> feed_;
  std::unique_ptr<server::GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::CustomerService::Stub> stub_;
  int port_ = 0;
};

// What every service's test server shares (the other services' test
// environments use them too, so one token works across services): a
// verifier for kTestKey/kIssuer/kAudience at `clock`, and server options for
// 127.0.0.1 on a free port with fast health probes and a short grace.
std::unique_ptr<auth::TokenVerifier> NewTestVerifier(const Clock& clock);
server::ServerOptions TestServerOptions();

// A test server started with TestServerOptions(), and a channel to it.
struct StartedServer {
  std::unique_ptr<server::GrpcServer> server;  // null when it did not start (a test failure is recorded)
  std::shared_ptr<grpc::Channel> channel;
  int port = 0;
};
// Serves `services`; health reports `health_names` SERVING while
// `readiness` holds (always, by default).
StartedServer StartTestServer(std::vector<grpc::Service*> services, std::vector<std::string> health_names,
                              std::function<absl::Status()> readiness = [] { return absl::OkStatus(); });

// A valid enterprise with a unique, valid credit code for sequence `n`.
pb::Customer Enterprise(const std::string& display_name, int n);
// An INDIVIDUAL as the repository receives it from CreateCustomer: active,
// owned by mgr-li of team east (the service sets these from the caller).
pb::Customer RepositoryIndividual(const std::string& display_name);
// GB 32100 check character appended to 17 characters.
std::string WithCheckDigit(const std::string& first17);

}  // namespace crm::customers::testing
