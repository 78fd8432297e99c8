#include "services/gateway/src/views.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/calendar/period.h"
#include "common/calendar/proto_date.h"
#include "common/status/grpc_status.h"
#include "common/status/status.h"
#include "common/util/proto_time.h"
#include "common/util/resource_name.h"
#include "crm/complaints/v1/complaints.grpc.pb.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "crm/opportunities/v1/opportunities.grpc.pb.h"
#include "crm/scheduling/v1/scheduling.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace crm::gateway {
namespace {

namespace gw = crm::gateway::v1;
namespace cpb = crm::customers::v1;
namespace opb = crm::opportunities::v1;
namespace kpb = crm::complaints::v1;
namespace spb = crm::scheduling::v1;
namespace gpb = google::protobuf;
using Parts = gpb::RepeatedPtrField<gw::UnavailablePart>;

constexpr int kDefaultHorizonDays = 14;
constexpr int kMaxHorizonDays = 90;

template <typename Service>
std::string M(absl::string_view method) {
  return MethodPath<Service>(method);
}

void MarkUnavailable(Parts* parts, absl::string_view part, absl::string_view service, const grpc::Status& status) {
  gw::UnavailablePart* p = parts->Add();
  p->set_part(std::string(part));
  p->set_service(std::string(service));
  p->set_code(absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())));
  p->set_message(status.error_message());
}

// Deterministic order for clients and tests (legs end in any order).
void SortParts(Parts* parts, gpb::RepeatedPtrField<std::string>* truncated) {
  std::sort(parts->begin(), parts->end(),
            [](const gw::UnavailablePart& a, const gw::UnavailablePart& b) { return a.part() < b.part(); });
  if (truncated != nullptr) std::sort(truncated->begin(), truncated->end());
}

// A list part: its rows when the service answered, the marker otherwise.
template <typename Response, typename View, typename Rows>
std::function<void(const grpc::Status&, Response&)> ListPart(View* view, const char* part, const char* service,
                                                               Rows* (View::*rows)(), Rows* (Response::*from)()) {
  return [view, part, service, rows, from](const grpc::Status& status, Response& response) {
    if (!status.ok()) {
      MarkUnavailable(view->mutable_unavailable(), part, service, status);
      return;
    }
    (view->*rows)()->Swap((response.*from)());
    if (!response.next_page_token().empty()) view->add_truncated(part);
  };
}

grpc::Status Invalid(std::string field, std::string description) {
  return ToGrpcStatus(InvalidField(std::move(field), std::move(description)));
}

bool RefusesTheWholeView(grpc::StatusCode code) {
  return code == grpc::StatusCode::NOT_FOUND || code == grpc::StatusCode::PERMISSION_DENIED ||
         code == grpc::StatusCode::INVALID_ARGUMENT || code == grpc::StatusCode::UNAUTHENTICATED;
}

std::optional<calendar::Period> PeriodOf(spb::PlanPeriod period) {
  switch (period) {
    case spb::WEEK:
      return calendar::Period::kWeek;
    case spb::PLAN_PERIOD_UNSPECIFIED:
    case spb::MONTH:
      return calendar::Period::kMonth;
    case spb::QUARTER:
      return calendar::Period::kQuarter;
    case spb::YEAR:
      return calendar::Period::kYear;
    default:
      return std::nullopt;
  }
}

bool Unavailable(const gw::Dashboard& d, absl::string_view part) {
  return std::any_of(d.unavailable().begin(), d.unavailable().end(),
                     [&](const gw::UnavailablePart& p) { return p.part() == part; });
}

}  // namespace

// ---------------------------------------------------------------- suite health

void Views::GetSuiteHealth(const Outbound& outbound, const gw::GetSuiteHealthRequest&, gw::SuiteHealth* health,
                           Done done) const {
  const auto cap = std::chrono::system_clock::now() + absl::ToChronoNanoseconds(options_.health_timeout);
  const auto deadline = std::min(outbound.deadline, cap);
  auto fan = FanOut::Create(backends_, outbound, [health, done] {
    std::sort(health->mutable_services()->begin(), health->mutable_services()->end(),
              [](const gw::ServiceHealth& a, const gw::ServiceHealth& b) { return a.service() < b.service(); });
    const bool all_serving = std::all_of(health->services().begin(), health->services().end(),
                                         [](const gw::ServiceHealth& s) { return s.status() == "SERVING"; });
    health->set_status(all_serving ? "SERVING" : "NOT_SERVING");
    done(grpc::Status::OK);
  });
  for (const Backend& backend : backends_.list()) {
    const absl::Time asked = absl::Now();
    fan->CallOn<grpc::health::v1::HealthCheckResponse>(
        backend.channel, M<grpc::health::v1::Health>("Check"), grpc::health::v1::HealthCheckRequest(), deadline,
        [health, &backend, asked](const grpc::Status& status, grpc::health::v1::HealthCheckResponse& reply) {
          gw::ServiceHealth* s = health->add_services();
          s->set_service(backend.name);
          s->set_address(backend.address);
          s->set_latency_micros(absl::ToInt64Microseconds(absl::Now() - asked));
          if (status.ok()) {
            s->set_status(grpc::health::v1::HealthCheckResponse::ServingStatus_Name(reply.status()));
          } else {
            s->set_status("UNKNOWN");
            s->set_error(absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
                                      ": ", status.error_message()));
          }
        });
  }
  fan->Launch();
}

// ---------------------------------------------------------------- Customer 360 (GW-3)

void Views::GetCustomer360(const Outbound& outbound, const gw::GetCustomer360Request& request,
                           gw::Customer360* view, Done done) const {
  if (absl::StatusOr<int64_t> id = ParseSingleId(request.name(), "customers", "name"); !id.ok()) {
    return done(ToGrpcStatus(id.status()));
  }
  if (request.horizon_days() < 0 || request.horizon_days() > kMaxHorizonDays) {
    return done(Invalid("horizon_days", absl::StrCat("0 (", kDefaultHorizonDays, " days) to ", kMaxHorizonDays)));
  }
  const int horizon_days = request.horizon_days() == 0 ? kDefaultHorizonDays : request.horizon_days();
  const absl::Time now = clock_.Now();
  const absl::Time horizon = now + absl::Hours(24) * horizon_days;
  ToProto(now, view->mutable_as_of());

  // The customer's own answer about the request (not found, not allowed)
  // is the answer for the whole view.
  auto refusal = std::make_shared<grpc::Status>();
  auto fan = FanOut::Create(backends_, outbound, [view, refusal, done] {
    if (!refusal->ok()) return done(*refusal);
    SortParts(view->mutable_unavailable(), view->mutable_truncated());
    done(grpc::Status::OK);
  });
  const std::string& customer = request.name();

  cpb::GetCustomerRequest get;
  get.set_name(customer);
  fan->Call<cpb::Customer>(M<cpb::CustomerService>("GetCustomer"), get,
                           [view, refusal](const grpc::Status& status, cpb::Customer& c) {
                             if (status.ok()) {
                               view->mutable_customer()->Swap(&c);
                             } else if (RefusesTheWholeView(status.error_code())) {
                               *refusal = status;
                             } else {
                               MarkUnavailable(view->mutable_unavailable(), "customer", "customers", status);
                             }
                           });

  cpb::ListContactsRequest contacts;
  contacts.set_parent(customer);
  contacts.set_page_size(kMaxRowsPerPart);
  fan->Call<cpb::ListContactsResponse>(
      M<cpb::CustomerService>("ListContacts"), contacts,
      ListPart(view, "contacts", "customers", &gw::Customer360::mutable_contacts,
               &cpb::ListContactsResponse::mutable_contacts));

  opb::ListOpportunitiesRequest opportunities;
  opportunities.set_customer(customer);
  opportunities.set_state(opb::OPPORTUNITY_OPEN);
  opportunities.set_page_size(kMaxRowsPerPart);
  fan->Call<opb::ListOpportunitiesResponse>(
      M<opb::OpportunityService>("ListOpportunities"), opportunities,
      ListPart(view, "open_opportunities", "opportunities", &gw::Customer360::mutable_open_opportunities,
               &opb::ListOpportunitiesResponse::mutable_opportunities));

  opb::GetWeightedPipelineRequest pipeline;
  pipeline.set_customer(customer);
  fan->Call<opb::WeightedPipeline>(M<opb::OpportunityService>("GetWeightedPipeline"), pipeline,
                                   [view](const grpc::Status& status, opb::WeightedPipeline& p) {
                                     if (status.ok()) {
                                       view->mutable_pipeline()->Swap(p.mutable_totals());
                                     } else {
                                       MarkUnavailable(view->mutable_unavailable(), "pipeline", "opportunities",
                                                       status);
                                     }
                                   });

  kpb::ListComplaintsRequest complaints;
  complaints.set_customer(customer);
  complaints.set_open_only(true);
  complaints.set_page_size(kMaxRowsPerPart);
  fan->Call<kpb::ListComplaintsResponse>(
      M<kpb::ComplaintService>("ListComplaints"), complaints,
      ListPart(view, "open_complaints", "complaints", &gw::Customer360::mutable_open_complaints,
               &kpb::ListComplaintsResponse::mutable_complaints));

  spb::ListVisitsRequest visits;
  visits.set_customer(customer);
  visits.set_status(spb::PLANNED);
  ToProto(now, visits.mutable_start_time());
  ToProto(horizon, visits.mutable_end_time());
  visits.set_page_size(kMaxRowsPerPart);
  fan->Call<spb::ListVisitsResponse>(
      M<spb::SchedulingService>("ListVisits"), visits,
      ListPart(view, "upcoming_visits", "scheduling", &gw::Customer360::mutable_upcoming_visits,
               &spb::ListVisitsResponse::mutable_visits));

  spb::ListTasksRequest tasks;
  tasks.set_customer(customer);
  tasks.set_state(spb::TASK_OPEN);
  ToProto(horizon, tasks.mutable_due_before());
  tasks.set_page_size(kMaxRowsPerPart);
  fan->Call<spb::ListTasksResponse>(M<spb::SchedulingService>("ListTasks"), tasks,
                                    ListPart(view, "due_tasks", "scheduling", &gw::Customer360::mutable_due_tasks,
                                             &spb::ListTasksResponse::mutable_tasks));
  fan->Launch();
}

// ---------------------------------------------------------------- my day

void Views::GetMyDay(const Outbound& outbound, const gw::GetMyDayRequest& request, gw::MyDay* view,
                     Done done) const {
  const absl::TimeZone& zone = options_.zone;
  const absl::CivilDay today = absl::ToCivilDay(clock_.Now(), zone);
  const absl::Time day_start = absl::FromCivil(today, zone);
  const absl::Time day_end = absl::FromCivil(today + 1, zone);
  view->set_owner(request.owner().empty() ? outbound.subject : request.owner());
  calendar::SetDate(today, view->mutable_date());
  auto fan = FanOut::Create(backends_, outbound, [view, done] {
    SortParts(view->mutable_unavailable(), view->mutable_truncated());
    done(grpc::Status::OK);
  });

  spb::ListVisitsRequest visits;
  visits.set_owner(view->owner());
  ToProto(day_start, visits.mutable_start_time());
  ToProto(day_end, visits.mutable_end_time());
  visits.set_page_size(kMaxRowsPerPart);
  fan->Call<spb::ListVisitsResponse>(M<spb::SchedulingService>("ListVisits"), visits,
                                     ListPart(view, "visits", "scheduling", &gw::MyDay::mutable_visits,
                                              &spb::ListVisitsResponse::mutable_visits));

  spb::ListTasksRequest tasks;
  tasks.set_owner(view->owner());
  tasks.set_state(spb::TASK_OPEN);
  ToProto(day_end, tasks.mutable_due_before());
  tasks.set_page_size(kMaxRowsPerPart);
  fan->Call<spb::ListTasksResponse>(M<spb::SchedulingService>("ListTasks"), tasks,
                                    ListPart(view, "tasks", "scheduling", &gw::MyDay::mutable_tasks,
                                             &spb::ListTasksResponse::mutable_tasks));

  spb::ListCareDueRequest care;
  care.set_owner(view->owner());
  care.set_horizon_days(1);
  care.set_page_size(kMaxRowsPerPart);
  fan->Call<spb::ListCareDueResponse>(M<spb::SchedulingService>("ListCareDue"), care,
                                      ListPart(view, "care", "scheduling", &gw::MyDay::mutable_care,
                                               &spb::ListCareDueResponse::mutable_care));

  kpb::ListComplaintsRequest complaints;
  complaints.set_owner(view->owner());
  complaints.set_open_only(true);
  complaints.set_at_risk_only(true);
  complaints.set_page_size(kMaxRowsPerPart);
  fan->Call<kpb::ListComplaintsResponse>(
      M<kpb::ComplaintService>("ListComplaints"), complaints,
      ListPart(view, "complaints_at_risk", "complaints", &gw::MyDay::mutable_complaints_at_risk,
               &kpb::ListComplaintsResponse::mutable_complaints));
  fan->Launch();
}

// ---------------------------------------------------------------- dashboards (GW-4)

void Views::GetDashboard(const Outbound& outbound, const gw::GetDashboardRequest& request,
                         gw::Dashboard* dashboard, Done done) const {
  if (!request.owner().empty() && !request.team().empty()) {
    return done(Invalid("team", "give owner or team, not both"));
  }
  const std::optional<calendar::Period> period = PeriodOf(request.period());
  if (!period) return done(Invalid("period", "WEEK, MONTH, QUARTER or YEAR"));
  const absl::TimeZone& zone = options_.zone;
  absl::CivilDay start = calendar::PeriodStartContaining(*period, absl::ToCivilDay(clock_.Now(), zone));
  if (request.has_period_start()) {
    absl::StatusOr<absl::CivilDay> day = calendar::DayOf(request.period_start(), "period_start");
    if (!day.ok()) return done(ToGrpcStatus(day.status()));
    start = *day;
  }
  absl::StatusOr<std::pair<absl::CivilDay, absl::CivilDay>> range = calendar::PeriodRange(*period, start);
  if (!range.ok()) return done(Invalid("period_start", std::string(range.status().message())));

  const std::string& team = request.team();
  const std::string owner = !team.empty() ? "" : request.owner().empty() ? outbound.subject : request.owner();
  dashboard->set_owner(owner);
  dashboard->set_team(team);
  calendar::SetDate(range->first, dashboard->mutable_start_date());
  calendar::SetDate(range->second - 1, dashboard->mutable_end_date());
  auto fan = FanOut::Create(backends_, outbound, [dashboard, done] {
    SortParts(dashboard->mutable_unavailable(), nullptr);
    FillDashboardFigures(*dashboard);
    done(grpc::Status::OK);
  });
  // Each report into its field, or the part marked unavailable.
  auto into = [dashboard]<typename Report>(Report* (gw::Dashboard::*field)(), const char* part, const char* service) {
    return [dashboard, field, part, service](const grpc::Status& status, Report& report) {
      if (status.ok()) {
        (dashboard->*field)()->Swap(&report);
      } else {
        MarkUnavailable(dashboard->mutable_unavailable(), part, service, status);
      }
    };
  };

  spb::GetWorkSummaryRequest work;
  work.set_owner(owner);
  work.set_team(team);
  work.set_period(request.period() == spb::PLAN_PERIOD_UNSPECIFIED ? spb::MONTH : request.period());
  calendar::SetDate(range->first, work.mutable_period_start());
  fan->Call<spb::WorkSummary>(M<spb::SchedulingService>("GetWorkSummary"), work,
                              into(&gw::Dashboard::mutable_work, "work", "scheduling"));

  kpb::GetSlaComplianceReportRequest sla;
  ToProto(absl::FromCivil(range->first, zone), sla.mutable_start_time());
  ToProto(absl::FromCivil(range->second, zone), sla.mutable_end_time());
  sla.set_team(team);
  fan->Call<kpb::SlaComplianceReport>(M<kpb::ComplaintService>("GetSlaComplianceReport"), sla,
                                      into(&gw::Dashboard::mutable_sla, "sla", "complaints"));

  opb::GetWeightedPipelineRequest pipeline;
  pipeline.set_owner(owner);
  pipeline.set_team(team);
  fan->Call<opb::WeightedPipeline>(M<opb::OpportunityService>("GetWeightedPipeline"), pipeline,
                                   into(&gw::Dashboard::mutable_pipeline, "pipeline", "opportunities"));

  cpb::GetDataQualityReportRequest quality;
  quality.set_owner(owner);
  quality.set_team(team);
  fan->Call<cpb::DataQualityReport>(M<cpb::CustomerService>("GetDataQualityReport"), quality,
                                    into(&gw::Dashboard::mutable_data_quality, "data_quality", "customers"));
  fan->Launch();
}

void FillDashboardFigures(gw::Dashboard& d) {
  gw::DashboardFigures& f = *d.mutable_figures();
  f.Clear();
  if (!Unavailable(d, "work")) {
    f.set_care_coverage(d.work().care_coverage());
    f.set_visits_planned(d.work().visits_planned());
    f.set_visits_done(d.work().visits_done());
  }
  if (!Unavailable(d, "sla")) {
    // The manager's row, or the team's; a population without complaints
    // (or without decided clocks) gives no rate rather than 0 %.
    const kpb::ComplianceFigures* row = nullptr;
    const auto& rows = d.team().empty() ? d.sla().managers() : d.sla().teams();
    for (const kpb::ManagerCompliance& r : rows) {
      if ((d.team().empty() ? r.owner() : r.team()) == (d.team().empty() ? d.owner() : d.team())) row = &r.figures();
    }
    if (row != nullptr) {
      if (row->first_response_decided() > 0) f.set_first_response_compliance(row->first_response_compliance());
      if (row->resolution_decided() > 0) f.set_resolution_compliance(row->resolution_compliance());
      if (row->closed() > 0) f.set_revisit_rate(row->revisit_rate());
      if (row->revisits() > 0) f.set_average_satisfaction(row->average_satisfaction());
    }
  }
  if (!Unavailable(d, "pipeline")) *f.mutable_weighted_pipeline() = d.pipeline().totals();
  if (!Unavailable(d, "data_quality")) {
    // Customer-weighted over the rows of the owner (or of the team).
    int64_t customers = 0, stale = 0;
    double completeness = 0;
    for (const cpb::ManagerDataQuality& m : d.data_quality().managers()) {
      if (!d.owner().empty() && m.owner() != d.owner()) continue;
      customers += m.customers();
      stale += m.stale_customers();
      completeness += m.average_completeness() * static_cast<double>(m.customers());
    }
    if (customers > 0) {
      f.set_data_completeness(completeness / static_cast<double>(customers));
      f.set_data_freshness(1.0 - static_cast<double>(stale) / static_cast<double>(customers));
    }
  }
}

// ---------------------------------------------------------------- dispatch (HTTP front)

bool Views::Serves(const gpb::MethodDescriptor& method) {
  static const gpb::ServiceDescriptor* const kViews =
      gw::Customer360::descriptor()->file()->FindServiceByName("GatewayService");
  return method.service() == kViews;
}

void Views::Dispatch(const gpb::MethodDescriptor& method, const Outbound& outbound, const gpb::Message& request,
                     gpb::Message* response, Done done) const {
  if (!Serves(method)) {
    return done(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, absl::StrCat(method.full_name(), " is not a view")));
  }
  // The descriptors match, so the messages are of these generated types.
  const std::string& name = method.name();
  if (name == "GetSuiteHealth") {
    return GetSuiteHealth(outbound, static_cast<const gw::GetSuiteHealthRequest&>(request),
                          static_cast<gw::SuiteHealth*>(response), std::move(done));
  }
  if (name == "GetCustomer360") {
    return GetCustomer360(outbound, static_cast<const gw::GetCustomer360Request&>(request),
                          static_cast<gw::Customer360*>(response), std::move(done));
  }
  if (name == "GetMyDay") {
    return GetMyDay(outbound, static_cast<const gw::GetMyDayRequest&>(request), static_cast<gw::MyDay*>(response),
                    std::move(done));
  }
  if (name == "GetDashboard") {
    return GetDashboard(outbound, static_cast<const gw::GetDashboardRequest&>(request),
                        static_cast<gw::Dashboard*>(response), std::move(done));
  }
  done(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, absl::StrCat(method.full_name(), " is not a view")));
}

}  // namespace crm::gateway
