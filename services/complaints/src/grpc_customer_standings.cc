#include "common/status/status_macros.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "services/complaints/src/customer_standing.h"

namespace crm::complaints {
namespace {

namespace cpb = ::crm::customers::v1;
using Stub = cpb::CustomerService::Stub;
constexpr char kPeer[] = "customers service";

class GrpcCustomerStandings final : public CustomerStandings {
 public:
  explicit GrpcCustomerStandings(std::shared_ptr<grpc::Channel> channel)
      : stub_(cpb::CustomerService::NewStub(std::move(channel))) {}

  absl::StatusOr<CustomerStanding> Lookup(const client::Caller& caller, const std::string& customer,
                                          const std::string& contact) override {
    CustomerStanding standing;
    cpb::GetCustomerRequest get_customer;
    get_customer.set_name(customer);
    ASSIGN_OR_RETURN(cpb::Customer c, client::Unary(kPeer, caller, *stub_, &Stub::GetCustomer, get_customer));
    standing.tier = c.tier() == cpb::TIER_UNSPECIFIED ? "" : cpb::Tier_Name(c.tier());
    if (!contact.empty()) {
      cpb::GetContactRequest get_contact;
      get_contact.set_name(contact);
      ASSIGN_OR_RETURN(cpb::Contact k, client::Unary(kPeer, caller, *stub_, &Stub::GetContact, get_contact));
      standing.vip = k.role() == cpb::VIP;
    }
    return standing;
  }

 private:
  std::unique_ptr<Stub> stub_;
};

}  // namespace

std::unique_ptr<CustomerStandings> NewGrpcCustomerStandings(std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<GrpcCustomerStandings>(std::move(channel));
}

}  // namespace crm::complaints
