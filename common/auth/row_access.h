#pragma once
// Row-level access (GW-2) for rows that carry an owner and a team: MANAGER
// and PHONE_MANAGER reach the rows they own, SUPERVISOR their team's (and
// their own), ADMIN and SERVICE every row. The customers service has its own
// richer rule (PHONE_MANAGER and ordinary C customers); every service that
// stores rows hanging off a customer or a manager uses this one.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth/principal.h"

namespace crm::auth {

struct AccessScope {
  enum class Kind { kOwner, kTeam, kAll } kind = Kind::kOwner;
  std::string subject;
  std::string team;
};

AccessScope ScopeFor(const Principal& p);
bool InScope(const AccessScope& scope, const std::string& owner, const std::string& team);
// ADMIN, or the SUPERVISOR of `team` (approvals, decisions, escalations).
bool IsSupervisorOf(const Principal& p, const std::string& team);
// The scope of a whole team's report (GW-4 team dashboards): the team's
// supervisor, ADMIN and SERVICE only; PERMISSION_DENIED for anyone else.
absl::StatusOr<AccessScope> TeamReportScope(const Principal& p, const std::string& team);

// InScope as a SQL condition over columns `<prefix>owner` and `<prefix>team`
// ("TRUE" for kAll), with its parameters in order.
struct ScopeCondition {
  std::string sql;
  std::vector<std::string> params;
};
ScopeCondition ScopeWhere(const AccessScope& scope, const std::string& prefix = "");

}  // namespace crm::auth
