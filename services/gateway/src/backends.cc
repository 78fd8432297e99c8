#include "services/gateway/src/backends.h"

#include "common/client/client.h"

namespace crm::gateway {

Backends Backends::Connect(const BackendAddresses& a) {
  std::vector<Backend> list = {
      {"customers", "crm.customers.v1", a.customers, nullptr},
      {"opportunities", "crm.opportunities.v1", a.opportunities, nullptr},
      {"complaints", "crm.complaints.v1", a.complaints, nullptr},
      {"scheduling", "crm.scheduling.v1", a.scheduling, nullptr},
  };
  for (Backend& b : list) b.channel = client::MakeChannel(b.address);
  return Backends(std::move(list));
}

absl::string_view PackageOfMethod(absl::string_view full_method) {
  if (full_method.size() < 2 || full_method[0] != '/') return {};
  const size_t slash = full_method.find('/', 1);
  if (slash == absl::string_view::npos || slash + 1 >= full_method.size()) return {};
  if (full_method.find('/', slash + 1) != absl::string_view::npos) return {};
  const absl::string_view service = full_method.substr(1, slash - 1);
  const size_t dot = service.rfind('.');
  if (dot == absl::string_view::npos || dot == 0 || dot + 1 == service.size()) return {};
  return service.substr(0, dot);
}

const Backend* Backends::BackendForMethod(absl::string_view full_method) const {
  const absl::string_view package = PackageOfMethod(full_method);
  if (package.empty()) return nullptr;
  for (const Backend& b : backends_) {
    if (b.package == package) return &b;
  }
  return nullptr;
}

std::shared_ptr<grpc::Channel> Backends::ChannelForMethod(absl::string_view full_method) const {
  const Backend* b = BackendForMethod(full_method);
  return b == nullptr ? nullptr : b->channel;
}

}  // namespace crm::gateway
