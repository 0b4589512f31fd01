// bench/ring/bench_ring.cpp — throughput and one-way latency of torq::ring::SpscProducer/Consumer
// against DPDK rte_ring (SP/SC, pointers to frames in a slab) and boost::lockfree::spsc_queue
// (fixed-size frame structs), with 64- and 256-byte frames, cross-core, pinned. Throughput twice:
// one message per publication (every peer), and batches of 32 (torq_ring SpscProducer::Batch,
// rte_ring_sp_enqueue_burst, boost push of an array: what a poll loop that receives bursts does);
// the batched peers also in one thread (send 32, poll 32: the calls' cost without line transfers).
// torq_ring is SpscProducer::try_publish of a frame built aside (what torqd's producers do),
// torq_ring_claim the frame written in place (try_claim, front to back, commit). One-way latency
// also for the hardware's floor (one cache line, one store, one load; with and without CLDEMOTE):
// the ratios against it say what each queue adds to the host's own hand-off. Every start stamp is
// read before the first store into the queue's memory (the frame's slab for rte_ring).
// Prints one JSON document on stdout.
// Usage: bench_ring [--quick] [--frames N] [--samples N] [--runs N] [--torq-ring-bytes N] [--consumer-idle spin|pause]
#include <boost/lockfree/spsc_queue.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <immintrin.h>

#include "torq/bench/args.hpp"
#include "torq/bench/latency.hpp"
#include "torq/hw/tsc.hpp"
#include "torq/ring/spsc_ring.hpp"

#if defined(TORQ_HAVE_DPDK)
#include <rte_ring.h>
#endif

namespace {

using torq::bench::JsonObject;
using torq::bench::LatencyRecorder;
using torq::hw::rdtsc;

constexpr std::size_t kBurst = 32;
// --consumer-idle pause: an empty poll is followed by one pause instruction, as torqd's consumer
// loops do (mycelium::BusySpinIdle); spin (the default): the consumer polls again at once.
bool g_pause_when_empty = false;

template <std::size_t N>
struct alignas(8) Frame {
  std::uint64_t seq;
  std::uint64_t tsc;
  std::byte body[N - 16];
};
static_assert(sizeof(Frame<64>) == 64 && sizeof(Frame<256>) == 256);

template <std::size_t N>
Frame<N> make_template() {
  Frame<N> f{};
  for (std::size_t i = 0; i < N - 16; ++i) f.body[i] = static_cast<std::byte>(i);
  return f;
}

// ---- peers: try_send(seq, tsc) -> bool; poll(fn(seq, tsc)) -> count ----

// How TorqPeer sends one frame: publish = SpscProducer::try_publish of a frame built on the stack
// (what torqd's producers do; the ring writes the header's cache line last), claim = try_claim,
// the frame copied in front to back, commit() (the header's line is written first and last), batch
// = kBurst frames built in place through one SpscProducer::Batch (send_batch): throughput only.
enum class TorqMode { publish, claim, batch };

template <std::size_t N, TorqMode Mode = TorqMode::publish>
class TorqPeer {
 public:
  explicit TorqPeer(std::uint64_t capacity) {
    bytes_ = torq::ring::RingRegion::bytes_for(capacity);
    mem_ = static_cast<std::byte*>(::operator new(bytes_, std::align_val_t{4096}));
    std::memset(mem_, 0, bytes_);
    region_ = torq::ring::RingRegion::format(mem_, bytes_, capacity).value;
    prod_ = std::move(torq::ring::SpscProducer::attach(region_).value);
    cons_ = std::move(torq::ring::SpscConsumer::attach(region_).value);
    tmpl_ = make_template<N>();
  }
  ~TorqPeer() {
    prod_.detach();
    cons_.detach();
    ::operator delete(mem_, std::align_val_t{4096});
  }
  static const char* name() {
    switch (Mode) {
      case TorqMode::publish: return "torq_ring";
      case TorqMode::claim: return "torq_ring_claim";
      case TorqMode::batch: return "torq_ring_publish_every_32";
    }
    return "";
  }
  bool try_send(std::uint64_t seq, std::uint64_t tsc) noexcept
    requires(Mode != TorqMode::batch)
  {
    return send(seq, [tsc] { return tsc; });
  }
  // Frames seq .. seq+n-1 (as many as fit), one publication; returns how many were sent.
  std::uint64_t send_batch(std::uint64_t seq, std::uint64_t n) noexcept
    requires(Mode == TorqMode::batch)
  {
    auto b = prod_.batch();
    std::uint64_t k = 0;
    for (; k < n; ++k) {
      auto span = b.try_claim(N);
      if (span.empty()) break;
      std::memcpy(span.data(), &tmpl_, N);
      const std::uint64_t h[2] = {seq + k, 0};
      std::memcpy(span.data(), h, 16);
      b.commit(N);
    }
    return k;
  }
  void finish() noexcept { prod_.flush(); }
  bool try_send_stamped(std::uint64_t seq) noexcept {  // batch: not called (throughput only)
    return send(seq, [] { return rdtsc(); });
  }
  template <class F>
  std::size_t poll(F&& fn) noexcept {
    return cons_.consume_burst(
        [&](std::span<const std::byte> r) {
          std::uint64_t h[2];
          std::memcpy(h, r.data(), 16);
          fn(h[0], h[1], r.data()[N - 1]);
        },
        kBurst);
  }

 private:
  // One frame; stamp() is read before the first store into the ring (publish: the frame is built
  // on the stack first, as boost's is).
  template <class Stamp>
  bool send(std::uint64_t seq, Stamp stamp) noexcept {
    if constexpr (Mode == TorqMode::publish) {
      Frame<N> f = tmpl_;
      f.seq = seq;
      f.tsc = stamp();
      return prod_.try_publish(std::as_bytes(std::span(&f, 1))) == torq::ring::PublishResult::ok;
    } else {
      const std::uint64_t tsc = stamp();
      auto span = prod_.try_claim(N);
      if (span.empty()) return false;
      std::memcpy(span.data(), &tmpl_, N);
      const std::uint64_t h[2] = {seq, tsc};
      std::memcpy(span.data(), h, 16);
      prod_.commit();
      return true;
    }
  }

  std::byte* mem_ = nullptr;
  std::size_t bytes_ = 0;
  torq::ring::RingRegion region_;
  torq::ring::SpscProducer prod_;
  torq::ring::SpscConsumer cons_;
  Frame<N> tmpl_;
};

// The hardware's floor for a one-way hand-off through shared memory: one 64-byte line that the
// producer stores {tsc, seq} into and the consumer polls; a second line, written by the consumer,
// acknowledges each message (read by the producer before its next stamp, which waits for that
// load: not timed). Whatever a queue adds to one message's latency is above this. {tsc, seq} go
// in one 16-byte store (single-copy atomic on CPUs with AVX). Demote = true adds CLDEMOTE after it
// (a hint to move the line to the shared L3, so that the consumer's miss is served there instead
// of by a snoop of the producer's core; a NOP on CPUs without it).
template <bool Demote>
class LineFloor {
 public:
  static const char* name() { return Demote ? "cache_line_floor_cldemote" : "cache_line_floor"; }
  bool try_send_stamped(std::uint64_t seq) noexcept {
    if (ack_.v.load(std::memory_order_acquire) != seq) return false;  // previous one not read yet
    // rdtscp: the stamp waits for the acknowledgement's load (a miss), which is not timed.
    const auto tsc = static_cast<long long>(torq::hw::rdtscp());
    const __m128i v = _mm_set_epi64x(static_cast<long long>(seq + 1), tsc);
    std::atomic_signal_fence(std::memory_order_seq_cst);  // the stamp is taken before the store
    _mm_store_si128(reinterpret_cast<__m128i*>(line_.w), v);
    if constexpr (Demote) demote(&line_);
    return true;
  }
  template <class F>
  std::size_t poll(F&& fn) noexcept {
    const std::uint64_t s = std::atomic_ref<std::uint64_t>(line_.w[1]).load(std::memory_order_acquire);
    if (s == seen_) return 0;
    seen_ = s;
    fn(s - 1, std::atomic_ref<std::uint64_t>(line_.w[0]).load(std::memory_order_relaxed), std::byte{0});
    ack_.v.store(s, std::memory_order_release);
    return 1;
  }

 private:
  __attribute__((target("cldemote"))) static void demote(const void* p) noexcept {
    _cldemote(const_cast<void*>(p));
  }
  struct alignas(128) Line {
    std::uint64_t w[2] = {0, 0};  // [0] tsc, [1] seq + 1
  };
  struct alignas(128) Ack {
    std::atomic<std::uint64_t> v{0};
  };
  Line line_;
  Ack ack_;
  std::uint64_t seen_ = 0;  // consumer's
};

// Batched = true pushes every kBurst frames as one array (push(const T*, n)): throughput only.
template <std::size_t N, bool Batched = false>
class BoostPeer {
 public:
  explicit BoostPeer(std::size_t slots) : q_(std::make_unique<Queue>()), tmpl_(make_template<N>()) { (void)slots; }
  static const char* name() { return Batched ? "boost_spsc_queue_push_every_32" : "boost_spsc_queue"; }
  void finish() noexcept {
    if constexpr (Batched) {
      while (npend_ != 0) flush_pending();
    }
  }
  bool try_send(std::uint64_t seq, std::uint64_t tsc) noexcept {
    if constexpr (Batched) {
      if (npend_ == kBurst) {
        flush_pending();
        if (npend_ == kBurst) return false;
      }
      Frame<N>& f = pend_[npend_++];
      f = tmpl_;
      f.seq = seq;
      f.tsc = tsc;
      if (npend_ == kBurst) flush_pending();
      return true;
    } else {
      Frame<N> f = tmpl_;
      f.seq = seq;
      f.tsc = tsc;
      return q_->push(f);
    }
  }
  void flush_pending() noexcept {
    const std::size_t n = q_->push(pend_, npend_);
    if (n != 0 && n < npend_) std::memmove(static_cast<void*>(pend_), pend_ + n, (npend_ - n) * sizeof(Frame<N>));
    npend_ -= n;
  }
  bool try_send_stamped(std::uint64_t seq) noexcept {
    Frame<N> f = tmpl_;
    f.seq = seq;
    f.tsc = rdtsc();
    return q_->push(f);
  }
  template <class F>
  std::size_t poll(F&& fn) noexcept {
    std::size_t n = 0;
    // consume_all reads the elements in place (no copy out), like the other peers.
    n = q_->consume_all([&](const Frame<N>& f) { fn(f.seq, f.tsc, f.body[N - 17]); });
    return n;
  }

 private:
  using Queue = boost::lockfree::spsc_queue<Frame<N>, boost::lockfree::capacity<4096>>;
  std::unique_ptr<Queue> q_;
  Frame<N> tmpl_;
  Frame<N> pend_[Batched ? kBurst : 1];
  std::size_t npend_ = 0;
};

#if defined(TORQ_HAVE_DPDK)
// Batched = true enqueues every kBurst frame pointers with rte_ring_sp_enqueue_burst: throughput only.
template <std::size_t N, bool Batched = false>
class RteRingPeer {
 public:
  explicit RteRingPeer(unsigned slots) : slab_mask_(2 * slots - 1) {
    const ssize_t sz = rte_ring_get_memsize(slots);
    ring_mem_ = ::operator new(static_cast<std::size_t>(sz), std::align_val_t{128});
    ring_ = static_cast<rte_ring*>(ring_mem_);
    ok_ = rte_ring_init(ring_, "bench", slots, RING_F_SP_ENQ | RING_F_SC_DEQ) == 0;
    slab_.reset(new Frame<N>[2 * slots]);  // twice the ring: a slot is never rewritten while queued
    tmpl_ = make_template<N>();
  }
  ~RteRingPeer() { ::operator delete(ring_mem_, std::align_val_t{128}); }
  [[nodiscard]] bool ok() const { return ok_; }
  static const char* name() { return Batched ? "dpdk_rte_ring_enqueue_burst_32" : "dpdk_rte_ring"; }
  void finish() noexcept {
    if constexpr (Batched) {
      while (npend_ != 0) flush_pending();
    }
  }
  bool try_send(std::uint64_t seq, std::uint64_t tsc) noexcept {
    if constexpr (Batched) {
      if (npend_ == kBurst) {
        flush_pending();
        if (npend_ == kBurst) return false;
      }
      Frame<N>* f = &slab_[seq & slab_mask_];  // the slab holds 2x the ring: never a queued slot
      *f = tmpl_;
      f->seq = seq;
      f->tsc = tsc;
      pend_[npend_++] = f;
      if (npend_ == kBurst) flush_pending();
      return true;
    } else {
      if (rte_ring_full(ring_)) return false;
      Frame<N>* f = &slab_[seq & slab_mask_];
      *f = tmpl_;
      f->seq = seq;
      f->tsc = tsc;
      return rte_ring_sp_enqueue(ring_, f) == 0;
    }
  }
  void flush_pending() noexcept {
    const unsigned n = rte_ring_sp_enqueue_burst(ring_, pend_, npend_, nullptr);
    if (n != 0 && n < npend_) std::memmove(pend_, pend_ + n, (npend_ - n) * sizeof(void*));
    npend_ -= n;
  }
  bool try_send_stamped(std::uint64_t seq) noexcept {
    if (rte_ring_full(ring_)) return false;
    const std::uint64_t tsc = rdtsc();  // before the frame is written, as every peer
    Frame<N>* f = &slab_[seq & slab_mask_];
    *f = tmpl_;
    f->seq = seq;
    f->tsc = tsc;
    return rte_ring_sp_enqueue(ring_, f) == 0;
  }
  template <class F>
  std::size_t poll(F&& fn) noexcept {
    void* objs[kBurst];
    const unsigned n = rte_ring_sc_dequeue_burst(ring_, objs, kBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) {
      const auto* f = static_cast<const Frame<N>*>(objs[i]);
      fn(f->seq, f->tsc, f->body[N - 17]);
    }
    return n;
  }

 private:
  void* ring_mem_ = nullptr;
  rte_ring* ring_ = nullptr;
  std::unique_ptr<Frame<N>[]> slab_;
  std::uint64_t slab_mask_;
  Frame<N> tmpl_;
  void* pend_[kBurst] = {};
  unsigned npend_ = 0;
  bool ok_ = false;
};
#endif

struct Cpus {
  int producer = -1;
  int consumer = -1;
};

// Start barrier for two threads.
struct Gate {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  void arrive_and_wait() {
    ready.fetch_add(1);
    while (!go.load(std::memory_order_acquire)) _mm_pause();
  }
  void open_when(int n) {
    while (ready.load() < n) std::this_thread::yield();
    go.store(true, std::memory_order_release);
  }
};

struct ThroughputResult {
  double msgs_per_sec = 0;
  std::uint64_t errors = 0;
};

template <class Peer>
ThroughputResult run_throughput(Peer& peer, std::uint64_t n, Cpus cpus, const torq::hw::TscClock& clock) {
  Gate gate;
  std::uint64_t t0 = 0, t1 = 0, errors = 0, sink = 0;
  std::thread consumer([&] {
    torq::bench::pin_and_warm(cpus.consumer, std::chrono::milliseconds(20));
    gate.arrive_and_wait();
    std::uint64_t expect = 0;
    while (expect < n) {
      const std::size_t got = peer.poll([&](std::uint64_t seq, std::uint64_t, std::byte last) {
        errors += seq != expect;
        sink += static_cast<std::uint64_t>(last);
        ++expect;
      });
      if (got == 0 && g_pause_when_empty) _mm_pause();
    }
    t1 = rdtsc();
  });
  std::thread producer([&] {
    torq::bench::pin_and_warm(cpus.producer, std::chrono::milliseconds(20));
    gate.arrive_and_wait();
    t0 = rdtsc();
    if constexpr (requires { peer.send_batch(0, 1); }) {
      for (std::uint64_t i = 0; i < n;) {
        const std::uint64_t k = peer.send_batch(i, std::min<std::uint64_t>(kBurst, n - i));
        if (k == 0) _mm_pause();
        i += k;
      }
    } else {
      for (std::uint64_t i = 0; i < n; ++i) {
        while (!peer.try_send(i, 0)) _mm_pause();
      }
    }
    peer.finish();
  });
  gate.open_when(2);
  producer.join();
  consumer.join();
  ThroughputResult r;
  const double ns = static_cast<double>(clock.to_ns(t1 - t0));
  r.msgs_per_sec = ns > 0 ? static_cast<double>(n) * 1e9 / ns : 0;
  r.errors = errors + (sink == 0xFFFFFFFFFFFFFFFFULL);
  return r;
}

// The producer sends one message every ~1 µs. When it falls behind that schedule (the host took
// one of the two cores away, or the queue filled while the consumer's core was away) it does not
// send the missed messages back to back: that burst would fill the queue and time the wait behind
// thousands of frames, not one hand-off; it resumes the schedule from now (`schedule_resets`).
// `full_retries` counts sends refused by a full queue (0 when nothing queued up).
struct PacingCounts {
  std::uint64_t schedule_resets = 0;
  std::uint64_t full_retries = 0;
};

template <class Peer>
torq::bench::LatencySummary run_latency(Peer& peer, std::uint64_t samples, std::uint64_t warmup, Cpus cpus,
                                        const torq::hw::TscClock& clock, std::uint64_t& errors, PacingCounts& pacing) {
  Gate gate;
  LatencyRecorder rec(samples);
  const std::uint64_t total = samples + warmup;
  const std::uint64_t gap = clock.hz() / 1'000'000;  // ~1 us between messages: no queueing
  std::thread consumer([&] {
    torq::bench::pin_and_warm(cpus.consumer, std::chrono::milliseconds(50));
    gate.arrive_and_wait();
    std::uint64_t expect = 0;
    while (expect < total) {
      const std::size_t got = peer.poll([&](std::uint64_t seq, std::uint64_t tsc, std::byte) {
        const std::uint64_t now = torq::hw::rdtscp();  // after the frame's loads, not before
        errors += seq != expect;
        if (seq >= warmup) rec.record_interval(tsc, now);
        ++expect;
      });
      if (got == 0 && g_pause_when_empty) _mm_pause();
    }
  });
  std::thread producer([&] {
    torq::bench::pin_and_warm(cpus.producer, std::chrono::milliseconds(50));
    gate.arrive_and_wait();
    std::uint64_t next = rdtsc();
    for (std::uint64_t i = 0; i < total; ++i) {
      next += gap;
      if (const std::uint64_t now = rdtsc(); now > next + 4 * gap) {
        next = now;
        ++pacing.schedule_resets;
      }
      while (rdtsc() < next) _mm_pause();
      while (!peer.try_send_stamped(i)) {
        ++pacing.full_retries;
        _mm_pause();
      }
    }
  });
  gate.open_when(2);
  producer.join();
  consumer.join();
  return rec.summarize(clock);
}

// One thread, no second core: kBurst frames sent, then polled, over and over; returns the median of
// `runs` runs in ns per frame. What each queue's calls cost without any cache-line transfer between
// cores (the batched peers only: every peer publishes kBurst frames at a time).
template <class Peer>
double run_single_thread(Peer& peer, std::uint64_t n, int cpu, const torq::hw::TscClock& clock,
                         std::uint64_t& errors) {
  if (cpu >= 0) torq::bench::pin_and_warm(cpu, std::chrono::milliseconds(5));
  std::uint64_t seq = 0, expect = 0, sink = 0;
  const std::uint64_t t0 = rdtsc();
  while (seq < n) {
    if constexpr (requires { peer.send_batch(0, 1); }) {
      seq += peer.send_batch(seq, kBurst);
    } else {
      for (std::size_t k = 0; k < kBurst; ++k) errors += !peer.try_send(seq++, 0);
    }
    while (expect < seq) {
      peer.poll([&](std::uint64_t s, std::uint64_t, std::byte last) {
        errors += s != expect;
        sink += static_cast<std::uint64_t>(last);
        ++expect;
      });
    }
  }
  const std::uint64_t t1 = rdtsc();
  errors += sink == 0xFFFFFFFFFFFFFFFFULL;
  return static_cast<double>(clock.to_ns(t1 - t0)) / static_cast<double>(n);
}

struct PeerReport {
  std::string name;
  std::size_t frame = 0;
  double best_mps = 0;
  double median_mps = 0;
  double single_thread_ns = 0;  // batched peers: run_single_thread
  torq::bench::LatencySummary lat;
  PacingCounts pacing;
  std::uint64_t errors = 0;
};

template <class Peer, class Make>
PeerReport measure(Make make, std::size_t frame, std::uint64_t frames, std::uint64_t samples, int runs, Cpus cpus,
                   const torq::hw::TscClock& clock, bool with_latency = true) {
  PeerReport r;
  r.name = Peer::name();
  r.frame = frame;
  std::vector<double> mps;
  for (int i = 0; i < runs; ++i) {
    auto peer = make();
    const ThroughputResult t = run_throughput(*peer, frames, cpus, clock);
    mps.push_back(t.msgs_per_sec);
    r.errors += t.errors;
  }
  std::sort(mps.begin(), mps.end());
  r.best_mps = mps.back();
  r.median_mps = mps[mps.size() / 2];
  if (!with_latency) {  // the batched peers: also their cost in one thread
    std::vector<double> ns;
    for (int i = 0; i < runs; ++i) {
      auto peer = make();
      std::thread t([&] { ns.push_back(run_single_thread(*peer, frames, cpus.consumer, clock, r.errors)); });
      t.join();  // a thread of its own: pinning it leaves the main thread's affinity alone
    }
    std::sort(ns.begin(), ns.end());
    r.single_thread_ns = ns[ns.size() / 2];
  }
  if (with_latency) {
    auto peer = make();
    r.lat = run_latency(*peer, samples, samples / 10, cpus, clock, r.errors, r.pacing);
  }
  return r;
}

// A latency-only peer (the cache-line floor): no throughput runs.
template <class Peer>
PeerReport measure_latency_only(std::size_t frame, std::uint64_t samples, Cpus cpus, const torq::hw::TscClock& clock) {
  PeerReport r;
  r.name = Peer::name();
  r.frame = frame;
  auto peer = std::make_unique<Peer>();
  r.lat = run_latency(*peer, samples, samples / 10, cpus, clock, r.errors, r.pacing);
  return r;
}

JsonObject report_json(const PeerReport& r) {
  JsonObject o;
  o.add("peer", r.name).add("frame_bytes", static_cast<std::uint64_t>(r.frame));
  if (r.median_mps > 0)
    o.add("throughput_msgs_per_sec_median", r.median_mps).add("throughput_msgs_per_sec_best", r.best_mps);
  if (r.single_thread_ns > 0) o.add("single_thread_ns_per_msg", r.single_thread_ns);
  if (r.lat.count > 0) {
    o.add("one_way_latency", torq::bench::to_json(r.lat));
    o.add("latency_schedule_resets", r.pacing.schedule_resets).add("latency_full_retries", r.pacing.full_retries);
  }
  o.add("sequence_errors", r.errors);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t frames = 10'000'000;
  std::uint64_t samples = 200'000;
  int runs = 3;
  std::uint64_t ring_bytes = 1 << 18;  // torq ring data area: 256 KiB, ~3640 64-byte frames
  torq::bench::ArgReader args(argc, argv,
                              "usage: bench_ring [--quick] [--frames N] [--samples N] [--runs N] [--torq-ring-bytes N]\n"
                              "                  [--consumer-idle spin|pause]");
  while (args.next()) {
    if (args.is("--quick")) {
      frames = 1'000'000;
      samples = 20'000;
      runs = 1;
    } else if (args.is("--frames")) {
      frames = args.u64(1, 10'000'000'000);
    } else if (args.is("--samples")) {
      samples = args.u64(1, 100'000'000);
    } else if (args.is("--runs")) {
      runs = static_cast<int>(args.u64(1, 1'000));
    } else if (args.is("--consumer-idle")) {
      g_pause_when_empty = args.choice({"spin", "pause"}) == "pause";
    } else if (args.is("--torq-ring-bytes")) {
      ring_bytes = args.u64(4096, std::uint64_t{1} << 40);
      if ((ring_bytes & (ring_bytes - 1)) != 0) args.invalid("must be a power of two");
    } else {
      args.unknown();
    }
  }
  const torq::hw::TscClock clock = torq::hw::TscClock::calibrate();
  const auto [pc, cc] = torq::bench::pick_two_cpus();
  const Cpus cpus{pc, cc};

  const std::uint64_t kRingBytes = ring_bytes;
  constexpr unsigned kSlots = 4096;              // rte_ring / boost slots
  std::vector<PeerReport> reports;
  std::string dpdk_note;
  bool dpdk = false;

  const auto run_size = [&]<std::size_t N>(std::integral_constant<std::size_t, N>) {
    reports.push_back(measure<TorqPeer<N>>([&] { return std::make_unique<TorqPeer<N>>(kRingBytes); }, N, frames,
                                           samples, runs, cpus, clock));
    using Claim = TorqPeer<N, TorqMode::claim>;
    using Batch = TorqPeer<N, TorqMode::batch>;
    reports.push_back(measure<Claim>([&] { return std::make_unique<Claim>(kRingBytes); }, N, frames, samples, runs,
                                     cpus, clock));
    reports.push_back(measure<Batch>([&] { return std::make_unique<Batch>(kRingBytes); }, N, frames, samples, runs,
                                     cpus, clock, /*with_latency=*/false));
#if defined(TORQ_HAVE_DPDK)
    {
      RteRingPeer<N> probe(kSlots);
      if (probe.ok()) {
        dpdk = true;
        dpdk_note = "rte_ring_init on plain aligned memory (no EAL, no memzone); SP/SC; pointers into a frame slab";
        reports.push_back(measure<RteRingPeer<N>>([&] { return std::make_unique<RteRingPeer<N>>(kSlots); }, N,
                                                  frames, samples, runs, cpus, clock));
        reports.push_back(measure<RteRingPeer<N, true>>(
            [&] { return std::make_unique<RteRingPeer<N, true>>(kSlots); }, N, frames, samples, runs, cpus, clock,
            /*with_latency=*/false));
      } else {
        dpdk_note = "rte_ring_init failed: DPDK peer skipped";
      }
    }
#else
    dpdk_note = "libdpdk not found at build time: DPDK peer skipped";
#endif
    reports.push_back(measure<BoostPeer<N>>([&] { return std::make_unique<BoostPeer<N>>(kSlots); }, N, frames,
                                            samples, runs, cpus, clock));
    reports.push_back(measure<BoostPeer<N, true>>([&] { return std::make_unique<BoostPeer<N, true>>(kSlots); }, N,
                                                  frames, samples, runs, cpus, clock, /*with_latency=*/false));
  };
  // The floor first: one line, one store, one load (frame-size independent; reported with 64).
  reports.push_back(measure_latency_only<LineFloor<false>>(64, samples, cpus, clock));
  reports.push_back(measure_latency_only<LineFloor<true>>(64, samples, cpus, clock));
  run_size(std::integral_constant<std::size_t, 64>{});
  run_size(std::integral_constant<std::size_t, 256>{});

  std::vector<std::string> results;
  for (const auto& r : reports) results.push_back(report_json(r).str());

  const auto find = [&](const char* name, std::size_t frame) -> const PeerReport* {
    for (const auto& r : reports) {
      if (r.name == name && r.frame == frame) return &r;
    }
    return nullptr;
  };
  std::vector<std::string> ratios;
  bool above_peers_64 = true;
  bool above_burst_peers_64 = true;
  for (std::size_t frame : {std::size_t{64}, std::size_t{256}}) {
    const PeerReport* t = find("torq_ring", frame);
    const PeerReport* tb = find("torq_ring_publish_every_32", frame);
    JsonObject o;
    o.add("frame_bytes", static_cast<std::uint64_t>(frame));
    for (const char* peer : {"dpdk_rte_ring", "boost_spsc_queue"}) {
      const PeerReport* p = find(peer, frame);
      if (t == nullptr || p == nullptr) continue;
      const double thr = t->median_mps / p->median_mps;
      o.add(std::string("throughput_torq_over_") + peer, thr);
      if (tb != nullptr) o.add(std::string("throughput_torq_publish_every_32_over_") + peer, tb->median_mps / p->median_mps);
      o.add(std::string("p50_latency_torq_over_") + peer, t->lat.p50_ns / p->lat.p50_ns);
      if (frame == 64 && thr <= 1.0) above_peers_64 = false;
    }
    // try_publish (the header's line written last) against a frame written in place front to back.
    if (const PeerReport* c = find("torq_ring_claim", frame); t != nullptr && c != nullptr && t->lat.p50_ns > 0) {
      o.add("p50_latency_torq_ring_claim_over_torq_ring", c->lat.p50_ns / t->lat.p50_ns);
      o.add("throughput_torq_ring_claim_over_torq_ring", c->median_mps / t->median_mps);
    }
    // What the queues add to the host's own hand-off of one line.
    for (const char* floor : {"cache_line_floor", "cache_line_floor_cldemote"}) {
      const PeerReport* f = find(floor, 64);
      if (f == nullptr || f->lat.p50_ns <= 0) continue;
      for (const char* q : {"torq_ring", "torq_ring_claim", "dpdk_rte_ring", "boost_spsc_queue"}) {
        if (const PeerReport* p = find(q, frame); p != nullptr)
          o.add(std::string("p50_latency_") + q + "_over_" + floor, p->lat.p50_ns / f->lat.p50_ns);
      }
    }
    // Batches of 32 against the peers' own batch calls.
    for (const char* batched : {"dpdk_rte_ring_enqueue_burst_32", "boost_spsc_queue_push_every_32"}) {
      const PeerReport* p = find(batched, frame);
      if (tb == nullptr || p == nullptr) continue;
      const double thr = tb->median_mps / p->median_mps;
      o.add(std::string("throughput_torq_publish_every_32_over_") + batched, thr);
      if (p->single_thread_ns > 0)
        o.add(std::string("single_thread_cost_torq_publish_every_32_over_") + batched, tb->single_thread_ns / p->single_thread_ns);
      if (frame == 64 && thr <= 1.0) above_burst_peers_64 = false;
    }
    ratios.push_back(o.str());
  }
  const PeerReport* t64 = find("torq_ring", 64);
  JsonObject bars;
  bars.add("throughput_64B_gt_20M_msgs_per_sec", t64 != nullptr && t64->median_mps > 20e6);
  bars.add("throughput_64B_above_all_peers_run", above_peers_64);
  const PeerReport* tb64 = find("torq_ring_publish_every_32", 64);
  bars.add("throughput_64B_batches_of_32_gt_20M_msgs_per_sec", tb64 != nullptr && tb64->median_mps > 20e6);
  bars.add("throughput_64B_batches_of_32_above_peers_batched", tb64 != nullptr && above_burst_peers_64);
  bars.add("p50_lt_200ns", t64 != nullptr && t64->lat.p50_ns < 200);
  bars.add("p99_9_lt_2us", t64 != nullptr && t64->lat.p999_ns < 2000);

  JsonObject env;
  env.add("producer_cpu", cpus.producer).add("consumer_cpu", cpus.consumer);
  env.add("cpu_pair", torq::bench::cpu_pair_kind(cpus.producer, cpus.consumer));
  env.add("pinned", cpus.producer >= 0).add("tsc_ghz", clock.ghz()).add("tsc_invariant", clock.invariant());
  env.add("frames_per_throughput_run", frames).add("throughput_runs", static_cast<std::uint64_t>(runs));
  env.add("latency_samples", samples).add("latency_send_interval_ns", 1000.0);
  env.add("torq_ring_data_bytes", kRingBytes).add("peer_slots", static_cast<std::uint64_t>(kSlots));
  env.add("consumer_burst", static_cast<std::uint64_t>(kBurst));
  env.add("consumer_idle", g_pause_when_empty ? "pause" : "spin");

  JsonObject dp;
  dp.add("available", dpdk).add("note", dpdk_note);

  JsonObject root;
  root.add("benchmark", "bench_ring").add("environment", env).add("dpdk", dp);
  root.raw("results", torq::bench::json_array(results));
  root.raw("ratios", torq::bench::json_array(ratios));
  root.add("bars", bars);
  std::printf("%s\n", root.str().c_str());
  return 0;
}
