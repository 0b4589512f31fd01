// CRC32C software implementation and the start-up choice. See crc32c.hpp.
#include "torq/protocol/crc32c.hpp"

#include <array>
#include <cstdlib>
#include <string_view>

#include <cpuid.h>

namespace torq::protocol {
namespace {

constexpr std::uint32_t kPoly = 0x82F63B78u;

constexpr std::array<std::array<std::uint32_t, 256>, 8> make_tables() {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1u) ? kPoly : 0u);
    t[0][i] = c;
  }
  for (std::uint32_t i = 0; i < 256; ++i) {
    for (std::size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFFu];
  }
  return t;
}
constexpr auto kTables = make_tables();

bool cpu_has_sse42() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
  return (c & bit_SSE4_2) != 0;
}

bool cpu_has_pclmul() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
  return (c & bit_PCLMUL) != 0;
}

bool choose_hardware() noexcept {
  const char* env = std::getenv("TORQ_CRC32C");
  if (env != nullptr && std::string_view(env) == "software") return false;
  return cpu_has_sse42();
}

}  // namespace

namespace detail {
bool g_crc32c_use_hardware = choose_hardware();
bool g_crc32c_use_lanes = g_crc32c_use_hardware && cpu_has_pclmul();
}  // namespace detail

std::uint32_t crc32c_software(const void* data, std::size_t len, std::uint32_t crc) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = ~crc;
  while (len >= 8) {
    std::uint32_t lo;
    std::uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;
    c = kTables[7][lo & 0xFF] ^ kTables[6][(lo >> 8) & 0xFF] ^ kTables[5][(lo >> 16) & 0xFF] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xFF] ^ kTables[2][(hi >> 8) & 0xFF] ^
        kTables[1][(hi >> 16) & 0xFF] ^ kTables[0][hi >> 24];
    p += 8;
    len -= 8;
  }
  while (len-- > 0) c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xFFu];
  return ~c;
}

bool crc32c_hardware_available() noexcept { return cpu_has_sse42(); }

Crc32cImpl crc32c_active_impl() noexcept {
  return detail::g_crc32c_use_hardware ? Crc32cImpl::Hardware : Crc32cImpl::Software;
}

}  // namespace torq::protocol
