// The gateway's views against an in-process fake customers service, the
// other backends pointing at a closed port: the parts assemble from what
// answered, the rest is marked unavailable, the customer's own refusal is
// the whole view's answer, the caller's token and request id reach the
// backend; and the dashboard's figures come from the owning reports.
#include "services/gateway/src/views.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/client/client.h"
#include "common/util/clock.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::gateway {
namespace {

namespace gw = crm::gateway::v1;
namespace cpb = crm::customers::v1;
using ::testing::ElementsAre;

class FakeCustomers final : public cpb::CustomerService::Service {
 public:
  grpc::Status GetCustomer(grpc::ServerContext* context, const cpb::GetCustomerRequest* request,
                           cpb::Customer* response) override {
    Remember(*context);
    if (request->name() != "customers/7") return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such customer");
    response->set_name(request->name());
    response->set_display_name("测试客户");
    return grpc::Status::OK;
  }
  grpc::Status ListContacts(grpc::ServerContext* context, const cpb::ListContactsRequest* request,
                            cpb::ListContactsResponse* response) override {
    Remember(*context);
    for (int i = 1; i <= 2; ++i) response->add_contacts()->set_name(absl::StrCat(request->parent(), "/contacts/", i));
    response->set_next_page_token("more");
    return grpc::Status::OK;
  }

  std::vector<std::string> seen() const {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

 private:
  void Remember(const grpc::ServerContext& context) {
    absl::MutexLock lock(&mu_);
    for (const char* key : {"authorization", "x-request-id"}) {
      auto it = context.client_metadata().find(key);
      seen_.push_back(it == context.client_metadata().end() ? "" : std::string(it->second.data(), it->second.size()));
    }
  }
  mutable absl::Mutex mu_;
  std::vector<std::string> seen_;
};

class ViewsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&customers_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    // Nothing listens on the others' port: their parts must be unavailable.
    const std::string closed = "127.0.0.1:1";
    backends_ = std::make_unique<Backends>(std::vector<Backend>{
        {"customers", "crm.customers.v1", absl::StrCat("127.0.0.1:", port),
         client::MakeChannel(absl::StrCat("127.0.0.1:", port))},
        {"opportunities", "crm.opportunities.v1", closed, client::MakeChannel(closed)},
        {"complaints", "crm.complaints.v1", closed, client::MakeChannel(closed)},
        {"scheduling", "crm.scheduling.v1", closed, client::MakeChannel(closed)}});
    views_ = std::make_unique<Views>(*backends_, clock_, ViewsOptions{});
  }
  void TearDown() override { server_->Shutdown(); }

  Outbound Caller() const {
    return {.authorization = "Bearer t0k3n",
            .request_id = "req-1",
            .subject = "mgr-1",
            .deadline = std::chrono::system_clock::now() + std::chrono::seconds(20)};
  }

  template <typename Request, typename Response>
  grpc::Status Run(void (Views::*method)(const Outbound&, const Request&, Response*, Views::Done) const,
                   const Request& request, Response* response) {
    grpc::Status result;
    absl::Notification done;
    (views_.get()->*method)(Caller(), request, response, [&](const grpc::Status& s) {
      result = s;
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  FakeCustomers customers_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Backends> backends_;
  std::unique_ptr<Views> views_;
};

TEST_F(ViewsTest, Customer360AssemblesWhatAnsweredAndMarksTheRest) {
  gw::GetCustomer360Request request;
  request.set_name("customers/7");
  gw::Customer360 view;
  const grpc::Status status = Run(&Views::GetCustomer360, request, &view);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(view.customer().display_name(), "测试客户");
  ASSERT_EQ(view.contacts_size(), 2);
  EXPECT_EQ(view.contacts(1).name(), "customers/7/contacts/2");
  EXPECT_THAT(view.truncated(), ElementsAre("contacts"));
  std::vector<std::string> parts;
  for (const gw::UnavailablePart& p : view.unavailable()) {
    parts.push_back(absl::StrCat(p.part(), "@", p.service(), ":", p.code()));
  }
  EXPECT_THAT(parts, ElementsAre("due_tasks@scheduling:UNAVAILABLE", "open_complaints@complaints:UNAVAILABLE",
                                 "open_opportunities@opportunities:UNAVAILABLE", "pipeline@opportunities:UNAVAILABLE",
                                 "upcoming_visits@scheduling:UNAVAILABLE"));
  EXPECT_EQ(view.as_of().seconds(), 1'800'000'000);
  // The backend saw the caller's token and request id on both calls.
  EXPECT_THAT(customers_.seen(), ElementsAre("Bearer t0k3n", "req-1", "Bearer t0k3n", "req-1"));
}

TEST_F(ViewsTest, Customer360IsTheCustomersRefusal) {
  gw::GetCustomer360Request request;
  request.set_name("customers/8");
  gw::Customer360 view;
  EXPECT_EQ(Run(&Views::GetCustomer360, request, &view).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ViewsTest, BadInputIsRefusedBeforeAnyCall) {
  gw::GetCustomer360Request request;
  request.set_name("contacts/7");
  gw::Customer360 view;
  EXPECT_EQ(Run(&Views::GetCustomer360, request, &view).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  request.set_name("customers/7");
  request.set_horizon_days(91);
  EXPECT_EQ(Run(&Views::GetCustomer360, request, &view).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  gw::GetDashboardRequest dashboard_request;
  dashboard_request.set_owner("mgr-1");
  dashboard_request.set_team("east");
  gw::Dashboard dashboard;
  EXPECT_EQ(Run(&Views::GetDashboard, dashboard_request, &dashboard).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  dashboard_request.clear_team();
  dashboard_request.set_period(crm::scheduling::v1::WEEK);
  dashboard_request.mutable_period_start()->set_year(2026);
  dashboard_request.mutable_period_start()->set_month(11);
  dashboard_request.mutable_period_start()->set_day(24);  // a Tuesday
  EXPECT_EQ(Run(&Views::GetDashboard, dashboard_request, &dashboard).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(customers_.seen().empty());
}

TEST_F(ViewsTest, SuiteHealthNamesTheServicesThatDoNotAnswer) {
  gw::SuiteHealth health;
  ASSERT_TRUE(Run(&Views::GetSuiteHealth, gw::GetSuiteHealthRequest(), &health).ok());
  EXPECT_EQ(health.status(), "NOT_SERVING");
  ASSERT_EQ(health.services_size(), 4);
  // The fake registers no health service: it answers, but UNIMPLEMENTED.
  for (const gw::ServiceHealth& s : health.services()) {
    EXPECT_EQ(s.status(), "UNKNOWN") << s.service();
    EXPECT_FALSE(s.error().empty()) << s.service();
  }
}

TEST(DashboardFiguresTest, TakesEachFigureFromItsOwningReport) {
  gw::Dashboard d;
  d.set_owner("mgr-1");
  d.mutable_work()->set_care_coverage(0.75);
  d.mutable_work()->set_visits_planned(4);
  auto* mine = d.mutable_sla()->add_managers();
  mine->set_owner("mgr-1");
  mine->mutable_figures()->set_first_response_decided(4);
  mine->mutable_figures()->set_first_response_compliance(0.5);
  mine->mutable_figures()->set_closed(2);
  mine->mutable_figures()->set_revisit_rate(1.0);
  mine->mutable_figures()->set_revisits(2);
  mine->mutable_figures()->set_average_satisfaction(4.5);
  auto* other = d.mutable_sla()->add_managers();
  other->set_owner("mgr-2");
  other->mutable_figures()->set_resolution_decided(1);
  other->mutable_figures()->set_resolution_compliance(1.0);
  auto* line = d.mutable_pipeline()->add_totals();
  line->set_currency_code("CNY");
  line->mutable_weighted_amount()->set_units(50000);
  for (auto [owner, customers, completeness, stale] :
       {std::tuple{"mgr-1", 3, 1.0, 1}, std::tuple{"mgr-1", 1, 0.2, 1}, std::tuple{"mgr-2", 10, 0.0, 10}}) {
    auto* m = d.mutable_data_quality()->add_managers();
    m->set_owner(owner);
    m->set_customers(customers);
    m->set_average_completeness(completeness);
    m->set_stale_customers(stale);
  }
  FillDashboardFigures(d);
  const gw::DashboardFigures& f = d.figures();
  EXPECT_DOUBLE_EQ(f.care_coverage(), 0.75);
  EXPECT_EQ(f.visits_planned(), 4);
  EXPECT_DOUBLE_EQ(f.first_response_compliance(), 0.5);
  EXPECT_FALSE(f.has_resolution_compliance());  // mgr-1 has no decided resolution: no rate, not 0 %
  EXPECT_DOUBLE_EQ(f.revisit_rate(), 1.0);
  EXPECT_DOUBLE_EQ(f.average_satisfaction(), 4.5);
  ASSERT_EQ(f.weighted_pipeline_size(), 1);
  EXPECT_EQ(f.weighted_pipeline(0).weighted_amount().units(), 50000);
  EXPECT_DOUBLE_EQ(f.data_completeness(), (3 * 1.0 + 1 * 0.2) / 4);  // weighted by customers, mgr-1's rows only
  EXPECT_DOUBLE_EQ(f.data_freshness(), 0.5);

  // A part whose service did not answer gives no figure.
  auto* part = d.add_unavailable();
  part->set_part("work");
  FillDashboardFigures(d);
  EXPECT_FALSE(d.figures().has_care_coverage());
  EXPECT_FALSE(d.figures().has_visits_planned());
  EXPECT_TRUE(d.figures().has_revisit_rate());

  // A team's dashboard takes the team's row.
  gw::Dashboard team;
  team.set_team("east");
  auto* row = team.mutable_sla()->add_teams();
  row->set_team("east");
  row->mutable_figures()->set_resolution_decided(3);
  row->mutable_figures()->set_resolution_compliance(2.0 / 3);
  FillDashboardFigures(team);
  EXPECT_DOUBLE_EQ(team.figures().resolution_compliance(), 2.0 / 3);
}

}  // namespace
}  // namespace crm::gateway
