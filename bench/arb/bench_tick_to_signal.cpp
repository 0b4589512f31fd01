// bench_tick_to_signal — tick-to-signal latency of the torq::arb strategy loop (JSON on stdout).
//
// A synthetic Polygon-like universe (torq/bench/universe.hpp: hub tokens WMATIC/USDC/WETH/USDT/DAI,
// long-tail tokens each paired with hubs on QuickSwap/SushiSwap V2 and Uniswap V3; every pool priced
// consistently with per-token USD prices, V3 pools loaded through PoolStateSnapshot +
// V3TicksSnapshot frames; frames without CRC32C) with
// 1k and 10k pools. A pinned producer writes market-data frames (TSC in the header timestamp)
// into an SPSC ring; the engine runs its busy-spin loop on another pinned cpu and publishes
// signal frames (which carry the triggering frame's timestamp) into an out ring, which the
// producer thread reads back: latency = TSC at read-back - TSC in the frame (stamped when the frame
// is complete, just before it is published), for the first signal
// of each dislocating tick; then the same in bursts (8 frames on distinct pools, built first, then
// stamped and published back to back; each frame's own first signal). The same single ticks again
// up to the end point the issue names, the signal in the out ring: the engine reads the TSC on its
// cpu right after committing each tick's first signal (EngineConfig::stamp_first_signal), so
// tick_to_signal_at_publish is one cross-core interval, beside the readback leg that t2s adds;
// its floor is the echo loop stamped the same way. Peers in the same run: the
// hand-off floor (the same rings, cpus and ticks through an echo loop that reads each frame and
// publishes a signal-sized frame: t2s minus its p50 is the engine's own share); the
// same cross-core tick sequences with the
// engine evaluating every frame's cycles before it reads the next (newest_first = false; the
// default pauses an older frame's remaining cycles when a newer frame waits); the same engine's
// on_frame cost measured
// in-thread for quiet ticks (prefilter rejects every cycle) and for dislocating ticks; the
// in-thread time from taking a dislocating frame to its first signal (the engine's own part of
// tick to signal, without the hand-offs); and every
// measurement once per sizing method (arb::Sizing: closed_form, the default, and legacy, the
// previous search), each on a fresh engine over the same universe and the same tick sequence.
// Usage: bench_tick_to_signal [--events N] [--pools 1000,10000] [--sizing both|closed_form|legacy]
//                             [--cache-hints auto|on|off]   (arb::EngineConfig::cache_hints)
//                             [--gap-us N]   idle time after each tick's restore, per frame (10)
// Exit status: 0; 1 when a run is invalid (a phase timed no tick, or the engine refused frames:
// the JSON is still printed, the reasons go to stderr); 64 bad usage.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "torq/arb/engine.hpp"
#include "torq/bench/args.hpp"
#include "torq/bench/latency.hpp"
#include "torq/bench/universe.hpp"
#include "torq/hw/tsc.hpp"
#include "torq/ring/local_ring.hpp"

namespace {

using namespace torq;
using bench::event_frame;
using bench::load_baseline;
using bench::make_universe;
using bench::Universe;
using num::U256;

// Frames without CRC32C (the engine runs with verify_checksum = false).
constexpr std::uint8_t kFrameFlags = protocol::frame_flags::kNoChecksum;
constexpr std::uint64_t kBaseFeeWei = 60'000'000'000ULL;
constexpr std::size_t kBurst = 8;  // frames per burst in the burst phase

arb::CacheHints g_cache_hints = arb::CacheHints::automatic;  // --cache-hints
// Idle time between one tick's restore frame and the next tick (--gap-us), per frame: the engine
// finishes the restore's evaluation in it and then waits idle for the next frame, as it does
// between a block's logs. Longer gaps let the host disturb an idle core's caches (docs/strategy.md).
std::uint64_t g_gap_us = 10;

arb::EngineConfig engine_config(arb::Sizing sizing) {
  arb::EngineConfig cfg = bench::universe_engine_config();
  cfg.cache_hints = g_cache_hints;
  cfg.search.sizing = sizing;
  return cfg;
}

// One size's JSON, and what makes its figures invalid (a phase that timed no tick, frames the
// engine refused): main prints the JSON, then these on stderr, and exits 1.
struct Result {
  std::string json;
  std::vector<std::string> invalid;
};

const char* sizing_name(arb::Sizing s) { return s == arb::Sizing::legacy ? "legacy" : "closed_form"; }

Result run_size(std::size_t n_pools, std::size_t events, int cpu_prod, int cpu_eng, const hw::TscClock& clock,
                arb::Sizing sizing) {
  const Universe u = make_universe(n_pools, 1234 + n_pools);
  arb::ArbEngine eng(u.specs, engine_config(sizing));
  load_baseline(eng, u, U256(kBaseFeeWei), kFrameFlags);
  ring::LocalRing in_ring = ring::LocalRing::create(1 << 22);
  ring::LocalRing out_ring = ring::LocalRing::create(1 << 22);
  auto in_prod = std::move(ring::SpscProducer::attach(in_ring.region()).value);
  auto in_cons = std::move(ring::SpscConsumer::attach(in_ring.region()).value);
  auto out_prod = std::move(ring::SpscProducer::attach(out_ring.region()).value);
  auto out_cons = std::move(ring::SpscConsumer::attach(out_ring.region()).value);
  eng.attach_output(&out_prod);

  // Pools worth dislocating: in at least one cycle.
  std::vector<std::size_t> movable;
  for (std::size_t p = 0; p < u.specs.size(); ++p)
    if (!eng.cycles().touching(static_cast<std::uint32_t>(p)).empty()) movable.push_back(p);
  std::mt19937_64 rng(99);
  std::vector<std::byte> buf(4096);
  std::uint64_t block = 10, seq = 0;

  // Peers, in-thread: on_frame cost of quiet ticks and of dislocating ticks (+ restore).
  bench::LatencyRecorder quiet(events), disl(events);
  std::uniform_real_distribution<double> small(-0.0004, 0.0004);
  for (std::size_t i = 0; i < events; ++i) {
    const std::size_t p = rng() % u.specs.size();
    const std::size_t n = event_frame(buf, u, p, 1.0 + small(rng), ++block, 0, ++seq, 0, kFrameFlags);
    const std::uint64_t t0 = hw::rdtscp();
    (void)eng.on_frame(std::span(buf.data(), n));
    quiet.record(hw::rdtscp() - t0);
  }
  // FNV-1a over every signal frame of the in-thread dislocating ticks (outside the timed region):
  // equal digests of two builds = the same signals, bytes and order, on the same tick sequence.
  std::uint64_t digest = 14695981039346656037ULL, digest_frames = 0;
  const auto digest_frame = [&](std::span<const std::byte> f) {
    for (const std::byte b : f) digest = (digest ^ static_cast<std::uint8_t>(b)) * 1099511628211ULL;
    ++digest_frames;
  };
  std::uint64_t in_thread_no_signal = 0;  // dislocating ticks whose on_frame emitted nothing
  const arb::EngineStats st0 = eng.stats();
  for (std::size_t i = 0; i < events; ++i) {
    const std::size_t p = movable[rng() % movable.size()];
    std::size_t n = event_frame(buf, u, p, 1.015, ++block, 0, ++seq, 0, kFrameFlags);
    const std::uint64_t t0 = hw::rdtscp();
    const std::size_t emitted = eng.on_frame(std::span(buf.data(), n));
    disl.record(hw::rdtscp() - t0);
    if (emitted == 0) ++in_thread_no_signal;
    n = event_frame(buf, u, p, 1.0, block, 1, ++seq, 0, kFrameFlags);
    (void)eng.on_frame(std::span(buf.data(), n));
    (void)out_cons.consume_burst(digest_frame, SIZE_MAX);
  }
  (void)out_cons.consume_burst([](std::span<const std::byte>) {}, SIZE_MAX);
  const arb::EngineStats before = eng.stats();
  const double probes_per_search = static_cast<double>(before.probes - st0.probes) /
                                   static_cast<double>(std::max<std::uint64_t>(1, before.searches - st0.searches));

  // Peer, in-thread: a dislocating frame's first signal, without the hand-offs. The frame is
  // published into a local ring followed by an empty market-data frame, so that `poll` (newest
  // data first) returns as soon as the first signal is published, as the pinned loop would move
  // on to a waiting frame. When the first cycles yield without a signal, the next polls read the
  // empty frame (its ingest is timed too: tens of ns) and evaluate the rest. Timed from the poll
  // that takes the frame to the first signal in the out ring; the frame is hot in this core's
  // cache, so this is the engine's own part of the tick-to-signal latency, free of the cross-core
  // noise that the difference engine_share_p50_ns carries. Then the rest is evaluated and the tick
  // restored, untimed.
  bench::LatencyRecorder first_signal(events);
  std::uint64_t first_no_signal = 0;
  {
    ring::LocalRing fs_ring = ring::LocalRing::create(1 << 16);
    auto fs_prod = std::move(ring::SpscProducer::attach(fs_ring.region()).value);
    auto fs_cons = std::move(ring::SpscConsumer::attach(fs_ring.region()).value);
    std::vector<std::byte> empty_buf(protocol::kHeaderSize);
    const auto empty_frame = [&]() {
      protocol::FrameBuilder b(empty_buf, protocol::RelayDomain::MarketData, 1, kFrameFlags);
      return b.finish(++seq, 0);
    };
    eng.set_newest_first(true);
    for (std::size_t i = 0; i < events; ++i) {
      const std::size_t p = movable[rng() % movable.size()];
      std::size_t n = event_frame(buf, u, p, 1.015, ++block, 0, ++seq, 0, kFrameFlags);
      if (fs_prod.try_publish(std::span(buf.data(), n)) != ring::PublishResult::ok ||
          fs_prod.try_publish(empty_frame()) != ring::PublishResult::ok) {
        std::fprintf(stderr, "bench_tick_to_signal: first-signal ring refused a frame\n");
        std::abort();
      }
      const std::uint64_t signals0 = eng.stats().signals;
      const std::uint64_t t0 = hw::rdtscp();
      while (eng.stats().signals == signals0 && (eng.poll(fs_cons, 1) != 0 || eng.pending())) {
      }
      const std::uint64_t t1 = hw::rdtscp();
      if (eng.stats().signals != signals0) first_signal.record(t1 - t0);
      else ++first_no_signal;
      while (eng.poll(fs_cons, 1) != 0 || eng.pending()) {
      }
      n = event_frame(buf, u, p, 1.0, block, 1, ++seq, 0, kFrameFlags);
      (void)eng.on_frame(std::span(buf.data(), n));
      (void)out_cons.consume_burst([](std::span<const std::byte>) {}, SIZE_MAX);
    }
  }

  // Cross-core: producer (this thread) -> ring -> engine loop (pinned) -> out ring -> this thread.
  // Run four times on the same book (every tick is restored), single ticks then bursts, each with
  // the engine's default, newest data first (a waiting frame pauses the evaluation of older ones),
  // and with the in-order peer (every frame's cycles evaluated before the next is read), so the two
  // are compared in the same run on the same tick sequences.
  struct CrossCore {
    bench::LatencySummary t2s;
    // Stamped phases only: producer's stamp -> the TSC on the engine's cpu right after the tick's
    // first signal was published, and from there to this thread reading it back.
    bench::LatencySummary at_publish, readback_leg;
    std::uint64_t unstamped = 0;  // ticks read back whose publish stamp did not arrive within 1 ms
    std::uint64_t no_signal = 0, late_signal = 0, never = 0, preempted = 0, superseded = 0, signals = 0, searches = 0;
    std::uint64_t ticks = 0;  // dislocating frames sent (each followed by its restore)
  };
  // Publish stamps (stamped phases). The tick-to-signal ends when the signal is in the out
  // ring; t2s above also includes a third hand-off, this thread reading the signal back. In a
  // stamped phase the engine reads the TSC on its cpu right after committing a frame's first
  // signal (EngineConfig::stamp_first_signal) and this thread compares it with its own stamp: one
  // cross-core interval, like the rings' one-way latency (bench_ring). That needs the two cpus'
  // TSCs in step: the readback leg is reported beside it, and negative intervals are counted (over
  // 1 % make the run invalid). The echo loop stamps its frames the same way, into a slot per
  // frame timestamp (written once; read before the next tick is published).
  struct alignas(64) EchoStamp {
    std::atomic<std::uint64_t> frame_ts{0};
    std::uint64_t tsc = 0;
  };
  constexpr std::size_t kEchoStamps = 256;
  const std::unique_ptr<EchoStamp[]> echo_stamps(new EchoStamp[kEchoStamps]);
  // The hand-off floor (echo = true): the same rings, cpus and tick sequence, with a loop in the
  // engine's place that reads each frame through and publishes a signal-sized frame (built with
  // FrameBuilder in place, as ArbEngine::publish does) stamped with the frame's timestamp: two
  // cross-core hand-offs and no strategy work. t2s minus this floor is the engine's own share.
  const auto echo_loop = [&](const std::atomic<bool>& stop, bool stamped) {
    protocol::ArbitrageSignal sig{};
    sig.hop_count = 2;
    std::uint64_t out_seq = 0, stamped_ts = 0;
    volatile std::uint64_t sink = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const std::size_t got = in_cons.consume_burst(
          [&](std::span<const std::byte> f) {
            std::uint64_t fold = 0, w = 0;
            for (std::size_t i = 0; i + 8 <= f.size(); i += 8) {
              std::memcpy(&w, f.data() + i, 8);
              fold ^= w;
            }
            sink = fold;
            std::uint64_t fts;
            std::memcpy(&fts, f.data() + 16, 8);
            const std::span<std::byte> b = out_prod.try_claim(static_cast<std::uint32_t>(arb::kSignalFrameSize));
            if (b.empty()) return;
            sig.signal_id = ++out_seq;
            protocol::FrameBuilder fb(b, protocol::RelayDomain::Signal, 20, protocol::frame_flags::kNoChecksum);
            if (!fb.add(sig)) return;
            const std::span<const std::byte> out = fb.finish(out_seq, fts);
            if (out.empty() || !out_prod.commit(static_cast<std::uint32_t>(out.size()))) return;
            if (stamped && fts != stamped_ts) {
              const std::uint64_t tsc = hw::rdtscp();
              stamped_ts = fts;
              EchoStamp& slot = echo_stamps[fts % kEchoStamps];
              slot.tsc = tsc;
              slot.frame_ts.store(fts, std::memory_order_release);
            }
          },
          1);
      if (got == 0) _mm_pause();
    }
  };
  const auto cross_core = [&](bool newest_first, std::size_t burst, bool echo = false, bool stamped = false) {
    eng.set_newest_first(newest_first);
    eng.set_stamp_first_signal(stamped && !echo);
    const arb::EngineStats st_before = eng.stats();
    std::mt19937_64 tick_rng(4242);  // the same tick sequence for both
    std::atomic<bool> stop{false};
    std::thread loop([&] {
      bench::pin_and_warm(cpu_eng);
      if (echo) echo_loop(stop, stamped);
      else (void)eng.run(in_cons, stop, -1);
    });
    bench::pin_and_warm(cpu_prod);
    bench::LatencyRecorder t2s(events), at_publish(stamped ? events : 0), readback_leg(stamped ? events : 0);
    std::uint64_t no_signal = 0, signals_seen = 0, late_signal = 0, unstamped = 0;
    // Ticks that got no signal within 1 ms: if their signal arrives later it was a scheduling delay
    // (the engine or this thread descheduled on a shared host); if never, the tick had no
    // opportunity above min_net_profit.
    std::unordered_set<std::uint64_t> missed;
    auto note_late = [&](std::span<const std::byte> f) {
      std::uint64_t fts;
      std::memcpy(&fts, f.data() + 16, 8);
      if (!missed.empty() && missed.erase(fts) != 0) ++late_signal;
    };
    auto publish = [&](const std::vector<std::byte>& b, std::size_t n) {
      while (in_prod.try_publish(std::span(b.data(), n)) != ring::PublishResult::ok) _mm_pause();
    };
    // `burst` dislocating frames (distinct pools, one block) published back to back, as a block's
    // logs arrive together; each frame's own first signal is timed. burst = 1: one tick at a time.
    constexpr std::size_t kMaxBurst = 16;
    static_assert(kBurst <= kMaxBurst);
    std::vector<std::byte> bufs[kMaxBurst];
    for (auto& b : bufs) b.resize(buf.size());
    // Stamped phases: the TSC stamped for the frame stamped `fts`, 0 while it is not there yet.
    const auto stamp_of = [&](std::uint64_t fts) -> std::uint64_t {
      if (echo) {
        const EchoStamp& slot = echo_stamps[fts % kEchoStamps];
        return slot.frame_ts.load(std::memory_order_acquire) == fts ? slot.tsc : 0;
      }
      const arb::SignalStamp st = eng.first_signal_stamp();
      return st.frame_timestamp == fts ? st.tsc : 0;
    };
    const std::size_t rounds = (events + 1000 + burst - 1) / burst;
    for (std::size_t r = 0; r < rounds; ++r) {
      std::size_t pools[kMaxBurst];
      std::uint64_t stamps[kMaxBurst], back[kMaxBurst] = {};
      bool got[kMaxBurst] = {};
      for (std::size_t k = 0; k < burst; ++k) {
        bool fresh = false;
        while (!fresh) {
          pools[k] = movable[tick_rng() % movable.size()];
          fresh = std::find(pools, pools + k, pools[k]) == pools + k;
        }
      }
      ++block;
      // A tick starts when its frame is complete, as a collector hands it to the ring: the frames
      // are built first (a V3 move computes getTickAtSqrtRatio: the producer's work, not the
      // engine's), then each is stamped (no checksum: the header's timestamp is patched in place)
      // and published, back to back.
      std::size_t sizes[kMaxBurst];
      for (std::size_t k = 0; k < burst; ++k)
        sizes[k] = event_frame(bufs[k], u, pools[k], 1.015, block, static_cast<std::uint32_t>(k), ++seq, 0, kFrameFlags);
      for (std::size_t k = 0; k < burst; ++k) {
        stamps[k] = hw::rdtsc();
        std::memcpy(bufs[k].data() + 16, &stamps[k], sizeof stamps[k]);  // FrameHeader::timestamp_ns
        publish(bufs[k], sizes[k]);
      }
      std::size_t waiting = burst;
      const std::uint64_t deadline = stamps[0] + clock.hz() / 1000;  // 1 ms
      while (waiting != 0 && hw::rdtsc() < deadline) {
        (void)out_cons.consume_burst(
            [&](std::span<const std::byte> f) {
              std::uint64_t fts;
              std::memcpy(&fts, f.data() + 16, 8);
              ++signals_seen;
              for (std::size_t k = 0; k < burst; ++k) {
                if (stamps[k] != fts) continue;
                if (!got[k]) {
                  got[k] = true;
                  --waiting;
                  back[k] = hw::rdtscp();
                  if (r * burst + k >= 1000) t2s.record_interval(fts, back[k]);  // first 1000: warm-up
                }
                return;
              }
              note_late(f);
            },
            64);
      }
      if (stamped && got[0] && r >= 1000) {  // burst is 1
        // The stamp is written just after the commit: wait for it (up to 1 ms).
        const std::uint64_t until = hw::rdtsc() + clock.hz() / 1000;
        std::uint64_t tsc = stamp_of(stamps[0]);
        while (tsc == 0 && hw::rdtsc() < until) {
          _mm_pause();
          tsc = stamp_of(stamps[0]);
        }
        if (tsc != 0) {
          at_publish.record_interval(stamps[0], tsc);
          readback_leg.record_interval(tsc, back[0]);
        } else {
          ++unstamped;
        }
      }
      for (std::size_t k = 0; k < burst; ++k) {
        if (!got[k] && r * burst + k >= 1000) {
          ++no_signal;
          missed.insert(stamps[k]);
        }
      }
      for (std::size_t k = 0; k < burst; ++k)  // restore
        publish(buf, event_frame(buf, u, pools[k], 1.0, block, static_cast<std::uint32_t>(burst + k), ++seq, 0, kFrameFlags));
      const std::uint64_t settle = hw::rdtsc() + burst * g_gap_us * clock.hz() / 1'000'000;  // --gap-us per frame
      while (hw::rdtsc() < settle)
        (void)out_cons.consume_burst([&](std::span<const std::byte> f) { ++signals_seen; note_late(f); }, 64);
    }
    {  // drain: give late signals 50 ms to arrive
      const std::uint64_t end = hw::rdtsc() + clock.hz() / 20;
      while (hw::rdtsc() < end) (void)out_cons.consume_burst([&](std::span<const std::byte> f) { note_late(f); }, 64);
    }
    stop.store(true);
    loop.join();
    CrossCore r;
    r.t2s = t2s.summarize(clock);
    r.at_publish = at_publish.summarize(clock);  // empty (count 0) outside the stamped phases
    r.readback_leg = readback_leg.summarize(clock);
    r.unstamped = unstamped;
    r.no_signal = no_signal;
    r.late_signal = late_signal;
    r.never = missed.size();
    r.preempted = eng.stats().preempted - st_before.preempted;
    r.superseded = eng.stats().superseded - st_before.superseded;
    r.signals = eng.stats().signals - st_before.signals;
    r.searches = eng.stats().searches - st_before.searches;
    r.ticks = rounds * burst;
    return r;
  };
  const CrossCore newest = cross_core(true, 1);
  // The echo loop reads the floor phase's frames in the engine's place, so the engine never sees
  // their block numbers: the next phase continues from the block the engine last saw (otherwise
  // its frames lie more than max_block_lead above it and are refused as future blocks).
  const CrossCore stamped = cross_core(true, 1, false, true);
  const std::uint64_t engine_block = block;
  const CrossCore floor = cross_core(true, 1, true);
  const CrossCore floor_stamped = cross_core(true, 1, true, true);
  block = engine_block;
  const CrossCore in_order = cross_core(false, 1);
  const CrossCore burst_newest = cross_core(true, kBurst);
  const CrossCore burst_in_order = cross_core(false, kBurst);
  eng.set_newest_first(true);
  const arb::EngineStats& st = eng.stats();

  bench::JsonObject o;
  o.add("sizing", sizing_name(sizing));
  o.add("pools", static_cast<std::uint64_t>(u.specs.size()));
  o.add("tokens", static_cast<std::uint64_t>(eng.book().token_count()));
  o.add("cycles", static_cast<std::uint64_t>(eng.cycles().size()));
  o.add("cycles_two_pool", eng.cycles().stats().two_pool);
  o.add("cycles_triangular", eng.cycles().stats().triangular);
  o.add("cycles_dropped_by_limits", eng.cycles().stats().dropped);
  o.add("tick_to_signal", bench::to_json(newest.t2s));
  o.add("dislocating_ticks_without_signal", newest.no_signal);
  o.add("of_which_signal_arrived_after_1ms", newest.late_signal);
  o.add("of_which_never_signalled", newest.never);
  o.add("evaluations_preempted", newest.preempted);
  o.add("pending_pools_superseded", newest.superseded);
  o.add("peer_echo_round_trip", bench::to_json(floor.t2s));
  o.add("peer_echo_ticks_without_frame", floor.no_signal);
  // t2s p50 minus the floor's p50: the engine's own share of the median tick (ingest, book,
  // prefilter, search, pricing, building the signal), the part strategy work can change.
  o.add("engine_share_p50_ns", newest.t2s.p50_ns - floor.t2s.p50_ns);
  // The end point, the signal in the out ring (stamped phases, "Publish stamps"): the tick's
  // first signal as published on the engine's cpu, the readback after it, and the same pair for
  // the echo loop (one hand-off, the floor of tick_to_signal_at_publish).
  o.add("tick_to_signal_at_publish", bench::to_json(stamped.at_publish));
  o.add("tick_to_signal_at_publish_readback_leg", bench::to_json(stamped.readback_leg));
  o.add("tick_to_signal_at_publish_round_trip", bench::to_json(stamped.t2s));
  o.add("tick_to_signal_at_publish_unstamped", stamped.unstamped);
  o.add("tick_to_signal_at_publish_ticks_without_signal", stamped.no_signal);
  o.add("peer_echo_at_publish", bench::to_json(floor_stamped.at_publish));
  o.add("peer_echo_at_publish_readback_leg", bench::to_json(floor_stamped.readback_leg));
  o.add("engine_share_at_publish_p50_ns", stamped.at_publish.p50_ns - floor_stamped.at_publish.p50_ns);
  o.add("peer_tick_to_signal_in_order", bench::to_json(in_order.t2s));
  o.add("peer_in_order_dislocating_ticks_without_signal", in_order.no_signal);
  o.add("peer_in_order_of_which_never_signalled", in_order.never);
  o.add("in_thread_dislocating_ticks_without_signal", in_thread_no_signal);
  o.add("in_thread_signal_digest", digest);
  o.add("in_thread_signal_frames", digest_frames);
  o.add("probes_per_search_in_thread", probes_per_search);
  o.add("golden_search_share_of_searches",
        static_cast<double>(st.golden_searches) / static_cast<double>(std::max<std::uint64_t>(1, st.searches)));
  o.add("closed_form_share_of_searches",
        static_cast<double>(st.closed_form_sized) / static_cast<double>(std::max<std::uint64_t>(1, st.searches)));
  o.add("gas_cache_refreshes", eng.gas().cache_refreshes());
  o.add("prefilter_rejected", st.prefilter_rejected);
  o.add("below_min", st.below_min);
  // Cross-core, per dislocating tick (each followed by its restore tick): newest first searches
  // fewer cycles and signals less, because a restore that arrives while a tick's cycles are
  // being evaluated supersedes the rest of them.
  const auto per_tick = [](std::uint64_t v, std::uint64_t ticks) { return static_cast<double>(v) / static_cast<double>(ticks); };
  o.add("signals_per_dislocating_tick", per_tick(newest.signals, newest.ticks));
  o.add("searches_per_dislocating_tick", per_tick(newest.searches, 2 * newest.ticks));
  o.add("peer_in_order_signals_per_dislocating_tick", per_tick(in_order.signals, in_order.ticks));
  o.add("peer_in_order_searches_per_dislocating_tick", per_tick(in_order.searches, 2 * in_order.ticks));
  // Bursts: kBurst dislocating frames back to back (a block's logs arriving together); the
  // latency of each frame's own first signal.
  o.add("burst_frames", static_cast<std::uint64_t>(kBurst));
  o.add("burst_tick_to_signal", bench::to_json(burst_newest.t2s));
  o.add("burst_frames_without_signal", burst_newest.no_signal);
  o.add("burst_evaluations_preempted", burst_newest.preempted);
  o.add("peer_burst_tick_to_signal_in_order", bench::to_json(burst_in_order.t2s));
  o.add("peer_burst_in_order_frames_without_signal", burst_in_order.no_signal);
  o.add("peer_on_frame_quiet_tick", bench::to_json(quiet.summarize(clock)));
  o.add("peer_on_frame_dislocating_tick", bench::to_json(disl.summarize(clock)));
  const bench::LatencySummary first_signal_sum = first_signal.summarize(clock);
  o.add("peer_first_signal_in_thread", bench::to_json(first_signal_sum));
  o.add("peer_first_signal_in_thread_ticks_without_signal", first_no_signal);
  o.add("signals_dropped_full", st.signals_dropped_full);
  o.add("future_blocks_refused", st.future_blocks);
  Result res{o.str(), {}};
  const std::string where = std::to_string(u.specs.size()) + " pools, " + sizing_name(sizing) + ": ";
  const std::pair<const char*, const CrossCore*> phases[] = {{"tick_to_signal", &newest},
                                                             {"peer_echo_round_trip", &floor},
                                                             {"peer_tick_to_signal_in_order", &in_order},
                                                             {"burst_tick_to_signal", &burst_newest},
                                                             {"peer_burst_tick_to_signal_in_order", &burst_in_order}};
  for (const auto& [name, phase] : phases)
    if (phase->t2s.count == 0) res.invalid.push_back(where + name + " timed no tick");
  for (const auto& [name, sum] : {std::pair{"tick_to_signal_at_publish", &stamped.at_publish},
                                  std::pair{"peer_echo_at_publish", &floor_stamped.at_publish}}) {
    if (sum->count == 0) res.invalid.push_back(where + name + " timed no tick");
    else if (sum->negative_intervals * 100 > sum->count)
      res.invalid.push_back(where + name + ": over 1 % negative intervals (the two cpus' TSCs are not synchronised)");
  }
  if (first_signal_sum.count == 0) res.invalid.push_back(where + "peer_first_signal_in_thread timed no tick");
  if (st.future_blocks != 0) res.invalid.push_back(where + "the engine refused frames as future blocks");
  if (st.rejected_events != 0) res.invalid.push_back(where + "the engine refused events");
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t events = 20000;
  std::vector<std::size_t> sizes{1000, 10000};
  std::vector<arb::Sizing> sizings{arb::Sizing::legacy, arb::Sizing::closed_form};
  bench::ArgReader args(argc, argv,
                        "usage: bench_tick_to_signal [--events N] [--pools N[,N...]] [--sizing both|closed_form|legacy]\n"
                        "                            [--cache-hints auto|on|off] [--gap-us N]");
  while (args.next()) {
    if (args.is("--events")) {
      events = args.u64(100, 100'000'000);
    } else if (args.is("--sizing")) {
      const std::string v = args.choice({"both", "closed_form", "legacy"});
      if (v == "legacy") sizings = {arb::Sizing::legacy};
      else if (v == "closed_form") sizings = {arb::Sizing::closed_form};
      else sizings = {arb::Sizing::legacy, arb::Sizing::closed_form};
    } else if (args.is("--cache-hints")) {
      const std::string v = args.choice({"auto", "on", "off"});
      g_cache_hints = v == "on" ? arb::CacheHints::on : v == "off" ? arb::CacheHints::off : arb::CacheHints::automatic;
    } else if (args.is("--gap-us")) {
      g_gap_us = args.u64(1, 1'000'000);
    } else if (args.is("--pools")) {
      sizes.clear();
      for (const std::uint64_t n : args.u64_list(100, 100'000)) sizes.push_back(static_cast<std::size_t>(n));
    } else {
      args.unknown();
    }
  }
  const hw::TscClock clock = hw::TscClock::calibrate();
  const auto [cpu_prod, cpu_eng] = bench::pick_two_cpus();
  std::vector<std::string> results;
  std::vector<std::string> invalid;
  for (const std::size_t n : sizes)
    for (const arb::Sizing sz : sizings) {
      Result r = run_size(n, events, cpu_prod, cpu_eng, clock, sz);
      results.push_back(std::move(r.json));
      invalid.insert(invalid.end(), r.invalid.begin(), r.invalid.end());
    }
  bench::JsonObject top;
  top.add("benchmark", "bench_tick_to_signal");
  top.add("tsc_ghz", clock.ghz());
  top.add("tsc_invariant", clock.invariant());
  top.add("cpu_producer", cpu_prod);
  top.add("cpu_engine", cpu_eng);
  top.add("cpu_pair", bench::cpu_pair_kind(cpu_prod, cpu_eng));
  top.add("events_per_size", static_cast<std::uint64_t>(events));
  top.add("gap_us", g_gap_us);
  top.add("cache_hints", g_cache_hints == arb::CacheHints::on ? "on" : g_cache_hints == arb::CacheHints::off ? "off" : "auto");
  top.raw("results", bench::json_array(results));
  std::printf("%s\n", top.str().c_str());
  for (const std::string& why : invalid) std::fprintf(stderr, "bench_tick_to_signal: invalid run: %s\n", why.c_str());
  return invalid.empty() ? 0 : 1;
}
