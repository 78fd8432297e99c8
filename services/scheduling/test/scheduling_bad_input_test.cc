// Malformed requests to the scheduling service over real gRPC against
// MariaDB (issue 8, "Bad input"), with the real customers service
// in-process: each row is refused with INVALID_ARGUMENT naming its field
// (RESOURCE_EXHAUSTED for size) and neither database changes.
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/testing/bad_input.h"
#include "common/testing/status_matchers.h"
#include "common/util/proto_time.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/customers/test/customer_test_env.h"
#include "services/customers/test/service_with_customers.h"
#include "services/scheduling/test/scheduling_test_env.h"

namespace crm::scheduling {
namespace {

namespace cpb = ::crm::customers::v1;
namespace ctest = ::crm::customers::testing;
using ::crm::testing::BadInputTable;
using ::crm::testing::IsOk;
using ::crm::testing::kYear10000;
using auth::Role;
using testing::kStart;
using testing::SchedulingServer;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class SchedulingBadInputTest : public customers::testing::ServiceWithCustomers<SchedulingServer> {
 protected:
  // mgr-wang owns the test customer; tokens are valid at both fake clocks.
  std::unique_ptr<grpc::ClientContext> Manager() const { return customers_->As(Role::kManager, "mgr-wang"); }
};

TEST_F(SchedulingBadInputTest, EveryMalformedRequestIsRefusedAndChangesNothing) {
  cpb::CreateCustomerRequest new_customer;
  *new_customer.mutable_customer() = ctest::Enterprise("福州日程坏输入有限公司", 1);
  cpb::Customer customer;
  ASSERT_TRUE(customers_->stub().CreateCustomer(Manager().get(), new_customer, &customer).ok());
  auto& stub = server_->stub();
  // Two visits (a listing has a second page), the next two mornings.
  pb::BookVisitRequest book;
  book.mutable_visit()->set_customer(customer.name());
  book.mutable_visit()->set_purpose(pb::COURTESY);
  ToProto(kStart + absl::Hours(26), book.mutable_visit()->mutable_start_time());
  ToProto(kStart + absl::Hours(27), book.mutable_visit()->mutable_end_time());
  book.mutable_visit()->add_checklist()->set_text("带续约方案");
  pb::Visit visit;
  ASSERT_TRUE(stub.BookVisit(Manager().get(), book, &visit).ok());
  ToProto(kStart + absl::Hours(50), book.mutable_visit()->mutable_start_time());
  ToProto(kStart + absl::Hours(51), book.mutable_visit()->mutable_end_time());
  ASSERT_TRUE(stub.BookVisit(Manager().get(), book, &visit).ok());
  pb::ListVisitsRequest first_page;
  first_page.set_page_size(1);
  pb::ListVisitsResponse page;
  ASSERT_TRUE(stub.ListVisits(Manager().get(), first_page, &page).ok());
  const std::string foreign_token = page.next_page_token();  // a genuine token of another query
  ASSERT_FALSE(foreign_token.empty());

  // The valid requests every row starts from.
  ToProto(kStart + absl::Hours(74), book.mutable_visit()->mutable_start_time());
  ToProto(kStart + absl::Hours(75), book.mutable_visit()->mutable_end_time());
  book.set_request_id("bad-input-visit-3");
  pb::GetVisitRequest get;
  get.set_name(visit.name());
  pb::UpdateVisitRequest update;
  update.mutable_visit()->set_name(visit.name());
  update.mutable_visit()->set_place("客户总部三楼");
  update.mutable_update_mask()->add_paths("place");
  pb::ListVisitsRequest list;
  list.set_customer(customer.name());
  pb::CancelVisitRequest cancel;
  cancel.set_name(visit.name());
  cancel.set_reason("客户改期");
  pb::PlanDayRequest plan;
  plan.mutable_date()->set_year(2027);
  plan.mutable_date()->set_month(1);
  plan.mutable_date()->set_day(4);
  plan.add_candidates(customer.name());
  pb::CreateUrgentTaskRequest urgent;
  urgent.set_customer(customer.name());
  urgent.set_kind(pb::URGENT_CARD_SERVICE);
  urgent.set_title("补办卡");
  pb::ListTasksRequest tasks;
  pb::AddWorkLogEntryRequest log;
  log.mutable_entry()->mutable_date()->set_year(2027);
  log.mutable_entry()->mutable_date()->set_month(1);
  log.mutable_entry()->mutable_date()->set_day(1);
  log.mutable_entry()->set_text("走访两家客户");
  log.mutable_entry()->set_minutes(120);
  pb::CreateExpenseClaimRequest claim;
  claim.mutable_claim()->set_month("2027-01");
  pb::ExportCalendarRequest export_calendar;

  BadInputTable t("crm.scheduling.v1.SchedulingService");
  using Book = pb::BookVisitRequest;
  t.AddBadNames("BookVisit", book, "visit.customer", customer.name());
  t.AddUnknownEnum("BookVisit", book, "visit.purpose");
  t.Add("purpose unspecified", "BookVisit", book, [](Book& r) { r.mutable_visit()->clear_purpose(); },
        "visit.purpose");
  t.Add("start missing", "BookVisit", book, [](Book& r) { r.mutable_visit()->clear_start_time(); },
        "visit.start_time");
  t.Add("end before start", "BookVisit", book,
        [](Book& r) { r.mutable_visit()->mutable_end_time()->set_seconds(r.visit().start_time().seconds() - 60); },
        "visit.end_time");
  t.Add("longer than 24 hours", "BookVisit", book,
        [](Book& r) {
          r.mutable_visit()->mutable_end_time()->set_seconds(r.visit().start_time().seconds() + 25 * 3600);
        },
        "visit.end_time");
  t.Add("start and end in year 10000", "BookVisit", book,
        [](Book& r) {
          r.mutable_visit()->mutable_start_time()->set_seconds(kYear10000);
          r.mutable_visit()->mutable_end_time()->set_seconds(kYear10000 + 3600);
        },
        "visit.start_time");
  t.Add("start nanos negative", "BookVisit", book,
        [](Book& r) { r.mutable_visit()->mutable_start_time()->set_nanos(-1); }, "visit.start_time");
  t.Add("latitude NaN", "BookVisit", book,
        [](Book& r) { r.mutable_visit()->mutable_location()->set_latitude(kNaN); }, "visit.location.latitude");
  t.Add("longitude 181", "BookVisit", book,
        [](Book& r) { r.mutable_visit()->mutable_location()->set_longitude(181); }, "visit.location.longitude");
  t.AddTooLong("BookVisit", book, "visit.place", 500);
  t.Add("checklist text of 501 bytes", "BookVisit", book,
        [](Book& r) { r.mutable_visit()->mutable_checklist(0)->set_text(std::string(501, 'x')); },
        "visit.checklist[0].text");
  t.Add("checklist text empty", "BookVisit", book,
        [](Book& r) { r.mutable_visit()->mutable_checklist(0)->clear_text(); }, "visit.checklist[0].text");
  t.AddBadNames("BookVisit", book, "visit.contact", customer.name() + "/contacts/3", /*optional=*/true);
  t.Add("contact of another customer", "BookVisit", book,
        [](Book& r) { r.mutable_visit()->set_contact("customers/999/contacts/1"); }, "visit.contact");
  t.AddTooLong("BookVisit", book, "request_id", 64);
  t.AddInvalidUtf8("BookVisit", book, "visit.place");
  t.AddOversize("BookVisit", book, "visit.place");

  t.AddBadNames("GetVisit", get, "name", visit.name());
  using Update = pb::UpdateVisitRequest;
  t.AddBadNames("UpdateVisit", update, "visit.name", visit.name());
  for (const char* path : {"", "customer", "owner", "status", "team", "name", "no_such_field"}) {
    t.Add(absl::StrCat("update_mask \"", path, "\""), "UpdateVisit", update,
          [path](Update& r) { r.mutable_update_mask()->add_paths(path); }, "update_mask");
  }
  t.AddTooLong("UpdateVisit", update, "visit.place", 500);
  t.AddBadPaging("ListVisits", list, foreign_token);
  t.AddUnknownEnum("ListVisits", list, "status");
  t.AddBadNames("ListVisits", list, "customer", customer.name(), /*optional=*/true);
  t.AddTooLong("ListVisits", list, "owner", 100);
  t.Add("list window in year 10000", "ListVisits", list,
        [](pb::ListVisitsRequest& r) {
          r.mutable_start_time()->set_seconds(kYear10000);
          r.mutable_end_time()->set_seconds(kYear10000 + 3600);
        },
        "start_time");
  t.AddBadNames("CancelVisit", cancel, "name", visit.name());
  t.Add("cancel reason empty", "CancelVisit", cancel, [](pb::CancelVisitRequest& r) { r.clear_reason(); },
        "reason");
  t.AddTooLong("CancelVisit", cancel, "reason", 1000);

  using Plan = pb::PlanDayRequest;
  t.Add("plan date 30 February", "PlanDay", plan,
        [](Plan& r) {
          r.mutable_date()->set_month(2);
          r.mutable_date()->set_day(30);
        },
        "date");
  t.Add("no candidates", "PlanDay", plan, [](Plan& r) { r.clear_candidates(); }, "candidates");
  t.Add("candidate not a name", "PlanDay", plan, [](Plan& r) { r.add_candidates("customers/1; DROP"); },
        "candidates[1]");
  t.Add("candidate twice", "PlanDay", plan, [](Plan& r) { r.add_candidates(r.candidates(0)); }, "candidates[1]");
  t.Add("visit minutes negative", "PlanDay", plan, [](Plan& r) { r.set_visit_minutes(-1); }, "visit_minutes");
  t.Add("day window reversed", "PlanDay", plan,
        [](Plan& r) {
          r.set_day_start_minute(600);
          r.set_day_end_minute(500);
        },
        "day_end_minute");
  t.Add("home latitude NaN", "PlanDay", plan, [](Plan& r) { r.mutable_home()->set_latitude(kNaN); }, "home");

  using Urgent = pb::CreateUrgentTaskRequest;
  t.AddBadNames("CreateUrgentTask", urgent, "customer", customer.name());
  t.AddUnknownEnum("CreateUrgentTask", urgent, "kind");
  t.Add("kind not urgent", "CreateUrgentTask", urgent,
        [](Urgent& r) { r.set_kind(pb::COMPLAINT_REVISIT); }, "kind");
  t.Add("title empty", "CreateUrgentTask", urgent, [](Urgent& r) { r.clear_title(); }, "title");
  t.AddTooLong("CreateUrgentTask", urgent, "title", 500);
  t.Add("received in year 10000", "CreateUrgentTask", urgent,
        [](Urgent& r) { r.mutable_receive_time()->set_seconds(kYear10000); }, "receive_time");
  t.AddBadPaging("ListTasks", tasks, foreign_token);
  t.AddUnknownEnum("ListTasks", tasks, "state");
  t.AddUnknownEnum("ListTasks", tasks, "kind");
  t.AddTooLong("ListTasks", tasks, "source", 200);

  using Log = pb::AddWorkLogEntryRequest;
  t.Add("log minutes negative", "AddWorkLogEntry", log, [](Log& r) { r.mutable_entry()->set_minutes(-1); },
        "entry.minutes");
  t.Add("log minutes beyond a day", "AddWorkLogEntry", log,
        [](Log& r) { r.mutable_entry()->set_minutes(std::numeric_limits<int32_t>::max()); }, "entry.minutes");
  t.Add("log date month 13", "AddWorkLogEntry", log, [](Log& r) { r.mutable_entry()->mutable_date()->set_month(13); },
        "entry.date");
  t.Add("log text empty", "AddWorkLogEntry", log, [](Log& r) { r.mutable_entry()->clear_text(); }, "entry.text");
  t.AddTooLong("AddWorkLogEntry", log, "entry.text", 4000);
  t.AddBadNames("AddWorkLogEntry", log, "entry.customer", customer.name(), /*optional=*/true);
  using Claim = pb::CreateExpenseClaimRequest;
  for (const char* month : {"", "2027-13", "2027-1", "'; DROP TABLE x; --", "2099-01"}) {
    t.Add(absl::StrCat("claim month \"", month, "\""), "CreateExpenseClaim", claim,
          [month](Claim& r) { r.mutable_claim()->set_month(month); }, "claim.month");
  }
  t.Add("claim currency lower case", "CreateExpenseClaim", claim,
        [](Claim& r) { r.mutable_claim()->set_currency_code("cny"); }, "claim.currency_code");
  t.Add("calendar end before start", "ExportCalendar", export_calendar,
        [](pb::ExportCalendarRequest& r) {
          ToProto(kStart, r.mutable_start_time());
          ToProto(kStart - absl::Hours(1), r.mutable_end_time());
        },
        "end_time");
  t.Add("calendar window in year 10000", "ExportCalendar", export_calendar,
        [](pb::ExportCalendarRequest& r) {
          r.mutable_start_time()->set_seconds(kYear10000);
          r.mutable_end_time()->set_seconds(kYear10000 + 3600);
        },
        "start_time");

  ExpectAllRefusedChangingNothing(t, [this] { return Manager(); });

  // The unchanged requests the rows started from are valid.
  EXPECT_TRUE(stub.BookVisit(Manager().get(), book, &visit).ok());
  EXPECT_TRUE(stub.UpdateVisit(Manager().get(), update, &visit).ok());
  pb::DayPlan day_plan;
  EXPECT_TRUE(stub.PlanDay(Manager().get(), plan, &day_plan).ok());
  pb::Task task;
  // Valid input that meets SCH-7's rule: no GOVERNMENT contact is known here
  // (contacts arrive with the customers service's events).
  const grpc::Status urgent_status = stub.CreateUrgentTask(Manager().get(), urgent, &task);
  EXPECT_EQ(urgent_status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << urgent_status.error_message();
  EXPECT_THAT(urgent_status.error_message(), ::testing::HasSubstr("GOVERNMENT"));
  pb::WorkLogEntry entry;
  EXPECT_TRUE(stub.AddWorkLogEntry(Manager().get(), log, &entry).ok());
  pb::ExpenseClaim created_claim;
  EXPECT_TRUE(stub.CreateExpenseClaim(Manager().get(), claim, &created_claim).ok());
  pb::CalendarExport calendar;
  EXPECT_TRUE(stub.ExportCalendar(Manager().get(), export_calendar, &calendar).ok());
}

}  // namespace
}  // namespace crm::scheduling
