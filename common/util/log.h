#pragma once
// Structured logs: one JSON object per line on stderr, so container log
// collectors can index fields without parsing free text.

#include <initializer_list>
#include <string_view>
#include <utility>

namespace crm::log {

enum class Level { kDebug, kInfo, kWarning, kError };

using Field = std::pair<std::string_view, std::string_view>;

void SetMinLevel(Level level);
bool Enabled(Level level);
void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

inline void Info(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kInfo, m, f); }
inline void Warning(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kWarning, m, f); }
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kError, m, f); }

}  // namespace crm::log
