#include "services/customers/src/customer_events.h"

#include "common/util/proto_time.h"

namespace crm::customers {

pb::CustomerCreated CreatedEvent(const pb::Customer& created) {
  pb::CustomerCreated e;
  e.set_customer(created.name());
  e.set_kind(created.kind());
  e.set_display_name(created.display_name());
  e.set_owner(created.owner());
  e.set_team(created.team());
  return e;
}

namespace {
pb::TierChanged TierChangedEvent(const pb::Customer& customer, pb::Tier old_tier) {
  pb::TierChanged e;
  e.set_customer(customer.name());
  e.set_old_tier(old_tier);
  e.set_new_tier(customer.tier());
  e.set_value_score(customer.value_score());
  e.set_owner(customer.owner());
  e.set_team(customer.team());
  return e;
}
}  // namespace

std::vector<std::unique_ptr<google::protobuf::Message>> EventsForChange(const pb::Customer& before,
                                                                        const pb::Customer& after) {
  std::vector<std::unique_ptr<google::protobuf::Message>> events;
  if (before.tier() != after.tier()) {
    events.push_back(std::make_unique<pb::TierChanged>(TierChangedEvent(after, before.tier())));
  }
  if (before.owner() != after.owner() || before.team() != after.team()) {
    auto e = std::make_unique<pb::OwnershipChanged>();
    e->set_customer(after.name());
    e->set_old_owner(before.owner());
    e->set_new_owner(after.owner());
    e->set_old_team(before.team());
    e->set_new_team(after.team());
    events.push_back(std::move(e));
  }
  if (before.status() != pb::ARCHIVED && after.status() == pb::ARCHIVED) {
    auto e = std::make_unique<pb::CustomerArchived>();
    e->set_customer(after.name());
    e->set_owner(after.owner());
    e->set_team(after.team());
    events.push_back(std::move(e));
  }
  return events;
}

pb::ChurnSignalRecorded ChurnSignalEvent(const pb::Customer& customer, const pb::ChurnSignal& signal) {
  pb::ChurnSignalRecorded e;
  e.set_signal(signal.name());
  e.set_customer(customer.name());
  e.set_kind(signal.kind());
  e.set_tier(customer.tier());
  e.set_retention_stage(customer.retention_stage());
  e.set_owner(customer.owner());
  e.set_team(customer.team());
  e.set_supervisor_notified(signal.supervisor_notified());
  return e;
}

namespace {
// ContactAdded and ContactChanged carry the same fields.
template <typename ContactEvent>
ContactEvent ContactEventOf(const pb::Customer& customer, const pb::Contact& contact) {
  ContactEvent e;
  e.set_contact(contact.name());
  e.set_customer(customer.name());
  e.set_display_name(contact.display_name());
  e.set_role(contact.role());
  e.set_vip_level(contact.vip_level());
  if (contact.has_birthday()) *e.mutable_birthday() = contact.birthday();
  e.set_owner(customer.owner());
  e.set_team(customer.team());
  return e;
}
}  // namespace

pb::ContactAdded ContactAddedEvent(const pb::Customer& customer, const pb::Contact& contact) {
  return ContactEventOf<pb::ContactAdded>(customer, contact);
}

pb::ContactChanged ContactChangedEvent(const pb::Customer& customer, const pb::Contact& contact) {
  return ContactEventOf<pb::ContactChanged>(customer, contact);
}

pb::ContactRemoved ContactRemovedEvent(const pb::Customer& customer, const pb::Contact& contact) {
  pb::ContactRemoved e;
  e.set_contact(contact.name());
  e.set_customer(customer.name());
  return e;
}

pb::CustomerVerified VerifiedEvent(const pb::Customer& customer, absl::Time verify_time) {
  pb::CustomerVerified e;
  e.set_customer(customer.name());
  e.set_owner(customer.owner());
  e.set_team(customer.team());
  ToProto(verify_time, e.mutable_verify_time());
  return e;
}

pb::CustomerDataStale StaleEvent(const pb::Customer& customer, const FreshnessPolicy& policy) {
  const absl::Time verified = BasicDataVerifiedTime(customer);
  pb::CustomerDataStale e;
  e.set_customer(customer.name());
  e.set_owner(customer.owner());
  e.set_team(customer.team());
  e.set_tier(customer.tier());
  ToProto(AddMonths(verified, BasicDataMonths(customer.tier(), policy)), e.mutable_stale_since());
  ToProto(verified, e.mutable_last_verified_time());
  return e;
}

}  // namespace crm::customers
