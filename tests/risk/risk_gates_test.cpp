// Risk gates: each gate's boundary (accept at the limit, reject just past it, right reason code),
// kill switch from another thread, breaker lifecycle, limits reload without torn reads.
#include "torq/risk/risk_gates.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <set>
#include <string>
#include <thread>

namespace {

using namespace torq;
using namespace torq::risk;
using num::U256;
using num::UsdFixedPoint8;
using protocol::Chain;
using protocol::InstrumentId;
using protocol::InstrumentKind;
using protocol::Venue;

constexpr std::int64_t kUsd = UsdFixedPoint8::kScale;
const InstrumentId kUsdc = InstrumentId::make(InstrumentKind::Token, Chain::Polygon, Venue::None, 0);
const InstrumentId kWeth = InstrumentId::make(InstrumentKind::Token, Chain::Polygon, Venue::None, 1);
constexpr std::uint64_t kStart = 1'700'000'000ULL * kNsPerSecond;  // 2023-11-14 22:13:20 UTC

RiskLimits base_limits() {
  RiskLimits l;
  l.max_notional_usd = 1000 * kUsd;
  l.max_daily_loss_usd = 100 * kUsd;
  l.max_drawdown_usd = 200 * kUsd;
  l.max_in_flight = 2;
  l.max_state_age_blocks = 3;
  l.max_fee_per_gas_wei = 500 * kGwei;
  l.min_priority_fee_wei = 0;
  l.chain_id = 137;
  l.breaker_threshold = 3;
  l.breaker_cooldown_ns = 60 * kNsPerSecond;
  return l;
}

struct Fixture : ::testing::Test {
  ManualClock clock{kStart};
  std::unique_ptr<RiskGates> gates;

  void SetUp() override { make(base_limits()); }
  void make(const RiskLimits& l) {
    gates = std::make_unique<RiskGates>(RiskGates::Config{64, l, clock.clock()});
    TokenRisk usdc;
    usdc.decimals = 6;
    usdc.price_usd = 1 * kUsd;
    usdc.max_exposure = U256(5000'000000ULL);
    ASSERT_TRUE(gates->set_token(kUsdc, usdc));
    gates->set_latest_block(100);
  }
  static Candidate candidate(std::uint64_t amount_raw = 1000'000000ULL) {
    Candidate c;
    c.signal_id = 1;
    c.token_in = kUsdc;
    c.hop_count = 2;
    c.state_blocks = {100, 100, 0};
    c.amount_in = U256(amount_raw);
    c.max_fee_per_gas = U256(100 * kGwei);
    c.max_priority_fee_per_gas = U256(30 * kGwei);
    return c;
  }
};

TEST_F(Fixture, ShouldAcceptNotionalAtLimitAndRejectOneRawUnitAbove) {
  const Decision at = gates->check(candidate(1000'000000ULL));  // exactly $1000
  EXPECT_TRUE(at.accept);
  EXPECT_EQ(at.reason, RejectReason::None);
  EXPECT_EQ(at.notional_usd.raw, 1000 * kUsd);
  const Decision above = gates->check(candidate(1000'000001ULL));  // $1000.000001
  EXPECT_FALSE(above.accept);
  EXPECT_EQ(above.reason, RejectReason::MaxNotional);
  EXPECT_EQ(above.notional_usd.raw, 1000 * kUsd + 100);
  EXPECT_EQ(gates->rejected(RejectReason::MaxNotional), 1u);
  EXPECT_EQ(gates->accepted(), 1u);
}

TEST_F(Fixture, ShouldValueAmountsBeyond64BitsExactlyOnTheWidePath) {
  TokenRisk weth;
  weth.decimals = 18;
  weth.price_usd = 1 * kUsd;
  weth.max_exposure = U256::max();
  ASSERT_TRUE(gates->set_token(kWeth, weth));
  Candidate c = candidate();
  c.token_in = kWeth;
  c.amount_in = U256::pow2(70);  // 1180.591620717411303424 units at $1
  const Decision d = gates->check(c);
  EXPECT_EQ(d.reason, RejectReason::MaxNotional);
  EXPECT_EQ(d.notional_usd.raw, 118'059'162'071);  // floor, 8 decimals
  c.amount_in = U256(999'999'999'999'999'999ULL);  // 64-bit fast path: $0.99999999 (floor)
  const Decision f = gates->check(c);
  EXPECT_TRUE(f.accept);
  EXPECT_EQ(f.notional_usd.raw, 99'999'999);
}

TEST_F(Fixture, ShouldRejectExposureWhenHeldPlusInFlightPlusTradeExceedsLimit) {
  RiskLimits l = base_limits();
  l.max_notional_usd = 1'000'000 * kUsd;
  l.max_in_flight = 10;
  ASSERT_TRUE(gates->set_limits(l));
  gates->set_held(kUsdc, U256(3000'000000ULL));
  const Candidate first = candidate(1000'000000ULL);
  ASSERT_TRUE(gates->check(first).accept);
  gates->on_submitted(first);
  EXPECT_EQ(gates->exposure(kUsdc), U256(4000'000000ULL));
  EXPECT_TRUE(gates->check(candidate(1000'000000ULL)).accept);  // 5000 == limit
  const Decision d = gates->check(candidate(1000'000001ULL));
  EXPECT_EQ(d.reason, RejectReason::TokenExposure);
  gates->on_outcome(first, TradeOutcome::Included);  // exposure released
  EXPECT_TRUE(gates->check(candidate(2000'000000ULL)).accept);
}

TEST_F(Fixture, ShouldRejectWhenInFlightLimitReached) {
  const Candidate c = candidate();
  ASSERT_TRUE(gates->check(c).accept);
  gates->on_submitted(c);
  ASSERT_TRUE(gates->check(c).accept);  // 1 in flight, limit 2
  gates->on_submitted(c);
  EXPECT_EQ(gates->check(c).reason, RejectReason::MaxInFlight);
  gates->on_outcome(c, TradeOutcome::Included);
  EXPECT_TRUE(gates->check(c).accept);
}

TEST_F(Fixture, ShouldRejectDailyLossPastLimitAndForgetItOnTheNextUtcDay) {
  const std::uint64_t today = Clock::utc_day(clock.now());
  gates->update_pnl(PnlSnapshot{UsdFixedPoint8{-100 * kUsd}, UsdFixedPoint8{0}, UsdFixedPoint8{100 * kUsd},
                                UsdFixedPoint8{-100 * kUsd}, today});
  EXPECT_TRUE(gates->check(candidate()).accept);  // loss == limit
  gates->update_pnl(PnlSnapshot{UsdFixedPoint8{-100 * kUsd - 1}, UsdFixedPoint8{0},
                                UsdFixedPoint8{100 * kUsd + 1}, UsdFixedPoint8{-100 * kUsd - 1}, today});
  EXPECT_EQ(gates->check(candidate()).reason, RejectReason::DailyLoss);
  // Next UTC midnight: the daily window restarts.
  clock.set((today + 1) * kNsPerDay);
  EXPECT_TRUE(gates->check(candidate()).accept);
}

TEST_F(Fixture, ShouldRejectDrawdownPastLimit) {
  const std::uint64_t today = Clock::utc_day(clock.now());
  gates->update_pnl(PnlSnapshot{UsdFixedPoint8{300 * kUsd}, UsdFixedPoint8{500 * kUsd}, UsdFixedPoint8{200 * kUsd},
                                UsdFixedPoint8{0}, today});
  EXPECT_TRUE(gates->check(candidate()).accept);
  gates->update_pnl(PnlSnapshot{UsdFixedPoint8{300 * kUsd - 1}, UsdFixedPoint8{500 * kUsd},
                                UsdFixedPoint8{200 * kUsd + 1}, UsdFixedPoint8{0}, today});
  EXPECT_EQ(gates->check(candidate()).reason, RejectReason::Drawdown);
}

TEST_F(Fixture, ShouldRejectStaleStateOlderThanKBlocksOnAnyHop) {
  Candidate c = candidate();
  c.hop_count = 3;
  c.state_blocks = {100, 97, 100};  // age 3 == K
  EXPECT_TRUE(gates->check(c).accept);
  c.state_blocks = {100, 100, 96};  // age 4 on the last hop
  EXPECT_EQ(gates->check(c).reason, RejectReason::StaleState);
  c.hop_count = 2;  // the third entry is not part of a 2-hop path
  EXPECT_TRUE(gates->check(c).accept);
  c.state_blocks = {101, 101, 0};  // state newer than our latest head: age 0
  EXPECT_TRUE(gates->check(c).accept);
}

TEST_F(Fixture, ShouldRejectMaxFeeAboveCeiling) {
  Candidate c = candidate();
  c.max_fee_per_gas = U256(500 * kGwei);
  EXPECT_TRUE(gates->check(c).accept);
  c.max_fee_per_gas = U256(500 * kGwei + 1);
  EXPECT_EQ(gates->check(c).reason, RejectReason::GasPriceCeiling);
}

TEST_F(Fixture, ShouldRaisePriorityFeeToPolygonFloorInsteadOfRejecting) {
  Candidate c = candidate();
  c.max_fee_per_gas = U256(10 * kGwei);
  c.max_priority_fee_per_gas = U256(1 * kGwei);
  const Decision d = gates->check(c);
  ASSERT_TRUE(d.accept);
  EXPECT_EQ(d.max_priority_fee_per_gas, U256(25 * kGwei));
  EXPECT_EQ(d.max_fee_per_gas, U256(25 * kGwei));  // max fee >= priority fee
  c.max_priority_fee_per_gas = U256(30 * kGwei);
  c.max_fee_per_gas = U256(100 * kGwei);
  const Decision unchanged = gates->check(c);
  EXPECT_EQ(unchanged.max_priority_fee_per_gas, U256(30 * kGwei));
  EXPECT_EQ(unchanged.max_fee_per_gas, U256(100 * kGwei));
  // Another chain: no 25 gwei floor.
  RiskLimits l = base_limits();
  l.chain_id = 1;
  ASSERT_TRUE(gates->set_limits(l));
  c.max_priority_fee_per_gas = U256(1 * kGwei);
  EXPECT_EQ(gates->check(c).max_priority_fee_per_gas, U256(1 * kGwei));
  // Polygon with a ceiling below the floor: the floored fee is over the ceiling.
  l.chain_id = 137;
  l.max_fee_per_gas_wei = 20 * kGwei;
  ASSERT_TRUE(gates->set_limits(l));
  c.max_fee_per_gas = U256(10 * kGwei);
  EXPECT_EQ(gates->check(c).reason, RejectReason::GasPriceCeiling);
}

TEST_F(Fixture, ShouldRejectMalformedAndUnknownTokenCandidates) {
  Candidate c = candidate();
  c.hop_count = 0;
  EXPECT_EQ(gates->check(c).reason, RejectReason::InvalidCandidate);
  c.hop_count = 4;
  EXPECT_EQ(gates->check(c).reason, RejectReason::InvalidCandidate);
  c.hop_count = 2;
  c.token_in = InstrumentId::make(InstrumentKind::Pool, Chain::Polygon, Venue::UniswapV2, 0);
  EXPECT_EQ(gates->check(c).reason, RejectReason::InvalidCandidate);
  c.token_in = InstrumentId::make(InstrumentKind::Token, Chain::Polygon, Venue::None, 64);  // beyond capacity
  EXPECT_EQ(gates->check(c).reason, RejectReason::InvalidCandidate);
  c.token_in = kWeth;  // in range, never configured
  EXPECT_EQ(gates->check(c).reason, RejectReason::UnknownToken);
}

TEST_F(Fixture, ShouldStopNewTradesOnTheFirstCheckAfterKillSwitchEngagedFromAnotherThread) {
  ASSERT_TRUE(gates->check(candidate()).accept);
  std::atomic<bool> engaged{false};
  std::thread operator_thread([&] {
    gates->engage_kill_switch();
    engaged.store(true, std::memory_order_release);
  });
  while (!engaged.load(std::memory_order_acquire)) std::this_thread::yield();
  const Decision d = gates->check(candidate());  // the very next event
  operator_thread.join();
  EXPECT_FALSE(d.accept);
  EXPECT_EQ(d.reason, RejectReason::KillSwitch);
  EXPECT_EQ(gates->rejected(RejectReason::KillSwitch), 1u);
  gates->release_kill_switch();
  EXPECT_TRUE(gates->check(candidate()).accept);
}

TEST_F(Fixture, ShouldTripBreakerAfterNConsecutiveFailuresThenCoolDownToHalfOpen) {
  const Candidate c = candidate();
  for (int i = 0; i < 2; ++i) {
    gates->on_submitted(c);
    gates->on_outcome(c, i == 0 ? TradeOutcome::Reverted : TradeOutcome::Failed);
  }
  EXPECT_EQ(gates->breaker_state(), BreakerState::Closed);  // 2 < 3
  EXPECT_TRUE(gates->check(c).accept);
  gates->on_submitted(c);
  gates->on_outcome(c, TradeOutcome::Reverted);
  EXPECT_EQ(gates->breaker_state(), BreakerState::Open);
  EXPECT_EQ(gates->breaker_trips(), 1u);
  EXPECT_EQ(gates->check(c).reason, RejectReason::CircuitOpen);
  clock.advance(60 * kNsPerSecond - 1);
  EXPECT_EQ(gates->check(c).reason, RejectReason::CircuitOpen);
  clock.advance(1);
  // Half-open: one trial trade.
  ASSERT_TRUE(gates->check(c).accept);
  EXPECT_EQ(gates->breaker_state(), BreakerState::HalfOpen);
  gates->on_submitted(c);
  EXPECT_EQ(gates->check(c).reason, RejectReason::CircuitOpen);  // trial in flight
  gates->on_outcome(c, TradeOutcome::Included);
  EXPECT_EQ(gates->breaker_state(), BreakerState::Closed);
  EXPECT_TRUE(gates->check(c).accept);
}

TEST_F(Fixture, ShouldReopenBreakerWhenHalfOpenTrialFails) {
  const Candidate c = candidate();
  for (int i = 0; i < 3; ++i) gates->on_outcome(c, TradeOutcome::Failed);
  ASSERT_EQ(gates->breaker_state(), BreakerState::Open);
  clock.advance(60 * kNsPerSecond);
  ASSERT_TRUE(gates->check(c).accept);
  gates->on_submitted(c);
  gates->on_outcome(c, TradeOutcome::Reverted);
  EXPECT_EQ(gates->breaker_state(), BreakerState::Open);
  EXPECT_EQ(gates->breaker_trips(), 2u);
  EXPECT_EQ(gates->check(c).reason, RejectReason::CircuitOpen);  // a new cool-down started
}

TEST_F(Fixture, ShouldNotTripWhenASuccessBreaksTheFailureRun) {
  const Candidate c = candidate();
  gates->on_outcome(c, TradeOutcome::Reverted);
  gates->on_outcome(c, TradeOutcome::Reverted);
  gates->on_outcome(c, TradeOutcome::Included);
  gates->on_outcome(c, TradeOutcome::Reverted);
  gates->on_outcome(c, TradeOutcome::Reverted);
  EXPECT_EQ(gates->consecutive_failures(), 2u);
  EXPECT_EQ(gates->breaker_state(), BreakerState::Closed);
}

TEST_F(Fixture, ShouldCloseBreakerOnManualResetRequestedFromAnotherThread) {
  const Candidate c = candidate();
  for (int i = 0; i < 3; ++i) gates->on_outcome(c, TradeOutcome::Reverted);
  ASSERT_EQ(gates->check(c).reason, RejectReason::CircuitOpen);
  std::thread op([&] { gates->request_breaker_reset(); });
  op.join();
  EXPECT_TRUE(gates->check(c).accept);  // no cool-down wait
  EXPECT_EQ(gates->breaker_state(), BreakerState::Closed);
  EXPECT_EQ(gates->consecutive_failures(), 0u);
}

TEST_F(Fixture, ShouldEvaluateKillSwitchBeforeEveryOtherGate) {
  Candidate c = candidate(9'000'000'000'000ULL);  // also over notional and exposure
  c.max_fee_per_gas = U256(10'000 * kGwei);
  gates->engage_kill_switch();
  EXPECT_EQ(gates->check(c).reason, RejectReason::KillSwitch);
}

TEST_F(Fixture, ShouldRefuseNegativeLimits) {
  RiskLimits l = base_limits();
  l.max_daily_loss_usd = -1;
  EXPECT_FALSE(gates->set_limits(l));
  EXPECT_EQ(gates->limits().max_daily_loss_usd, 100 * kUsd);
}

// Every field of a limits set derived from one number: a torn read mixes two numbers.
RiskLimits limits_from(std::uint64_t k) {
  RiskLimits l;
  l.max_notional_usd = static_cast<std::int64_t>(k);
  l.max_daily_loss_usd = static_cast<std::int64_t>(k * 3);
  l.max_drawdown_usd = static_cast<std::int64_t>(k * 5);
  l.max_in_flight = k + 1;
  l.max_state_age_blocks = k + 2;
  l.max_fee_per_gas_wei = k * 7;
  l.min_priority_fee_wei = k * 11;
  l.chain_id = k + 3;
  l.breaker_threshold = static_cast<std::uint32_t>(k);
  l.reserved = static_cast<std::uint32_t>(k + 4);
  l.breaker_cooldown_ns = k * 13;
  return l;
}
bool consistent(const RiskLimits& l) {
  const auto k = static_cast<std::uint64_t>(l.max_notional_usd);
  const RiskLimits e = limits_from(k);
  return std::memcmp(&e, &l, sizeof l) == 0;
}

TEST_F(Fixture, ShouldNeverObserveTornLimitsWhileAnotherThreadReloadsThem) {
  ASSERT_TRUE(gates->set_limits(limits_from(1)));
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> reloads{0};
  std::thread writer([&] {
    for (std::uint64_t k = 2; !stop.load(std::memory_order_relaxed); ++k) {
      (void)gates->set_limits(limits_from(k & 0xFFFFF));
      reloads.store(k, std::memory_order_relaxed);
    }
  });
  std::uint64_t torn = 0;
  std::uint64_t distinct = 0;
  std::int64_t last = -1;
  for (int i = 0; i < 300'000; ++i) {
    const RiskLimits l = gates->limits();
    if (!consistent(l)) ++torn;
    if (l.max_notional_usd != last) ++distinct;
    last = l.max_notional_usd;
    // check() reads the same seqlock on the executor thread while the writer reloads.
    (void)gates->check(candidate());
  }
  stop.store(true);
  writer.join();
  EXPECT_EQ(torn, 0u);
  EXPECT_GT(reloads.load(), 2u);
  EXPECT_GT(distinct, 1u);  // the reader really saw reloads
}

TEST(Seqlock, ShouldReturnLastStoredValueAcrossManyWords) {
  struct Big {
    std::array<std::uint64_t, 16> w;
  };
  Seqlock<Big> s;
  Big b{};
  for (std::size_t i = 0; i < 16; ++i) b.w[i] = i * 3 + 1;
  s.store(b);
  const Big r = s.load();
  EXPECT_EQ(r.w, b.w);
  EXPECT_EQ(s.version(), 2u);  // construction + store
}

TEST(RejectReasonNames, ShouldNameEveryReasonDistinctly) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < kRejectReasonCount; ++i) names.insert(to_string(static_cast<RejectReason>(i)));
  EXPECT_EQ(names.size(), kRejectReasonCount);
  EXPECT_EQ(names.count("unknown"), 0u);
}

}  // namespace
