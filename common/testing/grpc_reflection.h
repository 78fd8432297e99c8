#pragma once
// Server reflection's service list, asked for as raw bytes: Debian installs
// no generated reflection stubs.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace crm::testing {

// One ServerReflectionInfo exchange with a list_services request. On OK,
// `services` gets the response bytes, in which each service name appears
// as a plain string.
grpc::Status ListServicesByReflection(const std::shared_ptr<grpc::Channel>& channel, std::string* services);

}  // namespace crm::testing
