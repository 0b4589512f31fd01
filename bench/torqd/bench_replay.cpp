// bench_replay — latency regression benchmark of torqd's collector → strategy → executor path
// (docs/record-replay.md): replays a recording (default: the checked-in
// tests/data/torqd-recording.trec) as fast as possible, --iterations times, through the real
// NodeSession (transport answered from the file), ArbEngine and the dry-run executor stage, and
// prints one JSON object with per-stage percentiles over all iterations:
//   decode            recorded WebSocket message handed to the session → its frame at the sink
//                     (JSON decode, dedup/reorg checks, Protocol V2 frame)
//   engine            ArbEngine::on_frame (book update + cycle search) per frame
//   decide            one ArbitrageSignal through threshold, path, fees, risk gates, calldata and
//                     EIP-1559 signing
//   tick_to_decision  recorded message handed out → last decision of its frame
// Peer in the same run: control::LogDecoder::decode_message alone on the same messages (what the
// session adds around the decoder shows as decode − peer). Every iteration must replay
// identically (else exit 1): a latency number from a diverging replay would be meaningless.
//
//   bench_replay [--file F] [--iterations N] [--cpu C]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "torq/bench/args.hpp"
#include "torq/bench/latency.hpp"
#include "torq/control/log_decoder.hpp"
#include "torq/control/recording.hpp"
#include "torq/control/rpc_client.hpp"
#include "torq/hw/affinity.hpp"
#include "torq/torqd/replay.hpp"

#ifndef TORQ_SOURCE_DIR_DEFAULT
#define TORQ_SOURCE_DIR_DEFAULT "."
#endif

namespace {

using torq::bench::JsonObject;
using torq::bench::LatencySummary;

// Nearest-rank percentiles of ns samples, the same rule as LatencyRecorder::summarize.
LatencySummary summarize_ns(std::vector<std::uint64_t> v) {
  LatencySummary s;
  s.count = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  long double sum = 0;
  for (auto x : v) sum += static_cast<long double>(x);
  const auto pct = [&](double p) {
    auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
    rank = std::clamp<std::size_t>(rank, 1, v.size());
    return static_cast<double>(v[rank - 1]);
  };
  s.min_ns = static_cast<double>(v.front());
  s.max_ns = static_cast<double>(v.back());
  s.mean_ns = static_cast<double>(sum / static_cast<long double>(v.size()));
  s.p50_ns = pct(0.50);
  s.p90_ns = pct(0.90);
  s.p99_ns = pct(0.99);
  s.p999_ns = pct(0.999);
  s.p9999_ns = pct(0.9999);
  return s;
}

std::uint64_t mono_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace

int main(int argc, char** argv) {
  std::string file = std::string(TORQ_SOURCE_DIR_DEFAULT) + "/tests/data/torqd-recording.trec";
  int iterations = 20;
  int cpu = -1;
  torq::bench::ArgReader args(argc, argv, "usage: bench_replay [--file F] [--iterations N] [--cpu C]");
  while (args.next()) {
    if (args.is("--file")) file = args.str();
    else if (args.is("--iterations")) iterations = static_cast<int>(args.u64(1, 1'000'000));
    else if (args.is("--cpu")) cpu = static_cast<int>(args.u64(0, 65'535));
    else args.unknown();
  }
  try {
    // The session thread does all the work; pinning this thread first makes it inherit the CPU.
    if (cpu >= 0 && !torq::bench::pin_and_warm(cpu)) std::fprintf(stderr, "bench_replay: cannot pin to CPU %d\n", cpu);

    std::vector<std::uint64_t> decode, engine, decide, t2d, wall;
    std::uint64_t frames = 0, signals = 0, decisions = 0, messages = 0;
    bool identical = true;
    std::string first_bad;
    torq::torqd::ReplayOptions ro;
    ro.file = file;
    (void)torq::torqd::replay(ro);  // warm-up (page cache, allocator, signer tables)
    for (int it = 0; it < iterations; ++it) {
      const torq::torqd::ReplayResult r = torq::torqd::replay(ro);
      if (!r.identical() && identical) {
        identical = false;
        first_bad = r.summary_json();
      }
      decode.insert(decode.end(), r.decode_ns.begin(), r.decode_ns.end());
      engine.insert(engine.end(), r.engine_ns.begin(), r.engine_ns.end());
      decide.insert(decide.end(), r.decide_ns.begin(), r.decide_ns.end());
      t2d.insert(t2d.end(), r.tick_to_decision_ns.begin(), r.tick_to_decision_ns.end());
      wall.push_back(static_cast<std::uint64_t>(r.wall_s * 1e9));
      frames = r.frames;
      signals = r.signals;
      decisions = r.decisions;
    }

    // Peer: the decoder alone on the same recorded messages.
    const torq::control::RecordReader reader = torq::control::RecordReader::open(file);
    torq::protocol::Chain chain{};
    const auto registry = torq::torqd::recording_registry(reader.header(), &chain);
    torq::control::LogDecoder dec(registry, chain, 256 * 1024);
    std::vector<std::uint64_t> peer;
    for (int it = 0; it < iterations; ++it) {
      for (const auto& rec : reader.records()) {
        if (rec.kind != torq::control::RecordKind::WsRead || rec.status != 0) continue;
        if (it == 0) ++messages;
        torq::control::MessageKind kind{};
        const std::uint64_t t0 = mono_ns();
        const auto e = dec.decode_message(rec.body_text(), kind);
        peer.push_back(mono_ns() - t0);
        (void)e;
      }
    }

    JsonObject out;
    out.add("benchmark", "bench_replay");
    out.add("file", file);
    out.add("iterations", iterations);
    out.add("identical", identical);
    out.add("messages", messages);
    out.add("frames", frames);
    out.add("signals", signals);
    out.add("decisions", decisions);
    out.add("cpu", cpu);
    JsonObject stages;
    stages.add("decode", torq::bench::to_json(summarize_ns(decode)));
    stages.add("engine", torq::bench::to_json(summarize_ns(engine)));
    stages.add("decide", torq::bench::to_json(summarize_ns(decide)));
    stages.add("tick_to_decision", torq::bench::to_json(summarize_ns(t2d)));
    stages.add("replay_wall", torq::bench::to_json(summarize_ns(wall)));
    out.add("stages", stages);
    JsonObject peers;
    peers.add("log_decoder_decode_only", torq::bench::to_json(summarize_ns(peer)));
    out.add("peers", peers);
    std::printf("%s\n", out.str().c_str());
    if (!identical) {
      std::fprintf(stderr, "bench_replay: a replay diverged from the recording: %s\n", first_bad.c_str());
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_replay: %s\n", e.what());
    return 1;
  }
}
