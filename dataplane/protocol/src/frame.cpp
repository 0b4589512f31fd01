// Protocol V2 reader and builder. See frame.hpp.
#include "torq/protocol/frame.hpp"

#include <array>

#include <immintrin.h>

namespace torq::protocol {

const char* to_string(FrameError e) noexcept {
  switch (e) {
    case FrameError::Ok: return "ok";
    case FrameError::TruncatedHeader: return "truncated header";
    case FrameError::BadMagic: return "bad magic";
    case FrameError::BadVersion: return "wrong version";
    case FrameError::BadDomain: return "bad relay domain";
    case FrameError::PayloadTooLarge: return "payload too large";
    case FrameError::TruncatedFrame: return "truncated frame";
    case FrameError::BadChecksum: return "bad checksum";
    case FrameError::SizeMismatch: return "size mismatch";
    case FrameError::UnknownType: return "unknown TLV type";
    case FrameError::BadTlvLength: return "bad TLV length";
    case FrameError::NonCanonicalTlv: return "non-canonical TLV form";
  }
  return "unknown error";
}

const char* tlv_type_name(std::uint8_t type) noexcept {
  switch (static_cast<TlvType>(type)) {
    case TlvType::V2Sync: return "V2Sync";
    case TlvType::V2Swap: return "V2Swap";
    case TlvType::V2Mint: return "V2Mint";
    case TlvType::V2Burn: return "V2Burn";
    case TlvType::V3Swap: return "V3Swap";
    case TlvType::V3Mint: return "V3Mint";
    case TlvType::V3Burn: return "V3Burn";
    case TlvType::V3Initialize: return "V3Initialize";
    case TlvType::BlockHeader: return "BlockHeader";
    case TlvType::ReorgNotice: return "ReorgNotice";
    case TlvType::ArbitrageSignal: return "ArbitrageSignal";
    case TlvType::OrderRequest: return "OrderRequest";
    case TlvType::ExecutionReport: return "ExecutionReport";
    case TlvType::Heartbeat: return "Heartbeat";
    case TlvType::PoolStateSnapshot: return "PoolStateSnapshot";
    case TlvType::V3TicksSnapshot: return "V3TicksSnapshot";
    case TlvType::Error: return "Error";
    case TlvType::SnapshotRequest: return "SnapshotRequest";
    case TlvType::ResendRequest: return "ResendRequest";
  }
  return "unknown";
}

namespace detail {

std::uint32_t frame_crc_software(std::uint64_t w0, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3,
                                 const std::byte* payload, std::size_t n) noexcept {
  const std::uint64_t h[4] = {w0, w1, w2, w3};
  return crc32c_software(payload, n, crc32c_software(h, sizeof h));
}

namespace {

// x^(8 * bytes - 33) mod P (reflected): the multiplier that, through one carry-less multiply
// and one crc32 instruction (which compute a * b * x^33), shifts a CRC state past `bytes`
// bytes. lo[i] for i bytes (0..255), hi[j] for 256 * j bytes.
struct ShiftTables {
  std::uint32_t lo[256];
  std::uint32_t hi[256];
};
constexpr ShiftTables kShift = [] {
  ShiftTables t{};
  const std::uint32_t x8 = gf_x_pow(8);
  const std::uint32_t x2048 = gf_x_pow(2048);
  t.lo[0] = t.hi[0] = gf_x_pow(-33);
  for (int i = 1; i < 256; ++i) {
    t.lo[i] = gf_mul(t.lo[i - 1], x8);
    t.hi[i] = gf_mul(t.hi[i - 1], x2048);
  }
  return t;
}();
static_assert(gf_mul(gf_x_pow(-33), gf_x_pow(33)) == 0x80000000u, "x^-33 * x^33 == 1");
static_assert(gf_mul(gf_x_pow(5), gf_x_pow(7)) == gf_x_pow(12));

// a * b * x^33 mod P.
[[nodiscard]] __attribute__((target("sse4.2,pclmul"))) inline std::uint32_t mul_x33(std::uint32_t a,
                                                                                    std::uint32_t b) noexcept {
  const __m128i p = _mm_clmulepi64_si128(_mm_cvtsi32_si128(static_cast<int>(a)), _mm_cvtsi32_si128(static_cast<int>(b)), 0);
  return static_cast<std::uint32_t>(_mm_crc32_u64(0, static_cast<std::uint64_t>(_mm_cvtsi128_si64(p))));
}

// The shift multiplier for `bytes` < 65536 (one table load below 256 bytes; one more multiply,
// off the data's critical path since it depends on the length only, above).
[[nodiscard]] __attribute__((target("sse4.2,pclmul"))) inline std::uint32_t shift_multiplier(std::size_t bytes) noexcept {
  const std::uint32_t lo = kShift.lo[bytes & 0xFF];
  if (bytes < 256) return lo;
  return mul_x33(lo, kShift.hi[(bytes >> 8) & 0xFF]);
}

}  // namespace

__attribute__((target("sse4.2,pclmul"))) std::uint32_t frame_crc_lanes(std::uint64_t w0, std::uint64_t w1,
                                                                        std::uint64_t w2, std::uint64_t w3,
                                                                        const std::byte* payload, std::size_t n) noexcept {
  // Split the 4 header words + n/8 payload words into three chains of about equal length:
  // lane 1 = header + payload words [0, a), lane 2 = [a, a + b), lane 3 = the rest and the tail.
  const std::size_t words = n / 8;
  const std::size_t per_lane = (words + 4) / 3;
  const std::size_t a = per_lane > 4 ? per_lane - 4 : 0;
  const std::size_t b = per_lane;
  const std::byte* pa = payload;
  const std::byte* pb = payload + 8 * a;
  const std::byte* pc = pb + 8 * b;
  const std::byte* const end = payload + n;

  std::uint64_t c1 = 0xFFFFFFFFu;
  std::uint64_t c2 = 0;
  std::uint64_t c3 = 0;
  c1 = _mm_crc32_u64(c1, w0);
  c1 = _mm_crc32_u64(c1, w1);
  c1 = _mm_crc32_u64(c1, w2);
  c1 = _mm_crc32_u64(c1, w3);
  std::size_t i = 0;
  for (; i < a; ++i) {  // all three chains
    c1 = _mm_crc32_u64(c1, load_u64(pa + 8 * i));
    c2 = _mm_crc32_u64(c2, load_u64(pb + 8 * i));
    c3 = _mm_crc32_u64(c3, load_u64(pc + 8 * i));
  }
  for (; i < b; ++i) {  // lane 1 started 4 header words ahead
    c2 = _mm_crc32_u64(c2, load_u64(pb + 8 * i));
    c3 = _mm_crc32_u64(c3, load_u64(pc + 8 * i));
  }
  const std::byte* p = pc + 8 * b;
  for (; end - p >= 8; p += 8) c3 = _mm_crc32_u64(c3, load_u64(p));
  auto s3 = static_cast<std::uint32_t>(c3);
  if (end - p >= 4) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    s3 = _mm_crc32_u32(s3, v);
    p += 4;
  }
  for (; p != end; ++p) s3 = _mm_crc32_u8(s3, std::to_integer<std::uint8_t>(*p));

  // state(all) = state1 * x^(8 * (n - 8a)) + state2 * x^(8 * (n - 8a - 8b)) + state3
  const std::size_t after1 = n - 8 * a;
  const std::size_t after2 = after1 - 8 * b;
  const std::uint32_t s = mul_x33(static_cast<std::uint32_t>(c1), shift_multiplier(after1)) ^
                          mul_x33(static_cast<std::uint32_t>(c2), shift_multiplier(after2)) ^ s3;
  return ~s;
}

}  // namespace detail

std::uint32_t frame_checksum(std::span<const std::byte> header_bytes, std::span<const std::byte> payload) noexcept {
  const std::byte* h = header_bytes.data();
  // Word 3 with the checksum field (its top half) zeroed.
  return detail::frame_crc(detail::load_u64(h), detail::load_u64(h + 8), detail::load_u64(h + 16),
                           detail::load_u64(h + 24) & 0x00000000FFFFFFFFull, payload.data(), payload.size());
}

ParseResult parse_frame(std::span<const std::byte> bytes, ParseOptions options) noexcept {
  if (bytes.size() < kHeaderSize) [[unlikely]] return {FrameError::TruncatedHeader, {}};
  const std::byte* const b = bytes.data();
  // The header as four 8-byte loads: each is contained in one store of a builder that wrote the
  // header as 8-byte words (or as one wider store), so a frame read right after it was built
  // gets its bytes forwarded from the store buffer instead of waiting for the stores to reach the
  // cache.
  const std::uint64_t w0 = detail::load_u64(b);
  const std::uint64_t w1 = detail::load_u64(b + 8);
  const std::uint64_t w2 = detail::load_u64(b + 16);
  // payload_size and checksum as two 4-byte loads (the builder stores them separately too): the
  // TLV walk and the checksum computation need only the size, so they do not wait for the
  // checksum bytes.
  std::uint32_t payload_size;
  std::uint32_t checksum;
  std::memcpy(&payload_size, b + 24, sizeof payload_size);
  std::memcpy(&checksum, b + kChecksumOffset, sizeof checksum);
  if (static_cast<std::uint32_t>(w0) != kMagic) [[unlikely]] return {FrameError::BadMagic, {}};
  if (static_cast<std::uint8_t>(w0 >> 56) != kVersion) [[unlikely]] return {FrameError::BadVersion, {}};
  if (!is_valid_domain(static_cast<std::uint8_t>(w0 >> 32))) [[unlikely]] return {FrameError::BadDomain, {}};
  if (payload_size > kMaxPayloadSize) [[unlikely]] return {FrameError::PayloadTooLarge, {}};
  if (bytes.size() - kHeaderSize < payload_size) [[unlikely]] return {FrameError::TruncatedFrame, {}};

  const std::byte* const payload = b + kHeaderSize;
  if ((static_cast<std::uint8_t>(w0 >> 48) & frame_flags::kNoChecksum) != 0) {
    // The builder writes a zero checksum with kNoChecksum: a non-zero one means the flag itself
    // was corrupted on a checksummed frame.
    if (options.require_checksum || checksum != 0) return {FrameError::BadChecksum, {}};
  } else if (options.verify_checksum &&
             detail::frame_crc(w0, w1, w2, payload_size, payload, payload_size) != checksum) [[unlikely]] {
    return {FrameError::BadChecksum, {}};
  }

  // TLV walk over raw pointers: `p < end` always, and every read below is preceded by a check
  // that it stays inside [p, end).
  std::uint32_t count = 0;
  const std::byte* p = payload;
  const std::byte* const end = payload + payload_size;
  while (p != end) {
    const auto rest = static_cast<std::size_t>(end - p);
    if (rest < kStandardTlvHeader) [[unlikely]] return {FrameError::SizeMismatch, {}};
    auto type = std::to_integer<std::uint8_t>(p[0]);
    std::size_t len = std::to_integer<std::size_t>(p[1]);
    std::size_t head = kStandardTlvHeader;
    if (type == kExtendedTlvMarker) [[unlikely]] {
      if (rest < kExtendedTlvHeader) return {FrameError::SizeMismatch, {}};
      type = std::to_integer<std::uint8_t>(p[1]);
      len = std::to_integer<std::size_t>(p[2]) | (std::to_integer<std::size_t>(p[3]) << 8);
      head = kExtendedTlvHeader;
      if (rest - head < len) return {FrameError::SizeMismatch, {}};
      if (!is_known_type(type)) return {FrameError::UnknownType, {}};
      if (!is_valid_length(type, len)) return {FrameError::BadTlvLength, {}};
      if (len <= kMaxStandardTlvValue) return {FrameError::NonCanonicalTlv, {}};
    } else {
      if (rest - head < len) [[unlikely]] return {FrameError::SizeMismatch, {}};
      if (!is_valid_length(type, len)) [[unlikely]] {
        return {is_known_type(type) ? FrameError::BadTlvLength : FrameError::UnknownType, {}};
      }
    }
    p += head + len;
    ++count;
  }
  // The view's header from the words already loaded (no second, wider load of the same bytes).
  const std::uint64_t words[4] = {w0, w1, w2, payload_size | (std::uint64_t{checksum} << 32)};
  FrameHeader h;
  std::memcpy(&h, words, kHeaderSize);
  return {FrameError::Ok, FrameView{h, bytes.first(kHeaderSize + payload_size),
                                    std::span<const std::byte>(payload, payload_size), count}};
}

bool FrameBuilder::add_raw_slow(std::uint8_t type, std::span<const std::byte> head,
                                std::span<const std::byte> tail) noexcept {
  if (closed()) return false;
  const std::size_t len = head.size() + tail.size();
  const bool extended = len > kMaxStandardTlvValue;
  const std::size_t rec = (extended ? kExtendedTlvHeader : kStandardTlvHeader) + len;
  if (!is_valid_length(type, len) || len > kMaxExtendedTlvValue || rec > limit_ - used_) {
    failed_ = true;  // sticky: a frame with a missing record must never be sent
    return false;
  }
  std::byte* p = data_ + used_;
  if (!extended) {
    p[0] = std::byte{type};
    p[1] = static_cast<std::byte>(len);
    p += kStandardTlvHeader;
  } else {
    p[0] = std::byte{kExtendedTlvMarker};
    p[1] = std::byte{type};
    p[2] = static_cast<std::byte>(len & 0xFF);
    p[3] = static_cast<std::byte>(len >> 8);
    p += kExtendedTlvHeader;
  }
  if (!head.empty()) std::memcpy(p, head.data(), head.size());
  if (!tail.empty()) std::memcpy(p + head.size(), tail.data(), tail.size());
  used_ += rec;
  return true;
}

}  // namespace torq::protocol
