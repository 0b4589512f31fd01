// tests/faults/udp_loss_scenario.hpp — the UDP loss scenarios shared by the loopback tests (no
// root; loss injected in user space by LossyWire) and the network-namespace tests (loss injected
// by `tc netem` on a veth, or by LossyWire when the kernel has no netem).
//
// Owns: LossyWire (seeded drop / duplicate / reorder between a publisher and the socket),
// run_single_line() (publisher -> UDP -> UdpSubscriber -> mycelium::Relay, with the ground truth
// recorded on both sides and every relay counter checked against it), run_ab_lines() (one
// publisher sending every frame on two UDP lines -> nic::RxPipeline with A/B arbitration: exactly
// once for every frame seen on either line, gaps only for frames lost on both), and the result
// structs the tests print.
// Thread-safety: the scenario functions own their threads (the optional receiver thread joins
// before they return). Allocation: yes (test code).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <set>
#include <thread>
#include <vector>

#include "fault_util.hpp"
#include "torq/mycelium/heartbeat.hpp"
#include "torq/mycelium/relay.hpp"
#include "torq/mycelium/socket_transport.hpp"
#include "torq/nic/rx_pipeline.hpp"

namespace torq::faults {

inline std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

// Impairs a stream of frames before they reach a publisher. Each frame is, by a seeded draw,
// dropped, sent and also duplicated later, held back and sent after `depth` later frames
// (reordered), or sent as is. The counts are the sender-side ground truth.
class LossyWire {
 public:
  struct Config {
    std::uint32_t loss_pm = 50;      // per mille
    std::uint32_t dup_pm = 10;
    std::uint32_t reorder_pm = 50;
    std::uint32_t depth = 8;         // a held frame is released after this many later frames
    std::uint64_t seed = 1;
  };
  explicit LossyWire(const Config& c) : cfg_(c), rng_(c.seed) {}

  template <class Pub>
  void send(Pub& pub, std::span<const std::byte> frame) {
    ++frames_in_;
    release_due(pub);
    const std::uint64_t r = rng_.below(1000);
    if (r < cfg_.loss_pm) {
      ++dropped_;
      return;
    }
    if (r < cfg_.loss_pm + cfg_.dup_pm) {
      ++duplicated_;
      put(pub, frame);
      held_.push_back({{frame.begin(), frame.end()}, frames_in_ + cfg_.depth});
      return;
    }
    if (r < cfg_.loss_pm + cfg_.dup_pm + cfg_.reorder_pm) {
      ++reordered_;
      held_.push_back({{frame.begin(), frame.end()}, frames_in_ + cfg_.depth});
      return;
    }
    put(pub, frame);
  }
  template <class Pub>
  void drain(Pub& pub) {
    for (auto& h : held_) put(pub, h.bytes);
    held_.clear();
  }

  std::uint64_t frames_in() const { return frames_in_; }
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t duplicated() const { return duplicated_; }
  std::uint64_t reordered() const { return reordered_; }
  std::uint64_t datagrams_out() const { return out_; }

 private:
  struct Held {
    std::vector<std::byte> bytes;
    std::uint64_t release_at;
  };
  template <class Pub>
  void put(Pub& pub, std::span<const std::byte> f) {
    while (pub.try_publish(f) == mycelium::PublishResult::would_block) std::this_thread::yield();
    ++out_;
  }
  template <class Pub>
  void release_due(Pub& pub) {
    for (std::size_t i = 0; i < held_.size();) {
      if (held_[i].release_at <= frames_in_) {
        put(pub, held_[i].bytes);
        held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }
  Config cfg_;
  Rng rng_;
  std::vector<Held> held_;
  std::uint64_t frames_in_ = 0, dropped_ = 0, duplicated_ = 0, reordered_ = 0, out_ = 0;
};

// How a scenario drives the wire.
struct ScenarioEnv {
  bool receiver_thread = false;               // receive on a second thread (netns) or inline (loopback)
  std::uint64_t pace_ns = 0;                  // minimum spacing of data frames (0: full speed)
  std::function<bool()> impair_on;            // e.g. install netem; false: cannot (test skips)
  std::function<void()> impair_off;           // e.g. remove netem
  LossyWire* wire = nullptr;                  // user-space impairment (line 0), or null
  LossyWire* wire_b = nullptr;                // user-space impairment of line 1 (A/B)
  std::uint64_t arbiter_timeout_ns = 50'000'000;  // A/B: idle time after which a hole is declared lost
};

// ---- single line into a Relay --------------------------------------------------------------

struct SingleLineResult {
  bool skipped = false;
  std::uint64_t sent = 0;             // data frames published (sender side)
  std::uint64_t arrivals = 0;         // data datagrams that reached the subscriber (dups included)
  std::uint64_t distinct = 0;         // distinct sequences that arrived
  std::uint64_t lost = 0;             // sent - distinct
  std::uint64_t forwarded = 0;        // data frames the relay forwarded
  std::uint64_t kernel_drops = 0;
  mycelium::SequenceCounters seq{};   // the relay tracker's counters for the source
  mycelium::RelayStats relay{};
  std::uint64_t late_by_order = 0;    // forwarded frames below an earlier forwarded one
};

inline void print(const char* name, const SingleLineResult& r) {
  std::printf(
      "[faults] %s: sent=%llu arrivals=%llu distinct=%llu lost=%llu forwarded=%llu gaps=%llu missing=%llu "
      "late=%llu duplicates=%llu stale=%llu kernel_drops=%llu\n",
      name, (unsigned long long)r.sent, (unsigned long long)r.arrivals, (unsigned long long)r.distinct,
      (unsigned long long)r.lost, (unsigned long long)r.forwarded, (unsigned long long)r.seq.gaps,
      (unsigned long long)r.seq.missing, (unsigned long long)r.seq.late, (unsigned long long)r.seq.duplicates,
      (unsigned long long)r.seq.stale, (unsigned long long)r.kernel_drops);
}

namespace detail {

struct Capture {
  std::vector<std::uint64_t>* seqs;
  std::uint64_t* bad;
  std::uint8_t source;
  mycelium::PublishResult try_publish(std::span<const std::byte> f) noexcept {
    if (is_system(f)) return mycelium::PublishResult::ok;
    const auto h = header_of(f);
    if (!frame_matches(f, source, h.sequence)) ++*bad;
    seqs->push_back(h.sequence);
    return mycelium::PublishResult::ok;
  }
};

template <class Pred>
inline bool wait_for(Pred&& p, std::chrono::milliseconds limit, const std::function<void()>& step) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!p()) {
    if (std::chrono::steady_clock::now() > until) return false;
    step();
  }
  return true;
}

inline void pace_until(std::uint64_t t) {
  while (now_ns() < t) {
  }
}

}  // namespace detail

// Publishes `n` data frames from `source` (preceded and followed by heartbeats) through `pub` to
// `sub`; the subscriber's frames go through a Relay. Checks every relay counter against what
// actually arrived, and returns the numbers.
inline SingleLineResult run_single_line(mycelium::UdpPublisher& pub, mycelium::UdpSubscriber& sub, std::uint64_t n,
                                        const ScenarioEnv& env, std::uint8_t source = 7) {
  SingleLineResult res;
  mycelium::Relay<detail::Capture> relay(mycelium::RelayConfig{});
  std::vector<std::uint64_t> forwarded, raw;
  std::uint64_t bad = 0;
  relay.add_output(detail::Capture{&forwarded, &bad, source});
  std::atomic<std::uint64_t> raw_count{0}, hb_count{0}, final_hb{0};
  std::atomic<bool> stop{false};

  auto handle = [&](std::span<const std::byte> f) noexcept {
    if (is_system(f)) {
      const auto r = protocol::parse_frame(f);
      const auto hb = r.ok() ? mycelium::heartbeat_of(r.view) : std::nullopt;
      if (hb && hb->last_sequence == n && n > 0) final_hb.store(1, std::memory_order_release);
      hb_count.fetch_add(1, std::memory_order_release);
    } else {
      raw.push_back(header_of(f).sequence);
      raw_count.fetch_add(1, std::memory_order_release);
    }
    (void)relay.on_frame(f);
  };
  auto poll_once = [&] {
    if (sub.poll(handle, 64) == 0) std::this_thread::yield();
  };
  std::thread rx;
  if (env.receiver_thread) {
    rx = std::thread([&] {
      while (!stop.load(std::memory_order_acquire)) poll_once();
      for (int i = 0; i < 100; ++i) (void)sub.poll(handle, 64);
    });
  }
  // In inline mode the sender polls; in thread mode it just waits.
  const std::function<void()> step = env.receiver_thread ? std::function<void()>([] { std::this_thread::sleep_for(std::chrono::microseconds(200)); })
                                                         : std::function<void()>(poll_once);
  auto finish = [&] {
    stop.store(true, std::memory_order_release);
    if (rx.joinable()) rx.join();
  };

  mycelium::Sequencer seq(source, 1);
  std::array<std::byte, mycelium::kHeartbeatFrameSize> hb{};
  // 1. Announce the source (heartbeat) over the clean link until it arrives.
  const bool announced = detail::wait_for([&] { return hb_count.load(std::memory_order_acquire) > 0; },
                                          std::chrono::milliseconds(3000), [&] {
                                            (void)pub.try_publish(seq.build_heartbeat(hb, now_ns()));
                                            for (int i = 0; i < 10; ++i) step();
                                          });
  if (!announced) {
    finish();
    ADD_FAILURE() << "the first heartbeat never arrived over the clean link";
    return res;
  }
  // 2. Impair the link, send the data frames.
  if (env.impair_on && !env.impair_on()) {
    finish();
    res.skipped = true;
    return res;
  }
  std::uint64_t t = now_ns();
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto f = make_frame(source, seq.next_sequence());
    if (env.pace_ns) detail::pace_until(t += env.pace_ns);
    if (env.wire) {
      env.wire->send(pub, f);
    } else {
      while (pub.try_publish(f) == mycelium::PublishResult::would_block) std::this_thread::yield();
    }
    if (!env.receiver_thread && (i % 64) == 63) {
      const std::uint64_t expect = env.wire ? env.wire->datagrams_out() : i + 1;
      (void)detail::wait_for([&] { return raw_count.load() >= expect; }, std::chrono::milliseconds(2000), step);
    }
  }
  if (env.wire) env.wire->drain(pub);
  res.sent = n;
  // 3. Heartbeats (through the impaired link) until one carrying last_sequence = n arrives: it
  // reveals a tail loss. Then a quiet period lets delayed (netem) frames land.
  const bool closed = detail::wait_for([&] { return final_hb.load(std::memory_order_acquire) != 0; },
                                       std::chrono::milliseconds(5000), [&] {
                                         (void)pub.try_publish(seq.build_heartbeat(hb, now_ns()));
                                         for (int i = 0; i < 10; ++i) step();
                                       });
  if (env.receiver_thread) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (int i = 0; i < 50; ++i) step();
  finish();
  if (env.impair_off) env.impair_off();
  EXPECT_TRUE(closed) << "no closing heartbeat arrived";

  // Ground truth on the receiving side.
  std::set<std::uint64_t> distinct(raw.begin(), raw.end());
  res.arrivals = raw.size();
  res.distinct = distinct.size();
  res.lost = n - distinct.size();
  res.forwarded = forwarded.size();
  res.kernel_drops = sub.stats().kernel_drops;
  res.seq = relay.tracker().counters(source);
  res.relay = relay.stats();
  std::uint64_t hi = 0;
  for (const auto s : forwarded) {
    if (s < hi) ++res.late_by_order;
    hi = std::max(hi, s);
  }

  // Every forwarded frame is intact and forwarded once; what the relay forwarded is exactly what
  // arrived (no frame was reordered past the 256-sequence window, so nothing is stale).
  EXPECT_EQ(bad, 0u) << "forwarded frames with altered contents";
  std::set<std::uint64_t> fwd(forwarded.begin(), forwarded.end());
  EXPECT_EQ(fwd.size(), forwarded.size()) << "a frame was forwarded twice";
  EXPECT_EQ(res.seq.stale, 0u);
  EXPECT_TRUE(fwd == distinct) << "forwarded set differs from the arrived set";
  for (const auto s : distinct) EXPECT_TRUE(s >= 1 && s <= n) << "sequence out of range: " << s;
  // Loss accounting: frames counted missing at gaps, minus those that later arrived late, is the
  // number of frames that never arrived.
  EXPECT_EQ(res.seq.missing - res.seq.late, res.lost);
  EXPECT_LE(res.seq.gaps, res.seq.missing);
  if (res.lost > 0) {
    EXPECT_GT(res.seq.gaps, 0u);
  }
  // Duplicates: every extra copy that arrived was counted and dropped.
  EXPECT_EQ(res.seq.duplicates, res.arrivals - res.distinct);
  EXPECT_EQ(res.relay.duplicates, res.arrivals - res.distinct);
  // Out of order (policy: forward_late = true): late frames are forwarded, after higher ones.
  EXPECT_EQ(res.seq.late, res.late_by_order);
  EXPECT_EQ(res.seq.accepted, res.distinct);
  EXPECT_EQ(res.relay.malformed, 0u);

  // The other documented policy (forward_late = false), replaying the same arrivals: strictly
  // increasing output, late frames dropped and counted.
  {
    mycelium::RelayConfig c;
    c.forward_late = false;
    mycelium::Relay<detail::Capture> strict(c);
    std::vector<std::uint64_t> out;
    std::uint64_t bad2 = 0;
    strict.add_output(detail::Capture{&out, &bad2, source});
    mycelium::Sequencer s0(source, 1);
    (void)strict.on_frame(s0.build_heartbeat(hb, 1));
    for (const auto q : raw) (void)strict.on_frame(make_frame(source, q));
    EXPECT_TRUE(std::is_sorted(out.begin(), out.end()) && std::adjacent_find(out.begin(), out.end()) == out.end());
    EXPECT_EQ(strict.stats().late_dropped, res.seq.late);
    EXPECT_EQ(out.size(), res.distinct - res.seq.late);
  }
  return res;
}

// ---- two lines into the A/B arbiter --------------------------------------------------------

struct AbResult {
  bool skipped = false;
  std::uint64_t sent = 0;           // frames published (each on both lines)
  std::uint64_t on_a = 0, on_b = 0; // distinct frames that arrived on each line
  std::uint64_t on_either = 0;      // union
  std::uint64_t on_neither = 0;     // lost on both lines
  std::uint64_t expected_gaps = 0;  // maximal runs of sequences lost on both lines
  nic::ArbiterCounters arb{};
};

inline void print(const char* name, const AbResult& r) {
  std::printf(
      "[faults] %s: sent=%llu lineA=%llu lineB=%llu either=%llu neither=%llu delivered=%llu duplicates=%llu "
      "gaps=%llu (expected %llu) missing=%llu timeouts=%llu first_from A=%llu B=%llu\n",
      name, (unsigned long long)r.sent, (unsigned long long)r.on_a, (unsigned long long)r.on_b,
      (unsigned long long)r.on_either, (unsigned long long)r.on_neither, (unsigned long long)r.arb.delivered,
      (unsigned long long)r.arb.duplicates, (unsigned long long)r.arb.gaps, (unsigned long long)r.expected_gaps,
      (unsigned long long)r.arb.missing, (unsigned long long)r.arb.timeouts, (unsigned long long)r.arb.first_from[0],
      (unsigned long long)r.arb.first_from[1]);
}

namespace detail {
struct AbSink {
  std::vector<std::uint64_t> seqs;
  std::uint64_t bad = 0;
  std::uint8_t source = 0;
  void on_frame(std::span<const std::byte> f) noexcept {
    const auto h = header_of(f);
    if (!frame_matches(f, source, h.sequence)) ++bad;
    seqs.push_back(h.sequence);
  }
};
}  // namespace detail

// Sends `warm` clean frames, then `n` frames on both lines with the impairment on, then `tail`
// clean frames; line i is read by subs[i] and fed to an arbitrating RxPipeline (the kernel UDP
// entry point on_datagram, as KernelUdpRx does).
inline AbResult run_ab_lines(mycelium::UdpPublisher& pa, mycelium::UdpPublisher& pb, mycelium::UdpSubscriber& sa,
                             mycelium::UdpSubscriber& sb, std::uint64_t n, const ScenarioEnv& env,
                             std::uint8_t source = 9) {
  constexpr std::uint64_t warm = 16, tail = 16;
  AbResult res;
  detail::AbSink sink;
  sink.source = source;
  nic::RxPipelineConfig pc;
  pc.lines = 2;
  pc.arbitrate = true;
  pc.arbiter.window = 1024;
  pc.arbiter.slots = 2048;
  pc.arbiter.timeout_ns = env.arbiter_timeout_ns;
  nic::RxPipeline<detail::AbSink> pipe(pc, sink);
  std::vector<std::uint64_t> raw[2];
  std::atomic<std::uint64_t> got[2]{};
  std::atomic<bool> stop{false};

  auto poll_lines = [&] {
    std::size_t k = 0;
    // One datagram per line per turn keeps the lines in step, as two NIC queues polled in turn.
    for (int line = 0; line < 2; ++line) {
      auto& sub = line == 0 ? sa : sb;
      k += sub.poll(
          [&](std::span<const std::byte> f) noexcept {
            raw[line].push_back(header_of(f).sequence);
            pipe.on_datagram(static_cast<std::size_t>(line), f, now_ns());
            got[line].fetch_add(1, std::memory_order_release);
          },
          1);
    }
    if (k == 0) {
      pipe.expire(now_ns());  // idle path only
      std::this_thread::yield();
    }
  };
  std::thread rx;
  if (env.receiver_thread) {
    rx = std::thread([&] {
      while (!stop.load(std::memory_order_acquire)) poll_lines();
      for (int i = 0; i < 100; ++i) poll_lines();
    });
  }
  const std::function<void()> step = env.receiver_thread ? std::function<void()>([] { std::this_thread::sleep_for(std::chrono::microseconds(200)); })
                                                         : std::function<void()>(poll_lines);
  auto finish = [&] {
    stop.store(true, std::memory_order_release);
    if (rx.joinable()) rx.join();
  };
  auto send_both = [&](std::uint64_t q, bool impaired) {
    const auto f = make_frame(source, q);
    if (impaired && env.wire) {
      env.wire->send(pa, f);
      env.wire_b->send(pb, f);
      return;
    }
    while (pa.try_publish(f) == mycelium::PublishResult::would_block) std::this_thread::yield();
    while (pb.try_publish(f) == mycelium::PublishResult::would_block) std::this_thread::yield();
  };
  auto sent_on = [&](int line, std::uint64_t clean) {
    LossyWire* w = line == 0 ? env.wire : env.wire_b;
    return w ? w->datagrams_out() + clean : clean;
  };

  for (std::uint64_t q = 1; q <= warm; ++q) send_both(q, false);
  if (!detail::wait_for([&] { return got[0].load() >= warm && got[1].load() >= warm; }, std::chrono::milliseconds(3000), step)) {
    finish();
    ADD_FAILURE() << "warm-up frames did not arrive on both clean lines";
    return res;
  }
  if (env.impair_on && !env.impair_on()) {
    finish();
    res.skipped = true;
    return res;
  }
  std::uint64_t t = now_ns();
  for (std::uint64_t i = 0; i < n; ++i) {
    if (env.pace_ns) detail::pace_until(t += env.pace_ns);
    send_both(warm + 1 + i, true);
    if (!env.receiver_thread && (i % 64) == 63) {
      (void)detail::wait_for([&] { return got[0].load() >= sent_on(0, warm) && got[1].load() >= sent_on(1, warm); },
                             std::chrono::milliseconds(2000), step);
    }
  }
  if (env.wire) {
    env.wire->drain(pa);
    env.wire_b->drain(pb);
  }
  if (env.receiver_thread) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // netem queue drains
  if (env.impair_off) env.impair_off();
  const std::uint64_t last = warm + n + tail;
  for (std::uint64_t q = warm + n + 1; q <= last; ++q) send_both(q, false);
  const bool tail_seen = detail::wait_for(
      [&] { return got[0].load() >= sent_on(0, warm + tail) && got[1].load() >= sent_on(1, warm + tail); },
      std::chrono::milliseconds(5000), step);
  finish();
  pipe.flush();
  EXPECT_TRUE(tail_seen) << "the clean tail frames did not arrive on both lines";
  res.sent = last;

  // Expectation from what each line actually delivered.
  const std::set<std::uint64_t> a(raw[0].begin(), raw[0].end()), b(raw[1].begin(), raw[1].end());
  std::set<std::uint64_t> either = a;
  either.insert(b.begin(), b.end());
  res.on_a = a.size();
  res.on_b = b.size();
  res.on_either = either.size();
  res.on_neither = last - either.size();
  bool in_hole = false;
  for (std::uint64_t q = 1; q <= last; ++q) {
    const bool lost = either.count(q) == 0;
    if (lost && !in_hole) ++res.expected_gaps;
    in_hole = lost;
  }
  res.arb = pipe.arbiter()->counters();

  EXPECT_EQ(sink.bad, 0u);
  EXPECT_TRUE(std::is_sorted(sink.seqs.begin(), sink.seqs.end()) &&
              std::adjacent_find(sink.seqs.begin(), sink.seqs.end()) == sink.seqs.end())
      << "delivery not strictly increasing";
  const std::set<std::uint64_t> delivered(sink.seqs.begin(), sink.seqs.end());
  EXPECT_TRUE(delivered == either) << "delivered " << delivered.size() << " distinct, seen on a line " << either.size();
  EXPECT_EQ(res.arb.delivered, res.on_either);
  EXPECT_EQ(res.arb.missing, res.on_neither);
  EXPECT_EQ(res.arb.gaps, res.expected_gaps);
  EXPECT_EQ(res.arb.duplicates, raw[0].size() + raw[1].size() - res.on_either);
  EXPECT_EQ(res.arb.first_from[0] + res.arb.first_from[1], res.arb.delivered);
  EXPECT_EQ(pipe.counters().bad_frames(), 0u);
  return res;
}

}  // namespace torq::faults
