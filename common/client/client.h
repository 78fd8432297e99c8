#pragma once
// Service-to-service calls: one way to build channels and client contexts.
//
//   auto channel = client::MakeChannel("127.0.0.1:50051");   // once, at start-up
//   auto ctx = client::NewContext(caller);   // per call: deadline + identity
//   grpc::Status s = stub->GetCustomer(ctx.get(), req, &resp);
//   if (!s.ok()) return client::PeerError("customers service", s);
//
// Only UNAVAILABLE is retried, by gRPC itself (retry policy in the channel's
// service config), so a retried call never repeats an effect the server
// already applied. The caller's identity is forwarded (see README.md).

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/tls/tls.h"

namespace crm::client {

struct ChannelOptions {
  // Attempts including the first (gRPC caps this at 5).
  int max_attempts = 3;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(1);
  double backoff_multiplier = 2.0;
  int max_message_bytes = 8 * 1024 * 1024;
};

// The gRPC service config (JSON): round-robin load balancing over the
// target's addresses, and the retry policy: every method,
// retryableStatusCodes = [UNAVAILABLE] only.
std::string RetryServiceConfig(const ChannelOptions& options);

// Makes every later MakeChannel of this process use `tls` (plaintext when it
// is off, the default). Once at start-up, before the first channel:
// server::LoadServiceConfig does it from the --tls_ca_file and
// --tls_client_* flags, so no service-to-service channel is missed.
void SetChannelTls(tls::ChannelTls tls);

// A channel secured per SetChannelTls, with the retry policy. Connects
// lazily: creating it never fails or blocks (a TLS handshake failure shows
// as UNAVAILABLE on the calls).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, const ChannelOptions& options = {});

// What an outgoing call inherits from the incoming one.
struct Caller {
  // The incoming call's deadline (crm::server::Call::deadline).
  absl::Time deadline = absl::InfiniteFuture();
  // The incoming call's bearer token, forwarded as is.
  std::string bearer_token;
};

// The caller of an incoming call: its deadline and verified bearer token.
// UNAUTHENTICATED when the call carries no single bearer token.
absl::StatusOr<Caller> CallerOf(const grpc::ServerContext& incoming, absl::Time deadline);

// A context for one outgoing call: the caller's deadline (capped at
// now + max_duration, so a peer can never hold us longer) and its token.
std::unique_ptr<grpc::ClientContext> NewContext(const Caller& caller,
                                                absl::Duration max_duration = absl::Seconds(30));

// The status to return when a call to `peer` failed: UNAVAILABLE (after
// the retries) becomes "<peer> unavailable: <detail>", DEADLINE_EXCEEDED
// names the peer too; other codes keep their code, message and field
// violations (they are the peer's answer about the request).
absl::Status PeerError(absl::string_view peer, const grpc::Status& status);

// One unary call to `peer` as `caller`: NewContext, the call, PeerError.
//   ASSIGN_OR_RETURN(Customer c, client::Unary("customers service", caller,
//                                              *stub, &Stub::GetCustomer, req));
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> Unary(absl::string_view peer, const Caller& caller, Stub& stub,
                               grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                               const Request& request) {
  auto context = NewContext(caller);
  Response response;
  grpc::Status status = (stub.*rpc)(context.get(), request, &response);
  if (!status.ok()) return PeerError(peer, status);
  return response;
}

}  // namespace crm::client
