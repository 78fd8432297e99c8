#pragma once
// The API-convention checks every service makes the same way (DESIGN.md, API
// conventions): etags (AIP-154), update masks (AIP-134), permission errors
// and the query fingerprint a page token is bound to (AIP-158).

#include <initializer_list>
#include <string>
#include <vector>

#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace crm {

// PERMISSION_DENIED "your role may not <what>".
absl::Status Forbidden(absl::string_view what);

// ABORTED when the client sent an etag and it is not the current one; an
// empty etag means "overwrite unconditionally".
absl::Status CheckEtag(absl::string_view given, absl::string_view current);

// The mask's paths, each checked against the updatable fields; an empty
// mask or an unknown path is INVALID_ARGUMENT on update_mask.
absl::StatusOr<std::vector<std::string>> MaskPaths(const google::protobuf::FieldMask& mask,
                                                   const std::vector<std::string>& allowed);

// Copies the named top-level fields from `source` to `dest`, replacing
// (not merging) messages and repeated fields.
void ApplyMask(const google::protobuf::Message& source, const std::vector<std::string>& paths,
               google::protobuf::Message& dest);

// The request parameters a page token is bound to, joined unambiguously.
std::string Fingerprint(std::initializer_list<absl::string_view> parts);

}  // namespace crm
