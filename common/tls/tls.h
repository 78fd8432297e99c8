#pragma once
// TLS for every listener and channel of the suite: certificates and keys
// read from files once at start-up (checked there, so a bad file stops the
// process with a clear message instead of failing every handshake later),
// and the gRPC / OpenSSL credentials built from them. Off when no file is
// given: local runs stay plaintext on loopback.
//
// Flag names (services: common/server/service_config.cc; crmctl: its own):
//   --tls_cert_file, --tls_key_file   the server's identity
//   --tls_client_ca_file              set: clients MUST present a certificate
//                                     signed by this CA (mutual TLS)
//   --tls_ca_file                     outgoing channels use TLS and verify the
//                                     server against this CA
//   --tls_client_cert_file, --tls_client_key_file
//                                     the identity outgoing channels present

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace crm::tls {

// A listener's TLS (PEM text). Keys are never logged or printed.
struct ServerTls {
  std::string cert_chain_pem;  // leaf first, then intermediates
  std::string private_key_pem;
  // Non-empty: mutual TLS; a client without a certificate signed by one of
  // these CAs is refused during the handshake.
  std::string client_ca_pem;

  bool enabled() const { return !cert_chain_pem.empty(); }
  bool requires_client_certificate() const { return !client_ca_pem.empty(); }
};

// An outgoing channel's TLS (PEM text).
struct ChannelTls {
  // Non-empty: TLS, the server's certificate must chain to one of these
  // and name the host dialled (its SANs).
  std::string ca_pem;
  // Both or neither: the certificate presented to servers that ask for one.
  std::string cert_chain_pem;
  std::string private_key_pem;

  bool enabled() const { return !ca_pem.empty(); }
};

// Reads and checks the files: every one parses as PEM, the key matches the
// certificate, the certificate (or one CA of a bundle) has not expired. All empty:
// TLS off. INVALID_ARGUMENT naming the flag (and the file) when a file is
// missing, unreadable or wrong, or the combination makes no sense (a key
// without a certificate, a client CA without a server certificate).
absl::StatusOr<ServerTls> LoadServerTls(const std::string& cert_file, const std::string& key_file,
                                        const std::string& client_ca_file);
absl::StatusOr<ChannelTls> LoadChannelTls(const std::string& ca_file, const std::string& client_cert_file,
                                          const std::string& client_key_file);

// gRPC credentials: insecure when `tls` is off.
std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const ServerTls& tls);
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const ChannelTls& tls);

// Puts `tls` (enabled) into an OpenSSL server context, TLS 1.2 at least, for
// listeners that are not gRPC (the gateway's HTTPS front).
absl::Status ConfigureServerContext(SSL_CTX& context, const ServerTls& tls);

}  // namespace crm::tls
