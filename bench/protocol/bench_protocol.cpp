// Protocol V2 micro-benchmarks: build a frame, parse + iterate it, CRC32C hardware vs software,
// and the bar: build + parse + checksum of a 64-byte-payload frame (> 20 M frames/s on
// one core, i.e. < 50 ns per frame): BM_BuildParseChecksum64, whose components are BM_Build64,
// BM_ParseIterate64 and BM_FrameChecksum64 (the frame CRC alone: 32-byte header + 64-byte
// payload). BM_BuildParseChecksumOneTlv64 is the same with a single 64-byte TLV (ReorgNotice).
// Run with --benchmark_format=json for machine-readable output (pin it: taskset -c 1 ...
// --benchmark_repetitions=5); items_per_second is frames (or CRC calls) per second.
#include <benchmark/benchmark.h>

#include <array>
#include <cstring>
#include <vector>

#include "torq/protocol/frame.hpp"

namespace {
using namespace torq::protocol;

// Payload of exactly 64 bytes: Heartbeat (2 + 24) + Error (2 + 16 + 20-byte message).
constexpr char kMsg[] = "ring consumer stall";  // 19 chars + the 20th below
[[nodiscard]] std::span<const std::byte> build64(FrameBuilder& b, std::uint64_t seq) {
  b.reset();
  const Heartbeat hb{seq, seq - 1, 1, 0};
  const ErrorHead eh{7, 2, 20, seq};
  std::array<char, 20> msg{};
  std::memcpy(msg.data(), kMsg, 19);
  msg[19] = '!';
  if (!b.add(hb) ||
      !b.add_raw(static_cast<std::uint8_t>(TlvType::Error), std::as_bytes(std::span(&eh, 1)), std::as_bytes(std::span(msg)))) {
    return {};
  }
  return b.finish(seq, 1'764'000'000'000'000'000ull + seq);
}

void BM_Build64(benchmark::State& state) {
  std::array<std::byte, 256> buf;
  FrameBuilder b(buf, RelayDomain::System, 1);
  std::uint64_t seq = 1;
  for (auto _ : state) {
    auto f = build64(b, seq++);
    benchmark::DoNotOptimize(f.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Build64);

void BM_ParseIterate64(benchmark::State& state) {
  std::array<std::byte, 256> buf;
  FrameBuilder b(buf, RelayDomain::System, 1);
  const auto f = build64(b, 9);
  if (f.size() != kHeaderSize + 64) state.SkipWithError("payload is not 64 bytes");
  for (auto _ : state) {
    const auto r = parse_frame(f);
    std::size_t n = 0;
    for (const auto& t : r.view.tlvs()) n += t.value.size();
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseIterate64);

// The bar: build + parse (which verifies the CRC32C written by finish) of a 64-byte payload.
void BM_BuildParseChecksum64(benchmark::State& state) {
  std::array<std::byte, 256> buf;
  FrameBuilder b(buf, RelayDomain::System, 1);
  std::uint64_t seq = 1;
  std::uint64_t sum = 0;
  for (auto _ : state) {
    const auto f = build64(b, seq++);
    const auto r = parse_frame(f);
    for (const auto& t : r.view.tlvs()) {
      if (auto hb = tlv_as<Heartbeat>(t)) sum += hb->timestamp_ns;
    }
    benchmark::DoNotOptimize(sum);
  }
  if (sum == 0) state.SkipWithError("frames did not parse");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BuildParseChecksum64);

// Only the frame checksum of a built 64-byte-payload frame (what finish() and parse_frame() each
// compute once).
void BM_FrameChecksum64(benchmark::State& state) {
  std::array<std::byte, 256> buf;
  FrameBuilder b(buf, RelayDomain::System, 1);
  const auto f = build64(b, 9);
  if (f.size() != kHeaderSize + 64) state.SkipWithError("payload is not 64 bytes");
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.data());
    const auto c = frame_checksum(f.first(kHeaderSize), f.subspan(kHeaderSize));
    benchmark::DoNotOptimize(c);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FrameChecksum64);

// One TLV with a 64-byte value (ReorgNotice): 32-byte header + 66-byte payload.
void BM_BuildParseChecksumOneTlv64(benchmark::State& state) {
  std::array<std::byte, 256> buf;
  FrameBuilder b(buf, RelayDomain::MarketData, 1);
  ReorgNotice n{};
  std::uint64_t seq = 1;
  std::uint64_t sum = 0;
  for (auto _ : state) {
    b.reset();
    n.new_tip_number = seq;
    if (!b.add(n)) break;
    const auto r = parse_frame(b.finish(seq++, 1'764'000'000'000'000'000ull));
    if (auto v = tlv_as<ReorgNotice>(*r.view.tlvs().begin())) sum += v->new_tip_number;
    benchmark::DoNotOptimize(sum);
  }
  if (sum == 0) state.SkipWithError("frames did not parse");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BuildParseChecksumOneTlv64);

void BM_BuildParseV2Sync(benchmark::State& state) {
  std::array<std::byte, 256> buf;
  FrameBuilder b(buf, RelayDomain::MarketData, 1);
  V2Sync s{};
  std::uint64_t seq = 1;
  std::uint64_t sum = 0;
  for (auto _ : state) {
    b.reset();
    s.ctx.block_number = seq;
    if (!b.add(s)) break;
    const auto r = parse_frame(b.finish(seq++, 1));
    if (auto v = tlv_as<V2Sync>(*r.view.tlvs().begin())) sum += v->ctx.block_number;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BuildParseV2Sync);

template <bool Hardware>
void BM_Crc32c(benchmark::State& state) {
  if (Hardware && !crc32c_hardware_available()) {
    state.SkipWithError("no SSE4.2");
    return;
  }
  std::vector<std::uint8_t> data(static_cast<std::size_t>(state.range(0)));
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 13);
  for (auto _ : state) {
    benchmark::DoNotOptimize(data.data());
    const auto c = Hardware ? crc32c_hardware(data.data(), data.size()) : crc32c_software(data.data(), data.size());
    benchmark::DoNotOptimize(c);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Crc32c<true>)->Name("BM_Crc32cHardware")->Arg(64)->Arg(96)->Arg(256)->Arg(1024);
BENCHMARK(BM_Crc32c<false>)->Name("BM_Crc32cSoftware")->Arg(64)->Arg(96)->Arg(256)->Arg(1024);

}  // namespace

BENCHMARK_MAIN();
