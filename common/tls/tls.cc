#include "common/tls/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"

namespace crm::tls {
namespace {

// PEM bundles (a CA bundle may hold a few hundred certificates) stay far
// below this; anything larger is not a certificate file.
constexpr size_t kMaxPemBytes = 1 << 20;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

// "--flag path: what" — the operator sees which setting to fix.
absl::Status FileError(const char* flag, const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, ": ", what));
}

absl::StatusOr<std::string> ReadPemFile(const char* flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FileError(flag, path, "cannot be read");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return FileError(flag, path, "cannot be read");
  if (text.empty()) return FileError(flag, path, "is empty");
  if (text.size() > kMaxPemBytes) return FileError(flag, path, "is larger than 1 MiB");
  return text;
}

BioPtr MemoryBio(const std::string& pem) { return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

// Every certificate in `pem`, in order; none when it holds none.
std::vector<X509Ptr> ParseCertificates(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio = MemoryBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(cert);
  ERR_clear_error();  // the end of the input is reported as an error
  return certs;
}

KeyPtr ParseKey(const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  // An empty passphrase: an encrypted key fails instead of prompting on a tty.
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, const_cast<char*>("")));
  ERR_clear_error();
  return key;
}

enum class Holds { kChain, kCaBundle };

// A chain's leaf must be valid now; a CA bundle (possibly a system bundle
// with a few stale roots) needs one certificate that is.
absl::StatusOr<std::string> ReadCertificates(const char* flag, const std::string& path, Holds holds) {
  auto pem = ReadPemFile(flag, path);
  if (!pem.ok()) return pem.status();
  const std::vector<X509Ptr> certs = ParseCertificates(*pem);
  if (certs.empty()) return FileError(flag, path, "holds no PEM certificate");
  auto expired = [](const X509Ptr& cert) { return X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0; };
  if (holds == Holds::kChain ? expired(certs.front()) : std::all_of(certs.begin(), certs.end(), expired)) {
    return FileError(flag, path, "holds an expired certificate");
  }
  return pem;
}

// The certificate chain and its key, checked to belong together.
absl::Status ReadIdentity(const char* cert_flag, const std::string& cert_file, const char* key_flag,
                          const std::string& key_file, std::string& cert_pem, std::string& key_pem) {
  auto cert = ReadCertificates(cert_flag, cert_file, Holds::kChain);
  if (!cert.ok()) return cert.status();
  auto key = ReadPemFile(key_flag, key_file);
  if (!key.ok()) return key.status();
  KeyPtr parsed_key = ParseKey(*key);
  if (parsed_key == nullptr) return FileError(key_flag, key_file, "holds no unencrypted PEM private key");
  const std::vector<X509Ptr> chain = ParseCertificates(*cert);
  if (X509_check_private_key(chain.front().get(), parsed_key.get()) != 1) {
    ERR_clear_error();
    return FileError(key_flag, key_file, absl::StrCat("does not match the certificate in --", cert_flag, " ", cert_file));
  }
  cert_pem = *std::move(cert);
  key_pem = *std::move(key);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServerTls> LoadServerTls(const std::string& cert_file, const std::string& key_file,
                                        const std::string& client_ca_file) {
  ServerTls tls;
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file are given together or not at all");
  }
  if (cert_file.empty()) {
    if (!client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca_file (mutual TLS) needs the server's own --tls_cert_file and --tls_key_file");
    }
    return tls;
  }
  if (absl::Status s = ReadIdentity("tls_cert_file", cert_file, "tls_key_file", key_file, tls.cert_chain_pem,
                                    tls.private_key_pem);
      !s.ok()) {
    return s;
  }
  if (!client_ca_file.empty()) {
    auto ca = ReadCertificates("tls_client_ca_file", client_ca_file, Holds::kCaBundle);
    if (!ca.ok()) return ca.status();
    tls.client_ca_pem = *std::move(ca);
  }
  return tls;
}

absl::StatusOr<ChannelTls> LoadChannelTls(const std::string& ca_file, const std::string& client_cert_file,
                                          const std::string& client_key_file) {
  ChannelTls tls;
  if (client_cert_file.empty() != client_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_cert_file and --tls_client_key_file are given together or not at all");
  }
  if (ca_file.empty()) {
    if (!client_cert_file.empty()) {
      return absl::InvalidArgumentError("--tls_client_cert_file needs --tls_ca_file (a client certificate is only sent over TLS)");
    }
    return tls;
  }
  auto ca = ReadCertificates("tls_ca_file", ca_file, Holds::kCaBundle);
  if (!ca.ok()) return ca.status();
  tls.ca_pem = *std::move(ca);
  if (!client_cert_file.empty()) {
    if (absl::Status s = ReadIdentity("tls_client_cert_file", client_cert_file, "tls_client_key_file",
                                      client_key_file, tls.cert_chain_pem, tls.private_key_pem);
        !s.ok()) {
      return s;
    }
  }
  return tls;
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const ServerTls& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(tls.requires_client_certificate()
                                                ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                                : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_root_certs = tls.client_ca_pem;
  options.pem_key_cert_pairs.push_back({tls.private_key_pem, tls.cert_chain_pem});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const ChannelTls& tls) {
  if (!tls.enabled()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls.ca_pem;
  options.pem_cert_chain = tls.cert_chain_pem;
  options.pem_private_key = tls.private_key_pem;
  return grpc::SslCredentials(options);
}

absl::Status ConfigureServerContext(SSL_CTX& context, const ServerTls& tls) {
  std::vector<X509Ptr> chain = ParseCertificates(tls.cert_chain_pem);
  KeyPtr key = ParseKey(tls.private_key_pem);
  if (chain.empty() || key == nullptr) return absl::InvalidArgumentError("no TLS certificate and key");
  SSL_CTX_set_min_proto_version(&context, TLS1_2_VERSION);
  SSL_CTX_set_options(&context, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  bool ok = SSL_CTX_use_certificate(&context, chain.front().get()) == 1 &&
            SSL_CTX_use_PrivateKey(&context, key.get()) == 1 && SSL_CTX_check_private_key(&context) == 1;
  for (size_t i = 1; ok && i < chain.size(); ++i) {
    ok = SSL_CTX_add0_chain_cert(&context, chain[i].get()) == 1;  // takes ownership
    if (ok) chain[i].release();
  }
  if (ok && tls.requires_client_certificate()) {
    X509_STORE* store = SSL_CTX_get_cert_store(&context);
    for (const X509Ptr& ca : ParseCertificates(tls.client_ca_pem)) {
      // Also named in the handshake, so clients holding several certificates pick the right one.
      ok = ok && X509_STORE_add_cert(store, ca.get()) == 1 && SSL_CTX_add_client_CA(&context, ca.get()) == 1;
    }
    SSL_CTX_set_verify(&context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  ERR_clear_error();
  if (!ok) return absl::InvalidArgumentError("OpenSSL refused the TLS certificate, key or client CA");
  return absl::OkStatus();
}

}  // namespace crm::tls
