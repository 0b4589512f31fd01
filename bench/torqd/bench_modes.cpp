// bench_modes — monolith vs distributed: the SAME scenario (market-data ticks → ArbEngine →
// ArbitrageSignal) through the three link kinds torqd can be configured with, tick-to-signal
// latency percentiles side by side, JSON on stdout (issue 7 "Benchmark", SPEC §7 bar: monolith
// >= 5x lower p50 than distributed over UDP).
//
// Scenario: 6 V2 pools (USDC/WETH, WMATIC/USDC, WMATIC/WETH on two venues) loaded by snapshot
// frames; each tick is one V2Sync moving quickswap USDC/WETH ±1% off the others, so every tick
// yields signals. One tick at a time: the next one after the previous one's first signal arrived
// AND the strategy finished that tick (its other cycles are still being evaluated when the first
// signal is out; a tick sent meanwhile would measure queueing behind them), or a 50 ms timeout. Three threads, as three torqd roles would be:
//   collector  builds the md frame (timestamp = CLOCK_MONOTONIC ns) and publishes it, then acts
//              as the executor: receives signal frames; latency = now - the signal's timestamp
//              (the engine stamps signals with the triggering md frame's timestamp);
//   strategy   receives md frames, ArbEngine (book + cycle search), publishes signal frames.
// Two busy-spinning threads, pinned to two cores of one L3 (pick_two_cpus, TORQ_BENCH_CPUS) or to
// --cpus collector,strategy; unpinned on two vCPUs both spinners can share one and the p50 is
// milliseconds of time-slicing, so the benchmark always pins when two cpus are allowed.
// Modes (mycelium transport strings, chosen by configuration only, like torqd's links):
//   monolith        inproc: rings (torqd monolith)
//   distributed_shm shm:/ rings (torqd --role … with shm links; here threads of one process)
//   distributed_udp udp://127.0.0.1 loopback: kernel sockets, CRC32C on every frame (required on
//                   untrusted links); the strategy's socket rx feeds a local ring the engine polls,
//                   and its output ring is forwarded to the signal socket (what a strategy process
//                   on another host does).
// Usage: bench_modes [--ticks N] [--cpus collector,strategy]; --help; bad usage exits 64.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "torq/arb/engine.hpp"
#include "torq/bench/args.hpp"
#include "torq/bench/latency.hpp"
#include "torq/hw/affinity.hpp"
#include "torq/mycelium/transport.hpp"
#include "torq/protocol/frame.hpp"
#include <unistd.h>

namespace {

using namespace torq;
using num::U256;
using protocol::InstrumentId;

std::uint64_t mono_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

constexpr std::uint32_t kWmatic = 0, kUsdc = 1, kWeth = 2;

InstrumentId tok(std::uint64_t i) {
  return InstrumentId::make(protocol::InstrumentKind::Token, protocol::Chain::Polygon, protocol::Venue::None, i);
}

struct Scenario {
  std::vector<arb::PoolSpec> specs;
  std::vector<U256> r0, r1;
};

U256 from_double(double v) {
  return U256(static_cast<std::uint64_t>(v / 1e6)) * U256(1'000'000ULL);  // v < 1.8e25: exact enough for reserves
}

Scenario make_scenario() {
  Scenario s;
  const double usd[] = {0.5, 1.0, 3000.0};
  const int dec[] = {18, 6, 18};
  const std::pair<std::uint32_t, std::uint32_t> pairs[] = {{kUsdc, kWeth}, {kWmatic, kUsdc}, {kWmatic, kWeth}};
  std::uint64_t i = 0;
  for (const auto venue : {protocol::Venue::QuickSwapV2, protocol::Venue::SushiSwapV2}) {
    for (const auto& [a, b] : pairs) {
      s.specs.push_back(arb::PoolSpec{InstrumentId::make(protocol::InstrumentKind::Pool, protocol::Chain::Polygon, venue, i++),
                                      tok(a), tok(b), arb::PoolType::V2, 3000, 0});
      const double depth = 4e6;  // USD per side
      s.r0.push_back(from_double(depth / usd[a] * std::pow(10.0, dec[a])));
      s.r1.push_back(from_double(depth / usd[b] * std::pow(10.0, dec[b])));
    }
  }
  return s;
}

arb::EngineConfig engine_config(bool checksum_out) {
  arb::EngineConfig cfg;
  cfg.cycles.base_tokens = {kUsdc, kWeth, kWmatic};
  cfg.pricing.stables = {{kUsdc, 6}};
  cfg.gas.native_token = kWmatic;
  cfg.min_net_profit = num::UsdFixedPoint8{num::UsdFixedPoint8::kScale};  // 1 USD
  cfg.verify_checksum = true;
  cfg.signal_checksum = checksum_out;
  return cfg;
}

// Snapshot + a block header: the baseline every mode starts from.
void load_baseline(arb::ArbEngine& eng, const Scenario& sc) {
  std::vector<std::byte> buf(4096);
  for (std::size_t p = 0; p < sc.specs.size(); ++p) {
    protocol::FrameBuilder b(buf, protocol::RelayDomain::System, 1, protocol::frame_flags::kNoChecksum);
    protocol::PoolStateSnapshot s{};
    s.pool = sc.specs[p].id.raw();
    s.block_number = 1;
    s.fee_ppm = 3000;
    s.kind = static_cast<std::uint8_t>(protocol::PoolKind::V2);
    s.reserve0 = sc.r0[p];
    s.reserve1 = sc.r1[p];
    (void)b.add(s);
    (void)eng.on_frame(b.finish(p, 0));
  }
  protocol::FrameBuilder b(buf, protocol::RelayDomain::MarketData, 1, protocol::frame_flags::kNoChecksum);
  protocol::BlockHeader h{};
  h.number = 2;
  h.base_fee_per_gas = U256(30'000'000'000ULL);
  (void)b.add(h);
  (void)eng.on_frame(b.finish(0, 0));
}

struct ModeResult {
  std::string name;
  std::vector<std::uint64_t> lat;
  std::uint64_t timeouts = 0;
  std::uint64_t signals = 0;
};

std::uint64_t pct(std::vector<std::uint64_t> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5))];
}

ring::SpscProducer* ring_producer(mycelium::Publisher& p) {
  ring::SpscProducer* out = nullptr;
  p.visit([&](auto& c) {
    if constexpr (requires { c.producer(); }) out = &c.producer();
  });
  return out;
}
ring::SpscConsumer* ring_consumer(mycelium::Subscriber& s) {
  ring::SpscConsumer* out = nullptr;
  s.visit([&](auto& c) {
    if constexpr (requires { c.consumer(); }) out = &c.consumer();
  });
  return out;
}

ModeResult run_mode(const std::string& name, const std::string& md_link, const std::string& sig_link, bool udp, std::size_t ticks,
                    const int cpus[3]) {
  const Scenario sc = make_scenario();
  arb::ArbEngine engine(sc.specs, engine_config(udp));
  load_baseline(engine, sc);
  // Subscribers first (UDP binds the port; rings: either order).
  mycelium::Subscriber md_sub = mycelium::Subscriber::open(md_link);
  mycelium::Subscriber sig_sub = mycelium::Subscriber::open(sig_link);
  mycelium::Publisher md_pub = mycelium::Publisher::open(md_link);
  mycelium::Publisher sig_pub = mycelium::Publisher::open(sig_link);
  // UDP: the strategy's local rings between socket and engine.
  static int local_seq = 0;
  const std::string local = "inproc:bm-local-" + std::to_string(::getpid()) + "-" + std::to_string(++local_seq);
  mycelium::Subscriber in_sub = mycelium::Subscriber::open(local + "-in");
  mycelium::Publisher in_pub = mycelium::Publisher::open(local + "-in");
  mycelium::Subscriber out_sub = mycelium::Subscriber::open(local + "-out");
  mycelium::Publisher out_pub = mycelium::Publisher::open(local + "-out");
  ring::SpscProducer& in_ring = *ring_producer(in_pub);
  ring::SpscConsumer& out_ring = *ring_consumer(out_sub);
  if (udp) engine.attach_output(ring_producer(out_pub));
  else engine.attach_output(ring_producer(sig_pub));

  ModeResult res;
  res.name = name;
  res.lat.reserve(ticks);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> got_tick{0};  // last tick whose first signal the executor side saw
  std::atomic<std::uint64_t> processed{0};  // md frames the strategy finished (search and signals out)

  std::thread strategy([&] {
    if (cpus[1] >= 0) (void)hw::pin_current_thread(cpus[1]);
    ring::SpscConsumer* rin = udp ? ring_consumer(in_sub) : ring_consumer(md_sub);
    while (!stop.load(std::memory_order_relaxed)) {
      if (udp) {
        (void)md_sub.poll([&](std::span<const std::byte> f) noexcept { (void)in_ring.try_publish(f); }, 32);
      }
      const std::size_t n = engine.poll(*rin, 32);
      if (udp) {
        while (out_ring.consume_burst([&](std::span<const std::byte> f) noexcept { (void)sig_pub.try_publish(f); }, 32) != 0) {
        }
        (void)sig_pub.flush();
      }
      if (n != 0) processed.fetch_add(n, std::memory_order_release);
    }
  });
  // Executor side, polled by the collector thread between ticks (two spinning threads in all, so
  // the run fits a 2-cpu machine): the first signal carrying the current tick's timestamp.
  std::uint64_t current = 0;
  auto on_signal = [&](std::span<const std::byte> f) noexcept {
    const auto parsed = protocol::parse_frame(f);
    if (!parsed.ok()) return;
    const std::uint64_t now = mono_ns();
    ++res.signals;
    const std::uint64_t ts = parsed.view.header.timestamp_ns;
    if (ts == current && got_tick.load(std::memory_order_relaxed) != ts) {
      res.lat.push_back(now - ts);
      got_tick.store(ts, std::memory_order_relaxed);
    }
  };
  ring::SpscConsumer* rc = udp ? nullptr : ring_consumer(sig_sub);
  auto poll_signals = [&] {
    if (rc != nullptr) (void)rc->consume_burst(on_signal, 32);
    else (void)sig_sub.poll(on_signal, 32);
  };

  // Collector (this thread).
  if (cpus[0] >= 0) (void)hw::pin_current_thread(cpus[0]);
  std::vector<std::byte> buf(1024);
  const std::uint8_t flags = udp ? 0 : protocol::frame_flags::kNoChecksum;
  for (std::size_t t = 0; t < ticks + 200; ++t) {  // the first 200 ticks warm up
    const double move = (t % 2 == 0) ? 1.01 : 0.99;
    protocol::FrameBuilder b(buf, protocol::RelayDomain::MarketData, 10, flags);
    protocol::V2Sync s{};
    s.ctx = protocol::EventContext{sc.specs[0].id.raw(), 3 + t, (3 + t) * 31, 0, 0};
    s.reserve0 = from_double(4e6 / 1.0 * 1e6 / move);
    s.reserve1 = from_double(4e6 / 3000.0 * 1e18 * move);
    (void)b.add(s);
    const std::uint64_t ts = mono_ns();
    current = ts;
    const auto frame = b.finish(t + 1, ts);
    while (md_pub.try_publish(frame) != mycelium::PublishResult::ok) {
    }
    (void)md_pub.flush();
    const std::uint64_t deadline = ts + 50'000'000;
    while (got_tick.load(std::memory_order_relaxed) != ts) {
      poll_signals();
      if (got_tick.load(std::memory_order_relaxed) == ts) break;
      if (mono_ns() > deadline) {
        ++res.timeouts;
        break;
      }
    }
    // The strategy finishes the tick (its other cycles), then the tick's other signals are drained.
    while (processed.load(std::memory_order_acquire) < t + 1 && mono_ns() <= deadline) poll_signals();
    for (int k = 0; k < 64; ++k) poll_signals();
    if (t == 199) {  // warm-up done
      res.lat.clear();
      res.timeouts = 0;
    }
  }
  stop.store(true);
  strategy.join();
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t ticks = 5000;
  const std::pair<int, int> picked = bench::pick_two_cpus();
  int cpus[3] = {picked.first, picked.second, -1};
  bench::ArgReader args(argc, argv,
                        "usage: bench_modes [--ticks N] [--cpus COLLECTOR,STRATEGY]\n"
                        "  --ticks N    measured ticks per mode after 200 warm-up ticks (default 5000)\n"
                        "  --cpus A,B   pin the collector/executor thread to A and the strategy to B\n"
                        "               (default: two cores of one L3, or TORQ_BENCH_CPUS)");
  while (args.next()) {
    if (args.is("--ticks")) {
      ticks = args.u64(1, 10'000'000);
    } else if (args.is("--cpus")) {
      const std::vector<std::uint64_t> c = args.u64_list(0, 4095);
      if (c.size() != 2 || c[0] == c[1]) args.invalid("needs two distinct cpus A,B");
      const std::vector<int> allowed = hw::allowed_cpus();
      for (const std::uint64_t x : c)
        if (std::find(allowed.begin(), allowed.end(), static_cast<int>(x)) == allowed.end())
          args.invalid("cpu " + std::to_string(x) + " is not in this process's affinity mask");
      cpus[0] = static_cast<int>(c[0]);
      cpus[1] = static_cast<int>(c[1]);
    } else {
      args.unknown();
    }
  }
  const std::string tag = std::to_string(::getpid());
  const int port = 20000 + static_cast<int>(::getpid() % 20000);
  std::vector<ModeResult> results;
  results.push_back(run_mode("monolith", "inproc:bm-md-" + tag, "inproc:bm-sig-" + tag, false, ticks, cpus));
  results.push_back(run_mode("distributed_shm", "shm:/bm-md-" + tag + "?unlink=1", "shm:/bm-sig-" + tag + "?unlink=1", false, ticks, cpus));
  results.push_back(run_mode("distributed_udp", "udp://127.0.0.1:" + std::to_string(port),
                             "udp://127.0.0.1:" + std::to_string(port + 1), true, ticks, cpus));
  std::printf("{\"bench\":\"bench_modes\",\"scenario\":\"6 V2 pools, one V2Sync per tick, tick->first signal\",\"ticks\":%zu,"
              "\"cpus\":[%d,%d],\"cpu_pair\":\"%s\",\"hardware_threads\":%u,\"modes\":[",
              ticks, cpus[0], cpus[1], cpus[0] >= 0 && cpus[1] >= 0 ? bench::cpu_pair_kind(cpus[0], cpus[1]) : "unpinned",
              std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    std::printf("%s{\"mode\":\"%s\",\"samples\":%zu,\"timeouts\":%llu,\"signals\":%llu,\"p50_ns\":%llu,\"p90_ns\":%llu,"
                "\"p99_ns\":%llu,\"p999_ns\":%llu,\"max_ns\":%llu}",
                i ? "," : "", r.name.c_str(), r.lat.size(), static_cast<unsigned long long>(r.timeouts),
                static_cast<unsigned long long>(r.signals), static_cast<unsigned long long>(pct(r.lat, 0.5)),
                static_cast<unsigned long long>(pct(r.lat, 0.9)), static_cast<unsigned long long>(pct(r.lat, 0.99)),
                static_cast<unsigned long long>(pct(r.lat, 0.999)), static_cast<unsigned long long>(pct(r.lat, 1.0)));
  }
  const double mono = static_cast<double>(pct(results[0].lat, 0.5));
  const double shm = static_cast<double>(pct(results[1].lat, 0.5));
  const double udp = static_cast<double>(pct(results[2].lat, 0.5));
  const double ratio = mono > 0 ? udp / mono : 0;
  std::printf("],\"ratio_p50_udp_over_monolith\":%.2f,\"ratio_p50_shm_over_monolith\":%.2f,\"bar\":\">= 5x\",\"pass\":%s}\n", ratio,
              mono > 0 ? shm / mono : 0.0, ratio >= 5.0 ? "true" : "false");
  return 0;
}
