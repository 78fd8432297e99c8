#pragma once
// GW-5: the scheduling service follows the customers, opportunities and
// complaints services' event feeds, each with its own consumer and cursor.

#include <functional>
#include <memory>
#include <string>

#include "common/calendar/working_calendar.h"
#include "common/db/pool.h"
#include "common/events/consumer.h"
#include "common/util/clock.h"

namespace crm::scheduling {

// A consumer of `producer`'s feed over `channel` that applies each event
// with ApplyEvent (event_intake.h) in the consumer's transaction. Not started.
std::unique_ptr<events::Consumer> NewEventConsumer(db::ConnectionPool& pool, const std::string& producer,
                                                   std::shared_ptr<grpc::ChannelInterface> channel,
                                                   std::function<std::string()> token_source,
                                                   const calendar::WorkingCalendar& calendar, const Clock& clock);

}  // namespace crm::scheduling
