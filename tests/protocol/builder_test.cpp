// FrameBuilder fast paths against a plain reference encoder: for every registered TLV type and
// every legal size (both TLV forms), add<T>() and add_raw() produce exactly the bytes that a
// byte-by-byte encoder with the table (software) CRC32C produces; the frame checksum equals the
// software CRC on every payload length, with the hardware and the software implementation; and
// the builder refuses, without writing a byte past its buffer, every record that does not fit.
#include "torq/protocol/frame.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include <cpuid.h>

namespace torq::protocol {
namespace {

constexpr std::uint64_t kSeq = 0x0102030405060708ull;
constexpr std::uint64_t kTs = 1'764'000'000'000'000'123ull;

struct Record {
  std::uint8_t type;
  std::vector<std::byte> value;
};

void put_le(std::vector<std::byte>& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
}

// The format written out the slow, obvious way (docs/protocol.md sections 1-2).
std::vector<std::byte> reference_frame(RelayDomain d, std::uint8_t source, std::uint8_t flags,
                                       const std::vector<Record>& records) {
  std::vector<std::byte> payload;
  for (const auto& r : records) {
    if (r.value.size() <= kMaxStandardTlvValue) {
      put_le(payload, r.type, 1);
      put_le(payload, r.value.size(), 1);
    } else {
      put_le(payload, kExtendedTlvMarker, 1);
      put_le(payload, r.type, 1);
      put_le(payload, r.value.size(), 2);
    }
    payload.insert(payload.end(), r.value.begin(), r.value.end());
  }
  std::vector<std::byte> f;
  put_le(f, 0xDEADBEEF, 4);
  put_le(f, static_cast<std::uint8_t>(d), 1);
  put_le(f, source, 1);
  put_le(f, flags, 1);
  put_le(f, 2, 1);
  put_le(f, kSeq, 8);
  put_le(f, kTs, 8);
  put_le(f, payload.size(), 4);
  put_le(f, 0, 4);
  f.insert(f.end(), payload.begin(), payload.end());
  if ((flags & frame_flags::kNoChecksum) == 0) {
    const std::uint32_t c = crc32c_software(f.data(), f.size());
    std::memcpy(f.data() + 28, &c, 4);
  }
  return f;
}

std::vector<std::byte> random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng());
  return v;
}

std::vector<std::byte> to_vec(std::span<const std::byte> s) { return {s.begin(), s.end()}; }

// Fills the first bytes of a reused buffer with a new pattern before each build, so that bytes a
// build forgot to write cannot pass for the ones an earlier build left there.
void scrub(std::vector<std::byte>& buf, std::size_t n) {
  static std::uint8_t k = 0;
  ++k;
  for (std::size_t i = 0; i < std::min(n, buf.size()); ++i) buf[i] = static_cast<std::byte>(k + i * 7);
}

// Every legal length of every registered type: the fixed size, or for the variable-length types
// every length up to and across the standard/extended boundary and the largest few.
std::vector<std::pair<std::uint8_t, std::size_t>> all_type_sizes() {
  std::vector<std::pair<std::uint8_t, std::size_t>> out;
  for (int t = 0; t < 256; ++t) {
    const auto type = static_cast<std::uint8_t>(t);
    const TlvSizeRule r = tlv_size_rule(type);
    if (r.min == 0) continue;
    if (r.stride == 0) {
      out.emplace_back(type, r.min);
      continue;
    }
    // Longest that fits a frame beside a short prefix record (V3TicksSnapshot's rule allows
    // values longer than a frame can carry).
    const std::size_t max = std::min<std::size_t>(r.max, kMaxPayloadSize - kExtendedTlvHeader - 64);
    std::size_t k = 0;
    for (std::size_t len = r.min; len <= max; len += r.stride, ++k) {
      if (k < 64 || len + 4 * r.stride > max) out.emplace_back(type, len);
    }
  }
  return out;
}

// add<T>() for a fixed-layout T, from the raw bytes of a value.
template <class T>
bool add_typed(FrameBuilder& b, const std::vector<std::byte>& bytes) {
  T v;
  std::memcpy(&v, bytes.data(), sizeof v);
  return b.add(v);
}

bool add_typed_by_number(FrameBuilder& b, std::uint8_t type, const std::vector<std::byte>& bytes) {
  switch (static_cast<TlvType>(type)) {
    case TlvType::V2Sync: return add_typed<V2Sync>(b, bytes);
    case TlvType::V2Swap: return add_typed<V2Swap>(b, bytes);
    case TlvType::V2Mint: return add_typed<V2Mint>(b, bytes);
    case TlvType::V2Burn: return add_typed<V2Burn>(b, bytes);
    case TlvType::V3Swap: return add_typed<V3Swap>(b, bytes);
    case TlvType::V3Mint: return add_typed<V3Mint>(b, bytes);
    case TlvType::V3Burn: return add_typed<V3Burn>(b, bytes);
    case TlvType::V3Initialize: return add_typed<V3Initialize>(b, bytes);
    case TlvType::BlockHeader: return add_typed<BlockHeader>(b, bytes);
    case TlvType::ReorgNotice: return add_typed<ReorgNotice>(b, bytes);
    case TlvType::ArbitrageSignal: return add_typed<ArbitrageSignal>(b, bytes);
    case TlvType::OrderRequest: return add_typed<OrderRequest>(b, bytes);
    case TlvType::ExecutionReport: return add_typed<ExecutionReport>(b, bytes);
    case TlvType::Heartbeat: return add_typed<Heartbeat>(b, bytes);
    case TlvType::PoolStateSnapshot: return add_typed<PoolStateSnapshot>(b, bytes);
    case TlvType::SnapshotRequest: return add_typed<SnapshotRequest>(b, bytes);
    case TlvType::ResendRequest: return add_typed<ResendRequest>(b, bytes);
    case TlvType::V3TicksSnapshot:
    case TlvType::Error: break;
  }
  ADD_FAILURE() << "not a fixed-layout type: " << int{type};
  return false;
}

TEST(FrameBuilderFastPath, ShouldWriteTheReferenceBytesForEveryTypeAndSize) {
  std::mt19937_64 rng(11);
  std::vector<std::byte> buf(kMaxFrameSize);
  const auto domains = {RelayDomain::MarketData, RelayDomain::System};
  std::size_t checked = 0;
  for (const auto& [type, len] : all_type_sizes()) {
    for (const auto d : domains) {
      for (const std::uint8_t flags : {std::uint8_t{0}, frame_flags::kNoChecksum}) {
        // The record alone, and behind a 1-byte-misaligning prefix record, so that it starts at
        // every parity of offset inside the payload.
        for (int prefix = 0; prefix < 2; ++prefix) {
          std::vector<Record> recs;
          if (prefix) recs.push_back({static_cast<std::uint8_t>(TlvType::Error), random_bytes(rng, sizeof(ErrorHead) + 5)});
          recs.push_back({type, random_bytes(rng, len)});
          const auto want = reference_frame(d, 9, flags, recs);

          // Untyped: one span, and split into head + tail at every interesting point.
          for (const std::size_t cut : {std::size_t{0}, std::size_t{1}, len / 2, len - 1, len}) {
            scrub(buf, want.size());
            FrameBuilder b(buf, d, 9, flags);
            for (const auto& r : recs) {
              const auto v = std::span<const std::byte>(r.value);
              const std::size_t c = &r == &recs.back() ? cut : 0;
              ASSERT_TRUE(b.add_raw(r.type, v.first(c), v.subspan(c))) << int{type} << " len " << len;
            }
            ASSERT_EQ(to_vec(b.finish(kSeq, kTs)), want) << "add_raw type " << int{type} << " len " << len << " cut " << cut;
          }
          // Typed add<T>() for the fixed layouts.
          if (tlv_size_rule(type).stride == 0) {
            scrub(buf, want.size());
            FrameBuilder b(buf, d, 9, flags);
            if (prefix) {
              ASSERT_TRUE(b.add_raw(recs[0].type, recs[0].value));
            }
            ASSERT_TRUE(add_typed_by_number(b, type, recs.back().value));
            ASSERT_EQ(to_vec(b.finish(kSeq, kTs)), want) << "add<T> type " << int{type};
          }
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 400u);
}

TEST(FrameBuilderFastPath, ShouldMatchReferenceForRandomMultiRecordFrames) {
  std::mt19937_64 rng(12);
  const auto sizes = all_type_sizes();
  std::vector<std::byte> buf(kMaxFrameSize);
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<Record> recs;
    std::size_t total = 0;
    const int n = static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) {
      const auto [type, len] = sizes[rng() % sizes.size()];
      if (total + 4 + len > kMaxPayloadSize) break;
      total += (len > kMaxStandardTlvValue ? 4 : 2) + len;
      recs.push_back({type, random_bytes(rng, len)});
    }
    const std::uint8_t flags = rng() % 4 == 0 ? frame_flags::kNoChecksum : 0;
    scrub(buf, kHeaderSize + total);
    FrameBuilder b(buf, RelayDomain::Execution, 200, flags);
    for (const auto& r : recs) {
      if (r.value.size() <= kMaxStandardTlvValue && tlv_size_rule(r.type).stride == 0 && rng() % 2) {
        ASSERT_TRUE(add_typed_by_number(b, r.type, r.value));
      } else {
        ASSERT_TRUE(b.add_raw(r.type, r.value));
      }
    }
    ASSERT_EQ(b.payload_size(), total);
    ASSERT_EQ(to_vec(b.finish(kSeq, kTs)), reference_frame(RelayDomain::Execution, 200, flags, recs)) << iter;
  }
}

// Frames of every payload length 0..700 (payloads made of Error records, whose value can have
// any length from 16 up): the checksum in the header is the software CRC32C of the frame with a
// zero checksum field, with whichever implementation the process chose and with each forced.
// The three frame-CRC implementations: software table, inline SSE4.2 loop, and the three-lane
// SSE4.2 + PCLMULQDQ version (payloads of 64 bytes and more). Each run forces one of them.
struct CrcMode {
  bool hardware;
  bool lanes;
};
bool cpu_has_sse42_and_pclmul() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
  return (c & bit_SSE4_2) != 0 && (c & bit_PCLMUL) != 0;
}
bool software_forced() {
  const char* env = std::getenv("TORQ_CRC32C");
  return env != nullptr && std::string_view(env) == "software";
}
std::vector<CrcMode> crc_modes() {
  std::vector<CrcMode> m = {{false, false}};
  if (crc32c_hardware_available()) m.push_back({true, false});
  if (detail::g_crc32c_use_lanes) m.push_back({true, true});  // the process chose it: CPU has both
  return m;
}
class ScopedCrcMode {
 public:
  explicit ScopedCrcMode(CrcMode m) noexcept
      : hw_(detail::g_crc32c_use_hardware), lanes_(detail::g_crc32c_use_lanes) {
    detail::g_crc32c_use_hardware = m.hardware;
    detail::g_crc32c_use_lanes = m.lanes;
  }
  ~ScopedCrcMode() {
    detail::g_crc32c_use_hardware = hw_;
    detail::g_crc32c_use_lanes = lanes_;
  }
  ScopedCrcMode(const ScopedCrcMode&) = delete;
  ScopedCrcMode& operator=(const ScopedCrcMode&) = delete;

 private:
  bool hw_;
  bool lanes_;
};

TEST(FrameBuilderFastPath, ShouldWriteTheSoftwareCrcOnEveryPayloadLength) {
  std::mt19937_64 rng(13);
  std::vector<std::byte> buf(2048);
  if (cpu_has_sse42_and_pclmul() && !software_forced()) {
    ASSERT_EQ(crc_modes().size(), 3u) << "the start-up choice must enable the lanes on a CPU with SSE4.2 and PCLMULQDQ";
  }
  for (const CrcMode mode : crc_modes()) {
    const ScopedCrcMode scoped(mode);
    const int hw = mode.hardware + mode.lanes;
    for (std::size_t len = 0; len <= 700; ++len) {
      FrameBuilder b(buf, RelayDomain::System, 3);
      // Standard-form Error records (18..257 bytes each) that add up to exactly `len`.
      std::size_t left = len;
      std::vector<Record> recs;
      while (left >= 2 + sizeof(ErrorHead)) {
        const std::size_t rec = left <= 2 + kMaxStandardTlvValue ? left : std::min<std::size_t>(2 + kMaxStandardTlvValue, left - 18);
        recs.push_back({static_cast<std::uint8_t>(TlvType::Error), random_bytes(rng, rec - 2)});
        left -= rec;
      }
      if (left != 0) continue;  // 1..17: shorter than any record
      for (const auto& r : recs) ASSERT_TRUE(b.add_raw(r.type, r.value));
      const auto f = b.finish(kSeq, kTs);
      ASSERT_EQ(f.size(), kHeaderSize + len);
      std::vector<std::byte> zeroed = to_vec(f);
      std::memset(zeroed.data() + kChecksumOffset, 0, 4);
      std::uint32_t got;
      std::memcpy(&got, f.data() + kChecksumOffset, 4);
      ASSERT_EQ(got, crc32c_software(zeroed.data(), zeroed.size())) << "len " << len << " hw " << hw;
      ASSERT_EQ(got, frame_checksum(f.first(kHeaderSize), f.subspan(kHeaderSize)));
      ASSERT_TRUE(parse_frame(f).ok()) << len;
    }
  }
}

// frame_checksum (the reader's CRC) against the software CRC on arbitrary bytes, every payload
// length 0..300 and many up to 1100, one above the frame limit, every start alignment, each
// implementation.
TEST(FrameBuilderFastPath, FrameChecksumShouldEqualSoftwareCrcOnEveryLengthAndAlignment) {
  std::mt19937_64 rng(14);
  const auto bytes = random_bytes(rng, 70100);
  std::vector<std::size_t> lengths;
  for (std::size_t len = 0; len <= 1100; len += (len < 300 ? 1 : 13)) lengths.push_back(len);
  lengths.push_back(kMaxPayloadSize);
  lengths.push_back(70000);  // frame_checksum takes any span, longer than a frame too
  for (const CrcMode mode : crc_modes()) {
    const ScopedCrcMode scoped(mode);
    const int hw = mode.hardware + mode.lanes;
    for (std::size_t off = 0; off < 8; ++off) {
      for (const std::size_t len : lengths) {
        std::vector<std::byte> f(bytes.begin() + static_cast<std::ptrdiff_t>(off),
                                 bytes.begin() + static_cast<std::ptrdiff_t>(off + kHeaderSize + len));
        const auto s = std::span<const std::byte>(f);
        const std::uint32_t got = frame_checksum(s.first(kHeaderSize), s.subspan(kHeaderSize));
        std::memset(f.data() + kChecksumOffset, 0, 4);
        ASSERT_EQ(got, crc32c_software(f.data(), f.size())) << "off " << off << " len " << len << " hw " << hw;
      }
    }
  }
}

// A buffer `cap` bytes long inside a larger one filled with a canary: whatever the builder
// accepts or refuses, no byte outside [0, cap) changes, and a record is accepted exactly when it
// fits.
TEST(FrameBuilderFastPath, ShouldRefuseRecordsThatDoNotFitAndNeverWritePastTheBuffer) {
  std::mt19937_64 rng(15);
  constexpr std::byte kCanary{0xA5};
  const Heartbeat hb{1, 2, 3, 0};
  const auto err_small = random_bytes(rng, sizeof(ErrorHead) + 30);   // standard form
  const auto err_large = random_bytes(rng, sizeof(ErrorHead) + 600);  // extended form
  struct Case {
    const char* name;
    std::size_t rec;
    bool (*add)(FrameBuilder&, const std::vector<std::byte>&, const Heartbeat&);
    const std::vector<std::byte>* value;
  };
  const Case cases[] = {
      {"add<Heartbeat>", 2 + sizeof(Heartbeat), [](FrameBuilder& b, const auto&, const Heartbeat& h) { return b.add(h); }, &err_small},
      {"add_raw standard", 2 + err_small.size(),
       [](FrameBuilder& b, const auto& v, const Heartbeat&) { return b.add_raw(static_cast<std::uint8_t>(TlvType::Error), v); }, &err_small},
      {"add_raw head+tail", 2 + err_small.size(),
       [](FrameBuilder& b, const auto& v, const Heartbeat&) {
         const auto s = std::span<const std::byte>(v);
         return b.add_raw(static_cast<std::uint8_t>(TlvType::Error), s.first(sizeof(ErrorHead)), s.subspan(sizeof(ErrorHead)));
       }, &err_small},
      {"add_raw extended", 4 + err_large.size(),
       [](FrameBuilder& b, const auto& v, const Heartbeat&) { return b.add_raw(static_cast<std::uint8_t>(TlvType::Error), v); }, &err_large},
  };
  for (const auto& c : cases) {
    for (std::size_t cap = 0; cap <= kHeaderSize + 2 * c.rec + 2; ++cap) {
      std::vector<std::byte> mem(cap + 64, kCanary);
      const std::span<std::byte> window = std::span<std::byte>(mem).first(cap);
      FrameBuilder b(window, RelayDomain::System, 1);
      const bool first = c.add(b, *c.value, hb);
      EXPECT_EQ(first, cap >= kHeaderSize + c.rec) << c.name << " cap " << cap;
      const bool second = c.add(b, *c.value, hb);
      EXPECT_EQ(second, cap >= kHeaderSize + 2 * c.rec) << c.name << " cap " << cap;
      const auto f = b.finish(kSeq, kTs);
      if (second) {
        EXPECT_EQ(f.size(), kHeaderSize + 2 * c.rec);
        EXPECT_TRUE(parse_frame(f).ok());
      } else {
        EXPECT_TRUE(b.failed()) << c.name << " cap " << cap;
        EXPECT_TRUE(f.empty()) << "a refused record must fail the frame";
      }
      EXPECT_TRUE(std::all_of(mem.begin() + static_cast<std::ptrdiff_t>(cap), mem.end(), [&](std::byte x) { return x == kCanary; }))
          << c.name << " wrote past a buffer of " << cap;
    }
  }
}

TEST(FrameBuilderFastPath, ShouldStopAtTheFrameSizeLimitEvenWithALargerBuffer) {
  std::vector<std::byte> buf(kMaxFrameSize + 4096);
  FrameBuilder b(buf, RelayDomain::System, 1);
  const std::vector<std::byte> v(sizeof(ErrorHead) + 200);  // 202-byte standard records
  std::size_t n = 0;
  while (b.add_raw(static_cast<std::uint8_t>(TlvType::Error), v)) ++n;
  EXPECT_EQ(n, kMaxPayloadSize / (2 + v.size()));
  EXPECT_TRUE(b.finish(1, 1).empty()) << "the refused record failed the frame";
  b.reset();
  for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(b.add_raw(static_cast<std::uint8_t>(TlvType::Error), v));
  const auto f = b.finish(1, 1);
  ASSERT_FALSE(f.empty());
  EXPECT_LE(f.size(), kMaxFrameSize);
  EXPECT_TRUE(parse_frame(f).ok());
}

TEST(TlvRegistry, ShouldAcceptExactlyTheLengthsOfEachRule) {
  const auto ticks = static_cast<std::uint8_t>(TlvType::V3TicksSnapshot);
  const auto error = static_cast<std::uint8_t>(TlvType::Error);
  for (std::size_t len = 0; len < 70000; ++len) {
    const bool tick_ok = len >= sizeof(V3TicksSnapshotHead) && (len - sizeof(V3TicksSnapshotHead)) % sizeof(V3TickEntry) == 0 &&
                         len <= kMaxExtendedTlvValue;
    ASSERT_EQ(is_valid_length(ticks, len), tick_ok) << len;
    ASSERT_EQ(is_valid_length(error, len), len >= sizeof(ErrorHead) && len <= sizeof(ErrorHead) + kMaxErrorMessage) << len;
    ASSERT_EQ(is_valid_length(static_cast<std::uint8_t>(TlvType::Heartbeat), len), len == sizeof(Heartbeat)) << len;
    ASSERT_FALSE(is_valid_length(19, len));
  }
}

}  // namespace
}  // namespace torq::protocol
