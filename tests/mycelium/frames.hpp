// Test helpers for tests/mycelium: build Protocol V2 frames with recognisable contents, and poll
// a subscriber until a count is reached (bounded by an iteration/deadline guard, never asserted on).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <thread>
#include <vector>

#include "torq/protocol/frame.hpp"

namespace torq::mycelium::test {

// A market-data frame carrying one V2Sync whose fields encode (source, seq), so that the receiver
// can check the frame is intact. `extra_syncs` adds more records to vary the size.
inline std::vector<std::byte> make_frame(std::uint8_t source, std::uint64_t seq, int extra_syncs = 0,
                                         protocol::RelayDomain domain = protocol::RelayDomain::MarketData) {
  std::vector<std::byte> buf(protocol::kMaxFrameSize);
  protocol::FrameBuilder b(buf, domain, source);
  const int n = domain == protocol::RelayDomain::MarketData ? 1 + extra_syncs : 0;
  for (int i = 0; i < n; ++i) {
    protocol::V2Sync s{};
    s.ctx.pool = 0x2020200000000000ULL + source;
    s.ctx.block_number = seq;
    s.ctx.tx_index = static_cast<std::uint32_t>(i);
    s.reserve0 = protocol::U256(seq * 1000 + static_cast<std::uint64_t>(i));
    if (!b.add(s)) return {};
  }
  if (domain == protocol::RelayDomain::Signal) {
    protocol::ArbitrageSignal sig{};
    sig.signal_id = seq;
    if (!b.add(sig)) return {};
  }
  const auto f = b.finish(seq, 1'764'000'000'000'000'000ULL + seq);
  buf.resize(f.size());
  return buf;
}

// Checks a received frame: valid, from `source`, with sequence `seq`, contents as make_frame wrote.
inline bool frame_matches(std::span<const std::byte> bytes, std::uint8_t source, std::uint64_t seq) {
  const auto r = protocol::parse_frame(bytes);
  if (!r.ok() || r.view.size() != bytes.size()) return false;
  if (r.view.header.source != source || r.view.header.sequence != seq) return false;
  for (const auto& t : r.view.tlvs()) {
    const auto s = protocol::tlv_as<protocol::V2Sync>(t);
    if (!s || s->ctx.block_number != seq) return false;
    if (s->reserve0 != protocol::U256(seq * 1000 + s->ctx.tx_index)) return false;
  }
  return true;
}

struct Received {
  std::vector<std::vector<std::byte>> frames;
  void operator()(std::span<const std::byte> f) { frames.emplace_back(f.begin(), f.end()); }
};

// Polls until `want` frames were collected or a generous guard (5 s) passes.
template <class Sub>
void poll_until(Sub& sub, Received& rx, std::size_t want, std::size_t burst = 64) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (rx.frames.size() < want && std::chrono::steady_clock::now() < until) {
    if (sub.poll(rx, burst) == 0) std::this_thread::yield();
  }
}

// Polls a fixed number of extra rounds (to show that nothing more arrives).
template <class Sub>
void poll_rounds(Sub& sub, Received& rx, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    (void)sub.poll(rx, 64);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

}  // namespace torq::mycelium::test
