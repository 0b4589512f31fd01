// Strict decoding of single ABI words into the Solidity types that pools, factories and tokens
// return (uint24 fee, int24 tick and tickSpacing, uint112 reserves, uint128 liquidity, int128
// liquidityNet, uint160 sqrtPriceX96, address). A word is accepted only when it is the ABI
// encoding of a value of that type: unsigned values zero-extended, signed values sign-extended to
// 256 bits. A node that answers anything else (a bug, a proxy in front of the wrong contract, a
// hostile endpoint) gets the call refused instead of a silently truncated value.
//
// Pure functions over U256 values (as abi_words() / hex::parse_word produce them): constexpr,
// noexcept, no allocation, thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "torq/num/uint256.hpp"
#include "torq/protocol/instrument_id.hpp"

namespace torq::control::abi {

// True when every bit at or above `bits` is zero (bits >= 256: always).
[[nodiscard]] constexpr bool fits_unsigned(const num::U256& w, unsigned bits) noexcept {
  for (unsigned i = 0; i < 4; ++i) {
    const unsigned lo = 64 * i;
    if (bits >= lo + 64) continue;
    const std::uint64_t allowed = bits <= lo ? 0 : (std::uint64_t{1} << (bits - lo)) - 1;
    if ((w.limb[i] & ~allowed) != 0) return false;
  }
  return true;
}

// uintN for N in 1..64.
[[nodiscard]] constexpr std::optional<std::uint64_t> as_uint(const num::U256& w, unsigned bits) noexcept {
  if (bits == 0 || bits > 64 || !fits_unsigned(w, bits)) return std::nullopt;
  return w.limb[0];
}

// intN for N in 1..64: the word must be the sign extension of an N-bit two's-complement value.
[[nodiscard]] constexpr std::optional<std::int64_t> as_int(const num::U256& w, unsigned bits) noexcept {
  if (bits == 0 || bits > 64) return std::nullopt;
  const std::uint64_t lo = w.limb[0];
  const std::uint64_t sign = bits == 64 ? lo >> 63 : (lo >> (bits - 1)) & 1;
  const std::uint64_t fill = sign != 0 ? ~std::uint64_t{0} : 0;
  if (bits < 64) {
    const std::uint64_t high_mask = ~((std::uint64_t{1} << bits) - 1);
    if ((lo & high_mask) != (fill & high_mask)) return std::nullopt;
  }
  if (w.limb[1] != fill || w.limb[2] != fill || w.limb[3] != fill) return std::nullopt;
  return static_cast<std::int64_t>(lo);
}

[[nodiscard]] constexpr std::optional<unsigned __int128> as_uint128(const num::U256& w) noexcept {
  if (w.limb[2] != 0 || w.limb[3] != 0) return std::nullopt;
  return (static_cast<unsigned __int128>(w.limb[1]) << 64) | w.limb[0];
}

[[nodiscard]] constexpr std::optional<__int128> as_int128(const num::U256& w) noexcept {
  const std::uint64_t fill = (w.limb[1] >> 63) != 0 ? ~std::uint64_t{0} : 0;
  if (w.limb[2] != fill || w.limb[3] != fill) return std::nullopt;
  return static_cast<__int128>((static_cast<unsigned __int128>(w.limb[1]) << 64) | w.limb[0]);
}

// address: the low 160 bits, big-endian, the rest zero.
[[nodiscard]] constexpr std::optional<protocol::Address> as_address(const num::U256& w) noexcept {
  if (!fits_unsigned(w, 160)) return std::nullopt;
  protocol::Address a{};
  for (unsigned i = 0; i < 20; ++i) {
    const unsigned bit = (19 - i) * 8;
    a[i] = static_cast<std::uint8_t>(w.limb[bit / 64] >> (bit % 64));
  }
  return a;
}

// A V3 pool's tickSpacing() / a PoolCreated event's tickSpacing: int24 within the factory's bounds.
[[nodiscard]] constexpr std::optional<std::int32_t> as_tick_spacing(const num::U256& w) noexcept {
  const auto v = as_int(w, 24);
  if (!v || *v < 1 || *v > protocol::kV3MaxTickSpacing) return std::nullopt;
  return static_cast<std::int32_t>(*v);
}

// A V3 tick (slot0().tick, ticks(int24) keys): int24 within TickMath's bounds.
[[nodiscard]] constexpr std::optional<std::int32_t> as_tick(const num::U256& w) noexcept {
  const auto v = as_int(w, 24);
  if (!v || *v < -protocol::kV3MaxTick || *v > protocol::kV3MaxTick) return std::nullopt;
  return static_cast<std::int32_t>(*v);
}

// A V3 fee() / a PoolCreated event's fee: uint24 below 100 %.
[[nodiscard]] constexpr std::optional<std::uint32_t> as_fee_ppm(const num::U256& w) noexcept {
  const auto v = as_uint(w, 24);
  if (!v || *v >= protocol::kFeeDenominatorPpm) return std::nullopt;
  return static_cast<std::uint32_t>(*v);
}

// A 32-byte big-endian word (an event topic) as a U256.
[[nodiscard]] constexpr num::U256 from_be_bytes(const std::array<std::uint8_t, 32>& b) noexcept {
  num::U256 w{};
  for (unsigned i = 0; i < 32; ++i) w.limb[(31 - i) / 8] |= std::uint64_t{b[i]} << (8 * ((31 - i) % 8));
  return w;
}

}  // namespace torq::control::abi
