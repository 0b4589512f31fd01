// P&L arithmetic: exact integer valuation of token amounts and gas (see pnl.hpp).
#include "torq/risk/pnl.hpp"

#include <stdexcept>

namespace torq::risk {

std::optional<UsdFixedPoint8> value_signed(const I256& amount, unsigned decimals, UsdFixedPoint8 price) noexcept {
  if (!amount.is_negative()) return num::from_token_amount(amount.bits(), decimals, price);
  if (price.raw == INT64_MIN) return std::nullopt;
  // floor(x * p / 10^d) with x < 0 == floor(|x| * (-p) / 10^d); from_token_amount floors for both signs.
  return num::from_token_amount(amount.abs(), decimals, UsdFixedPoint8{-price.raw});
}

PnlTracker::PnlTracker(const Config& cfg)
    : max_tokens_(cfg.max_tokens),
      native_decimals_(cfg.native_decimals),
      native_price_(cfg.native_price),
      native_token_(cfg.native_token),
      clock_(cfg.clock) {
  if (cfg.max_tokens == 0 || cfg.max_tokens > (std::size_t{1} << 24)) {
    throw std::invalid_argument("PnlTracker: max_tokens must be in [1, 2^24]");
  }
  prices_ = std::make_unique<TokenPrice[]>(max_tokens_);
  balances_ = std::make_unique<I256[]>(max_tokens_);
  for (std::size_t i = 0; i < max_tokens_; ++i) {
    prices_[i] = TokenPrice{UsdFixedPoint8{0}, 0, false};
    balances_[i] = I256::zero();
  }
  day_ = Clock::utc_day(clock_.now_ns());
}

bool PnlTracker::set_token(InstrumentId token, unsigned decimals, UsdFixedPoint8 price) noexcept {
  if (!in_range(token) || decimals > 255) return false;
  prices_[token.index()] = TokenPrice{price, static_cast<std::uint32_t>(decimals), true};
  return true;
}

PnlError PnlTracker::on_execution(const protocol::ExecutionReport& r, InstrumentId input_token,
                                  TradePnl& out) noexcept {
  return book(input_token, r.realized_profit, r.gas_used, r.effective_gas_price,
              UsdFixedPoint8{r.expected_pnl_usd}, out);
}

PnlError PnlTracker::book(InstrumentId input_token, const I256& realized_profit, std::uint64_t gas_used,
                          const U256& effective_gas_price, UsdFixedPoint8 expected_usd, TradePnl& out) noexcept {
  if (!in_range(input_token) || !prices_[input_token.index()].configured) return PnlError::unknown_token;
  const TokenPrice& tp = prices_[input_token.index()];
  const std::optional<UsdFixedPoint8> profit = value_signed(realized_profit, tp.decimals, tp.price);
  if (!profit) return PnlError::overflow;
  const std::optional<U256> gas_wei = num::checked_mul(U256(gas_used), effective_gas_price);
  if (!gas_wei) return PnlError::overflow;
  const std::optional<UsdFixedPoint8> gas = num::from_token_amount(*gas_wei, native_decimals_, native_price_);
  if (!gas) return PnlError::overflow;
  const std::optional<UsdFixedPoint8> net = num::checked_sub(*profit, *gas);
  if (!net) return PnlError::overflow;
  const std::optional<UsdFixedPoint8> slip = num::checked_sub(*net, expected_usd);
  if (!slip) return PnlError::overflow;
  const std::optional<UsdFixedPoint8> cum = num::checked_add(cumulative_, *net);
  if (!cum) return PnlError::overflow;
  const std::uint64_t today = Clock::utc_day(clock_.now_ns());
  const UsdFixedPoint8 daily_base = today == day_ ? daily_ : UsdFixedPoint8{0};
  const std::optional<UsdFixedPoint8> daily = num::checked_add(daily_base, *net);
  if (!daily) return PnlError::overflow;
  const UsdFixedPoint8 peak = *cum > peak_ ? *cum : peak_;
  // peak >= cum and peak >= 0 >= ... : peak - cum must fit (both fit; check anyway).
  if (!num::checked_sub(peak, *cum)) return PnlError::overflow;
  // Positions: all checks first, then commit.
  I256 new_in = balances_[input_token.index()];
  const std::optional<I256> bin = num::checked_add(new_in, realized_profit);
  if (!bin) return PnlError::overflow;
  std::optional<I256> bnat;
  const bool debit_native = in_range(native_token_);
  if (debit_native) {
    const std::optional<I256> g = I256::from_u256(*gas_wei);
    if (!g) return PnlError::overflow;
    const I256 base = native_token_ == input_token ? *bin : balances_[native_token_.index()];
    bnat = num::checked_sub(base, *g);
    if (!bnat) return PnlError::overflow;
  }
  balances_[input_token.index()] = *bin;
  if (debit_native) balances_[native_token_.index()] = *bnat;
  cumulative_ = *cum;
  peak_ = peak;
  daily_ = *daily;
  day_ = today;
  ++trades_;
  out = TradePnl{*profit, *gas, *net, expected_usd, *slip};
  return PnlError::ok;
}

UsdFixedPoint8 PnlTracker::daily() const noexcept {
  return Clock::utc_day(clock_.now_ns()) == day_ ? daily_ : UsdFixedPoint8{0};
}

PnlSnapshot PnlTracker::snapshot() const noexcept {
  return PnlSnapshot{cumulative_, peak_, drawdown(), daily_, day_};
}

I256 PnlTracker::balance(InstrumentId token) const noexcept {
  return in_range(token) ? balances_[token.index()] : I256::zero();
}
bool PnlTracker::set_balance(InstrumentId token, const I256& raw) noexcept {
  if (!in_range(token)) return false;
  balances_[token.index()] = raw;
  return true;
}
bool PnlTracker::add_balance(InstrumentId token, const I256& delta) noexcept {
  if (!in_range(token)) return false;
  const std::optional<I256> b = num::checked_add(balances_[token.index()], delta);
  if (!b) return false;
  balances_[token.index()] = *b;
  return true;
}

}  // namespace torq::risk
