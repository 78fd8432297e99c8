#include "common/client/client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/auth/grpc_auth.h"
#include "common/status/grpc_status.h"

namespace crm::client {
namespace {

std::string Seconds(absl::Duration d) { return absl::StrFormat("%.3fs", absl::ToDoubleSeconds(d)); }

// What MakeChannel secures channels with; never destroyed, so a channel
// made during static destruction still finds it.
absl::Mutex credentials_mu(absl::kConstInit);
std::shared_ptr<grpc::ChannelCredentials>& Credentials() ABSL_EXCLUSIVE_LOCKS_REQUIRED(credentials_mu) {
  static auto* credentials = new std::shared_ptr<grpc::ChannelCredentials>(grpc::InsecureChannelCredentials());
  return *credentials;
}

}  // namespace

std::string RetryServiceConfig(const ChannelOptions& options) {
  // "name": [{}] is the default method config: every service and method.
  // Round robin over every address the target resolves to (several
  // replicas: "dns:///customers-headless:50051", or "ipv4:a:1,b:2"), so
  // calls spread and a replica that goes away is simply skipped.
  return absl::StrCat(R"({"loadBalancingConfig":[{"round_robin":{}}],"methodConfig":[{"name":[{}],"retryPolicy":{"maxAttempts":)",
                      std::clamp(options.max_attempts, 2, 5), R"(,"initialBackoff":")",
                      Seconds(options.initial_backoff), R"(","maxBackoff":")",
                      Seconds(options.max_backoff), R"(","backoffMultiplier":)",
                      absl::StrFormat("%.2f", options.backoff_multiplier),
                      R"(,"retryableStatusCodes":["UNAVAILABLE"]}}]})");
}

void SetChannelTls(tls::ChannelTls tls) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = tls::ChannelCredentials(tls);
  absl::MutexLock lock(&credentials_mu);
  Credentials() = std::move(credentials);
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, const ChannelOptions& options) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(RetryServiceConfig(options));
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  {
    absl::MutexLock lock(&credentials_mu);
    credentials = Credentials();
  }
  return grpc::CreateCustomChannel(target, credentials, args);
}

absl::StatusOr<Caller> CallerOf(const grpc::ServerContext& incoming, absl::Time deadline) {
  auto token = auth::BearerTokenFromMetadata(incoming.client_metadata());
  if (!token.ok()) return token.status();
  return Caller{deadline, std::string(token->data(), token->size())};
}

std::unique_ptr<grpc::ClientContext> NewContext(const Caller& caller, absl::Duration max_duration) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(std::min(caller.deadline, absl::Now() + max_duration)));
  if (!caller.bearer_token.empty()) ctx->AddMetadata("authorization", absl::StrCat("Bearer ", caller.bearer_token));
  return ctx;
}

absl::Status PeerError(absl::string_view peer, const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return absl::OkStatus();
    case grpc::StatusCode::UNAVAILABLE:
      return absl::UnavailableError(absl::StrCat(peer, " unavailable: ", status.error_message()));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::DeadlineExceededError(absl::StrCat(peer, " did not answer before the deadline"));
    default:
      return FromGrpcStatus(status);
  }
}

}  // namespace crm::client
