// bench_link_repair — what a lost datagram costs on a udp:// market-data link (JSON on stdout).
//
// torqd's link bridges over loopback with a lossy hop between them: a local ring → LinkEgress
// (thread) → UDP → a forwarder that drops every `--drop-every`-th data frame once (thread) → UDP
// → LinkIngress (thread) → a local ring read by this thread, which also publishes the frames at a
// fixed pace (`--interval-us`) with the TSC in the header's timestamp. Latency = TSC when the frame
// leaves the receiving ring − its stamp. Two runs on the same stream:
//   - resend: the back channel is on (LinkIngress::request_from, LinkEgress::listen_for_requests):
//     a hole holds the frames behind it in the reorder buffer until the resent frame fills it;
//   - peer_no_back_channel: the same link without it (per-source tracker): a lost frame is a gap,
//     the frames behind it pass at once, and the lost one is gone (a full resnapshot, RPC-bound,
//     would be needed to repair what it carried).
// Reported per run: every frame's latency, the lost-and-resent frames' latency (the repair time),
// the latency of frames that waited behind a hole, frames delivered / lost, resend counters.
// The bridges use the yield idle strategy (more threads than cores on small machines; pinned,
// busy-spinning bridges would be faster and are what a deployment runs).
// Usage: bench_link_repair [--frames N] [--interval-us N] [--drop-every N]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "torq/bench/args.hpp"
#include "torq/bench/latency.hpp"
#include "torq/hw/tsc.hpp"
#include "torq/mycelium/heartbeat.hpp"
#include "torq/mycelium/socket_transport.hpp"
#include "torq/protocol/frame.hpp"
#include "torq/ring/local_ring.hpp"
#include "torq/torqd/links.hpp"
#include "../../tests/e2e/net_util.hpp"  // free_udp_port

namespace {

using namespace torq;
using e2e::free_udp_port;

std::string udp(std::uint16_t port) { return "udp://127.0.0.1:" + std::to_string(port); }

struct RunResult {
  bench::LatencySummary all, resent, behind_hole;
  std::uint64_t delivered = 0, dropped_by_hop = 0, gaps = 0, missing = 0, late = 0;
  std::uint64_t resend_requests_sent = 0, frames_resent = 0, resend_unavailable = 0;
};

RunResult run(bool back_channel, std::size_t frames, std::uint64_t interval_ns, std::uint64_t drop_every,
              const hw::TscClock& clock) {
  const std::uint16_t hop_port = free_udp_port(), in_port = free_udp_port(), req_port = free_udp_port();
  ring::LocalRing src = ring::LocalRing::create(1 << 22), dst = ring::LocalRing::create(1 << 22);
  auto src_prod = std::move(ring::SpscProducer::attach(src.region()).value);
  auto src_cons = std::move(ring::SpscConsumer::attach(src.region()).value);
  auto dst_prod = std::move(ring::SpscProducer::attach(dst.region()).value);
  auto dst_cons = std::move(ring::SpscConsumer::attach(dst.region()).value);

  nic::NicConfig rx = torqd::nic_config_for(ops::NicConfig{}, udp(in_port), "", -1);
  rx.arbitrate = back_channel;
  torqd::LinkIngress in("market_data", rx, dst_prod);
  torqd::LinkEgress eg("market_data", {udp(hop_port)}, 12, src_cons, nullptr, 10'000'000);
  if (back_channel) {
    in.request_from(udp(req_port), 12);
    eg.listen_for_requests(udp(req_port), torqd::SnapshotRequestHook{}, 1'000'000'000);
  }
  auto hop_in = mycelium::open_udp_subscriber(mycelium::parse_transport_config(udp(hop_port)));
  auto hop_out = mycelium::open_udp_publisher(mycelium::parse_transport_config(udp(in_port)));

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> dropped{0};
  std::vector<std::atomic<std::uint8_t>> was_dropped(frames + 2);  // by link sequence (written by the hop only)
  std::thread eg_thread([&] { eg.run(stop, -1, torqd::IdleKind::yield); });
  std::thread in_thread([&] { (void)in.run(stop, torqd::IdleKind::yield); });
  std::thread hop_thread([&] {
    std::vector<std::uint8_t> seen(frames + 2, 0);
    while (!stop.load(std::memory_order_acquire)) {
      const std::size_t n = hop_in.poll(
          [&](std::span<const std::byte> f) noexcept {
            protocol::FrameHeader h;
            std::memcpy(&h, f.data(), sizeof h);
            if (!mycelium::heartbeat_of(protocol::parse_frame(f).view) && h.sequence < seen.size() && h.sequence % drop_every == 0 && seen[h.sequence] == 0) {
              seen[h.sequence] = 1;  // the first copy is lost; a resend passes
              was_dropped[h.sequence].store(1, std::memory_order_relaxed);
              dropped.fetch_add(1, std::memory_order_release);
              return;
            }
            (void)hop_out.try_publish(f);
          },
          64);
      if (n == 0) std::this_thread::yield();
    }
  });

  bench::LatencyRecorder all(frames), resent(frames), behind(frames);
  std::vector<std::byte> buf(256);
  std::uint64_t delivered = 0;
  // The hop marks a dropped frame before it forwards anything after it, and a frame read here
  // passed the hop after its predecessor's first copy did (order is kept end to end).
  const auto dropped_at = [&](std::uint64_t seq) {
    return seq < was_dropped.size() && was_dropped[seq].load(std::memory_order_relaxed) != 0;
  };
  const auto consume = [&] {
    (void)dst_cons.consume_burst(
        [&](std::span<const std::byte> f) noexcept {
          const std::uint64_t now = hw::rdtscp();
          protocol::FrameHeader h;
          std::memcpy(&h, f.data(), sizeof h);
          ++delivered;
          all.record_interval(h.timestamp_ns, now);
          if (dropped_at(h.sequence)) resent.record_interval(h.timestamp_ns, now);  // lost once, resent
          else if (h.sequence > 1 && dropped_at(h.sequence - 1))
            behind.record_interval(h.timestamp_ns, now);  // revealed the hole
        },
        64);
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // heartbeats out, threads up
  const std::uint64_t interval_cycles = clock.hz() * interval_ns / 1'000'000'000ULL;
  std::uint64_t next = hw::rdtsc();
  for (std::size_t i = 1; i <= frames; ++i) {
    while (hw::rdtsc() < next) {
      consume();
      std::this_thread::yield();  // five threads on as few as two cores
    }
    protocol::FrameBuilder b(buf, protocol::RelayDomain::MarketData, 10, protocol::frame_flags::kNoChecksum);
    protocol::BlockHeader v{};
    v.number = i;
    (void)b.add(v);
    const auto f = b.finish(i, hw::rdtsc());
    while (src_prod.try_publish(f) != ring::PublishResult::ok) consume();
    next += interval_cycles;
  }
  const std::uint64_t end = hw::rdtsc() + clock.hz() / 10;  // 100 ms for the last resends
  while (hw::rdtsc() < end) consume();
  stop.store(true, std::memory_order_release);
  eg_thread.join();
  in_thread.join();
  hop_thread.join();
  consume();

  RunResult r;
  r.all = all.summarize(clock);
  r.resent = resent.summarize(clock);
  r.behind_hole = behind.summarize(clock);
  r.delivered = delivered;
  r.dropped_by_hop = dropped.load();
  r.gaps = in.stats().gaps.load();
  r.missing = in.stats().missing.load();
  r.late = in.stats().late.load();
  r.resend_requests_sent = in.stats().resend_requests_sent.load();
  r.frames_resent = eg.stats().frames_resent.load();
  r.resend_unavailable = eg.stats().resend_unavailable.load();
  return r;
}

std::string to_json(const RunResult& r) {
  bench::JsonObject o;
  o.add("delivered", r.delivered);
  o.add("dropped_by_hop", r.dropped_by_hop);
  o.add("gaps", r.gaps);
  o.add("missing", r.missing);
  o.add("late", r.late);
  o.add("resend_requests_sent", r.resend_requests_sent);
  o.add("frames_resent", r.frames_resent);
  o.add("resend_unavailable", r.resend_unavailable);
  o.add("latency_all", bench::to_json(r.all));
  o.add("latency_resent_frames", bench::to_json(r.resent));
  o.add("latency_next_frame_after_a_hole", bench::to_json(r.behind_hole));
  return o.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t frames = 100'000;
  std::uint64_t interval_us = 20, drop_every = 100;
  bench::ArgReader args(argc, argv, "usage: bench_link_repair [--frames N] [--interval-us N] [--drop-every N (>= 2)]");
  while (args.next()) {
    if (args.is("--frames")) frames = args.u64(1, 100'000'000);
    else if (args.is("--interval-us")) interval_us = args.u64(0, 1'000'000);
    else if (args.is("--drop-every")) drop_every = args.u64(2, 1'000'000'000);
    else args.unknown();
  }
  const hw::TscClock clock = hw::TscClock::calibrate();
  const RunResult with = run(true, frames, interval_us * 1000, drop_every, clock);
  const RunResult without = run(false, frames, interval_us * 1000, drop_every, clock);
  bench::JsonObject top;
  top.add("benchmark", "bench_link_repair");
  top.add("tsc_ghz", clock.ghz());
  top.add("frames", static_cast<std::uint64_t>(frames));
  top.add("interval_us", interval_us);
  top.add("drop_every", drop_every);
  top.add("bridge_idle", "yield");
  top.raw("resend", to_json(with));
  top.raw("peer_no_back_channel", to_json(without));
  std::printf("%s\n", top.str().c_str());
  return 0;
}
