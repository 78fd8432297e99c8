#include "common/util/proto_diff.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

namespace crm {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string FieldText(const Message& m, const FieldDescriptor* f) {
  const Reflection* r = m.GetReflection();
  if (!f->is_repeated() && !r->HasField(m, f)) return "";
  std::string out;
  if (f->is_repeated()) {
    for (int i = 0; i < r->FieldSize(m, f); ++i) {
      std::string item;
      google::protobuf::TextFormat::PrintFieldValueToString(m, f, i, &item);
      if (!out.empty()) out += ", ";
      out += item;
    }
    return out;
  }
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) return r->GetString(m, f);
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.PrintFieldValueToString(m, f, -1, &out);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

std::vector<FieldDiff> DiffMessages(const Message& before, const Message& after,
                                    const std::set<std::string>& ignore) {
  std::vector<FieldDiff> diffs;
  const auto* descriptor = before.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* f = descriptor->field(i);
    if (ignore.count(f->name()) > 0) continue;
    std::string old_value = FieldText(before, f);
    std::string new_value = FieldText(after, f);
    if (old_value != new_value) diffs.push_back({f->name(), std::move(old_value), std::move(new_value)});
  }
  return diffs;
}

}  // namespace crm
