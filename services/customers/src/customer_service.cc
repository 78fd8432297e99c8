#include "services/customers/src/customer_service.h"

#include <google/protobuf/util/field_mask_util.h>

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "common/auth/row_access.h"
#include "common/util/aip.h"
#include "common/db/idempotency.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "common/util/resource_name.h"

namespace crm::customers {
namespace {

using auth::Role;
using google::protobuf::FieldMask;
using google::protobuf::util::FieldMaskUtil;

bool IsAdmin(const auth::Principal& p) { return p.role == Role::kAdmin || p.role == Role::kService; }

int64_t CursorId(const std::string& cursor) {
  int64_t id = 0;
  return absl::SimpleAtoi(cursor, &id) ? id : 0;
}

std::string LastSegment(const std::string& name) { return name.substr(name.rfind('/') + 1); }

// Moves up to page_size of `rows` (fetched with one extra row as a look-ahead)
// into `out`, returning the next page token when there are more.
template <typename Row, typename CursorOf>
std::string FillPage(std::vector<Row>& rows, int page_size,
                     google::protobuf::RepeatedPtrField<Row>* out, const PageTokenCodec& tokens,
                     const std::string& query, CursorOf cursor_of) {
  const bool more = static_cast<int>(rows.size()) > page_size;
  if (more) rows.resize(page_size);
  std::string token = more ? tokens.Encode(query, cursor_of(rows.back())) : std::string();
  for (Row& row : rows) *out->Add() = std::move(row);
  return token;
}

auto ByName = [](const auto& row) { return LastSegment(row.name()); };

// A competitive report's month, "YYYY-MM" (CUS-9).
bool IsReportPeriod(const std::string& period) {
  int year = 0, month = 0;
  return period.size() == 7 && period[4] == '-' && absl::ascii_isdigit(static_cast<unsigned char>(period[0])) &&
         absl::ascii_isdigit(static_cast<unsigned char>(period[5])) &&
         absl::SimpleAtoi(period.substr(0, 4), &year) && absl::SimpleAtoi(period.substr(5, 2), &month) &&
         year >= 2000 && month >= 1 && month <= 12;
}

constexpr int kMemberBatch = 1000;
constexpr int kMaxReportedImportErrors = 1000;

}  // namespace

Actor CustomerService::ActorFor(const Call& call, std::string method) const {
  return Actor{call.principal.subject, std::move(method), clock_.Now()};
}

absl::StatusOr<pb::Customer> CustomerService::LoadVisible(const Call& call, int64_t id) {
  auto customer = repo_.GetCustomer(call.deadline, id);
  if (!customer.ok()) return customer.status();
  if (!InScope(customers::ScopeFor(call.principal), *customer)) {
    return absl::NotFoundError(absl::StrCat("customers/", id, " not found"));
  }
  return customer;
}

CustomerGuard CustomerService::VisibleGuard(const Call& call, int64_t id) const {
  const AccessScope scope = customers::ScopeFor(call.principal);
  return [scope, id](const pb::Customer& c) -> absl::Status {
    if (!InScope(scope, c)) return absl::NotFoundError(absl::StrCat("customers/", id, " not found"));
    return absl::OkStatus();
  };
}

// ---------------------------------------------------------------- customers

void CustomerService::CreateCustomer(const Call& call, const pb::CreateCustomerRequest& req, CustomerDone done) {
  absl::StatusOr<pb::Customer> customer = NewCustomerFor(call, req);
  if (!customer.ok()) return std::move(done)(customer.status());
  repo_.CreateCustomer(call.deadline, *customer, req.request_id(), ActorFor(call, "CreateCustomer"), std::move(done));
}

absl::StatusOr<pb::Customer> CustomerService::NewCustomerFor(const Call& call,
                                                             const pb::CreateCustomerRequest& req) const {
  const auth::Principal& p = call.principal;
  Violations v;
  if (absl::Status s = db::ValidateRequestId(req.request_id()); !s.ok()) {
    v.Add("request_id", std::string(s.message()));
  }
  if (!req.has_customer()) return InvalidField("customer", "required");
  pb::Customer c = req.customer();
  // Output-only fields are ignored on input (AIP-203).
  for (auto* f : {"name", "tier", "value_score", "service_mode", "churn_risk", "retention_stage",
                  "last_verified_time", "directory_collected_time", "completeness", "create_time",
                  "update_time", "etag", "similar_customers", "risk_tolerance", "risk_assessed_on"}) {
    c.GetReflection()->ClearField(&c, c.GetDescriptor()->FindFieldByName(f));
  }
  if (c.status() == pb::CUSTOMER_STATUS_UNSPECIFIED) c.set_status(pb::ACTIVE);
  switch (p.role) {
    case Role::kManager:
      if (!c.owner().empty() && c.owner() != p.subject) {
        return Forbidden("create customers owned by another manager");
      }
      c.set_owner(p.subject);
      c.set_team(p.team);
      break;
    case Role::kSupervisor:
      if (c.owner().empty()) c.set_owner(p.subject);
      c.set_team(p.team);
      break;
    case Role::kAdmin:
    case Role::kService:
      if (c.owner().empty()) v.Add("customer.owner", "required");
      break;
    case Role::kPhoneManager:
      return Forbidden("create customers");
  }
  ValidateCustomer(c, {}, "customer.", v);
  RETURN_IF_ERROR(v.ToStatus());
  return c;
}

void CustomerService::GetCustomer(const Call& call, const pb::GetCustomerRequest& req, CustomerDone done) {
  absl::StatusOr<int64_t> id = ParseSingleId(req.name(), "customers", "name");
  if (!id.ok()) return std::move(done)(id.status());
  repo_.GetCustomer(call.deadline, *id,
                    [visible = VisibleGuard(call, *id), done = std::move(done)](absl::StatusOr<pb::Customer> c) mutable {
                      if (c.ok()) {
                        if (absl::Status s = visible(*c); !s.ok()) c = std::move(s);
                      }
                      std::move(done)(std::move(c));
                    });
}

absl::StatusOr<pb::Customer> CustomerService::UpdateCustomer(const Call& call,
                                                             const pb::UpdateCustomerRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.customer().name(), "customers", "customer.name"));
  std::vector<std::string> allowed = UpdatableCustomerFields();
  allowed.push_back("team");
  ASSIGN_OR_RETURN(std::vector<std::string> paths, MaskPaths(req.update_mask(), allowed));
  const auth::Principal& p = call.principal;
  const bool moves_owner = std::find(paths.begin(), paths.end(), "owner") != paths.end();
  const bool moves_team = std::find(paths.begin(), paths.end(), "team") != paths.end();
  if (moves_owner && p.role != Role::kSupervisor && !IsAdmin(p)) {
    return Forbidden("reassign a customer to another manager");
  }
  if (moves_team && !IsAdmin(p)) return Forbidden("move a customer to another team");
  const CustomerGuard visible = VisibleGuard(call, id);
  return repo_.MutateCustomer(call.deadline, id, ActorFor(call, "UpdateCustomer"),
                              [&](pb::Customer& current) -> absl::Status {
                                RETURN_IF_ERROR(visible(current));
                                RETURN_IF_ERROR(CheckEtag(req.customer().etag(), current.etag()));
                                if (current.status() == pb::ARCHIVED) {
                                  return absl::FailedPreconditionError("customer is archived");
                                }
                                ApplyMask(req.customer(), paths, current);
                                if (moves_owner && current.owner().empty()) {
                                  return InvalidField("customer.owner", "required");
                                }
                                Violations v;
                                ValidateCustomer(current, paths, "customer.", v);
                                return v.ToStatus();
                              });
}

absl::StatusOr<pb::ListCustomersResponse> CustomerService::ListCustomers(
    const Call& call, const pb::ListCustomersRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  Violations v;
  if (!pb::Tier_IsValid(req.tier())) v.Add("tier", "unknown tier");
  if (!pb::CustomerStatus_IsValid(req.status())) v.Add("status", "unknown status");
  if (!pb::CustomerKind_IsValid(req.kind())) v.Add("kind", "unknown kind");
  CheckText(req.owner(), "owner", 100, false, v);
  CheckText(req.industry(), "industry", 100, false, v);
  CheckText(req.name_contains(), "name_contains", 200, false, v);
  RETURN_IF_ERROR(v.ToStatus());
  const std::string query = Fingerprint({"ListCustomers", call.principal.subject, req.owner(),
                                         absl::StrCat(req.tier(), ",", req.status(), ",", req.kind(),
                                                      ",", req.show_archived()),
                                         req.industry(), req.name_contains()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  CustomerFilter filter{customers::ScopeFor(call.principal), req.owner(), req.tier(), req.status(), req.kind(),
                        req.industry(), req.name_contains(), req.show_archived()};
  ASSIGN_OR_RETURN(std::vector<pb::Customer> rows,
                   repo_.ListCustomers(call.deadline, filter, CursorId(cursor), page_size + 1));
  pb::ListCustomersResponse response;
  response.set_next_page_token(
      FillPage(rows, page_size, response.mutable_customers(), tokens_, query, ByName));
  return response;
}

absl::StatusOr<pb::Customer> CustomerService::ArchiveCustomer(const Call& call,
                                                              const pb::ArchiveCustomerRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.name(), "customers", "name"));
  if (call.principal.role == Role::kPhoneManager) return Forbidden("archive customers");
  const CustomerGuard visible = VisibleGuard(call, id);
  return repo_.MutateCustomer(call.deadline, id, ActorFor(call, "ArchiveCustomer"),
                              [&](pb::Customer& current) -> absl::Status {
                                RETURN_IF_ERROR(visible(current));
                                RETURN_IF_ERROR(CheckEtag(req.etag(), current.etag()));
                                current.set_status(pb::ARCHIVED);
                                return absl::OkStatus();
                              });
}

absl::StatusOr<pb::Customer> CustomerService::VerifyCustomer(const Call& call,
                                                             const pb::VerifyCustomerRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.name(), "customers", "name"));
  Violations v;
  if (req.fields_checked() < 0) v.Add("fields_checked", "must not be negative");
  if (req.fields_corrected() < 0 || req.fields_corrected() > req.fields_checked()) {
    v.Add("fields_corrected", "must be between 0 and fields_checked");
  }
  RETURN_IF_ERROR(v.ToStatus());
  return repo_.RecordVerification(call.deadline, id, ActorFor(call, "VerifyCustomer"),
                                  VisibleGuard(call, id), req.fields_checked(),
                                  req.fields_corrected(), req.directory_recollected());
}

absl::StatusOr<pb::ListCustomerChangesResponse> CustomerService::ListCustomerChanges(
    const Call& call, const pb::ListCustomerChangesRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.customer(), "customers", "customer"));
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  const std::string query = Fingerprint({"ListCustomerChanges", req.customer()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  RETURN_IF_ERROR(LoadVisible(call, id).status());
  int64_t last_id = 0;
  ASSIGN_OR_RETURN(std::vector<pb::FieldChange> rows,
                   repo_.ListFieldChanges(call.deadline, id, CursorId(cursor), page_size, &last_id));
  pb::ListCustomerChangesResponse response;
  if (static_cast<int>(rows.size()) == page_size) {
    response.set_next_page_token(tokens_.Encode(query, absl::StrCat(last_id)));
  }
  for (pb::FieldChange& c : rows) *response.add_changes() = std::move(c);
  return response;
}

// ----------------------------------------------------------------- contacts

absl::StatusOr<pb::Contact> CustomerService::CreateContact(const Call& call,
                                                           const pb::CreateContactRequest& req) {
  ASSIGN_OR_RETURN(int64_t customer_id, ParseSingleId(req.parent(), "customers", "parent"));
  Violations v;
  if (absl::Status s = db::ValidateRequestId(req.request_id()); !s.ok()) {
    v.Add("request_id", std::string(s.message()));
  }
  if (!req.has_contact()) v.Add("contact", "required");
  ValidateContact(req.contact(), {}, "contact.", v);
  RETURN_IF_ERROR(v.ToStatus());
  return repo_.CreateContact(call.deadline, customer_id, VisibleGuard(call, customer_id), req.contact(),
                             req.request_id(), ActorFor(call, "CreateContact"));
}

absl::StatusOr<pb::Contact> CustomerService::GetContact(const Call& call,
                                                        const pb::GetContactRequest& req) {
  ASSIGN_OR_RETURN(std::vector<int64_t> ids,
                   ParseResourceName(req.name(), {"customers", "contacts"}, "name"));
  RETURN_IF_ERROR(LoadVisible(call, ids[0]).status());
  return repo_.GetContact(call.deadline, ids[0], ids[1]);
}

absl::StatusOr<pb::Contact> CustomerService::UpdateContact(const Call& call,
                                                           const pb::UpdateContactRequest& req) {
  ASSIGN_OR_RETURN(std::vector<int64_t> ids,
                   ParseResourceName(req.contact().name(), {"customers", "contacts"}, "contact.name"));
  ASSIGN_OR_RETURN(std::vector<std::string> paths,
                   MaskPaths(req.update_mask(), UpdatableContactFields()));
  return repo_.MutateContact(
      call.deadline, ids[0], ids[1], VisibleGuard(call, ids[0]),
      [&](pb::Contact& current) -> absl::Status {
        RETURN_IF_ERROR(CheckEtag(req.contact().etag(), current.etag()));
        ApplyMask(req.contact(), paths, current);
        Violations v;
        ValidateContact(current, paths, "contact.", v);
        return v.ToStatus();
      },
      ActorFor(call, "UpdateContact"));
}

absl::StatusOr<pb::ListContactsResponse> CustomerService::ListContacts(
    const Call& call, const pb::ListContactsRequest& req) {
  ASSIGN_OR_RETURN(int64_t customer_id, ParseSingleId(req.parent(), "customers", "parent"));
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  if (!pb::ContactRole_IsValid(req.role())) return InvalidField("role", "unknown role");
  const std::string query = Fingerprint({"ListContacts", req.parent(), absl::StrCat(req.role())});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  RETURN_IF_ERROR(LoadVisible(call, customer_id).status());
  ASSIGN_OR_RETURN(std::vector<pb::Contact> rows,
                   repo_.ListContacts(call.deadline, customer_id, req.role(), CursorId(cursor),
                                      page_size + 1));
  pb::ListContactsResponse response;
  response.set_next_page_token(
      FillPage(rows, page_size, response.mutable_contacts(), tokens_, query, ByName));
  return response;
}

absl::Status CustomerService::DeleteContact(const Call& call, const pb::DeleteContactRequest& req) {
  ASSIGN_OR_RETURN(std::vector<int64_t> ids,
                   ParseResourceName(req.name(), {"customers", "contacts"}, "name"));
  return repo_.DeleteContact(
      call.deadline, ids[0], ids[1], VisibleGuard(call, ids[0]),
      [&](const pb::Contact& current) { return CheckEtag(req.etag(), current.etag()); },
      ActorFor(call, "DeleteContact"));
}

// ------------------------------------------------------------------ members

absl::StatusOr<CustomerService::MemberImport> CustomerService::BeginMemberImport(
    const Call& call, const std::string& parent) {
  ASSIGN_OR_RETURN(int64_t customer_id, ParseSingleId(parent, "customers", "parent"));
  ASSIGN_OR_RETURN(pb::Customer customer, LoadVisible(call, customer_id));
  if (customer.kind() != pb::ENTERPRISE) {
    return absl::FailedPreconditionError("only enterprises have an employee directory");
  }
  return MemberImport(*this, call, customer_id);
}

absl::Status CustomerService::MemberImport::Add(const pb::ImportMembersRequest& message) {
  if (!message.parent().empty() && message.parent() != absl::StrCat("customers/", customer_id_)) {
    return InvalidField("parent", "every message of one import must name the same customer");
  }
  for (const pb::Member& m : message.members()) {
    std::vector<FieldViolation> problems;
    ValidateMember(m, problems);
    if (problems.empty()) {
      pending_.push_back(m);
    } else {
      response_.set_rejected(response_.rejected() + 1);
      for (const FieldViolation& p : problems) {
        if (response_.errors_size() >= kMaxReportedImportErrors) break;
        pb::ImportError* e = response_.add_errors();
        e->set_row(row_);
        e->set_field(absl::StrCat("members.", p.field));
        e->set_description(p.description);
      }
    }
    ++row_;
  }
  if (static_cast<int>(pending_.size()) >= kMemberBatch) return Flush();
  return absl::OkStatus();
}

absl::Status CustomerService::MemberImport::Flush() {
  if (pending_.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(service_.repo_.UpsertMembers(call_.deadline, customer_id_, pending_,
                                               service_.clock_.Now()));
  response_.set_imported(response_.imported() + static_cast<int64_t>(pending_.size()));
  pending_.clear();
  return absl::OkStatus();
}

absl::StatusOr<pb::ImportMembersResponse> CustomerService::MemberImport::Finish() {
  RETURN_IF_ERROR(Flush());
  ASSIGN_OR_RETURN(absl::Time collected,
                   service_.repo_.FinishMemberImport(call_.deadline, customer_id_,
                                                     service_.ActorFor(call_, "ImportMembers")));
  ToProto(collected, response_.mutable_directory_collected_time());
  return response_;
}

absl::StatusOr<pb::ListMembersResponse> CustomerService::ListMembers(const Call& call,
                                                                     const pb::ListMembersRequest& req) {
  ASSIGN_OR_RETURN(int64_t customer_id, ParseSingleId(req.parent(), "customers", "parent"));
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size(), 100, 1000));
  const std::string query = Fingerprint({"ListMembers", req.parent()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ASSIGN_OR_RETURN(pb::Customer customer, LoadVisible(call, customer_id));
  ASSIGN_OR_RETURN(std::vector<pb::Member> rows,
                   repo_.ListMembers(call.deadline, customer_id, cursor, page_size + 1));
  pb::ListMembersResponse response;
  response.set_next_page_token(FillPage(rows, page_size, response.mutable_members(), tokens_, query,
                                        [](const pb::Member& m) { return m.phone(); }));
  if (customer.has_directory_collected_time()) {
    *response.mutable_directory_collected_time() = customer.directory_collected_time();
  }
  return response;
}

// -------------------------------------------------------------- value model

absl::StatusOr<pb::ValueModel> CustomerService::GetValueModel(const Call& call,
                                                              const pb::GetValueModelRequest&) {
  return repo_.GetValueModel(call.deadline);
}

absl::StatusOr<pb::ValueModel> CustomerService::UpdateValueModel(
    const Call& call, const pb::UpdateValueModelRequest& req) {
  if (!IsAdmin(call.principal)) return Forbidden("change the value model");
  static const std::vector<std::string> kWeights = {"revenue_weight", "employee_weight",
                                                    "qualification_weight", "product_count_weight",
                                                    "member_count_weight"};
  ASSIGN_OR_RETURN(std::vector<std::string> paths, MaskPaths(req.update_mask(), kWeights));
  return repo_.MutateValueModel(
      call.deadline,
      [&](pb::ValueModel& current) -> absl::Status {
        RETURN_IF_ERROR(CheckEtag(req.value_model().etag(), current.etag()));
        ApplyMask(req.value_model(), paths, current);
        Violations v;
        const double weights[] = {current.revenue_weight(), current.employee_weight(),
                                  current.qualification_weight(), current.product_count_weight(),
                                  current.member_count_weight()};
        double sum = 0;
        for (size_t i = 0; i < kWeights.size(); ++i) {
          if (weights[i] < 0 || !std::isfinite(weights[i])) {
            v.Add(absl::StrCat("value_model.", kWeights[i]), "must be a non-negative number");
          }
          sum += weights[i];
        }
        if (v.empty() && sum <= 0) v.Add("value_model", "at least one weight must be positive");
        return v.ToStatus();
      },
      clock_.Now());
}

absl::StatusOr<pb::RecomputeTiersResponse> CustomerService::RecomputeTiers(
    const Call& call, const pb::RecomputeTiersRequest& req) {
  if (!IsAdmin(call.principal)) return Forbidden("recompute tiers");
  if (req.reason().size() > 200) return InvalidField("reason", "at most 200 bytes");
  return RecomputeTiersAsSystem(
      call.deadline, req.reason().empty() ? absl::StrCat("on demand by ", call.principal.subject)
                                          : req.reason());
}

absl::StatusOr<pb::RecomputeTiersResponse> CustomerService::RecomputeTiersAsSystem(
    absl::Time deadline, const std::string& reason) {
  ASSIGN_OR_RETURN(pb::ValueModel model, repo_.GetValueModel(deadline));
  ASSIGN_OR_RETURN(CustomerRepository::RankingOutcome outcome,
                   repo_.RecomputeTiers(
                       deadline,
                       [&model](const std::vector<RankingInput>& in) { return AssignTiers(in, model); },
                       reason, clock_.Now()));
  pb::RecomputeTiersResponse response;
  response.set_ranked(outcome.ranked);
  response.set_changed(outcome.changed);
  for (const auto& [tier, count] : outcome.tier_counts) (*response.mutable_tier_counts())[tier] = count;
  return response;
}

absl::StatusOr<pb::ListTierChangesResponse> CustomerService::ListTierChanges(
    const Call& call, const pb::ListTierChangesRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  std::optional<int64_t> customer_id;
  if (!req.customer().empty()) {
    ASSIGN_OR_RETURN(customer_id, ParseSingleId(req.customer(), "customers", "customer"));
  }
  const std::string query = Fingerprint({"ListTierChanges", call.principal.subject, req.customer()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  if (customer_id) RETURN_IF_ERROR(LoadVisible(call, *customer_id).status());
  int64_t last_id = 0;
  ASSIGN_OR_RETURN(std::vector<pb::TierChange> rows,
                   repo_.ListTierChanges(call.deadline, customers::ScopeFor(call.principal), customer_id,
                                         CursorId(cursor), page_size, &last_id));
  pb::ListTierChangesResponse response;
  if (static_cast<int>(rows.size()) == page_size) {
    response.set_next_page_token(tokens_.Encode(query, absl::StrCat(last_id)));
  }
  for (pb::TierChange& t : rows) *response.add_changes() = std::move(t);
  return response;
}

// ------------------------------------------------------ freshness and quality

absl::StatusOr<pb::ListStaleCustomersResponse> CustomerService::ListStaleCustomers(
    const Call& call, const pb::ListStaleCustomersRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  if (req.owner().size() > 100) return InvalidField("owner", "at most 100 bytes");
  const std::string query = Fingerprint({"ListStaleCustomers", call.principal.subject, req.owner()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ASSIGN_OR_RETURN(FreshnessPolicy policy, repo_.GetFreshnessPolicy(call.deadline));
  const absl::Time now = clock_.Now();
  const StaleCutoffs cutoffs = StaleCutoffsAt(now, policy);
  CustomerFilter filter;
  filter.scope = customers::ScopeFor(call.principal);
  filter.owner = req.owner();
  ASSIGN_OR_RETURN(std::vector<pb::Customer> rows,
                   repo_.ListStaleCustomers(call.deadline, filter, cutoffs, CursorId(cursor),
                                            page_size + 1));
  pb::ListStaleCustomersResponse response;
  const bool more = static_cast<int>(rows.size()) > page_size;
  if (more) rows.resize(page_size);
  for (const pb::Customer& c : rows) {
    for (const OverdueVerification& o : OverdueVerifications(c, policy, now)) {
      pb::StaleCustomer* s = response.add_stale();
      s->set_customer(c.name());
      s->set_display_name(c.display_name());
      s->set_owner(c.owner());
      s->set_tier(c.tier());
      s->set_what(o.what);
      ToProto(o.due, s->mutable_due_time());
    }
  }
  if (more) response.set_next_page_token(tokens_.Encode(query, LastSegment(rows.back().name())));
  return response;
}

absl::StatusOr<int64_t> CustomerService::AnnounceStaleCustomers(absl::Time deadline, int batch_size) {
  ASSIGN_OR_RETURN(FreshnessPolicy policy, repo_.GetFreshnessPolicy(deadline));
  const absl::Time now = clock_.Now();
  const StaleCutoffs cutoffs = StaleCutoffsAt(now, policy);
  int64_t announced = 0;
  int64_t after_id = 0;
  while (true) {
    ASSIGN_OR_RETURN(StaleBatch batch,
                     repo_.AnnounceStaleCustomers(deadline, policy, cutoffs, after_id, batch_size, now));
    announced += batch.announced;
    if (!batch.more) return announced;
    after_id = batch.last_id;
  }
}

absl::StatusOr<pb::DataQualityReport> CustomerService::GetDataQualityReport(
    const Call& call, const pb::GetDataQualityReportRequest& req) {
  Violations v;
  CheckText(req.owner(), "owner", 100, false, v);
  CheckText(req.team(), "team", 100, false, v);
  RETURN_IF_ERROR(v.ToStatus());
  CustomerFilter filter;
  filter.scope = customers::ScopeFor(call.principal);
  filter.owner = req.owner();
  if (!req.team().empty()) {  // a team's rows (GW-4 team dashboards)
    if (!req.owner().empty()) return InvalidField("team", "give owner or team, not both");
    ASSIGN_OR_RETURN(const auth::AccessScope team, auth::TeamReportScope(call.principal, req.team()));
    filter.scope = AccessScope{.kind = AccessScope::Kind::kTeam, .subject = "", .team = team.team};
  }
  struct Totals {
    int64_t customers = 0;
    double completeness = 0;
    int64_t complete = 0;
    int64_t stale = 0;
  };
  std::map<std::string, Totals> per_owner;
  int64_t after = 0;
  constexpr int kPage = 1000;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<pb::Customer> page,
                     repo_.ListCustomers(call.deadline, filter, after, kPage));
    for (const pb::Customer& c : page) {
      Totals& t = per_owner[c.owner()];
      ++t.customers;
      t.completeness += c.completeness();
      if (c.completeness() >= 1.0) ++t.complete;
    }
    if (static_cast<int>(page.size()) < kPage) break;
    after = CursorId(LastSegment(page.back().name()));
  }
  // CUS-6: the customers ListStaleCustomers lists (its query, then its rule).
  ASSIGN_OR_RETURN(FreshnessPolicy policy, repo_.GetFreshnessPolicy(call.deadline));
  const absl::Time now = clock_.Now();
  const StaleCutoffs cutoffs = StaleCutoffsAt(now, policy);
  after = 0;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<pb::Customer> page,
                     repo_.ListStaleCustomers(call.deadline, filter, cutoffs, after, kPage));
    for (const pb::Customer& c : page) {
      if (!OverdueVerifications(c, policy, now).empty()) ++per_owner[c.owner()].stale;
    }
    if (static_cast<int>(page.size()) < kPage) break;
    after = CursorId(LastSegment(page.back().name()));
  }
  ASSIGN_OR_RETURN(auto accuracy, repo_.AccuracyByOwner(call.deadline, filter));
  pb::DataQualityReport report;
  for (const auto& [owner, t] : per_owner) {
    pb::ManagerDataQuality* m = report.add_managers();
    m->set_owner(owner);
    m->set_customers(t.customers);
    m->set_average_completeness(t.customers > 0 ? t.completeness / t.customers : 0);
    m->set_complete_customers(t.complete);
    m->set_stale_customers(t.stale);
    m->set_freshness(t.customers > 0 ? 1.0 - static_cast<double>(t.stale) / static_cast<double>(t.customers) : 1.0);
    const AccuracyTotals a = accuracy.count(owner) ? accuracy.at(owner) : AccuracyTotals{};
    auto ratio = [](int64_t checked, int64_t corrected) {
      return checked > 0 ? 1.0 - static_cast<double>(corrected) / static_cast<double>(checked) : -1.0;
    };
    m->set_accuracy_ab(ratio(a.checked_ab, a.corrected_ab));
    m->set_accuracy_c(ratio(a.checked_c, a.corrected_c));
    m->set_meets_accuracy_target((m->accuracy_ab() < 0 || m->accuracy_ab() > 0.95) &&
                                 (m->accuracy_c() < 0 || m->accuracy_c() > 0.85));
  }
  return report;
}

// -------------------------------------------------------------------- churn

absl::StatusOr<pb::ChurnSignal> CustomerService::RecordChurnSignal(
    const Call& call, const pb::RecordChurnSignalRequest& req) {
  ASSIGN_OR_RETURN(int64_t customer_id, ParseSingleId(req.parent(), "customers", "parent"));
  Violations v;
  if (absl::Status s = db::ValidateRequestId(req.request_id()); !s.ok()) {
    v.Add("request_id", std::string(s.message()));
  }
  const pb::ChurnSignal& signal = req.signal();
  if (signal.kind() == pb::CHURN_SIGNAL_KIND_UNSPECIFIED || !pb::ChurnSignalKind_IsValid(signal.kind())) {
    v.Add("signal.kind", "one of MEMBERS_LEAVING, REVENUE_DROP, COMPETITOR_APPROACH, OTHER_SIGNAL");
  }
  if (signal.magnitude() < 0 || !std::isfinite(signal.magnitude())) {
    v.Add("signal.magnitude", "must be a non-negative number");
  }
  if (signal.note().size() > 5000) v.Add("signal.note", "at most 5000 bytes");
  RETURN_IF_ERROR(v.ToStatus());
  const CustomerGuard visible = VisibleGuard(call, customer_id);
  return repo_.RecordChurnSignal(
      call.deadline, customer_id,
      [&](pb::Customer& c, pb::ChurnSignal& s) -> absl::Status {
        RETURN_IF_ERROR(visible(c));
        c.set_churn_risk(true);
        if (c.retention_stage() == pb::NO_RISK || c.retention_stage() == pb::RETAINED ||
            c.retention_stage() == pb::RETENTION_STAGE_UNSPECIFIED) {
          c.set_retention_stage(pb::PRE_CHURN);
        }
        // CUS-8: A and B churn signals go to the supervisor.
        s.set_supervisor_notified(c.tier() >= pb::A1 && c.tier() <= pb::B2);
        return absl::OkStatus();
      },
      signal, req.request_id(), ActorFor(call, "RecordChurnSignal"));
}

absl::StatusOr<pb::ListChurnSignalsResponse> CustomerService::ListChurnSignals(
    const Call& call, const pb::ListChurnSignalsRequest& req) {
  ASSIGN_OR_RETURN(int64_t customer_id, ParseSingleId(req.parent(), "customers", "parent"));
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  const std::string query = Fingerprint({"ListChurnSignals", req.parent()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  RETURN_IF_ERROR(LoadVisible(call, customer_id).status());
  ASSIGN_OR_RETURN(std::vector<pb::ChurnSignal> rows,
                   repo_.ListChurnSignals(call.deadline, customer_id, CursorId(cursor), page_size + 1));
  pb::ListChurnSignalsResponse response;
  response.set_next_page_token(
      FillPage(rows, page_size, response.mutable_signals(), tokens_, query, ByName));
  return response;
}

absl::StatusOr<pb::Customer> CustomerService::SetRetentionStage(
    const Call& call, const pb::SetRetentionStageRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.name(), "customers", "name"));
  if (req.stage() == pb::RETENTION_STAGE_UNSPECIFIED || !pb::RetentionStage_IsValid(req.stage())) {
    return InvalidField("stage", "one of NO_RISK, PRE_CHURN, DURING_CHURN, POST_CHURN, RETAINED");
  }
  const CustomerGuard visible = VisibleGuard(call, id);
  return repo_.MutateCustomer(call.deadline, id, ActorFor(call, "SetRetentionStage"),
                              [&](pb::Customer& c) -> absl::Status {
                                RETURN_IF_ERROR(visible(c));
                                RETURN_IF_ERROR(CheckEtag(req.etag(), c.etag()));
                                c.set_retention_stage(req.stage());
                                c.set_churn_risk(req.stage() != pb::NO_RISK && req.stage() != pb::RETAINED);
                                return absl::OkStatus();
                              });
}

// ------------------------------------------------------ competitive reports

absl::StatusOr<pb::CompetitiveReport> CustomerService::CreateCompetitiveReport(
    const Call& call, const pb::CreateCompetitiveReportRequest& req) {
  const auth::Principal& p = call.principal;
  if (p.role == Role::kService || p.role == Role::kPhoneManager) {
    return Forbidden("file competitive reports");
  }
  pb::CompetitiveReport r = req.report();
  Violations v;
  if (absl::Status s = db::ValidateRequestId(req.request_id()); !s.ok()) {
    v.Add("request_id", std::string(s.message()));
  }
  if (!IsReportPeriod(r.period())) v.Add("report.period", "a month as YYYY-MM");
  if (r.competitor_strategy().empty()) v.Add("report.competitor_strategy", "required");
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string*>{"report.competitor_strategy", &r.competitor_strategy()},
        {"report.counter_poaching", &r.counter_poaching()},
        {"report.special_needs", &r.special_needs()},
        {"report.industry_trends", &r.industry_trends()}}) {
    if (value->size() > 20000) v.Add(field, "at most 20000 bytes");
  }
  RETURN_IF_ERROR(v.ToStatus());
  r.set_author(p.subject);
  r.set_team(p.team);
  return repo_.CreateCompetitiveReport(call.deadline, r, req.request_id(), clock_.Now());
}

absl::StatusOr<pb::ListCompetitiveReportsResponse> CustomerService::ListCompetitiveReports(
    const Call& call, const pb::ListCompetitiveReportsRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  Violations v;
  if (!req.period().empty() && !IsReportPeriod(req.period())) v.Add("period", "a month as YYYY-MM");
  CheckText(req.author(), "author", 100, false, v);
  RETURN_IF_ERROR(v.ToStatus());
  const std::string query =
      Fingerprint({"ListCompetitiveReports", call.principal.subject, req.period(), req.author()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ASSIGN_OR_RETURN(std::vector<pb::CompetitiveReport> rows,
                   repo_.ListCompetitiveReports(call.deadline, customers::ScopeFor(call.principal), req.period(),
                                                req.author(), CursorId(cursor), page_size + 1));
  pb::ListCompetitiveReportsResponse response;
  response.set_next_page_token(
      FillPage(rows, page_size, response.mutable_reports(), tokens_, query, ByName));
  return response;
}

// ---------------------------------------------------------------- risk (CUS-10)

absl::StatusOr<pb::Customer> CustomerService::AssessRiskTolerance(
    const Call& call, const pb::AssessRiskToleranceRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.name(), "customers", "name"));
  ASSIGN_OR_RETURN(pb::RiskTolerance level,
                   RiskToleranceFromAnswers({req.answer_scores().begin(), req.answer_scores().end()}));
  const CustomerGuard visible = VisibleGuard(call, id);
  const absl::CivilDay today = absl::ToCivilDay(clock_.Now(), BusinessTimeZone());
  return repo_.MutateCustomer(call.deadline, id, ActorFor(call, "AssessRiskTolerance"),
                              [&](pb::Customer& c) -> absl::Status {
                                RETURN_IF_ERROR(visible(c));
                                RETURN_IF_ERROR(CheckEtag(req.etag(), c.etag()));
                                if (c.kind() != pb::INDIVIDUAL) {
                                  return absl::FailedPreconditionError(
                                      "risk tolerance is assessed for individual customers only");
                                }
                                c.set_risk_tolerance(level);
                                c.mutable_risk_assessed_on()->set_year(static_cast<int>(today.year()));
                                c.mutable_risk_assessed_on()->set_month(today.month());
                                c.mutable_risk_assessed_on()->set_day(today.day());
                                return absl::OkStatus();
                              });
}

}  // namespace crm::customers
