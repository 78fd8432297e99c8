#include "services/scheduling/src/event_consumers.h"

#include "services/scheduling/src/event_intake.h"
#include "services/scheduling/src/mysql_scheduling_store.h"

namespace crm::scheduling {

std::unique_ptr<events::Consumer> NewEventConsumer(db::ConnectionPool& pool, const std::string& producer,
                                                   std::shared_ptr<grpc::ChannelInterface> channel,
                                                   std::function<std::string()> token_source,
                                                   const calendar::WorkingCalendar& calendar, const Clock& clock) {
  events::ConsumerOptions options;
  options.producer = producer;
  options.channel = std::move(channel);
  options.token_source = std::move(token_source);
  return std::make_unique<events::Consumer>(
      pool, std::move(options), [&calendar, &clock](sql::Connection& conn, const events::v1::Event& event) {
        MysqlSchedulingTx tx(conn);
        absl::Status status = ApplyEvent(tx, event, calendar, clock.Now());
        // The outbox append is the last statement before the consumer's
        // cursor update and commit.
        if (status.ok()) tx.FlushEvents();
        return status;
      });
}

}  // namespace crm::scheduling
