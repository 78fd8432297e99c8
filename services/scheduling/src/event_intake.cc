#include "services/scheduling/src/event_intake.h"

#include "absl/strings/str_cat.h"
#include "common/util/proto_time.h"
#include "crm/complaints/v1/events.pb.h"
#include "crm/customers/v1/events.pb.h"
#include "crm/opportunities/v1/events.pb.h"
#include "services/scheduling/src/scheduling_service.h"

namespace crm::scheduling {
namespace {

namespace cus = ::crm::customers::v1;
namespace opp = ::crm::opportunities::v1;
namespace cmp = ::crm::complaints::v1;

// A task from an event about `customer`; the team comes from the care
// projection when the event does not carry it.
pb::Task NewTask(SchedulingTx& tx, pb::TaskKind kind, const std::string& customer, const std::string& owner,
                 std::string team, const std::string& source, std::string title,
                 const google::protobuf::Timestamp& due) {
  if (team.empty()) {
    if (std::optional<CareCustomer> c = tx.GetCareCustomer(customer)) team = c->team;
  }
  pb::Task t;
  t.set_kind(kind);
  t.set_customer(customer);
  t.set_owner(owner);
  t.set_team(std::move(team));
  t.set_source(source);
  t.set_title(std::move(title));
  *t.mutable_due_time() = due;
  return t;
}

CareContact ContactOf(const std::string& contact, const std::string& customer, const std::string& display_name,
                      cus::ContactRole role, cus::VipLevel vip, const type::v1::Date& birthday, absl::Time since) {
  CareContact c;
  c.contact = contact;
  c.customer = customer;
  c.display_name = display_name;
  c.role = cus::ContactRole_Name(role);
  c.vip_level = vip == cus::VIP_LEVEL_UNSPECIFIED ? "" : cus::VipLevel_Name(vip);
  c.birth_month = birthday.month();
  c.birth_day = birthday.day();
  c.since = since;
  return c;
}

// OPP-8: the delay notice is due 2 working days before the deadline, at the
// deadline's time of day.
google::protobuf::Timestamp NoticeDue(absl::Time deadline, const calendar::WorkingCalendar& calendar) {
  const absl::CivilDay day = calendar.DayOf(deadline);
  const absl::CivilDay notice = calendar.AddWorkingDays(day, -2);
  google::protobuf::Timestamp ts;
  ToProto(deadline - absl::Hours(24) * (day - notice), &ts);
  return ts;
}

}  // namespace

absl::Status ApplyEvent(SchedulingTx& tx, const events::v1::Event& event, const calendar::WorkingCalendar& calendar,
                        absl::Time now) {
  const google::protobuf::Any& any = event.payload();
  const absl::Time at = FromProto(event.event_time());

  // ---- customers: the care projection and data re-verification (CUS-6)
  if (cus::CustomerCreated e; any.UnpackTo(&e)) {
    tx.UpsertCareCustomer({e.customer(), e.display_name(), e.owner(), e.team(), 0, at});
    // The feeds are not ordered with each other: tasks made before this
    // event (from an opportunities event without a team) get it now.
    if (!e.team().empty()) tx.FillTaskTeam(e.customer(), e.team(), now);
  } else if (cus::TierChanged e; any.UnpackTo(&e)) {
    tx.SetCareTier(e.customer(), static_cast<int>(e.new_tier()));
  } else if (cus::OwnershipChanged e; any.UnpackTo(&e)) {
    tx.SetCareOwner(e.customer(), e.new_owner(), e.new_team());
    // Open follow-ups move with the customer.
    TaskFilter open;
    open.scope.kind = auth::AccessScope::Kind::kAll;
    open.customer = e.customer();
    open.state = pb::TASK_OPEN;
    for (Stored<pb::Task>& t : tx.ListTasks(open, 0, 1000)) {
      t.message.set_owner(e.new_owner());
      t.message.set_team(e.new_team());
      tx.UpdateTask(t.id, t.message, now);
    }
  } else if (cus::CustomerArchived e; any.UnpackTo(&e)) {
    tx.ArchiveCareCustomer(e.customer());
  } else if (cus::ContactAdded e; any.UnpackTo(&e)) {
    tx.UpsertCareContact(
        ContactOf(e.contact(), e.customer(), e.display_name(), e.role(), e.vip_level(), e.birthday(), at));
  } else if (cus::ContactChanged e; any.UnpackTo(&e)) {
    tx.UpsertCareContact(
        ContactOf(e.contact(), e.customer(), e.display_name(), e.role(), e.vip_level(), e.birthday(), at));
  } else if (cus::ContactRemoved e; any.UnpackTo(&e)) {
    tx.RemoveCareContact(e.contact());
  } else if (cus::CustomerDataStale e; any.UnpackTo(&e)) {
    // One task per lapse: the key names the verification that lapsed.
    OpenTask(tx,
             NewTask(tx, pb::DATA_REVERIFICATION, e.customer(), e.owner(), e.team(), e.customer(),
                     "Re-verify the customer's basic data (CUS-6)", e.stale_since()),
             absl::StrCat("reverify:", e.customer(), "@", e.last_verified_time().seconds()), now);
  } else if (cus::CustomerVerified e; any.UnpackTo(&e)) {
    CloseTasks(tx, pb::DATA_REVERIFICATION, e.customer(), "", "customer verified", now);

    // ---- opportunities: feedback (OPP-6), delivery (OPP-8), after-sales (OPP-9)
  } else if (opp::NegotiationEnded e; any.UnpackTo(&e)) {
    OpenTask(tx,
             NewTask(tx, pb::NEGOTIATION_FEEDBACK, e.customer(), e.owner(), "", e.round(),
                     "Give the negotiation feedback (OPP-6)", e.feedback_due_time()),
             absl::StrCat("feedback:", e.round()), now);
  } else if (opp::NegotiationFeedbackRecorded e; any.UnpackTo(&e)) {
    CloseTasks(tx, pb::NEGOTIATION_FEEDBACK, e.round(), "", "feedback recorded", now);
  } else if (opp::ContractSigned e; any.UnpackTo(&e)) {
    OpenTask(tx,
             NewTask(tx, pb::DELIVERY_NOTICE, e.customer(), e.owner(), "", e.contract(),
                     "Deliver, or give the customer the delay notice (OPP-8)",
                     NoticeDue(FromProto(e.delivery_deadline()), calendar)),
             absl::StrCat("delivery:", e.contract()), now);
  } else if (opp::DeliveryDelayed e; any.UnpackTo(&e)) {
    CloseTasks(tx, pb::DELIVERY_NOTICE, e.contract(), "", "delay notice given", now);
  } else if (opp::ContractDelivered e; any.UnpackTo(&e)) {
    CloseTasks(tx, pb::DELIVERY_NOTICE, e.contract(), "", "delivered", now);
    OpenTask(tx,
             NewTask(tx, pb::AFTER_SALES_REVISIT, e.customer(), e.owner(), "", e.contract(),
                     "After-sales revisit (OPP-9)", e.revisit_due_time()),
             absl::StrCat("after-sales:", e.contract()), now);
  } else if (opp::AfterSalesRevisited e; any.UnpackTo(&e)) {
    CloseTasks(tx, pb::AFTER_SALES_REVISIT, e.contract(), "", "after-sales revisit recorded", now);

    // ---- complaints: the revisit within the month (CMP-7)
  } else if (cmp::ComplaintClosed e; any.UnpackTo(&e)) {
    OpenTask(tx,
             NewTask(tx, pb::COMPLAINT_REVISIT, e.customer(), e.owner(), e.team(), e.complaint(),
                     "Revisit the customer about the closed complaint (CMP-7)", e.revisit_due_time()),
             absl::StrCat("revisit:", e.complaint()), now);
  } else if (cmp::ComplaintRevisited e; any.UnpackTo(&e)) {
    CloseTasks(tx, pb::COMPLAINT_REVISIT, e.complaint(), "", "revisit recorded", now);
  }
  return absl::OkStatus();
}

}  // namespace crm::scheduling
