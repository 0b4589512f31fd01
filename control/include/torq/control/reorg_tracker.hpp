// ReorgTracker: the recent canonical chain as seen by one node session (block number → hash and
// parent hash, in a fixed ring of `window` blocks) and the detection of chain reorganisations.
//
// A reorg shows up as a new head whose parent hash is not our hash at number-1, a head whose
// number we already hold with another hash, or a `removed: true` log of a block we hold. The
// common ancestor is then found by walking down and comparing our hashes with the node's
// canonical hashes (fetched by the caller through a callback), and a ReorgNotice TLV describes
// what consumers must unwind (every event of a block above common_ancestor_number). Blocks
// deeper than `finality_depth` below the tip are final: a reorg reaching them is reported as
// deep (counted; consumers must resync from a snapshot).
//
// History survives a resolve: the canonical hashes fetched while looking for the ancestor (and,
// when the new head is above the old tip, those of the blocks in between, at most finality_depth
// of them) replace the blocks above the ancestor, so the next reorg finds its ancestor again.
// Block numbers above kMaxBlockNumber (2^63 - 1) are refused (HeadResult::Refused): no chain is
// that long, and loops over numbers stay far from wrapping.
//
// Allocation: the ring and a scratch ring of the same size are allocated in the constructor;
// on_head()/resolve() do not allocate.
// Not thread-safe: owned by the session thread.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "torq/protocol/tlv_types.hpp"

namespace torq::control {

using Hash32 = std::array<std::uint8_t, 32>;

// Highest block number the control plane accepts from a node (a larger one is a bad answer).
inline constexpr std::uint64_t kMaxBlockNumber = (std::uint64_t{1} << 63) - 1;

enum class HeadResult : std::uint8_t {
  Extended,    // next block on our branch (or the first block seen)
  Duplicate,   // a head we already hold (same number and hash)
  Gap,         // number skipped ahead (missed heads): accepted without a parent check
  NeedsResolve, // parent/hash mismatch: call resolve() with a canonical-hash source
  Refused       // number above kMaxBlockNumber: not recorded
};

class ReorgTracker {
 public:
  ReorgTracker(std::uint32_t window = 256, std::uint32_t finality_depth = 64);

  // A head more than one block above the tip (Gap) clears the history unless keep_below_gap:
  // the caller has checked that our tip is still canonical (NodeSession does), so the blocks we
  // hold stay (the numbers in between are not held).
  [[nodiscard]] HeadResult on_head(const protocol::BlockHeader& h, bool keep_below_gap = false) noexcept;

  // After NeedsResolve (or a removed log, or a reconnect check): finds the highest block we hold
  // whose hash equals the node's canonical hash at that number (canonical(n) → optional hash),
  // drops our blocks above it, records `new_head` (if given) and fills `notice`. The canonical
  // hashes fetched on the way down (and, for a new head above the old tip, those of the blocks
  // in between when there are at most finality_depth of them) are recorded between the ancestor
  // and the new head, so later reorgs can still be resolved; without a new head the tip becomes
  // the ancestor. Returns false when no common ancestor is inside the window or above finality
  // (deep reorg; counted) or when canonical() fails (nullopt; the caller retries later).
  template <class Canonical>
  [[nodiscard]] bool resolve(const protocol::BlockHeader* new_head, Canonical&& canonical,
                             protocol::ReorgNotice& notice) noexcept {
    if (!tip_ || (new_head && new_head->number > kMaxBlockNumber)) return false;
    const std::uint64_t old_tip = *tip_;
    std::uint64_t n = new_head ? std::min(old_tip, new_head->number == 0 ? 0 : new_head->number - 1) : old_tip;
    const std::uint64_t top = n;  // scratch_ holds canonical hashes of (ancestor, top]
    const std::uint64_t floor = old_tip >= finality_depth_ ? old_tip - finality_depth_ : 0;
    for (;; --n) {
      const Slot* s = find(n);
      if (s == nullptr || n < floor) {
        ++deep_reorgs_;
        return false;
      }
      const std::optional<Hash32> c = canonical(n);
      if (!c) return false;  // node did not answer: caller retries later
      if (*c == s->hash) break;
      scratch_[n % scratch_.size()] = *c;
      if (n == 0) return false;
    }
    notice = protocol::ReorgNotice{};
    notice.common_ancestor_number = n;
    notice.common_ancestor_hash = find(n)->hash;
    notice.old_tip_number = old_tip;
    notice.depth = static_cast<std::uint32_t>(old_tip - n);
    truncate_above(n);
    if (new_head) {
      // The new branch between the ancestor and the new head: what the walk fetched, then (new
      // head above the old tip) the blocks up to the new head, unless that is more than
      // finality_depth blocks (a reorg below them would be deep anyway).
      for (std::uint64_t k = n + 1; k <= top; ++k) put(k, scratch_[k % scratch_.size()]);
      const std::uint64_t want = new_head->number;  // fill (top, want)
      if (want > top + 1 && want - top - 1 <= finality_depth_ && want - top - 1 < ring_.size()) {
        for (std::uint64_t k = top + 1; k < want; ++k) {
          const std::optional<Hash32> c = canonical(k);
          if (!c) break;  // leave the rest unknown: the reorg itself is resolved
          put(k, *c);
        }
      }
      (void)store(*new_head, /*keep_below_gap=*/true);
    }
    notice.new_tip_number = *tip_;
    ++reorgs_;
    return true;
  }

  // A removed log names a block (number + hash prefix) that left the canonical chain: true when
  // that block is one we hold on our branch (the caller then runs resolve()).
  [[nodiscard]] bool holds(std::uint64_t number, std::uint64_t hash_prefix) const noexcept;

  [[nodiscard]] std::optional<std::uint64_t> tip() const noexcept { return tip_; }
  [[nodiscard]] std::optional<Hash32> hash_at(std::uint64_t number) const noexcept;
  // Highest block considered final (tip - finality_depth), or nullopt before that many blocks.
  [[nodiscard]] std::optional<std::uint64_t> finalized() const noexcept;
  [[nodiscard]] std::uint64_t reorgs() const noexcept { return reorgs_; }
  [[nodiscard]] std::uint64_t deep_reorgs() const noexcept { return deep_reorgs_; }
  void clear() noexcept;

 private:
  struct Slot {
    std::uint64_t number;
    Hash32 hash;
    Hash32 parent;
    bool valid;
  };
  [[nodiscard]] const Slot* find(std::uint64_t number) const noexcept;
  HeadResult store(const protocol::BlockHeader& h, bool keep_below_gap) noexcept;
  void put(std::uint64_t number, const Hash32& hash) noexcept;  // a canonical block without its parent
  void truncate_above(std::uint64_t number) noexcept;

  std::vector<Slot> ring_;
  std::vector<Hash32> scratch_;  // canonical hashes seen by resolve(), same indexing as ring_
  std::uint64_t finality_depth_;
  std::optional<std::uint64_t> tip_;
  std::uint64_t reorgs_ = 0;
  std::uint64_t deep_reorgs_ = 0;
};

}  // namespace torq::control
