// Keccak-256 (Ethereum, padding 0x01) against published vectors and ethers' keccak256.
#include <gtest/gtest.h>

#include <vector>

#include "torq/executor/hex.hpp"
#include "torq/executor/keccak.hpp"

using namespace torq::executor;

namespace {
std::string hex(const Hash256& h) { return to_hex(h); }
std::vector<std::uint8_t> pattern(std::size_t n) {
  std::vector<std::uint8_t> b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>((i * 7 + 3) & 0xff);
  return b;
}
}  // namespace

// Compile-time: selectors are constants.
static_assert(selector("transfer(address,uint256)") == Selector{0xa9, 0x05, 0x9c, 0xbb});
static_assert(keccak256(std::string_view{})[0] == 0xc5);

TEST(Keccak256, ShouldHashEmptyInputToEthereumEmptyHash) {
  EXPECT_EQ(hex(keccak256(std::string_view{})), "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  // Not SHA3-256 (whose empty digest is a7ffc6f8...): the padding byte is 0x01, not 0x06.
  EXPECT_NE(hex(keccak256(std::string_view{})).substr(2, 8), "a7ffc6f8");
}

TEST(Keccak256, ShouldMatchPublishedVectorsForShortStrings) {
  EXPECT_EQ(hex(keccak256(std::string_view("abc"))),
            "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  EXPECT_EQ(hex(keccak256(std::string_view("The quick brown fox jumps over the lazy dog"))),
            "0x4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
}

// Lengths around the 136-byte rate (one block, exactly one block, padding in a new block, ...);
// expected digests from ethers.keccak256 of the same bytes.
TEST(Keccak256, ShouldMatchEthersAcrossTheRateBoundary) {
  const std::pair<std::size_t, const char*> cases[] = {
      {1, "0x69c322e3248a5dfc29d73c5b0553b0185a35cd5bb6386747517ef7e53b15e287"},
      {31, "0x8522dc30be01c01348c0591309ac2948c9ae4ce02facbb745f85a5297286d3dd"},
      {32, "0x04d1b47ed3b04c5ff6a0280293cb2ab55bd297c9c2e0c3449831b419285d7df2"},
      {135, "0x00ef96af9cf4b24c7f269d922294444a197d0a33638c2e56634c57e892103a8f"},
      {136, "0x742061bcad767ed4c4f5883b1dcb1aad11afdcc140dc469d953759b127b9f9ed"},
      {137, "0xe3371f61e770abf254c34239c3b0099ad90594507415bc81dd0a10b9692bbf2a"},
      {271, "0x4401c4afbe16ff911bdbf2d38e556e5b861f3fdf0f9d4306b1c46f6ae4f73584"},
      {272, "0xac141fd7b0a0ffcd2e967254d508da3ec616596493c36fa304425647d90e6de5"},
      {273, "0x16192ea86793083e47731cb3c970600f04768414d92bc0540e54ce8607a0fce0"},
      {1000, "0x80cdc8dd52cbb3dbaea8f383209893fa2bb52efbd5aedbb4b26dcfe307fcdc9b"},
  };
  for (const auto& [n, want] : cases) {
    const auto b = pattern(n);
    EXPECT_EQ(hex(keccak256(b)), want) << "length " << n;
  }
}

TEST(Keccak256, ShouldGiveTheSameDigestForEverySplitOfTheInput) {
  const auto b = pattern(300);
  const Hash256 whole = keccak256(b);
  for (std::size_t a = 0; a <= b.size(); a += 17) {
    for (std::size_t c = a; c <= b.size(); c += 53) {
      Keccak256 h;
      h.update(std::span(b).subspan(0, a));
      h.update(std::span(b).subspan(a, c - a));
      h.update(std::span(b).subspan(c));
      ASSERT_EQ(h.final(), whole) << "split " << a << "," << c;
    }
  }
}

TEST(Keccak256, ShouldComputeTheSameDigestAtCompileTimeAndRunTime) {
  constexpr Hash256 ct = keccak256(std::string_view("Error(string)"));
  const std::string s = "Error(string)";
  EXPECT_EQ(ct, keccak256(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size())));
  EXPECT_EQ(hex(ct).substr(0, 10), "0x08c379a0");
}
