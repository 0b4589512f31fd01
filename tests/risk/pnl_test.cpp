// P&L: exact arithmetic against hand-computed values, cumulative/peak/drawdown/daily, positions,
// and the hand-off to the risk gates.
#include "torq/risk/pnl.hpp"

#include <gtest/gtest.h>

#include "torq/risk/risk_gates.hpp"

namespace {

using namespace torq;
using namespace torq::risk;
using num::I256;
using num::U256;
using num::UsdFixedPoint8;
using protocol::Chain;
using protocol::InstrumentId;
using protocol::InstrumentKind;
using protocol::Venue;

constexpr std::int64_t kUsd = UsdFixedPoint8::kScale;
const InstrumentId kUsdc = InstrumentId::make(InstrumentKind::Token, Chain::Polygon, Venue::None, 0);
const InstrumentId kWeth = InstrumentId::make(InstrumentKind::Token, Chain::Polygon, Venue::None, 1);
const InstrumentId kPol = InstrumentId::make(InstrumentKind::Token, Chain::Polygon, Venue::None, 2);
constexpr std::uint64_t kStart = 1'700'000'000ULL * kNsPerSecond;

struct Pnl : ::testing::Test {
  ManualClock clock{kStart};
  std::unique_ptr<PnlTracker> t;
  void SetUp() override {
    PnlTracker::Config cfg;
    cfg.max_tokens = 16;
    cfg.native_decimals = 18;
    cfg.native_price = UsdFixedPoint8{50'000'000};  // $0.50
    cfg.native_token = kPol;
    cfg.clock = clock.clock();
    t = std::make_unique<PnlTracker>(cfg);
    ASSERT_TRUE(t->set_token(kUsdc, 6, UsdFixedPoint8{1 * kUsd}));
    ASSERT_TRUE(t->set_token(kWeth, 18, UsdFixedPoint8{300'012'345'678}));  // $3000.12345678
  }
  TradePnl book(InstrumentId token, std::int64_t profit_raw, std::uint64_t gas_used, std::uint64_t gas_price,
                std::int64_t expected = 0) {
    TradePnl r{};
    EXPECT_EQ(t->book(token, I256(profit_raw), gas_used, U256(gas_price), UsdFixedPoint8{expected}, r), PnlError::ok);
    return r;
  }
};

TEST_F(Pnl, ShouldValueUsdcProfitMinusGasExactly) {
  // 2.5 USDC profit; gas 200000 * 30 gwei = 0.006 POL at $0.50 = $0.003; expected $2.60.
  const TradePnl r = book(kUsdc, 2'500'000, 200'000, 30'000'000'000ULL, 260'000'000);
  EXPECT_EQ(r.profit_usd.raw, 250'000'000);
  EXPECT_EQ(r.gas_usd.raw, 300'000);
  EXPECT_EQ(r.net_usd.raw, 249'700'000);
  EXPECT_EQ(r.expected_usd.raw, 260'000'000);
  EXPECT_EQ(r.slippage_usd.raw, -10'300'000);
  EXPECT_EQ(t->cumulative().raw, 249'700'000);
}

TEST_F(Pnl, ShouldFloorEighteenDecimalValuationsExactly) {
  // 0.001234567890123456 WETH at $3000.12345678 = $3.703856088... -> 370385608 (floor)
  // gas 210000 * 35.5 gwei = 0.007455 POL at $0.51234567 = $0.003819536... -> 381953
  t->set_native_price(UsdFixedPoint8{51'234'567});
  TradePnl r{};
  ASSERT_EQ(t->book(kWeth, I256::from_u256(U256(1'234'567'890'123'456ULL)).value(), 210'000,
                    U256(35'500'000'000ULL), UsdFixedPoint8{0}, r),
            PnlError::ok);
  EXPECT_EQ(r.profit_usd.raw, 370'385'608);
  EXPECT_EQ(r.gas_usd.raw, 381'953);
  EXPECT_EQ(r.net_usd.raw, 370'003'655);
}

TEST_F(Pnl, ShouldRoundNegativeAmountsTowardMinusInfinity) {
  ASSERT_TRUE(t->set_token(kUsdc, 6, UsdFixedPoint8{33'333'333}));  // $0.33333333
  EXPECT_EQ(value_signed(I256(1), 6, UsdFixedPoint8{33'333'333})->raw, 33);    // 33.333333 -> 33
  EXPECT_EQ(value_signed(I256(-1), 6, UsdFixedPoint8{33'333'333})->raw, -34);  // -33.333333 -> -34
  const TradePnl r = book(kUsdc, -1, 0, 0);
  EXPECT_EQ(r.net_usd.raw, -34);
}

TEST_F(Pnl, ShouldTrackCumulativePeakAndDrawdown) {
  book(kUsdc, 10'000'000, 0, 0);   // +10
  book(kUsdc, -3'000'000, 0, 0);   // +7
  book(kUsdc, 1'000'000, 0, 0);    // +8
  book(kUsdc, -20'000'000, 0, 0);  // -12
  EXPECT_EQ(t->cumulative().raw, -12 * kUsd);
  EXPECT_EQ(t->peak().raw, 10 * kUsd);
  EXPECT_EQ(t->drawdown().raw, 22 * kUsd);
  EXPECT_EQ(t->trades(), 4u);
}

TEST_F(Pnl, ShouldRestartDailyPnlAtUtcMidnight) {
  book(kUsdc, -5'000'000, 0, 0);
  EXPECT_EQ(t->daily().raw, -5 * kUsd);
  const std::uint64_t day = Clock::utc_day(clock.now());
  clock.set((day + 1) * kNsPerDay - 1);  // 23:59:59.999999999
  book(kUsdc, -1'000'000, 0, 0);
  EXPECT_EQ(t->daily().raw, -6 * kUsd);
  clock.set((day + 1) * kNsPerDay);  // midnight
  EXPECT_EQ(t->daily().raw, 0);
  book(kUsdc, 2'000'000, 0, 0);
  EXPECT_EQ(t->daily().raw, 2 * kUsd);
  EXPECT_EQ(t->snapshot().day, day + 1);
  EXPECT_EQ(t->cumulative().raw, -4 * kUsd);  // cumulative never resets
}

TEST_F(Pnl, ShouldMovePositionsByProfitAndGas) {
  ASSERT_TRUE(t->set_balance(kPol, I256::from_u256(U256(1'000'000'000'000'000'000ULL)).value()));  // 1 POL
  book(kUsdc, 2'500'000, 21'000, 30'000'000'000ULL);
  EXPECT_EQ(t->balance(kUsdc), I256(2'500'000));
  EXPECT_EQ(t->balance(kPol), I256(1'000'000'000'000'000'000LL - 630'000'000'000'000LL));
}

TEST_F(Pnl, ShouldBookFromExecutionReport) {
  protocol::ExecutionReport rep{};
  rep.status = static_cast<std::uint8_t>(protocol::ExecutionStatus::Included);
  rep.gas_used = 200'000;
  rep.effective_gas_price = U256(30'000'000'000ULL);
  rep.realized_profit = I256(2'500'000);
  rep.expected_pnl_usd = 260'000'000;
  TradePnl r{};
  ASSERT_EQ(t->on_execution(rep, kUsdc, r), PnlError::ok);
  EXPECT_EQ(r.net_usd.raw, 249'700'000);
  EXPECT_EQ(r.slippage_usd.raw, -10'300'000);
}

TEST_F(Pnl, ShouldLeaveStateUnchangedOnUnknownTokenOrOverflow) {
  TradePnl r{};
  const InstrumentId unknown = InstrumentId::make(InstrumentKind::Token, Chain::Polygon, Venue::None, 5);
  EXPECT_EQ(t->book(unknown, I256(1), 0, U256(0), UsdFixedPoint8{0}, r), PnlError::unknown_token);
  // 2^200 raw USDC is far beyond int64 USD.
  EXPECT_EQ(t->book(kUsdc, I256::from_u256(U256::pow2(200)).value(), 0, U256(0), UsdFixedPoint8{0}, r),
            PnlError::overflow);
  EXPECT_EQ(t->trades(), 0u);
  EXPECT_EQ(t->cumulative().raw, 0);
  EXPECT_EQ(t->balance(kUsdc), I256(0));
}

TEST_F(Pnl, ShouldFeedRiskGatesDailyLossLimit) {
  RiskLimits l;
  l.max_notional_usd = 1'000'000 * kUsd;
  l.max_daily_loss_usd = 10 * kUsd;
  l.max_drawdown_usd = 1'000 * kUsd;
  l.max_in_flight = 4;
  l.max_state_age_blocks = 10;
  l.max_fee_per_gas_wei = 1'000 * kGwei;
  RiskGates gates(RiskGates::Config{16, l, clock.clock()});
  TokenRisk usdc;
  usdc.decimals = 6;
  usdc.price_usd = kUsd;
  usdc.max_exposure = U256::max();
  ASSERT_TRUE(gates.set_token(kUsdc, usdc));
  Candidate c;
  c.token_in = kUsdc;
  c.hop_count = 2;
  c.amount_in = U256(1'000'000);
  book(kUsdc, -10'000'000, 0, 0);  // -$10: at the limit
  gates.update_pnl(t->snapshot());
  EXPECT_TRUE(gates.check(c).accept);
  book(kUsdc, -1, 0, 0);  // one raw unit more loss: -$10.000001
  gates.update_pnl(t->snapshot());
  EXPECT_EQ(gates.check(c).reason, RejectReason::DailyLoss);
}

}  // namespace
