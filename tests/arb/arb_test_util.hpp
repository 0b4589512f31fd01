// Helpers shared by the torq::arb tests: ids, event contexts, frames and an in-memory ring pair.
// Test-only: allocates freely.
#pragma once

#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "torq/arb/pool_book.hpp"
#include "torq/protocol/frame.hpp"
#include "torq/ring/spsc_ring.hpp"

namespace torq::arb::test {

using protocol::Chain;
using protocol::InstrumentId;
using protocol::InstrumentKind;
using protocol::Venue;

inline InstrumentId token(std::uint64_t i) { return InstrumentId::make(InstrumentKind::Token, Chain::Polygon, Venue::None, i); }
inline InstrumentId pool_id(std::uint64_t i, Venue v = Venue::QuickSwapV2) {
  return InstrumentId::make(InstrumentKind::Pool, Chain::Polygon, v, i);
}
inline PoolSpec v2(std::uint64_t i, std::uint64_t t0, std::uint64_t t1, std::uint32_t fee_ppm = 3000) {
  return PoolSpec{pool_id(i), token(t0), token(t1), PoolType::V2, fee_ppm, 0};
}
inline PoolSpec v3(std::uint64_t i, std::uint64_t t0, std::uint64_t t1, std::uint32_t fee = 3000, std::int32_t spacing = 60) {
  return PoolSpec{pool_id(i, Venue::UniswapV3), token(t0), token(t1), PoolType::V3, fee, spacing};
}
inline protocol::EventContext ctx(const PoolSpec& p, std::uint64_t block, std::uint32_t tx = 0, std::uint32_t log = 0) {
  return protocol::EventContext{p.id.raw(), block, 0xABCD0000 + block, tx, log};
}
inline protocol::V2Sync sync(const PoolSpec& p, std::uint64_t block, std::uint32_t log, U256 r0, U256 r1) {
  return protocol::V2Sync{ctx(p, block, 0, log), r0, r1};
}
inline protocol::V3Swap v3swap(const PoolSpec& p, std::uint64_t block, std::uint32_t log, U256 sqrt, u128 liq, std::int32_t tick) {
  return protocol::V3Swap{ctx(p, block, 0, log), I256::zero(), I256::zero(), sqrt, protocol::Uint128Le::from(liq), tick, 0};
}
inline protocol::V3Mint v3mint(const PoolSpec& p, std::uint64_t block, std::uint32_t log, std::int32_t lo, std::int32_t hi, u128 liq) {
  return protocol::V3Mint{ctx(p, block, 0, log), lo, hi, protocol::Uint128Le::from(liq), U256::zero(), U256::zero()};
}
inline protocol::V3Burn v3burn(const PoolSpec& p, std::uint64_t block, std::uint32_t log, std::int32_t lo, std::int32_t hi, u128 liq) {
  return protocol::V3Burn{ctx(p, block, 0, log), lo, hi, protocol::Uint128Le::from(liq), U256::zero(), U256::zero()};
}

// Builds one market-data frame from TLV values.
class FrameMaker {
 public:
  FrameMaker() : buf_(65536), b_(buf_, protocol::RelayDomain::MarketData, 1, 0) {}
  template <class T>
  FrameMaker& add(const T& v) {
    if (!b_.add(v)) std::abort();
    return *this;
  }
  std::vector<std::byte> finish(std::uint64_t ts = 12345) {
    const auto f = b_.finish(++seq_, ts);
    std::vector<std::byte> out(f.begin(), f.end());
    b_.reset();
    return out;
  }

 private:
  std::vector<std::byte> buf_;
  protocol::FrameBuilder b_;
  std::uint64_t seq_ = 0;
};

// A process-local ring in heap memory with both endpoints attached.
struct TestRing {
  explicit TestRing(std::uint64_t capacity = 1 << 16) {
    bytes = ring::RingRegion::bytes_for(capacity);
    mem.reset(static_cast<std::byte*>(std::aligned_alloc(128, bytes)));
    region = ring::RingRegion::format(mem.get(), bytes, capacity).value;
    producer = std::move(ring::SpscProducer::attach(region).value);
    consumer = std::move(ring::SpscConsumer::attach(region).value);
  }
  std::vector<std::vector<std::byte>> drain() {
    std::vector<std::vector<std::byte>> out;
    (void)consumer.consume_burst([&](std::span<const std::byte> r) { out.emplace_back(r.begin(), r.end()); }, 1 << 20);
    return out;
  }
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::size_t bytes = 0;
  std::unique_ptr<std::byte, Free> mem;
  ring::RingRegion region;
  ring::SpscProducer producer;
  ring::SpscConsumer consumer;
};

}  // namespace torq::arb::test
