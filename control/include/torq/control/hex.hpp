// Hex text helpers for Ethereum JSON-RPC values: quantities ("0x1a"), fixed-size data
// ("0x" + 2N hex digits: addresses, hashes) and 32-byte ABI words inside a log's `data`.
//
// Pure functions over caller-provided bytes: noexcept, constexpr, no allocation, thread-safe.
// Every function validates its whole input and reports failure through its return value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "torq/num/uint256.hpp"

namespace torq::control::hex {

// Value of one hex digit, or 0xFF for any other character.
[[nodiscard]] constexpr std::uint8_t nibble(char c) noexcept {
  if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<std::uint8_t>(c - 'A' + 10);
  return 0xFF;
}

namespace detail {
struct NibbleTable {
  std::array<std::uint8_t, 256> v{};
  constexpr NibbleTable() noexcept {
    for (int i = 0; i < 256; ++i) v[static_cast<std::size_t>(i)] = nibble(static_cast<char>(i));
  }
};
inline constexpr NibbleTable kNibbles{};
[[nodiscard]] constexpr std::uint8_t nib(char c) noexcept {
  return kNibbles.v[static_cast<unsigned char>(c)];
}
}  // namespace detail

[[nodiscard]] constexpr bool has_prefix(std::string_view s) noexcept {
  return s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

// JSON-RPC QUANTITY ("0x0", "0x1a"; at most 16 digits) → u64. Leading zeros are tolerated.
[[nodiscard]] constexpr std::optional<std::uint64_t> parse_quantity(std::string_view s) noexcept {
  if (!has_prefix(s) || s.size() == 2 || s.size() > 18) return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    const std::uint8_t n = detail::nib(s[i]);
    if (n > 15) return std::nullopt;
    v = (v << 4) | n;
  }
  return v;
}

// Exactly "0x" + 2*N hex digits → N bytes (big-endian order as written).
template <std::size_t N>
[[nodiscard]] constexpr bool parse_fixed(std::string_view s, std::array<std::uint8_t, N>& out) noexcept {
  if (s.size() != 2 + 2 * N || !has_prefix(s)) return false;
  std::uint8_t bad = 0;
  for (std::size_t i = 0; i < N; ++i) {
    const std::uint8_t hi = detail::nib(s[2 + 2 * i]);
    const std::uint8_t lo = detail::nib(s[3 + 2 * i]);
    bad |= static_cast<std::uint8_t>((hi | lo) & 0xF0);
    out[i] = static_cast<std::uint8_t>((hi << 4) | (lo & 0x0F));
  }
  return bad == 0;
}

// 64 hex digits (no prefix) → U256 from the big-endian ABI word.
[[nodiscard]] constexpr bool parse_word(const char* p, num::U256& out) noexcept {
  std::uint8_t bad = 0;
  for (int limb = 3; limb >= 0; --limb) {
    std::uint64_t v = 0;
    for (int i = 0; i < 16; ++i) {
      const std::uint8_t n = detail::nib(*p++);
      bad |= static_cast<std::uint8_t>(n & 0xF0);
      v = (v << 4) | (n & 0x0F);
    }
    out.limb[limb] = v;
  }
  return bad == 0;
}

}  // namespace torq::control::hex
