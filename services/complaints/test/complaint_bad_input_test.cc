// Malformed requests to the complaints service over real gRPC against
// MariaDB (issue 8, "Bad input"), with the real customers service
// in-process: each row is refused with INVALID_ARGUMENT naming its field
// (RESOURCE_EXHAUSTED for size) and neither database changes.
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "common/testing/bad_input.h"
#include "common/testing/status_matchers.h"
#include "common/util/proto_time.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/complaints/test/complaint_test_env.h"
#include "services/customers/test/customer_test_env.h"
#include "services/customers/test/service_with_customers.h"

namespace crm::complaints {
namespace {

namespace cpb = ::crm::customers::v1;
using ::crm::testing::BadInputTable;
using ::crm::testing::IsOk;
using ::crm::testing::kYear10000;
using auth::Role;
using testing::ComplaintsServer;
using testing::kStart;

class ComplaintsBadInputTest : public customers::testing::ServiceWithCustomers<ComplaintsServer> {
 protected:
  static std::unique_ptr<grpc::ClientContext> Admin() { return ComplaintsServer::As(Role::kAdmin, "admin"); }
};

TEST_F(ComplaintsBadInputTest, EveryMalformedRequestIsRefusedAndChangesNothing) {
  // A customer with two complaints (a listing has a second page) and a transfer.
  cpb::CreateCustomerRequest new_customer;
  *new_customer.mutable_customer() = customers::testing::Enterprise("福州投诉坏输入有限公司", 1);
  cpb::Customer customer;
  ASSERT_TRUE(customers_->stub()
                  .CreateCustomer(ComplaintsServer::As(Role::kManager, "mgr-wang").get(), new_customer, &customer)
                  .ok());
  auto& stub = server_->stub();
  pb::RecordComplaintRequest record;
  record.mutable_complaint()->set_customer(customer.name());
  record.mutable_complaint()->set_channel(pb::PHONE);
  record.mutable_complaint()->set_category(pb::NETWORK);
  record.mutable_complaint()->set_statement("专线中断");
  pb::Complaint complaint;
  ASSERT_TRUE(stub.RecordComplaint(Admin().get(), record, &complaint).ok());
  ASSERT_TRUE(stub.RecordComplaint(Admin().get(), record, &complaint).ok());
  pb::TransferComplaintRequest transfer;
  transfer.set_parent(complaint.name());
  transfer.mutable_transfer()->set_department("计费中心");
  transfer.mutable_transfer()->set_request("核对账单");
  ToProto(kStart + absl::Hours(24), transfer.mutable_transfer()->mutable_due_time());
  pb::Transfer transferred;
  ASSERT_TRUE(stub.TransferComplaint(Admin().get(), transfer, &transferred).ok());
  pb::ListComplaintsRequest first_page;
  first_page.set_page_size(1);
  pb::ListComplaintsResponse page;
  ASSERT_TRUE(stub.ListComplaints(Admin().get(), first_page, &page).ok());
  const std::string foreign_token = page.next_page_token();  // a genuine token of another query
  ASSERT_FALSE(foreign_token.empty());

  // The valid requests every row starts from.
  record.set_request_id("bad-input-record-1");
  transfer.set_request_id("bad-input-transfer-1");
  pb::GetComplaintRequest get;
  get.set_name(complaint.name());
  pb::UpdateComplaintRequest update;
  update.mutable_complaint()->set_name(complaint.name());
  update.mutable_complaint()->set_confirmed_statement("客户确认：专线中断两小时");
  update.mutable_update_mask()->add_paths("confirmed_statement");
  pb::ListComplaintsRequest list;
  list.set_open_only(true);
  pb::RespondToComplaintRequest respond;
  respond.set_name(complaint.name());
  respond.set_response("已安排工程师");
  pb::PauseComplaintClockRequest pause;
  pause.set_name(complaint.name());
  pause.set_reason("等待客户提供账单");
  pb::ListClockTransitionsRequest transitions;
  transitions.set_name(complaint.name());
  pb::CompleteTransferRequest complete;
  complete.set_name(transferred.name());
  complete.set_reply("账单无误");
  pb::ListTransfersRequest transfers;
  transfers.set_parent(complaint.name());
  pb::AddComplaintNoteRequest note;
  note.set_parent(complaint.name());
  note.set_text("客户来电催办");
  pb::ListTimelineRequest timeline;
  timeline.set_parent(complaint.name());
  pb::ProposeResolutionRequest propose;
  propose.set_name(complaint.name());
  propose.set_resolution("赠送一个月专线费");
  pb::RecordCustomerDecisionRequest decision;
  decision.set_name(complaint.name());
  decision.set_accepted(true);
  pb::RecordFaultFindingsRequest findings;
  findings.set_name(complaint.name());
  findings.mutable_findings()->set_cause("光缆被挖断");
  findings.mutable_findings()->set_fix("熔接");
  ToProto(kStart - absl::Hours(1), findings.mutable_findings()->mutable_restoration_time());
  pb::RecordRevisitRequest revisit;
  revisit.set_name(complaint.name());
  revisit.set_satisfaction(5);
  pb::UpdateSlaPolicyRequest policy;
  policy.mutable_policy()->set_name("slaPolicies/servicerequest-normal-regular-b");
  policy.mutable_policy()->mutable_resolution_target()->set_seconds(36 * 3600);
  policy.mutable_update_mask()->add_paths("resolution_target");
  pb::GetSlaComplianceReportRequest compliance;
  ToProto(kStart - absl::Hours(24 * 30), compliance.mutable_start_time());
  ToProto(kStart, compliance.mutable_end_time());
  pb::GetFaultAnalysisReportRequest faults;
  faults.set_customer(customer.name());
  *faults.mutable_start_time() = compliance.start_time();
  *faults.mutable_end_time() = compliance.end_time();

  BadInputTable t("crm.complaints.v1.ComplaintService");
  using Record = pb::RecordComplaintRequest;
  t.Add("complaint missing", "RecordComplaint", record, [](Record& r) { r.clear_complaint(); },
        "complaint.customer");
  t.AddBadNames("RecordComplaint", record, "complaint.customer", customer.name());
  t.AddBadNames("RecordComplaint", record, "complaint.contact", customer.name() + "/contacts/5", /*optional=*/true);
  t.Add("contact of another customer", "RecordComplaint", record,
        [](Record& r) { r.mutable_complaint()->set_contact("customers/999/contacts/1"); }, "complaint.contact");
  t.AddUnknownEnum("RecordComplaint", record, "complaint.kind");
  t.AddUnknownEnum("RecordComplaint", record, "complaint.channel");
  t.AddUnknownEnum("RecordComplaint", record, "complaint.category");
  t.AddUnknownEnum("RecordComplaint", record, "complaint.severity");
  t.AddUnknownEnum("RecordComplaint", record, "complaint.resolvability");
  t.Add("channel unspecified", "RecordComplaint", record,
        [](Record& r) { r.mutable_complaint()->clear_channel(); }, "complaint.channel");
  t.Add("category unspecified", "RecordComplaint", record,
        [](Record& r) { r.mutable_complaint()->clear_category(); }, "complaint.category");
  t.Add("statement empty", "RecordComplaint", record,
        [](Record& r) { r.mutable_complaint()->clear_statement(); }, "complaint.statement");
  t.AddTooLong("RecordComplaint", record, "complaint.statement", 4000);
  t.AddTooLong("RecordComplaint", record, "complaint.confirmed_statement", 4000);
  t.AddTooLong("RecordComplaint", record, "request_id", 64);
  t.Add("request_id with a quote", "RecordComplaint", record, [](Record& r) { r.set_request_id("a' b"); },
        "request_id");
  t.AddInvalidUtf8("RecordComplaint", record, "complaint.statement");
  t.AddOversize("RecordComplaint", record, "complaint.statement");

  t.AddBadNames("GetComplaint", get, "name", complaint.name());
  using Update = pb::UpdateComplaintRequest;
  t.AddBadNames("UpdateComplaint", update, "complaint.name", complaint.name());
  for (const char* path : {"", "customer", "status", "owner", "statement", "clocks", "no_such_field"}) {
    t.Add(absl::StrCat("update_mask \"", path, "\""), "UpdateComplaint", update,
          [path](Update& r) { r.mutable_update_mask()->add_paths(path); }, "update_mask");
  }
  t.Add("category 999 by mask", "UpdateComplaint", update,
        [](Update& r) {
          r.mutable_complaint()->set_category(static_cast<pb::Category>(999));
          r.mutable_update_mask()->add_paths("category");
        },
        "complaint.category");
  t.AddTooLong("UpdateComplaint", update, "complaint.confirmed_statement", 4000);

  t.AddBadPaging("ListComplaints", list, foreign_token);
  t.AddUnknownEnum("ListComplaints", list, "status");
  t.AddUnknownEnum("ListComplaints", list, "kind");
  t.AddBadNames("ListComplaints", list, "customer", customer.name(), /*optional=*/true);
  t.AddTooLong("ListComplaints", list, "owner", 100);

  t.AddBadNames("RespondToComplaint", respond, "name", complaint.name());
  t.Add("response empty", "RespondToComplaint", respond,
        [](pb::RespondToComplaintRequest& r) { r.clear_response(); }, "response");
  t.AddTooLong("RespondToComplaint", respond, "response", 4000);
  t.AddBadNames("PauseComplaintClock", pause, "name", complaint.name());
  t.AddTooLong("PauseComplaintClock", pause, "reason", 1000);
  t.AddBadNames("ListClockTransitions", transitions, "name", complaint.name());
  t.AddBadPaging("ListClockTransitions", transitions, foreign_token);

  using Transfer = pb::TransferComplaintRequest;
  t.AddBadNames("TransferComplaint", transfer, "parent", complaint.name());
  t.Add("department empty", "TransferComplaint", transfer,
        [](Transfer& r) { r.mutable_transfer()->clear_department(); }, "transfer.department");
  t.AddTooLong("TransferComplaint", transfer, "transfer.department", 200);
  t.AddTooLong("TransferComplaint", transfer, "transfer.request", 4000);
  t.Add("due time missing", "TransferComplaint", transfer,
        [](Transfer& r) { r.mutable_transfer()->clear_due_time(); }, "transfer.due_time");
  t.Add("due time in year 10000", "TransferComplaint", transfer,
        [](Transfer& r) { r.mutable_transfer()->mutable_due_time()->set_seconds(kYear10000); },
        "transfer.due_time");
  t.Add("due time most negative", "TransferComplaint", transfer,
        [](Transfer& r) {
          r.mutable_transfer()->mutable_due_time()->set_seconds(std::numeric_limits<int64_t>::min());
        },
        "transfer.due_time");
  t.AddBadNames("CompleteTransfer", complete, "name", transferred.name());
  t.AddTooLong("CompleteTransfer", complete, "reply", 4000);
  t.AddBadNames("ListTransfers", transfers, "parent", complaint.name());
  t.AddBadPaging("ListTransfers", transfers, foreign_token);
  t.AddBadNames("AddComplaintNote", note, "parent", complaint.name());
  t.Add("note empty", "AddComplaintNote", note, [](pb::AddComplaintNoteRequest& r) { r.clear_text(); }, "text");
  t.AddTooLong("AddComplaintNote", note, "text", 4000);
  t.AddInvalidUtf8("AddComplaintNote", note, "text");
  t.AddBadNames("ListTimeline", timeline, "parent", complaint.name());
  t.AddBadPaging("ListTimeline", timeline, foreign_token);
  t.AddBadNames("ProposeResolution", propose, "name", complaint.name());
  t.AddTooLong("ProposeResolution", propose, "resolution", 4000);
  t.Add("rejection without comment", "RecordCustomerDecision", decision,
        [](pb::RecordCustomerDecisionRequest& r) { r.set_accepted(false); }, "comment");
  using Findings = pb::RecordFaultFindingsRequest;
  t.Add("cause empty", "RecordFaultFindings", findings,
        [](Findings& r) { r.mutable_findings()->clear_cause(); }, "findings.cause");
  t.AddTooLong("RecordFaultFindings", findings, "findings.fix", 4000);
  t.Add("restoration in year 10000", "RecordFaultFindings", findings,
        [](Findings& r) { r.mutable_findings()->mutable_restoration_time()->set_seconds(kYear10000); },
        "findings.restoration_time");
  t.Add("restoration before year 1", "RecordFaultFindings", findings,
        [](Findings& r) {
          r.mutable_findings()->mutable_restoration_time()->set_seconds(std::numeric_limits<int64_t>::min());
        },
        "findings.restoration_time");
  t.Add("restoration nanos negative", "RecordFaultFindings", findings,
        [](Findings& r) { r.mutable_findings()->mutable_restoration_time()->set_nanos(-1); },
        "findings.restoration_time");
  using Revisit = pb::RecordRevisitRequest;
  t.AddBadNames("RecordRevisit", revisit, "name", complaint.name());
  for (int satisfaction : {0, 6, -1, std::numeric_limits<int32_t>::max()}) {
    t.Add(absl::StrCat("satisfaction ", satisfaction), "RecordRevisit", revisit,
          [satisfaction](Revisit& r) { r.set_satisfaction(satisfaction); }, "satisfaction");
  }
  t.AddTooLong("RecordRevisit", revisit, "comment", 4000);

  using Policy = pb::UpdateSlaPolicyRequest;
  for (const char* name : {"", "slaPolicies/x", "slaPolicies/complaint-normal-regular-z", "policies/1",
                           "slaPolicies/servicerequest-normal-regular-b/extra"}) {
    t.Add(absl::StrCat("policy name \"", name, "\""), "UpdateSlaPolicy", policy,
          [name](Policy& r) { r.mutable_policy()->set_name(name); }, "policy.name");
  }
  t.Add("policy update_mask \"kind\"", "UpdateSlaPolicy", policy,
        [](Policy& r) { r.mutable_update_mask()->add_paths("kind"); }, "update_mask");
  t.Add("resolution target negative", "UpdateSlaPolicy", policy,
        [](Policy& r) { r.mutable_policy()->mutable_resolution_target()->set_seconds(-3600); },
        "policy.resolution_target");
  t.Add("resolution target largest int64", "UpdateSlaPolicy", policy,
        [](Policy& r) {
          r.mutable_policy()->mutable_resolution_target()->set_seconds(std::numeric_limits<int64_t>::max());
        },
        "policy.resolution_target");
  t.Add("basis 999", "UpdateSlaPolicy", policy,
        [](Policy& r) {
          r.mutable_policy()->set_basis(static_cast<pb::ClockBasis>(999));
          r.mutable_update_mask()->add_paths("basis");
        },
        "policy.basis");

  using Compliance = pb::GetSlaComplianceReportRequest;
  t.Add("report start missing", "GetSlaComplianceReport", compliance,
        [](Compliance& r) { r.clear_start_time(); }, "start_time");
  t.Add("report end before start", "GetSlaComplianceReport", compliance,
        [](Compliance& r) { std::swap(*r.mutable_start_time(), *r.mutable_end_time()); }, "end_time");
  t.Add("report period in year 10000", "GetSlaComplianceReport", compliance,
        [](Compliance& r) {
          r.mutable_start_time()->set_seconds(kYear10000);
          r.mutable_end_time()->set_seconds(kYear10000 + 3600);
        },
        "start_time");
  t.Add("report period before year 1", "GetSlaComplianceReport", compliance,
        [](Compliance& r) {
          r.mutable_start_time()->set_seconds(-62135596800 - 7200);
          r.mutable_end_time()->set_seconds(-62135596800 - 3600);
        },
        "start_time");
  t.AddTooLong("GetSlaComplianceReport", compliance, "team", 100);
  t.AddBadNames("GetFaultAnalysisReport", faults, "customer", customer.name());

  ExpectAllRefusedChangingNothing(t, [] { return Admin(); });

  // The unchanged requests the rows started from are valid.
  EXPECT_TRUE(stub.RecordComplaint(Admin().get(), record, &complaint).ok());
  EXPECT_TRUE(stub.UpdateComplaint(Admin().get(), update, &complaint).ok());
  EXPECT_TRUE(stub.TransferComplaint(Admin().get(), transfer, &transferred).ok());
  pb::TimelineEntry entry;
  EXPECT_TRUE(stub.AddComplaintNote(Admin().get(), note, &entry).ok());
  pb::SlaPolicy updated;
  EXPECT_TRUE(stub.UpdateSlaPolicy(Admin().get(), policy, &updated).ok());
  pb::SlaComplianceReport report;
  EXPECT_TRUE(stub.GetSlaComplianceReport(Admin().get(), compliance, &report).ok());
  pb::FaultAnalysisReport analysis;
  EXPECT_TRUE(stub.GetFaultAnalysisReport(Admin().get(), faults, &analysis).ok());
}

}  // namespace
}  // namespace crm::complaints
