// crmctl suite | customer360 | my-day | dashboard: the gateway's own views
// (crm.gateway.v1.GatewayService).

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "crm/gateway/v1/gateway.grpc.pb.h"
#include "services/crmctl/command.h"
#include "services/crmctl/rpc.h"

namespace crm::crmctl {
namespace {

namespace v1 = crm::gateway::v1;

std::unique_ptr<v1::GatewayService::Stub> Stub(Invocation& inv) { return v1::GatewayService::NewStub(inv.Channel()); }

int SuiteHealth(Invocation& inv) {
  auto stub = Stub(inv);
  v1::SuiteHealth health;
  if (!CallRpc(inv, [&](auto* ctx, auto* resp) { return stub->GetSuiteHealth(ctx, {}, resp); }, health)) {
    return kExitFailed;
  }
  PrintMessage(health, inv.options().pretty, inv.out());
  return health.status() == "SERVING" ? kExitOk : kExitFailed;
}

int Customer360(Invocation& inv) {
  v1::GetCustomer360Request request;
  request.set_name(inv.args().positional()[0]);
  if (inv.args().Has("horizon-days")) {
    absl::StatusOr<int32_t> days = ParseIntArg(inv.args(), "horizon-days", 1, 90);
    if (!days.ok()) return inv.UsageError(days.status().message());
    request.set_horizon_days(*days);
  }
  auto stub = Stub(inv);
  return CallAndPrint<v1::Customer360>(
      inv, [&](auto* ctx, auto* resp) { return stub->GetCustomer360(ctx, request, resp); });
}

int MyDay(Invocation& inv) {
  v1::GetMyDayRequest request;
  request.set_owner(inv.args().GetOr("owner", ""));
  auto stub = Stub(inv);
  return CallAndPrint<v1::MyDay>(inv, [&](auto* ctx, auto* resp) { return stub->GetMyDay(ctx, request, resp); });
}

int Dashboard(Invocation& inv) {
  const Args& args = inv.args();
  v1::GetDashboardRequest request;
  request.set_owner(args.GetOr("owner", ""));
  request.set_team(args.GetOr("team", ""));
  if (args.Has("period")) {
    absl::StatusOr<int> period = ParseEnumArg(args, "period", *crm::scheduling::v1::PlanPeriod_descriptor());
    if (!period.ok()) return inv.UsageError(period.status().message());
    request.set_period(static_cast<crm::scheduling::v1::PlanPeriod>(*period));
  }
  if (args.Has("start")) {
    absl::CivilDay day;
    const std::string text = *args.Get("start");
    if (text.size() != 10 || !absl::ParseCivilTime(text, &day)) {
      return inv.UsageError(absl::StrCat("--start must be a date such as 2026-11-01, got \"", text, "\""));
    }
    request.mutable_period_start()->set_year(static_cast<int32_t>(day.year()));
    request.mutable_period_start()->set_month(day.month());
    request.mutable_period_start()->set_day(day.day());
  }
  auto stub = Stub(inv);
  return CallAndPrint<v1::Dashboard>(inv,
                                     [&](auto* ctx, auto* resp) { return stub->GetDashboard(ctx, request, resp); });
}

}  // namespace

std::vector<CommandSpec> GatewayCommands() {
  return {
      {.path = {"suite", "health"},
       .positional = {},
       .required_flags = {},
       .optional_flags = {},
       .summary = "every service's serving state through the gateway (exit 0 only when all SERVING)",
       .run = &SuiteHealth},
      {.path = {"customer360"},
       .positional = {"NAME"},
       .required_flags = {},
       .optional_flags = {"horizon-days"},
       .summary = "GW-3: customer, contacts, open opportunities and pipeline, open complaints with SLA clocks, "
                  "upcoming visits and due tasks, e.g. customers/7",
       .run = &Customer360},
      {.path = {"my-day"},
       .positional = {},
       .required_flags = {},
       .optional_flags = {"owner"},
       .summary = "visits today, tasks due, care due, complaints at risk (a supervisor may give --owner)",
       .run = &MyDay},
      {.path = {"dashboard"},
       .positional = {},
       .required_flags = {},
       .optional_flags = {"owner", "team", "period", "start"},
       .summary = "GW-4 figures of a manager or a team over a period (--period WEEK|MONTH|QUARTER|YEAR, "
                  "--start YYYY-MM-DD its first day; default: this month)",
       .run = &Dashboard},
  };
}

}  // namespace crm::crmctl
