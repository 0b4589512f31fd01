// torq/torqd/telemetry.hpp — what torqd's pipeline threads tell the operator surface, off the
// hot path: one fixed-size record per opportunity (signal seen by the executor and what became of
// it), per trade state change (pending → mined / reverted / dropped) and per latency sample of a
// pipeline stage, carried by one single-producer single-consumer queue per producing thread
// (executor, submitter, strategy, collector) to the control thread that owns the OperatorState.
//
// TelemetryQueue<N>: a bounded SPSC array queue of TelemetryRecord (trivially copyable). The
// producer's try_push() is noexcept, lock-free and allocation-free (one copy, one release store);
// a full queue refuses and counts the record (dropped()) instead of blocking the hot thread.
// pop() belongs to the single consumer thread. The queue itself is allocated once at start-up.
// Thread-safety: exactly one producer thread and one consumer thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "torq/num/uint256.hpp"

namespace torq::torqd {

enum class TelemetryKind : std::uint8_t { Opportunity = 1, Trade = 2, Stage = 3 };

// Pipeline stages with a latency histogram (OperatorState::set_latency names).
enum class Stage : std::uint8_t {
  Decode = 0,         // node JSON message read → market-data frame published (builtin collector)
  Search = 1,         // strategy: one ArbEngine poll batch that emitted signals (book + cycle search)
  TickToSignal = 2,   // md frame stamp → signal taken by the executor (strategy + signal ring hop)
  Risk = 3,           // RiskGates::check
  Sign = 4,           // calldata + EIP-1559 RLP + keccak + secp256k1 signature
  TickToSignedTx = 5, // md frame stamp → signed transaction queued to the submitter
  SubmitToMined = 6,  // eth_sendRawTransaction sent → receipt seen
};
inline constexpr std::size_t kStageCount = 7;
[[nodiscard]] const char* to_string(Stage s) noexcept;

// Opportunity decisions: 0 = taken, 1..11 = risk::RejectReason, then the executor's own.
inline constexpr std::uint8_t kDecisionTaken = 0;
inline constexpr std::uint8_t kDecisionBelowThreshold = 100;
inline constexpr std::uint8_t kDecisionStale = 101;       // computed before our own last trade was mined
inline constexpr std::uint8_t kDecisionPathError = 102;
inline constexpr std::uint8_t kDecisionSignError = 103;
inline constexpr std::uint8_t kDecisionTxRingFull = 104;
inline constexpr std::uint8_t kDecisionNoOrderSlot = 105;
// "taken", the risk reason ("MaxInFlight", ...) or the executor's ("below_threshold", ...).
[[nodiscard]] const char* decision_name(std::uint8_t d) noexcept;

enum class TradeState : std::uint8_t { Pending = 0, Mined = 1, Reverted = 2, Dropped = 3 };
[[nodiscard]] const char* to_string(TradeState s) noexcept;

struct TelemetryRecord {
  TelemetryKind kind = TelemetryKind::Stage;
  std::uint8_t stage = 0;          // Stage (Stage records)
  std::uint8_t decision = 0;       // Opportunity
  std::uint8_t hop_count = 0;      // Opportunity, Trade
  std::uint8_t trade_state = 0;    // TradeState (Trade)
  std::uint8_t realized_known = 0; // Trade: realized_usd is the booked P&L
  std::array<std::uint8_t, 2> reserved{};
  std::uint64_t t_unix_ns = 0;
  std::uint64_t value_ns = 0;      // Stage: the sample
  std::uint64_t signal_id = 0;
  std::uint64_t order_id = 0;
  std::uint64_t nonce = 0;
  std::uint64_t block = 0;
  std::uint64_t gas_used = 0;
  std::array<std::uint64_t, 3> pools{};   // InstrumentId raw per hop
  std::array<std::uint64_t, 4> tokens{};  // token in, after hop 1, ..., token out
  num::U256 amount_in{};
  std::int64_t expected_usd = 0;   // UsdFixedPoint8 raw: expected net profit
  std::int64_t realized_usd = 0;   // UsdFixedPoint8 raw: realized net P&L (Trade, realized_known)
  std::int64_t notional_usd = 0;   // UsdFixedPoint8 raw: the risk gate's valuation (0 if not checked)
  std::array<std::uint8_t, 32> tx_hash{};
};
static_assert(std::is_trivially_copyable_v<TelemetryRecord>);
static_assert(sizeof(TelemetryRecord) == 208);

template <std::size_t N>
class TelemetryQueue {
  static_assert(N >= 2 && (N & (N - 1)) == 0, "N must be a power of two");

 public:
  // Producer thread only.
  [[nodiscard]] bool try_push(const TelemetryRecord& r) noexcept {
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_cache_ >= N) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (t - head_cache_ >= N) {
        dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return false;
      }
    }
    slots_[t & (N - 1)] = r;
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }
  // Consumer thread only.
  [[nodiscard]] bool pop(TelemetryRecord& out) noexcept {
    const std::uint64_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_.load(std::memory_order_acquire)) return false;
    out = slots_[h & (N - 1)];
    head_.store(h + 1, std::memory_order_release);
    return true;
  }
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  std::uint64_t head_cache_ = 0;  // producer's cached view of head_
  std::atomic<std::uint64_t> dropped_{0};
  alignas(64) std::array<TelemetryRecord, N> slots_{};
};

inline constexpr std::size_t kTelemetryQueueSize = 4096;
using TelemetryRing = TelemetryQueue<kTelemetryQueueSize>;

}  // namespace torq::torqd
