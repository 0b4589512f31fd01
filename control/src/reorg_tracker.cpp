// ReorgTracker implementation (see reorg_tracker.hpp).
#include "torq/control/reorg_tracker.hpp"

#include <cstring>

namespace torq::control {

ReorgTracker::ReorgTracker(std::uint32_t window, std::uint32_t finality_depth)
    : ring_(window == 0 ? 1 : window), scratch_(ring_.size()), finality_depth_(finality_depth) {
  clear();
}

void ReorgTracker::clear() noexcept {
  for (auto& s : ring_) s.valid = false;
  tip_.reset();
}

const ReorgTracker::Slot* ReorgTracker::find(std::uint64_t number) const noexcept {
  const Slot& s = ring_[number % ring_.size()];
  return s.valid && s.number == number && tip_ && number <= *tip_ ? &s : nullptr;
}

std::optional<Hash32> ReorgTracker::hash_at(std::uint64_t number) const noexcept {
  const Slot* s = find(number);
  if (s == nullptr) return std::nullopt;
  return s->hash;
}

bool ReorgTracker::holds(std::uint64_t number, std::uint64_t hash_prefix) const noexcept {
  const Slot* s = find(number);
  if (s == nullptr) return false;
  std::uint64_t p;
  std::memcpy(&p, s->hash.data(), sizeof p);
  return p == hash_prefix;
}

std::optional<std::uint64_t> ReorgTracker::finalized() const noexcept {
  if (!tip_ || *tip_ < finality_depth_) return std::nullopt;
  return *tip_ - finality_depth_;
}

HeadResult ReorgTracker::store(const protocol::BlockHeader& h, bool keep_below_gap) noexcept {
  const bool gap = tip_ && h.number > *tip_ + 1;
  // Unless the caller vouched for our tip, nothing we hold is known to link to this head.
  if (gap && !keep_below_gap) clear();
  Slot& s = ring_[h.number % ring_.size()];
  s = Slot{h.number, h.hash, h.parent_hash, true};
  tip_ = h.number;
  return gap ? HeadResult::Gap : HeadResult::Extended;
}

void ReorgTracker::put(std::uint64_t number, const Hash32& hash) noexcept {
  ring_[number % ring_.size()] = Slot{number, hash, Hash32{}, true};
  tip_ = number;
}

void ReorgTracker::truncate_above(std::uint64_t number) noexcept {
  if (!tip_) return;
  // Over the ring, not over the numbers: no loop counter can wrap whatever the numbers are.
  for (Slot& s : ring_)
    if (s.valid && s.number > number) s.valid = false;
  tip_ = number;
}

HeadResult ReorgTracker::on_head(const protocol::BlockHeader& h, bool keep_below_gap) noexcept {
  if (h.number > kMaxBlockNumber) return HeadResult::Refused;
  if (!tip_) return store(h, keep_below_gap);
  if (h.number <= *tip_) {
    const Slot* s = find(h.number);
    if (s != nullptr && s->hash == h.hash) return HeadResult::Duplicate;
    return HeadResult::NeedsResolve;
  }
  if (h.number == *tip_ + 1) {
    const Slot* prev = find(*tip_);
    if (prev != nullptr && prev->hash != h.parent_hash) return HeadResult::NeedsResolve;
    return store(h, keep_below_gap);
  }
  return store(h, keep_below_gap);
}

}  // namespace torq::control
