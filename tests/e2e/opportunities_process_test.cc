// End to end across services: the real crm-customers and crm-opportunities
// binaries, each with its own database, configured by environment and
// spoken to over gRPC. The opportunities service looks the customer up in
// the customers service with the caller's identity, announces its changes
// on its event feed, and says clearly when the customers service is down.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include "crm/customers/v1/customers.grpc.pb.h"
#include "crm/events/v1/events.grpc.pb.h"
#include "crm/opportunities/v1/events.pb.h"
#include "crm/opportunities/v1/opportunities.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"

namespace crm {
namespace {

namespace cpb = ::crm::customers::v1;
namespace opb = ::crm::opportunities::v1;
using crm::testing::E2eContext;
using crm::testing::ServiceProcess;

const auth::Principal kOwner{"mgr-owner", auth::Role::kManager, "east"};
const auth::Principal kOther{"mgr-other", auth::Role::kManager, "east"};
const auth::Principal kService{"svc-e2e", auth::Role::kService, ""};

class OpportunitiesProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto customers = ServiceProcess::Create("customers", CRM_CUSTOMERS_BINARY);
    ASSERT_TRUE(customers.ok()) << customers.status();
    customers_ = std::move(*customers);
    ASSERT_TRUE(customers_->Start().ok()) << customers_->Log();

    auto opportunities = ServiceProcess::Create("opportunities", CRM_OPPORTUNITIES_BINARY);
    ASSERT_TRUE(opportunities.ok()) << opportunities.status();
    opportunities_ = std::move(*opportunities);
    opportunities_->env()["CRM_CUSTOMERS_ADDRESS"] = customers_->address();
    ASSERT_TRUE(opportunities_->Start().ok()) << opportunities_->Log();
  }

  absl::StatusOr<opb::Opportunity> CreateOpportunity(const std::string& customer,
                                                     const auth::Principal& as) {
    opb::CreateOpportunityRequest req;
    req.mutable_opportunity()->set_customer(customer);
    req.mutable_opportunity()->set_type(opb::INFO_SOLUTION);
    req.mutable_opportunity()->set_title("园区 5G 专网");
    req.mutable_opportunity()->mutable_amount()->set_currency_code("CNY");
    req.mutable_opportunity()->mutable_amount()->set_units(480000);
    opb::Opportunity out;
    grpc::Status s = opb::OpportunityService::NewStub(opportunities_->channel())
                         ->CreateOpportunity(E2eContext(as).get(), req, &out);
    if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    return out;
  }

  std::unique_ptr<ServiceProcess> customers_;
  std::unique_ptr<ServiceProcess> opportunities_;
};

TEST_F(OpportunitiesProcessTest, OpportunityFollowsTheCustomerAcrossServices) {
  cpb::CreateCustomerRequest create;
  create.mutable_customer()->set_kind(cpb::INDIVIDUAL);
  create.mutable_customer()->set_display_name("跨服务客户");
  cpb::Customer customer;
  ASSERT_TRUE(cpb::CustomerService::NewStub(customers_->channel())
                  ->CreateCustomer(E2eContext(kOwner).get(), create, &customer)
                  .ok());

  auto opportunity = CreateOpportunity(customer.name(), kOwner);
  ASSERT_TRUE(opportunity.ok()) << opportunity.status();
  EXPECT_EQ(opportunity->owner(), "mgr-owner");  // copied from the customers service
  EXPECT_EQ(opportunity->team(), "east");
  EXPECT_EQ(opportunity->stage(), opb::NEED_ANALYSIS);
  // The customers service answers for the caller: another manager cannot
  // see the customer, so cannot open an opportunity on it.
  EXPECT_EQ(CreateOpportunity(customer.name(), kOther).status().code(), absl::StatusCode::kNotFound);

  opb::MoveOpportunityStageRequest move;
  move.set_name(opportunity->name());
  move.set_stage(opb::SOLUTION);
  opb::Opportunity moved;
  grpc::Status s = opb::OpportunityService::NewStub(opportunities_->channel())
                       ->MoveOpportunityStage(E2eContext(kOwner).get(), move, &moved);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // The move is on the opportunities service's feed.
  events::v1::ListEventsRequest feed_req;
  events::v1::ListEventsResponse feed;
  ASSERT_TRUE(events::v1::EventFeed::NewStub(opportunities_->channel())
                  ->ListEvents(E2eContext(kService).get(), feed_req, &feed)
                  .ok());
  bool seen = false;
  for (const auto& e : feed.events()) {
    opb::OpportunityStageChanged changed;
    if (e.payload().UnpackTo(&changed) && changed.opportunity() == opportunity->name()) {
      EXPECT_EQ(e.producer(), "opportunities");
      EXPECT_EQ(changed.new_stage(), "SOLUTION");
      seen = true;
    }
  }
  EXPECT_TRUE(seen);

  // With the customers service gone the answer is a clear UNAVAILABLE, not
  // a hang or an internal error.
  ASSERT_TRUE(customers_->Stop(SIGKILL).has_value());
  const absl::Status down = CreateOpportunity(customer.name(), kOwner).status();
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(down.message().find("customers"), std::string::npos) << down.message();
}

}  // namespace
}  // namespace crm
