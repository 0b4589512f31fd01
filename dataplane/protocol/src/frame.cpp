// Protocol V2 reader and builder. See frame.hpp.
#include "torq/protocol/frame.hpp"

#include <array>

namespace torq::protocol {
namespace {

// Decodes the record header at the front of `rest`. Returns false if it does not fit.
struct RecordHead {
  std::uint8_t type;
  bool extended;
  std::size_t header_len;
  std::size_t value_len;
};

bool read_record_head(std::span<const std::byte> rest, RecordHead& out) noexcept {
  if (rest.size() < kStandardTlvHeader) return false;
  const auto first = std::to_integer<std::uint8_t>(rest[0]);
  if (first != kExtendedTlvMarker) {
    out = {first, false, kStandardTlvHeader, std::to_integer<std::size_t>(rest[1])};
  } else {
    if (rest.size() < kExtendedTlvHeader) return false;
    const std::size_t len = std::to_integer<std::size_t>(rest[2]) | (std::to_integer<std::size_t>(rest[3]) << 8);
    out = {std::to_integer<std::uint8_t>(rest[1]), true, kExtendedTlvHeader, len};
  }
  return true;
}

}  // namespace

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
  }
  return "unknown";
}

std::uint32_t frame_checksum(std::span<const std::byte> header_bytes, std::span<const std::byte> payload) noexcept {
  // The header as four words with the checksum field (the top half of the last word) zeroed.
  std::uint64_t h[4];
  std::memcpy(h, header_bytes.data(), kHeaderSize);
  h[3] &= 0x00000000FFFFFFFFull;
  return crc32c(payload, crc32c(h, sizeof h));
}

ParseResult parse_frame(std::span<const std::byte> bytes, ParseOptions options) noexcept {
  if (bytes.size() < kHeaderSize) return {FrameError::TruncatedHeader, {}};
  FrameHeader h;
  std::memcpy(&h, bytes.data(), kHeaderSize);
  if (h.magic != kMagic) return {FrameError::BadMagic, {}};
  if (h.version != kVersion) return {FrameError::BadVersion, {}};
  if (!is_valid_domain(h.domain)) return {FrameError::BadDomain, {}};
  if (h.payload_size > kMaxPayloadSize) return {FrameError::PayloadTooLarge, {}};
  if (bytes.size() - kHeaderSize < h.payload_size) return {FrameError::TruncatedFrame, {}};

  const auto frame = bytes.first(kHeaderSize + h.payload_size);
  const auto payload = frame.subspan(kHeaderSize);
  if ((h.flags & frame_flags::kNoChecksum) != 0) {
    // The builder writes a zero checksum with kNoChecksum: a non-zero one means the flag itself
    // was corrupted on a checksummed frame.
    if (options.require_checksum || h.checksum != 0) return {FrameError::BadChecksum, {}};
  } else if (options.verify_checksum && frame_checksum(frame.first(kHeaderSize), payload) != h.checksum) {
    return {FrameError::BadChecksum, {}};
  }

  std::uint32_t count = 0;
  auto rest = payload;
  while (!rest.empty()) {
    RecordHead rh{};
    if (!read_record_head(rest, rh) || rest.size() - rh.header_len < rh.value_len) {
      return {FrameError::SizeMismatch, {}};
    }
    if (!is_known_type(rh.type)) return {FrameError::UnknownType, {}};
    if (!is_valid_length(rh.type, rh.value_len)) return {FrameError::BadTlvLength, {}};
    if (rh.extended && rh.value_len <= kMaxStandardTlvValue) return {FrameError::NonCanonicalTlv, {}};
    rest = rest.subspan(rh.header_len + rh.value_len);
    ++count;
  }
  return {FrameError::Ok, FrameView{h, frame, payload, count}};
}

FrameBuilder::FrameBuilder(std::span<std::byte> buffer, RelayDomain domain, std::uint8_t source,
                           std::uint8_t flags) noexcept
    : buf_(buffer), domain_(domain), source_(source), flags_(flags) {
  reset();
}

void FrameBuilder::reset() noexcept {
  used_ = kHeaderSize;
  finished_ = false;
  failed_ = buf_.size() < kHeaderSize;
}

bool FrameBuilder::add_raw(std::uint8_t type, std::span<const std::byte> value) noexcept {
  return add_raw(type, value, {});
}

bool FrameBuilder::add_raw(std::uint8_t type, std::span<const std::byte> head,
                           std::span<const std::byte> tail) noexcept {
  if (failed_ || finished_) return false;
  const std::size_t len = head.size() + tail.size();
  const bool extended = len > kMaxStandardTlvValue;
  const std::size_t rec = (extended ? kExtendedTlvHeader : kStandardTlvHeader) + len;
  if (!is_valid_length(type, len) || len > kMaxExtendedTlvValue || rec > buf_.size() - used_ ||
      used_ + rec > kMaxFrameSize) {
    failed_ = true;  // sticky: a frame with a missing record must never be sent
    return false;
  }
  std::byte* p = buf_.data() + used_;
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

std::span<const std::byte> FrameBuilder::finish(std::uint64_t sequence, std::uint64_t timestamp_ns) noexcept {
  if (failed_ || finished_) return {};
  FrameHeader h{};
  h.magic = kMagic;
  h.domain = static_cast<std::uint8_t>(domain_);
  h.source = source_;
  h.flags = flags_;
  h.version = kVersion;
  h.sequence = sequence;
  h.timestamp_ns = timestamp_ns;
  h.payload_size = static_cast<std::uint32_t>(used_ - kHeaderSize);
  h.checksum = 0;
  std::memcpy(buf_.data(), &h, kHeaderSize);
  if ((flags_ & frame_flags::kNoChecksum) == 0) {
    const auto frame = std::span<const std::byte>(buf_.data(), used_);
    h.checksum = frame_checksum(frame.first(kHeaderSize), frame.subspan(kHeaderSize));
    std::memcpy(buf_.data() + kChecksumOffset, &h.checksum, sizeof h.checksum);
  }
  finished_ = true;
  return {buf_.data(), used_};
}

}  // namespace torq::protocol
