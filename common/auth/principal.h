#pragma once
// Who is calling (GW-2): verified from the bearer token on every call.

#include <optional>
#include <string>
#include <string_view>

namespace crm::auth {

enum class Role { kManager, kSupervisor, kPhoneManager, kAdmin, kService };

// "MANAGER", "SUPERVISOR", "PHONE_MANAGER", "ADMIN", "SERVICE".
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

struct Principal {
  std::string subject;  // the user id (JWT "sub")
  Role role = Role::kManager;
  std::string team;     // JWT "team"; supervisors see their team
};

}  // namespace crm::auth
