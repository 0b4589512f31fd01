// Unit tests of torqd's wiring library: path encoding (docs/arb-contract.md), fee policy (Polygon
// 25 gwei floor), on-chain minProfit, the telemetry queue and its names, token unit formatting,
// hex helpers, option parsing. No chain needed. (Alert rules: torqd_alerts_test.cpp.)
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "torq/torqd/execution.hpp"
#include "torq/torqd/hex.hpp"
#include "torq/torqd/operator_feed.hpp"
#include "torq/torqd/options.hpp"
#include "torq/torqd/telemetry.hpp"

using namespace torq;
using namespace torq::torqd;

namespace {

protocol::Address addr(std::uint8_t fill) {
  protocol::Address a{};
  a.fill(fill);
  return a;
}

struct Book {
  protocol::InstrumentRegistry reg;
  protocol::InstrumentId usdc, weth, v2, v3;
  Book() {
    usdc = *reg.add_token(protocol::Chain::Polygon, addr(0x11), 6, "USDC");
    weth = *reg.add_token(protocol::Chain::Polygon, addr(0x22), 18, "WETH");
    v2 = *reg.add_pool(protocol::Venue::QuickSwapV2, addr(0xAA), usdc, weth, 3000, 0);
    v3 = *reg.add_pool(protocol::Venue::UniswapV3, addr(0xBB), usdc, weth, 500, 10);
  }
  protocol::ArbitrageSignal signal() const {
    protocol::ArbitrageSignal s{};
    s.hop_count = 2;
    s.pools = {v2.raw(), v3.raw(), 0};
    s.tokens = {usdc.raw(), weth.raw(), usdc.raw(), 0};
    return s;
  }
};


}  // namespace

TEST(TorqdPath, ShouldEncodeTwoHopPathAsInTheContractDocs) {
  const Book b;
  PathTable table(b.reg);
  std::array<std::uint8_t, kMaxPathBytes> out{};
  std::size_t n = 0;
  ASSERT_EQ(encode_path(b.signal(), table, out, n), PathError::Ok);
  ASSERT_EQ(n, 48U);
  // hop 0: V2 pair, USDC (token0) → WETH: zeroForOne, fee 997 = 0x03e5
  EXPECT_EQ(out[0], 0xAA);
  EXPECT_EQ(out[19], 0xAA);
  EXPECT_EQ(out[20], 0);
  EXPECT_EQ(out[21], 1);
  EXPECT_EQ(out[22], 0x03);
  EXPECT_EQ(out[23], 0xE5);
  // hop 1: V3 pool, WETH (token1) → USDC: oneForZero, fee field 0
  EXPECT_EQ(out[24], 0xBB);
  EXPECT_EQ(out[44], 1);
  EXPECT_EQ(out[45], 0);
  EXPECT_EQ(out[46], 0);
  EXPECT_EQ(out[47], 0);
}

TEST(TorqdPath, ShouldRejectPathWhenCycleDoesNotClose) {
  const Book b;
  PathTable table(b.reg);
  auto s = b.signal();
  s.tokens[2] = b.weth.raw();
  std::array<std::uint8_t, kMaxPathBytes> out{};
  std::size_t n = 0;
  EXPECT_EQ(encode_path(s, table, out, n), PathError::OpenCycle);
  EXPECT_EQ(n, 0U);
}

TEST(TorqdPath, ShouldRejectPathWhenHopTokenIsNotInItsPool) {
  Book b;
  const auto wbtc = *b.reg.add_token(protocol::Chain::Polygon, addr(0x33), 8, "WBTC");
  PathTable table(b.reg);
  auto s = b.signal();
  s.tokens[1] = wbtc.raw();
  std::array<std::uint8_t, kMaxPathBytes> out{};
  std::size_t n = 0;
  EXPECT_EQ(encode_path(s, table, out, n), PathError::TokenMismatch);
  s = b.signal();
  s.hop_count = 1;
  EXPECT_EQ(encode_path(s, table, out, n), PathError::BadHopCount);
  s = b.signal();
  s.pools[1] = 12345;
  EXPECT_EQ(encode_path(s, table, out, n), PathError::UnknownPool);
}

TEST(TorqdPath, ShouldRefuseV2FeeTheContractCannotExpress) {
  protocol::InstrumentRegistry reg;
  const auto a = *reg.add_token(protocol::Chain::Polygon, addr(1), 6, "A");
  const auto c = *reg.add_token(protocol::Chain::Polygon, addr(2), 6, "B");
  (void)reg.add_pool(protocol::Venue::SushiSwapV2, addr(3), a, c, 2500, 0);  // 0.25%: 997.5/1000
  EXPECT_THROW(PathTable{reg}, std::invalid_argument);
}

TEST(TorqdFees, ShouldRaisePriorityFeeToPolygonFloorOnChain137) {
  const num::U256 base(100'000'000'000ULL);  // 100 gwei
  const auto q = fees_for(base, 1, 137);
  EXPECT_EQ(q.max_priority_fee_per_gas, num::U256(25'000'000'000ULL));
  EXPECT_EQ(q.max_fee_per_gas, num::U256(225'000'000'000ULL));
  const auto e = fees_for(base, 1, 1);  // Ethereum: no floor
  EXPECT_EQ(e.max_priority_fee_per_gas, num::U256(1'000'000'000ULL));
  const auto hi = fees_for(base, 40, 137);
  EXPECT_EQ(hi.max_priority_fee_per_gas, num::U256(40'000'000'000ULL));
}

TEST(TorqdFees, ShouldRequireAShareOfExpectedProfitAndAtLeastOneUnit) {
  EXPECT_EQ(min_profit_for(num::U256(1000), 5000), num::U256(500));
  EXPECT_EQ(min_profit_for(num::U256(1), 5000), num::U256(1));
  EXPECT_EQ(min_profit_for(num::U256(0), 10000), num::U256(1));
}

TEST(TorqdTelemetry, ShouldDeliverRecordsInOrderAndCountThemWhenTheQueueIsFull) {
  auto q = std::make_unique<TelemetryQueue<4>>();
  for (std::uint64_t i = 1; i <= 4; ++i) {
    TelemetryRecord r;
    r.signal_id = i;
    EXPECT_TRUE(q->try_push(r));
  }
  TelemetryRecord extra;
  extra.signal_id = 99;
  EXPECT_FALSE(q->try_push(extra));  // full: refused, never blocks
  EXPECT_EQ(q->dropped(), 1U);
  TelemetryRecord out;
  for (std::uint64_t i = 1; i <= 4; ++i) {
    ASSERT_TRUE(q->pop(out));
    EXPECT_EQ(out.signal_id, i);
  }
  EXPECT_FALSE(q->pop(out));
  EXPECT_TRUE(q->try_push(extra));  // room again after the consumer caught up
  ASSERT_TRUE(q->pop(out));
  EXPECT_EQ(out.signal_id, 99U);
}

TEST(TorqdTelemetry, ShouldNameDecisionsAfterRiskReasonsAndExecutorOutcomes) {
  EXPECT_STREQ(decision_name(kDecisionTaken), "taken");
  EXPECT_STREQ(decision_name(7), "max_in_flight");  // risk::RejectReason::MaxInFlight
  EXPECT_STREQ(decision_name(kDecisionStale), "stale");
  EXPECT_STREQ(decision_name(kDecisionBelowThreshold), "below_threshold");
  EXPECT_STREQ(to_string(Stage::SubmitToMined), "submit_to_mined");
  EXPECT_STREQ(to_string(TradeState::Mined), "mined");
}

TEST(TorqdFeed, ShouldFormatRawTokenUnitsExactly) {
  EXPECT_EQ(format_units(num::U256(1500000), 6), "1.5");
  EXPECT_EQ(format_units(num::U256(1), 18), "0.000000000000000001");
  EXPECT_EQ(format_units(num::U256(0), 6), "0");
  EXPECT_EQ(format_units(num::U256(42), 0), "42");
  EXPECT_EQ(format_units(*num::U256::parse("15000000000000000000"), 18), "15");
}

TEST(TorqdJson, ShouldParseHexQuantitiesAndRejectGarbage) {
  EXPECT_EQ(parse_hex_u64("0x1a"), 26U);
  EXPECT_FALSE(parse_hex_u64("1a").has_value());
  EXPECT_FALSE(parse_hex_u64("0xzz").has_value());
  EXPECT_EQ(to_hex(std::vector<std::uint8_t>{0x00, 0xab}.data(), 2), "0x00ab");
  const auto b = parse_hex_bytes("0x00ff");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ((*b)[1], 0xff);
  EXPECT_FALSE(parse_hex_bytes("0x0").has_value());
  EXPECT_EQ(unquote("\"0x1\""), "0x1");
}

TEST(TorqdOptions, ShouldRequireKeyAndContractForAMonolith) {
  const char* no_key[] = {"torqd", "--manifest", "m.json", "--contract", "0x0000000000000000000000000000000000000001"};
  EXPECT_THROW((void)parse_args(5, no_key), std::invalid_argument);
  const char* no_contract[] = {"torqd", "--manifest", "m.json", "--key-file", "k"};
  EXPECT_THROW((void)parse_args(5, no_contract), std::invalid_argument);
  const char* bad_role[] = {"torqd", "--manifest", "m.json", "--role", "router"};
  EXPECT_THROW((void)parse_args(5, bad_role), std::invalid_argument);
}

TEST(TorqdOptions, ShouldTakeStrategyRoleWithoutKeyAndParseThresholds) {
  const char* argv[] = {"torqd", "--manifest", "m.json", "--role", "strategy", "--min-profit-usd", "2.5", "--idle", "spin"};
  const auto p = parse_args(9, argv);
  EXPECT_EQ(p.options.role, Role::strategy);
  EXPECT_EQ(p.options.idle, IdleKind::spin);
  EXPECT_EQ(p.options.reload.min_profit_usd.raw, 250'000'000);
  const char* bad_usd[] = {"torqd", "--manifest", "m.json", "--role", "strategy", "--min-profit-usd", "1e3"};
  EXPECT_THROW((void)parse_args(7, bad_usd), std::invalid_argument);
}
