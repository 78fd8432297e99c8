#pragma once
// Which events (crm/customers/v1/events.proto) a change to a customer
// produces (GW-5). Pure: the repository appends them to the outbox in the
// transaction that makes the change.

#include <memory>
#include <vector>

#include <google/protobuf/message.h>

#include "crm/customers/v1/customers.pb.h"
#include "crm/customers/v1/events.pb.h"

namespace crm::customers {

namespace pb = ::crm::customers::v1;

pb::CustomerCreated CreatedEvent(const pb::Customer& created);

// Tier, ownership and archival changes between two versions of a customer.
std::vector<std::unique_ptr<google::protobuf::Message>> EventsForChange(const pb::Customer& before,
                                                                        const pb::Customer& after);

pb::ChurnSignalRecorded ChurnSignalEvent(const pb::Customer& customer, const pb::ChurnSignal& signal);

}  // namespace crm::customers
