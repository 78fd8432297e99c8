#include "crm/customers/v1/customers.grpc.pb.h"
#include "services/complaints/src/customer_standing.h"

namespace crm::complaints {
namespace {

namespace cpb = ::crm::customers::v1;

class GrpcCustomerStandings final : public CustomerStandings {
 public:
  explicit GrpcCustomerStandings(std::shared_ptr<grpc::Channel> channel)
      : stub_(cpb::CustomerService::NewStub(std::move(channel))) {}

  absl::StatusOr<CustomerStanding> Lookup(const client::Caller& caller, const std::string& customer,
                                          const std::string& contact) override {
    CustomerStanding standing;
    {
      auto ctx = client::NewContext(caller);
      cpb::GetCustomerRequest req;
      req.set_name(customer);
      cpb::Customer c;
      grpc::Status status = stub_->GetCustomer(ctx.get(), req, &c);
      if (!status.ok()) return client::PeerError("customers service", status);
      standing.tier = c.tier() == cpb::TIER_UNSPECIFIED ? "" : cpb::Tier_Name(c.tier());
    }
    if (!contact.empty()) {
      auto ctx = client::NewContext(caller);
      cpb::GetContactRequest req;
      req.set_name(contact);
      cpb::Contact c;
      grpc::Status status = stub_->GetContact(ctx.get(), req, &c);
      if (!status.ok()) return client::PeerError("customers service", status);
      standing.vip = c.role() == cpb::VIP;
    }
    return standing;
  }

 private:
  std::unique_ptr<cpb::CustomerService::Stub> stub_;
};

}  // namespace

std::unique_ptr<CustomerStandings> NewGrpcCustomerStandings(std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<GrpcCustomerStandings>(std::move(channel));
}

}  // namespace crm::complaints
