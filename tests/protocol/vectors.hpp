// Protocol V2 test vectors: the frames published in docs/protocol.md, built in code.
// Shared by the vector test (which checks the document's hex against these builders) and the
// `protocol_vectors` tool (which prints the document section). Test-only; allocates freely.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "torq/protocol/frame.hpp"
#include "torq/protocol/instrument_id.hpp"

namespace torq::protocol::testvec {

inline U256 u256(std::uint64_t l0, std::uint64_t l1 = 0, std::uint64_t l2 = 0, std::uint64_t l3 = 0) {
  const std::uint64_t limbs[4] = {l0, l1, l2, l3};
  U256 v;
  static_assert(sizeof v == sizeof limbs);
  std::memcpy(&v, limbs, sizeof v);
  return v;
}
inline I256 i256(std::int64_t x) {  // sign-extended
  const auto ext = x < 0 ? ~std::uint64_t{0} : std::uint64_t{0};
  const std::uint64_t limbs[4] = {static_cast<std::uint64_t>(x), ext, ext, ext};
  I256 v;
  static_assert(sizeof v == sizeof limbs);
  std::memcpy(&v, limbs, sizeof v);
  return v;
}

struct Vector {
  std::string name;
  std::string description;
  std::vector<std::byte> bytes;
  FrameError expected;
};

inline constexpr std::uint64_t kTimestamp = 1'764'000'000'000'000'000ull;  // 2025-11-24T16:00:00Z

inline InstrumentId pool_id() { return InstrumentId::make(InstrumentKind::Pool, Chain::Polygon, Venue::QuickSwapV2, 5); }

inline std::vector<std::byte> build(RelayDomain d, std::uint8_t source, std::uint64_t seq,
                                    const auto& add_records, std::uint8_t flags = 0) {
  std::vector<std::byte> buf(4096);
  FrameBuilder b(buf, d, source, flags);
  add_records(b);
  auto out = b.finish(seq, kTimestamp);
  return {out.begin(), out.end()};
}

inline std::vector<Vector> all_vectors() {
  std::vector<Vector> v;
  v.push_back({"heartbeat", "System frame from source 3, sequence 42, one Heartbeat TLV",
               build(RelayDomain::System, 3, 42, [](FrameBuilder& b) {
                 (void)b.add(Heartbeat{kTimestamp, 41, 7, 0});
               }),
               FrameError::Ok});
  v.push_back({"v2_sync", "Market-data frame: V2Sync of pool 0x2020200000000005 at block 65000000 (reserves 1e18 and 3000e6)",
               build(RelayDomain::MarketData, 1, 1, [](FrameBuilder& b) {
                 V2Sync s{};
                 s.ctx = EventContext{pool_id().raw(), 65'000'000, 0x1122334455667788ull, 4, 17};
                 s.reserve0 = u256(1'000'000'000'000'000'000ull);
                 s.reserve1 = u256(3'000'000'000ull);
                 (void)b.add(s);
               }),
               FrameError::Ok});
  v.push_back({"v3_swap", "Market-data frame: V3Swap with negative amount1 and tick -201000",
               build(RelayDomain::MarketData, 1, 2, [](FrameBuilder& b) {
                 V3Swap s{};
                 s.ctx = EventContext{InstrumentId::make(InstrumentKind::Pool, Chain::Polygon, Venue::UniswapV3, 9).raw(),
                                      65'000'001, 0x8877665544332211ull, 0, 3};
                 s.amount0 = i256(5'000'000);
                 s.amount1 = i256(-1'650'000'000'000'000ll);
                 s.sqrt_price_x96 = u256(0x5a3c2f1e0d0c0b0aull, 0x0000000012345678ull);
                 s.liquidity = Uint128Le::from(123'456'789'000'000ull);
                 s.tick = -201000;
                 (void)b.add(s);
               }),
               FrameError::Ok});
  v.push_back({"extended_error", "System frame: Error TLV with a 300-byte message, so the extended TLV form (FF, type, u16 length)",
               build(RelayDomain::System, 9, 1000, [](FrameBuilder& b) {
                 const std::string msg(300, 'x');
                 const ErrorHead h{500, 4, static_cast<std::uint16_t>(msg.size()), 65'000'000};
                 (void)b.add_raw(static_cast<std::uint8_t>(TlvType::Error),
                                 std::as_bytes(std::span(&h, 1)), std::as_bytes(std::span(msg)));
               }),
               FrameError::Ok});
  v.push_back({"no_checksum", "Signal frame with flag kNoChecksum (checksum field zero, not verified), empty payload",
               build(RelayDomain::Signal, 2, 7, [](FrameBuilder&) {}, frame_flags::kNoChecksum),
               FrameError::Ok});
  auto bad = v[0].bytes;
  bad[40] ^= std::byte{0x01};  // flip one payload bit
  v.push_back({"bad_checksum", "The heartbeat vector with one payload bit flipped: must be rejected", bad,
               FrameError::BadChecksum});
  return v;
}

inline std::string to_hex(const std::vector<std::byte>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (auto b : bytes) {
    const auto x = std::to_integer<unsigned>(b);
    s.push_back(kDigits[x >> 4]);
    s.push_back(kDigits[x & 0xF]);
  }
  return s;
}

}  // namespace torq::protocol::testvec
