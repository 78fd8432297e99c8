#pragma once
// Structured logs: one JSON object per line on stderr, so container log
// collectors can index fields without parsing free text.

#include <initializer_list>
#include "absl/strings/string_view.h"
#include <utility>

namespace crm::log {

enum class Level { kDebug, kInfo, kWarning, kError };

using Field = std::pair<absl::string_view, absl::string_view>;

void SetMinLevel(Level level);
bool Enabled(Level level);
void Write(Level level, absl::string_view message, std::initializer_list<Field> fields = {});

inline void Info(absl::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kInfo, m, f); }
inline void Warning(absl::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kWarning, m, f); }
inline void Error(absl::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kError, m, f); }

}  // namespace crm::log
