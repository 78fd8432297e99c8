// crmctl token: a development HS256 token signed with a local key file.

#include <iostream>

#include "absl/strings/numbers.h"
#include "common/auth/principal.h"
#include "common/auth/secret_file.h"
#include "common/auth/token_minter.h"
#include "services/crmctl/command.h"

namespace crm::crmctl {
namespace {

int MintToken(Invocation& inv) {
  const Args& args = inv.args();
  std::optional<auth::Role> role = auth::ParseRole(*args.Get("role"));
  if (!role) {
    return inv.UsageError(
        "--role must be MANAGER, SUPERVISOR, PHONE_MANAGER, ADMIN or SERVICE");
  }
  double ttl_hours = 12;
  if (std::optional<std::string> ttl = args.Get("ttl-hours");
      ttl && (!absl::SimpleAtod(*ttl, &ttl_hours) || !(ttl_hours > 0))) {
    return inv.UsageError("--ttl-hours must be a positive number");
  }
  absl::StatusOr<std::string> key = auth::ReadSecretFile(*args.Get("key-file"));
  if (!key.ok()) return inv.UsageError(key.status().message());

  auth::Principal principal;
  principal.subject = *args.Get("subject");
  principal.role = *role;
  principal.team = args.GetOr("team", "");
  absl::StatusOr<std::string> token =
      auth::MintHs256Token(*key, args.GetOr("issuer", "crm-local"), args.GetOr("audience", "crm"),
                           principal, absl::Now(), absl::Hours(ttl_hours));
  if (!token.ok()) return inv.UsageError(token.status().message());
  inv.out() << *token << "\n";
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> TokenCommands() {
  return {{.path = {"token"},
           .positional = {},
           .required_flags = {"key-file", "subject", "role"},
           .optional_flags = {"issuer", "audience", "team", "ttl-hours"},
           .summary = "print a development HS256 token (issuer crm-local, audience crm, 12 h)",
           .run = &MintToken}};
}

}  // namespace crm::crmctl
