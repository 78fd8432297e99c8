// Fault: lost updates. Many clients read-modify-write one customer through
// the gateway at once, each adding 1 to its employee_count with the etag it
// read (AIP-154); a stale etag is refused with ABORTED and the client reads
// again. The final count must equal the number of acknowledged updates.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"
#include "tests/fault/fault_load.h"

namespace crm::fault {
namespace {

namespace cpb = ::crm::customers::v1;
using crm::testing::E2eContext;
using crm::testing::IsOk;
using crm::testing::ServiceSuite;

const auth::Principal kOwner{"mgr-fault-rmw", auth::Role::kManager, "east"};
constexpr int kClients = 12;
constexpr int kIncrementsEach = 15;

TEST(LostUpdateTest, ConcurrentEtagUpdatesOfOneRecordAllCount) {
  auto created = ServiceSuite::Create({.binaries = {CRM_CUSTOMERS_BINARY, CRM_OPPORTUNITIES_BINARY,
                                                    CRM_COMPLAINTS_BINARY, CRM_SCHEDULING_BINARY, CRM_GATEWAY_BINARY}});
  ASSERT_THAT(created, IsOk());
  ServiceSuite& suite = **created;
  // One principal makes every call here: lift its rate limit.
  suite.gateway().env()["CRM_RATE_LIMIT_PER_SECOND"] = "100000";
  suite.gateway().env()["CRM_RATE_LIMIT_BURST"] = "100000";
  ASSERT_THAT(suite.Start(), IsOk());

  cpb::CustomerService::Stub stub(suite.gateway().channel());
  cpb::CreateCustomerRequest create;
  create.set_request_id("fault-rmw-customer");
  create.mutable_customer()->set_kind(cpb::INDIVIDUAL);
  create.mutable_customer()->set_display_name("并发更新客户");
  cpb::Customer customer;
  grpc::Status s = stub.CreateCustomer(E2eContext(kOwner).get(), create, &customer);
  ASSERT_TRUE(s.ok()) << s.error_message();

  std::atomic<int64_t> calls{0}, acknowledged{0}, conflicts{0};
  absl::Mutex mu;
  std::vector<std::string> errors;
  const absl::Time started = absl::Now();
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      cpb::CustomerService::Stub client(suite.gateway().channel());
      int done = 0;
      while (done < kIncrementsEach) {
        cpb::GetCustomerRequest get;
        get.set_name(customer.name());
        cpb::Customer current;
        ++calls;
        grpc::Status read = client.GetCustomer(E2eContext(kOwner).get(), get, &current);
        cpb::UpdateCustomerRequest update;
        update.mutable_customer()->set_name(customer.name());
        update.mutable_customer()->set_etag(current.etag());
        update.mutable_customer()->set_employee_count(current.employee_count() + 1);
        update.mutable_update_mask()->add_paths("employee_count");
        cpb::Customer updated;
        grpc::Status write = read;
        if (read.ok()) {
          ++calls;
          write = client.UpdateCustomer(E2eContext(kOwner).get(), update, &updated);
        }
        if (write.ok()) {
          ++acknowledged;
          ++done;
        } else if (write.error_code() == grpc::StatusCode::ABORTED) {
          ++conflicts;  // someone else wrote since the read: read again
        } else {
          absl::MutexLock lock(&mu);
          errors.push_back(write.error_message());
          return;
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  const absl::Duration elapsed = absl::Now() - started;
  EXPECT_TRUE(errors.empty()) << absl::StrJoin(errors, "\n");

  cpb::GetCustomerRequest get;
  get.set_name(customer.name());
  cpb::Customer final_state;
  s = stub.GetCustomer(E2eContext(kOwner).get(), get, &final_state);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(acknowledged.load(), kClients * kIncrementsEach);
  EXPECT_EQ(final_state.employee_count(), acknowledged.load());
  // The clients really raced: some writes found the etag moved.
  EXPECT_GT(conflicts.load(), 0);

  const int64_t lost = acknowledged.load() - final_state.employee_count();
  PrintFaultTable({{.scenario = "etag read-modify-write, 12 clients",
                    .calls_per_second = static_cast<double>(calls.load()) / absl::ToDoubleSeconds(elapsed),
                    .faults = 0,
                    .acknowledged = acknowledged.load(),
                    .verified = final_state.employee_count() == acknowledged.load() ? acknowledged.load() : 0,
                    .lost = lost > 0 ? lost : 0,
                    .duplicated = lost < 0 ? -lost : 0}});
  std::printf("stale-etag refusals (ABORTED, read again): %lld\n", static_cast<long long>(conflicts.load()));
}

}  // namespace
}  // namespace crm::fault
