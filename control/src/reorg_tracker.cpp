// ReorgTracker implementation (see reorg_tracker.hpp).
#include "torq/control/reorg_tracker.hpp"

#include <cstring>

namespace torq::control {

ReorgTracker::ReorgTracker(std::uint32_t window, std::uint32_t finality_depth)
    : ring_(window == 0 ? 1 : window), finality_depth_(finality_depth) {
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

HeadResult ReorgTracker::store(const protocol::BlockHeader& h) noexcept {
  const bool gap = tip_ && h.number > *tip_ + 1;
  if (gap) clear();  // nothing we hold links to this head any more
  Slot& s = ring_[h.number % ring_.size()];
  s = Slot{h.number, h.hash, h.parent_hash, true};
  tip_ = h.number;
  return gap ? HeadResult::Gap : HeadResult::Extended;
}

void ReorgTracker::truncate_above(std::uint64_t number) noexcept {
  if (!tip_) return;
  for (std::uint64_t n = number + 1; n <= *tip_; ++n) {
    Slot& s = ring_[n % ring_.size()];
    if (s.number == n) s.valid = false;
  }
  tip_ = number;
}

HeadResult ReorgTracker::on_head(const protocol::BlockHeader& h) noexcept {
  if (!tip_) return store(h);
  if (h.number <= *tip_) {
    const Slot* s = find(h.number);
    if (s != nullptr && s->hash == h.hash) return HeadResult::Duplicate;
    return HeadResult::NeedsResolve;
  }
  if (h.number == *tip_ + 1) {
    const Slot* prev = find(*tip_);
    if (prev != nullptr && prev->hash != h.parent_hash) return HeadResult::NeedsResolve;
    return store(h);
  }
  return store(h);
}

}  // namespace torq::control
