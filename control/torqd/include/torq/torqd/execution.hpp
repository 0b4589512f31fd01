// torq/torqd/execution.hpp — turning an ArbitrageSignal into TorqArbitrage.execute calldata and
// an EIP-1559 transaction: the per-pool path table (built once), the 24-byte-per-hop path
// encoding of docs/arb-contract.md, the fee policy (base fee + priority, 25 gwei floor on chain
// 137) and the on-chain minProfit.
//
// PathTable is built at start-up (allocates, throws); encode_path(), fees_for() and
// min_profit_for() are noexcept, allocation-free and read-only (any thread).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "torq/num/uint256.hpp"
#include "torq/protocol/instrument_id.hpp"
#include "torq/protocol/tlv_types.hpp"
#include "torq/risk/risk_gates.hpp"

namespace torq::torqd {

inline constexpr std::size_t kHopBytes = 24;
inline constexpr std::size_t kMaxPathBytes = kHopBytes * protocol::kMaxHops;

struct PathPool {
  protocol::Address address{};
  std::uint64_t token0 = 0;  // InstrumentId raw
  std::uint64_t token1 = 0;
  std::uint8_t kind = 0xFF;  // 0 V2, 1 V3, 0xFF unknown
  std::uint16_t v2_fee = 0;  // numerator over 1000 (997 for 0.3%)
};

class PathTable {
 public:
  // Every pool of the registry (dense by InstrumentId::index()). Throws std::invalid_argument for a
  // V2 fee that is not a whole number of tenths of a percent (the contract takes fee/1000).
  explicit PathTable(const protocol::InstrumentRegistry& registry);
  [[nodiscard]] const PathPool* find(std::uint64_t pool_raw) const noexcept;

 private:
  std::vector<PathPool> pools_;
  std::vector<std::uint64_t> ids_;
};

enum class PathError : std::uint8_t { Ok = 0, BadHopCount, UnknownPool, TokenMismatch, OpenCycle };
[[nodiscard]] const char* to_string(PathError e) noexcept;

// Writes hops × 24 bytes into `out`; `size` receives the byte count. Checks that every hop's input
// token is in its pool, that the direction follows from it, and that the cycle closes.
[[nodiscard]] PathError encode_path(const protocol::ArbitrageSignal& s, const PathTable& table,
                                    std::span<std::uint8_t, kMaxPathBytes> out, std::size_t& size) noexcept;

struct FeeQuote {
  num::U256 max_fee_per_gas;
  num::U256 max_priority_fee_per_gas;
};
// priority = max(configured, 25 gwei on chain 137); max fee = 2 × base fee + priority.
[[nodiscard]] FeeQuote fees_for(const num::U256& base_fee_wei, std::uint64_t priority_gwei, std::uint64_t chain_id) noexcept;

// What the risk gates see of a signal priced with `fees` (every hop's state at the signal's block).
[[nodiscard]] inline risk::Candidate risk_candidate(const protocol::ArbitrageSignal& sig, const FeeQuote& fees) noexcept {
  risk::Candidate cand{};
  cand.signal_id = sig.signal_id;
  cand.token_in = protocol::InstrumentId(sig.tokens[0]);
  cand.hop_count = sig.hop_count;
  for (unsigned h = 0; h < protocol::kMaxHops; ++h) cand.state_blocks[h] = sig.block_number;
  cand.amount_in = sig.amount_in;
  cand.max_fee_per_gas = fees.max_fee_per_gas;
  cand.max_priority_fee_per_gas = fees.max_priority_fee_per_gas;
  return cand;
}

// The contract's minProfit: expected_profit × share_bps / 10000, at least 1 raw unit.
[[nodiscard]] num::U256 min_profit_for(const num::U256& expected_profit, std::uint32_t share_bps) noexcept;

}  // namespace torq::torqd
