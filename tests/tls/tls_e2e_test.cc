// End to end with TLS switched on by configuration only (CRM_TLS_* like a
// container): the real crm-customers requiring client certificates (mutual
// TLS), the real crm-gateway serving gRPC and HTTPS with its certificate and
// calling customers with its client certificate, crm-complaints' lookups
// in customers (a service-to-service call), and crmctl's TLS flags.
// Certificates come from deploy/local/dev-certs.sh, fresh for this run.

#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <sys/wait.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/testing/process.h"
#include "crm/complaints/v1/complaints.grpc.pb.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"
#include "tests/tls/dev_certs.h"

namespace crm {
namespace {

namespace cpb = ::crm::customers::v1;
namespace kpb = ::crm::complaints::v1;
using ::crm::testing::DevCerts;
using ::crm::testing::E2eBearer;
using ::crm::testing::E2eContext;
using ::crm::testing::ServiceProcess;
using ::testing::HasSubstr;

const auth::Principal kManager{"mgr-tls", auth::Role::kManager, "east"};

std::unique_ptr<ServiceProcess> Create(const char* name, const char* binary) {
  auto process = ServiceProcess::Create(name, binary);
  EXPECT_TRUE(process.ok()) << process.status();
  return process.ok() ? *std::move(process) : nullptr;
}

// A gateway in front of `customers`; the other backends point at a closed
// port (they are not needed). TLS settings come from `tls_env`.
std::unique_ptr<ServiceProcess> CreateGateway(const ServiceProcess& customers,
                                              const std::map<std::string, std::string>& tls_env) {
  auto gateway = Create("gateway", CRM_GATEWAY_BINARY);
  if (gateway == nullptr) return nullptr;
  const std::string closed = absl::StrCat("127.0.0.1:", crm::testing::FreeLoopbackPort());
  gateway->env()["CRM_CUSTOMERS_ADDRESS"] = customers.address();
  for (const char* peer : {"CRM_OPPORTUNITIES_ADDRESS", "CRM_COMPLAINTS_ADDRESS", "CRM_SCHEDULING_ADDRESS"}) {
    gateway->env()[peer] = closed;
  }
  gateway->env()["CRM_SHUTDOWN_GRACE_SECONDS"] = "1";
  for (const auto& [key, value] : tls_env) gateway->env()[key] = value;
  return gateway;
}

class TlsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ours = DevCerts::Create(CRM_DEV_CERTS_SH);
    ASSERT_TRUE(ours.ok()) << ours.status();
    certs_ = ours->release();
    auto other = DevCerts::Create(CRM_DEV_CERTS_SH);
    ASSERT_TRUE(other.ok()) << other.status();
    other_ = other->release();

    customers_ = Create("customers", CRM_CUSTOMERS_BINARY).release();
    ASSERT_NE(customers_, nullptr);
    customers_->env()["CRM_TLS_CERT_FILE"] = certs_->Path("customers.crt");
    customers_->env()["CRM_TLS_KEY_FILE"] = certs_->Path("customers.key");
    customers_->env()["CRM_TLS_CLIENT_CA_FILE"] = certs_->Path("ca.crt");
    customers_->env()["CRM_SHUTDOWN_GRACE_SECONDS"] = "1";
    ASSERT_TRUE(customers_->Start().ok()) << customers_->Log();

    http_port_ = crm::testing::FreeLoopbackPort();
    gateway_ = CreateGateway(*customers_, {{"CRM_TLS_CERT_FILE", certs_->Path("gateway.crt")},
                                           {"CRM_TLS_KEY_FILE", certs_->Path("gateway.key")},
                                           {"CRM_TLS_CA_FILE", certs_->Path("ca.crt")},
                                           {"CRM_TLS_CLIENT_CERT_FILE", certs_->Path("gateway.crt")},
                                           {"CRM_TLS_CLIENT_KEY_FILE", certs_->Path("gateway.key")},
                                           {"CRM_HTTP_LISTEN_ADDRESS", absl::StrCat("127.0.0.1:", http_port_)}})
                   .release();
    ASSERT_NE(gateway_, nullptr);
    ASSERT_TRUE(gateway_->Start().ok()) << gateway_->Log();
    // The HTTPS front starts after the gRPC port file is written.
    auto https = Https(*certs_);
    const absl::Time until = absl::Now() + absl::Seconds(30);
    while (absl::Now() < until) {
      if (auto reply = https->Get("/healthz"); reply && reply->status == 200) return;
      absl::SleepFor(absl::Milliseconds(20));
    }
    FAIL() << "the gateway's HTTPS front never answered GET /healthz\n" << gateway_->Log();
  }

  static void TearDownTestSuite() {
    delete gateway_;
    delete customers_;
    delete certs_;
    delete other_;
  }

  // An HTTPS client of the gateway's HTTP front trusting `trusted`'s CA.
  static std::unique_ptr<httplib::SSLClient> Https(const DevCerts& trusted) {
    auto client = std::make_unique<httplib::SSLClient>("127.0.0.1", http_port_);
    client->set_ca_cert_path(trusted.Path("ca.crt").c_str());
    client->enable_server_certificate_verification(true);
    client->set_connection_timeout(5, 0);
    client->set_read_timeout(20, 0);
    return client;
  }

  static std::shared_ptr<grpc::Channel> Channel(const ServiceProcess& to, const tls::ChannelTls& tls) {
    return grpc::CreateChannel(to.address(), tls::ChannelCredentials(tls));
  }

  static grpc::Status CreateCustomer(const std::shared_ptr<grpc::Channel>& channel, const std::string& name,
                                     cpb::Customer* created) {
    cpb::CreateCustomerRequest request;
    request.mutable_customer()->set_kind(cpb::INDIVIDUAL);
    request.mutable_customer()->set_display_name(name);
    return cpb::CustomerService::NewStub(channel)->CreateCustomer(E2eContext(kManager).get(), request, created);
  }

  static grpc::Status GetCustomer(const std::shared_ptr<grpc::Channel>& channel, const std::string& name,
                                  cpb::Customer* found) {
    cpb::GetCustomerRequest request;
    request.set_name(name);
    return cpb::CustomerService::NewStub(channel)->GetCustomer(E2eContext(kManager).get(), request, found);
  }

  // crmctl with `args`; its exit code, -1 when it did not exit in time.
  static int Crmctl(std::vector<std::string> args) {
    args.insert(args.begin(), CRM_CRMCTL_BINARY);
    const std::string log = certs_->Path("crmctl.log");
    auto child = crm::testing::ChildProcess::Start(args, {}, log);
    if (!child.ok()) return -1;
    const std::optional<int> status = (*child)->WaitFor(absl::Seconds(30));
    return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }

  static DevCerts* certs_;
  static DevCerts* other_;
  static ServiceProcess* customers_;
  static ServiceProcess* gateway_;
  static int http_port_;
};

DevCerts* TlsE2eTest::certs_ = nullptr;
DevCerts* TlsE2eTest::other_ = nullptr;
ServiceProcess* TlsE2eTest::customers_ = nullptr;
ServiceProcess* TlsE2eTest::gateway_ = nullptr;
int TlsE2eTest::http_port_ = 0;

TEST_F(TlsE2eTest, CallThroughTheGatewayReachesTheServiceOverMutualTls) {
  cpb::Customer created;
  grpc::Status status = CreateCustomer(Channel(*gateway_, certs_->Channel()), "TLS 客户", &created);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << gateway_->Log();
  // The customer is in the service itself (asked directly, with crmctl's certificate).
  cpb::Customer found;
  status = GetCustomer(Channel(*customers_, certs_->Channel("crmctl")), created.name(), &found);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(found.display_name(), "TLS 客户");
}

TEST_F(TlsE2eTest, GatewayRefusesPlaintextAndClientsTrustingAnotherCa) {
  cpb::Customer ignored;
  EXPECT_EQ(CreateCustomer(Channel(*gateway_, {}), "plain", &ignored).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(CreateCustomer(Channel(*gateway_, other_->Channel()), "stranger", &ignored).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsE2eTest, ServiceRefusesClientsWithoutAValidCertificate) {
  cpb::Customer ignored;
  // TLS but no client certificate; a certificate from another CA; plaintext.
  EXPECT_EQ(GetCustomer(Channel(*customers_, certs_->Channel()), "customers/1", &ignored).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  tls::ChannelTls stranger = certs_->Channel();
  const tls::ChannelTls other_identity = other_->Channel("gateway");
  stranger.cert_chain_pem = other_identity.cert_chain_pem;
  stranger.private_key_pem = other_identity.private_key_pem;
  EXPECT_EQ(GetCustomer(Channel(*customers_, stranger), "customers/1", &ignored).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(GetCustomer(Channel(*customers_, {}), "customers/1", &ignored).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsE2eTest, GatewayWithoutAClientCertificateCannotReachTheService) {
  // TLS to the service (it trusts the CA) but no client certificate.
  auto gateway = CreateGateway(*customers_, {{"CRM_TLS_CA_FILE", certs_->Path("ca.crt")}});
  ASSERT_NE(gateway, nullptr);
  ASSERT_TRUE(gateway->Start().ok()) << gateway->Log();
  cpb::Customer ignored;
  const grpc::Status status = CreateCustomer(gateway->channel(), "refused", &ignored);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(TlsE2eTest, ServiceToServiceLookupsPresentTheConfiguredCertificate) {
  cpb::Customer customer;
  ASSERT_TRUE(CreateCustomer(Channel(*customers_, certs_->Channel("crmctl")), "投诉客户", &customer).ok());
  // A complaint's SLA targets come from the customer's standing, looked up
  // in the customers service; unreachable, the targets are provisional.
  auto record = [&](const std::map<std::string, std::string>& tls_env) -> std::optional<kpb::Complaint> {
    auto complaints = Create("complaints", CRM_COMPLAINTS_BINARY);
    if (complaints == nullptr) return std::nullopt;
    complaints->env()["CRM_CUSTOMERS_ADDRESS"] = customers_->address();
    complaints->env()["CRM_CUSTOMERS_LOOKUP_TIMEOUT"] = "5s";
    complaints->env()["CRM_SHUTDOWN_GRACE_SECONDS"] = "1";
    for (const auto& [key, value] : tls_env) complaints->env()[key] = value;
    if (absl::Status s = complaints->Start(); !s.ok()) {
      ADD_FAILURE() << s << "\n" << complaints->Log();
      return std::nullopt;
    }
    kpb::RecordComplaintRequest request;
    request.mutable_complaint()->set_customer(customer.name());
    request.mutable_complaint()->set_channel(kpb::HALL);
    request.mutable_complaint()->set_category(kpb::TARIFF);
    request.mutable_complaint()->set_statement("账单多扣费");
    kpb::Complaint recorded;
    const grpc::Status status =
        kpb::ComplaintService::NewStub(complaints->channel())->RecordComplaint(E2eContext(kManager).get(), request,
                                                                              &recorded);
    if (!status.ok()) {
      ADD_FAILURE() << status.error_message() << "\n" << complaints->Log();
      return std::nullopt;
    }
    return recorded;
  };
  const std::optional<kpb::Complaint> with_certificate =
      record({{"CRM_TLS_CA_FILE", certs_->Path("ca.crt")},
              {"CRM_TLS_CLIENT_CERT_FILE", certs_->Path("complaints.crt")},
              {"CRM_TLS_CLIENT_KEY_FILE", certs_->Path("complaints.key")}});
  ASSERT_TRUE(with_certificate.has_value());
  EXPECT_FALSE(with_certificate->targets_provisional());
  EXPECT_NE(with_certificate->tier_class(), kpb::TIER_CLASS_UNSPECIFIED);
  // Without a client certificate the customers service refuses the lookup.
  const std::optional<kpb::Complaint> without = record({{"CRM_TLS_CA_FILE", certs_->Path("ca.crt")}});
  ASSERT_TRUE(without.has_value());
  EXPECT_TRUE(without->targets_provisional());
}

TEST_F(TlsE2eTest, HttpsFrontServesClientsTrustingTheCa) {
  cpb::Customer created;
  ASSERT_TRUE(CreateCustomer(Channel(*gateway_, certs_->Channel()), "HTTPS 客户", &created).ok());
  auto reply = Https(*certs_)->Get(absl::StrCat("/v1/", created.name()).c_str(),
                                   {{"Authorization", E2eBearer(kManager)}});
  ASSERT_TRUE(reply) << httplib::to_string(reply.error());
  EXPECT_EQ(reply->status, 200) << reply->body;
  EXPECT_THAT(reply->body, HasSubstr("HTTPS 客户"));

  // Plain HTTP on the HTTPS port, and HTTPS trusting another CA, get no reply.
  httplib::Client plain("127.0.0.1", http_port_);
  plain.set_read_timeout(5, 0);
  EXPECT_FALSE(plain.Get("/healthz"));
  auto stranger = Https(*other_)->Get("/healthz");
  ASSERT_FALSE(stranger);
  EXPECT_EQ(stranger.error(), httplib::Error::SSLServerVerification);
}

TEST_F(TlsE2eTest, CrmctlSpeaksTlsAndMutualTls) {
  const std::string gateway = gateway_->address(), customers = customers_->address();
  const std::string ca = certs_->Path("ca.crt");
  EXPECT_EQ(Crmctl({"--address", gateway, "--tls_ca_file", ca, "health"}), 0);
  EXPECT_EQ(Crmctl({"--address", gateway, "health"}), 1);  // plaintext against TLS
  EXPECT_EQ(Crmctl({"--address", customers, "--tls_ca_file", ca, "--tls_client_cert_file",
                    certs_->Path("crmctl.crt"), "--tls_client_key_file", certs_->Path("crmctl.key"), "health"}),
            0);
  EXPECT_EQ(Crmctl({"--address", customers, "--tls_ca_file", ca, "health"}), 1);  // no client certificate
  // A key that is not the certificate's is a usage error, before any call.
  EXPECT_EQ(Crmctl({"--address", customers, "--tls_ca_file", ca, "--tls_client_cert_file",
                    certs_->Path("crmctl.crt"), "--tls_client_key_file", certs_->Path("gateway.key"), "health"}),
            2);
}

TEST_F(TlsE2eTest, ServiceWithAMismatchedKeyStopsAtStartUp) {
  auto customers = Create("customers", CRM_CUSTOMERS_BINARY);
  ASSERT_NE(customers, nullptr);
  customers->env()["CRM_TLS_CERT_FILE"] = certs_->Path("customers.crt");
  customers->env()["CRM_TLS_KEY_FILE"] = certs_->Path("gateway.key");
  const std::optional<int> status = customers->RunToExit();
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_THAT(customers->Log(), HasSubstr("configuration error: --tls_key_file"));
  EXPECT_THAT(customers->Log(), HasSubstr("does not match the certificate"));
}

}  // namespace
}  // namespace crm
