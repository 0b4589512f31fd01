// libFuzzer target: LogDecoder on arbitrary bytes, as a WebSocket message, a bare log object and
// an eth_getLogs response. Besides "no crash, no UB" (sanitizers), checks that a decoded log is
// internally consistent: its pool is a registered pool, its value size is its TLV type's size,
// and it round-trips through an EventPublisher frame and the Protocol V2 reader.
// Seeds (tests/fuzz/corpus/json_log) are notifications captured from the anvil fixture.
#include <cstdlib>
#include <span>
#include <string_view>

#include "torq/control/event_publisher.hpp"
#include "torq/control/log_decoder.hpp"

using namespace torq;

namespace {

struct Pools {
  protocol::InstrumentRegistry registry;
  Pools() {
    // The pools of chain/fixture.mjs (deterministic deployment addresses).
    static constexpr struct { const char* address; bool v3; } kPools[] = {
        {"0xac66a2686928743F3D5F0234CDC90141CD46DE99", false}, {"0x34221076D77AE2aEe654b62CB0ce79f22202B0dF", false},
        {"0x9CF2149f4C3A29F14a53999fa666BDFa6593df3e", false}, {"0xd9a133429b9Af3Eac787e34BC00B6E502F00F893", false},
        {"0xcD9323f1eE7259E38e3247afB043effbBb7A28dD", false}, {"0x8b09811c655369C57C553CAFEe703Ee6A077084E", false},
        {"0x4e50e4Dd6c6699F3DAE923F11c0D59903cCADe5F", false}, {"0x3c356B550afDb1e33161f71650CEa490aCc57EC3", false},
        {"0x3b82bA6dcE9A80966ed332e439f45f155e450672", false}, {"0x457bA60EE34a8ECD20882b52B92373CB15fc426d", false},
        {"0xD1f1bbbF65CceB5cAf1691a76c17D4E75213B69c", false}, {"0x16930229b517b6f9222C05870F5229c6efD795d2", true},
        {"0x0994324A458b0a756b13A3507e2d1dAdF0EEBFC7", true},  {"0x138A725f370309f8f9566230d7555ecF648f18a2", true},
        {"0xf493e38FECB8358261249fb7C078e676b753D261", true},  {"0xB8C0ffa5F7c66135E55E332c3C3466eb37b95056", true},
        {"0xadcef6dB2ECF9121aA9Ac51B98767EF3B71CB338", true},
    };
    const auto t0 = registry.add_token(protocol::Chain::Polygon, protocol::Address{1}, 18, "A");
    const auto t1 = registry.add_token(protocol::Chain::Polygon, protocol::Address{2}, 6, "B");
    if (!t0 || !t1) std::abort();
    for (const auto& p : kPools) {
      const auto a = protocol::parse_address(p.address);
      if (!a || !registry.add_pool(p.v3 ? protocol::Venue::UniswapV3 : protocol::Venue::QuickSwapV2, *a, *t0, *t1,
                                   3000, p.v3 ? 60 : 0))
        std::abort();
    }
  }
};

struct Sink {
  bool operator()(std::span<const std::byte> frame) noexcept {
    const auto r = protocol::parse_frame(frame);
    if (!r.ok() || r.view.tlv_count != 1) std::abort();
    return true;
  }
};

void check(const control::LogDecoder& dec, const protocol::InstrumentRegistry& reg) {
  const control::LogEvent& e = dec.log();
  if (reg.pool(protocol::InstrumentId(e.ctx().pool)) == nullptr) std::abort();
  if (!protocol::is_valid_length(static_cast<std::uint8_t>(e.type), e.value_size)) std::abort();
  static Sink sink;
  static control::EventPublisher<Sink> pub(sink, 1);
  if (!pub.publish(e)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Pools pools;
  static control::LogDecoder dec(pools.registry, protocol::Chain::Polygon, 1 << 16);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  control::MessageKind kind;
  if (dec.decode_message(text, kind) == control::DecodeError::Ok && kind == control::MessageKind::Log)
    check(dec, pools.registry);
  if (dec.decode_log(text) == control::DecodeError::Ok) check(dec, pools.registry);
  (void)dec.decode_log_array(text, [&](const control::LogEvent&) noexcept { check(dec, pools.registry); });
  return 0;
}
