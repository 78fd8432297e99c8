#include "common/client/client.h"
#include "common/status/status_macros.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "services/opportunities/src/customer_directory.h"

namespace crm::opportunities {
namespace {

namespace cpb = ::crm::customers::v1;

class GrpcCustomerDirectory final : public CustomerDirectory {
 public:
  explicit GrpcCustomerDirectory(std::shared_ptr<grpc::Channel> channel)
      : stub_(cpb::CustomerService::NewStub(std::move(channel))) {}

  absl::StatusOr<CustomerFacts> Lookup(const client::Caller& caller, const std::string& customer) override {
    cpb::GetCustomerRequest req;
    req.set_name(customer);
    ASSIGN_OR_RETURN(cpb::Customer c, client::Unary("customers service", caller, *stub_,
                                                    &cpb::CustomerService::Stub::GetCustomer, req));
    CustomerFacts facts;
    facts.name = c.name();
    facts.owner = c.owner();
    facts.team = c.team();
    facts.tier = c.tier() == cpb::TIER_UNSPECIFIED ? "" : cpb::Tier_Name(c.tier());
    facts.risk_tolerance = static_cast<int>(c.risk_tolerance());
    facts.archived = c.status() == cpb::ARCHIVED;
    return facts;
  }

 private:
  std::unique_ptr<cpb::CustomerService::Stub> stub_;
};

}  // namespace

std::unique_ptr<CustomerDirectory> NewGrpcCustomerDirectory(std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<GrpcCustomerDirectory>(std::move(channel));
}

}  // namespace crm::opportunities
