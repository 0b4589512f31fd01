// hw/src/text.hpp — private text helpers of torq::hw's sources (sysfs / procfs / hwloc strings).
// Pure functions: thread-safe, no allocation.
#pragma once

#include <string_view>

namespace torq::hw::detail {

[[nodiscard]] inline bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// `s` without leading and trailing blanks.
[[nodiscard]] inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace torq::hw::detail
