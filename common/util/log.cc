#include "common/util/log.h"

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace crm::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarning: return "warning";
    case Level::kError: return "error";
  }
  return "info";
}

void AppendJsonString(std::string& out, absl::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(&out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace

void SetMinLevel(Level level) { g_min_level.store(static_cast<int>(level)); }

bool Enabled(Level level) { return static_cast<int>(level) >= g_min_level.load(); }

void Write(Level level, absl::string_view message, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  std::string line = "{\"time\":";
  AppendJsonString(line, absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone()));
  line += ",\"level\":";
  AppendJsonString(line, LevelName(level));
  line += ",\"msg\":";
  AppendJsonString(line, message);
  for (const Field& f : fields) {
    line.push_back(',');
    AppendJsonString(line, f.first);
    line.push_back(':');
    AppendJsonString(line, f.second);
  }
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), stderr);  // one write: lines never interleave
}

}  // namespace crm::log
