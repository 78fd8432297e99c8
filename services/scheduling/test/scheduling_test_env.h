#pragma once
// A real scheduling server for tests: MariaDB schema from the migrations
// (with the event tables) and the seeded care policies, the gRPC handler
// on a loopback port, looking customers up in a customers service at
// `customers_channel`. Tokens use the customers test environment's key;
// the clock is fake and starts at kStart.

#include <grpcpp/grpcpp.h>

#include <memory>

#include "common/auth/token_verifier.h"
#include "common/calendar/working_calendar.h"
#include "common/db/pool.h"
#include "common/server/server.h"
#include "common/util/clock.h"
#include "common/util/page_token.h"
#include "services/scheduling/src/customer_sites.h"
#include "services/scheduling/src/mysql_scheduling_store.h"
#include "services/scheduling/src/scheduling_handler.h"

namespace crm::scheduling::testing {

// 2027-01-01T00:00:00Z, a Friday, 08:00 in Shanghai (the customers test
// server's start too).
inline const absl::Time kStart = absl::FromUnixSeconds(1798761600);

class SchedulingServer {
 public:
  static std::unique_ptr<SchedulingServer> Start(const db::DbConfig& db,
                                                 std::shared_ptr<grpc::Channel> customers_channel);
  ~SchedulingServer();

  FakeClock& clock() { return clock_; }
  db::ConnectionPool& pool() { return *pool_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  pb::SchedulingService::Stub& stub() { return *stub_; }

 private:
  SchedulingServer() : clock_(kStart) {}
  FakeClock clock_;
  const calendar::WorkingCalendar calendar_{};
  std::unique_ptr<db::ConnectionPool> pool_;
  std::unique_ptr<MysqlSchedulingStore> store_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<PageTokenCodec> tokens_;
  std::unique_ptr<CustomerSites> sites_;
  std::unique_ptr<SchedulingService> service_;
  std::unique_ptr<SchedulingHandler> handler_;
  std::unique_ptr<server::GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::SchedulingService::Stub> stub_;
};

}  // namespace crm::scheduling::testing
