// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78) as used by Protocol V2 frames.
//
// Two implementations: the SSE4.2 `crc32` instruction and a portable slicing-by-8 table version.
// The implementation is chosen once, at start-up (static initialisation of crc32c.cpp), from CPUID,
// or forced with TORQ_CRC32C=software in the environment; after that `crc32c()` is a well
// predicted branch on a constant flag plus the inlined instruction loop (when the build enables
// SSE4.2, as the default -march=x86-64-v3 does). Before the choice is made (other static
// initialisers) the software path runs; both give identical results. On CPUs that also have
// PCLMULQDQ the frame checksum (frame.hpp) splits longer frames into three crc32 chains joined
// with the GF(2) helpers below (detail::g_crc32c_use_lanes). Thread-safe, allocation-free,
// noexcept. Conventional framing: initial value ~0, final xor ~0, so
// crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include <nmmintrin.h>

namespace torq::protocol {

enum class Crc32cImpl : std::uint8_t { Software, Hardware };

// Both implementations stay callable directly (tests compare them; benchmarks time them).
[[nodiscard]] std::uint32_t crc32c_software(const void* data, std::size_t len, std::uint32_t crc = 0) noexcept;

// Precondition: crc32c_hardware_available(). Calling it on a CPU without SSE4.2 is illegal.
[[nodiscard]] __attribute__((target("sse4.2"))) inline std::uint32_t crc32c_hardware(
    const void* data, std::size_t len, std::uint32_t crc = 0) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t c = ~crc;
  while (len >= 32) {  // four words per trip: less loop overhead on the dependent crc32 chain
    std::uint64_t v[4];
    std::memcpy(v, p, 32);  // alignment-safe loads
    c = _mm_crc32_u64(c, v[0]);
    c = _mm_crc32_u64(c, v[1]);
    c = _mm_crc32_u64(c, v[2]);
    c = _mm_crc32_u64(c, v[3]);
    p += 32;
    len -= 32;
  }
  while (len >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    len -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  if (len >= 4) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    c32 = _mm_crc32_u32(c32, v);
    p += 4;
    len -= 4;
  }
  while (len-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}

namespace detail {
// Set once during static initialisation of crc32c.cpp; never written again (tests aside).
extern bool g_crc32c_use_hardware;
// g_crc32c_use_hardware and the CPU has PCLMULQDQ: the frame checksum of payloads of 64 bytes and
// more then runs as three independent crc32 chains joined with carry-less multiplies (frame.hpp).
extern bool g_crc32c_use_lanes;

// GF(2) arithmetic modulo the CRC32C polynomial on 32-bit values in the CRC's reflected bit order
// (bit 31 is the coefficient of x^0), used to join CRCs of adjacent blocks:
// state(A || B) = state(A) * x^(8|B|) + state(B from zero).
inline constexpr std::uint32_t kCrc32cPolyReflected = 0x82F63B78u;
[[nodiscard]] constexpr std::uint32_t gf_mul_x(std::uint32_t v) noexcept {
  return (v >> 1) ^ ((v & 1u) != 0 ? kCrc32cPolyReflected : 0u);
}
[[nodiscard]] constexpr std::uint32_t gf_div_x(std::uint32_t v) noexcept {  // inverse of gf_mul_x
  return (v & 0x80000000u) != 0 ? ((v ^ kCrc32cPolyReflected) << 1) | 1u : v << 1;
}
[[nodiscard]] constexpr std::uint32_t gf_mul(std::uint32_t a, std::uint32_t b) noexcept {
  std::uint32_t p = 0;
  for (int i = 0; i < 32; ++i) {
    if ((a & 0x80000000u) != 0) p ^= b;
    a <<= 1;
    b = gf_mul_x(b);
  }
  return p;
}
[[nodiscard]] constexpr std::uint32_t gf_x_pow(long e) noexcept {  // x^e mod P, e may be negative
  std::uint32_t r = 0x80000000u;  // 1
  for (; e < 0; ++e) r = gf_div_x(r);
  std::uint32_t base = 0x40000000u;  // x
  for (; e > 0; e >>= 1) {
    if ((e & 1) != 0) r = gf_mul(r, base);
    base = gf_mul(base, base);
  }
  return r;
}
}  // namespace detail

// True when crc32c() and the frame code use the instruction (the start-up choice above). A load of
// a constant flag; the branch on it is predicted, and in a build whose -march includes SSE4.2
// (__SSE4_2__, the default x86-64-v3) the hardware side is inlined at the call site.
[[nodiscard]] inline bool crc32c_uses_hardware() noexcept { return __builtin_expect(detail::g_crc32c_use_hardware, 1); }

// Extends a finished CRC (`crc` of earlier bytes, 0 for none) over `len` more bytes.
[[nodiscard]] inline std::uint32_t crc32c(const void* data, std::size_t len, std::uint32_t crc = 0) noexcept {
  if (crc32c_uses_hardware()) return crc32c_hardware(data, len, crc);
  return crc32c_software(data, len, crc);
}
[[nodiscard]] inline std::uint32_t crc32c(std::span<const std::byte> bytes, std::uint32_t crc = 0) noexcept {
  return crc32c(bytes.data(), bytes.size(), crc);
}
[[nodiscard]] bool crc32c_hardware_available() noexcept;
// Which implementation crc32c() uses.
[[nodiscard]] Crc32cImpl crc32c_active_impl() noexcept;

}  // namespace torq::protocol
