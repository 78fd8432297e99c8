#include "common/auth/principal.h"

#include <array>
#include <utility>

namespace crm::auth {
namespace {

constexpr std::array<std::pair<Role, std::string_view>, 5> kRoleNames = {{
    {Role::kManager, "MANAGER"},
    {Role::kSupervisor, "SUPERVISOR"},
    {Role::kPhoneManager, "PHONE_MANAGER"},
    {Role::kAdmin, "ADMIN"},
    {Role::kService, "SERVICE"},
}};

}  // namespace

std::string_view RoleName(Role role) {
  for (const auto& [r, name] : kRoleNames) {
    if (r == role) return name;
  }
  return "UNKNOWN";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (const auto& [role, n] : kRoleNames) {
    if (n == name) return role;
  }
  return std::nullopt;
}

}  // namespace crm::auth
