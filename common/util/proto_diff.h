#pragma once
// Field-level differences between two versions of a resource, for the audit
// trail (CUS-12): one entry per top-level field whose value changed.

#include <set>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

namespace crm {

struct FieldDiff {
  std::string field;
  std::string old_value;  // text form; "" for unset
  std::string new_value;
};

std::vector<FieldDiff> DiffMessages(const google::protobuf::Message& before,
                                    const google::protobuf::Message& after,
                                    const std::set<std::string>& ignore);

}  // namespace crm
