// Pre-trade risk gates (see risk_gates.hpp for the gate list and thread rules).
#include "torq/risk/risk_gates.hpp"

#include <stdexcept>

namespace torq::risk {

using num::U256;
using num::UsdFixedPoint8;

const char* to_string(RejectReason r) noexcept {
  switch (r) {
    case RejectReason::None: return "none";
    case RejectReason::KillSwitch: return "kill_switch";
    case RejectReason::CircuitOpen: return "circuit_open";
    case RejectReason::InvalidCandidate: return "invalid_candidate";
    case RejectReason::UnknownToken: return "unknown_token";
    case RejectReason::StaleState: return "stale_state";
    case RejectReason::GasPriceCeiling: return "gas_price_ceiling";
    case RejectReason::MaxInFlight: return "max_in_flight";
    case RejectReason::DailyLoss: return "daily_loss";
    case RejectReason::Drawdown: return "drawdown";
    case RejectReason::MaxNotional: return "max_notional";
    case RejectReason::TokenExposure: return "token_exposure";
  }
  return "unknown";
}

const char* to_string(BreakerState s) noexcept {
  switch (s) {
    case BreakerState::Closed: return "closed";
    case BreakerState::Open: return "open";
    case BreakerState::HalfOpen: return "half_open";
  }
  return "unknown";
}

namespace {
constexpr std::array<unsigned __int128, 39> make_pow10() noexcept {
  std::array<unsigned __int128, 39> t{};
  t[0] = 1;
  for (std::size_t i = 1; i < t.size(); ++i) t[i] = t[i - 1] * 10;
  return t;
}
constexpr std::array<unsigned __int128, 39> kPow10 = make_pow10();
constexpr unsigned __int128 pow10_u128(unsigned n) noexcept { return kPow10[n]; }
bool limits_valid(const RiskLimits& l) noexcept {
  return l.max_daily_loss_usd >= 0 && l.max_drawdown_usd >= 0 && l.max_notional_usd >= 0;
}
}  // namespace

RiskGates::RiskGates(const Config& cfg) : max_tokens_(cfg.max_tokens), clock_(cfg.clock) {
  if (cfg.max_tokens == 0 || cfg.max_tokens > (std::size_t{1} << 24)) {
    throw std::invalid_argument("RiskGates: max_tokens must be in [1, 2^24]");
  }
  if (!limits_valid(cfg.limits)) throw std::invalid_argument("RiskGates: limits must be >= 0");
  limits_.store(cfg.limits);
  tokens_ = std::make_unique<Seqlock<TokenRisk>[]>(max_tokens_);
  in_flight_exposure_ = std::make_unique<U256[]>(max_tokens_);
  held_ = std::make_unique<U256[]>(max_tokens_);
  for (std::size_t i = 0; i < max_tokens_; ++i) {
    in_flight_exposure_[i] = U256::zero();
    held_[i] = U256::zero();
  }
  pnl_.day = Clock::utc_day(clock_.now_ns());
}

bool RiskGates::set_limits(const RiskLimits& l) noexcept {
  if (!limits_valid(l)) return false;
  const std::lock_guard<std::mutex> g(limits_write_mu_);
  limits_.store(l);
  return true;
}

bool RiskGates::set_token(protocol::InstrumentId token, const TokenRisk& t) noexcept {
  if (!in_range(token) || t.decimals > 255) return false;
  TokenRisk v = t;
  v.configured = 1;
  const std::lock_guard<std::mutex> g(token_write_mu_);
  tokens_[token.index()].store(v);
  return true;
}

TokenRisk RiskGates::token(protocol::InstrumentId token) const noexcept {
  if (!in_range(token)) return TokenRisk{};
  return tokens_[token.index()].load();
}

void RiskGates::set_latest_block(std::uint64_t b) noexcept {
  std::uint64_t cur = latest_block_.load(std::memory_order_relaxed);
  while (b > cur && !latest_block_.compare_exchange_weak(cur, b, std::memory_order_acq_rel)) {
  }
}

void RiskGates::set_held(protocol::InstrumentId token, const U256& raw) noexcept {
  if (in_range(token)) held_[token.index()] = raw;
}

U256 RiskGates::exposure(protocol::InstrumentId token) const noexcept {
  if (!in_range(token)) return U256::zero();
  const std::optional<U256> s = num::checked_add(held_[token.index()], in_flight_exposure_[token.index()]);
  return s ? *s : U256::max();
}

void RiskGates::trip(std::uint64_t now) noexcept {
  opened_at_ns_ = now;
  probe_in_flight_ = false;
  set_breaker(BreakerState::Open);
  trips_.store(trips_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

Decision RiskGates::check(const Candidate& c) noexcept {
  Decision d;
  d.max_fee_per_gas = c.max_fee_per_gas;
  d.max_priority_fee_per_gas = c.max_priority_fee_per_gas;

  // 1. Kill switch: one acquire load per event.
  if (kill_.load(std::memory_order_acquire)) [[unlikely]] return reject(d, RejectReason::KillSwitch);

  const RiskLimits lim = limits_.load();

  // 2. Circuit breaker (manual reset requested from another thread is applied here).
  if (reset_req_.load(std::memory_order_relaxed)) [[unlikely]] {
    if (reset_req_.exchange(false, std::memory_order_acq_rel)) {
      consecutive_failures_ = 0;
      probe_in_flight_ = false;
      set_breaker(BreakerState::Closed);
    }
  }
  if (breaker_ != BreakerState::Closed) [[unlikely]] {
    if (breaker_ == BreakerState::Open) {
      const std::uint64_t now = clock_.now_ns();
      if (now < opened_at_ns_ || now - opened_at_ns_ < lim.breaker_cooldown_ns) {
        return reject(d, RejectReason::CircuitOpen);
      }
      probe_in_flight_ = false;
      set_breaker(BreakerState::HalfOpen);
    }
    if (probe_in_flight_) return reject(d, RejectReason::CircuitOpen);
  }

  // 3. Shape of the candidate.
  if (c.hop_count == 0 || c.hop_count > protocol::kMaxHops || !in_range(c.token_in)) [[unlikely]] {
    return reject(d, RejectReason::InvalidCandidate);
  }
  const TokenRisk tr = tokens_[c.token_in.index()].load();
  if (tr.configured == 0) [[unlikely]] return reject(d, RejectReason::UnknownToken);

  // 4. Stale state: every hop's pool state must be recent enough.
  const std::uint64_t latest = latest_block_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < c.hop_count; ++i) {
    const std::uint64_t b = c.state_blocks[i];
    if (latest > b && latest - b > lim.max_state_age_blocks) return reject(d, RejectReason::StaleState);
  }

  // 5. Gas: apply the priority-fee floor, then the max-fee ceiling.
  const U256 floor = U256(priority_fee_floor(lim));
  if (d.max_priority_fee_per_gas < floor) d.max_priority_fee_per_gas = floor;
  if (d.max_fee_per_gas < d.max_priority_fee_per_gas) d.max_fee_per_gas = d.max_priority_fee_per_gas;
  if (d.max_fee_per_gas > U256(lim.max_fee_per_gas_wei)) return reject(d, RejectReason::GasPriceCeiling);

  // 6. In flight.
  if (in_flight_ >= lim.max_in_flight) return reject(d, RejectReason::MaxInFlight);

  // 7. Realized P&L: daily loss (for the clock's current UTC day) and drawdown.
  {
    const std::uint64_t today = Clock::utc_day(clock_.now_ns());
    const std::int64_t daily = pnl_.day == today ? pnl_.daily.raw : 0;
    if (daily < -lim.max_daily_loss_usd) return reject(d, RejectReason::DailyLoss);  // limits are >= 0
  }
  if (pnl_.drawdown.raw > lim.max_drawdown_usd) return reject(d, RejectReason::Drawdown);

  // 8. Notional in USD (exact: floor(amount * price / 10^decimals)).
  std::optional<UsdFixedPoint8> notional;
  if (c.amount_in.fits_u64() && tr.price_usd >= 0 && tr.decimals <= 38) [[likely]] {
    // Fast path, same result: amount < 2^64 and price < 2^63, so the product fits 128 bits.
    const auto prod = static_cast<unsigned __int128>(c.amount_in.low_u64()) * static_cast<std::uint64_t>(tr.price_usd);
    const unsigned __int128 q = prod / pow10_u128(tr.decimals);
    if (q <= static_cast<unsigned __int128>(INT64_MAX)) notional = UsdFixedPoint8{static_cast<std::int64_t>(q)};
  } else {
    notional = num::from_token_amount(c.amount_in, tr.decimals, UsdFixedPoint8{tr.price_usd});
  }
  if (!notional) return reject(d, RejectReason::MaxNotional);
  d.notional_usd = *notional;
  if (notional->raw > lim.max_notional_usd) return reject(d, RejectReason::MaxNotional);

  // 9. Exposure of the input token: held + in flight + this trade.
  const std::size_t ti = c.token_in.index();
  U256 total = U256::zero();
  if (num::add_overflow(held_[ti], in_flight_exposure_[ti], total) || num::add_overflow(total, c.amount_in, total) ||
      total > tr.max_exposure) {
    return reject(d, RejectReason::TokenExposure);
  }

  d.accept = true;
  d.reason = RejectReason::None;
  bump(0);
  return d;
}

void RiskGates::on_submitted(const Candidate& c) noexcept {
  ++in_flight_;
  if (in_range(c.token_in)) {
    U256& e = in_flight_exposure_[c.token_in.index()];
    if (num::add_overflow(e, c.amount_in, e)) e = U256::max();
  }
  if (breaker_ == BreakerState::HalfOpen) probe_in_flight_ = true;
}

void RiskGates::on_outcome(const Candidate& c, TradeOutcome outcome) noexcept {
  if (in_flight_ > 0) --in_flight_;
  if (in_range(c.token_in)) {
    U256& e = in_flight_exposure_[c.token_in.index()];
    e = e > c.amount_in ? e - c.amount_in : U256::zero();
  }
  switch (outcome) {
    case TradeOutcome::Included:
      consecutive_failures_ = 0;
      if (breaker_ == BreakerState::HalfOpen) {
        probe_in_flight_ = false;
        set_breaker(BreakerState::Closed);
      }
      break;
    case TradeOutcome::Reverted:
    case TradeOutcome::Failed: {
      ++consecutive_failures_;
      const RiskLimits lim = limits_.load();
      if (breaker_ == BreakerState::HalfOpen) {
        trip(clock_.now_ns());
      } else if (breaker_ == BreakerState::Closed && lim.breaker_threshold > 0 &&
                 consecutive_failures_ >= lim.breaker_threshold) {
        trip(clock_.now_ns());
      }
      break;
    }
    case TradeOutcome::Cancelled:
      if (breaker_ == BreakerState::HalfOpen) probe_in_flight_ = false;
      break;
  }
}

}  // namespace torq::risk
