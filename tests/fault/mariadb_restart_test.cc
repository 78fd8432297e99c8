// Fault: MariaDB stopped and started again under a steady mixed load through
// the gateway. The suite runs on a private MariaDB of this test (common/
// testing PrivateMariaDb, deploy/local/mariadb.sh in a temp folder), so the
// shared fixture that other tests use is never disturbed. While it is down
// every service reports NOT_SERVING; once it is back they report SERVING
// again by themselves, the load goes on, and nothing acknowledged is lost or
// duplicated.
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_join.h"
#include "common/testing/status_matchers.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"
#include "tests/fault/fault_load.h"

namespace crm::fault {
namespace {

using crm::testing::IsOk;
using crm::testing::Service;
using crm::testing::ServiceSuite;
using Health = grpc::health::v1::HealthCheckResponse;

constexpr Service kWithDatabase[] = {Service::kCustomers, Service::kOpportunities, Service::kComplaints,
                                     Service::kScheduling};

bool All(const ServiceSuite& suite, Health::ServingStatus status) {
  for (Service s : kWithDatabase) {
    if (HealthOf(suite.process(s)) != status) return false;
  }
  return true;
}

TEST(MariaDbRestartTest, ServicesGoNotServingRecoverAndLoseNothing) {
  auto mariadb = testing::PrivateMariaDb::Start();
  ASSERT_THAT(mariadb, IsOk());
  auto created = ServiceSuite::Create({.binaries = {CRM_CUSTOMERS_BINARY, CRM_OPPORTUNITIES_BINARY,
                                                    CRM_COMPLAINTS_BINARY, CRM_SCHEDULING_BINARY, CRM_GATEWAY_BINARY},
                                       .mariadb = mariadb->get()});
  ASSERT_THAT(created, IsOk());
  ServiceSuite& suite = **created;
  ASSERT_THAT(suite.Start(), IsOk());
  ASSERT_TRUE(All(suite, Health::SERVING));

  MixedLoad load({.gateway = suite.gateway().channel(), .workers = 4, .tag = "mariadb"});
  load.Start();
  ASSERT_TRUE(load.WaitForAcknowledged(60, absl::Seconds(60))) << "the load did not get going";

  ASSERT_THAT((*mariadb)->Stop(), IsOk());
  EXPECT_TRUE(Eventually([&] { return All(suite, Health::NOT_SERVING); }, absl::Seconds(20)))
      << "not every service reported NOT_SERVING with its database down";
  EXPECT_TRUE(load.WaitForFailedAttempts(5, absl::Seconds(20)));

  ASSERT_THAT((*mariadb)->Restart(), IsOk());
  EXPECT_TRUE(Eventually([&] { return All(suite, Health::SERVING); }, absl::Seconds(30)))
      << "not every service came back to SERVING";
  EXPECT_TRUE(load.WaitForAcknowledged(60, absl::Seconds(60)))
      << "no progress after the restart\n" << absl::StrJoin(load.error_samples(), "\n");
  const MixedLoad::Verification v = StopAndVerify(load, suite);
  PrintLoadFigures("MariaDB stopped and restarted", 1, load, v);
}

}  // namespace
}  // namespace crm::fault
