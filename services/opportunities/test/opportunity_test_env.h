#pragma once
// A real opportunities server for integration tests: MariaDB schema from
// the migrations (with the event tables), the gRPC handler and the event
// feed on a loopback port, calling a customers service at `customers_target`.
// Tokens use the customers test environment's key, so one token works for
// both services; the clock is fake.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "common/auth/principal.h"
#include "common/auth/token_verifier.h"
#include "common/calendar/working_calendar.h"
#include "common/db/pool.h"
#include "common/events/consumer.h"
#include "common/events/feed_service.h"
#include "common/server/server.h"
#include "common/util/clock.h"
#include "common/util/page_token.h"
#include "crm/opportunities/v1/opportunities.grpc.pb.h"
#include "services/opportunities/src/mysql_opportunity_repository.h"
#include "services/opportunities/src/opportunity_handler.h"

namespace crm::opportunities::testing {

// 2027-01-01T00:00:00Z, a Friday (08:00 in Shanghai); the customers test
// server starts at the same time.
inline const absl::Time kStart = absl::FromUnixSeconds(1798761600);

class OpportunitiesServer {
 public:
  static std::unique_ptr<OpportunitiesServer> Start(const db::DbConfig& db, const std::string& customers_target);
  ~OpportunitiesServer();

  FakeClock& clock() { return clock_; }
  pb::OpportunityService::Stub& stub() { return *stub_; }
  // For generic calls (raw request bytes) to the same server.
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  events::v1::EventFeed::Stub& feed() { return *feed_stub_; }
  db::ConnectionPool& pool() { return *pool_; }

  // A consumer of the customers service's feed at `customers_target` (not
  // started), applying events with this server's repository and clock and
  // a SERVICE token valid at the customers service's clock.
  std::unique_ptr<events::Consumer> FollowCustomers(const std::string& customers_target);

  // A context with a token for the principal (valid at both services'
  // clocks) and a 20 s deadline.
  static std::unique_ptr<grpc::ClientContext> As(auth::Role role, const std::string& subject,
                                                 const std::string& team = "east");

 private:
  OpportunitiesServer() : clock_(kStart) {}
  FakeClock clock_;
  calendar::WorkingCalendar calendar_;
  std::unique_ptr<db::ConnectionPool> pool_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<PageTokenCodec> tokens_;
  std::unique_ptr<CustomerDirectory> customers_;
  std::unique_ptr<MysqlOpportunityRepository> repo_;
  std::unique_ptr<OpportunityService> service_;
  std::unique_ptr<OpportunityHandler> handler_;
  std::unique_ptr<events::EventFeedService> feed_;
  std::unique_ptr<server::GrpcServer> server_;
  std::unique_ptr<pb::OpportunityService::Stub> stub_;
  std::unique_ptr<events::v1::EventFeed::Stub> feed_stub_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace crm::opportunities::testing
