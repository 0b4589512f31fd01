// CRC32C: published check values, hardware == software on every length and alignment.
#include "torq/protocol/crc32c.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

namespace torq::protocol {
namespace {

std::uint32_t sw(std::string_view s) { return crc32c_software(s.data(), s.size()); }

TEST(Crc32c, ShouldMatchPublishedCheckValue) {
  EXPECT_EQ(sw("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(sw(""), 0u);
}

TEST(Crc32c, ShouldMatchRfc3720Vectors) {
  std::array<std::uint8_t, 32> zeros{};
  std::array<std::uint8_t, 32> ones{};
  std::array<std::uint8_t, 32> inc{};
  std::array<std::uint8_t, 32> dec{};
  ones.fill(0xFF);
  for (std::size_t i = 0; i < 32; ++i) {
    inc[i] = static_cast<std::uint8_t>(i);
    dec[i] = static_cast<std::uint8_t>(31 - i);
  }
  EXPECT_EQ(crc32c_software(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(crc32c_software(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(crc32c_software(inc.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(crc32c_software(dec.data(), 32), 0x113FDB5Cu);
}

TEST(Crc32c, ShouldAgreeBetweenHardwareAndSoftwareOnAllLengthsAndAlignments) {
  if (!crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937_64 rng(7);
  std::vector<std::uint8_t> buf(600);
  for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
  for (std::size_t off = 0; off < 8; ++off) {
    for (std::size_t len = 0; len + off <= buf.size(); len += (len < 80 ? 1 : 37)) {
      ASSERT_EQ(crc32c_hardware(buf.data() + off, len), crc32c_software(buf.data() + off, len))
          << "off=" << off << " len=" << len;
    }
  }
  EXPECT_EQ(crc32c_active_impl(), Crc32cImpl::Hardware);
}

TEST(Crc32c, ShouldExtendAcrossSplitPoints) {
  const std::string_view s = "The quick brown fox jumps over the lazy dog, twice over.";
  const std::uint32_t whole = crc32c(s.data(), s.size());
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    const std::uint32_t first = crc32c(s.data(), cut);
    EXPECT_EQ(crc32c(s.data() + cut, s.size() - cut, first), whole) << cut;
    EXPECT_EQ(crc32c_software(s.data() + cut, s.size() - cut, crc32c_software(s.data(), cut)), whole);
  }
}

TEST(Crc32c, ShouldDetectEverySingleBitFlip) {
  std::array<std::uint8_t, 64> data{};
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 + 3);
  const std::uint32_t good = crc32c(data.data(), data.size());
  for (std::size_t bit = 0; bit < data.size() * 8; ++bit) {
    auto copy = data;
    copy[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_NE(crc32c(copy.data(), copy.size()), good) << bit;
  }
}

}  // namespace
}  // namespace torq::protocol
