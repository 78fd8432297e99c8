#pragma once
// What the scheduling service needs to know about a customer when a visit
// is booked: where it is (SCH-2 travel, SCH-3 plan), who owns it (GW-2) and
// its tier (SCH-8), read from the customers service, which owns that data.
// A narrow seam: integration tests run the real customers service.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/client/client.h"
#include "services/scheduling/src/scheduling_rules.h"

namespace grpc {
class Channel;
}

namespace crm::scheduling {

struct CustomerSite {
  std::string name;  // customers/{id}
  std::string owner;
  std::string team;
  std::string tier_class;  // "A", "B", "C" or "" (unranked)
  bool high_value = false;
  bool archived = false;
  std::string address;
  GeoPoint location;
};

class CustomerSites {
 public:
  virtual ~CustomerSites() = default;
  // As the caller sees it: NOT_FOUND when the customer does not exist or
  // the caller may not see it (GW-2, decided by the customers service);
  // UNAVAILABLE or DEADLINE_EXCEEDED when it cannot answer.
  virtual absl::StatusOr<CustomerSite> Lookup(const client::Caller& caller, const std::string& customer) = 0;
};

std::unique_ptr<CustomerSites> NewGrpcCustomerSites(std::shared_ptr<grpc::Channel> channel,
                                                    absl::Duration timeout);

}  // namespace crm::scheduling
