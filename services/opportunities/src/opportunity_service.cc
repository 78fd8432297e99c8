#include "services/opportunities/src/opportunity_service.h"

#include <google/protobuf/util/field_mask_util.h>

#include <algorithm>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/util/aip.h"
#include "common/db/idempotency.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "common/util/resource_name.h"
#include "crm/opportunities/v1/events.pb.h"

namespace crm::opportunities {
namespace {

using auth::Role;
using google::protobuf::FieldMask;
using google::protobuf::Message;
using google::protobuf::util::FieldMaskUtil;

bool Has(const std::vector<std::string>& paths, absl::string_view p) {
  return std::find(paths.begin(), paths.end(), p) != paths.end();
}

void ClearFields(Message& m, std::initializer_list<const char*> fields) {
  for (const char* f : fields) m.GetReflection()->ClearField(&m, m.GetDescriptor()->FindFieldByName(f));
}

int64_t LastId(const std::string& name) {
  int64_t id = 0;
  return absl::SimpleAtoi(absl::string_view(name).substr(name.rfind('/') + 1), &id) ? id : 0;
}

absl::Status RequireRequestId(const std::string& request_id) {
  if (absl::Status s = db::ValidateRequestId(request_id); !s.ok()) {
    return InvalidField("request_id", std::string(s.message()));
  }
  return absl::OkStatus();
}

absl::Status Required(const std::string& value, const std::string& field, size_t max = 2000) {
  if (value.empty()) return InvalidField(field, "required");
  if (value.size() > max) return InvalidField(field, absl::StrCat("at most ", max, " bytes"));
  return absl::OkStatus();
}

// Filters of lists and reports (an optional customer name, owner and team
// subjects), checked before they reach a query.
absl::Status CheckFilters(const std::string& customer, const std::string& owner, const std::string& team) {
  Violations v;
  if (!customer.empty() && !ParseSingleId(customer, "customers", "customer").ok()) {
    v.Add("customer", "a customer name 'customers/{id}'");
  }
  CheckText(owner, "owner", 100, false, v);
  CheckText(team, "team", 100, false, v);
  return v.ToStatus();
}

template <typename T>
constexpr bool kHasOwner = requires(const T& t) { t.owner(); t.team(); };

template <typename T>
std::shared_ptr<const Message> Payload(T message) {
  return std::make_shared<T>(std::move(message));
}

bool IsAdmin(const auth::Principal& p) { return p.role == Role::kAdmin || p.role == Role::kService; }

// Moves the look-ahead row out and returns the next page token.
template <typename T>
std::string FinishPage(google::protobuf::RepeatedPtrField<T>* rows, int page_size,
                       const PageTokenCodec& tokens, const std::string& query) {
  if (rows->size() <= page_size) return "";
  rows->RemoveLast();
  return tokens.Encode(query, absl::StrCat(LastId(rows->Get(rows->size() - 1).name())));
}

}  // namespace

Actor OpportunityService::ActorFor(const Call& call, std::string method) const {
  return Actor{call.principal.subject, std::move(method), clock_.Now()};
}

template <typename T>
absl::StatusOr<T> OpportunityService::LoadVisible(const Call& call, Collection c, int64_t id,
                                                  const std::string& name) {
  T resource;
  absl::Status s = repo_.Get(call.deadline, c, id, resource);
  if (s.code() == absl::StatusCode::kNotFound || (s.ok() && resource.name() != name)) {
    return absl::NotFoundError(absl::StrCat(name, " not found"));
  }
  RETURN_IF_ERROR(s);
  if constexpr (kHasOwner<T>) {
    if (!InScope(ScopeFor(call.principal), resource.owner(), resource.team())) {
      return absl::NotFoundError(absl::StrCat(name, " not found"));
    }
  }
  return resource;
}

template <typename T, typename Fn>
absl::StatusOr<T> OpportunityService::MutateVisible(const Call& call, Collection c,
                                                    const std::string& name,
                                                    const std::vector<absl::string_view>& collections,
                                                    absl::string_view field, const char* method,
                                                    absl::string_view etag, Fn&& fn) {
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, ParseResourceName(name, collections, field));
  const AccessScope scope = ScopeFor(call.principal);
  T out;
  absl::Status s = repo_.Mutate(
      call.deadline, c, ids.back(), ActorFor(call, method),
      [&](Message& m, Events& events) -> absl::Status {
        T& current = static_cast<T&>(m);
        if (current.name() != name) return absl::NotFoundError(absl::StrCat(name, " not found"));
        if constexpr (kHasOwner<T>) {
          if (!InScope(scope, current.owner(), current.team())) {
            return absl::NotFoundError(absl::StrCat(name, " not found"));
          }
        }
        RETURN_IF_ERROR(CheckEtag(etag, current.etag()));
        return fn(current, events);
      },
      out);
  if (s.code() == absl::StatusCode::kNotFound) return absl::NotFoundError(absl::StrCat(name, " not found"));
  RETURN_IF_ERROR(s);
  return out;
}

absl::StatusOr<CustomerFacts> OpportunityService::Customer(const Call& call, const std::string& customer) {
  ASSIGN_OR_RETURN(CustomerFacts facts, customers_.Lookup(call.upstream, customer));
  // The customers service already applied GW-2 for this caller, so the
  // customer is theirs to see. Rows here follow the owner/team rule, which
  // is narrower for a PHONE_MANAGER (who sees the team's ordinary C
  // customers there, but only their own rows here): the customer's rows
  // would belong to its manager, so opening one is refused for the role.
  if (!InScope(ScopeFor(call.principal), facts.owner, facts.team)) {
    return absl::PermissionDeniedError(
        absl::StrCat("your role may not open needs or opportunities on ", customer, " (its manager's rows)"));
  }
  return facts;
}

absl::StatusOr<std::string> OpportunityService::CustomerOfParent(const Call& call, const std::string& name,
                                                                 absl::string_view collection) {
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, ParseResourceName(name, {"opportunities", collection}, "name"));
  pb::Opportunity parent;
  absl::Status s = repo_.Get(call.deadline, Collection::kOpportunities, ids[0], parent);
  // No parent, no child: the same answer the child's own lookup gives.
  if (s.code() == absl::StatusCode::kNotFound) return absl::NotFoundError(absl::StrCat(name, " not found"));
  RETURN_IF_ERROR(s);
  return parent.customer();
}

absl::StatusOr<pb::Opportunity> OpportunityService::OpenOpportunity(const Call& call,
                                                                    const std::string& parent) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(parent, "opportunities", "parent"));
  ASSIGN_OR_RETURN(pb::Opportunity o, LoadVisible<pb::Opportunity>(call, Collection::kOpportunities, id, parent));
  if (o.state() == pb::OPPORTUNITY_LOST) {
    return absl::FailedPreconditionError(absl::StrCat(parent, " is lost; it is closed"));
  }
  return o;
}

// ---------------------------------------------------------------- needs

absl::StatusOr<pb::Need> OpportunityService::CreateNeed(const Call& call, const pb::CreateNeedRequest& req) {
  RETURN_IF_ERROR(RequireRequestId(req.request_id()));
  pb::Need need = req.need();
  ClearFields(need, {"name", "status", "owner", "team", "escalated", "escalation_reason",
                     "escalate_time", "create_time", "update_time", "etag", "resolution"});
  Violations v;
  ValidateNeed(need, "need.", v);
  RETURN_IF_ERROR(v.ToStatus());
  ASSIGN_OR_RETURN(CustomerFacts customer, Customer(call, need.customer()));
  need.set_status(pb::OPEN);
  need.set_owner(customer.owner);
  need.set_team(customer.team);
  RETURN_IF_ERROR(repo_.Create(call.deadline, Collection::kNeeds, "", 0, need, req.request_id(),
                               ActorFor(call, "CreateNeed"), nullptr));
  return need;
}

absl::StatusOr<pb::Need> OpportunityService::GetNeed(const Call& call, const pb::GetNeedRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.name(), "needs", "name"));
  return LoadVisible<pb::Need>(call, Collection::kNeeds, id, req.name());
}

absl::StatusOr<pb::Need> OpportunityService::UpdateNeed(const Call& call, const pb::UpdateNeedRequest& req) {
  ASSIGN_OR_RETURN(std::vector<std::string> paths,
                   MaskPaths(req.update_mask(), {"title", "description", "status", "resolution"}));
  return MutateVisible<pb::Need>(
      call, Collection::kNeeds, req.need().name(), {"needs"}, "need.name", "UpdateNeed", req.need().etag(),
      [&](pb::Need& current, Events&) -> absl::Status {
        const pb::NeedStatus from = current.status();
        ApplyMask(req.need(), paths, current);
        if (Has(paths, "status")) {
          if (current.status() == pb::NEED_STATUS_UNSPECIFIED || !pb::NeedStatus_IsValid(current.status())) {
            return InvalidField("need.status", "one of OPEN, IN_PROGRESS, FULFILLED, DECLINED");
          }
          RETURN_IF_ERROR(CheckNeedTransition(from, current.status()));
        }
        const bool closed = current.status() == pb::FULFILLED || current.status() == pb::DECLINED;
        if (closed && current.resolution().empty()) {
          return InvalidField("need.resolution", "required to close a need (closed loop, OPP-1)");
        }
        Violations v;
        ValidateNeed(current, "need.", v);
        return v.ToStatus();
      });
}

absl::StatusOr<pb::ListNeedsResponse> OpportunityService::ListNeeds(const Call& call,
                                                                    const pb::ListNeedsRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  if (!pb::NeedStatus_IsValid(req.status())) return InvalidField("status", "unknown status");
  RETURN_IF_ERROR(CheckFilters(req.customer(), "", ""));
  const std::string query = Fingerprint({"ListNeeds", call.principal.subject, req.customer(),
                                         absl::StrCat(req.status(), ",", req.escalated_only())});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ListFilter filter{ScopeFor(call.principal)};
  filter.customer = req.customer();
  if (req.status() != pb::NEED_STATUS_UNSPECIFIED) filter.state = req.status();
  if (req.escalated_only()) filter.flag = true;
  pb::ListNeedsResponse resp;
  RETURN_IF_ERROR(repo_.List(call.deadline, Collection::kNeeds, filter, LastId("/" + cursor), page_size + 1,
                             [&] { return resp.add_needs(); }));
  resp.set_next_page_token(FinishPage(resp.mutable_needs(), page_size, tokens_, query));
  return resp;
}

absl::StatusOr<pb::Need> OpportunityService::EscalateNeed(const Call& call, const pb::EscalateNeedRequest& req) {
  RETURN_IF_ERROR(Required(req.reason(), "reason"));
  const absl::Time now = clock_.Now();
  return MutateVisible<pb::Need>(
      call, Collection::kNeeds, req.name(), {"needs"}, "name", "EscalateNeed", req.etag(),
      [&](pb::Need& current, Events& events) -> absl::Status {
        if (current.escalated()) return absl::FailedPreconditionError("the need is already escalated");
        if (current.status() == pb::FULFILLED || current.status() == pb::DECLINED) {
          return absl::FailedPreconditionError("a closed need cannot be escalated");
        }
        current.set_escalated(true);
        current.set_escalation_reason(req.reason());
        ToProto(now, current.mutable_escalate_time());
        pb::NeedEscalated e;
        e.set_need(current.name());
        e.set_customer(current.customer());
        e.set_owner(current.owner());
        e.set_team(current.team());
        e.set_reason(req.reason());
        events.push_back({current.name(), Payload(e)});
        return absl::OkStatus();
      });
}

// ---------------------------------------------------------------- opportunities

absl::StatusOr<pb::Opportunity> OpportunityService::CreateOpportunity(
    const Call& call, const pb::CreateOpportunityRequest& req) {
  RETURN_IF_ERROR(RequireRequestId(req.request_id()));
  pb::Opportunity o = req.opportunity();
  ClearFields(o, {"name", "stage", "state", "win_probability", "owner", "team", "customer_tier",
                  "lost_reason", "create_time", "update_time", "etag"});
  Violations v;
  ValidateOpportunity(o, "opportunity.", v);
  RETURN_IF_ERROR(v.ToStatus());
  if (!o.need().empty()) {
    ASSIGN_OR_RETURN(int64_t need_id, ParseSingleId(o.need(), "needs", "opportunity.need"));
    ASSIGN_OR_RETURN(pb::Need need, LoadVisible<pb::Need>(call, Collection::kNeeds, need_id, o.need()));
    if (need.customer() != o.customer()) {
      return InvalidField("opportunity.need", absl::StrCat(o.need(), " belongs to ", need.customer()));
    }
  }
  ASSIGN_OR_RETURN(CustomerFacts customer, Customer(call, o.customer()));
  if (customer.archived) {
    return absl::FailedPreconditionError(absl::StrCat(o.customer(), " is archived"));
  }
  o.set_owner(customer.owner);
  o.set_team(customer.team);
  o.set_customer_tier(customer.tier);
  o.set_stage(FirstStage(o.type()));
  o.set_state(pb::OPPORTUNITY_OPEN);
  o.set_win_probability(DefaultWinProbability(o.type(), o.stage()));
  RETURN_IF_ERROR(repo_.Create(call.deadline, Collection::kOpportunities, "", 0, o, req.request_id(),
                               ActorFor(call, "CreateOpportunity"), nullptr));
  return o;
}

absl::StatusOr<pb::Opportunity> OpportunityService::GetOpportunity(const Call& call,
                                                                  const pb::GetOpportunityRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.name(), "opportunities", "name"));
  return LoadVisible<pb::Opportunity>(call, Collection::kOpportunities, id, req.name());
}

absl::StatusOr<pb::Opportunity> OpportunityService::UpdateOpportunity(
    const Call& call, const pb::UpdateOpportunityRequest& req) {
  ASSIGN_OR_RETURN(std::vector<std::string> paths,
                   MaskPaths(req.update_mask(), {"title", "description", "amount", "expected_close_date",
                                                 "win_probability"}));
  return MutateVisible<pb::Opportunity>(
      call, Collection::kOpportunities, req.opportunity().name(), {"opportunities"}, "opportunity.name",
      "UpdateOpportunity", req.opportunity().etag(), [&](pb::Opportunity& current, Events&) -> absl::Status {
        if (current.state() == pb::OPPORTUNITY_LOST) {
          return absl::FailedPreconditionError("the opportunity is lost; it is closed");
        }
        if (Has(paths, "win_probability") && current.state() != pb::OPPORTUNITY_OPEN) {
          return absl::FailedPreconditionError("the win probability of a won opportunity is 100");
        }
        ApplyMask(req.opportunity(), paths, current);
        Violations v;
        ValidateOpportunity(current, "opportunity.", v);
        return v.ToStatus();
      });
}

absl::StatusOr<pb::ListOpportunitiesResponse> OpportunityService::ListOpportunities(
    const Call& call, const pb::ListOpportunitiesRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  Violations v;
  if (!pb::OpportunityType_IsValid(req.type())) v.Add("type", "unknown type");
  if (!pb::OpportunityState_IsValid(req.state())) v.Add("state", "unknown state");
  RETURN_IF_ERROR(v.ToStatus());
  RETURN_IF_ERROR(CheckFilters(req.customer(), req.owner(), ""));
  const std::string query = Fingerprint({"ListOpportunities", call.principal.subject, req.customer(),
                                         req.owner(), absl::StrCat(req.type(), ",", req.state())});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ListFilter filter{ScopeFor(call.principal)};
  filter.customer = req.customer();
  filter.owner = req.owner();
  if (req.type() != pb::OPPORTUNITY_TYPE_UNSPECIFIED) filter.kind = req.type();
  if (req.state() != pb::OPPORTUNITY_STATE_UNSPECIFIED) filter.state = req.state();
  pb::ListOpportunitiesResponse resp;
  RETURN_IF_ERROR(repo_.List(call.deadline, Collection::kOpportunities, filter, LastId("/" + cursor),
                             page_size + 1, [&] { return resp.add_opportunities(); }));
  resp.set_next_page_token(FinishPage(resp.mutable_opportunities(), page_size, tokens_, query));
  return resp;
}

absl::StatusOr<pb::Opportunity> OpportunityService::MoveOpportunityStage(
    const Call& call, const pb::MoveOpportunityStageRequest& req) {
  if (req.stage() == pb::STAGE_UNSPECIFIED || !pb::Stage_IsValid(req.stage())) {
    return InvalidField("stage", "required: the next stage or LOST");
  }
  if (req.stage() == pb::LOST) RETURN_IF_ERROR(Required(req.reason(), "reason"));
  return MutateVisible<pb::Opportunity>(
      call, Collection::kOpportunities, req.name(), {"opportunities"}, "name", "MoveOpportunityStage",
      req.etag(), [&](pb::Opportunity& current, Events& events) -> absl::Status {
        RETURN_IF_ERROR(CheckStageMove(current.type(), current.stage(), req.stage()));
        pb::OpportunityStageChanged e;
        e.set_old_stage(pb::Stage_Name(current.stage()));
        current.set_stage(req.stage());
        current.set_state(StateFor(current.type(), req.stage()));
        current.set_win_probability(DefaultWinProbability(current.type(), req.stage()));
        if (req.stage() == pb::LOST) current.set_lost_reason(req.reason());
        e.set_opportunity(current.name());
        e.set_customer(current.customer());
        e.set_owner(current.owner());
        e.set_new_stage(pb::Stage_Name(current.stage()));
        e.set_win_probability(current.win_probability());
        events.push_back({current.name(), Payload(e)});
        return absl::OkStatus();
      });
}

absl::StatusOr<pb::ListStageTemplatesResponse> OpportunityService::ListStageTemplates(
    const Call&, const pb::ListStageTemplatesRequest&) {
  pb::ListStageTemplatesResponse resp;
  for (const pb::StageTemplate& t : StageTemplates()) *resp.add_templates() = t;
  return resp;
}

absl::StatusOr<pb::WeightedPipeline> OpportunityService::GetWeightedPipeline(
    const Call& call, const pb::GetWeightedPipelineRequest& req) {
  const auth::Principal& p = call.principal;
  const int scopes = !req.owner().empty() + !req.team().empty() + !req.customer().empty();
  if (scopes != 1) {
    return InvalidField(req.owner().empty() ? (req.team().empty() ? "customer" : "team") : "owner",
                        "give exactly one of owner, team and customer");
  }
  RETURN_IF_ERROR(CheckFilters(req.customer(), req.owner(), req.team()));
  PipelineFilter filter{.owner = req.owner(), .team = req.team(), .customer = req.customer()};
  if (!IsAdmin(p)) {
    if (p.role == Role::kSupervisor) {
      if (!filter.team.empty() && filter.team != p.team) return Forbidden("see another team's pipeline");
      filter.team = p.team;  // a manager's or customer's pipeline, within the supervisor's team
    } else if (!filter.team.empty() || (!filter.owner.empty() && filter.owner != p.subject)) {
      return Forbidden("see another manager's or a team's pipeline");
    } else {
      filter.owner = p.subject;  // a customer's pipeline: only what the manager owns
    }
  }
  ASSIGN_OR_RETURN(std::vector<PipelineRow> rows, repo_.Pipeline(call.deadline, filter));
  pb::WeightedPipeline resp;
  std::map<std::string, PipelineRow> totals;
  for (const PipelineRow& row : rows) {
    auto* line = resp.add_by_owner();
    line->set_owner(row.owner);
    line->set_currency_code(row.currency);
    line->set_open_count(row.open_count);
    *line->mutable_total_amount() = FromMinorUnits(row.currency, row.amount_minor);
    *line->mutable_weighted_amount() = FromMinorUnits(row.currency, (row.weighted_centi_minor + 50) / 100);
    PipelineRow& t = totals[row.currency];
    t.open_count += row.open_count;
    t.amount_minor += row.amount_minor;
    t.weighted_centi_minor += row.weighted_centi_minor;
  }
  for (const auto& [currency, t] : totals) {
    auto* line = resp.add_totals();
    line->set_currency_code(currency);
    line->set_open_count(t.open_count);
    *line->mutable_total_amount() = FromMinorUnits(currency, t.amount_minor);
    *line->mutable_weighted_amount() = FromMinorUnits(currency, (t.weighted_centi_minor + 50) / 100);
  }
  return resp;
}

absl::StatusOr<pb::ListChangesResponse> OpportunityService::ListChanges(const Call& call,
                                                                        const pb::ListChangesRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  if (req.parent().rfind("needs/", 0) == 0) {
    ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.parent(), "needs", "parent"));
    RETURN_IF_ERROR(LoadVisible<pb::Need>(call, Collection::kNeeds, id, req.parent()).status());
  } else if (req.parent().rfind("products/", 0) == 0) {
    ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.parent(), "products", "parent"));
    RETURN_IF_ERROR(LoadVisible<pb::Product>(call, Collection::kProducts, id, req.parent()).status());
  } else {
    ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.parent(), "opportunities", "parent"));
    RETURN_IF_ERROR(LoadVisible<pb::Opportunity>(call, Collection::kOpportunities, id, req.parent()).status());
  }
  const std::string query = Fingerprint({"ListChanges", req.parent()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  const int64_t after = LastId("/" + cursor);
  int64_t last_id = after;
  ASSIGN_OR_RETURN(std::vector<pb::FieldChange> changes,
                   repo_.ListChanges(call.deadline, req.parent(), after, page_size, &last_id));
  pb::ListChangesResponse resp;
  for (pb::FieldChange& ch : changes) *resp.add_changes() = std::move(ch);
  if (static_cast<int>(changes.size()) == page_size) {
    int64_t probe = 0;
    ASSIGN_OR_RETURN(std::vector<pb::FieldChange> more,
                     repo_.ListChanges(call.deadline, req.parent(), last_id, 1, &probe));
    if (!more.empty()) resp.set_next_page_token(tokens_.Encode(query, absl::StrCat(last_id)));
  }
  return resp;
}

// ---------------------------------------------------------------- products

absl::StatusOr<pb::Product> OpportunityService::CreateProduct(const Call& call,
                                                             const pb::CreateProductRequest& req) {
  if (call.principal.role != Role::kAdmin) return Forbidden("manage the product catalogue");
  RETURN_IF_ERROR(RequireRequestId(req.request_id()));
  pb::Product product = req.product();
  ClearFields(product, {"name", "create_time", "update_time", "etag"});
  product.set_active(true);
  Violations v;
  ValidateProduct(product, "product.", v);
  RETURN_IF_ERROR(v.ToStatus());
  absl::Status s = repo_.Create(call.deadline, Collection::kProducts, "", 0, product, req.request_id(),
                                ActorFor(call, "CreateProduct"), nullptr);
  if (s.code() == absl::StatusCode::kAlreadyExists) {
    return absl::AlreadyExistsError(absl::StrCat("a product with code '", product.code(), "' exists"));
  }
  RETURN_IF_ERROR(s);
  return product;
}

absl::StatusOr<pb::Product> OpportunityService::GetProduct(const Call& call, const pb::GetProductRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.name(), "products", "name"));
  return LoadVisible<pb::Product>(call, Collection::kProducts, id, req.name());
}

absl::StatusOr<pb::Product> OpportunityService::UpdateProduct(const Call& call,
                                                             const pb::UpdateProductRequest& req) {
  if (call.principal.role != Role::kAdmin) return Forbidden("manage the product catalogue");
  ASSIGN_OR_RETURN(std::vector<std::string> paths,
                   MaskPaths(req.update_mask(), {"display_name", "risk_level", "list_price",
                                                 "manager_discount_limit", "new_tariff", "new_technology",
                                                 "active"}));
  return MutateVisible<pb::Product>(call, Collection::kProducts, req.product().name(), {"products"},
                                    "product.name", "UpdateProduct", req.product().etag(),
                                    [&](pb::Product& current, Events&) -> absl::Status {
                                      ApplyMask(req.product(), paths, current);
                                      Violations v;
                                      ValidateProduct(current, "product.", v);
                                      return v.ToStatus();
                                    });
}

absl::StatusOr<pb::ListProductsResponse> OpportunityService::ListProducts(const Call& call,
                                                                          const pb::ListProductsRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  if (!pb::OpportunityType_IsValid(req.category())) return InvalidField("category", "unknown type");
  const std::string query =
      Fingerprint({"ListProducts", absl::StrCat(req.category(), ",", req.include_inactive())});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ListFilter filter{{AccessScope::Kind::kAll}};
  if (req.category() != pb::OPPORTUNITY_TYPE_UNSPECIFIED) filter.kind = req.category();
  if (!req.include_inactive()) filter.state = 1;
  pb::ListProductsResponse resp;
  RETURN_IF_ERROR(repo_.List(call.deadline, Collection::kProducts, filter, LastId("/" + cursor), page_size + 1,
                             [&] { return resp.add_products(); }));
  resp.set_next_page_token(FinishPage(resp.mutable_products(), page_size, tokens_, query));
  return resp;
}

// ---------------------------------------------------------------- proposals

absl::StatusOr<std::map<std::string, ProductFacts>> OpportunityService::ProductsOf(
    const Call& call, const pb::Proposal& proposal) {
  std::map<std::string, ProductFacts> products;
  for (int i = 0; i < proposal.line_items_size(); ++i) {
    const std::string& name = proposal.line_items(i).product();
    if (products.count(name) > 0) continue;
    auto id = ParseSingleId(name, "products", absl::StrCat("proposal.line_items[", i, "].product"));
    if (!id.ok()) return id.status();
    pb::Product p;
    absl::Status s = repo_.Get(call.deadline, Collection::kProducts, *id, p);
    if (s.code() == absl::StatusCode::kNotFound) continue;  // PrepareProposal names it
    RETURN_IF_ERROR(s);
    products[name] = ProductFacts{p.category(), p.risk_level(), p.manager_discount_limit(),
                                  p.new_tariff(), p.new_technology(), p.active()};
  }
  return products;
}

absl::Status OpportunityService::CheckProposalSuitability(
    const Call& call, const pb::Opportunity& opportunity, const pb::Proposal& proposal,
    const std::map<std::string, ProductFacts>& products) {
  std::optional<CustomerFacts> customer;
  for (const pb::LineItem& item : proposal.line_items()) {
    auto it = products.find(item.product());
    if (it == products.end() || it->second.category != pb::WEALTH) continue;
    if (!customer) {
      ASSIGN_OR_RETURN(CustomerFacts facts, customers_.Lookup(call.upstream, opportunity.customer()));
      customer = facts;
    }
    RETURN_IF_ERROR(CheckSuitability(item.product(), it->second.risk_level, opportunity.customer(),
                                     customer->risk_tolerance));
  }
  return absl::OkStatus();
}

absl::StatusOr<pb::Proposal> OpportunityService::CreateProposal(const Call& call,
                                                               const pb::CreateProposalRequest& req) {
  RETURN_IF_ERROR(RequireRequestId(req.request_id()));
  ASSIGN_OR_RETURN(pb::Opportunity opportunity, OpenOpportunity(call, req.parent()));
  pb::Proposal proposal = req.proposal();
  ClearFields(proposal, {"name", "revision", "status", "total_cost", "total_benefit", "requires_supervisor",
                         "supervisor_reasons", "approver", "decision_reason", "decide_time", "owner", "team",
                         "create_time", "update_time", "etag"});
  ASSIGN_OR_RETURN(auto products, ProductsOf(call, proposal));
  RETURN_IF_ERROR(PrepareProposal(proposal, products));
  RETURN_IF_ERROR(CheckProposalSuitability(call, opportunity, proposal, products));
  proposal.set_revision(1);
  proposal.set_status(pb::DRAFT);
  proposal.set_owner(opportunity.owner());
  proposal.set_team(opportunity.team());
  RETURN_IF_ERROR(repo_.Create(call.deadline, Collection::kProposals, opportunity.name(),
                               LastId(opportunity.name()), proposal, req.request_id(),
                               ActorFor(call, "CreateProposal"), nullptr));
  return proposal;
}

absl::StatusOr<pb::Proposal> OpportunityService::GetProposal(const Call& call, const pb::GetProposalRequest& req) {
  ASSIGN_OR_RETURN(auto ids, ParseResourceName(req.name(), {"opportunities", "proposals"}, "name"));
  return LoadVisible<pb::Proposal>(call, Collection::kProposals, ids[1], req.name());
}

absl::StatusOr<pb::Proposal> OpportunityService::UpdateProposal(const Call& call,
                                                               const pb::UpdateProposalRequest& req) {
  ASSIGN_OR_RETURN(std::vector<std::string> paths,
                   MaskPaths(req.update_mask(), {"title", "line_items", "value_statement",
                                                 "competitor_comparisons"}));
  ASSIGN_OR_RETURN(auto ids, ParseResourceName(req.proposal().name(), {"opportunities", "proposals"},
                                               "proposal.name"));
  const std::string opportunity_name = absl::StrCat("opportunities/", ids[0]);
  ASSIGN_OR_RETURN(pb::Opportunity opportunity, OpenOpportunity(call, opportunity_name));
  ASSIGN_OR_RETURN(pb::Proposal before,
                   LoadVisible<pb::Proposal>(call, Collection::kProposals, ids[1], req.proposal().name()));
  ApplyMask(req.proposal(), paths, before);
  ASSIGN_OR_RETURN(auto products, ProductsOf(call, before));
  RETURN_IF_ERROR(PrepareProposal(before, products));
  RETURN_IF_ERROR(CheckProposalSuitability(call, opportunity, before, products));
  return MutateVisible<pb::Proposal>(
      call, Collection::kProposals, req.proposal().name(), {"opportunities", "proposals"}, "proposal.name",
      "UpdateProposal", req.proposal().etag(), [&](pb::Proposal& current, Events&) -> absl::Status {
        if (current.status() != pb::DRAFT && current.status() != pb::REJECTED) {
          return absl::FailedPreconditionError(absl::StrCat(
              "only a DRAFT or REJECTED proposal can be revised; this one is ",
              pb::ProposalStatus_Name(current.status())));
        }
        ApplyMask(req.proposal(), paths, current);
        RETURN_IF_ERROR(PrepareProposal(current, products));
        current.set_revision(current.revision() + 1);
        current.set_status(pb::DRAFT);
        ClearFields(current, {"approver", "decision_reason", "decide_time"});
        return absl::OkStatus();
      });
}

absl::StatusOr<pb::ListProposalsResponse> OpportunityService::ListProposals(
    const Call& call, const pb::ListProposalsRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  ASSIGN_OR_RETURN(int64_t parent_id, ParseSingleId(req.parent(), "opportunities", "parent"));
  RETURN_IF_ERROR(LoadVisible<pb::Opportunity>(call, Collection::kOpportunities, parent_id, req.parent()).status());
  const std::string query = Fingerprint({"ListProposals", req.parent()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ListFilter filter{{AccessScope::Kind::kAll}};
  filter.parent_id = parent_id;
  pb::ListProposalsResponse resp;
  RETURN_IF_ERROR(repo_.List(call.deadline, Collection::kProposals, filter, LastId("/" + cursor), page_size + 1,
                             [&] { return resp.add_proposals(); }));
  resp.set_next_page_token(FinishPage(resp.mutable_proposals(), page_size, tokens_, query));
  return resp;
}

absl::StatusOr<pb::ListProposalRevisionsResponse> OpportunityService::ListProposalRevisions(
    const Call& call, const pb::ListProposalRevisionsRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  ASSIGN_OR_RETURN(pb::Proposal proposal, GetProposal(call, [&] {
                     pb::GetProposalRequest get;
                     get.set_name(req.name());
                     return get;
                   }()));
  const std::string query = Fingerprint({"ListProposalRevisions", req.name()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ASSIGN_OR_RETURN(std::vector<pb::ProposalRevision> revisions,
                   repo_.ListProposalRevisions(call.deadline, LastId(proposal.name()),
                                               static_cast<int>(LastId("/" + cursor)), page_size + 1));
  pb::ListProposalRevisionsResponse resp;
  const bool more = static_cast<int>(revisions.size()) > page_size;
  if (more) revisions.resize(page_size);
  if (more) resp.set_next_page_token(tokens_.Encode(query, absl::StrCat(revisions.back().revision())));
  for (pb::ProposalRevision& r : revisions) *resp.add_revisions() = std::move(r);
  return resp;
}

absl::StatusOr<pb::Proposal> OpportunityService::SubmitProposal(const Call& call,
                                                               const pb::SubmitProposalRequest& req) {
  return MutateVisible<pb::Proposal>(
      call, Collection::kProposals, req.name(), {"opportunities", "proposals"}, "name", "SubmitProposal",
      req.etag(), [&](pb::Proposal& current, Events& events) -> absl::Status {
        RETURN_IF_ERROR(CheckProposalTransition(current.status(), pb::PENDING_APPROVAL));
        current.set_status(pb::PENDING_APPROVAL);
        pb::ProposalSubmitted e;
        e.set_proposal(current.name());
        e.set_owner(current.owner());
        e.set_team(current.team());
        e.set_revision(current.revision());
        e.set_requires_supervisor(current.requires_supervisor());
        events.push_back({current.name(), Payload(e)});
        return absl::OkStatus();
      });
}

absl::StatusOr<pb::Proposal> OpportunityService::ApproveProposal(const Call& call,
                                                                const pb::ApproveProposalRequest& req) {
  const absl::Time now = clock_.Now();
  return MutateVisible<pb::Proposal>(
      call, Collection::kProposals, req.name(), {"opportunities", "proposals"}, "name", "ApproveProposal",
      req.etag(), [&](pb::Proposal& current, Events& events) -> absl::Status {
        if (!IsSupervisorOf(call.principal, current.team())) {
          return absl::PermissionDeniedError(
              "only the supervisor of the owner's team (or an admin) may approve a proposal (OPP-4)");
        }
        RETURN_IF_ERROR(CheckProposalTransition(current.status(), pb::APPROVED));
        ASSIGN_OR_RETURN(int64_t cost, MinorUnits(current.total_cost(), "total_cost"));
        ASSIGN_OR_RETURN(int64_t benefit, MinorUnits(current.total_benefit(), "total_benefit"));
        RETURN_IF_ERROR(CheckBenefitRatio(cost, benefit));
        current.set_status(pb::APPROVED);
        current.set_approver(call.principal.subject);
        current.set_decision_reason(req.reason());
        ToProto(now, current.mutable_decide_time());
        pb::ProposalApproved e;
        e.set_proposal(current.name());
        e.set_owner(current.owner());
        e.set_revision(current.revision());
        e.set_approver(call.principal.subject);
        events.push_back({current.name(), Payload(e)});
        return absl::OkStatus();
      });
}

absl::StatusOr<pb::Proposal> OpportunityService::RejectProposal(const Call& call,
                                                               const pb::RejectProposalRequest& req) {
  RETURN_IF_ERROR(Required(req.reason(), "reason"));
  const absl::Time now = clock_.Now();
  return MutateVisible<pb::Proposal>(
      call, Collection::kProposals, req.name(), {"opportunities", "proposals"}, "name", "RejectProposal",
      req.etag(), [&](pb::Proposal& current, Events& events) -> absl::Status {
        if (!IsSupervisorOf(call.principal, current.team())) {
          return absl::PermissionDeniedError(
              "only the supervisor of the owner's team (or an admin) may reject a proposal");
        }
        RETURN_IF_ERROR(CheckProposalTransition(current.status(), pb::REJECTED));
        current.set_status(pb::REJECTED);
        current.set_approver(call.principal.subject);
        current.set_decision_reason(req.reason());
        ToProto(now, current.mutable_decide_time());
        pb::ProposalRejected e;
        e.set_proposal(current.name());
        e.set_owner(current.owner());
        e.set_revision(current.revision());
        e.set_approver(call.principal.subject);
        e.set_reason(req.reason());
        events.push_back({current.name(), Payload(e)});
        return absl::OkStatus();
      });
}

absl::StatusOr<pb::Proposal> OpportunityService::PresentProposal(const Call& call,
                                                                const pb::PresentProposalRequest& req) {
  return MutateVisible<pb::Proposal>(
      call, Collection::kProposals, req.name(), {"opportunities", "proposals"}, "name", "PresentProposal",
      req.etag(), [&](pb::Proposal& current, Events&) -> absl::Status {
        if (current.status() != pb::APPROVED) {
          return absl::FailedPreconditionError(absl::StrCat(
              "a proposal may be presented only after the supervisor approved it (OPP-4, OPP-5); it is ",
              pb::ProposalStatus_Name(current.status()),
              current.requires_supervisor() ? absl::StrCat(" and needs the supervisor for: ",
                                                           absl::StrJoin(current.supervisor_reasons(), "; "))
                                            : ""));
        }
        current.set_status(pb::PRESENTED);
        return absl::OkStatus();
      });
}

absl::StatusOr<pb::Proposal> OpportunityService::RecordProposalOutcome(
    const Call& call, const pb::RecordProposalOutcomeRequest& req) {
  const pb::ProposalStatus to = req.accepted() ? pb::ACCEPTED : pb::PROPOSAL_DECLINED;
  return MutateVisible<pb::Proposal>(
      call, Collection::kProposals, req.name(), {"opportunities", "proposals"}, "name",
      "RecordProposalOutcome", req.etag(), [&](pb::Proposal& current, Events&) -> absl::Status {
        RETURN_IF_ERROR(CheckProposalTransition(current.status(), to));
        current.set_status(to);
        if (!req.reason().empty()) current.set_decision_reason(req.reason());
        return absl::OkStatus();
      });
}

// ---------------------------------------------------------------- negotiation (OPP-6)

absl::StatusOr<pb::NegotiationRound> OpportunityService::CreateNegotiationRound(
    const Call& call, const pb::CreateNegotiationRoundRequest& req) {
  RETURN_IF_ERROR(RequireRequestId(req.request_id()));
  ASSIGN_OR_RETURN(pb::Opportunity opportunity, OpenOpportunity(call, req.parent()));
  pb::NegotiationRound round;
  round.set_subject(req.round().subject());
  round.set_customer_attendees(req.round().customer_attendees());
  RETURN_IF_ERROR(Required(round.subject(), "round.subject", 500));
  if (round.customer_attendees().size() > 2000) return InvalidField("round.customer_attendees", "at most 2000 bytes");
  if (req.round().has_start_time()) {
    *round.mutable_start_time() = req.round().start_time();
  } else {
    ToProto(clock_.Now(), round.mutable_start_time());
  }
  round.set_owner(opportunity.owner());
  round.set_team(opportunity.team());
  RETURN_IF_ERROR(repo_.Create(call.deadline, Collection::kNegotiationRounds, opportunity.name(),
                               LastId(opportunity.name()), round, req.request_id(),
                               ActorFor(call, "CreateNegotiationRound"), nullptr));
  return round;
}

absl::StatusOr<pb::NegotiationRound> OpportunityService::GetNegotiationRound(
    const Call& call, const pb::GetNegotiationRoundRequest& req) {
  ASSIGN_OR_RETURN(auto ids, ParseResourceName(req.name(), {"opportunities", "negotiationRounds"}, "name"));
  return LoadVisible<pb::NegotiationRound>(call, Collection::kNegotiationRounds, ids[1], req.name());
}

absl::StatusOr<pb::ListNegotiationRoundsResponse> OpportunityService::ListNegotiationRounds(
    const Call& call, const pb::ListNegotiationRoundsRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  ASSIGN_OR_RETURN(int64_t parent_id, ParseSingleId(req.parent(), "opportunities", "parent"));
  RETURN_IF_ERROR(LoadVisible<pb::Opportunity>(call, Collection::kOpportunities, parent_id, req.parent()).status());
  const std::string query = Fingerprint({"ListNegotiationRounds", req.parent()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ListFilter filter{{AccessScope::Kind::kAll}};
  filter.parent_id = parent_id;
  pb::ListNegotiationRoundsResponse resp;
  RETURN_IF_ERROR(repo_.List(call.deadline, Collection::kNegotiationRounds, filter, LastId("/" + cursor),
                             page_size + 1, [&] { return resp.add_rounds(); }));
  resp.set_next_page_token(FinishPage(resp.mutable_rounds(), page_size, tokens_, query));
  return resp;
}

absl::StatusOr<pb::NegotiationRound> OpportunityService::EndNegotiationRound(
    const Call& call, const pb::EndNegotiationRoundRequest& req) {
  const absl::Time now = clock_.Now();
  const absl::Time end = req.has_end_time() ? FromProto(req.end_time()) : now;
  if (end > now + absl::Minutes(1)) return InvalidField("end_time", "must not be in the future");
  ASSIGN_OR_RETURN(const std::string customer, CustomerOfParent(call, req.name(), "negotiationRounds"));
  return MutateVisible<pb::NegotiationRound>(
      call, Collection::kNegotiationRounds, req.name(), {"opportunities", "negotiationRounds"}, "name",
      "EndNegotiationRound", req.etag(), [&](pb::NegotiationRound& current, Events& events) -> absl::Status {
        if (current.has_end_time()) return absl::FailedPreconditionError("the round has already ended");
        if (end < FromProto(current.start_time())) return InvalidField("end_time", "before the round started");
        ToProto(end, current.mutable_end_time());
        current.set_outcome(req.outcome());
        ToProto(FeedbackDue(calendar_, policy_, end), current.mutable_feedback_due_time());
        pb::NegotiationEnded e;
        e.set_round(current.name());
        e.set_customer(customer);
        e.set_owner(current.owner());
        *e.mutable_feedback_due_time() = current.feedback_due_time();
        events.push_back({current.name(), Payload(e)});
        return absl::OkStatus();
      });
}

absl::StatusOr<pb::NegotiationRound> OpportunityService::RecordNegotiationFeedback(
    const Call& call, const pb::RecordNegotiationFeedbackRequest& req) {
  RETURN_IF_ERROR(Required(req.feedback(), "feedback", 8000));
  ASSIGN_OR_RETURN(const std::string customer, CustomerOfParent(call, req.name(), "negotiationRounds"));
  const absl::Time now = clock_.Now();
  return MutateVisible<pb::NegotiationRound>(
      call, Collection::kNegotiationRounds, req.name(), {"opportunities", "negotiationRounds"}, "name",
      "RecordNegotiationFeedback", req.etag(), [&](pb::NegotiationRound& current, Events& events) -> absl::Status {
        if (!current.has_end_time()) return absl::FailedPreconditionError("the round has not ended yet");
        if (current.has_feedback_time()) return absl::FailedPreconditionError("feedback is already recorded");
        current.set_feedback(req.feedback());
        ToProto(now, current.mutable_feedback_time());
        current.set_feedback_late(now > FromProto(current.feedback_due_time()));
        pb::NegotiationFeedbackRecorded e;
        e.set_round(current.name());
        e.set_customer(customer);
        e.set_owner(current.owner());
        *e.mutable_feedback_time() = current.feedback_time();
        e.set_late(current.feedback_late());
        events.push_back({current.name(), Payload(e)});
        return absl::OkStatus();
      });
}

absl::StatusOr<pb::ListOverdueFeedbackResponse> OpportunityService::ListOverdueFeedback(
    const Call& call, const pb::ListOverdueFeedbackRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  RETURN_IF_ERROR(CheckFilters("", req.owner(), ""));
  const std::string query = Fingerprint({"ListOverdueFeedback", call.principal.subject, req.owner()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ListFilter filter{ScopeFor(call.principal)};
  filter.owner = req.owner();
  filter.due_before = clock_.Now();
  pb::ListOverdueFeedbackResponse resp;
  RETURN_IF_ERROR(repo_.List(call.deadline, Collection::kNegotiationRounds, filter, LastId("/" + cursor),
                             page_size + 1, [&] { return resp.add_rounds(); }));
  resp.set_next_page_token(FinishPage(resp.mutable_rounds(), page_size, tokens_, query));
  return resp;
}

// ---------------------------------------------------------------- contracts (OPP-8, OPP-9)

absl::StatusOr<pb::Contract> OpportunityService::CreateContract(const Call& call,
                                                               const pb::CreateContractRequest& req) {
  RETURN_IF_ERROR(RequireRequestId(req.request_id()));
  ASSIGN_OR_RETURN(pb::Opportunity opportunity, OpenOpportunity(call, req.parent()));
  const pb::Contract& in = req.contract();
  Violations v;
  if (in.urgency() == pb::URGENCY_UNSPECIFIED || !pb::Urgency_IsValid(in.urgency())) {
    v.Add("contract.urgency", "required: EXTRA_URGENT, URGENT or NORMAL");
  }
  if (in.title().empty()) v.Add("contract.title", "required");
  ValidateMoney(in.amount(), "contract.amount", true, v);
  auto proposal_ids = ParseResourceName(in.proposal(), {"opportunities", "proposals"}, "contract.proposal");
  if (!proposal_ids.ok()) {
    v.Add("contract.proposal", "the accepted proposal 'opportunities/{o}/proposals/{p}'");
  } else if ((*proposal_ids)[0] != LastId(opportunity.name())) {
    v.Add("contract.proposal", absl::StrCat("not a proposal of ", opportunity.name()));
  }
  const absl::Time now = clock_.Now();
  const absl::Time signed_at = in.has_sign_time() ? FromProto(in.sign_time()) : now;
  if (signed_at > now + absl::Minutes(1)) v.Add("contract.sign_time", "must not be in the future");
  RETURN_IF_ERROR(v.ToStatus());
  ASSIGN_OR_RETURN(pb::Proposal proposal,
                   LoadVisible<pb::Proposal>(call, Collection::kProposals, (*proposal_ids)[1], in.proposal()));
  if (proposal.status() != pb::ACCEPTED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a contract needs a proposal the customer ACCEPTED; ", in.proposal(), " is ",
        pb::ProposalStatus_Name(proposal.status())));
  }
  pb::Contract contract;
  contract.set_proposal(in.proposal());
  contract.set_title(in.title());
  *contract.mutable_amount() = in.amount();
  contract.set_urgency(in.urgency());
  ToProto(signed_at, contract.mutable_sign_time());
  ToProto(DeliveryDeadline(calendar_, policy_, signed_at, in.urgency()), contract.mutable_delivery_deadline());
  contract.set_status(pb::SIGNED);
  contract.set_owner(opportunity.owner());
  contract.set_team(opportunity.team());
  const std::string customer = opportunity.customer();
  RETURN_IF_ERROR(repo_.Create(
      call.deadline, Collection::kContracts, opportunity.name(), LastId(opportunity.name()), contract,
      req.request_id(), ActorFor(call, "CreateContract"), [&](const Message& created) {
        const auto& c = static_cast<const pb::Contract&>(created);
        pb::ContractSigned e;
        e.set_contract(c.name());
        e.set_customer(customer);
        e.set_owner(c.owner());
        *e.mutable_amount() = c.amount();
        *e.mutable_delivery_deadline() = c.delivery_deadline();
        return Events{{c.name(), Payload(e)}};
      }));
  return contract;
}

absl::StatusOr<pb::Contract> OpportunityService::GetContract(const Call& call, const pb::GetContractRequest& req) {
  ASSIGN_OR_RETURN(auto ids, ParseResourceName(req.name(), {"opportunities", "contracts"}, "name"));
  return LoadVisible<pb::Contract>(call, Collection::kContracts, ids[1], req.name());
}

absl::StatusOr<pb::ListContractsResponse> OpportunityService::ListContracts(
    const Call& call, const pb::ListContractsRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  ASSIGN_OR_RETURN(int64_t parent_id, ParseSingleId(req.parent(), "opportunities", "parent"));
  RETURN_IF_ERROR(LoadVisible<pb::Opportunity>(call, Collection::kOpportunities, parent_id, req.parent()).status());
  const std::string query = Fingerprint({"ListContracts", req.parent()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ListFilter filter{{AccessScope::Kind::kAll}};
  filter.parent_id = parent_id;
  pb::ListContractsResponse resp;
  RETURN_IF_ERROR(repo_.List(call.deadline, Collection::kContracts, filter, LastId("/" + cursor), page_size + 1,
                             [&] { return resp.add_contracts(); }));
  resp.set_next_page_token(FinishPage(resp.mutable_contracts(), page_size, tokens_, query));
  return resp;
}

absl::StatusOr<pb::Contract> OpportunityService::StartDelivery(const Call& call,
                                                              const pb::StartDeliveryRequest& req) {
  return MutateVisible<pb::Contract>(
      call, Collection::kContracts, req.name(), {"opportunities", "contracts"}, "name", "StartDelivery",
      req.etag(), [&](pb::Contract& current, Events&) -> absl::Status {
        RETURN_IF_ERROR(CheckContractTransition(current.status(), pb::IN_DELIVERY));
        current.set_status(pb::IN_DELIVERY);
        return absl::OkStatus();
      });
}

absl::StatusOr<pb::Contract> OpportunityService::RecordDelayNotice(const Call& call,
                                                                  const pb::RecordDelayNoticeRequest& req) {
  RETURN_IF_ERROR(Required(req.reason(), "reason"));
  if (!req.has_new_deadline()) return InvalidField("new_deadline", "required");
  ASSIGN_OR_RETURN(const std::string customer, CustomerOfParent(call, req.name(), "contracts"));
  const absl::Time now = clock_.Now();
  return MutateVisible<pb::Contract>(
      call, Collection::kContracts, req.name(), {"opportunities", "contracts"}, "name", "RecordDelayNotice",
      req.etag(), [&](pb::Contract& current, Events& events) -> absl::Status {
        RETURN_IF_ERROR(CheckContractTransition(current.status(), pb::DELAYED));
        const absl::Time deadline = FromProto(current.delivery_deadline());
        if (FromProto(req.new_deadline()) <= deadline) {
          return InvalidField("new_deadline", "must be after the current delivery deadline");
        }
        pb::DelayNotice* notice = current.add_delay_notices();
        ToProto(now, notice->mutable_notice_time());
        notice->set_reason(req.reason());
        *notice->mutable_new_deadline() = req.new_deadline();
        notice->set_late(DelayNoticeLate(calendar_, policy_, now, deadline));
        current.set_status(pb::DELAYED);
        *current.mutable_delivery_deadline() = req.new_deadline();
        pb::DeliveryDelayed e;
        e.set_contract(current.name());
        e.set_customer(customer);
        e.set_owner(current.owner());
        *e.mutable_new_deadline() = req.new_deadline();
        e.set_notice_late(notice->late());
        events.push_back({current.name(), Payload(e)});
        return absl::OkStatus();
      });
}

absl::StatusOr<pb::Contract> OpportunityService::CompleteDelivery(const Call& call,
                                                                 const pb::CompleteDeliveryRequest& req) {
  ASSIGN_OR_RETURN(const std::string customer, CustomerOfParent(call, req.name(), "contracts"));
  const absl::Time now = clock_.Now();
  return MutateVisible<pb::Contract>(
      call, Collection::kContracts, req.name(), {"opportunities", "contracts"}, "name", "CompleteDelivery",
      req.etag(), [&](pb::Contract& current, Events& events) -> absl::Status {
        RETURN_IF_ERROR(CheckContractTransition(current.status(), pb::DELIVERED));
        current.set_status(pb::DELIVERED);
        ToProto(now, current.mutable_delivered_time());
        ToProto(RevisitDue(calendar_, policy_, now), current.mutable_revisit_due_time());
        pb::ContractDelivered e;
        e.set_contract(current.name());
        e.set_customer(customer);
        e.set_owner(current.owner());
        *e.mutable_delivered_time() = current.delivered_time();
        *e.mutable_revisit_due_time() = current.revisit_due_time();
        events.push_back({current.name(), Payload(e)});
        return absl::OkStatus();
      });
}

absl::StatusOr<pb::Contract> OpportunityService::RecordAfterSales(const Call& call,
                                                                 const pb::RecordAfterSalesRequest& req) {
  if (req.step() == pb::AFTER_SALES_STEP_UNSPECIFIED || !pb::AfterSalesStep_IsValid(req.step())) {
    return InvalidField("step", "TRAINING, SYSTEM_TEST or REVISIT");
  }
  std::string customer;
  if (req.step() == pb::REVISIT) {
    ASSIGN_OR_RETURN(customer, CustomerOfParent(call, req.name(), "contracts"));
  }
  const absl::Time now = clock_.Now();
  return MutateVisible<pb::Contract>(
      call, Collection::kContracts, req.name(), {"opportunities", "contracts"}, "name", "RecordAfterSales",
      req.etag(), [&](pb::Contract& current, Events& events) -> absl::Status {
        if (current.status() != pb::DELIVERED) {
          return absl::FailedPreconditionError("after-sales steps follow delivery (OPP-9)");
        }
        google::protobuf::Timestamp* at = req.step() == pb::TRAINING      ? current.mutable_training_time()
                                          : req.step() == pb::SYSTEM_TEST ? current.mutable_system_test_time()
                                                                          : current.mutable_revisit_time();
        if (at->seconds() != 0) {
          return absl::FailedPreconditionError(
              absl::StrCat(pb::AfterSalesStep_Name(req.step()), " is already recorded"));
        }
        ToProto(now, at);
        if (req.step() == pb::REVISIT) {
          current.set_revisit_notes(req.notes());
          pb::AfterSalesRevisited e;  // OPP-9: closes the revisit task
          e.set_contract(current.name());
          e.set_customer(customer);
          e.set_owner(current.owner());
          *e.mutable_revisit_time() = current.revisit_time();
          events.push_back({current.name(), Payload(e)});
        }
        return absl::OkStatus();
      });
}

absl::StatusOr<pb::ListDueRevisitsResponse> OpportunityService::ListDueRevisits(
    const Call& call, const pb::ListDueRevisitsRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  const absl::Time before = req.has_due_before() ? FromProto(req.due_before()) : clock_.Now();
  const std::string query = Fingerprint({"ListDueRevisits", call.principal.subject, req.owner(),
                                         absl::FormatTime(before)});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ListFilter filter{ScopeFor(call.principal)};
  filter.owner = req.owner();
  filter.due_before = before;
  pb::ListDueRevisitsResponse resp;
  RETURN_IF_ERROR(repo_.List(call.deadline, Collection::kContracts, filter, LastId("/" + cursor), page_size + 1,
                             [&] { return resp.add_contracts(); }));
  resp.set_next_page_token(FinishPage(resp.mutable_contracts(), page_size, tokens_, query));
  return resp;
}

// ---------------------------------------------------------------- loans (OPP-10)

absl::StatusOr<pb::LoanApplication> OpportunityService::CreateLoanApplication(
    const Call& call, const pb::CreateLoanApplicationRequest& req) {
  RETURN_IF_ERROR(RequireRequestId(req.request_id()));
  ASSIGN_OR_RETURN(pb::Opportunity opportunity, OpenOpportunity(call, req.parent()));
  if (opportunity.type() != pb::LOAN) {
    return absl::FailedPreconditionError(absl::StrCat(req.parent(), " is not a LOAN opportunity"));
  }
  pb::LoanApplication loan = req.loan_application();
  ClearFields(loan, {"name", "decision", "decision_reason", "decider", "decide_time", "owner", "team",
                     "create_time", "update_time", "etag"});
  Violations v;
  ValidateLoanApplication(loan, "loan_application.", v);
  RETURN_IF_ERROR(v.ToStatus());
  loan.set_owner(opportunity.owner());
  loan.set_team(opportunity.team());
  RETURN_IF_ERROR(repo_.Create(call.deadline, Collection::kLoanApplications, opportunity.name(),
                               LastId(opportunity.name()), loan, req.request_id(),
                               ActorFor(call, "CreateLoanApplication"), nullptr));
  return loan;
}

absl::StatusOr<pb::LoanApplication> OpportunityService::GetLoanApplication(
    const Call& call, const pb::GetLoanApplicationRequest& req) {
  ASSIGN_OR_RETURN(auto ids, ParseResourceName(req.name(), {"opportunities", "loanApplications"}, "name"));
  return LoadVisible<pb::LoanApplication>(call, Collection::kLoanApplications, ids[1], req.name());
}

absl::StatusOr<pb::LoanApplication> OpportunityService::UpdateLoanApplication(
    const Call& call, const pb::UpdateLoanApplicationRequest& req) {
  ASSIGN_OR_RETURN(std::vector<std::string> paths,
                   MaskPaths(req.update_mask(), {"amount", "term_months", "annual_rate_bp", "repayment_method",
                                                 "purpose", "documents", "investigation_result"}));
  return MutateVisible<pb::LoanApplication>(
      call, Collection::kLoanApplications, req.loan_application().name(), {"opportunities", "loanApplications"},
      "loan_application.name", "UpdateLoanApplication", req.loan_application().etag(),
      [&](pb::LoanApplication& current, Events&) -> absl::Status {
        if (current.decision() != pb::LOAN_DECISION_UNSPECIFIED) {
          return absl::FailedPreconditionError("a decided loan application cannot change");
        }
        ApplyMask(req.loan_application(), paths, current);
        Violations v;
        ValidateLoanApplication(current, "loan_application.", v);
        return v.ToStatus();
      });
}

absl::StatusOr<pb::LoanApplication> OpportunityService::DecideLoanApplication(
    const Call& call, const pb::DecideLoanApplicationRequest& req) {
  if (req.decision() == pb::LOAN_DECISION_UNSPECIFIED || !pb::LoanDecision_IsValid(req.decision())) {
    return InvalidField("decision", "LOAN_APPROVED or LOAN_REJECTED");
  }
  RETURN_IF_ERROR(Required(req.reason(), "reason"));
  const absl::Time now = clock_.Now();
  return MutateVisible<pb::LoanApplication>(
      call, Collection::kLoanApplications, req.name(), {"opportunities", "loanApplications"}, "name",
      "DecideLoanApplication", req.etag(), [&](pb::LoanApplication& current, Events&) -> absl::Status {
        if (!IsSupervisorOf(call.principal, current.team())) {
          return absl::PermissionDeniedError("only the owner's supervisor (or an admin) may decide a loan");
        }
        if (current.decision() != pb::LOAN_DECISION_UNSPECIFIED) {
          return absl::FailedPreconditionError("the loan application is already decided");
        }
        if (current.investigation_result().empty()) {
          return absl::FailedPreconditionError("record the investigation result before deciding (OPP-10)");
        }
        current.set_decision(req.decision());
        current.set_decision_reason(req.reason());
        current.set_decider(call.principal.subject);
        ToProto(now, current.mutable_decide_time());
        return absl::OkStatus();
      });
}

absl::StatusOr<pb::LoanTrackingEntry> OpportunityService::CreateLoanTrackingEntry(
    const Call& call, const pb::CreateLoanTrackingEntryRequest& req) {
  RETURN_IF_ERROR(RequireRequestId(req.request_id()));
  ASSIGN_OR_RETURN(pb::LoanApplication loan, GetLoanApplication(call, [&] {
                     pb::GetLoanApplicationRequest get;
                     get.set_name(req.parent());
                     return get;
                   }()));
  if (loan.decision() != pb::LOAN_APPROVED) {
    return absl::FailedPreconditionError("post-loan tracking needs an approved loan");
  }
  pb::LoanTrackingEntry entry;
  entry.set_kind(req.entry().kind());
  entry.set_notes(req.entry().notes());
  Violations v;
  if (entry.kind() == pb::LOAN_TRACKING_KIND_UNSPECIFIED || !pb::LoanTrackingKind_IsValid(entry.kind())) {
    v.Add("entry.kind", "LOAN_MONITORING or LOAN_COLLECTION");
  }
  if (entry.notes().empty()) v.Add("entry.notes", "required");
  if (entry.kind() == pb::LOAN_COLLECTION) {
    if (req.entry().overdue_days() <= 0) v.Add("entry.overdue_days", "a collection is for an overdue loan: > 0");
    ValidateMoney(req.entry().overdue_amount(), "entry.overdue_amount", true, v);
    entry.set_overdue_days(req.entry().overdue_days());
    *entry.mutable_overdue_amount() = req.entry().overdue_amount();
  }
  RETURN_IF_ERROR(v.ToStatus());
  entry.set_author(call.principal.subject);
  RETURN_IF_ERROR(repo_.Create(call.deadline, Collection::kLoanTrackingEntries, loan.name(), LastId(loan.name()),
                               entry, req.request_id(), ActorFor(call, "CreateLoanTrackingEntry"), nullptr));
  return entry;
}

absl::StatusOr<pb::ListLoanTrackingEntriesResponse> OpportunityService::ListLoanTrackingEntries(
    const Call& call, const pb::ListLoanTrackingEntriesRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  ASSIGN_OR_RETURN(pb::LoanApplication loan, GetLoanApplication(call, [&] {
                     pb::GetLoanApplicationRequest get;
                     get.set_name(req.parent());
                     return get;
                   }()));
  if (!pb::LoanTrackingKind_IsValid(req.kind())) return InvalidField("kind", "unknown kind");
  const std::string query = Fingerprint({"ListLoanTrackingEntries", req.parent(), absl::StrCat(req.kind())});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ListFilter filter{{AccessScope::Kind::kAll}};
  filter.parent_id = LastId(loan.name());
  if (req.kind() != pb::LOAN_TRACKING_KIND_UNSPECIFIED) filter.kind = req.kind();
  pb::ListLoanTrackingEntriesResponse resp;
  RETURN_IF_ERROR(repo_.List(call.deadline, Collection::kLoanTrackingEntries, filter, LastId("/" + cursor),
                             page_size + 1, [&] { return resp.add_entries(); }));
  resp.set_next_page_token(FinishPage(resp.mutable_entries(), page_size, tokens_, query));
  return resp;
}

}  // namespace crm::opportunities
