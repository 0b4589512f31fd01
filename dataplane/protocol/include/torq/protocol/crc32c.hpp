// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78) as used by Protocol V2 frames.
//
// Two implementations: the SSE4.2 `crc32` instruction and a portable slicing-by-8 table version.
// The implementation is chosen once, at start-up (static initialisation of crc32c.cpp), from CPUID,
// or forced with TORQ_CRC32C=software in the environment; after that `crc32c()` is a well
// predicted branch on a constant flag plus the inlined instruction loop (when the build enables
// SSE4.2, as the default -march=x86-64-v3 does). Before the choice is made (other static
// initialisers) the software path runs; both give identical results. Thread-safe, allocation-free,
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
// Set once during static initialisation of crc32c.cpp; never written again.
extern bool g_crc32c_use_hardware;
}  // namespace detail

// Extends a finished CRC (`crc` of earlier bytes, 0 for none) over `len` more bytes.
[[nodiscard]] inline std::uint32_t crc32c(const void* data, std::size_t len, std::uint32_t crc = 0) noexcept {
  if (__builtin_expect(detail::g_crc32c_use_hardware, 1)) return crc32c_hardware(data, len, crc);
  return crc32c_software(data, len, crc);
}
[[nodiscard]] inline std::uint32_t crc32c(std::span<const std::byte> bytes, std::uint32_t crc = 0) noexcept {
  return crc32c(bytes.data(), bytes.size(), crc);
}
[[nodiscard]] bool crc32c_hardware_available() noexcept;
// Which implementation crc32c() uses.
[[nodiscard]] Crc32cImpl crc32c_active_impl() noexcept;

}  // namespace torq::protocol
