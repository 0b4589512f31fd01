// Text conversions for UsdFixedPoint8 (see torq/num/usd_fixed.hpp).
#include "torq/num/usd_fixed.hpp"

namespace torq::num {

std::optional<UsdFixedPoint8> parse_usd(std::string_view s) noexcept {
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  std::size_t i = 0;
  std::uint64_t whole = 0;
  bool overflow = false;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    overflow |= __builtin_mul_overflow(whole, 10U, &whole);
    overflow |= __builtin_add_overflow(whole, static_cast<std::uint64_t>(s[i] - '0'), &whole);
    ++i;
  }
  if (i == 0) return std::nullopt;  // integer part required
  std::uint64_t frac = 0;
  unsigned frac_digits = 0;
  if (i < s.size()) {
    if (s[i] != '.') return std::nullopt;
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (frac_digits == UsdFixedPoint8::kDecimals) return std::nullopt;  // more precision than we hold
      frac = frac * 10 + static_cast<std::uint64_t>(s[i] - '0');
      ++frac_digits;
      ++i;
    }
    if (frac_digits == 0 || i != s.size()) return std::nullopt;
  }
  if (overflow) return std::nullopt;
  for (unsigned k = frac_digits; k < UsdFixedPoint8::kDecimals; ++k) frac *= 10;
  std::uint64_t mag = 0;
  if (__builtin_mul_overflow(whole, static_cast<std::uint64_t>(UsdFixedPoint8::kScale), &mag) ||
      __builtin_add_overflow(mag, frac, &mag))
    return std::nullopt;
  if (negative) {
    if (mag > (1ULL << 63)) return std::nullopt;
    return UsdFixedPoint8{static_cast<std::int64_t>(0 - mag)};
  }
  if (mag > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return UsdFixedPoint8{static_cast<std::int64_t>(mag)};
}

char* to_chars(char* first, char* last, UsdFixedPoint8 v) noexcept {
  const bool negative = v.raw < 0;
  const std::uint64_t mag = negative ? 0 - static_cast<std::uint64_t>(v.raw) : static_cast<std::uint64_t>(v.raw);
  std::uint64_t whole = mag / static_cast<std::uint64_t>(UsdFixedPoint8::kScale);
  std::uint64_t frac = mag % static_cast<std::uint64_t>(UsdFixedPoint8::kScale);
  char buf[32];
  char* p = buf + sizeof(buf);
  for (unsigned k = 0; k < UsdFixedPoint8::kDecimals; ++k) {
    *--p = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  *--p = '.';
  do {
    *--p = static_cast<char>('0' + whole % 10);
    whole /= 10;
  } while (whole != 0);
  if (negative) *--p = '-';
  const std::size_t len = static_cast<std::size_t>(buf + sizeof(buf) - p);
  if (first == nullptr || last < first || static_cast<std::size_t>(last - first) < len) return nullptr;
  for (std::size_t k = 0; k < len; ++k) first[k] = p[k];
  return first + len;
}

std::string to_string(UsdFixedPoint8 v) {
  char buf[32];
  char* end = to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

std::optional<UsdFixedPoint8> UsdFixedPoint8::parse(std::string_view s) noexcept { return parse_usd(s); }
std::string UsdFixedPoint8::to_string() const { return torq::num::to_string(*this); }

}  // namespace torq::num
