#pragma once
// GW-5: the opportunities service follows the customers service's EventFeed.
// Owner and team are copied from the customer when a row is created; when
// the customer is reassigned (crm.customers.v1.OwnershipChanged) its open
// rows move with it, in the consumer's transaction that also advances the
// cursor (exactly once). Every other event type is skipped (the cursor still
// advances).

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "absl/status/status.h"
#include "common/db/pool.h"
#include "common/events/consumer.h"
#include "common/util/clock.h"
#include "services/opportunities/src/mysql_opportunity_repository.h"

namespace crm::opportunities {

// The cursor row's key and the producer the events are stamped with.
inline constexpr char kCustomersProducer[] = "customers";

// Applies one customers event on `conn` (the consumer's transaction).
absl::Status ApplyCustomerEvent(MysqlOpportunityRepository& repository, const Clock& clock,
                                sql::Connection& conn, const events::v1::Event& event);

// A consumer of the customers feed over `channel`, sending the bearer token
// of a SERVICE principal from `token_source` on every pull. Not started.
std::unique_ptr<events::Consumer> NewCustomerEventsConsumer(db::ConnectionPool& pool,
                                                            MysqlOpportunityRepository& repository,
                                                            const Clock& clock,
                                                            std::shared_ptr<grpc::ChannelInterface> channel,
                                                            std::function<std::string()> token_source);

}  // namespace crm::opportunities
