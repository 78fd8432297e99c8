#pragma once
// What the opportunities service needs to know about a customer, from the
// customers service (the owner of that data). A narrow seam: unit tests use
// a fake, integration tests the real customers service over gRPC.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/client/client.h"

namespace crm::opportunities {

struct CustomerFacts {
  std::string name;   // "customers/{id}"
  std::string owner;  // the managing manager's subject
  std::string team;
  std::string tier;   // "A1" … "C", "" when not ranked yet
  // CUS-10: 0 = not assessed, 1 = CONSERVATIVE … 5 = AGGRESSIVE.
  int risk_tolerance = 0;
  bool archived = false;
};

class CustomerDirectory {
 public:
  virtual ~CustomerDirectory() = default;
  // As the caller sees it: NOT_FOUND when the customer does not exist or
  // the caller may not see it (GW-2, decided by the customers service);
  // UNAVAILABLE "customers service unavailable: …" when it is down.
  virtual absl::StatusOr<CustomerFacts> Lookup(const client::Caller& caller,
                                               const std::string& customer) = 0;
};

// The customers service over gRPC, with the caller's deadline and token.
std::unique_ptr<CustomerDirectory> NewGrpcCustomerDirectory(std::shared_ptr<grpc::Channel> channel);

}  // namespace crm::opportunities
