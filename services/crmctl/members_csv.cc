#include "services/crmctl/members_csv.h"

#include <iterator>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace crm::crmctl {
namespace {

using crm::customers::v1::Member;

constexpr size_t kColumns = 6;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

struct Record {
  int line = 0;  // where the record starts, 1-based
  std::vector<std::string> fields;
};

// Splits RFC 4180 text into records; quoted fields may hold commas,
// line breaks and doubled quotes. Blank lines are skipped.
absl::StatusOr<std::vector<Record>> SplitRecords(const std::string& text) {
  std::vector<Record> records;
  Record record;
  std::string field;
  bool in_quotes = false;
  bool field_was_quoted = false;
  int line = 1;
  record.line = 1;

  auto end_field = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
    field_was_quoted = false;
  };
  auto end_record = [&] {
    end_field();
    const bool blank = record.fields.size() == 1 && record.fields[0].empty();
    if (!blank) records.push_back(std::move(record));
    record = Record{.line = line, .fields = {}};
  };

  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        if (!field.empty() || field_was_quoted) {
          return absl::InvalidArgumentError(
              absl::StrCat("line ", line, ": quote inside an unquoted field"));
        }
        in_quotes = true;
        field_was_quoted = true;
        break;
      case ',':
        end_field();
        break;
      case '\r':
        if (i + 1 < text.size() && text[i + 1] == '\n') break;  // CRLF: the \n ends it
        ++line;
        end_record();
        break;
      case '\n':
        ++line;
        end_record();
        break;
      default:
        field += c;
    }
  }
  if (in_quotes) {
    return absl::InvalidArgumentError(absl::StrCat("line ", record.line, ": unterminated quote"));
  }
  end_record();
  return records;
}

}  // namespace

absl::StatusOr<std::vector<Member>> ReadMembersCsv(std::istream& in) {
  std::string text(std::istreambuf_iterator<char>(in), {});
  if (absl::StartsWith(text, absl::string_view(kUtf8Bom.data(), kUtf8Bom.size()))) {
    text.erase(0, kUtf8Bom.size());
  }
  absl::StatusOr<std::vector<Record>> records = SplitRecords(text);
  if (!records.ok()) return records.status();

  std::vector<Member> members;
  members.reserve(records->size());
  for (size_t r = 0; r < records->size(); ++r) {
    std::vector<std::string>& f = (*records)[r].fields;
    if (r == 0 && absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(f[0]), "display_name")) {
      continue;  // header row
    }
    if (f.size() > kColumns) {
      return absl::InvalidArgumentError(absl::StrCat("line ", (*records)[r].line, ": ", f.size(),
                                                     " columns, expected at most ", kColumns));
    }
    f.resize(kColumns);
    Member member;
    member.set_display_name(std::move(f[0]));
    member.set_phone(std::move(f[1]));
    member.set_department(std::move(f[2]));
    member.set_title(std::move(f[3]));
    member.set_brand(std::move(f[4]));
    for (absl::string_view product : absl::StrSplit(f[5], ';', absl::SkipWhitespace())) {
      member.add_products(std::string(absl::StripAsciiWhitespace(product)));
    }
    members.push_back(std::move(member));
  }
  return members;
}

}  // namespace crm::crmctl
