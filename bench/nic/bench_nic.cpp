// bench_nic — the NIC receive path, side by side in one run (JSON with --benchmark_format=json):
//   parse_udp_only       Ethernet/IPv4/UDP checks of one 162-byte packet (130-byte frame)
//   parse_frame_only     protocol::parse_frame (CRC32C + TLV walk) of the same frame (the peer)
//   parse_validate       both, i.e. the per-packet cost before sequencing
//   pipeline_single      RxPipeline::on_packet with the SequenceTracker (one line)
//   pipeline_ab          RxPipeline with A/B arbitration, lines missing disjoint 10%
//   poll_null            poll_port() bursts from DPDK net_null (64-byte packets, rejected at ethertype)
//   poll_pcap_replay     poll_port() bursts from DPDK net_pcap replaying valid frames in a loop
//                        (infinite_rx), full pipeline to a counting sink
// items_per_second = packets/s on one core. DPDK benchmarks are skipped without DPDK.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "torq/hw/affinity.hpp"
#include "torq/nic/config.hpp"
#include "torq/nic/dpdk.hpp"
#include "torq/nic/pcap.hpp"
#include "torq/nic/receiver.hpp"
#include "torq/nic/rx_pipeline.hpp"

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

}  // namespace

int main(int argc, char** argv) {
  const int cpu = torq::hw::current_cpu();
  if (cpu >= 0) (void)torq::hw::pin_current_thread(cpu);
  g_pcap = (std::filesystem::temp_directory_path() / ("bench_nic_" + std::to_string(getpid()) + ".pcap")).string();
  if (dpdk::available()) {
    try {
      write_pcap(g_pcap, packets(4096));
      EalOptions o;
      o.cores = std::to_string(cpu < 0 ? 0 : cpu);
      o.file_prefix = "bench_nic_" + std::to_string(getpid());
      o.log_level = "*:error";
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
  return 0;
}
