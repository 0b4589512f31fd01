// bench_transports — one-way latency of the same Protocol V2 message stream through every
// Mycelium transport: in-process ring, shared-memory ring across processes, Unix domain socket
// and UDP loopback; plus the raw torq::ring producer/consumer as the peer that shows what the
// Mycelium layer itself costs. Prints one JSON object on stdout and a table on stderr.
//
// Method: a producer (pinned) sends `--messages` frames at a fixed pace (`--interval-ns`), each
// built with FrameBuilder (one V2Sync TLV, CRC32C) and stamped with rdtsc() in the header's
// timestamp field just before building; the consumer (pinned to another CPU, busy-spin idle,
// polling the concrete transport through run_consumer) records rdtsc() - stamp. So each sample
// is build + CRC + publish + transport + receive (+ parse_frame validation on the socket
// transports, which validate untrusted input). The first `--warmup` frames are not recorded. The
// shm producer is a forked child process; the others are threads. Lost frames (UDP) are reported.
//
// Usage: bench_transports [--messages N] [--warmup N] [--interval-ns N] [--only inproc,shm,uds,udp,ring_raw]
//        [--long] (10x messages)
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "torq/bench/args.hpp"
#include "torq/bench/latency.hpp"
#include "torq/hw/tsc.hpp"
#include "torq/mycelium/transport.hpp"
#include "torq/protocol/frame.hpp"
#include "torq/ring/local_ring.hpp"
#include "torq/ring/shm_segment.hpp"

namespace {

using namespace torq;
using namespace torq::mycelium;

struct Options {
  std::uint64_t messages = 100'000;
  std::uint64_t warmup = 2'000;
  std::uint64_t interval_ns = 10'000;
  std::vector<std::string> only{"ring_raw", "inproc", "shm", "uds", "udp"};
};

struct Result {
  std::string transport;
  std::string config;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t retries = 0;  // would_block / not_connected answers the producer retried
  bench::LatencySummary latency;
};

hw::TscClock g_clock;
// Set by the consumer once it is pinned and warm; the producer waits for it. Lives in a
// MAP_SHARED page so that a forked producer sees it too.
std::atomic<int>* g_consumer_ready = nullptr;
int g_cpu_producer = -1;
int g_cpu_consumer = -1;

// Builds frame `seq` stamped with the TSC and publishes it, retrying on back pressure.
template <class Publish>
std::uint64_t send_paced(const Options& o, Publish&& publish) {
  (void)bench::pin_and_warm(g_cpu_producer, std::chrono::milliseconds(20));
  while (g_consumer_ready->load(std::memory_order_acquire) == 0) cpu_relax();
  std::vector<std::byte> buf(protocol::kMaxFrameSize);
  const std::uint64_t interval = std::max<std::uint64_t>(1, o.interval_ns * g_clock.hz() / 1'000'000'000u);
  std::uint64_t retries = 0;
  std::uint64_t next = hw::rdtsc();
  const std::uint64_t total = o.messages + o.warmup;
  for (std::uint64_t seq = 1; seq <= total; ++seq) {
    while (hw::rdtsc() < next) cpu_relax();
    next += interval;
    const std::uint64_t t0 = hw::rdtsc();
    protocol::FrameBuilder b(buf, protocol::RelayDomain::MarketData, 1);
    protocol::V2Sync s{};
    s.ctx.block_number = seq;
    s.reserve0 = protocol::U256(seq);
    if (!b.add(s)) std::abort();
    const auto f = b.finish(seq, t0);
    while (!publish(f)) {
      ++retries;
      cpu_relax();
    }
  }
  return retries;
}

struct Recorder {
  bench::LatencyRecorder rec;
  std::uint64_t warmup;
  std::uint64_t received = 0;
  void operator()(std::span<const std::byte> f) noexcept {
    const std::uint64_t now = hw::rdtscp();  // after the frame's loads, not before
    protocol::FrameHeader h;
    std::memcpy(&h, f.data(), sizeof h);
    ++received;
    if (h.sequence > warmup) rec.record_interval(h.timestamp_ns, now);
  }
};

// Polls the concrete subscriber with busy-spin until all frames arrived, or no frame came for
// 500 ms after the producer finished (UDP loss).
template <class Sub>
void receive_all(Sub& sub, Recorder& r, const Options& o, const std::atomic<bool>& producer_done) {
  (void)bench::pin_and_warm(g_cpu_consumer, std::chrono::milliseconds(20));
  g_consumer_ready->store(1, std::memory_order_release);
  const std::uint64_t total = o.messages + o.warmup;
  std::uint64_t quiet_since = 0;
  BusySpinIdle idle;
  while (r.received < total) {
    const std::size_t n = sub.poll(r, 64);
    idle.idle(n);
    if (n == 0 && producer_done.load(std::memory_order_relaxed)) {
      const std::uint64_t now = hw::rdtsc();
      if (quiet_since == 0) quiet_since = now;
      if (g_clock.to_ns(now - quiet_since) > 500'000'000u) break;
    } else {
      quiet_since = 0;
    }
  }
  g_consumer_ready->store(0, std::memory_order_release);
}

template <class Sub, class Pub>
Result run_threads(const Options& o, const std::string& name, const std::string& cfg, Sub& sub, Pub& pub) {
  Result res;
  res.transport = name;
  res.config = cfg;
  Recorder r{bench::LatencyRecorder(o.messages), o.warmup};
  std::atomic<bool> done{false};
  std::thread consumer([&] { receive_all(sub, r, o, done); });
  std::thread producer([&] {
    res.retries = send_paced(o, [&](std::span<const std::byte> f) noexcept { return pub.try_publish(f) == PublishResult::ok; });
    done.store(true);
  });
  producer.join();
  consumer.join();
  res.sent = o.messages + o.warmup;
  res.received = r.received;
  res.latency = r.rec.summarize(g_clock);
  return res;
}

// Same-thread mode: one pinned thread builds, publishes and polls each frame before the next.
// No cross-core hand-off and no scheduling of a second thread: the per-message software cost of
// each transport path (stable even on hosts whose vCPUs stall, where cross-thread tails are noise).
template <class Sub, class Pub>
Result run_inline(const Options& o, const std::string& name, const std::string& cfg, Sub& sub, Pub& pub) {
  Result res;
  res.transport = name;
  res.config = cfg;
  Recorder r{bench::LatencyRecorder(o.messages), o.warmup};
  (void)bench::pin_and_warm(g_cpu_consumer, std::chrono::milliseconds(20));
  std::vector<std::byte> buf(protocol::kMaxFrameSize);
  const std::uint64_t total = o.messages + o.warmup;
  for (std::uint64_t seq = 1; seq <= total; ++seq) {
    const std::uint64_t t0 = hw::rdtsc();
    protocol::FrameBuilder b(buf, protocol::RelayDomain::MarketData, 1);
    protocol::V2Sync s{};
    s.ctx.block_number = seq;
    s.reserve0 = protocol::U256(seq);
    if (!b.add(s)) std::abort();
    const auto f = b.finish(seq, t0);
    while (pub.try_publish(f) != PublishResult::ok) ++res.retries;
    const std::uint64_t before = r.received;
    for (std::uint64_t spins = 0; r.received == before && spins < 100'000'000; ++spins) (void)sub.poll(r, 64);
  }
  res.sent = total;
  res.received = r.received;
  res.latency = r.rec.summarize(g_clock);
  return res;
}

struct RawSub {
  ring::SpscConsumer* c;
  template <class H>
  std::size_t poll(H& h, std::size_t max) noexcept { return c->consume_burst(h, max); }
};
struct RawPub {
  ring::SpscProducer* p;
  PublishResult try_publish(std::span<const std::byte> f) noexcept {
    return p->try_publish(f) == ring::PublishResult::ok ? PublishResult::ok : PublishResult::would_block;
  }
};
constexpr const char* kRawConfig = "torq::ring SpscProducer/SpscConsumer (no Mycelium layer)";

Result run_ring_raw(const Options& o, bool inline_mode) {
  auto ring = ring::LocalRing::create(1u << 20);
  auto p = ring::SpscProducer::attach(ring.region());
  auto c = ring::SpscConsumer::attach(ring.region());
  RawSub sub{&c.value};
  RawPub pub{&p.value};
  return inline_mode ? run_inline(o, "ring_raw", kRawConfig, sub, pub) : run_threads(o, "ring_raw", kRawConfig, sub, pub);
}

Result run_shm(const Options& o) {
  const std::string name = "torq-bench-myc-" + std::to_string(::getpid());
  const std::string cfg = "shm:/" + name + "?capacity=1048576&unlink=1";
  auto sub = open_shm_subscriber(parse_transport_config(cfg));
  const pid_t child = ::fork();
  if (child < 0) std::abort();
  if (child == 0) {
    int rc = 0;
    try {
      auto pub = open_shm_publisher(parse_transport_config("shm:/" + name));
      (void)send_paced(o, [&](std::span<const std::byte> f) noexcept { return pub.try_publish(f) == PublishResult::ok; });
    } catch (...) {
      rc = 2;
    }
    ::_exit(rc);
  }
  Result res;
  res.transport = "shm";
  res.config = cfg + " (producer in a forked process)";
  Recorder r{bench::LatencyRecorder(o.messages), o.warmup};
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    int status = 0;
    ::waitpid(child, &status, 0);
    done.store(true);
  });
  receive_all(sub, r, o, done);
  waiter.join();
  res.sent = o.messages + o.warmup;
  res.received = r.received;
  res.latency = r.rec.summarize(g_clock);
  return res;
}

bool wanted(const Options& o, const char* t) {
  return std::find(o.only.begin(), o.only.end(), t) != o.only.end();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bench::ArgReader args(argc, argv,
                        "usage: bench_transports [--messages N] [--warmup N] [--interval-ns N] [--long]\n"
                        "                        [--only ring_raw,inproc,shm,uds,udp]");
  while (args.next()) {
    if (args.is("--messages")) o.messages = args.u64(1, 1'000'000'000);
    else if (args.is("--warmup")) o.warmup = args.u64(0, 1'000'000'000);
    else if (args.is("--interval-ns")) o.interval_ns = args.u64(0, 1'000'000'000);
    else if (args.is("--long")) o.messages *= 10;
    else if (args.is("--only")) o.only = args.choice_list({"ring_raw", "inproc", "shm", "uds", "udp"});
    else args.unknown();
  }
  g_clock = hw::TscClock::calibrate();
  void* shared = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return 1;
  g_consumer_ready = new (shared) std::atomic<int>(0);
  std::tie(g_cpu_producer, g_cpu_consumer) = bench::pick_two_cpus();

  std::vector<Result> cross;
  std::vector<Result> same;
  try {
    const std::string pid = std::to_string(::getpid());
    for (const bool inline_mode : {false, true}) {
      std::vector<Result>& out = inline_mode ? same : cross;
      auto run = [&](const std::string& name, const std::string& cfg, auto& sub, auto& pub) {
        out.push_back(inline_mode ? run_inline(o, name, cfg, sub, pub) : run_threads(o, name, cfg, sub, pub));
      };
      if (wanted(o, "ring_raw")) out.push_back(run_ring_raw(o, inline_mode));
      if (wanted(o, "inproc")) {
        const std::string cfg = "inproc:bench-" + std::string(inline_mode ? "same" : "cross") + "?capacity=1048576";
        auto sub = open_inproc_subscriber(parse_transport_config(cfg));
        auto pub = open_inproc_publisher(parse_transport_config(cfg));
        run("inproc", cfg, sub, pub);
      }
      if (wanted(o, "shm")) {
        if (!inline_mode) {
          out.push_back(run_shm(o));
        } else {
          const std::string cfg = "shm:/torq-bench-myc-same-" + pid + "?capacity=1048576&unlink=1";
          auto sub = open_shm_subscriber(parse_transport_config(cfg));
          auto pub = open_shm_publisher(parse_transport_config(cfg));
          run("shm", cfg, sub, pub);
        }
      }
      if (wanted(o, "uds")) {
        const std::string cfg = "uds:/tmp/torq-bench-myc-" + pid + ".sock";
        auto sub = open_uds_subscriber(parse_transport_config(cfg));
        auto pub = open_uds_publisher(parse_transport_config(cfg));
        run("uds", cfg, sub, pub);
      }
      if (wanted(o, "udp")) {
        auto sub = open_udp_subscriber(parse_transport_config("udp://127.0.0.1:0?rcvbuf=4194304"));
        const std::string cfg = "udp://127.0.0.1:" + std::to_string(sub.port());
        auto pub = open_udp_publisher(parse_transport_config(cfg));
        run("udp", cfg, sub, pub);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_transports: %s\n", e.what());
    return 1;
  }

  auto report = [](const char* title, const std::vector<Result>& results) {
    std::vector<std::string> items;
    std::fprintf(stderr, "%s\n%-9s %10s %9s %9s %9s %9s %9s %9s %8s\n", title, "transport", "received", "min_ns",
                 "p50_ns", "p90_ns", "p99_ns", "p99.9_ns", "max_ns", "lost");
    for (const Result& r : results) {
      bench::JsonObject j;
      j.add("transport", r.transport).add("config", r.config).add("sent", r.sent).add("received", r.received);
      j.add("lost", r.sent - r.received).add("producer_retries", r.retries).add("latency", bench::to_json(r.latency));
      items.push_back(j.str());
      std::fprintf(stderr, "%-9s %10llu %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f %8llu\n", r.transport.c_str(),
                   static_cast<unsigned long long>(r.received), r.latency.min_ns, r.latency.p50_ns, r.latency.p90_ns,
                   r.latency.p99_ns, r.latency.p999_ns, r.latency.max_ns,
                   static_cast<unsigned long long>(r.sent - r.received));
    }
    return bench::json_array(items);
  };
  bench::JsonObject top;
  top.add("benchmark", "bench_transports").add("metric", "one-way latency, build+publish+transport+receive");
  top.add("tsc_ghz", g_clock.ghz()).add("tsc_invariant", g_clock.invariant());
  top.add("cpu_producer", g_cpu_producer).add("cpu_consumer", g_cpu_consumer);
  top.add("cpu_pair", bench::cpu_pair_kind(g_cpu_producer, g_cpu_consumer));
  top.add("messages", o.messages).add("warmup", o.warmup).add("interval_ns", o.interval_ns);
  top.add("frame_bytes", static_cast<std::uint64_t>(protocol::kHeaderSize + 2 + sizeof(protocol::V2Sync)));
  top.raw("cross_thread", report("cross-thread (producer and consumer pinned to two CPUs; shm producer in another process)", cross));
  top.raw("same_thread", report("same-thread (publish then poll on one pinned thread)", same));
  std::printf("%s\n", top.str().c_str());
  return 0;
}
