// Malformed requests to every unary customers RPC over real gRPC against
// MariaDB (issue 8, "Bad input"): each row is refused with INVALID_ARGUMENT
// naming its field (RESOURCE_EXHAUSTED for size) and the database is
// unchanged afterwards. SQL metacharacters are stored and searched
// literally. ImportMembers (client streaming) validates per row; its bad
// rows are covered by the integration test's import case.
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "common/testing/bad_input.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_database.h"
#include "gtest/gtest.h"
#include "services/customers/test/customer_test_env.h"

namespace crm::customers {
namespace {

using ::crm::customers::testing::CustomersServer;
using ::crm::customers::testing::Enterprise;
using ::crm::testing::BadInputTable;
using ::crm::testing::IsOk;
using auth::Role;
using ::testing::ElementsAre;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

class CustomersBadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = crm::testing::TestDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_.emplace(std::move(*db));
    server_ = CustomersServer::Start(db_->config());
    ASSERT_NE(server_, nullptr);
    pool_ = std::make_unique<db::ConnectionPool>(db_->config());
  }

  std::unique_ptr<grpc::ClientContext> Admin() const { return server_->As(Role::kAdmin, "admin", "east"); }

  absl::StatusOr<pb::Customer> Create(const pb::Customer& c) {
    pb::CreateCustomerRequest req;
    *req.mutable_customer() = c;
    pb::Customer out;
    grpc::Status s = server_->stub().CreateCustomer(server_->As(Role::kManager, "mgr-li").get(), req, &out);
    if (!s.ok()) return FromGrpcStatus(s);
    return out;
  }

  std::vector<std::string> NamesContaining(const std::string& text) {
    pb::ListCustomersRequest req;
    req.set_name_contains(text);
    pb::ListCustomersResponse resp;
    grpc::Status s = server_->stub().ListCustomers(server_->As(Role::kManager, "mgr-li").get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> names;
    for (const pb::Customer& c : resp.customers()) names.push_back(c.display_name());
    return names;
  }

  std::optional<crm::testing::TestDatabase> db_;
  std::unique_ptr<CustomersServer> server_;
  std::unique_ptr<db::ConnectionPool> pool_;
};

TEST_F(CustomersBadInputTest, EveryMalformedRequestIsRefusedAndChangesNothing) {
  // Two customers (so a listing has a second page) and a contact to aim at.
  auto company = Create(Enterprise("福州坏输入测试有限公司", 1));
  ASSERT_THAT(company, IsOk());
  ASSERT_THAT(Create(Enterprise("厦门坏输入测试有限公司", 2)), IsOk());
  pb::CreateContactRequest contact_req;
  contact_req.set_parent(company->name());
  contact_req.mutable_contact()->set_display_name("张经理");
  contact_req.mutable_contact()->set_role(pb::KEY_PERSON);
  contact_req.mutable_contact()->set_phone("13800001111");
  pb::Contact contact;
  ASSERT_TRUE(server_->stub().CreateContact(Admin().get(), contact_req, &contact).ok());
  pb::ListCustomersRequest first_page;
  first_page.set_page_size(1);
  pb::ListCustomersResponse page;
  ASSERT_TRUE(server_->stub().ListCustomers(Admin().get(), first_page, &page).ok());
  const std::string foreign_token = page.next_page_token();  // a genuine token of ListCustomers
  ASSERT_FALSE(foreign_token.empty());

  // The valid requests every row starts from (sent unchanged at the end).
  pb::CreateCustomerRequest create;
  *create.mutable_customer() = Enterprise("泉州坏输入测试有限公司", 3);
  create.mutable_customer()->set_owner("mgr-li");
  create.set_request_id("bad-input-create-1");
  pb::UpdateCustomerRequest update;
  update.mutable_customer()->set_name(company->name());
  update.mutable_customer()->set_display_name("福州坏输入测试（新）有限公司");
  update.mutable_update_mask()->add_paths("display_name");
  pb::GetCustomerRequest get;
  get.set_name(company->name());
  pb::ListCustomersRequest list;
  list.set_industry("制造业");  // its tokens belong to another query than foreign_token
  pb::ArchiveCustomerRequest archive;
  archive.set_name(company->name());
  archive.set_etag("stale-etag-so-nothing-is-archived-by-mistake");
  pb::VerifyCustomerRequest verify;
  verify.set_name(company->name());
  verify.set_fields_checked(10);
  verify.set_fields_corrected(1);
  pb::ListCustomerChangesRequest changes;
  changes.set_customer(company->name());
  pb::CreateContactRequest create_contact = contact_req;
  create_contact.set_request_id("bad-input-contact-1");
  pb::GetContactRequest get_contact;
  get_contact.set_name(contact.name());
  pb::UpdateContactRequest update_contact;
  update_contact.mutable_contact()->set_name(contact.name());
  update_contact.mutable_contact()->set_title("总经理");
  update_contact.mutable_update_mask()->add_paths("title");
  pb::ListContactsRequest list_contacts;
  list_contacts.set_parent(company->name());
  pb::DeleteContactRequest delete_contact;
  delete_contact.set_name(contact.name());
  pb::ListMembersRequest list_members;
  list_members.set_parent(company->name());
  pb::UpdateValueModelRequest value_model;
  value_model.mutable_value_model()->set_revenue_weight(0.6);
  value_model.mutable_update_mask()->add_paths("revenue_weight");
  pb::RecomputeTiersRequest recompute;
  recompute.set_reason("bad input test");
  pb::ListTierChangesRequest tier_changes;
  tier_changes.set_customer(company->name());
  pb::ListStaleCustomersRequest stale;
  pb::GetDataQualityReportRequest quality;
  pb::RecordChurnSignalRequest churn;
  churn.set_parent(company->name());
  churn.mutable_signal()->set_kind(pb::REVENUE_DROP);
  churn.mutable_signal()->set_magnitude(0.3);
  churn.mutable_signal()->set_note("营收下降 30%");
  pb::ListChurnSignalsRequest list_churn;
  list_churn.set_parent(company->name());
  pb::SetRetentionStageRequest retention;
  retention.set_name(company->name());
  retention.set_stage(pb::PRE_CHURN);
  pb::CreateCompetitiveReportRequest report;
  report.mutable_report()->set_period("2027-01");
  report.mutable_report()->set_competitor_strategy("友商推出 5G 专线五折");
  pb::ListCompetitiveReportsRequest list_reports;
  pb::AssessRiskToleranceRequest risk;
  risk.set_name(company->name());
  for (int a : {3, 3, 3, 3, 3}) risk.add_answer_scores(a);

  BadInputTable t("crm.customers.v1.CustomerService");
  using Create = pb::CreateCustomerRequest;
  // CreateCustomer: empty, over-long (column widths in schema/V001), enums, numbers, formats.
  t.Add("display_name empty", "CreateCustomer", create, [](Create& r) { r.mutable_customer()->clear_display_name(); },
        "customer.display_name");
  t.Add("display_name blank", "CreateCustomer", create,
        [](Create& r) { r.mutable_customer()->set_display_name(" \t "); }, "customer.display_name");
  t.Add("display_name of 67 Chinese characters (201 bytes)", "CreateCustomer", create,
        [](Create& r) {
          std::string name;
          for (int i = 0; i < 67; ++i) name += "客";
          r.mutable_customer()->set_display_name(name);
        },
        "customer.display_name");
  t.AddTooLong("CreateCustomer", create, "customer.display_name", 200);
  t.AddTooLong("CreateCustomer", create, "customer.industry", 100);
  t.AddTooLong("CreateCustomer", create, "customer.address", 500);
  t.AddTooLong("CreateCustomer", create, "customer.owner", 100);
  t.AddTooLong("CreateCustomer", create, "customer.it_usage_notes", 20000);
  t.AddTooLong("CreateCustomer", create, "customer.competitor_notes", 20000);
  t.AddTooLong("CreateCustomer", create, "request_id", 64);
  t.Add("request_id not printable ASCII", "CreateCustomer", create, [](Create& r) { r.set_request_id("请求 1"); },
        "request_id");
  t.Add("customer missing", "CreateCustomer", create, [](Create& r) { r.clear_customer(); }, "customer");
  t.Add("kind unspecified", "CreateCustomer", create,
        [](Create& r) { r.mutable_customer()->set_kind(pb::CUSTOMER_KIND_UNSPECIFIED); }, "customer.kind");
  t.AddUnknownEnum("CreateCustomer", create, "customer.kind");
  t.AddUnknownEnum("CreateCustomer", create, "customer.status");
  t.Add("status ARCHIVED on create", "CreateCustomer", create,
        [](Create& r) { r.mutable_customer()->set_status(pb::ARCHIVED); }, "customer.status");
  t.AddUnknownEnum("CreateCustomer", create, "customer.aml_rating");
  t.Add("revenue negative", "CreateCustomer", create,
        [](Create& r) { r.mutable_customer()->mutable_annual_revenue()->set_units(-1); }, "customer.annual_revenue");
  t.Add("revenue nanos beyond a unit", "CreateCustomer", create,
        [](Create& r) { r.mutable_customer()->mutable_annual_revenue()->set_nanos(1000000000); },
        "customer.annual_revenue");
  t.Add("revenue most negative int64", "CreateCustomer", create,
        [](Create& r) {
          r.mutable_customer()->mutable_annual_revenue()->set_units(std::numeric_limits<int64_t>::min());
        },
        "customer.annual_revenue");
  t.Add("revenue currency lower case", "CreateCustomer", create,
        [](Create& r) { r.mutable_customer()->mutable_annual_revenue()->set_currency_code("cny"); },
        "customer.annual_revenue.currency_code");
  t.Add("revenue in US dollars", "CreateCustomer", create,
        [](Create& r) { r.mutable_customer()->mutable_annual_revenue()->set_currency_code("USD"); },
        "customer.annual_revenue.currency_code");
  t.Add("employee_count negative", "CreateCustomer", create,
        [](Create& r) { r.mutable_customer()->set_employee_count(-1); }, "customer.employee_count");
  t.Add("latitude 91", "CreateCustomer", create,
        [](Create& r) { r.mutable_customer()->mutable_location()->set_latitude(91); }, "customer.location.latitude");
  t.Add("latitude NaN", "CreateCustomer", create,
        [](Create& r) { r.mutable_customer()->mutable_location()->set_latitude(kNaN); },
        "customer.location.latitude");
  t.Add("longitude infinite", "CreateCustomer", create,
        [](Create& r) { r.mutable_customer()->mutable_location()->set_longitude(-kInf); },
        "customer.location.longitude");
  t.Add("longitude NaN", "CreateCustomer", create,
        [](Create& r) { r.mutable_customer()->mutable_location()->set_longitude(kNaN); },
        "customer.location.longitude");
  t.Add("credit code check digit wrong", "CreateCustomer", create,
        [](Create& r) {
          std::string code = r.customer().credit_code();
          code[17] = code[17] == '0' ? '1' : '0';
          r.mutable_customer()->set_credit_code(code);
        },
        "customer.credit_code");
  t.Add("credit code SQL", "CreateCustomer", create,
        [](Create& r) { r.mutable_customer()->set_credit_code("'; DROP TABLE customers; --"); },
        "customer.credit_code");
  t.Add("qualification rating unknown", "CreateCustomer", create,
        [](Create& r) { r.mutable_customer()->set_qualification_rating("AAAA"); }, "customer.qualification_rating");
  t.Add("phone not a number", "CreateCustomer", create, [](Create& r) { r.mutable_customer()->set_phone("%_%"); },
        "customer.phone");
  t.AddInvalidUtf8("CreateCustomer", create, "customer.display_name");
  t.AddOversize("CreateCustomer", create, "customer.it_usage_notes");

  // GetCustomer, ArchiveCustomer: resource names.
  t.AddBadNames("GetCustomer", get, "name", company->name());
  t.AddBadNames("ArchiveCustomer", archive, "name", company->name());
  t.AddInvalidUtf8("GetCustomer", get, "name");

  // UpdateCustomer: names, masks naming unknown, immutable or output-only fields, values.
  using Update = pb::UpdateCustomerRequest;
  t.AddBadNames("UpdateCustomer", update, "customer.name", company->name());
  t.Add("update_mask empty", "UpdateCustomer", update, [](Update& r) { r.clear_update_mask(); }, "update_mask");
  for (const char* path : {"no_such_field", "name", "kind", "tier", "etag", "create_time", "customer.display_name",
                           "display_name.x", "*", ""}) {
    t.Add(absl::StrCat("update_mask \"", path, "\""), "UpdateCustomer", update,
          [path](Update& r) { r.mutable_update_mask()->add_paths(path); }, "update_mask");
  }
  t.Add("display_name emptied", "UpdateCustomer", update,
        [](Update& r) { r.mutable_customer()->clear_display_name(); }, "customer.display_name");
  t.AddTooLong("UpdateCustomer", update, "customer.display_name", 200);
  t.Add("status 999", "UpdateCustomer", update,
        [](Update& r) {
          r.mutable_customer()->set_status(static_cast<pb::CustomerStatus>(999));
          r.mutable_update_mask()->add_paths("status");
        },
        "customer.status");
  t.Add("status unspecified", "UpdateCustomer", update,
        [](Update& r) { r.mutable_update_mask()->add_paths("status"); }, "customer.status");
  t.Add("team of 101 bytes", "UpdateCustomer", update,
        [](Update& r) {
          r.mutable_customer()->set_team(std::string(101, 't'));
          r.mutable_update_mask()->add_paths("team");
        },
        "customer.team");
  t.Add("revenue in US dollars", "UpdateCustomer", update,
        [](Update& r) {
          auto* revenue = r.mutable_customer()->mutable_annual_revenue();
          revenue->set_currency_code("USD");
          revenue->set_units(1000000);
          r.mutable_update_mask()->add_paths("annual_revenue");
        },
        "customer.annual_revenue.currency_code");
  t.Add("employee_count most negative", "UpdateCustomer", update,
        [](Update& r) {
          r.mutable_customer()->set_employee_count(std::numeric_limits<int64_t>::min());
          r.mutable_update_mask()->add_paths("employee_count");
        },
        "customer.employee_count");
  t.AddOversize("UpdateCustomer", update, "customer.competitor_notes");

  // ListCustomers: paging, enums, filters.
  t.AddBadPaging("ListCustomers", list, foreign_token);
  t.AddUnknownEnum("ListCustomers", list, "tier");
  t.AddUnknownEnum("ListCustomers", list, "status");
  t.AddUnknownEnum("ListCustomers", list, "kind");
  t.AddTooLong("ListCustomers", list, "name_contains", 200);
  t.AddTooLong("ListCustomers", list, "industry", 100);
  t.AddTooLong("ListCustomers", list, "owner", 100);
  t.AddInvalidUtf8("ListCustomers", list, "name_contains");

  // VerifyCustomer: negative and inconsistent counts.
  using Verify = pb::VerifyCustomerRequest;
  t.AddBadNames("VerifyCustomer", verify, "name", company->name());
  t.Add("fields_checked negative", "VerifyCustomer", verify,
        [](Verify& r) { r.set_fields_checked(std::numeric_limits<int32_t>::min()); }, "fields_checked");
  t.Add("fields_corrected negative", "VerifyCustomer", verify, [](Verify& r) { r.set_fields_corrected(-1); },
        "fields_corrected");
  t.Add("fields_corrected above fields_checked", "VerifyCustomer", verify,
        [](Verify& r) { r.set_fields_corrected(std::numeric_limits<int32_t>::max()); }, "fields_corrected");

  t.AddBadNames("ListCustomerChanges", changes, "customer", company->name());
  t.AddBadPaging("ListCustomerChanges", changes, foreign_token);

  // Contacts.
  using CreateContact = pb::CreateContactRequest;
  t.AddBadNames("CreateContact", create_contact, "parent", company->name());
  t.Add("contact missing", "CreateContact", create_contact, [](CreateContact& r) { r.clear_contact(); },
        "contact");
  t.Add("contact display_name empty", "CreateContact", create_contact,
        [](CreateContact& r) { r.mutable_contact()->clear_display_name(); }, "contact.display_name");
  t.AddTooLong("CreateContact", create_contact, "contact.display_name", 100);
  t.AddTooLong("CreateContact", create_contact, "contact.title", 100);
  t.AddTooLong("CreateContact", create_contact, "contact.hobbies", 5000);
  t.AddTooLong("CreateContact", create_contact, "contact.family_notes", 5000);
  t.AddTooLong("CreateContact", create_contact, "request_id", 64);
  t.AddUnknownEnum("CreateContact", create_contact, "contact.role");
  t.Add("contact role unspecified", "CreateContact", create_contact,
        [](CreateContact& r) { r.mutable_contact()->clear_role(); }, "contact.role");
  t.Add("VIP with level 999", "CreateContact", create_contact,
        [](CreateContact& r) {
          r.mutable_contact()->set_role(pb::VIP);
          r.mutable_contact()->set_vip_level(static_cast<pb::VipLevel>(999));
        },
        "contact.vip_level");
  t.Add("contact phone empty", "CreateContact", create_contact,
        [](CreateContact& r) { r.mutable_contact()->clear_phone(); }, "contact.phone");
  t.Add("contact phone SQL", "CreateContact", create_contact,
        [](CreateContact& r) { r.mutable_contact()->set_phone("1' OR '1'='1"); }, "contact.phone");
  t.Add("birthday 30 February", "CreateContact", create_contact,
        [](CreateContact& r) {
          auto* d = r.mutable_contact()->mutable_birthday();
          d->set_year(1980);
          d->set_month(2);
          d->set_day(30);
        },
        "contact.birthday");
  t.Add("birthday month -1", "CreateContact", create_contact,
        [](CreateContact& r) {
          auto* d = r.mutable_contact()->mutable_birthday();
          d->set_year(1980);
          d->set_month(-1);
          d->set_day(1);
        },
        "contact.birthday");
  t.AddInvalidUtf8("CreateContact", create_contact, "contact.hobbies");
  t.AddOversize("CreateContact", create_contact, "contact.family_notes");
  t.AddBadNames("GetContact", get_contact, "name", contact.name());
  using UpdateContact = pb::UpdateContactRequest;
  t.AddBadNames("UpdateContact", update_contact, "contact.name", contact.name());
  t.Add("contact update_mask empty", "UpdateContact", update_contact,
        [](UpdateContact& r) { r.clear_update_mask(); }, "update_mask");
  t.Add("contact update_mask \"name\"", "UpdateContact", update_contact,
        [](UpdateContact& r) { r.mutable_update_mask()->add_paths("name"); }, "update_mask");
  t.Add("contact update_mask \"etag\"", "UpdateContact", update_contact,
        [](UpdateContact& r) { r.mutable_update_mask()->add_paths("etag"); }, "update_mask");
  t.Add("contact role 999 by mask", "UpdateContact", update_contact,
        [](UpdateContact& r) {
          r.mutable_contact()->set_role(static_cast<pb::ContactRole>(999));
          r.mutable_update_mask()->add_paths("role");
        },
        "contact.role");
  t.AddTooLong("UpdateContact", update_contact, "contact.title", 100);
  t.AddBadNames("ListContacts", list_contacts, "parent", company->name());
  t.AddBadPaging("ListContacts", list_contacts, foreign_token);
  t.AddUnknownEnum("ListContacts", list_contacts, "role");
  t.AddBadNames("DeleteContact", delete_contact, "name", contact.name());
  t.AddBadNames("ListMembers", list_members, "parent", company->name());
  t.AddBadPaging("ListMembers", list_members, foreign_token);

  // Value model and tiers.
  using ValueModel = pb::UpdateValueModelRequest;
  t.Add("value model update_mask \"etag\"", "UpdateValueModel", value_model,
        [](ValueModel& r) { r.mutable_update_mask()->add_paths("etag"); }, "update_mask");
  t.Add("value model update_mask empty", "UpdateValueModel", value_model,
        [](ValueModel& r) { r.clear_update_mask(); }, "update_mask");
  t.Add("revenue_weight negative", "UpdateValueModel", value_model,
        [](ValueModel& r) { r.mutable_value_model()->set_revenue_weight(-0.1); }, "value_model.revenue_weight");
  t.Add("revenue_weight NaN", "UpdateValueModel", value_model,
        [](ValueModel& r) { r.mutable_value_model()->set_revenue_weight(kNaN); }, "value_model.revenue_weight");
  t.Add("revenue_weight infinite", "UpdateValueModel", value_model,
        [](ValueModel& r) { r.mutable_value_model()->set_revenue_weight(kInf); }, "value_model.revenue_weight");
  t.AddTooLong("RecomputeTiers", recompute, "reason", 200);
  t.AddBadNames("ListTierChanges", tier_changes, "customer", company->name(), /*optional=*/true);
  t.AddBadPaging("ListTierChanges", tier_changes, foreign_token);
  t.AddBadPaging("ListStaleCustomers", stale, foreign_token);
  t.AddTooLong("ListStaleCustomers", stale, "owner", 100);
  t.Add("quality report owner and team", "GetDataQualityReport", quality,
        [](pb::GetDataQualityReportRequest& r) {
          r.set_owner("mgr-li");
          r.set_team("east");
        },
        "team");
  t.AddTooLong("GetDataQualityReport", quality, "owner", 100);

  // Churn and retention.
  using Churn = pb::RecordChurnSignalRequest;
  t.AddBadNames("RecordChurnSignal", churn, "parent", company->name());
  t.AddUnknownEnum("RecordChurnSignal", churn, "signal.kind");
  t.Add("signal kind unspecified", "RecordChurnSignal", churn,
        [](Churn& r) { r.mutable_signal()->clear_kind(); }, "signal.kind");
  t.Add("magnitude negative", "RecordChurnSignal", churn, [](Churn& r) { r.mutable_signal()->set_magnitude(-1); },
        "signal.magnitude");
  t.Add("magnitude NaN", "RecordChurnSignal", churn, [](Churn& r) { r.mutable_signal()->set_magnitude(kNaN); },
        "signal.magnitude");
  t.Add("magnitude infinite", "RecordChurnSignal", churn,
        [](Churn& r) { r.mutable_signal()->set_magnitude(kInf); }, "signal.magnitude");
  t.AddTooLong("RecordChurnSignal", churn, "signal.note", 5000);
  t.AddTooLong("RecordChurnSignal", churn, "request_id", 64);
  t.AddBadNames("ListChurnSignals", list_churn, "parent", company->name());
  t.AddBadPaging("ListChurnSignals", list_churn, foreign_token);
  t.AddBadNames("SetRetentionStage", retention, "name", company->name());
  t.AddUnknownEnum("SetRetentionStage", retention, "stage");
  t.Add("stage unspecified", "SetRetentionStage", retention,
        [](pb::SetRetentionStageRequest& r) { r.clear_stage(); }, "stage");

  // Competitive reports.
  using Report = pb::CreateCompetitiveReportRequest;
  for (const char* period : {"", "2027-13", "2027-00", "1999-12", "2027-1", "2027/01", "'; DROP TABLE x; --"}) {
    t.Add(absl::StrCat("period \"", period, "\""), "CreateCompetitiveReport", report,
          [period](Report& r) { r.mutable_report()->set_period(period); }, "report.period");
  }
  t.Add("competitor_strategy empty", "CreateCompetitiveReport", report,
        [](Report& r) { r.mutable_report()->clear_competitor_strategy(); }, "report.competitor_strategy");
  t.AddTooLong("CreateCompetitiveReport", report, "report.competitor_strategy", 20000);
  t.AddTooLong("CreateCompetitiveReport", report, "report.industry_trends", 20000);
  t.AddBadPaging("ListCompetitiveReports", list_reports, foreign_token);
  t.AddTooLong("ListCompetitiveReports", list_reports, "author", 100);
  t.Add("list period not a month", "ListCompetitiveReports", list_reports,
        [](pb::ListCompetitiveReportsRequest& r) { r.set_period("2027-13"); }, "period");

  // Risk tolerance questionnaire.
  using Risk = pb::AssessRiskToleranceRequest;
  t.AddBadNames("AssessRiskTolerance", risk, "name", company->name());
  t.Add("four answers", "AssessRiskTolerance", risk, [](Risk& r) { r.mutable_answer_scores()->RemoveLast(); },
        "answer_scores");
  t.Add("answer 6", "AssessRiskTolerance", risk, [](Risk& r) { r.set_answer_scores(2, 6); }, "answer_scores[2]");
  t.Add("answer most negative int32", "AssessRiskTolerance", risk,
        [](Risk& r) { r.set_answer_scores(0, std::numeric_limits<int32_t>::min()); }, "answer_scores[0]");

  crm::testing::ExpectAllRefusedChangingNothing(t, server_->channel(), [this] { return Admin(); }, {pool_.get()});
  RecordProperty("rows", static_cast<int>(t.rows().size()));

  // The unchanged requests the rows started from are valid.
  pb::Customer customer;
  EXPECT_TRUE(server_->stub().CreateCustomer(Admin().get(), create, &customer).ok());
  EXPECT_TRUE(server_->stub().UpdateCustomer(Admin().get(), update, &customer).ok());
  EXPECT_TRUE(server_->stub().VerifyCustomer(Admin().get(), verify, &customer).ok());
  EXPECT_TRUE(server_->stub().CreateContact(Admin().get(), create_contact, &contact).ok());
  pb::ChurnSignal signal;
  EXPECT_TRUE(server_->stub().RecordChurnSignal(Admin().get(), churn, &signal).ok());
  pb::CompetitiveReport filed;
  EXPECT_TRUE(server_->stub().CreateCompetitiveReport(Admin().get(), report, &filed).ok());
  pb::ValueModel model;
  EXPECT_TRUE(server_->stub().UpdateValueModel(Admin().get(), value_model, &model).ok());
}

TEST_F(CustomersBadInputTest, SqlMetacharactersAreStoredAndSearchedLiterally) {
  const std::vector<std::string> names = {"'; DROP TABLE customers; --", "百分之百%公司", "下划线_公司",
                                          R"(反斜杠\公司)", "普通公司", R"(" OR 1=1 #)"};
  int n = 10;
  for (const std::string& name : names) {
    pb::Customer c = Enterprise(name, n++);
    c.set_industry("' OR '1'='1");
    auto created = Create(c);
    ASSERT_THAT(created, IsOk()) << name;
    EXPECT_EQ(created->display_name(), name);
    EXPECT_EQ(created->industry(), "' OR '1'='1");
  }
  // Each metacharacter matches only the name that holds it.
  EXPECT_THAT(NamesContaining("%"), ElementsAre("百分之百%公司"));
  EXPECT_THAT(NamesContaining("_"), ElementsAre("下划线_公司"));
  EXPECT_THAT(NamesContaining("\\"), ElementsAre(R"(反斜杠\公司)"));
  EXPECT_THAT(NamesContaining("'"), ElementsAre("'; DROP TABLE customers; --"));
  EXPECT_THAT(NamesContaining("%公司"), ElementsAre("百分之百%公司"));
  EXPECT_THAT(NamesContaining("' OR '1'='1"), ::testing::IsEmpty());
  EXPECT_THAT(NamesContaining("公司"), ::testing::SizeIs(4));
  // An equality filter with SQL in it is a value, not SQL.
  pb::ListCustomersRequest by_industry;
  by_industry.set_industry("' OR '1'='1");
  pb::ListCustomersResponse resp;
  ASSERT_TRUE(server_->stub().ListCustomers(Admin().get(), by_industry, &resp).ok());
  EXPECT_EQ(resp.customers_size(), static_cast<int>(names.size()));
  by_industry.set_industry("制造业' OR '1'='1");
  ASSERT_TRUE(server_->stub().ListCustomers(Admin().get(), by_industry, &resp).ok());
  EXPECT_EQ(resp.customers_size(), 0);
}

}  // namespace
}  // namespace crm::customers
