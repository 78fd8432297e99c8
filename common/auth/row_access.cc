#include "common/auth/row_access.h"

namespace crm::auth {

AccessScope ScopeFor(const Principal& p) {
  switch (p.role) {
    case Role::kAdmin:
    case Role::kService:
      return {AccessScope::Kind::kAll, p.subject, p.team};
    case Role::kSupervisor:
      return {AccessScope::Kind::kTeam, p.subject, p.team};
    case Role::kManager:
    case Role::kPhoneManager:
      break;
  }
  return {AccessScope::Kind::kOwner, p.subject, p.team};
}

bool InScope(const AccessScope& scope, const std::string& owner, const std::string& team) {
  switch (scope.kind) {
    case AccessScope::Kind::kAll:
      return true;
    case AccessScope::Kind::kTeam:
      return (!scope.team.empty() && team == scope.team) || owner == scope.subject;
    case AccessScope::Kind::kOwner:
      return owner == scope.subject;
  }
  return false;
}

bool IsSupervisorOf(const Principal& p, const std::string& team) {
  return p.role == Role::kAdmin || (p.role == Role::kSupervisor && !p.team.empty() && p.team == team);
}

absl::StatusOr<AccessScope> TeamReportScope(const Principal& p, const std::string& team) {
  if (p.role != Role::kService && !IsSupervisorOf(p, team)) {
    return absl::PermissionDeniedError("only the team's supervisor may see the team's report");
  }
  return AccessScope{.kind = AccessScope::Kind::kTeam, .subject = "", .team = team};
}

ScopeCondition ScopeWhere(const AccessScope& scope, const std::string& prefix) {
  switch (scope.kind) {
    case AccessScope::Kind::kAll:
      return {"TRUE", {}};
    case AccessScope::Kind::kTeam:
      if (scope.team.empty()) break;  // a team-less supervisor sees only their own rows
      return {"(" + prefix + "team = ? OR " + prefix + "owner = ?)", {scope.team, scope.subject}};
    case AccessScope::Kind::kOwner:
      break;
  }
  return {prefix + "owner = ?", {scope.subject}};
}

}  // namespace crm::auth
