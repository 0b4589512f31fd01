// libFuzzer target: nic::LineArbiter (A/B merge, and a single line's reorder buffer for resends)
// driven by a program of network events: data frames on two lines with sequences near the
// expected one or anywhere, heartbeats with the current, a newer, an older or any epoch and any
// last_sequence, expiry at advancing times, hole queries and flushes, under a configuration picked
// by the input (window, slots, a slot size that some frames do not fit, timeout). Checks, besides
// "no crash, no sanitizer report":
//   - per source and epoch, data frames come out in strictly increasing sequence (never twice,
//     never out of order), and each frame's bytes are the ones sent with that sequence (buffering
//     keeps them intact);
//   - holes() lists, per source, disjoint non-empty ranges in order, all at or past expected(), and
//     has_holes() agrees with it;
//   - after flush() nothing is buffered and every slot is free.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "torq/nic/arbiter.hpp"
#include "torq/protocol/frame.hpp"

namespace {

using namespace torq;

struct Reader {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t u8() noexcept {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  std::uint64_t u64() noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | u8();
    return v;
  }
};

constexpr std::size_t kSources = 3;

struct Sink {
  std::array<std::uint64_t, kSources> last{};  // last data sequence delivered in the current epoch (0: none)
  std::uint64_t delivered = 0;
  void on_frame(std::span<const std::byte> f) noexcept {
    ++delivered;
    const auto r = protocol::parse_frame(f);
    if (!r.ok()) std::abort();  // the arbiter hands out only what it was given, intact
    const std::uint8_t s = r.view.header.source;
    if (s >= kSources) std::abort();
    for (const auto& tlv : r.view.tlvs()) {
      if (const auto hb = protocol::tlv_as<protocol::Heartbeat>(tlv)) return;  // heartbeats carry no sequence
      const auto b = protocol::tlv_as<protocol::BlockHeader>(tlv);
      if (!b || b->number != r.view.header.sequence) std::abort();  // bytes of another frame
    }
    const std::uint64_t seq = r.view.header.sequence;
    if (last[s] != 0 && seq <= last[s]) std::abort();  // twice, or out of order
    last[s] = seq;
  }
};

std::vector<std::byte> data_frame(std::uint8_t source, std::uint64_t seq) {
  std::vector<std::byte> buf(256);
  protocol::FrameBuilder b(buf, protocol::RelayDomain::MarketData, source);
  protocol::BlockHeader v{};
  v.number = seq;
  (void)b.add(v);
  const auto f = b.finish(seq, seq);
  return {f.begin(), f.end()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in{data, size};
  nic::ArbiterConfig cfg;
  cfg.window = 2u << (in.u8() % 6);                       // 2 .. 64
  cfg.slots = 1u + in.u8() % 16;                          // few: overflows happen
  cfg.slot_bytes = (in.u8() & 1) != 0 ? 256 : 64;         // 64: no data frame fits
  cfg.timeout_ns = 1 + in.u8() % 64;
  Sink sink;
  nic::LineArbiter<Sink> arb(cfg, sink);
  std::array<std::uint32_t, kSources> epoch{1, 1, 1};
  std::array<std::uint64_t, kSources> hb_ts{};
  std::uint64_t now = 0;

  const auto check_holes = [&] {
    std::array<std::uint64_t, kSources> end{};
    bool any = false;
    arb.holes([&](std::uint8_t s, std::uint64_t from, std::uint64_t count, std::uint64_t) {
      any = true;
      if (s >= kSources || count == 0 || from < arb.expected(s) || from < end[s]) std::abort();
      end[s] = from + count;
    });
    if (any != arb.has_holes()) std::abort();
  };

  while (in.n != 0) {
    const std::uint8_t op = in.u8();
    const auto source = static_cast<std::uint8_t>(in.u8() % kSources);
    switch (op % 6) {
      case 0:
      case 1: {  // data frame: near the expected sequence, or anywhere
        const std::uint8_t d = in.u8();
        std::uint64_t seq = (d & 0x80) != 0 ? in.u64() : arb.expected(source) + (d & 0x3F) - 8;
        if (seq == 0) seq = 1;
        const std::vector<std::byte> f = data_frame(source, seq);
        protocol::FrameHeader h;
        std::memcpy(&h, f.data(), sizeof h);
        arb.on_frame(in.u8() % 2, f, h, now);
        break;
      }
      case 2: {  // heartbeat
        const std::uint8_t e = in.u8();
        const std::uint32_t ep = e < 160 ? epoch[source] : e < 200 ? epoch[source] + 1 : e < 230 ? epoch[source] - 1 : static_cast<std::uint32_t>(in.u64());
        const std::uint8_t l = in.u8();
        const std::uint64_t last = (l & 0x80) != 0 ? in.u64() : arb.expected(source) + (l & 0x1F) - 4;
        hb_ts[source] += (in.u8() & 3);  // sometimes the same timestamp: the other line's copy
        protocol::Heartbeat hb{hb_ts[source], last, ep, 0};
        std::vector<std::byte> buf(256);
        protocol::FrameBuilder b(buf, protocol::RelayDomain::System, source);
        (void)b.add(hb);
        const auto f = b.finish(0, hb_ts[source]);
        protocol::FrameHeader h;
        std::memcpy(&h, f.data(), sizeof h);
        const std::uint64_t restarts = arb.counters().restarts;
        arb.on_heartbeat(in.u8() % 2, f, h, hb, now);
        if (arb.counters().restarts != restarts) {  // a new epoch: its numbering starts again
          epoch[source] = ep;
          sink.last[source] = 0;
        }
        break;
      }
      case 3:
        now += in.u8();
        arb.expire(now);
        break;
      case 4:
        check_holes();
        break;
      case 5:
        if ((in.u8() & 7) == 0) arb.flush();
        break;
    }
    if (sink.delivered != arb.counters().delivered) std::abort();
  }
  check_holes();
  arb.flush();
  for (std::uint8_t s = 0; s < kSources; ++s)
    if (arb.pending(s) != 0) std::abort();
  if (arb.free_slots() != cfg.slots) std::abort();
  return 0;
}
