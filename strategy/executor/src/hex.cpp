#include "torq/executor/hex.hpp"

namespace torq::executor {
namespace {
constexpr char kDigits[] = "0123456789abcdef";
constexpr int nibble(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
std::string_view strip_prefix(std::string_view t) noexcept {
  if (t.size() >= 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) t.remove_prefix(2);
  return t;
}
}  // namespace

std::size_t encode_hex(std::span<const std::uint8_t> in, std::span<char> out) noexcept {
  if (out.size() / 2 < in.size()) return 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    out[2 * i] = kDigits[in[i] >> 4];
    out[2 * i + 1] = kDigits[in[i] & 0xf];
  }
  return 2 * in.size();
}

std::optional<std::size_t> decode_hex(std::string_view text, std::span<std::uint8_t> out) noexcept {
  text = strip_prefix(text);
  if (text.size() % 2 != 0 || text.size() / 2 > out.size()) return std::nullopt;
  for (std::size_t i = 0; i < text.size() / 2; ++i) {
    const int hi = nibble(text[2 * i]);
    const int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return text.size() / 2;
}

std::string to_hex(std::span<const std::uint8_t> in) {
  std::string s(2 + 2 * in.size(), '0');
  s[1] = 'x';
  (void)encode_hex(in, std::span<char>(s.data() + 2, s.size() - 2));
  return s;
}

std::optional<std::vector<std::uint8_t>> from_hex(std::string_view text) {
  std::vector<std::uint8_t> v(strip_prefix(text).size() / 2);
  const auto n = decode_hex(text, v);
  if (!n) return std::nullopt;
  return v;
}

}  // namespace torq::executor
