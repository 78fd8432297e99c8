#include "services/opportunities/src/customer_events_consumer.h"

#include "absl/strings/str_cat.h"
#include "common/util/log.h"
#include "crm/customers/v1/events.pb.h"

namespace crm::opportunities {

absl::Status ApplyCustomerEvent(MysqlOpportunityRepository& repository, const Clock& clock,
                                sql::Connection& conn, const events::v1::Event& event) {
  if (event.type() != "crm.customers.v1.OwnershipChanged") return absl::OkStatus();
  customers::v1::OwnershipChanged changed;
  if (!event.payload().UnpackTo(&changed)) {
    return absl::DataLossError(absl::StrCat("customers event ", event.sequence(), ": bad OwnershipChanged payload"));
  }
  if (changed.customer().empty() || changed.new_owner().empty()) {
    // Nothing to move to; holding the stream would not make it valid.
    log::Error("customers event without customer or new owner; skipped",
               {{"sequence", absl::StrCat(event.sequence())}});
    return absl::OkStatus();
  }
  const Actor actor{kCustomersProducer, "OwnershipChanged", clock.Now()};
  absl::StatusOr<int> moved =
      repository.ReassignCustomer(conn, changed.customer(), changed.new_owner(), changed.new_team(), actor);
  if (!moved.ok()) return moved.status();
  if (*moved > 0) {
    log::Info("customer reassigned: rows moved",
              {{"customer", changed.customer()}, {"owner", changed.new_owner()},
               {"team", changed.new_team()}, {"rows", absl::StrCat(*moved)}});
  }
  return absl::OkStatus();
}

std::unique_ptr<events::Consumer> NewCustomerEventsConsumer(db::ConnectionPool& pool,
                                                            MysqlOpportunityRepository& repository,
                                                            const Clock& clock,
                                                            std::shared_ptr<grpc::ChannelInterface> channel,
                                                            std::function<std::string()> token_source) {
  events::ConsumerOptions options;
  options.producer = kCustomersProducer;
  options.channel = std::move(channel);
  options.token_source = std::move(token_source);
  return std::make_unique<events::Consumer>(
      pool, std::move(options), [&repository, &clock](sql::Connection& conn, const events::v1::Event& e) {
        return ApplyCustomerEvent(repository, clock, conn, e);
      });
}

}  // namespace crm::opportunities
