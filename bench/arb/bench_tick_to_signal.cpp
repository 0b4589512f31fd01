// bench_tick_to_signal — tick-to-signal latency of the torq::arb strategy loop (JSON on stdout).
//
// A synthetic Polygon-like universe (hub tokens WMATIC/USDC/WETH/USDT/DAI, long-tail tokens each
// paired with hubs on QuickSwap/SushiSwap V2 and Uniswap V3; every pool priced consistently with
// per-token USD prices, V3 pools loaded through PoolStateSnapshot + V3TicksSnapshot frames) with
// 1k and 10k pools. A pinned producer writes market-data frames (TSC in the header timestamp)
// into an SPSC ring; the engine runs its busy-spin loop on another pinned cpu and publishes
// signal frames (which carry the triggering frame's timestamp) into an out ring, which the
// producer thread reads back: latency = TSC at read-back - TSC in the frame, for the first signal
// of each dislocating tick. Peers in the same run: the same engine's on_frame cost measured
// in-thread for quiet ticks (prefilter rejects every cycle) and for dislocating ticks, and every
// measurement once per sizing method (arb::Sizing: closed_form, the default, and legacy, the
// previous search), each on a fresh engine over the same universe and the same tick sequence.
// Usage: bench_tick_to_signal [--events N] [--pools 1000,10000] [--sizing both|closed_form|legacy]
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "torq/arb/engine.hpp"
#include "torq/arb/wide_math.hpp"
#include "torq/bench/latency.hpp"
#include "torq/hw/tsc.hpp"
#include "torq/ring/local_ring.hpp"
#include "torq/strategy/tick_math.hpp"

namespace {

using namespace torq;
using arb::PoolSpec;
using arb::PoolType;
using num::U256;
using num::u128;
using protocol::InstrumentId;

U256 u256_from_double(double v) {
  if (!(v >= 1.0)) return U256::one();
  int e = 0;
  const double m = std::frexp(v, &e);  // v = m * 2^e, m in [0.5, 1)
  const auto mant = static_cast<std::uint64_t>(std::ldexp(m, 53));
  return e >= 53 ? U256(mant) << static_cast<unsigned>(e - 53) : U256(mant) >> static_cast<unsigned>(53 - e);
}

struct Universe {
  std::vector<PoolSpec> specs;
  std::vector<double> token_usd;
  std::vector<int> token_dec;
  // Baseline state per pool.
  std::vector<U256> r0, r1, sqrtp;
  std::vector<u128> liq;
  std::vector<std::int32_t> tick;
};

constexpr std::uint32_t kWmatic = 0, kUsdc = 1, kWeth = 2, kUsdt = 3, kDai = 4, kHubs = 5;

Universe make_universe(std::size_t n_pools, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Universe u;
  const std::size_t n_tokens = kHubs + n_pools / 4;
  u.token_usd = {0.5, 1.0, 2000.0, 1.0, 1.0};
  u.token_dec = {18, 6, 18, 6, 18};
  std::uniform_real_distribution<double> logp(-4.0, 3.0);
  for (std::size_t t = kHubs; t < n_tokens; ++t) {
    u.token_usd.push_back(std::pow(10.0, logp(rng)));
    u.token_dec.push_back(18);
  }
  auto tok = [](std::uint64_t i) { return InstrumentId::make(protocol::InstrumentKind::Token, protocol::Chain::Polygon, protocol::Venue::None, i); };
  auto add_pool = [&](std::uint32_t a, std::uint32_t b, bool v3) {
    const std::uint64_t i = u.specs.size();
    const auto venue = v3 ? protocol::Venue::UniswapV3 : (rng() % 2 ? protocol::Venue::QuickSwapV2 : protocol::Venue::SushiSwapV2);
    PoolSpec s{InstrumentId::make(protocol::InstrumentKind::Pool, protocol::Chain::Polygon, venue, i), tok(a), tok(b),
               v3 ? PoolType::V3 : PoolType::V2, v3 ? 500u : 3000u, v3 ? 10 : 0};
    u.specs.push_back(s);
  };
  for (std::uint32_t a = 0; a < kHubs; ++a)
    for (std::uint32_t b = a + 1; b < kHubs; ++b) {
      add_pool(a, b, false);
      add_pool(a, b, false);
      add_pool(a, b, true);
    }
  const std::uint32_t hub_pick[] = {kWmatic, kWmatic, kWmatic, kUsdc, kUsdc, kWeth, kUsdt, kDai};
  while (u.specs.size() < n_pools) {
    const auto t = static_cast<std::uint32_t>(kHubs + rng() % (n_tokens - kHubs));
    const std::uint32_t h = hub_pick[rng() % 8];
    add_pool(h, t, rng() % 10 < 3);
  }
  const std::size_t n = u.specs.size();
  u.r0.resize(n);
  u.r1.resize(n);
  u.sqrtp.resize(n);
  u.liq.resize(n);
  u.tick.resize(n);
  std::uniform_real_distribution<double> depth(2e5, 5e6);  // USD per side
  for (std::size_t i = 0; i < n; ++i) {
    const auto t0 = static_cast<std::uint32_t>(u.specs[i].token0.index());
    const auto t1 = static_cast<std::uint32_t>(u.specs[i].token1.index());
    const double d = depth(rng);
    const double x = d / u.token_usd[t0] * std::pow(10.0, u.token_dec[t0]);
    const double y = d / u.token_usd[t1] * std::pow(10.0, u.token_dec[t1]);
    u.r0[i] = u256_from_double(x);
    u.r1[i] = u256_from_double(y);
    const double sp = std::sqrt(y / x);
    u.sqrtp[i] = u256_from_double(sp * 0x1p96);
    u.liq[i] = static_cast<u128>(std::sqrt(x * y));
    u.tick[i] = *strategy::get_tick_at_sqrt_ratio(u.sqrtp[i]);
  }
  return u;
}

protocol::EventContext ctx(const Universe& u, std::size_t p, std::uint64_t block, std::uint32_t log) {
  return protocol::EventContext{u.specs[p].id.raw(), block, block * 31, 0, log};
}

// One market-data frame with one TLV moving pool p to `move` (sqrt-price factor) off its baseline.
std::size_t event_frame(std::span<std::byte> buf, const Universe& u, std::size_t p, double move, std::uint64_t block,
                        std::uint32_t log, std::uint64_t seq, std::uint64_t ts) {
  protocol::FrameBuilder b(buf, protocol::RelayDomain::MarketData, 1, protocol::frame_flags::kNoChecksum);
  if (u.specs[p].type == PoolType::V2) {
    protocol::V2Sync s{ctx(u, p, block, log), u.r0[p], u.r1[p]};
    if (move != 1.0) {
      s.reserve0 = u256_from_double(arb::to_double(u.r0[p]) / move);
      s.reserve1 = u256_from_double(arb::to_double(u.r1[p]) * move);
    }
    (void)b.add(s);
  } else {
    protocol::V3Swap s{ctx(u, p, block, log), num::I256::zero(), num::I256::zero(), u.sqrtp[p],
                       protocol::Uint128Le::from(u.liq[p]), u.tick[p], 0};
    if (move != 1.0) {
      s.sqrt_price_x96 = u256_from_double(arb::to_double(u.sqrtp[p]) * move);
      s.tick = *strategy::get_tick_at_sqrt_ratio(s.sqrt_price_x96);
    }
    (void)b.add(s);
  }
  return b.finish(seq, ts).size();
}

// Loads the baseline: one snapshot frame per pool (V3: state + ticks), then a BlockHeader.
void load_baseline(arb::ArbEngine& eng, const Universe& u) {
  std::vector<std::byte> buf(8192);
  for (std::size_t p = 0; p < u.specs.size(); ++p) {
    protocol::FrameBuilder b(buf, protocol::RelayDomain::System, 1, protocol::frame_flags::kNoChecksum);
    protocol::PoolStateSnapshot s{};
    s.pool = u.specs[p].id.raw();
    s.block_number = 1;
    s.fee_ppm = u.specs[p].fee_ppm;
    if (u.specs[p].type == PoolType::V2) {
      s.kind = static_cast<std::uint8_t>(protocol::PoolKind::V2);
      s.reserve0 = u.r0[p];
      s.reserve1 = u.r1[p];
      (void)b.add(s);
    } else {
      s.kind = static_cast<std::uint8_t>(protocol::PoolKind::V3);
      s.tick = u.tick[p];
      s.tick_spacing = 10;
      s.sqrt_price_x96 = u.sqrtp[p];
      s.liquidity = protocol::Uint128Le::from(u.liq[p]);
      (void)b.add(s);
      // Two nested positions of L/2: [t-2000, t+2000) and [t-20000, t+20000).
      const std::int32_t c = u.tick[p] / 10 * 10;
      const auto half = static_cast<__int128>(u.liq[p] / 2);
      const auto g = protocol::Uint128Le::from(static_cast<u128>(half));
      protocol::V3TickEntry e[4] = {{c - 20000, 0, protocol::Int128Le::from(half), g},
                                    {c - 2000, 0, protocol::Int128Le::from(half), g},
                                    {c + 2000, 0, protocol::Int128Le::from(-half), g},
                                    {c + 20000, 0, protocol::Int128Le::from(-half), g}};
      protocol::V3TicksSnapshotHead h{u.specs[p].id.raw(), 1, 4, 0};
      (void)b.add_raw(static_cast<std::uint8_t>(protocol::TlvType::V3TicksSnapshot),
                      std::as_bytes(std::span(&h, 1)), std::as_bytes(std::span(e)));
    }
    (void)eng.on_frame(b.finish(p, 0));
  }
  protocol::FrameBuilder b(buf, protocol::RelayDomain::MarketData, 1, protocol::frame_flags::kNoChecksum);
  protocol::BlockHeader h{};
  h.number = 2;
  h.base_fee_per_gas = U256(60'000'000'000ULL);
  (void)b.add(h);
  (void)eng.on_frame(b.finish(0, 0));
}

arb::EngineConfig engine_config(arb::Sizing sizing) {
  arb::EngineConfig cfg;
  cfg.search.sizing = sizing;
  cfg.book.v3_tick_capacity = 16;
  cfg.cycles.base_tokens = {kUsdc, kWmatic, kWeth, kUsdt, kDai};
  cfg.cycles.max_cycles_per_pool = 64;
  cfg.pricing.stables = {{kUsdc, 6}, {kUsdt, 6}, {kDai, 18}};
  cfg.gas.native_token = kWmatic;
  cfg.min_net_profit = num::UsdFixedPoint8{10 * num::UsdFixedPoint8::kScale};
  cfg.verify_checksum = false;
  return cfg;
}

struct Result {
  std::string json;
};

const char* sizing_name(arb::Sizing s) { return s == arb::Sizing::legacy ? "legacy" : "closed_form"; }

std::string run_size(std::size_t n_pools, std::size_t events, int cpu_prod, int cpu_eng, const hw::TscClock& clock,
                     arb::Sizing sizing) {
  const Universe u = make_universe(n_pools, 1234 + n_pools);
  arb::ArbEngine eng(u.specs, engine_config(sizing));
  load_baseline(eng, u);
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
    const std::size_t n = event_frame(buf, u, p, 1.0 + small(rng), ++block, 0, ++seq, 0);
    const std::uint64_t t0 = hw::rdtscp();
    (void)eng.on_frame(std::span(buf.data(), n));
    quiet.record(hw::rdtscp() - t0);
  }
  std::uint64_t in_thread_no_signal = 0;  // dislocating ticks whose on_frame emitted nothing
  const arb::EngineStats st0 = eng.stats();
  for (std::size_t i = 0; i < events; ++i) {
    const std::size_t p = movable[rng() % movable.size()];
    std::size_t n = event_frame(buf, u, p, 1.015, ++block, 0, ++seq, 0);
    const std::uint64_t t0 = hw::rdtscp();
    const std::size_t emitted = eng.on_frame(std::span(buf.data(), n));
    disl.record(hw::rdtscp() - t0);
    if (emitted == 0) ++in_thread_no_signal;
    n = event_frame(buf, u, p, 1.0, block, 1, ++seq, 0);
    (void)eng.on_frame(std::span(buf.data(), n));
    (void)out_cons.consume_burst([](std::span<const std::byte>) {}, SIZE_MAX);
  }
  (void)out_cons.consume_burst([](std::span<const std::byte>) {}, SIZE_MAX);
  const arb::EngineStats before = eng.stats();
  const double probes_per_search = static_cast<double>(before.probes - st0.probes) /
                                   static_cast<double>(std::max<std::uint64_t>(1, before.searches - st0.searches));

  // Cross-core: producer (this thread) -> ring -> engine loop (pinned) -> out ring -> this thread.
  std::atomic<bool> stop{false};
  std::thread loop([&] {
    bench::pin_and_warm(cpu_eng);
    (void)eng.run(in_cons, stop, -1);
  });
  bench::pin_and_warm(cpu_prod);
  bench::LatencyRecorder t2s(events);
  std::uint64_t no_signal = 0, signals_seen = 0, late_signal = 0;
  // Ticks that got no signal within 1 ms: if their signal arrives later it was a scheduling delay
  // (the engine or this thread descheduled on a shared host); if never, the tick had no
  // opportunity above min_net_profit.
  std::unordered_set<std::uint64_t> missed;
  auto note_late = [&](std::span<const std::byte> f) {
    std::uint64_t fts;
    std::memcpy(&fts, f.data() + 16, 8);
    if (!missed.empty() && missed.erase(fts) != 0) ++late_signal;
  };
  auto publish = [&](std::size_t n) {
    while (in_prod.try_publish(std::span(buf.data(), n)) != ring::PublishResult::ok) _mm_pause();
  };
  for (std::size_t i = 0; i < events + 1000; ++i) {
    const std::size_t p = movable[rng() % movable.size()];
    ++block;
    const std::uint64_t ts = hw::rdtsc();
    publish(event_frame(buf, u, p, 1.015, block, 0, ++seq, ts));
    bool got = false;
    const std::uint64_t deadline = ts + clock.hz() / 1000;  // 1 ms
    while (!got && hw::rdtsc() < deadline) {
      (void)out_cons.consume_burst(
          [&](std::span<const std::byte> f) {
            std::uint64_t fts;
            std::memcpy(&fts, f.data() + 16, 8);
            ++signals_seen;
            if (fts == ts && !got) {
              got = true;
              if (i >= 1000) t2s.record(hw::rdtscp() - ts);  // first 1000: warm-up
            } else if (fts != ts) {
              note_late(f);
            }
          },
          64);
    }
    if (!got && i >= 1000) {
      ++no_signal;
      missed.insert(ts);
    }
    publish(event_frame(buf, u, p, 1.0, block, 1, ++seq, 0));  // restore
    const std::uint64_t settle = hw::rdtsc() + clock.hz() / 100000;  // 10 us for the rest of the signals
    while (hw::rdtsc() < settle)
      (void)out_cons.consume_burst([&](std::span<const std::byte> f) { ++signals_seen; note_late(f); }, 64);
  }
  {  // drain: give late signals 50 ms to arrive
    const std::uint64_t end = hw::rdtsc() + clock.hz() / 20;
    while (hw::rdtsc() < end) (void)out_cons.consume_burst([&](std::span<const std::byte> f) { note_late(f); }, 64);
  }
  stop.store(true);
  loop.join();
  const arb::EngineStats& st = eng.stats();

  bench::JsonObject o;
  o.add("sizing", sizing_name(sizing));
  o.add("pools", static_cast<std::uint64_t>(u.specs.size()));
  o.add("tokens", static_cast<std::uint64_t>(eng.book().token_count()));
  o.add("cycles", static_cast<std::uint64_t>(eng.cycles().size()));
  o.add("cycles_two_pool", eng.cycles().stats().two_pool);
  o.add("cycles_triangular", eng.cycles().stats().triangular);
  o.add("cycles_dropped_by_limits", eng.cycles().stats().dropped);
  o.add("tick_to_signal", bench::to_json(t2s.summarize(clock)));
  o.add("dislocating_ticks_without_signal", no_signal);
  o.add("of_which_signal_arrived_after_1ms", late_signal);
  o.add("of_which_never_signalled", static_cast<std::uint64_t>(missed.size()));
  o.add("in_thread_dislocating_ticks_without_signal", in_thread_no_signal);
  o.add("probes_per_search_in_thread", probes_per_search);
  o.add("golden_search_share_of_searches",
        static_cast<double>(st.golden_searches) / static_cast<double>(std::max<std::uint64_t>(1, st.searches)));
  o.add("closed_form_share_of_searches",
        static_cast<double>(st.closed_form_sized) / static_cast<double>(std::max<std::uint64_t>(1, st.searches)));
  o.add("gas_cache_refreshes", eng.gas().cache_refreshes());
  o.add("prefilter_rejected", st.prefilter_rejected);
  o.add("below_min", st.below_min);
  o.add("signals_per_dislocating_tick",
        static_cast<double>(st.signals - before.signals) / static_cast<double>(events + 1000));
  o.add("searches_per_dislocating_tick",
        static_cast<double>(st.searches - before.searches) / static_cast<double>(2 * (events + 1000)));
  o.add("peer_on_frame_quiet_tick", bench::to_json(quiet.summarize(clock)));
  o.add("peer_on_frame_dislocating_tick", bench::to_json(disl.summarize(clock)));
  o.add("signals_dropped_full", st.signals_dropped_full);
  return o.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t events = 20000;
  std::vector<std::size_t> sizes{1000, 10000};
  std::vector<arb::Sizing> sizings{arb::Sizing::legacy, arb::Sizing::closed_form};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--events") events = std::stoul(argv[i + 1]);
    if (a == "--sizing") {
      const std::string v = argv[i + 1];
      if (v == "legacy") sizings = {arb::Sizing::legacy};
      else if (v == "closed_form") sizings = {arb::Sizing::closed_form};
    }
    if (a == "--pools") {
      sizes.clear();
      std::string s = argv[i + 1];
      std::size_t pos = 0;
      while (pos < s.size()) {
        const std::size_t c = s.find(',', pos);
        sizes.push_back(std::stoul(s.substr(pos, c == std::string::npos ? std::string::npos : c - pos)));
        pos = c == std::string::npos ? s.size() : c + 1;
      }
    }
  }
  const hw::TscClock clock = hw::TscClock::calibrate();
  const auto [cpu_prod, cpu_eng] = bench::pick_two_cpus();
  std::vector<std::string> results;
  for (const std::size_t n : sizes)
    for (const arb::Sizing sz : sizings) results.push_back(run_size(n, events, cpu_prod, cpu_eng, clock, sz));
  bench::JsonObject top;
  top.add("benchmark", "bench_tick_to_signal");
  top.add("tsc_ghz", clock.ghz());
  top.add("tsc_invariant", clock.invariant());
  top.add("cpu_producer", cpu_prod);
  top.add("cpu_engine", cpu_eng);
  top.add("events_per_size", static_cast<std::uint64_t>(events));
  top.raw("results", bench::json_array(results));
  std::printf("%s\n", top.str().c_str());
  return 0;
}
