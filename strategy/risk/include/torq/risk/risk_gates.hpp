// torq/risk/risk_gates.hpp — pre-trade risk gates: every candidate trade passes check() first.
//
// Owns: RejectReason (the reason codes carried in ExecutionReport.reject_reason), RiskLimits
// (reloadable scalar limits), TokenRisk (per-token price and exposure limit), Candidate, Decision,
// BreakerState and RiskGates.
//
// Gates, in evaluation order (the first that fails names the reason; "the limit itself is
// allowed" everywhere: a gate rejects only when its limit is strictly exceeded):
//   KillSwitch        kill switch engaged (atomic flag, set from any thread)
//   CircuitOpen       breaker open (N consecutive reverts/failures, until the cool-down ends),
//                     or half-open with its single trial trade already in flight
//   InvalidCandidate  hop_count not in [1, kMaxHops], or input token not a token id in capacity
//   UnknownToken      no price configured for the input token
//   StaleState        latest_block - state_block > max_state_age_blocks for some hop
//   GasPriceCeiling   max fee per gas, after the priority-fee floor, > max_fee_per_gas_wei
//   MaxInFlight       in_flight + 1 > max_in_flight
//   DailyLoss         -(today's realized P&L) > max_daily_loss_usd
//   Drawdown          peak - cumulative > max_drawdown_usd
//   MaxNotional       value(amount_in) > max_notional_usd
//   TokenExposure     held + in-flight + amount_in > token max_exposure (raw units)
// The priority-fee floor is not a gate: max(min_priority_fee_wei, 25 gwei on chain 137) is applied
// to the candidate's priority fee (and max fee raised to at least the priority fee); Decision
// carries the fees to sign with.
//
// Thread-safety: check(), on_submitted(), on_outcome(), set_held() and update_pnl() belong to ONE
// thread (the executor). From any thread: set_limits()/limits() (seqlock; stores serialised by an
// internal mutex that the hot path never takes), set_token()/token() (per-token seqlock),
// engage_kill_switch()/release_kill_switch(), request_breaker_reset(), set_latest_block(), and
// the counters. Allocation: the per-token tables are allocated once by the constructor; check()
// is noexcept, allocation-free, lock-free and O(hops).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <type_traits>

#include "torq/num/uint256.hpp"
#include "torq/num/usd_fixed.hpp"
#include "torq/protocol/instrument_id.hpp"
#include "torq/protocol/tlv_types.hpp"
#include "torq/risk/clock.hpp"
#include "torq/risk/pnl.hpp"
#include "torq/risk/seqlock.hpp"

namespace torq::risk {

// Values are stable wire codes (ExecutionReport.reject_reason, audit records); never renumber.
enum class RejectReason : std::uint8_t {
  None = 0,              // accepted
  KillSwitch = 1,
  CircuitOpen = 2,
  InvalidCandidate = 3,
  UnknownToken = 4,
  StaleState = 5,
  GasPriceCeiling = 6,
  MaxInFlight = 7,
  DailyLoss = 8,
  Drawdown = 9,
  MaxNotional = 10,
  TokenExposure = 11,
};
inline constexpr std::size_t kRejectReasonCount = 12;
[[nodiscard]] const char* to_string(RejectReason r) noexcept;

inline constexpr std::uint64_t kGwei = 1'000'000'000ULL;
inline constexpr std::uint64_t kPolygonChainId = 137;
inline constexpr std::uint64_t kPolygonMinPriorityFeeWei = 25 * kGwei;

// Scalar limits; reloadable at run time as one unit (seqlock). 80 bytes.
struct RiskLimits {
  std::int64_t max_notional_usd = 0;        // UsdFixedPoint8 raw
  std::int64_t max_daily_loss_usd = 0;      // UsdFixedPoint8 raw, >= 0
  std::int64_t max_drawdown_usd = 0;        // UsdFixedPoint8 raw, >= 0
  std::uint64_t max_in_flight = 0;
  std::uint64_t max_state_age_blocks = 0;
  std::uint64_t max_fee_per_gas_wei = 0;    // ceiling on maxFeePerGas
  std::uint64_t min_priority_fee_wei = 0;   // floor (raised to 25 gwei on chain 137)
  std::uint64_t chain_id = kPolygonChainId;
  std::uint32_t breaker_threshold = 0;      // consecutive reverts/failures that trip; 0 disables
  std::uint32_t reserved = 0;
  std::uint64_t breaker_cooldown_ns = 0;
};
static_assert(sizeof(RiskLimits) == 80 && std::is_trivially_copyable_v<RiskLimits>);

// The priority-fee floor in force for these limits.
[[nodiscard]] constexpr std::uint64_t priority_fee_floor(const RiskLimits& l) noexcept {
  const std::uint64_t chain_floor = l.chain_id == kPolygonChainId ? kPolygonMinPriorityFeeWei : 0;
  return l.min_priority_fee_wei > chain_floor ? l.min_priority_fee_wei : chain_floor;
}

// Per-token risk parameters, indexed by InstrumentId::index(). 48 bytes.
struct TokenRisk {
  num::U256 max_exposure;     // raw units: held + in flight + this trade must not exceed it
  std::int64_t price_usd = 0; // UsdFixedPoint8 raw per whole token
  std::uint32_t decimals = 0;
  std::uint32_t configured = 0;  // 1 when set
};
static_assert(sizeof(TokenRisk) == 48 && std::is_trivially_copyable_v<TokenRisk>);

struct Candidate {
  std::uint64_t signal_id = 0;
  protocol::InstrumentId token_in{};              // tokens[0]: what is put at risk
  std::uint8_t hop_count = 0;
  std::array<std::uint64_t, protocol::kMaxHops> state_blocks{};  // block of each hop's pool state
  num::U256 amount_in = num::U256::zero();         // raw units of token_in
  num::U256 max_fee_per_gas = num::U256::zero();
  num::U256 max_priority_fee_per_gas = num::U256::zero();
};
static_assert(std::is_trivially_copyable_v<Candidate>);

struct Decision {
  bool accept = false;
  RejectReason reason = RejectReason::None;
  num::UsdFixedPoint8 notional_usd{0};             // value(amount_in) when computed
  num::U256 max_fee_per_gas = num::U256::zero();   // fees to sign with (floor applied)
  num::U256 max_priority_fee_per_gas = num::U256::zero();
};
static_assert(std::is_trivially_copyable_v<Decision>);

enum class BreakerState : std::uint8_t { Closed = 0, Open = 1, HalfOpen = 2 };
[[nodiscard]] const char* to_string(BreakerState s) noexcept;

// How a submitted trade ended (feeds the breaker, in-flight count and exposure).
enum class TradeOutcome : std::uint8_t {
  Included = 0,  // mined, succeeded: resets the consecutive-failure count
  Reverted = 1,  // mined, reverted: counts toward the breaker
  Failed = 2,    // node refused / transport error / dropped: counts toward the breaker
  Cancelled = 3, // never reached the node (e.g. signing failed): neutral
};

class RiskGates {
 public:
  struct Config {
    std::size_t max_tokens = 1024;  // per-token table capacity (InstrumentId index < max_tokens)
    RiskLimits limits{};
    Clock clock{};
  };

  explicit RiskGates(const Config& cfg);  // allocates; throws std::invalid_argument on bad config
  RiskGates(const RiskGates&) = delete;
  RiskGates& operator=(const RiskGates&) = delete;

  // ---- hot path (executor thread) ----
  [[nodiscard]] Decision check(const Candidate& c) noexcept;
  // The accepted candidate was sent: +1 in flight, +amount_in exposure (half-open: it is the trial).
  void on_submitted(const Candidate& c) noexcept;
  // A submitted candidate finished: -1 in flight, -amount_in exposure, breaker bookkeeping.
  void on_outcome(const Candidate& c, TradeOutcome outcome) noexcept;
  // Held (on-chain) balance of a token, raw units; part of its exposure.
  void set_held(protocol::InstrumentId token, const num::U256& raw) noexcept;
  void update_pnl(const PnlSnapshot& s) noexcept { pnl_ = s; }

  // ---- any thread ----
  // Rejects (returns false) limits with negative loss/drawdown limits. Never blocks check().
  bool set_limits(const RiskLimits& l) noexcept;
  [[nodiscard]] RiskLimits limits() const noexcept { return limits_.load(); }
  bool set_token(protocol::InstrumentId token, const TokenRisk& t) noexcept;
  [[nodiscard]] TokenRisk token(protocol::InstrumentId token) const noexcept;
  void engage_kill_switch() noexcept { kill_.store(true, std::memory_order_release); }
  void release_kill_switch() noexcept { kill_.store(false, std::memory_order_release); }
  [[nodiscard]] bool kill_switch_engaged() const noexcept { return kill_.load(std::memory_order_acquire); }
  // Manual breaker reset: applied by the executor thread at its next check().
  void request_breaker_reset() noexcept { reset_req_.store(true, std::memory_order_release); }
  // Latest block seen by the node session; only moves forward.
  void set_latest_block(std::uint64_t b) noexcept;
  [[nodiscard]] std::uint64_t latest_block() const noexcept { return latest_block_.load(std::memory_order_acquire); }
  [[nodiscard]] BreakerState breaker_state() const noexcept {
    return static_cast<BreakerState>(breaker_pub_.load(std::memory_order_acquire));
  }
  [[nodiscard]] std::uint64_t rejected(RejectReason r) const noexcept {
    return counters_[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t accepted() const noexcept { return counters_[0].load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t breaker_trips() const noexcept { return trips_.load(std::memory_order_relaxed); }

  // ---- executor thread (inspection) ----
  [[nodiscard]] std::uint64_t in_flight() const noexcept { return in_flight_; }
  [[nodiscard]] std::uint32_t consecutive_failures() const noexcept { return consecutive_failures_; }
  [[nodiscard]] num::U256 exposure(protocol::InstrumentId token) const noexcept;
  [[nodiscard]] std::size_t max_tokens() const noexcept { return max_tokens_; }

 private:
  [[nodiscard]] bool in_range(protocol::InstrumentId t) const noexcept {
    return t.kind() == protocol::InstrumentKind::Token && t.index() < max_tokens_;
  }
  Decision reject(Decision d, RejectReason r) noexcept {
    d.accept = false;
    d.reason = r;
    bump(static_cast<std::size_t>(r));
    return d;
  }
  void bump(std::size_t i) noexcept {
    counters_[i].store(counters_[i].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  void set_breaker(BreakerState s) noexcept {
    breaker_ = s;
    breaker_pub_.store(static_cast<std::uint8_t>(s), std::memory_order_release);
  }
  void trip(std::uint64_t now) noexcept;

  // Shared (any thread).
  alignas(64) std::atomic<bool> kill_{false};
  std::atomic<bool> reset_req_{false};
  std::atomic<std::uint8_t> breaker_pub_{0};
  std::atomic<std::uint64_t> latest_block_{0};
  alignas(64) Seqlock<RiskLimits> limits_;
  std::mutex limits_write_mu_;  // serialises writers only
  std::unique_ptr<Seqlock<TokenRisk>[]> tokens_;
  std::mutex token_write_mu_;
  alignas(64) std::array<std::atomic<std::uint64_t>, kRejectReasonCount> counters_{};
  std::atomic<std::uint64_t> trips_{0};

  // Executor thread only.
  alignas(64) std::size_t max_tokens_;
  Clock clock_;
  std::unique_ptr<num::U256[]> in_flight_exposure_;
  std::unique_ptr<num::U256[]> held_;
  PnlSnapshot pnl_{};
  std::uint64_t in_flight_ = 0;
  std::uint32_t consecutive_failures_ = 0;
  BreakerState breaker_ = BreakerState::Closed;
  bool probe_in_flight_ = false;
  std::uint64_t opened_at_ns_ = 0;
};

}  // namespace torq::risk
