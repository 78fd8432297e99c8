#pragma once
// What the scheduling service does with the other services' events (GW-5):
// the care projection from the customers service (SCH-5/SCH-6), and the
// tasks of SCH-9 from all three. Each event is applied in the consumer's
// transaction (common/events/consumer.h: the cursor moves with the effect),
// and every task has a source key, so an event delivered twice still makes
// exactly one task.

#include "absl/status/status.h"
#include "common/calendar/working_calendar.h"
#include "crm/events/v1/events.pb.h"
#include "services/scheduling/src/scheduling_store.h"

namespace crm::scheduling {

// Applies one event; event types it does not use are ignored (OK).
absl::Status ApplyEvent(SchedulingTx& tx, const events::v1::Event& event, const calendar::WorkingCalendar& calendar,
                        absl::Time now);

}  // namespace crm::scheduling
