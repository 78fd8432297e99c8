#include "common/util/aip.h"

#include <google/protobuf/util/field_mask_util.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status.h"

namespace crm {

absl::Status Forbidden(absl::string_view what) {
  return absl::PermissionDeniedError(absl::StrCat("your role may not ", what));
}

absl::Status CheckEtag(absl::string_view given, absl::string_view current) {
  if (!given.empty() && given != current) {
    return absl::AbortedError("etag mismatch: the resource changed since you read it; read it again");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> MaskPaths(const google::protobuf::FieldMask& mask,
                                                   const std::vector<std::string>& allowed) {
  if (mask.paths().empty()) return InvalidField("update_mask", "name the fields to update");
  std::vector<std::string> paths;
  for (const std::string& path : mask.paths()) {
    if (std::find(allowed.begin(), allowed.end(), path) == allowed.end()) {
      return InvalidField("update_mask", absl::StrCat("'", path, "' cannot be updated; updatable: ",
                                                      absl::StrJoin(allowed, ", ")));
    }
    paths.push_back(path);
  }
  return paths;
}

void ApplyMask(const google::protobuf::Message& source, const std::vector<std::string>& paths,
               google::protobuf::Message& dest) {
  google::protobuf::FieldMask mask;
  for (const std::string& p : paths) mask.add_paths(p);
  google::protobuf::util::FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  options.set_replace_repeated_fields(true);
  google::protobuf::util::FieldMaskUtil::MergeMessageTo(source, mask, options, &dest);
}

std::string Fingerprint(std::initializer_list<absl::string_view> parts) {
  return absl::StrJoin(parts, "\x1f");
}

}  // namespace crm
