// bench_nic — the NIC receive path, side by side in one run (JSON with --benchmark_format=json):
//   parse_udp_only       Ethernet/IPv4/UDP checks of one 162-byte packet (130-byte frame)
//   parse_frame_only     protocol::parse_frame (CRC32C + TLV walk) of the same frame (the peer)
//   parse_validate       both, i.e. the per-packet cost before sequencing
//   pipeline_single      RxPipeline::on_packet with the SequenceTracker (one line)
//   pipeline_ab          RxPipeline with A/B arbitration, lines missing disjoint 10%
//   poll_null            poll_port() bursts from DPDK net_null (64-byte packets, rejected at ethertype)
//   poll_pcap_replay     poll_port() bursts from DPDK net_pcap replaying valid frames in a loop
//                        (infinite_rx), full pipeline to a counting sink
//   rx_to_ring_direct    latency rx burst -> strategy ring: net_pcap replay of a generated capture
//                        (kRingFrames distinct sequences per pass, no infinite_rx so nothing is
//                        dropped as stale), RxPipeline whose sink copies each validated frame into
//                        a torq::ring SPSC ring (LocalRing, NUMA-local memory) drained by a
//                        consumer (see below)
//   rx_to_ring_relay     the same with mycelium::Relay<RingOutput> as the sink (poll loop -> relay
//                        -> ring; the relay trusts the pipeline's CRC check: validate = false)
//   rx_to_ring_*         drain the ring on the poll thread after each burst (outside the stamped
//                        window); rx_to_ring_relay_xcpu drains it from a thread on another CPU
//                        (the strategy's side; a full ring drops and counts, never blocks)
//   Per frame: TSC right after rte_eth_rx_burst returns (once per burst) and right after the
//   frame's commit into the ring; counters p50_ns/p99_ns/p99_9_ns/max_ns (torq::bench harness),
//   items_per_second = frames committed per second through the whole loop.
// items_per_second = packets/s on one core. DPDK benchmarks are skipped without DPDK.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>
#include <type_traits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "torq/bench/latency.hpp"
#include "torq/hw/affinity.hpp"
#include "torq/hw/tsc.hpp"
#include "torq/mycelium/relay.hpp"
#include "torq/nic/config.hpp"
#include "torq/nic/dpdk.hpp"
#include "torq/nic/pcap.hpp"
#include "torq/nic/receiver.hpp"
#include "torq/nic/rx_pipeline.hpp"
#include "torq/ring/local_ring.hpp"
#include "torq/ring/spsc_ring.hpp"

namespace {
using namespace torq::nic;

struct CountSink {
  std::uint64_t n = 0;
  void on_frame(std::span<const std::byte> f) noexcept { n += f.size() != 0; }
};

UdpEndpoints endpoints() {
  UdpEndpoints ep;
  ep.src_ip = ipv4(10, 0, 0, 1);
  ep.dst_ip = ipv4(10, 0, 0, 2);
  ep.src_port = 40000;
  ep.dst_port = 9000;
  return ep;
}

std::vector<std::vector<std::byte>> packets(std::size_t n, std::function<bool(std::uint64_t)> keep = {}) {
  FeedSpec s;
  s.count = n;
  s.endpoints = endpoints();
  s.keep = std::move(keep);
  return make_feed_packets(s).packets;
}

void parse_udp_only(benchmark::State& st) {
  const auto p = packets(1)[0];
  for (auto _ : st) {
    auto r = parse_udp_packet(p);
    benchmark::DoNotOptimize(r);
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(parse_udp_only);

void parse_frame_only(benchmark::State& st) {
  const auto p = packets(1)[0];
  const auto f = std::span<const std::byte>(p).subspan(kUdpHeadersSize);
  for (auto _ : st) {
    auto r = torq::protocol::parse_frame(f);
    benchmark::DoNotOptimize(r);
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(parse_frame_only);

void parse_validate(benchmark::State& st) {
  const auto p = packets(1)[0];
  for (auto _ : st) {
    const UdpPacket u = parse_udp_packet(p);
    auto r = torq::protocol::parse_frame(udp_payload(p, u));
    benchmark::DoNotOptimize(r);
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(parse_validate);

void pipeline_single(benchmark::State& st) {
  const auto ps = packets(4096);
  CountSink sink;
  RxPipelineConfig c;
  RxPipeline<CountSink> p(c, sink);
  std::size_t i = 0;
  for (auto _ : st) {
    p.on_packet(0, ps[i], 0);  // sequences wrap every 4096: counted as stale after the first lap
    i = (i + 1) & 4095;
  }
  st.SetItemsProcessed(st.iterations());
  st.counters["delivered"] = static_cast<double>(sink.n);
}
BENCHMARK(pipeline_single);

void pipeline_ab(benchmark::State& st) {
  constexpr std::size_t kN = 1 << 16;
  const auto a = packets(kN, [](std::uint64_t s) { return s % 10 != 3; });
  const auto b = packets(kN, [](std::uint64_t s) { return s % 10 != 7; });
  CountSink sink;
  RxPipelineConfig c;
  c.lines = 2;
  c.arbitrate = true;
  std::uint64_t gaps = 0, delivered = 0;
  for (auto _ : st) {
    st.PauseTiming();
    auto p = std::make_unique<RxPipeline<CountSink>>(c, sink);
    st.ResumeTiming();
    for (std::size_t i = 0; i < a.size() || i < b.size(); ++i) {
      if (i < a.size()) p->on_packet(0, a[i], 0);
      if (i < b.size()) p->on_packet(1, b[i], 0);
    }
    gaps += p->missing();
    delivered += p->delivered();
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * (a.size() + b.size())));
  st.counters["missing"] = static_cast<double>(gaps);
  st.counters["delivered_per_iter"] = static_cast<double>(delivered) / static_cast<double>(st.iterations());
}
BENCHMARK(pipeline_ab)->Unit(benchmark::kMillisecond);

std::unique_ptr<dpdk::MbufPools> g_pools;
std::string g_pcap;
std::string g_ring_pcap;
torq::hw::TscClock g_clock;
std::vector<int> g_cpus;  // allowed CPUs before main() pinned itself

void poll_null(benchmark::State& st) {
  if (!g_pools) {
    st.SkipWithError("DPDK not available");
    return;
  }
  dpdk::Port port(dpdk::PortConfig{"net_null20,size=64"}, *g_pools);
  CountSink sink;
  RxPipeline<CountSink> p(RxPipelineConfig{}, sink);
  std::size_t n = 0;
  for (auto _ : st) n += poll_port(port, 0, 0, p, 0, 32);
  st.SetItemsProcessed(static_cast<std::int64_t>(n));
  st.counters["pkts_per_poll"] = static_cast<double>(n) / static_cast<double>(st.iterations());
}
BENCHMARK(poll_null);

void poll_pcap_replay(benchmark::State& st) {
  if (!g_pools) {
    st.SkipWithError("DPDK not available");
    return;
  }
  dpdk::Port port(dpdk::PortConfig{"net_pcap20,rx_pcap=" + g_pcap + ",infinite_rx=1"}, *g_pools);
  CountSink sink;
  RxPipeline<CountSink> p(RxPipelineConfig{}, sink);
  std::size_t n = 0;
  for (auto _ : st) n += poll_port(port, 0, 0, p, 0, 32);
  st.SetItemsProcessed(static_cast<std::int64_t>(n));
  st.counters["valid_frames"] = static_cast<double>(p.counters().frames);
  st.counters["bad"] = static_cast<double>(p.counters().bad_packets() + p.counters().bad_frames());
}
BENCHMARK(poll_pcap_replay);

// ---- rx burst -> strategy ring ----------------------------------------------------------------

constexpr std::size_t kRingFrames = 1 << 18;  // distinct frames per pass (capture: ~47 MB)
constexpr int kRingPasses = 4;                 // passes (fresh port, pipeline, relay each)
constexpr std::uint64_t kRingCapacity = 1 << 20;

// State shared by the poll loop and the sink: the ring producer, the TSC stamp of the current
// burst, the latency samples.
struct RingPath {
  torq::ring::SpscProducer* producer = nullptr;
  torq::bench::LatencyRecorder* rec = nullptr;
  std::uint64_t burst_tsc = 0;
  std::uint64_t committed = 0;
  std::uint64_t full = 0;

  bool publish(std::span<const std::byte> f) noexcept {
    const std::span<std::byte> dst = producer->try_claim(static_cast<std::uint32_t>(f.size()));
    if (dst.empty()) [[unlikely]] {
      ++full;
      return false;
    }
    std::memcpy(dst.data(), f.data(), f.size());
    (void)producer->commit();
    rec->record(torq::hw::rdtsc() - burst_tsc);
    ++committed;
    return true;
  }
};

// Sink of RxPipeline: frame -> ring directly.
struct RingSink {
  RingPath* path;
  void on_frame(std::span<const std::byte> f) noexcept { (void)path->publish(f); }
};

// Output of mycelium::Relay: frame -> ring (full ring = would_block, counted by the relay).
struct RingOutput {
  RingPath* path;
  [[nodiscard]] torq::mycelium::PublishResult try_publish(std::span<const std::byte> f) noexcept {
    return path->publish(f) ? torq::mycelium::PublishResult::ok : torq::mycelium::PublishResult::would_block;
  }
};

// poll_port() with a TSC stamp right after rte_eth_rx_burst returns.
template <class Sink>
std::size_t poll_stamped(dpdk::Port& port, RxPipeline<Sink>& pipeline, RingPath& path) noexcept {
  std::array<dpdk::RxPacket, 32> pk;
  const std::uint16_t n = port.rx_burst(0, pk);
  path.burst_tsc = torq::hw::rdtsc();
  if (n == 0) return 0;
  for (std::uint16_t i = 0; i < n; ++i) {
    if (pk[i].segments != 1) [[unlikely]] {
      pipeline.on_multi_segment(0);
      continue;
    }
    pipeline.on_packet(0, std::span<const std::byte>(pk[i].data, pk[i].size), 0);
  }
  dpdk::Port::release(std::span<const dpdk::RxPacket>(pk.data(), n));
  return n;
}

template <bool kRelay, bool kThread>
void rx_to_ring(benchmark::State& st) {
  if (!g_pools) {
    st.SkipWithError("DPDK not available");
    return;
  }
  torq::ring::LocalRing ring = torq::ring::LocalRing::create(kRingCapacity);
  auto prod = torq::ring::SpscProducer::attach(ring.region());
  auto cons = torq::ring::SpscConsumer::attach(ring.region());
  if (!prod || !cons) {
    st.SkipWithError("ring attach failed");
    return;
  }
  torq::bench::LatencyRecorder rec(kRingFrames * kRingPasses);
  RingPath path{&*prod, &rec};
  const int self = torq::hw::current_cpu();
  int other = -1;
  for (int c : g_cpus) {
    if (kThread && c != self) other = c;
  }
  std::uint64_t consumed = 0, gaps = 0, bad = 0;
  std::size_t port_no = 0;
  for (auto _ : st) {
    st.PauseTiming();
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> drained{0};
    std::uint64_t expect = 1;  // sequences of the pass start at 1: checked in the consumer
    std::uint64_t order_errors = 0;
    auto drain = [&](torq::ring::SpscConsumer& c) noexcept {
      return c.consume_burst([&](std::span<const std::byte> f) noexcept {
        torq::protocol::FrameHeader h;
        std::memcpy(&h, f.data(), sizeof h);
        order_errors += h.sequence != expect;
        expect = h.sequence + 1;
      }, 256);
    };
    std::thread consumer;
    if (other >= 0) {
      consumer = std::thread([&] {
        (void)torq::hw::pin_current_thread(other);
        std::uint64_t n = 0;
        while (!stop.load(std::memory_order_acquire)) n += drain(*cons);
        while (std::size_t k = drain(*cons)) n += k;
        drained.store(n, std::memory_order_release);
      });
    }
    auto port = std::make_unique<dpdk::Port>(
        dpdk::PortConfig{"net_pcap" + std::to_string(30 + port_no++) + ",rx_pcap=" + g_ring_pcap}, *g_pools);
    torq::mycelium::RelayConfig rc;
    rc.validate = false;
    torq::mycelium::Relay<RingOutput> relay(rc);
    relay.add_output(RingOutput{&path});
    RingSink direct{&path};
    using Sink = std::conditional_t<kRelay, torq::mycelium::Relay<RingOutput>, RingSink>;
    Sink* sink_ptr;
    if constexpr (kRelay) {
      sink_ptr = &relay;
    } else {
      sink_ptr = &direct;
    }
    RxPipeline<Sink> pipeline(RxPipelineConfig{}, *sink_ptr);
    st.ResumeTiming();
    std::size_t idle = 0;
    while (pipeline.counters().packets < kRingFrames && idle < (1u << 22)) {
      if (poll_stamped(*port, pipeline, path) == 0) {
        ++idle;
      } else {
        idle = 0;
      }
      if (other < 0) consumed += drain(*cons);
    }
    st.PauseTiming();
    stop.store(true, std::memory_order_release);
    if (consumer.joinable()) {
      consumer.join();
      consumed += drained.load(std::memory_order_acquire);
    } else {
      while (std::size_t k = drain(*cons)) consumed += k;
    }
    gaps += order_errors;
    bad += pipeline.counters().bad_packets() + pipeline.counters().bad_frames();
    port.reset();
    st.ResumeTiming();
  }
  const torq::bench::LatencySummary s = rec.summarize(g_clock);
  st.SetItemsProcessed(static_cast<std::int64_t>(path.committed));
  st.counters["frames"] = static_cast<double>(path.committed);
  st.counters["consumed"] = static_cast<double>(consumed);
  st.counters["ring_full"] = static_cast<double>(path.full);
  st.counters["order_errors"] = static_cast<double>(gaps);
  st.counters["bad"] = static_cast<double>(bad);
  st.counters["min_ns"] = s.min_ns;
  st.counters["p50_ns"] = s.p50_ns;
  st.counters["p90_ns"] = s.p90_ns;
  st.counters["p99_ns"] = s.p99_ns;
  st.counters["p99_9_ns"] = s.p999_ns;
  st.counters["max_ns"] = s.max_ns;
  st.counters["samples"] = static_cast<double>(s.count);
  st.SetLabel(other >= 0 ? "consumer thread on cpu " + std::to_string(other) : "inline drain after each burst");
}
void rx_to_ring_direct(benchmark::State& st) { rx_to_ring<false, false>(st); }
void rx_to_ring_relay(benchmark::State& st) { rx_to_ring<true, false>(st); }
void rx_to_ring_relay_xcpu(benchmark::State& st) { rx_to_ring<true, true>(st); }
BENCHMARK(rx_to_ring_direct)->Iterations(kRingPasses)->Unit(benchmark::kMillisecond);
BENCHMARK(rx_to_ring_relay)->Iterations(kRingPasses)->Unit(benchmark::kMillisecond);
BENCHMARK(rx_to_ring_relay_xcpu)->Iterations(kRingPasses)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  g_cpus = torq::hw::allowed_cpus();
  const int cpu = torq::hw::current_cpu();
  if (cpu >= 0) (void)torq::hw::pin_current_thread(cpu);
  g_pcap = (std::filesystem::temp_directory_path() / ("bench_nic_" + std::to_string(getpid()) + ".pcap")).string();
  g_ring_pcap = (std::filesystem::temp_directory_path() / ("bench_nic_ring_" + std::to_string(getpid()) + ".pcap")).string();
  if (dpdk::available()) {
    try {
      write_pcap(g_pcap, packets(4096));
      write_pcap(g_ring_pcap, packets(kRingFrames));
      g_clock = torq::hw::TscClock::calibrate();
      EalOptions o;
      o.cores = std::to_string(cpu < 0 ? 0 : cpu);
      o.file_prefix = "bench_nic_" + std::to_string(getpid());
      o.log_level = "*:error";
      // PMDs from elsewhere than DPDK's built-in plugin directory (a host without the DPDK
      // packages, the libraries copied next to the binary): a colon-separated list of .so files
      // or directories, as [nic.eal] driver_paths.
      if (const char* d = std::getenv("TORQ_BENCH_DPDK_DRIVERS"); d != nullptr) {
        for (std::string_view rest = d; !rest.empty();) {
          const auto colon = rest.find(':');
          if (colon != 0) o.driver_paths.emplace_back(rest.substr(0, colon));
          if (colon == std::string_view::npos) break;
          rest.remove_prefix(colon + 1);
        }
      }
      dpdk::eal_init(eal_arguments(o, hugepages_available()));
      g_pools = std::make_unique<dpdk::MbufPools>(dpdk::MbufPoolConfig{}, "bench");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_nic: DPDK benchmarks skipped: %s\n", e.what());
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_pools.reset();
  std::filesystem::remove(g_pcap);
  std::filesystem::remove(g_ring_pcap);
  return 0;
}
