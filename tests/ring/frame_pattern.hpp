// tests/ring/frame_pattern.hpp — deterministic test frames: size and bytes are functions of a
// sequence number, so the consumer detects loss, duplication, reordering and corruption.
// Header-only, no allocation, used by the ring tests and the ring_peer helper process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace torq::ring::test {

inline std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// Size in [min_size, max_size], varying with seq.
inline std::uint32_t frame_size(std::uint64_t seq, std::uint32_t min_size, std::uint32_t max_size) noexcept {
  return min_size + static_cast<std::uint32_t>(mix(seq) % (max_size - min_size + 1));
}

inline std::byte frame_byte(std::uint64_t seq, std::size_t i) noexcept {
  return static_cast<std::byte>((seq * 131u + i * 7u + (seq >> 8)) & 0xFFu);
}

// Writes the frame: the first 8 bytes (when size >= 8) carry seq, the rest the pattern.
inline void fill_frame(std::span<std::byte> out, std::uint64_t seq) noexcept {
  std::size_t i = 0;
  if (out.size() >= 8) {
    std::memcpy(out.data(), &seq, 8);
    i = 8;
  }
  for (; i < out.size(); ++i) out[i] = frame_byte(seq, i);
}

inline bool check_frame(std::span<const std::byte> in, std::uint64_t seq) noexcept {
  std::size_t i = 0;
  if (in.size() >= 8) {
    std::uint64_t got = 0;
    std::memcpy(&got, in.data(), 8);
    if (got != seq) return false;
    i = 8;
  }
  for (; i < in.size(); ++i) {
    if (in[i] != frame_byte(seq, i)) return false;
  }
  return true;
}

inline std::uint64_t frame_seq(std::span<const std::byte> in) noexcept {
  std::uint64_t s = ~0ULL;
  if (in.size() >= 8) std::memcpy(&s, in.data(), 8);
  return s;
}

}  // namespace torq::ring::test
