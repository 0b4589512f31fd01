// Protocol V2 reader/builder: round trips of every TLV type, every error on crafted frames,
// random frames (property test), alignment, truncation and corruption.
#include "torq/protocol/frame.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace torq::protocol {
namespace {

template <class T>
T random_value(std::mt19937_64& rng) {
  std::array<std::byte, sizeof(T)> bytes;
  for (auto& b : bytes) b = static_cast<std::byte>(rng());
  T v;
  std::memcpy(&v, bytes.data(), sizeof v);
  return v;
}

std::vector<std::byte> make_frame(RelayDomain d, const auto& add, std::uint8_t flags = 0,
                                  std::uint64_t seq = 1) {
  std::vector<std::byte> buf(kMaxFrameSize);
  FrameBuilder b(buf, d, 1, flags);
  add(b);
  auto f = b.finish(seq, 123);
  return {f.begin(), f.end()};
}

template <class T>
void expect_round_trip(RelayDomain domain, std::mt19937_64& rng) {
  for (int i = 0; i < 50; ++i) {
    const T value = random_value<T>(rng);
    const auto frame = make_frame(domain, [&](FrameBuilder& b) { ASSERT_TRUE(b.add(value)); });
    ASSERT_EQ(frame.size(), kHeaderSize + kStandardTlvHeader + sizeof(T));
    const auto r = parse_frame(frame);
    ASSERT_TRUE(r.ok()) << to_string(r.error);
    ASSERT_EQ(r.view.tlv_count, 1u);
    const auto tlv = *r.view.tlvs().begin();
    EXPECT_EQ(tlv.type, static_cast<std::uint8_t>(T::kType));
    EXPECT_FALSE(tlv.extended);
    const auto back = tlv_as<T>(tlv);
    ASSERT_TRUE(back.has_value());
    EXPECT_TRUE(*back == value) << tlv_type_name(tlv.type);
    EXPECT_EQ(domain_of_type(tlv.type), static_cast<std::uint8_t>(domain));
  }
}

TEST(Frame, ShouldRoundTripEveryFixedTlvType) {
  std::mt19937_64 rng(1);
  expect_round_trip<V2Sync>(RelayDomain::MarketData, rng);
  expect_round_trip<V2Swap>(RelayDomain::MarketData, rng);
  expect_round_trip<V2Mint>(RelayDomain::MarketData, rng);
  expect_round_trip<V2Burn>(RelayDomain::MarketData, rng);
  expect_round_trip<V3Swap>(RelayDomain::MarketData, rng);
  expect_round_trip<V3Mint>(RelayDomain::MarketData, rng);
  expect_round_trip<V3Burn>(RelayDomain::MarketData, rng);
  expect_round_trip<V3Initialize>(RelayDomain::MarketData, rng);
  expect_round_trip<BlockHeader>(RelayDomain::MarketData, rng);
  expect_round_trip<ReorgNotice>(RelayDomain::MarketData, rng);
  expect_round_trip<ArbitrageSignal>(RelayDomain::Signal, rng);
  expect_round_trip<OrderRequest>(RelayDomain::Execution, rng);
  expect_round_trip<ExecutionReport>(RelayDomain::Execution, rng);
  expect_round_trip<Heartbeat>(RelayDomain::System, rng);
  expect_round_trip<PoolStateSnapshot>(RelayDomain::System, rng);
  expect_round_trip<SnapshotRequest>(RelayDomain::System, rng);
  expect_round_trip<ResendRequest>(RelayDomain::System, rng);
}

TEST(Frame, ShouldUseExtendedFormForTickSnapshotsOver255Bytes) {
  std::mt19937_64 rng(2);
  std::vector<V3TickEntry> ticks(100);
  for (auto& t : ticks) t = random_value<V3TickEntry>(rng);
  const V3TicksSnapshotHead head{77, 9, static_cast<std::uint32_t>(ticks.size()), 0};
  const auto frame = make_frame(RelayDomain::System, [&](FrameBuilder& b) {
    ASSERT_TRUE(b.add_raw(static_cast<std::uint8_t>(TlvType::V3TicksSnapshot), std::as_bytes(std::span(&head, 1)),
                          std::as_bytes(std::span(ticks))));
  });
  ASSERT_EQ(frame.size(), kHeaderSize + kExtendedTlvHeader + sizeof head + ticks.size() * sizeof(V3TickEntry));
  EXPECT_EQ(std::to_integer<int>(frame[kHeaderSize]), 0xFF);
  const auto r = parse_frame(frame);
  ASSERT_TRUE(r.ok()) << to_string(r.error);
  const auto tlv = *r.view.tlvs().begin();
  EXPECT_TRUE(tlv.extended);
  const auto h = tlv_head_as<V3TicksSnapshotHead>(tlv);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(*h, head);
  for (std::size_t i = 0; i < ticks.size(); ++i) {
    V3TickEntry e;
    std::memcpy(&e, tlv.value.data() + sizeof head + i * sizeof e, sizeof e);
    EXPECT_EQ(e, ticks[i]);
  }
}

TEST(Frame, ShouldIterateSeveralRecordsInOrder) {
  std::mt19937_64 rng(3);
  const auto a = random_value<V2Sync>(rng);
  const auto b2 = random_value<V3Swap>(rng);
  const auto c = random_value<BlockHeader>(rng);
  const auto frame = make_frame(RelayDomain::MarketData, [&](FrameBuilder& b) {
    ASSERT_TRUE(b.add(c));
    ASSERT_TRUE(b.add(a));
    ASSERT_TRUE(b.add(b2));
  });
  const auto r = parse_frame(frame);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.view.tlv_count, 3u);
  std::vector<std::uint8_t> types;
  for (const auto& t : r.view.tlvs()) types.push_back(t.type);
  EXPECT_EQ(types, (std::vector<std::uint8_t>{9, 1, 5}));
  auto it = r.view.tlvs().begin();
  EXPECT_EQ(*tlv_as<BlockHeader>(*it++), c);
  EXPECT_EQ(*tlv_as<V2Sync>(*it++), a);
  EXPECT_EQ(*tlv_as<V3Swap>(*it++), b2);
  EXPECT_TRUE(it == r.view.tlvs().end());
  EXPECT_FALSE(tlv_as<V2Sync>(*r.view.tlvs().begin()).has_value()) << "type mismatch must not convert";
}

// ---- errors ---------------------------------------------------------------------------------

std::vector<std::byte> good_frame() {
  return make_frame(RelayDomain::System, [](FrameBuilder& b) { ASSERT_TRUE(b.add(Heartbeat{1, 2, 3, 0})); });
}

void reseal(std::vector<std::byte>& f) {  // recompute the checksum after a deliberate edit
  const std::uint32_t c = frame_checksum(std::span(f).first(kHeaderSize), std::span(f).subspan(kHeaderSize));
  std::memcpy(f.data() + kChecksumOffset, &c, 4);
}

void set_u32(std::vector<std::byte>& f, std::size_t off, std::uint32_t v) { std::memcpy(f.data() + off, &v, 4); }

TEST(Frame, ShouldRejectTruncatedHeader) {
  const auto f = good_frame();
  for (std::size_t n = 0; n < kHeaderSize; ++n) {
    EXPECT_EQ(parse_frame(std::span(f).first(n)).error, FrameError::TruncatedHeader) << n;
  }
}

TEST(Frame, ShouldRejectFrameWhenMagicIsWrong) {
  auto f = good_frame();
  f[0] = std::byte{0xEE};
  EXPECT_EQ(parse_frame(f).error, FrameError::BadMagic);
}

TEST(Frame, ShouldRejectFrameWhenVersionIsWrong) {
  auto f = good_frame();
  f[7] = std::byte{1};
  reseal(f);
  EXPECT_EQ(parse_frame(f).error, FrameError::BadVersion);
}

TEST(Frame, ShouldRejectUnknownRelayDomain) {
  auto f = good_frame();
  f[4] = std::byte{9};
  reseal(f);
  EXPECT_EQ(parse_frame(f).error, FrameError::BadDomain);
}

TEST(Frame, ShouldRejectTruncatedFrameAtEveryLength) {
  const auto f = good_frame();
  for (std::size_t n = kHeaderSize; n < f.size(); ++n) {
    EXPECT_EQ(parse_frame(std::span(f).first(n)).error, FrameError::TruncatedFrame) << n;
  }
  EXPECT_TRUE(parse_frame(f).ok());
}

TEST(Frame, ShouldRejectOversizedPayloadSize) {
  auto f = good_frame();
  set_u32(f, 24, static_cast<std::uint32_t>(kMaxPayloadSize + 1));
  EXPECT_EQ(parse_frame(f).error, FrameError::PayloadTooLarge);
  set_u32(f, 24, 0xFFFFFFFFu);
  EXPECT_EQ(parse_frame(f).error, FrameError::PayloadTooLarge);
}

TEST(Frame, ShouldRefuseUncheckedFramesWhereAChecksumIsRequired) {
  const auto f = make_frame(RelayDomain::System, [](FrameBuilder& b) { ASSERT_TRUE(b.add(Heartbeat{1, 2, 3, 0})); },
                            frame_flags::kNoChecksum);
  EXPECT_TRUE(parse_frame(f).ok()) << "trusted in-process links accept unchecked frames";
  ParseOptions untrusted;
  untrusted.require_checksum = true;
  EXPECT_EQ(parse_frame(f, untrusted).error, FrameError::BadChecksum);
}

TEST(Frame, ShouldRejectFrameWhenChecksumIsWrong) {
  auto f = good_frame();
  f[kHeaderSize + 5] ^= std::byte{0x10};
  EXPECT_EQ(parse_frame(f).error, FrameError::BadChecksum);
  ParseOptions lax;
  lax.verify_checksum = false;
  EXPECT_TRUE(parse_frame(f, lax).ok()) << "checksum verification can be disabled for trusted links";
}

TEST(Frame, ShouldRejectSizeMismatchWhenTlvOverrunsPayload) {
  auto f = good_frame();
  f[kHeaderSize + 1] = std::byte{static_cast<unsigned char>(sizeof(Heartbeat) + 8)};  // claims more than there is
  reseal(f);
  EXPECT_EQ(parse_frame(f).error, FrameError::SizeMismatch);
}

TEST(Frame, ShouldRejectSizeMismatchWhenPayloadHasTrailingByte) {
  auto f = good_frame();
  f.push_back(std::byte{0x01});
  set_u32(f, 24, static_cast<std::uint32_t>(f.size() - kHeaderSize));
  reseal(f);
  EXPECT_EQ(parse_frame(f).error, FrameError::SizeMismatch);
}

TEST(Frame, ShouldRejectUnknownTlvType) {
  auto f = good_frame();
  f[kHeaderSize] = std::byte{19};  // inside the market-data group but undefined
  reseal(f);
  EXPECT_EQ(parse_frame(f).error, FrameError::UnknownType);
  f[kHeaderSize] = std::byte{200};
  reseal(f);
  EXPECT_EQ(parse_frame(f).error, FrameError::UnknownType);
}

TEST(Frame, ShouldRejectTlvWhoseLengthDoesNotMatchItsLayout) {
  // A V2Sync type byte on a 24-byte (Heartbeat-sized) value.
  auto f = good_frame();
  f[kHeaderSize] = std::byte{static_cast<unsigned char>(TlvType::V2Sync)};
  reseal(f);
  EXPECT_EQ(parse_frame(f).error, FrameError::BadTlvLength);
}

TEST(Frame, ShouldRejectExtendedFormForShortValue) {
  std::vector<std::byte> f(kHeaderSize + kExtendedTlvHeader + sizeof(Heartbeat));
  FrameHeader h{kMagic, 4, 1, 0, kVersion, 1, 1, static_cast<std::uint32_t>(f.size() - kHeaderSize), 0};
  std::memcpy(f.data(), &h, sizeof h);
  f[32] = std::byte{0xFF};
  f[33] = std::byte{static_cast<unsigned char>(TlvType::Heartbeat)};
  f[34] = std::byte{sizeof(Heartbeat)};
  f[35] = std::byte{0};
  reseal(f);
  EXPECT_EQ(parse_frame(f).error, FrameError::NonCanonicalTlv);
}

TEST(Frame, ShouldParseUnalignedFramesAndStreamsOfFrames) {
  std::mt19937_64 rng(4);
  const auto one = make_frame(RelayDomain::MarketData, [&](FrameBuilder& b) { ASSERT_TRUE(b.add(random_value<V3Mint>(rng))); });
  const auto two = good_frame();
  for (std::size_t off = 0; off < 8; ++off) {
    std::vector<std::byte> buf(off);
    buf.insert(buf.end(), one.begin(), one.end());
    buf.insert(buf.end(), two.begin(), two.end());
    auto rest = std::span<const std::byte>(buf).subspan(off);
    const auto r1 = parse_frame(rest);
    ASSERT_TRUE(r1.ok());
    ASSERT_EQ(r1.view.size(), one.size());
    const auto r2 = parse_frame(rest.subspan(r1.view.size()));
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(r2.view.header.domain, 4);
    EXPECT_TRUE(tlv_as<Heartbeat>(*r2.view.tlvs().begin()).has_value());
  }
}

// ---- builder ---------------------------------------------------------------------------------

TEST(FrameBuilder, ShouldFailStickilyWhenBufferIsTooSmall) {
  std::vector<std::byte> buf(kHeaderSize + kStandardTlvHeader + sizeof(Heartbeat) + 10);
  FrameBuilder b(buf, RelayDomain::System, 1);
  EXPECT_TRUE(b.add(Heartbeat{1, 2, 3, 0}));
  EXPECT_FALSE(b.add(Heartbeat{4, 5, 6, 0}));
  EXPECT_TRUE(b.failed());
  EXPECT_TRUE(b.finish(1, 1).empty()) << "a frame missing a record must never be emitted";
  b.reset();
  EXPECT_TRUE(b.add(Heartbeat{4, 5, 6, 0}));
  EXPECT_FALSE(b.finish(2, 1).empty());
}

TEST(FrameBuilder, ShouldRefuseUnknownTypesAndIllegalLengths) {
  std::vector<std::byte> buf(1024);
  FrameBuilder b(buf, RelayDomain::System, 1);
  const std::array<std::byte, 10> junk{};
  EXPECT_FALSE(b.add_raw(55, junk));
  b.reset();
  EXPECT_FALSE(b.add_raw(static_cast<std::uint8_t>(TlvType::Heartbeat), junk));
  b.reset();
  const std::string too_long(kMaxErrorMessage + 1, 'e');
  const ErrorHead h{1, 1, 0, 0};
  EXPECT_FALSE(b.add_raw(static_cast<std::uint8_t>(TlvType::Error), std::as_bytes(std::span(&h, 1)),
                         std::as_bytes(std::span(too_long))));
}

TEST(FrameBuilder, ShouldRefuseToFinishTwice) {
  std::vector<std::byte> buf(256);
  FrameBuilder b(buf, RelayDomain::System, 1);
  EXPECT_FALSE(b.finish(1, 1).empty());
  EXPECT_TRUE(b.finish(2, 1).empty());
  EXPECT_FALSE(b.add(Heartbeat{}));
}

TEST(FrameBuilder, ShouldWriteHeaderFieldsExactly) {
  std::vector<std::byte> buf(256);
  FrameBuilder b(buf, RelayDomain::Execution, 0xAB, frame_flags::kReplay);
  const auto f = b.finish(0x0102030405060708ull, 0x1112131415161718ull);
  ASSERT_EQ(f.size(), kHeaderSize);
  const auto* p = reinterpret_cast<const unsigned char*>(f.data());
  EXPECT_EQ(p[0], 0xEF);
  EXPECT_EQ(p[1], 0xBE);
  EXPECT_EQ(p[2], 0xAD);
  EXPECT_EQ(p[3], 0xDE);
  EXPECT_EQ(p[4], 3);
  EXPECT_EQ(p[5], 0xAB);
  EXPECT_EQ(p[6], frame_flags::kReplay);
  EXPECT_EQ(p[7], 2);
  EXPECT_EQ(p[8], 0x08);
  EXPECT_EQ(p[15], 0x01);
  EXPECT_EQ(p[16], 0x18);
  EXPECT_EQ(p[24], 0);
  const auto r = parse_frame(f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(metadata_word(r.view.header), 0x0202AB03u);
}

// ---- property tests --------------------------------------------------------------------------

TEST(FrameProperty, ShouldRoundTripRandomFramesOfRandomRecords) {
  std::mt19937_64 rng(5);
  std::vector<std::byte> buf(kMaxFrameSize);
  for (int iter = 0; iter < 2000; ++iter) {
    FrameBuilder b(buf, RelayDomain::MarketData, static_cast<std::uint8_t>(rng()), rng() % 2 ? 0 : frame_flags::kNoChecksum);
    std::vector<std::pair<std::uint8_t, std::vector<std::byte>>> expect;
    const int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      std::uint8_t type;
      std::size_t len;
      if (rng() % 3 == 0) {
        type = static_cast<std::uint8_t>(TlvType::V3TicksSnapshot);
        len = sizeof(V3TicksSnapshotHead) + (rng() % 40) * sizeof(V3TickEntry);
      } else {
        type = static_cast<std::uint8_t>(1 + rng() % 10);
        len = tlv_size_rule(type).min;
      }
      std::vector<std::byte> value(len);
      for (auto& x : value) x = static_cast<std::byte>(rng());
      ASSERT_TRUE(b.add_raw(type, value));
      expect.emplace_back(type, std::move(value));
    }
    const std::uint64_t seq = rng();
    const auto f = b.finish(seq, rng());
    ASSERT_FALSE(f.empty());
    const auto r = parse_frame(f);
    ASSERT_TRUE(r.ok()) << to_string(r.error);
    EXPECT_EQ(r.view.header.sequence, seq);
    ASSERT_EQ(r.view.tlv_count, expect.size());
    std::size_t i = 0;
    for (const auto& t : r.view.tlvs()) {
      ASSERT_EQ(t.type, expect[i].first);
      ASSERT_TRUE(std::equal(t.value.begin(), t.value.end(), expect[i].second.begin(), expect[i].second.end()));
      ++i;
    }
    EXPECT_EQ(i, expect.size());
  }
}

TEST(FrameProperty, ShouldDetectEverySingleBitFlipInChecksummedFrames) {
  std::mt19937_64 rng(6);
  const auto f = make_frame(RelayDomain::MarketData, [&](FrameBuilder& b) {
    ASSERT_TRUE(b.add(random_value<V2Swap>(rng)));
    ASSERT_TRUE(b.add(random_value<V3Burn>(rng)));
  });
  for (std::size_t bit = 0; bit < f.size() * 8; ++bit) {
    auto g = f;
    g[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
    const auto r = parse_frame(g);
    // Including the kNoChecksum flag bit: a checksummed frame carries a non-zero checksum field,
    // which a genuine unchecked frame never does.
    EXPECT_FALSE(r.ok()) << "bit " << bit << " flipped went undetected";
  }
}

TEST(FrameProperty, ShouldNeverReadOutOfBoundsOnRandomGarbage) {
  std::mt19937_64 rng(8);
  std::vector<std::byte> buf(512);
  std::size_t ok = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    const std::size_t n = rng() % buf.size();
    for (std::size_t i = 0; i < n; ++i) buf[i] = static_cast<std::byte>(rng());
    if (n >= 8 && rng() % 2) {  // make it past the magic/version checks half of the time
      const std::uint32_t m = kMagic;
      std::memcpy(buf.data(), &m, 4);
      buf[4] = std::byte{1};
      buf[6] = std::byte{frame_flags::kNoChecksum};
      buf[7] = std::byte{kVersion};
      if (n >= 32) {
        const auto ps = static_cast<std::uint32_t>(rng() % (n - 31));
        std::memcpy(buf.data() + 24, &ps, 4);
        std::memset(buf.data() + kChecksumOffset, 0, 4);  // an unchecked frame's checksum field is zero
      }
    }
    const auto r = parse_frame(std::span(buf).first(n));
    if (r.ok()) {
      ++ok;
      std::size_t count = 0;
      std::size_t bytes = 0;
      for (const auto& t : r.view.tlvs()) {
        ++count;
        bytes += t.value.size() + (t.extended ? kExtendedTlvHeader : kStandardTlvHeader);
      }
      EXPECT_EQ(count, r.view.tlv_count);
      EXPECT_EQ(bytes, r.view.payload.size());
    }
  }
  EXPECT_GT(ok, 0u) << "some garbage frames (e.g. empty payloads) are valid";
}

}  // namespace
}  // namespace torq::protocol
