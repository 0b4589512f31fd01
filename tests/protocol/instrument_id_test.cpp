// InstrumentId encoding is bijective; the registry maps addresses to ids and back.
#include "torq/protocol/instrument_id.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace torq::protocol {
namespace {

Address addr(std::uint8_t seed) {
  Address a{};
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<std::uint8_t>(seed * 31 + i);
  return a;
}

TEST(InstrumentId, ShouldDecodeEveryFieldItWasMadeFrom) {
  std::mt19937_64 rng(1);
  std::set<std::uint64_t> seen;
  for (auto chain : {Chain::Ethereum, Chain::Polygon, Chain::Base, Chain::Arbitrum}) {
    for (int v = 0; v <= 6; ++v) {
      const auto venue = static_cast<Venue>(v);
      const auto kind = venue == Venue::None ? InstrumentKind::Token : InstrumentKind::Pool;
      for (std::uint64_t index : {std::uint64_t{0}, std::uint64_t{1}, InstrumentId::kMaxIndex, rng() & InstrumentId::kMaxIndex}) {
        const auto id = InstrumentId::make(kind, chain, venue, index);
        ASSERT_TRUE(id.valid());
        EXPECT_EQ(id.kind(), kind);
        EXPECT_EQ(id.chain(), chain);
        EXPECT_EQ(id.venue(), venue);
        EXPECT_EQ(id.index(), index);
        EXPECT_EQ(InstrumentId::make(id.kind(), id.chain(), id.venue(), id.index()), id);
        seen.insert(id.raw());
      }
    }
  }
  EXPECT_EQ(seen.size(), 4u * 7u * 4u) << "distinct fields must give distinct ids (injective)";
}

TEST(InstrumentId, ShouldRejectOutOfRangeFields) {
  EXPECT_FALSE(InstrumentId::make(InstrumentKind::Token, Chain::Polygon, Venue::None, InstrumentId::kMaxIndex + 1).valid());
  EXPECT_FALSE(InstrumentId::make(InstrumentKind::Token, Chain::Invalid, Venue::None, 1).valid());
  EXPECT_FALSE(InstrumentId::make(InstrumentKind::Invalid, Chain::Polygon, Venue::None, 1).valid());
  EXPECT_FALSE(InstrumentId::make(InstrumentKind::Token, Chain::Polygon, Venue::UniswapV3, 1).valid()) << "tokens have no venue";
  EXPECT_FALSE(InstrumentId::make(InstrumentKind::Pool, Chain::Polygon, Venue::None, 1).valid()) << "pools need a venue";
}

TEST(InstrumentRegistry, ShouldGiveBackTheRegisteredEntryForEachId) {
  InstrumentRegistry reg;
  const auto usdc = reg.add_token(Chain::Polygon, addr(1), 6, "USDC");
  const auto weth = reg.add_token(Chain::Polygon, addr(2), 18, "WETH");
  ASSERT_TRUE(usdc && weth);
  const auto pool = reg.add_pool(Venue::QuickSwapV2, addr(3), *weth, *usdc, 3000, 0);
  const auto pool3 = reg.add_pool(Venue::UniswapV3, addr(4), *weth, *usdc, 500, 10);
  ASSERT_TRUE(pool && pool3);

  EXPECT_EQ(usdc->index(), 0u);
  EXPECT_EQ(weth->index(), 1u);
  EXPECT_EQ(pool->index(), 0u) << "pools are numbered densely, independent of tokens";
  EXPECT_EQ(pool3->index(), 1u);
  EXPECT_EQ(pool->venue(), Venue::QuickSwapV2);

  ASSERT_NE(reg.token(*usdc), nullptr);
  EXPECT_EQ(reg.token(*usdc)->symbol, "USDC");
  EXPECT_EQ(reg.token(*usdc)->decimals, 6);
  ASSERT_NE(reg.pool(*pool3), nullptr);
  EXPECT_EQ(reg.pool(*pool3)->address, addr(4));
  EXPECT_EQ(reg.pool(*pool3)->tick_spacing, 10);
  EXPECT_EQ(reg.pool(*pool3)->token0, *weth);

  EXPECT_EQ(reg.find(Chain::Polygon, addr(3)), pool);
  EXPECT_FALSE(reg.find(Chain::Ethereum, addr(3)).has_value()) << "addresses are per chain";
  EXPECT_EQ(reg.token(*pool), nullptr) << "a pool id is not a token";
  EXPECT_EQ(reg.pool(InstrumentId::make(InstrumentKind::Pool, Chain::Polygon, Venue::QuickSwapV2, 7)), nullptr);
  EXPECT_EQ(reg.pool(InstrumentId::make(InstrumentKind::Pool, Chain::Polygon, Venue::SushiSwapV2, 0)), nullptr)
      << "an id with the right index but another venue was never issued";
  EXPECT_EQ(reg.pool_id(1), *pool3);
}

TEST(InstrumentRegistry, ShouldReturnExistingIdOnReRegistration) {
  InstrumentRegistry reg;
  const auto a = reg.add_token(Chain::Polygon, addr(1), 6, "USDC");
  const auto b = reg.add_token(Chain::Polygon, addr(1), 6, "USDC");
  EXPECT_EQ(a, b);
  EXPECT_EQ(reg.token_count(), 1u);
  const auto c = reg.add_token(Chain::Base, addr(1), 6, "USDC");
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(*a, *c);
}

TEST(InstrumentRegistry, ShouldRefuseInconsistentPools) {
  InstrumentRegistry reg;
  const auto t0 = *reg.add_token(Chain::Polygon, addr(1), 6, "A");
  const auto t1 = *reg.add_token(Chain::Polygon, addr(2), 18, "B");
  const auto other_chain = *reg.add_token(Chain::Base, addr(5), 18, "C");
  EXPECT_FALSE(reg.add_pool(Venue::QuickSwapV2, addr(3), t0, t0, 3000, 0)) << "same token twice";
  EXPECT_FALSE(reg.add_pool(Venue::QuickSwapV2, addr(3), t0, other_chain, 3000, 0)) << "tokens on two chains";
  EXPECT_FALSE(reg.add_pool(Venue::None, addr(3), t0, t1, 3000, 0)) << "no venue";
  EXPECT_FALSE(reg.add_pool(Venue::QuickSwapV2, addr(3), t0, t1, 1'000'000, 0)) << "fee of 100%";
  EXPECT_FALSE(reg.add_pool(Venue::QuickSwapV2, addr(1), t0, t1, 3000, 0)) << "address already a token";
  // Tick spacing: what the V3 factory allows (0 < spacing < 16384) for V3, none for V2. A pool
  // with spacing 0 would divide by zero in the snapshot's bitmap walk and the book refuses it.
  EXPECT_FALSE(reg.add_pool(Venue::QuickSwapV2, addr(3), t0, t1, 3000, 60)) << "V2 with a tick spacing";
  EXPECT_FALSE(reg.add_pool(Venue::UniswapV3, addr(3), t0, t1, 500, 0)) << "V3 without a tick spacing";
  EXPECT_FALSE(reg.add_pool(Venue::UniswapV3, addr(3), t0, t1, 500, -10)) << "negative tick spacing";
  EXPECT_FALSE(reg.add_pool(Venue::QuickSwapV3, addr(3), t0, t1, 500, kV3MaxTickSpacing + 1)) << "spacing 16384";
  EXPECT_EQ(reg.pool_count(), 0u);
  EXPECT_TRUE(reg.add_pool(Venue::UniswapV3, addr(3), t0, t1, 500, 1));
  EXPECT_TRUE(reg.add_pool(Venue::UniswapV3, addr(4), t0, t1, 999'999, kV3MaxTickSpacing));
  EXPECT_EQ(reg.pool_count(), 2u);
}

TEST(Address, ShouldParseAndFormatHex) {
  const auto a = parse_address("0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ((*a)[0], 0x27);
  EXPECT_EQ((*a)[19], 0x74);
  EXPECT_EQ(format_address(*a), "0x2791bca1f2de4661ed88a30c99a7a9449aa84174");
  EXPECT_FALSE(parse_address("0x2791Bca1f2de4661ED88A30C99A7a9449Aa8417"));
  EXPECT_FALSE(parse_address("0x2791Bca1f2de4661ED88A30C99A7a9449Aa8417g"));
  EXPECT_FALSE(parse_address("2791Bca1f2de4661ED88A30C99A7a9449Aa8417411"));
}

TEST(Venue, ShouldCarryTheForkFeeRuleFamily) {
  EXPECT_EQ(venue_protocol(Venue::QuickSwapV3), PoolProtocol::AlgebraV3) << "QuickSwap V3 is Algebra, not Uniswap V3";
  EXPECT_EQ(venue_protocol(Venue::UniswapV3), PoolProtocol::UniswapV3);
  EXPECT_EQ(venue_protocol(Venue::SushiSwapV2), PoolProtocol::UniswapV2);
  EXPECT_EQ(venue_from_name("quickswap_v2"), Venue::QuickSwapV2);
  EXPECT_EQ(venue_name(Venue::UniswapV3), "uniswap_v3");
  EXPECT_EQ(chain_id(Chain::Polygon), 137u);
  EXPECT_EQ(chain_from_id(137), Chain::Polygon);
  EXPECT_FALSE(chain_from_id(999));
}

}  // namespace
}  // namespace torq::protocol
