// torq/arb/cycle_index.hpp — the arbitrage cycles of a pool book and, per pool, the cycles touching it.
//
// Owns: Cycle (one directed cycle of 2 pools on the same pair or 3 pools forming a token
// triangle, with the swap direction of each hop and the start token whose units measure profit)
// and CycleIndex, built once at start-up from the book's token graph: the cycle array plus a CSR
// map pool -> cycles (offsets[pool]..offsets[pool+1]), so that an update of one pool re-evaluates
// exactly the cycles that contain it. The map holds copies of the cycles themselves (each carrying
// its id), so that the strategy goes from a changed pool to its cycles' other pools in one
// dependent load instead of two (an id, then the cycle).
// Every undirected cycle yields both directions. The start token is the cycle token with the best
// rank in CycleConfig::base_tokens (then the lowest index). Limits keep the work per update
// bounded: at most max_cycles_per_pool per pool and max_cycles in all (2-pool cycles are taken
// first; a cycle is kept only if every pool it uses still has room, so every kept cycle is
// reachable from each of its pools). Dropped cycles are counted.
// Thread-safety: immutable after construction (any number of readers). Allocation: constructor only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "torq/arb/pool_book.hpp"

namespace torq::arb {

struct Cycle {
  std::uint32_t pool[3];
  std::uint32_t token[3];      // token[i]: input token of hop i; the last hop returns token[0]
  std::uint8_t hops;           // 2 or 3
  std::uint8_t zero_for_one;   // bit i: hop i sells token0 of its pool for token1
  std::uint8_t kind;           // protocol::PathKind
  std::uint8_t all_v2;         // 1 if every hop is a V2 pool
  std::uint32_t id;            // the cycle's index in its CycleIndex
  [[nodiscard]] bool z41(unsigned hop) const noexcept { return ((zero_for_one >> hop) & 1U) != 0; }
  friend constexpr bool operator==(const Cycle&, const Cycle&) = default;
};
static_assert(sizeof(Cycle) == 32 && std::is_trivially_copyable_v<Cycle>);

struct CycleConfig {
  bool two_pool = true;
  bool triangular = true;
  std::uint32_t max_cycles_per_pool = 64;
  std::uint32_t max_cycles = 1u << 22;
  std::vector<std::uint32_t> base_tokens;  // token indices, best first (e.g. WMATIC, USDC, WETH)
};

struct CycleStats {
  std::uint64_t two_pool = 0;
  std::uint64_t triangular = 0;
  std::uint64_t dropped = 0;  // found but over a limit
};

class CycleIndex {
 public:
  CycleIndex(const PoolBook& book, const CycleConfig& cfg);

  [[nodiscard]] std::size_t size() const noexcept { return cycles_.size(); }
  [[nodiscard]] const Cycle& cycle(std::uint32_t id) const noexcept { return cycles_[id]; }
  [[nodiscard]] std::span<const Cycle> cycles() const noexcept { return cycles_; }
  // The cycles that contain `pool`, 2-pool cycles first, as copies (Cycle::id names each).
  [[nodiscard]] std::span<const Cycle> touching(std::uint32_t pool) const noexcept {
    return {by_pool_.data() + offsets_[pool], by_pool_.data() + offsets_[pool + 1]};
  }
  [[nodiscard]] const CycleStats& stats() const noexcept { return stats_; }
  // Cache hint: the line of `pool`'s touching-list bounds (pool < pool count).
  void prefetch_touching(std::uint32_t pool) const noexcept { __builtin_prefetch(&offsets_[pool]); }
  // Cache hint: the lines of `pool`'s first max_cycles touching cycles (reads offsets_[pool]).
  void prefetch_touching_cycles(std::uint32_t pool, std::size_t max_cycles) const noexcept {
    const std::size_t b = offsets_[pool], n = std::min<std::size_t>(offsets_[pool + 1] - b, max_cycles);
    const char* p = reinterpret_cast<const char*>(by_pool_.data() + b);
    for (std::size_t off = 0; off < n * sizeof(Cycle); off += 64) __builtin_prefetch(p + off);
    if (n != 0) __builtin_prefetch(p + n * sizeof(Cycle) - 1);  // a span that starts mid-line
  }

 private:
  std::vector<Cycle> cycles_;
  std::vector<std::uint32_t> offsets_;  // pool_count + 1
  std::vector<Cycle> by_pool_;  // pool p's cycles at offsets_[p]..offsets_[p + 1]
  CycleStats stats_{};
};

}  // namespace torq::arb
