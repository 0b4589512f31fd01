// bench_log_decode: eth_subscription "logs" notification (JSON exactly as anvil sends it,
// tests/control/data/anvil_ws_messages.jsonl) → Protocol V2 frame. Bar: < 1 µs per message.
// Peers in the same run, over the same messages:
//   BM_OnDemandToFrame   LogDecoder (simdjson On-Demand, one reused parser) + EventPublisher
//   BM_OnDemandDecode    LogDecoder only
//   BM_DomToFrame        simdjson DOM parse (reused dom::parser) + field lookups + the same
//                        ABI/hex decoding and framing, i.e. the DOM alternative to On-Demand
// items_per_second = messages per second; ns per message = 1e9 / items_per_second.
// Run: bench_log_decode --benchmark_format=json
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "torq/control/event_publisher.hpp"
#include "torq/control/hex.hpp"
#include "torq/control/log_decoder.hpp"
#include "torq/control/pool_list.hpp"

using namespace torq;

namespace {

struct Data {
  protocol::InstrumentRegistry registry;
  std::vector<std::string> logs;  // pool-event notifications only
  std::vector<simdjson::padded_string> padded;
  Data() {
    const char* src = std::getenv("TORQ_SOURCE_DIR");
    const std::string dir = std::string(src ? src : TORQ_SOURCE_DIR_DEFAULT) + "/tests/control/data/";
    (void)control::register_pools(control::load_pool_list(dir + "anvil_manifest.json"), registry, protocol::Chain::Polygon);
    control::LogDecoder probe(registry, protocol::Chain::Polygon);
    std::ifstream in(dir + "anvil_ws_messages.jsonl");
    for (std::string l; std::getline(in, l);) {
      control::MessageKind k;
      if (probe.decode_message(l, k) == control::DecodeError::Ok && k == control::MessageKind::Log) logs.push_back(l);
    }
    for (const auto& l : logs) padded.emplace_back(l);
    if (logs.empty()) std::abort();
  }
};
Data& data() {
  static Data d;
  return d;
}

struct NullSink {
  std::uint64_t bytes = 0;
  bool operator()(std::span<const std::byte> f) noexcept {
    bytes += f.size();
    return true;
  }
};

void BM_OnDemandToFrame(benchmark::State& state) {
  auto& d = data();
  control::LogDecoder dec(d.registry, protocol::Chain::Polygon);
  NullSink sink;
  control::EventPublisher<NullSink> pub(sink, 1);
  std::size_t i = 0;
  for (auto _ : state) {
    control::MessageKind k;
    if (dec.decode_message(d.logs[i], k) != control::DecodeError::Ok || !pub.publish(dec.log())) state.SkipWithError("decode");
    if (++i == d.logs.size()) i = 0;
  }
  benchmark::DoNotOptimize(sink.bytes);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["messages"] = static_cast<double>(d.logs.size());
}
BENCHMARK(BM_OnDemandToFrame);

void BM_OnDemandDecode(benchmark::State& state) {
  auto& d = data();
  control::LogDecoder dec(d.registry, protocol::Chain::Polygon);
  std::size_t i = 0;
  for (auto _ : state) {
    control::MessageKind k;
    benchmark::DoNotOptimize(dec.decode_message(d.logs[i], k));
    if (++i == d.logs.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_OnDemandDecode);

// The DOM peer: same output (a V2/V3 TLV in a frame), fields found by key in a parsed tree.
void BM_DomToFrame(benchmark::State& state) {
  auto& d = data();
  simdjson::dom::parser parser;
  NullSink sink;
  control::EventPublisher<NullSink> pub(sink, 1);
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& msg = d.logs[i];
    simdjson::dom::element doc;
    if (parser.parse(msg).get(doc)) state.SkipWithError("parse");
    const auto r = doc["params"]["result"];
    std::string_view addr_s, data_s, hash_s, bn_s, ti_s, li_s, t0_s;
    bool removed = false;
    if (r["address"].get(addr_s) || r["data"].get(data_s) || r["blockHash"].get(hash_s) ||
        r["blockNumber"].get(bn_s) || r["transactionIndex"].get(ti_s) || r["logIndex"].get(li_s) ||
        r["topics"].at(0).get(t0_s) || r["removed"].get(removed))
      state.SkipWithError("field");
    protocol::Address addr;
    std::array<std::uint8_t, 32> hash, t0;
    (void)control::hex::parse_fixed(addr_s, addr);
    (void)control::hex::parse_fixed(hash_s, hash);
    (void)control::hex::parse_fixed(t0_s, t0);
    const auto id = d.registry.find(protocol::Chain::Polygon, addr);
    protocol::EventContext ctx{id ? id->raw() : 0, *control::hex::parse_quantity(bn_s), 0,
                               static_cast<std::uint32_t>(*control::hex::parse_quantity(ti_s)),
                               static_cast<std::uint32_t>(*control::hex::parse_quantity(li_s))};
    std::memcpy(&ctx.block_hash_prefix, hash.data(), 8);
    std::array<num::U256, 5> w{};
    const std::size_t words = std::min<std::size_t>((data_s.size() - 2) / 64, 5);
    for (std::size_t k = 0; k < words; ++k) (void)control::hex::parse_word(data_s.data() + 2 + 64 * k, w[k]);
    bool ok;
    if (t0 == control::topics::kV3Swap) {
      protocol::V3Swap s{ctx, num::I256::from_bits(w[0]), num::I256::from_bits(w[1]), w[2],
                         protocol::Uint128Le::from(w[3].low_u128()), static_cast<std::int32_t>(w[4].limb[0]), 0};
      ok = pub.publish(s);
    } else {
      protocol::V2Sync s{ctx, w[0], w[1]};  // same TLV size class as the other V2 events
      ok = pub.publish(s);
    }
    benchmark::DoNotOptimize(ok);
    if (++i == d.logs.size()) i = 0;
  }
  benchmark::DoNotOptimize(sink.bytes);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_DomToFrame);

}  // namespace

BENCHMARK_MAIN();
