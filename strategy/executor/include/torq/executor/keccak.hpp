// torq/executor/keccak.hpp — Keccak-256 exactly as Ethereum uses it.
//
// Owns `keccak256()` (one-shot) and `Keccak256` (incremental). This is the original Keccak
// submission with domain padding 0x01 (multi-rate padding 0x01 ... 0x80), rate 136 bytes,
// capacity 512 bits — NOT FIPS-202 SHA3-256, which pads with 0x06 and gives different digests.
// Our own implementation of Keccak-f[1600] (24 rounds, constexpr round constants and rotation
// offsets). Everything is constexpr (so function selectors can be computed at compile time),
// noexcept, allocation-free and thread-safe: a `Keccak256` object is a plain value (200-byte
// state, input XORed straight into it), one object per thread; the free functions have no shared state.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

namespace torq::executor {

using Hash256 = std::array<std::uint8_t, 32>;

namespace detail {

inline constexpr std::array<std::uint64_t, 24> kKeccakRoundConstants = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

// Rotation offsets r[x + 5y] of the rho step (the values written into keccak_f1600 below).
inline constexpr std::array<int, 25> kKeccakRho = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                                                   25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};

// Keccak-f[1600] on 25 lanes, lane (x, y) at index x + 5y. Written out in full (constant
// indices, named temporaries) so that the compiler keeps the state in registers; the statement
// list was generated from the specification's loops: theta, rho + pi, chi, iota.
constexpr void keccak_f1600(std::uint64_t (&a)[25]) noexcept {
  for (int round = 0; round < 24; ++round) {
    const std::uint64_t c0 = a[0] ^ a[5] ^ a[10] ^ a[15] ^ a[20];
    const std::uint64_t c1 = a[1] ^ a[6] ^ a[11] ^ a[16] ^ a[21];
    const std::uint64_t c2 = a[2] ^ a[7] ^ a[12] ^ a[17] ^ a[22];
    const std::uint64_t c3 = a[3] ^ a[8] ^ a[13] ^ a[18] ^ a[23];
    const std::uint64_t c4 = a[4] ^ a[9] ^ a[14] ^ a[19] ^ a[24];
    const std::uint64_t d0 = c4 ^ std::rotl(c1, 1);
    const std::uint64_t d1 = c0 ^ std::rotl(c2, 1);
    const std::uint64_t d2 = c1 ^ std::rotl(c3, 1);
    const std::uint64_t d3 = c2 ^ std::rotl(c4, 1);
    const std::uint64_t d4 = c3 ^ std::rotl(c0, 1);
    // rho + pi (theta's d folded in): b[y, 2x + 3y] = rotl(a[x, y] ^ d[x], r[x, y])
    const std::uint64_t b0 = a[0] ^ d0;
    const std::uint64_t b16 = std::rotl(a[5] ^ d0, 36);
    const std::uint64_t b7 = std::rotl(a[10] ^ d0, 3);
    const std::uint64_t b23 = std::rotl(a[15] ^ d0, 41);
    const std::uint64_t b14 = std::rotl(a[20] ^ d0, 18);
    const std::uint64_t b10 = std::rotl(a[1] ^ d1, 1);
    const std::uint64_t b1 = std::rotl(a[6] ^ d1, 44);
    const std::uint64_t b17 = std::rotl(a[11] ^ d1, 10);
    const std::uint64_t b8 = std::rotl(a[16] ^ d1, 45);
    const std::uint64_t b24 = std::rotl(a[21] ^ d1, 2);
    const std::uint64_t b20 = std::rotl(a[2] ^ d2, 62);
    const std::uint64_t b11 = std::rotl(a[7] ^ d2, 6);
    const std::uint64_t b2 = std::rotl(a[12] ^ d2, 43);
    const std::uint64_t b18 = std::rotl(a[17] ^ d2, 15);
    const std::uint64_t b9 = std::rotl(a[22] ^ d2, 61);
    const std::uint64_t b5 = std::rotl(a[3] ^ d3, 28);
    const std::uint64_t b21 = std::rotl(a[8] ^ d3, 55);
    const std::uint64_t b12 = std::rotl(a[13] ^ d3, 25);
    const std::uint64_t b3 = std::rotl(a[18] ^ d3, 21);
    const std::uint64_t b19 = std::rotl(a[23] ^ d3, 56);
    const std::uint64_t b15 = std::rotl(a[4] ^ d4, 27);
    const std::uint64_t b6 = std::rotl(a[9] ^ d4, 20);
    const std::uint64_t b22 = std::rotl(a[14] ^ d4, 39);
    const std::uint64_t b13 = std::rotl(a[19] ^ d4, 8);
    const std::uint64_t b4 = std::rotl(a[24] ^ d4, 14);
    // chi
    a[0] = b0 ^ (~b1 & b2);
    a[1] = b1 ^ (~b2 & b3);
    a[2] = b2 ^ (~b3 & b4);
    a[3] = b3 ^ (~b4 & b0);
    a[4] = b4 ^ (~b0 & b1);
    a[5] = b5 ^ (~b6 & b7);
    a[6] = b6 ^ (~b7 & b8);
    a[7] = b7 ^ (~b8 & b9);
    a[8] = b8 ^ (~b9 & b5);
    a[9] = b9 ^ (~b5 & b6);
    a[10] = b10 ^ (~b11 & b12);
    a[11] = b11 ^ (~b12 & b13);
    a[12] = b12 ^ (~b13 & b14);
    a[13] = b13 ^ (~b14 & b10);
    a[14] = b14 ^ (~b10 & b11);
    a[15] = b15 ^ (~b16 & b17);
    a[16] = b16 ^ (~b17 & b18);
    a[17] = b17 ^ (~b18 & b19);
    a[18] = b18 ^ (~b19 & b15);
    a[19] = b19 ^ (~b15 & b16);
    a[20] = b20 ^ (~b21 & b22);
    a[21] = b21 ^ (~b22 & b23);
    a[22] = b22 ^ (~b23 & b24);
    a[23] = b23 ^ (~b24 & b20);
    a[24] = b24 ^ (~b20 & b21);

    // iota
    a[0] ^= kKeccakRoundConstants[static_cast<std::size_t>(round)];
  }
}

}  // namespace detail

// Incremental Keccak-256. update() any number of times, then final() once.
class Keccak256 {
 public:
  static constexpr std::size_t kRate = 136;  // bytes absorbed per permutation

  constexpr Keccak256() noexcept = default;

  constexpr void update(std::span<const std::uint8_t> in) noexcept {
    std::size_t i = 0;
    const std::size_t n = in.size();
    // Complete a partially filled block byte by byte.
    while (fill_ != 0 && i < n) absorb_byte(in[i++]);
    // Whole blocks straight from the input.
    if (!std::is_constant_evaluated()) {
      while (n - i >= kRate) {
        for (std::size_t lane = 0; lane < kRate / 8; ++lane) {
          std::uint64_t v;
          std::memcpy(&v, in.data() + i + lane * 8, 8);
          if constexpr (std::endian::native == std::endian::big) v = byteswap64(v);
          state_[lane] ^= v;
        }
        detail::keccak_f1600(state_);
        i += kRate;
      }
    }
    while (i < n) absorb_byte(in[i++]);
  }
  constexpr void update(std::string_view s) noexcept {
    for (char ch : s) absorb_byte(static_cast<std::uint8_t>(ch));
  }

  // Pads (0x01 ... 0x80), permutes and returns the first 32 bytes of the state.
  [[nodiscard]] constexpr Hash256 final() noexcept {
    xor_byte(fill_, 0x01);
    xor_byte(kRate - 1, 0x80);
    detail::keccak_f1600(state_);
    Hash256 out{};
    for (std::size_t i = 0; i < 32; ++i) out[i] = static_cast<std::uint8_t>(state_[i / 8] >> (8 * (i % 8)));
    return out;
  }

 private:
  static constexpr std::uint64_t byteswap64(std::uint64_t v) noexcept {
    std::uint64_t r = 0;
    for (int k = 0; k < 8; ++k) r |= ((v >> (8 * k)) & 0xffU) << (8 * (7 - k));
    return r;
  }
  constexpr void xor_byte(std::size_t pos, std::uint8_t b) noexcept {
    state_[pos / 8] ^= static_cast<std::uint64_t>(b) << (8 * (pos % 8));
  }
  constexpr void absorb_byte(std::uint8_t b) noexcept {
    xor_byte(fill_, b);
    if (++fill_ == kRate) {
      detail::keccak_f1600(state_);
      fill_ = 0;
    }
  }

  std::uint64_t state_[25] = {};
  std::size_t fill_ = 0;  // bytes absorbed into the current block
};

[[nodiscard]] constexpr Hash256 keccak256(std::span<const std::uint8_t> in) noexcept {
  Keccak256 h;
  h.update(in);
  return h.final();
}
[[nodiscard]] constexpr Hash256 keccak256(std::string_view in) noexcept {
  Keccak256 h;
  h.update(in);
  return h.final();
}

// First four bytes of keccak256(signature), e.g. selector("transfer(address,uint256)") ==
// {0xa9, 0x05, 0x9c, 0xbb}. The signature must be canonical (no spaces, full type names).
using Selector = std::array<std::uint8_t, 4>;
[[nodiscard]] constexpr Selector selector(std::string_view signature) noexcept {
  const Hash256 h = keccak256(signature);
  return {h[0], h[1], h[2], h[3]};
}

}  // namespace torq::executor
