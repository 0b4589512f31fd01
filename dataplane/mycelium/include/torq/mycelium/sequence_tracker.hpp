// torq/mycelium/sequence_tracker.hpp — per-source sequence tracking: gaps, duplicates, late
// (out-of-order) frames and source restarts announced by Heartbeat epochs.
//
// Owns: SequenceTracker, a fixed table of 256 sources (the header's source byte), each with the
// next expected sequence, a 256-sequence window of recently received numbers (so that a frame
// behind the expected one is classified as late = it fills a gap, or duplicate = seen before),
// the source's epoch, and counters. Verdicts for data frames:
//   first      the first frame seen from the source (its sequence becomes the baseline)
//   in_order   sequence == expected
//   gap        sequence > expected: (sequence - expected) frames counted missing, then accepted
//   late       sequence < expected, within the window, not seen before: a reordered frame
//   duplicate  sequence < expected, within the window, seen before
//   stale      sequence < expected by more than the window, or before the source's baseline
//              (its first frame or last restart): cannot be classified; dropped
// Heartbeats do not consume sequence numbers: a heartbeat carries the last data sequence the
// source sent (tail losses show up as a gap without waiting for the next data frame) and the
// source's epoch; a changed epoch means the source restarted, and its sequence restarts after
// Heartbeat.last_sequence (restarts counted, window cleared). Only the epoch the source had
// before its last restart counts as old (a delayed heartbeat of the previous incarnation,
// old_epoch_ignored): epochs are start times in ms cut to 32 bits, so "numerically lower" is not
// "older" (a source restarted after 25-50 days across the wrap would be ignored for good; it was,
// before 2026-11-27). A restarted source must send a
// heartbeat before data (Sequencer does); data of a new epoch that arrives before its heartbeat
// looks like duplicate/stale and is dropped by relays.
// Thread-safety: one thread. Allocation: none (fixed 256-entry table, about 100 KiB: keep the
// tracker in a long-lived object, not on a small stack). All members noexcept, O(1) except
// window clearing after a large gap (at most 4 words).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "torq/protocol/tlv_types.hpp"

namespace torq::mycelium {

enum class SeqVerdict : std::uint8_t { first, in_order, gap, late, duplicate, stale };
enum class HeartbeatVerdict : std::uint8_t { first, ok, gap, restart, old_epoch_ignored };
[[nodiscard]] const char* to_string(SeqVerdict v) noexcept;

// True for verdicts whose frame should be delivered downstream.
[[nodiscard]] constexpr bool deliverable(SeqVerdict v) noexcept {
  return v == SeqVerdict::first || v == SeqVerdict::in_order || v == SeqVerdict::gap || v == SeqVerdict::late;
}

struct SequenceCounters {
  std::uint64_t accepted = 0;    // first + in_order + gap + late
  std::uint64_t gaps = 0;        // gap events (data or heartbeat revealed missing frames)
  std::uint64_t missing = 0;     // frames found missing (sum of gap sizes)
  std::uint64_t late = 0;        // reordered frames that arrived after a gap was counted
  std::uint64_t duplicates = 0;  // frames seen before
  std::uint64_t stale = 0;       // frames too far behind to classify
  std::uint64_t restarts = 0;    // epoch changes
  std::uint64_t heartbeats = 0;  // heartbeats processed
  SequenceCounters& operator+=(const SequenceCounters& o) noexcept {
    accepted += o.accepted; gaps += o.gaps; missing += o.missing; late += o.late;
    duplicates += o.duplicates; stale += o.stale; restarts += o.restarts; heartbeats += o.heartbeats;
    return *this;
  }
};
static_assert(std::is_trivially_copyable_v<SequenceCounters> && sizeof(SequenceCounters) == 64);

class SequenceTracker {
 public:
  static constexpr std::uint64_t kWindow = 256;  // sequences remembered behind the expected one

  SequenceTracker() noexcept = default;

  [[nodiscard]] SeqVerdict on_data(std::uint8_t source, std::uint64_t seq) noexcept {
    Source& s = sources_[source];
    ++s.activity;
    if (!s.known) [[unlikely]] {
      s.known = true;
      s.window = {};
      s.next = seq + 1;
      s.floor = seq;
      mark(s, seq);
      ++s.c.accepted;
      return SeqVerdict::first;
    }
    if (seq == s.next) [[likely]] {
      mark(s, seq);
      s.next = seq + 1;
      ++s.c.accepted;
      return SeqVerdict::in_order;
    }
    if (seq > s.next) {
      ++s.c.gaps;
      s.c.missing += seq - s.next;
      advance(s, seq);
      mark(s, seq);
      s.next = seq + 1;
      ++s.c.accepted;
      return SeqVerdict::gap;
    }
    if (s.next - seq > kWindow || seq < s.floor) {
      ++s.c.stale;
      return SeqVerdict::stale;
    }
    if (is_marked(s, seq)) {
      ++s.c.duplicates;
      return SeqVerdict::duplicate;
    }
    mark(s, seq);
    ++s.c.late;
    ++s.c.accepted;
    return SeqVerdict::late;
  }

  [[nodiscard]] HeartbeatVerdict on_heartbeat(std::uint8_t source, const protocol::Heartbeat& hb) noexcept {
    Source& s = sources_[source];
    ++s.activity;
    ++s.c.heartbeats;
    const std::uint64_t after = hb.last_sequence + 1;
    if (!s.epoch_known) {
      s.epoch_known = true;
      s.epoch = hb.epoch;
      if (!s.known) {
        s.known = true;
        s.window = {};
        s.next = after;
        s.floor = after;  // numbers before the baseline are not missing: they are stale
        return HeartbeatVerdict::first;
      }
      // Data came first; fall through to the same-epoch check.
    } else if (hb.epoch != s.epoch) {
      if (s.prev_epoch_known && hb.epoch == s.prev_epoch) return HeartbeatVerdict::old_epoch_ignored;
      s.prev_epoch = s.epoch;
      s.prev_epoch_known = true;
      s.epoch = hb.epoch;
      s.known = true;
      s.window = {};
      s.next = after;
      s.floor = after;
      ++s.c.restarts;
      return HeartbeatVerdict::restart;
    }
    if (!s.known) {
      s.known = true;
      s.window = {};
      s.next = after;
      s.floor = after;
      return HeartbeatVerdict::ok;
    }
    if (after > s.next) {  // frames up to last_sequence were sent but never arrived
      ++s.c.gaps;
      s.c.missing += after - s.next;
      advance(s, hb.last_sequence);
      s.next = after;
      return HeartbeatVerdict::gap;
    }
    return HeartbeatVerdict::ok;
  }

  // Forgets a source (e.g. operator reset); counters are kept.
  void forget(std::uint8_t source) noexcept {
    Source& s = sources_[source];
    s.known = false;
    s.epoch_known = false;
    s.prev_epoch_known = false;
    s.window = {};
  }

  [[nodiscard]] bool known(std::uint8_t source) const noexcept { return sources_[source].known; }
  [[nodiscard]] std::uint64_t expected(std::uint8_t source) const noexcept { return sources_[source].next; }
  [[nodiscard]] std::uint32_t epoch(std::uint8_t source) const noexcept { return sources_[source].epoch; }
  // Frames + heartbeats seen from the source so far (liveness checks compare two readings).
  [[nodiscard]] std::uint64_t activity(std::uint8_t source) const noexcept { return sources_[source].activity; }
  [[nodiscard]] const SequenceCounters& counters(std::uint8_t source) const noexcept { return sources_[source].c; }
  [[nodiscard]] SequenceCounters totals() const noexcept {
    SequenceCounters t;
    for (const Source& s : sources_) t += s.c;
    return t;
  }

 private:
  struct Source {
    std::array<std::uint64_t, kWindow / 64> window{};  // bit (seq % kWindow): seq received
    std::uint64_t next = 0;   // expected sequence
    std::uint64_t floor = 0;  // first sequence of the current baseline; anything below is stale
    std::uint64_t activity = 0;
    SequenceCounters c{};
    std::uint32_t epoch = 0;
    std::uint32_t prev_epoch = 0;  // the epoch before the last restart (its late heartbeats are ignored)
    bool known = false;
    bool epoch_known = false;
    bool prev_epoch_known = false;
  };

  static void mark(Source& s, std::uint64_t seq) noexcept { s.window[(seq % kWindow) / 64] |= bit(seq); }
  static void clear_bit(Source& s, std::uint64_t seq) noexcept { s.window[(seq % kWindow) / 64] &= ~bit(seq); }
  [[nodiscard]] static bool is_marked(const Source& s, std::uint64_t seq) noexcept {
    return (s.window[(seq % kWindow) / 64] & bit(seq)) != 0;
  }
  [[nodiscard]] static std::uint64_t bit(std::uint64_t seq) noexcept { return std::uint64_t{1} << (seq % 64); }
  // Moves the window so that [s.next, upto] are fresh (unreceived) slots.
  static void advance(Source& s, std::uint64_t upto) noexcept {
    if (upto - s.next + 1 >= kWindow) {
      s.window = {};
      return;
    }
    for (std::uint64_t q = s.next; q <= upto; ++q) clear_bit(s, q);
  }

  std::array<Source, 256> sources_{};
};

}  // namespace torq::mycelium
