#include "services/customers/src/customer_handler.h"

#include "common/server/call.h"
#include "common/server/request_parse_errors.h"
#include "common/status/status_macros.h"

namespace crm::customers {

// Each sync unary RPC: authenticate, call the service method of the same
// name, store its result in the response.
#define CRM_DEFINE(Rpc, Request, Response)                                                  \
  grpc::Status CustomerHandler::Rpc(grpc::ServerContext* ctx, const pb::Request* req,       \
                                    pb::Response* resp) {                                   \
    return server::Serve(verifier_, ctx, #Rpc, [&](const Call& call) -> absl::Status {      \
      ASSIGN_OR_RETURN(*resp, service_.Rpc(call, *req));                                    \
      return absl::OkStatus();                                                              \
    });                                                                                     \
  }
CRM_CUSTOMER_SYNC_RPCS(CRM_DEFINE)
#undef CRM_DEFINE

// The two hot calls, on the callback API: answered from their batch's
// runner thread (see db::GroupCommit).
grpc::ServerUnaryReactor* CustomerHandler::CreateCustomer(grpc::CallbackServerContext* ctx,
                                                          const pb::CreateCustomerRequest* req, pb::Customer* resp) {
  return server::ServeAsync(verifier_, ctx, "CreateCustomer", resp, [&](const Call& call, auto done) {
    service_.CreateCustomer(call, *req, std::move(done));
  });
}

grpc::ServerUnaryReactor* CustomerHandler::GetCustomer(grpc::CallbackServerContext* ctx,
                                                       const pb::GetCustomerRequest* req, pb::Customer* resp) {
  return server::ServeAsync(verifier_, ctx, "GetCustomer", resp, [&](const Call& call, auto done) {
    service_.GetCustomer(call, *req, std::move(done));
  });
}

grpc::Status CustomerHandler::DeleteContact(grpc::ServerContext* ctx,
                                            const pb::DeleteContactRequest* req,
                                            google::protobuf::Empty*) {
  return server::Serve(verifier_, ctx, "DeleteContact",
                       [&](const Call& call) { return service_.DeleteContact(call, *req); });
}

grpc::Status CustomerHandler::ImportMembers(grpc::ServerContext* ctx,
                                            grpc::ServerReader<pb::ImportMembersRequest>* reader,
                                            pb::ImportMembersResponse* resp) {
  return server::Serve(verifier_, ctx, "ImportMembers", [&](const Call& call) -> absl::Status {
    pb::ImportMembersRequest message;
    if (!reader->Read(&message)) {
      RETURN_IF_ERROR(server::StreamEndStatus(*message.GetDescriptor(), 0));
      return InvalidField("parent", "the stream was empty");
    }
    ASSIGN_OR_RETURN(CustomerService::MemberImport import,
                     service_.BeginMemberImport(call, message.parent()));
    int64_t messages_read = 0;
    do {
      RETURN_IF_ERROR(import.Add(message));
      ++messages_read;
    } while (reader->Read(&message));
    // A message that failed to parse also ends the loop. Batches flushed
    // before it stay imported (members are upserted, so sending the stream
    // again is safe); the rest is not written.
    RETURN_IF_ERROR(server::StreamEndStatus(*message.GetDescriptor(), messages_read));
    if (ctx->IsCancelled()) return absl::CancelledError("client cancelled the import");
    ASSIGN_OR_RETURN(*resp, import.Finish());
    return absl::OkStatus();
  });
}

}  // namespace crm::customers
