#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "common/status/status_macros.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "services/scheduling/src/customer_sites.h"

namespace crm::scheduling {
namespace {

namespace cpb = ::crm::customers::v1;
using Stub = cpb::CustomerService::Stub;

class GrpcCustomerSites final : public CustomerSites {
 public:
  GrpcCustomerSites(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
      : stub_(cpb::CustomerService::NewStub(std::move(channel))), timeout_(timeout) {}

  absl::StatusOr<CustomerSite> Lookup(const client::Caller& caller, const std::string& customer) override {
    cpb::GetCustomerRequest req;
    req.set_name(customer);
    client::Caller bounded = caller;
    bounded.deadline = std::min(caller.deadline, absl::Now() + timeout_);
    ASSIGN_OR_RETURN(cpb::Customer c,
                     client::Unary("customers service", bounded, *stub_, &Stub::GetCustomer, req));
    CustomerSite site;
    site.name = c.name();
    site.owner = c.owner();
    site.team = c.team();
    site.tier_class = TierClassOf(static_cast<int>(c.tier()));
    site.high_value = c.high_value();
    site.archived = c.status() == cpb::ARCHIVED;
    site.address = c.address();
    if (c.has_location()) site.location = {c.location().latitude(), c.location().longitude(), true};
    return site;
  }

 private:
  std::unique_ptr<Stub> stub_;
  const absl::Duration timeout_;
};

}  // namespace

std::unique_ptr<CustomerSites> NewGrpcCustomerSites(std::shared_ptr<grpc::Channel> channel,
                                                    absl::Duration timeout) {
  return std::make_unique<GrpcCustomerSites>(std::move(channel), timeout);
}

}  // namespace crm::scheduling
