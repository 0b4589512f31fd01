// torq/nic/arbiter.hpp — A/B line arbitration: two (or more) redundant feeds carrying the same
// Protocol V2 frames are merged into one stream, in order, each frame delivered exactly once,
// the way exchange feed handlers arbitrate their A and B lines. With one line it is the link's
// reorder buffer: a hole waits (timeout_ns) for the source to resend the missing frames.
//
// Owns: LineArbiter<Sink>, ArbiterConfig, ArbiterCounters.
// Policy, per source (the header's source byte; sequences are per source):
//   - the first frame or heartbeat seen from a source sets its baseline (expected = the frame's
//     sequence, or the heartbeat's last_sequence + 1);
//   - seq == expected (from any line): delivered; then frames already buffered for the following
//     sequences are delivered in order;
//   - seq < expected, or seq already buffered: a duplicate (normally the other line's copy, or a
//     resend that crossed the original): dropped and counted;
//   - seq > expected: the frame is buffered (copied into a preallocated slot) while the other
//     line (or a resend) gets a chance to fill the hole. The hole is declared a gap (counted:
//     `gaps` events, `missing` frames) and skipped when (a) a frame arrives window or more
//     sequences ahead of expected, (b) expire(now) finds the hole older than timeout_ns, or (c) no
//     slot is free or the frame is larger than a slot (`overflows`): then everything buffered up
//     to the new frame is delivered in order, holes counted, and the new frame delivered. Order
//     is never violated.
//   - heartbeats (on_heartbeat) do not consume sequence numbers: each is delivered once, the copy
//     with the same or an older timestamp from the other line is a duplicate. A heartbeat whose
//     last_sequence is at or past expected opens a tail hole (frames sent but not received, none
//     after them yet), which waits and times out like any other. A heartbeat with a new epoch is
//     a restarted source: what was buffered is delivered (its holes are gaps), and the sequence
//     restarts after the heartbeat's last_sequence (`restarts`); a heartbeat of the epoch before
//     the last restart (the other line, late) is ignored. Only that one: epochs are start times
//     in ms cut to 32 bits, so a numerically lower epoch may be a newer start across the wrap.
//   - holes() lists every open hole (the missing ranges between expected and the last sequence
//     held or announced), for a receiver that asks its source to resend (torqd's LinkIngress).
//   - a sequence of 2^64 - 1 is dropped (no source sends that many), so expected never wraps.
// Sink: any type with `on_frame(std::span<const std::byte>)` (its result, if any, is ignored),
// called synchronously; the span is valid only during the call. mycelium::Relay<Out> is a Sink.
// Thread-safety: one thread (the poll loop). Allocation: the constructor only (slots, per-source
// tables: 256 × window entries + slots × slot_bytes); everything else is noexcept and
// allocation-free. Cost per frame: O(1) amortized; a memcpy when it has to be buffered.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "torq/protocol/header.hpp"
#include "torq/protocol/tlv_types.hpp"

namespace torq::nic {

inline constexpr std::size_t kMaxLines = 4;

struct ArbiterConfig {
  std::uint32_t window = 256;          // sequences buffered ahead of expected (power of two, 2..4096)
  std::uint32_t slots = 1024;          // buffered frames, shared by all sources
  std::uint32_t slot_bytes = 2048;     // largest frame that can be buffered (MTU-sized frames)
  std::uint64_t timeout_ns = 2'000'000;  // a hole older than this is declared a gap by expire()
};

struct ArbiterCounters {
  std::uint64_t delivered = 0;    // frames handed to the sink (heartbeats included)
  std::uint64_t duplicates = 0;   // copies dropped (other line, or already delivered/buffered)
  std::uint64_t gaps = 0;         // holes declared lost on every line
  std::uint64_t missing = 0;      // frames in those holes
  std::uint64_t buffered = 0;     // frames that waited for a hole to be filled
  std::uint64_t overflows = 0;    // holes forced early: no free slot or frame larger than a slot
  std::uint64_t timeouts = 0;     // holes declared by expire()
  std::uint64_t heartbeats = 0;   // heartbeats delivered
  std::uint64_t late = 0;         // frames that arrived after a later one and filled (part of) a hole
  std::uint64_t restarts = 0;     // sources restarted (a heartbeat with a new epoch)
  std::array<std::uint64_t, kMaxLines> first_from{};  // delivered frames whose first copy came from line i
};
static_assert(std::is_trivially_copyable_v<ArbiterCounters>);

template <class Sink>
class LineArbiter {
 public:
  LineArbiter(const ArbiterConfig& cfg, Sink& sink)
      : cfg_(cfg), sink_(sink) {
    if (cfg.window < 2 || cfg.window > 4096 || !std::has_single_bit(cfg.window)) {
      throw std::invalid_argument("ArbiterConfig.window must be a power of two in [2, 4096]");
    }
    if (cfg.slots == 0 || cfg.slot_bytes < protocol::kHeaderSize) {
      throw std::invalid_argument("ArbiterConfig.slots must be > 0 and slot_bytes >= 32");
    }
    entries_.assign(std::size_t{256} * cfg.window, Entry{});
    storage_ = std::make_unique<std::byte[]>(std::size_t{cfg.slots} * cfg.slot_bytes);
    free_.resize(cfg.slots);
    for (std::uint32_t i = 0; i < cfg.slots; ++i) free_[i] = cfg.slots - 1 - i;
    free_count_ = cfg.slots;
  }

  LineArbiter(const LineArbiter&) = delete;
  LineArbiter& operator=(const LineArbiter&) = delete;

  // A validated data frame (header already copied out by the caller) arrived on `line`.
  void on_frame(std::size_t line, std::span<const std::byte> frame, const protocol::FrameHeader& h,
                std::uint64_t now_ns) noexcept {
    Source& s = src_[h.source];
    const std::uint64_t seq = h.sequence;
    if (seq == ~std::uint64_t{0}) [[unlikely]] {  // never sent (2^64 frames): dropped, so `next` cannot wrap
      ++c_.duplicates;
      return;
    }
    if (!s.known) [[unlikely]] {
      s.known = true;
      s.next = seq;
      s.seen_end = seq;
    }
    if (seq == s.next) [[likely]] {
      if (s.seen_end > seq) ++c_.late;  // a later frame (or a heartbeat past it) came first
      deliver(line, frame);
      ++s.next;
      settle(h.source, now_ns);
      return;
    }
    if (seq < s.next) {
      ++c_.duplicates;
      return;
    }
    if (seq - s.next >= cfg_.window) {
      skip_to(h.source, seq - cfg_.window + 1);  // makes room: seq - next < window afterwards
      settle(h.source, now_ns);
      if (seq == s.next) {
        deliver(line, frame);
        ++s.next;
        settle(h.source, now_ns);
        return;
      }
    }
    Entry& e = entry(h.source, seq);
    if (e.slot != kNoSlot && e.seq == seq) {
      ++c_.duplicates;
      return;
    }
    if (free_count_ == 0 || frame.size() > cfg_.slot_bytes) [[unlikely]] {
      ++c_.overflows;
      skip_to(h.source, seq);
      deliver(line, frame);
      ++s.next;
      settle(h.source, now_ns);
      return;
    }
    const std::uint32_t slot = free_[--free_count_];
    std::memcpy(storage_.get() + std::size_t{slot} * cfg_.slot_bytes, frame.data(), frame.size());
    e = Entry{seq, slot, static_cast<std::uint32_t>(frame.size()), static_cast<std::uint32_t>(line)};
    ++c_.buffered;
    ++s.pending;
    open_hole(h.source, after(seq), now_ns);
  }

  // A validated heartbeat frame (does not consume a sequence number) arrived on `line`; `hb` is
  // its Heartbeat TLV.
  void on_heartbeat(std::size_t line, std::span<const std::byte> frame, const protocol::FrameHeader& h,
                    const protocol::Heartbeat& hb, std::uint64_t now_ns) noexcept {
    Source& s = src_[h.source];
    if (s.epoch_known && hb.epoch != s.epoch) {
      if (s.prev_epoch_known && hb.epoch == s.prev_epoch) {  // the old epoch, late on the other line
        ++c_.duplicates;
        return;
      }
      restart(h.source, hb);
    } else if (!s.epoch_known) {
      s.epoch_known = true;
      s.epoch = hb.epoch;
      if (!s.known) {  // joining: frames up to last_sequence were sent before us, not missing
        s.known = true;
        s.next = s.seen_end = after(hb.last_sequence);
      }
    }
    if (s.hb_seen && h.timestamp_ns <= s.last_hb_ns) {
      ++c_.duplicates;
      return;
    }
    s.hb_seen = true;
    s.last_hb_ns = h.timestamp_ns;
    ++c_.heartbeats;
    deliver(line, frame);
    if (s.known) open_hole(h.source, after(hb.last_sequence), now_ns);  // a tail hole if frames went missing
  }

  // Declares holes older than timeout_ns (at now_ns) lost and delivers what waited behind them.
  // Call it from the poll loop now and then (every burst is fine: O(1) when no hole is open).
  void expire(std::uint64_t now_ns) noexcept {
    for (std::size_t w = 0; w < open_bits_.size(); ++w) {
      std::uint64_t bits = open_bits_[w];
      while (bits != 0) {
        const auto source = static_cast<std::uint8_t>(w * 64 + static_cast<std::size_t>(std::countr_zero(bits)));
        bits &= bits - 1;
        Source& s = src_[source];
        if (now_ns - s.hole_since_ns < cfg_.timeout_ns) continue;
        ++c_.timeouts;
        skip_to(source, s.pending != 0 ? first_pending(source) : s.seen_end);
        settle(source, now_ns);
      }
    }
  }

  // Declares every hole lost and delivers everything buffered (end of stream / shutdown).
  void flush() noexcept {
    for (std::size_t i = 0; i < 256; ++i) deliver_buffered(static_cast<std::uint8_t>(i));
  }

  // Calls f(source, from_sequence, count, open_since_ns) for every open hole, in order: the frames
  // [from, from + count) are missing while a later one is held, or (the tail) known to exist from
  // a heartbeat. O(window) per source with an open hole.
  template <class F>
  void holes(F&& f) const noexcept {
    for (std::size_t w = 0; w < open_bits_.size(); ++w) {
      std::uint64_t bits = open_bits_[w];
      while (bits != 0) {
        const auto source = static_cast<std::uint8_t>(w * 64 + static_cast<std::size_t>(std::countr_zero(bits)));
        bits &= bits - 1;
        const Source& s = src_[source];
        // Only [next, next + window) can be held (differences: no wrap near 2^64).
        const auto in_window = [&](std::uint64_t q) { return q - s.next < cfg_.window; };
        const auto held = [&](std::uint64_t q) {
          const Entry& e = entry(source, q);
          return in_window(q) && e.slot != kNoSlot && e.seq == q;
        };
        std::uint64_t q = s.next;
        while (q < s.seen_end) {
          if (held(q)) {
            ++q;
            continue;
          }
          std::uint64_t end = q + 1;
          while (end < s.seen_end && in_window(end) && !held(end)) ++end;
          if (!in_window(end)) end = s.seen_end;
          f(source, q, end - q, s.hole_since_ns);
          q = end;
        }
      }
    }
  }
  // True when some source has an open hole (one load of each bit word).
  [[nodiscard]] bool has_holes() const noexcept {
    return (open_bits_[0] | open_bits_[1] | open_bits_[2] | open_bits_[3]) != 0;
  }

  [[nodiscard]] const ArbiterCounters& counters() const noexcept { return c_; }
  [[nodiscard]] std::uint64_t expected(std::uint8_t source) const noexcept { return src_[source].next; }
  [[nodiscard]] std::uint32_t pending(std::uint8_t source) const noexcept { return src_[source].pending; }
  [[nodiscard]] std::uint32_t free_slots() const noexcept { return free_count_; }
  [[nodiscard]] const ArbiterConfig& config() const noexcept { return cfg_; }

 private:
  static constexpr std::uint32_t kNoSlot = 0xFFFFFFFFu;
  struct Entry {
    std::uint64_t seq = 0;
    std::uint32_t slot = kNoSlot;
    std::uint32_t size = 0;
    std::uint32_t line = 0;
  };
  struct Source {
    std::uint64_t next = 0;
    std::uint64_t seen_end = 0;  // one past the highest sequence seen or announced (>= next; > next: a hole is open)
    std::uint64_t hole_since_ns = 0;
    std::uint64_t last_hb_ns = 0;
    std::uint64_t lost_end = 0;  // one past the last sequence declared lost (0: none)
    std::uint32_t pending = 0;
    std::uint32_t epoch = 0;
    std::uint32_t prev_epoch = 0;  // the epoch before the last restart
    bool known = false;
    bool epoch_known = false;
    bool prev_epoch_known = false;
    bool hb_seen = false;
  };

  // seq + 1 without wrapping (a hostile sequence of 2^64 - 1 must not look like 0).
  static constexpr std::uint64_t after(std::uint64_t seq) noexcept { return seq == ~std::uint64_t{0} ? seq : seq + 1; }

  Entry& entry(std::uint8_t source, std::uint64_t seq) noexcept {
    return entries_[std::size_t{source} * cfg_.window + (seq & (cfg_.window - 1))];
  }
  const Entry& entry(std::uint8_t source, std::uint64_t seq) const noexcept {
    return entries_[std::size_t{source} * cfg_.window + (seq & (cfg_.window - 1))];
  }

  void deliver(std::size_t line, std::span<const std::byte> frame) noexcept {
    ++c_.delivered;
    if (line < kMaxLines) ++c_.first_from[line];
    (void)sink_.on_frame(frame);
  }

  // Delivers a buffered entry (the source's expected sequence) and frees its slot.
  void release(Source& s, Entry& e) noexcept {
    const std::span<const std::byte> f(storage_.get() + std::size_t{e.slot} * cfg_.slot_bytes, e.size);
    deliver(e.line, f);
    free_[free_count_++] = e.slot;
    e.slot = kNoSlot;
    --s.pending;
  }

  // Sequences up to `end` (exclusive) are known to exist: a hole opens if they pass expected.
  void open_hole(std::uint8_t source, std::uint64_t end, std::uint64_t now_ns) noexcept {
    Source& s = src_[source];
    if (end <= s.seen_end) return;
    if (s.seen_end <= s.next) {  // no hole was open: this one starts now
      s.hole_since_ns = now_ns;
      open_bits_[source / 64] |= std::uint64_t{1} << (source % 64);
    }
    s.seen_end = end;
  }

  // After `next` moved: delivers buffered frames that continue the sequence, then closes the
  // source's hole or restarts its clock (a new hole heads the queue).
  void settle(std::uint8_t source, std::uint64_t now_ns) noexcept {
    Source& s = src_[source];
    while (s.pending != 0) {
      Entry& e = entry(source, s.next);
      if (e.slot == kNoSlot || e.seq != s.next) break;
      release(s, e);
      ++s.next;
    }
    if (s.next >= s.seen_end) {
      s.seen_end = s.next;
      open_bits_[source / 64] &= ~(std::uint64_t{1} << (source % 64));
    } else {
      s.hole_since_ns = now_ns;
    }
  }

  // Gives up on the source's holes before its last buffered frame: delivers everything buffered,
  // in order, holes counted as gaps.
  void deliver_buffered(std::uint8_t source) noexcept {
    while (src_[source].pending != 0) {
      skip_to(source, first_pending(source));
      settle(source, 0);
    }
  }

  // A new epoch: delivers what the old one left buffered (its holes are gaps), then the sequence
  // starts after the heartbeat's last_sequence.
  void restart(std::uint8_t source, const protocol::Heartbeat& hb) noexcept {
    Source& s = src_[source];
    deliver_buffered(source);
    if (s.seen_end > s.next) skip_to(source, s.seen_end);  // the old epoch's tail hole
    ++c_.restarts;
    s.prev_epoch = s.epoch;
    s.prev_epoch_known = true;
    s.epoch = hb.epoch;
    s.known = true;
    s.next = s.seen_end = after(hb.last_sequence);
    s.lost_end = 0;
    s.hb_seen = false;
    open_bits_[source / 64] &= ~(std::uint64_t{1} << (source % 64));
  }

  // Smallest buffered sequence (pending != 0, all buffered entries lie in [next, next + window)).
  std::uint64_t first_pending(std::uint8_t source) const noexcept {
    const Source& s = src_[source];
    for (std::uint64_t i = 0; i < cfg_.window; ++i) {  // by offset: next + window may pass 2^64
      const std::uint64_t q = s.next + i;
      const Entry& e = entry(source, q);
      if (e.slot != kNoSlot && e.seq == q) return q;
    }
    return s.next;  // unreachable while pending != 0
  }

  // Moves `next` up to `target`, delivering buffered frames on the way and counting the holes.
  void skip_to(std::uint8_t source, std::uint64_t target) noexcept {
    Source& s = src_[source];
    // A hole declared in pieces (window slid one frame at a time) is still one gap event.
    bool in_hole = s.lost_end != 0 && s.next == s.lost_end;
    while (s.next < target) {
      if (s.pending == 0) {
        if (!in_hole) ++c_.gaps;
        c_.missing += target - s.next;
        s.next = target;
        s.lost_end = target;
        break;
      }
      Entry& e = entry(source, s.next);
      if (e.slot != kNoSlot && e.seq == s.next) {
        release(s, e);
        in_hole = false;
      } else {
        if (!in_hole) ++c_.gaps;
        in_hole = true;
        ++c_.missing;
        s.lost_end = s.next + 1;
      }
      ++s.next;
    }
  }

  ArbiterConfig cfg_;
  Sink& sink_;
  std::array<Source, 256> src_{};
  std::array<std::uint64_t, 4> open_bits_{};     // sources with an open hole (seen_end > next)
  std::vector<Entry> entries_;                   // 256 × window
  std::unique_ptr<std::byte[]> storage_;         // slots × slot_bytes
  std::vector<std::uint32_t> free_;              // free slot stack
  std::uint32_t free_count_ = 0;
  ArbiterCounters c_{};
};

}  // namespace torq::nic
