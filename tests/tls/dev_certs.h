#pragma once
// Throw-away certificates for TLS tests: deploy/local/dev-certs.sh run into
// a fresh temp dir (a new CA each time, so no private key is checked in),
// removed when the object goes away.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/tls/tls.h"

namespace crm::testing {

class DevCerts {
 public:
  // Runs `script` (deploy/local/dev-certs.sh).
  static absl::StatusOr<std::unique_ptr<DevCerts>> Create(const std::string& script);
  ~DevCerts();

  // "<dir>/<file>", e.g. Path("customers.crt").
  std::string Path(const std::string& file) const { return dir_ + "/" + file; }
  // "<dir>/<name>.crt" and "<dir>/<name>.key" as a listener's identity;
  // with `require_client_ca`, clients must present a certificate of this CA.
  tls::ServerTls Server(const std::string& name, bool require_client_ca = false) const;
  // Trusts this CA; presents "<name>.crt" when `client_name` is not empty.
  tls::ChannelTls Channel(const std::string& client_name = "") const;

 private:
  explicit DevCerts(std::string root) : root_(std::move(root)), dir_(root_ + "/certs") {}
  std::string root_;  // removed with the object
  std::string dir_;   // the script's output
};

}  // namespace crm::testing
