#pragma once
// A real complaints server for integration tests: MariaDB schema from the
// migrations (with the event tables) and the seeded policy table, the gRPC
// handler and the event feed on a loopback port, calling a customers
// service at `customers_target`. Tokens use the customers test
// environment's key, so one token works for both services; the clock is
// fake. The breach job is not started: tests sweep when they choose.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/auth/principal.h"
#include "common/auth/token_verifier.h"
#include "common/calendar/working_calendar.h"
#include "common/db/pool.h"
#include "common/events/feed_service.h"
#include "common/server/server.h"
#include "common/util/clock.h"
#include "common/util/page_token.h"
#include "crm/complaints/v1/complaints.grpc.pb.h"
#include "crm/events/v1/events.grpc.pb.h"
#include "services/complaints/src/complaint_handler.h"
#include "services/complaints/src/mysql_complaint_repository.h"

namespace crm::complaints::testing {

// 2027-01-01T00:00:00Z, a Friday (08:00 in Shanghai); the customers test
// server starts at the same time.
inline const absl::Time kStart = absl::FromUnixSeconds(1798761600);

class ComplaintsServer {
 public:
  static std::unique_ptr<ComplaintsServer> Start(const db::DbConfig& db, const std::string& customers_target);
  ~ComplaintsServer();

  FakeClock& clock() { return clock_; }
  pb::ComplaintService::Stub& stub() { return *stub_; }
  // For generic calls (raw request bytes) to the same server.
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  db::ConnectionPool& pool() { return *pool_; }
  MysqlComplaintRepository& repository() { return *repo_; }
  ComplaintService& service() { return *service_; }

  // While set, customer lookups answer UNAVAILABLE as if the customers
  // service were down (the e2e test stops the real process instead).
  void set_customers_down(bool down);

  // Every event on this service's feed.
  std::vector<events::v1::Event> Events();

  // A context with a token for the principal (valid at both services'
  // clocks for 200 days) and a 20 s deadline.
  static std::unique_ptr<grpc::ClientContext> As(auth::Role role, const std::string& subject,
                                                 const std::string& team = "east");
  static std::string Token(auth::Role role, const std::string& subject, const std::string& team = "east");

 private:
  ComplaintsServer();
  FakeClock clock_;
  calendar::WorkingCalendar calendar_;
  std::unique_ptr<db::ConnectionPool> pool_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<PageTokenCodec> tokens_;
  class SwitchableStandings;
  std::unique_ptr<SwitchableStandings> customers_;
  std::unique_ptr<MysqlComplaintRepository> repo_;
  std::unique_ptr<ComplaintService> service_;
  std::unique_ptr<ComplaintHandler> handler_;
  std::unique_ptr<events::EventFeedService> feed_;
  std::unique_ptr<server::GrpcServer> server_;
  std::unique_ptr<pb::ComplaintService::Stub> stub_;
  std::unique_ptr<events::v1::EventFeed::Stub> feed_stub_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace crm::complaints::testing
