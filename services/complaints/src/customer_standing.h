#pragma once
// What the complaints service needs to know about a customer when it records
// a complaint (CMP-3): its tier and whether the complainant is a VIP, read
// from the customers service, which owns that data. A narrow seam: unit
// tests use a fake, integration tests the real customers service.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/client/client.h"

namespace crm::complaints {

struct CustomerStanding {
  std::string tier;  // "A1" … "C", "" when not ranked yet
  // The complaint's contact is a VIP contact of the customer.
  bool vip = false;
};

class CustomerStandings {
 public:
  virtual ~CustomerStandings() = default;
  // As the caller sees it: NOT_FOUND when the customer or contact does not
  // exist or the caller may not see it (GW-2, decided by the customers
  // service); UNAVAILABLE or DEADLINE_EXCEEDED when it cannot answer.
  virtual absl::StatusOr<CustomerStanding> Lookup(const client::Caller& caller, const std::string& customer,
                                                  const std::string& contact) = 0;
};

std::unique_ptr<CustomerStandings> NewGrpcCustomerStandings(std::shared_ptr<grpc::Channel> channel);

}  // namespace crm::complaints
