#pragma once
// Which events (crm/customers/v1/events.proto) a change to a customer
// produces (GW-5). Pure: the repository appends them to the outbox in the
// transaction that makes the change.

#include <memory>
#include <vector>

#include <google/protobuf/message.h>

#include "absl/time/time.h"
#include "crm/customers/v1/customers.pb.h"
#include "crm/customers/v1/events.pb.h"
#include "services/customers/src/customer_rules.h"

namespace crm::customers {

namespace pb = ::crm::customers::v1;

pb::CustomerCreated CreatedEvent(const pb::Customer& created);

// Tier, ownership and archival changes between two versions of a customer.
std::vector<std::unique_ptr<google::protobuf::Message>> EventsForChange(const pb::Customer& before,
                                                                        const pb::Customer& after);

pb::ChurnSignalRecorded ChurnSignalEvent(const pb::Customer& customer, const pb::ChurnSignal& signal);

// Contacts (for care cadence and special days, SCH-5, SCH-6), with the
// parent customer's current owner and team.
pb::ContactAdded ContactAddedEvent(const pb::Customer& customer, const pb::Contact& contact);
pb::ContactChanged ContactChangedEvent(const pb::Customer& customer, const pb::Contact& contact);
pb::ContactRemoved ContactRemovedEvent(const pb::Customer& customer, const pb::Contact& contact);

// CUS-6: the basic data was re-verified at `verify_time`.
pb::CustomerVerified VerifiedEvent(const pb::Customer& customer, absl::Time verify_time);
// CUS-6: the basic data of `customer` is past its tier's interval.
pb::CustomerDataStale StaleEvent(const pb::Customer& customer, const FreshnessPolicy& policy);

}  // namespace crm::customers
