// crmctl customers | contacts | members | tiers | stale | quality: the
// crm.customers.v1.CustomerService calls.

#include <algorithm>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "services/crmctl/command.h"
#include "services/crmctl/members_csv.h"
#include "services/crmctl/rpc.h"

namespace crm::crmctl {
namespace {

namespace v1 = crm::customers::v1;

// The server takes up to this many members per stream message.
constexpr size_t kMembersPerMessage = 1000;

std::unique_ptr<v1::CustomerService::Stub> Stub(Invocation& inv) {
  return v1::CustomerService::NewStub(inv.Channel());
}

// ---- customers ----

int CreateCustomer(Invocation& inv) {
  v1::CreateCustomerRequest request;
  if (absl::Status s = ParseJsonArg(*inv.args().Get("json"), *request.mutable_customer()); !s.ok()) {
    return inv.UsageError(s.message());
  }
  request.set_request_id(inv.args().GetOr("request-id", ""));
  auto stub = Stub(inv);
  return CallAndPrint<v1::Customer>(
      inv, [&](auto* ctx, auto* resp) { return stub->CreateCustomer(ctx, request, resp); });
}

int GetCustomer(Invocation& inv) {
  v1::GetCustomerRequest request;
  request.set_name(inv.args().positional()[0]);
  auto stub = Stub(inv);
  return CallAndPrint<v1::Customer>(
      inv, [&](auto* ctx, auto* resp) { return stub->GetCustomer(ctx, request, resp); });
}

int ListCustomers(Invocation& inv) {
  const Args& args = inv.args();
  v1::ListCustomersRequest request;
  if (absl::Status s = ApplyPaging(args, request); !s.ok()) return inv.UsageError(s.message());
  request.set_owner(args.GetOr("owner", ""));
  request.set_name_contains(args.GetOr("name-contains", ""));
  if (std::optional<std::string> tier_name = args.Get("tier")) {
    v1::Tier tier;
    if (!v1::Tier_Parse(absl::AsciiStrToUpper(*tier_name), &tier) ||
        tier == v1::TIER_UNSPECIFIED) {
      return inv.UsageError("--tier must be A1, A2, B1, B2 or C");
    }
    request.set_tier(tier);
  }
  auto stub = Stub(inv);
  return CallAndPrint<v1::ListCustomersResponse>(
      inv, [&](auto* ctx, auto* resp) { return stub->ListCustomers(ctx, request, resp); });
}

int UpdateCustomer(Invocation& inv) {
  const Args& args = inv.args();
  v1::UpdateCustomerRequest request;
  if (absl::Status s = ParseJsonArg(*args.Get("json"), *request.mutable_customer()); !s.ok()) {
    return inv.UsageError(s.message());
  }
  request.mutable_customer()->set_name(args.positional()[0]);
  request.mutable_customer()->set_etag(*args.Get("etag"));
  for (absl::string_view path : absl::StrSplit(*args.Get("mask"), ',', absl::SkipWhitespace())) {
    request.mutable_update_mask()->add_paths(std::string(absl::StripAsciiWhitespace(path)));
  }
  if (request.update_mask().paths_size() == 0) return inv.UsageError("--mask names no field");
  auto stub = Stub(inv);
  return CallAndPrint<v1::Customer>(
      inv, [&](auto* ctx, auto* resp) { return stub->UpdateCustomer(ctx, request, resp); });
}

int ArchiveCustomer(Invocation& inv) {
  v1::ArchiveCustomerRequest request;
  request.set_name(inv.args().positional()[0]);
  request.set_etag(*inv.args().Get("etag"));
  auto stub = Stub(inv);
  return CallAndPrint<v1::Customer>(
      inv, [&](auto* ctx, auto* resp) { return stub->ArchiveCustomer(ctx, request, resp); });
}

int ListCustomerChanges(Invocation& inv) {
  v1::ListCustomerChangesRequest request;
  if (absl::Status s = ApplyPaging(inv.args(), request); !s.ok()) return inv.UsageError(s.message());
  request.set_customer(inv.args().positional()[0]);
  auto stub = Stub(inv);
  return CallAndPrint<v1::ListCustomerChangesResponse>(
      inv, [&](auto* ctx, auto* resp) { return stub->ListCustomerChanges(ctx, request, resp); });
}

// ---- contacts ----

int CreateContact(Invocation& inv) {
  const Args& args = inv.args();
  v1::CreateContactRequest request;
  if (absl::Status s = ParseJsonArg(*args.Get("json"), *request.mutable_contact()); !s.ok()) {
    return inv.UsageError(s.message());
  }
  request.set_parent(*args.Get("parent"));
  request.set_request_id(args.GetOr("request-id", ""));
  auto stub = Stub(inv);
  return CallAndPrint<v1::Contact>(
      inv, [&](auto* ctx, auto* resp) { return stub->CreateContact(ctx, request, resp); });
}

int ListContacts(Invocation& inv) {
  v1::ListContactsRequest request;
  if (absl::Status s = ApplyPaging(inv.args(), request); !s.ok()) return inv.UsageError(s.message());
  request.set_parent(*inv.args().Get("parent"));
  auto stub = Stub(inv);
  return CallAndPrint<v1::ListContactsResponse>(
      inv, [&](auto* ctx, auto* resp) { return stub->ListContacts(ctx, request, resp); });
}

// ---- members ----

int ImportMembers(Invocation& inv) {
  const std::string path = *inv.args().Get("csv");
  std::ifstream file(path, std::ios::binary);
  if (!file) return inv.UsageError(absl::StrCat("cannot read ", path));
  absl::StatusOr<std::vector<v1::Member>> members = ReadMembersCsv(file);
  if (!members.ok()) return inv.UsageError(absl::StrCat(path, ": ", members.status().message()));

  grpc::ClientContext context;
  inv.Prepare(context);
  v1::ImportMembersResponse response;
  auto stub = Stub(inv);
  std::unique_ptr<grpc::ClientWriterInterface<v1::ImportMembersRequest>> writer =
      stub->ImportMembers(&context, &response);
  // The first message names the customer; an empty file still sends it.
  size_t next = 0;
  do {
    v1::ImportMembersRequest request;
    if (next == 0) request.set_parent(*inv.args().Get("parent"));
    const size_t end = std::min(members->size(), next + kMembersPerMessage);
    for (; next < end; ++next) *request.add_members() = std::move((*members)[next]);
    // A failed write means the server ended the call; Finish says why.
    if (!writer->Write(request)) break;
  } while (next < members->size());
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) {
    PrintRpcError(status, inv.err());
    return kExitFailed;
  }
  PrintMessage(response, inv.options().pretty, inv.out());
  return kExitOk;
}

// ---- tiers, freshness, quality ----

int RecomputeTiers(Invocation& inv) {
  v1::RecomputeTiersRequest request;
  request.set_reason(inv.args().GetOr("reason", ""));
  auto stub = Stub(inv);
  return CallAndPrint<v1::RecomputeTiersResponse>(
      inv, [&](auto* ctx, auto* resp) { return stub->RecomputeTiers(ctx, request, resp); });
}

int ListTierChanges(Invocation& inv) {
  v1::ListTierChangesRequest request;
  if (absl::Status s = ApplyPaging(inv.args(), request); !s.ok()) return inv.UsageError(s.message());
  request.set_customer(inv.args().GetOr("customer", ""));
  auto stub = Stub(inv);
  return CallAndPrint<v1::ListTierChangesResponse>(
      inv, [&](auto* ctx, auto* resp) { return stub->ListTierChanges(ctx, request, resp); });
}

int ListStaleCustomers(Invocation& inv) {
  v1::ListStaleCustomersRequest request;
  if (absl::Status s = ApplyPaging(inv.args(), request); !s.ok()) return inv.UsageError(s.message());
  request.set_owner(inv.args().GetOr("owner", ""));
  auto stub = Stub(inv);
  return CallAndPrint<v1::ListStaleCustomersResponse>(
      inv, [&](auto* ctx, auto* resp) { return stub->ListStaleCustomers(ctx, request, resp); });
}

int GetDataQualityReport(Invocation& inv) {
  v1::GetDataQualityReportRequest request;
  request.set_owner(inv.args().GetOr("owner", ""));
  auto stub = Stub(inv);
  return CallAndPrint<v1::DataQualityReport>(
      inv, [&](auto* ctx, auto* resp) { return stub->GetDataQualityReport(ctx, request, resp); });
}

}  // namespace

std::vector<CommandSpec> CustomerCommands() {
  return {
      {.path = {"customers", "create"},
       .positional = {},
       .required_flags = {"json"},
       .optional_flags = {"request-id"},
       .summary = "create a customer from Customer JSON (or @file); --request-id makes retries safe",
       .run = &CreateCustomer},
      {.path = {"customers", "get"},
       .positional = {"NAME"},
       .required_flags = {},
       .optional_flags = {},
       .summary = "one customer, e.g. customers/42",
       .run = &GetCustomer},
      {.path = {"customers", "list"},
       .positional = {},
       .required_flags = {},
       .optional_flags = WithPaging({"owner", "tier", "name-contains"}),
       .summary = "customers the caller may see, filtered",
       .run = &ListCustomers},
      {.path = {"customers", "update"},
       .positional = {"NAME"},
       .required_flags = {"json", "mask", "etag"},
       .optional_flags = {},
       .summary = "update the fields named by --mask (comma-separated) from Customer JSON",
       .run = &UpdateCustomer},
      {.path = {"customers", "archive"},
       .positional = {"NAME"},
       .required_flags = {"etag"},
       .optional_flags = {},
       .summary = "archive a customer",
       .run = &ArchiveCustomer},
      {.path = {"customers", "changes"},
       .positional = {"NAME"},
       .required_flags = {},
       .optional_flags = kPaging,
       .summary = "field-level change history of a customer and its contacts",
       .run = &ListCustomerChanges},
      {.path = {"contacts", "create"},
       .positional = {},
       .required_flags = {"parent", "json"},
       .optional_flags = {"request-id"},
       .summary = "add a contact (Contact JSON or @file) to customer --parent",
       .run = &CreateContact},
      {.path = {"contacts", "list"},
       .positional = {},
       .required_flags = {"parent"},
       .optional_flags = kPaging,
       .summary = "contacts of customer --parent",
       .run = &ListContacts},
      {.path = {"members", "import"},
       .positional = {},
       .required_flags = {"parent", "csv"},
       .optional_flags = {},
       .summary = "stream an employee directory CSV (display_name,phone,department,title,brand,"
                  "products with ';' between products)",
       .run = &ImportMembers},
      {.path = {"tiers", "recompute"},
       .positional = {},
       .required_flags = {},
       .optional_flags = {"reason"},
       .summary = "re-rank every customer with the current value model",
       .run = &RecomputeTiers},
      {.path = {"tiers", "changes"},
       .positional = {},
       .required_flags = {},
       .optional_flags = WithPaging({"customer"}),
       .summary = "tier change history, of one --customer or all visible",
       .run = &ListTierChanges},
      {.path = {"stale"},
       .positional = {},
       .required_flags = {},
       .optional_flags = WithPaging({"owner"}),
       .summary = "customers whose data or directory is due for re-verification",
       .run = &ListStaleCustomers},
      {.path = {"quality"},
       .positional = {},
       .required_flags = {},
       .optional_flags = {"owner"},
       .summary = "data completeness and accuracy per manager",
       .run = &GetDataQualityReport},
  };
}

}  // namespace crm::crmctl
