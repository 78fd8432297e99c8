// TLS and mutual TLS on the suite's own server runner (crm::server::GrpcServer)
// and channels (crm::client::MakeChannel), in process, with certificates made
// by deploy/local/dev-certs.sh for this run: who gets through and who is
// refused, the OpenSSL context of HTTPS listeners (the gateway's HTTP
// front), and the start-up checks of the certificate files.

#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "common/client/client.h"
#include "common/server/server.h"
#include "common/testing/status_matchers.h"
#include "common/tls/tls.h"
#include "crm/bench/v1/echo.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/tls/dev_certs.h"

namespace crm {
namespace {

using ::crm::testing::DevCerts;
using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class CountingEcho final : public bench::v1::Echo::Service {
 public:
  grpc::Status Echo(grpc::ServerContext*, const bench::v1::EchoRequest* request,
                    bench::v1::EchoResponse* response) override {
    ++calls;
    response->set_payload(request->payload());
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};
};

// Two unrelated CAs for the whole run: "ours" and a stranger's.
class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ours = DevCerts::Create(CRM_DEV_CERTS_SH);
    ASSERT_TRUE(ours.ok()) << ours.status();
    auto other = DevCerts::Create(CRM_DEV_CERTS_SH);
    ASSERT_TRUE(other.ok()) << other.status();
    ours_ = ours->release();
    other_ = other->release();
  }
  static void TearDownTestSuite() {
    delete ours_;
    delete other_;
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    client::SetChannelTls({});
  }

  // Serves CountingEcho on a free loopback port with `tls`.
  void Serve(tls::ServerTls tls) {
    server::ServerOptions options;
    options.tls = std::move(tls);
    options.shutdown_grace = absl::Seconds(1);
    server_ = std::make_unique<server::GrpcServer>(options, std::vector<grpc::Service*>{&echo_},
                                                   std::vector<std::string>{}, nullptr);
    auto port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
  }

  std::string Target(const std::string& host = "127.0.0.1") const { return absl::StrCat(host, ":", port_); }

  // One Echo call; a refused handshake shows as UNAVAILABLE.
  static grpc::Status Call(const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    bench::v1::EchoRequest request;
    request.set_payload("ping");
    bench::v1::EchoResponse response;
    grpc::Status status = bench::v1::Echo::NewStub(channel)->Echo(&context, request, &response);
    if (status.ok()) {
      EXPECT_EQ(response.payload(), "ping");
    }
    return status;
  }
  grpc::Status CallWith(const tls::ChannelTls& tls, const std::string& host = "127.0.0.1") const {
    return Call(grpc::CreateChannel(Target(host), tls::ChannelCredentials(tls)));
  }

  static DevCerts* ours_;
  static DevCerts* other_;
  CountingEcho echo_;
  std::unique_ptr<server::GrpcServer> server_;
  int port_ = 0;
};

DevCerts* TlsTest::ours_ = nullptr;
DevCerts* TlsTest::other_ = nullptr;

// ---- TLS: the server proves who it is ----

TEST_F(TlsTest, ServiceChannelTrustingTheCaIsServed) {
  Serve(ours_->Server("customers"));
  // The path every service-to-service call takes.
  client::SetChannelTls(ours_->Channel());
  EXPECT_TRUE(Call(client::MakeChannel(Target())).ok());
  EXPECT_TRUE(Call(client::MakeChannel(Target("localhost"))).ok());
  EXPECT_EQ(echo_.calls.load(), 2);
}

TEST_F(TlsTest, PlaintextClientIsRefused) {
  Serve(ours_->Server("customers"));
  EXPECT_EQ(CallWith(tls::ChannelTls{}).error_code(), grpc::StatusCode::UNAVAILABLE);
  // MakeChannel without TLS configured is plaintext too.
  EXPECT_EQ(Call(client::MakeChannel(Target())).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(echo_.calls.load(), 0);
}

TEST_F(TlsTest, ClientTrustingAnotherCaIsRefused) {
  Serve(ours_->Server("customers"));
  EXPECT_EQ(CallWith(other_->Channel()).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(echo_.calls.load(), 0);
}

TEST_F(TlsTest, ServerWhoseCertificateNamesAnotherHostIsRefused) {
  // crmctl's certificate is signed by the right CA but names no host.
  Serve(ours_->Server("crmctl"));
  EXPECT_EQ(CallWith(ours_->Channel()).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(echo_.calls.load(), 0);
}

// ---- Mutual TLS: the client proves who it is too ----

TEST_F(TlsTest, MutualTlsRefusesAClientWithoutCertificate) {
  Serve(ours_->Server("customers", /*require_client_ca=*/true));
  EXPECT_EQ(CallWith(ours_->Channel()).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(CallWith(tls::ChannelTls{}).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(echo_.calls.load(), 0);
}

TEST_F(TlsTest, MutualTlsRefusesAClientCertificateOfAnotherCa) {
  Serve(ours_->Server("customers", /*require_client_ca=*/true));
  // Trusts our server, presents a certificate the stranger's CA signed.
  tls::ChannelTls tls = ours_->Channel();
  const tls::ChannelTls stranger = other_->Channel("gateway");
  tls.cert_chain_pem = stranger.cert_chain_pem;
  tls.private_key_pem = stranger.private_key_pem;
  EXPECT_EQ(CallWith(tls).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(echo_.calls.load(), 0);
}

TEST_F(TlsTest, MutualTlsServesAClientCertificateOfTheCa) {
  Serve(ours_->Server("customers", /*require_client_ca=*/true));
  EXPECT_TRUE(CallWith(ours_->Channel("crmctl")).ok());
  client::SetChannelTls(ours_->Channel("gateway"));
  EXPECT_TRUE(Call(client::MakeChannel(Target())).ok());
  EXPECT_EQ(echo_.calls.load(), 2);
}

// ---- HTTPS (cpp-httplib on ConfigureServerContext, as the gateway's HTTP front) ----

class HttpsTest : public TlsTest {
 protected:
  void ServeHttps(const tls::ServerTls& tls) {
    absl::Status configured;
    https_ = std::make_unique<httplib::SSLServer>([&](SSL_CTX& context) {
      configured = tls::ConfigureServerContext(context, tls);
      return configured.ok();
    });
    ASSERT_TRUE(https_->is_valid()) << configured;
    https_->Get("/ping", [](const httplib::Request&, httplib::Response& response) {
      response.set_content("pong", "text/plain");
    });
    port_ = https_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { https_->listen_after_bind(); });
    while (!https_->is_running()) std::this_thread::yield();
  }
  void TearDown() override {
    if (https_ != nullptr) https_->stop();
    if (thread_.joinable()) thread_.join();
    TlsTest::TearDown();
  }

  // GET /ping trusting `trusted`'s CA, presenting `client` of `issuer` if not empty.
  httplib::Result Ping(const DevCerts& trusted, const DevCerts* issuer = nullptr, const std::string& client = "") {
    auto https = issuer == nullptr ? std::make_unique<httplib::SSLClient>("127.0.0.1", port_)
                                   : std::make_unique<httplib::SSLClient>("127.0.0.1", port_,
                                                                          issuer->Path(client + ".crt"),
                                                                          issuer->Path(client + ".key"));
    https->set_ca_cert_path(trusted.Path("ca.crt").c_str());
    https->enable_server_certificate_verification(true);
    https->set_connection_timeout(5, 0);
    https->set_read_timeout(5, 0);
    return https->Get("/ping");
  }

  std::unique_ptr<httplib::SSLServer> https_;
  std::thread thread_;
};

TEST_F(HttpsTest, ServesClientsTrustingTheCaOnly) {
  ASSERT_NO_FATAL_FAILURE(ServeHttps(ours_->Server("gateway")));
  auto served = Ping(*ours_);
  ASSERT_TRUE(served) << httplib::to_string(served.error());
  EXPECT_EQ(served->body, "pong");
  EXPECT_EQ(Ping(*other_).error(), httplib::Error::SSLServerVerification);
  httplib::Client plain("127.0.0.1", port_);
  plain.set_read_timeout(5, 0);
  EXPECT_FALSE(plain.Get("/ping"));
}

TEST_F(HttpsTest, MutualTlsServesOnlyTheCasClientCertificates) {
  ASSERT_NO_FATAL_FAILURE(ServeHttps(ours_->Server("gateway", /*require_client_ca=*/true)));
  auto served = Ping(*ours_, ours_, "crmctl");
  ASSERT_TRUE(served) << httplib::to_string(served.error());
  EXPECT_EQ(served->body, "pong");
  EXPECT_FALSE(Ping(*ours_));                     // no certificate
  EXPECT_FALSE(Ping(*ours_, other_, "crmctl"));  // another CA's certificate
}

// ---- Start-up checks: a bad file is reported by flag and path ----

TEST_F(TlsTest, LoadsNothingWhenNoFileIsGiven) {
  auto server = tls::LoadServerTls("", "", "");
  ASSERT_THAT(server.status(), IsOk());
  EXPECT_FALSE(server->enabled());
  auto channel = tls::LoadChannelTls("", "", "");
  ASSERT_THAT(channel.status(), IsOk());
  EXPECT_FALSE(channel->enabled());
}

TEST_F(TlsTest, RefusesAKeyThatDoesNotMatchTheCertificate) {
  EXPECT_THAT(tls::LoadServerTls(ours_->Path("customers.crt"), ours_->Path("gateway.key"), "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--tls_key_file"), HasSubstr(ours_->Path("gateway.key")),
                             HasSubstr("does not match"))));
  EXPECT_THAT(tls::LoadChannelTls(ours_->Path("ca.crt"), ours_->Path("crmctl.crt"), ours_->Path("gateway.key"))
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--tls_client_key_file"), HasSubstr("does not match"))));
}

TEST_F(TlsTest, RefusesMissingAndMalformedFiles) {
  const std::string missing = ours_->Path("missing.crt");
  EXPECT_THAT(tls::LoadServerTls(missing, ours_->Path("customers.key"), "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--tls_cert_file"), HasSubstr(missing), HasSubstr("cannot be read"))));
  // A key where a CA certificate belongs.
  EXPECT_THAT(tls::LoadChannelTls(ours_->Path("ca.key"), "", "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--tls_ca_file"), HasSubstr("no PEM certificate"))));
  EXPECT_THAT(tls::LoadServerTls(ours_->Path("customers.crt"), ours_->Path("customers.key"),
                                 ours_->Path("customers.key"))
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls_client_ca_file")));
  // A certificate where the key belongs.
  EXPECT_THAT(tls::LoadServerTls(ours_->Path("customers.crt"), ours_->Path("customers.crt"), "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--tls_key_file"), HasSubstr("no unencrypted PEM private key"))));
  const std::string empty = ours_->Path("empty.crt");
  std::ofstream(empty).close();
  EXPECT_THAT(tls::LoadServerTls(empty, ours_->Path("customers.key"), "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("--tls_cert_file"), HasSubstr("empty"))));
}

// Writes a self-signed certificate that expired an hour ago and its key
// (dev-certs.sh cannot date one in the past) to <path>.crt / <path>.key.
void WriteExpiredCertificate(const std::string& path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  ASSERT_EQ(ASN1_INTEGER_set(X509_get_serialNumber(cert), 1), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -2 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), -3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("expired"), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  X509_set_pubkey(cert, key);
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  FILE* crt = std::fopen((path + ".crt").c_str(), "w");
  FILE* pem = std::fopen((path + ".key").c_str(), "w");
  ASSERT_TRUE(crt != nullptr && pem != nullptr);
  EXPECT_EQ(PEM_write_X509(crt, cert), 1);
  EXPECT_EQ(PEM_write_PrivateKey(pem, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  std::fclose(crt);
  std::fclose(pem);
  X509_free(cert);
  EVP_PKEY_free(key);
}

TEST_F(TlsTest, RefusesAnExpiredCertificateAndABundleOfExpiredCas) {
  const std::string expired = ours_->Path("expired");
  ASSERT_NO_FATAL_FAILURE(WriteExpiredCertificate(expired));
  EXPECT_THAT(tls::LoadServerTls(expired + ".crt", expired + ".key", "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--tls_cert_file"), HasSubstr("expired certificate"))));
  EXPECT_THAT(tls::LoadChannelTls(expired + ".crt", "", "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--tls_ca_file"), HasSubstr("expired certificate"))));
  // A bundle with one stale root among valid ones is fine.
  const std::string bundle = ours_->Path("bundle.crt");
  std::ofstream(bundle) << ReadFile(expired + ".crt") << ReadFile(ours_->Path("ca.crt"));
  EXPECT_THAT(tls::LoadChannelTls(bundle, "", "").status(), IsOk());
}

TEST_F(TlsTest, RefusesHalfConfigurations) {
  EXPECT_THAT(tls::LoadServerTls(ours_->Path("customers.crt"), "", "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls_key_file")));
  EXPECT_THAT(tls::LoadServerTls("", "", ours_->Path("ca.crt")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls_client_ca_file")));
  EXPECT_THAT(tls::LoadChannelTls("", ours_->Path("crmctl.crt"), ours_->Path("crmctl.key")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs --tls_ca_file")));
  EXPECT_THAT(tls::LoadChannelTls(ours_->Path("ca.crt"), ours_->Path("crmctl.crt"), "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls_client_key_file")));
}

}  // namespace
}  // namespace crm
