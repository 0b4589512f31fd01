// Protocol V2 frames: the zero-copy reader and the builder.
//
// Reader: `parse_frame(bytes)` validates one frame at the start of a byte span (header fields,
// sizes, checksum, and the TLV structure of the payload: every record in bounds, of a known type,
// with a legal length) and returns a FrameView pointing into the caller's bytes, or a FrameError.
// After a successful parse, `TlvRange` iterates the records without allocation and `tlv_as<T>()`
// copies a value into its struct with memcpy, so no input, aligned or not, well-formed or not,
// is ever dereferenced out of bounds or through a misaligned pointer. Cost: O(payload) for the
// checksum and the TLV walk. The FrameView borrows the caller's buffer, which must outlive it.
//
// Builder: `FrameBuilder` writes header + TLVs into a caller-provided buffer (no allocation),
// choosing the standard TLV form for values up to 255 bytes and the extended form above, and
// `finish()` fills sizes and the CRC32C. Every call reports failure (buffer too small, value too
// long, frame finished) through its return value; nothing throws.
//
// All functions are noexcept, allocation-free and reentrant; a builder or view is used by one
// thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>

#include "torq/protocol/crc32c.hpp"
#include "torq/protocol/header.hpp"
#include "torq/protocol/tlv_types.hpp"

namespace torq::protocol {

enum class FrameError : std::uint8_t {
  Ok = 0,
  TruncatedHeader,   // fewer than 32 bytes
  BadMagic,          // bytes 0-3 are not EF BE AD DE
  BadVersion,        // version byte is not 2
  BadDomain,         // relay domain byte outside 1..4
  PayloadTooLarge,   // payload_size above kMaxPayloadSize
  TruncatedFrame,    // buffer shorter than 32 + payload_size
  BadChecksum,       // CRC32C mismatch (and kNoChecksum not set)
  SizeMismatch,      // the TLV records do not exactly fill payload_size (overrun or trailing bytes)
  UnknownType,       // a TLV type number that the registry does not define
  BadTlvLength,      // a TLV length that its type's layout does not allow
  NonCanonicalTlv,   // extended form used for a value of 255 bytes or less
};

[[nodiscard]] const char* to_string(FrameError e) noexcept;

struct ParseOptions {
  // Verify CRC32C unless the frame carries kNoChecksum. Turning this off is for links whose
  // producer is trusted and in the same address space.
  bool verify_checksum = true;
  // Refuse kNoChecksum frames outright (`bad checksum`). Set on untrusted links (UDP, Unix
  // sockets, NIC), so that a corrupted flag bit can never switch verification off.
  bool require_checksum = false;
};

// One TLV record inside a parsed frame. `value` points into the frame's buffer.
struct TlvView {
  std::uint8_t type;
  bool extended;
  std::span<const std::byte> value;
};

class TlvIterator {
 public:
  using value_type = TlvView;
  using difference_type = std::ptrdiff_t;

  TlvIterator() noexcept = default;
  explicit TlvIterator(std::span<const std::byte> rest) noexcept : rest_(rest) { load(); }

  [[nodiscard]] const TlvView& operator*() const noexcept { return current_; }
  [[nodiscard]] const TlvView* operator->() const noexcept { return &current_; }
  TlvIterator& operator++() noexcept {
    rest_ = rest_.subspan(consumed_);
    load();
    return *this;
  }
  TlvIterator operator++(int) noexcept {
    TlvIterator copy = *this;
    ++*this;
    return copy;
  }
  [[nodiscard]] friend bool operator==(const TlvIterator& a, const TlvIterator& b) noexcept {
    return a.rest_.data() == b.rest_.data() && a.rest_.size() == b.rest_.size();
  }

 private:
  // Reads the record at the front of rest_. A malformed tail (never present in a payload that
  // parse_frame accepted) ends the iteration instead of reading out of bounds.
  void load() noexcept {
    std::size_t header = kStandardTlvHeader;
    std::uint8_t type = 0;
    std::size_t len = 0;
    bool extended = false;
    if (rest_.size() >= kStandardTlvHeader) {
      type = std::to_integer<std::uint8_t>(rest_[0]);
      len = std::to_integer<std::size_t>(rest_[1]);
      if (type == kExtendedTlvMarker) {
        extended = true;
        header = kExtendedTlvHeader;
        if (rest_.size() >= kExtendedTlvHeader) {
          type = std::to_integer<std::uint8_t>(rest_[1]);
          len = std::to_integer<std::size_t>(rest_[2]) | (std::to_integer<std::size_t>(rest_[3]) << 8);
        }
      }
    }
    if (rest_.size() < header || rest_.size() - header < len) [[unlikely]] {
      rest_ = rest_.subspan(rest_.size());  // end
      consumed_ = 0;
      current_ = TlvView{};
      return;
    }
    current_ = TlvView{type, extended, rest_.subspan(header, len)};
    consumed_ = header + len;
  }

  std::span<const std::byte> rest_{};
  TlvView current_{};
  std::size_t consumed_ = 0;
};

class TlvRange {
 public:
  explicit TlvRange(std::span<const std::byte> payload) noexcept : payload_(payload) {}
  [[nodiscard]] TlvIterator begin() const noexcept { return TlvIterator(payload_); }
  [[nodiscard]] TlvIterator end() const noexcept { return TlvIterator(payload_.subspan(payload_.size())); }

 private:
  std::span<const std::byte> payload_;
};

struct FrameView {
  FrameHeader header;                   // copied out (alignment-safe)
  std::span<const std::byte> frame;     // header + payload, inside the caller's buffer
  std::span<const std::byte> payload;   // TLV bytes
  std::uint32_t tlv_count;

  [[nodiscard]] RelayDomain domain() const noexcept { return static_cast<RelayDomain>(header.domain); }
  [[nodiscard]] TlvRange tlvs() const noexcept { return TlvRange(payload); }
  [[nodiscard]] std::size_t size() const noexcept { return frame.size(); }
};

struct ParseResult {
  FrameError error;
  FrameView view;  // meaningful only when error == FrameError::Ok
  [[nodiscard]] bool ok() const noexcept { return error == FrameError::Ok; }
};

// Parses the frame at the start of `bytes` (trailing bytes after the frame are left alone, so a
// stream of back-to-back frames is read by advancing by view.size()).
[[nodiscard]] ParseResult parse_frame(std::span<const std::byte> bytes, ParseOptions options = {}) noexcept;

// Computes the checksum a frame should carry: CRC32C over the 28 header bytes before the
// checksum field, four zero bytes, and the payload.
[[nodiscard]] std::uint32_t frame_checksum(std::span<const std::byte> header_bytes,
                                           std::span<const std::byte> payload) noexcept;

// Copies a fixed-layout TLV value into T; nullopt if the type or length does not match.
template <class T>
[[nodiscard]] std::optional<T> tlv_as(const TlvView& tlv) noexcept {
  static_assert(std::is_trivially_copyable_v<T>);
  if (tlv.type != static_cast<std::uint8_t>(T::kType) || tlv.value.size() != sizeof(T)) return std::nullopt;
  T out;
  std::memcpy(&out, tlv.value.data(), sizeof(T));
  return out;
}

// Copies the fixed head of a variable-length TLV (V3TicksSnapshotHead, ErrorHead).
template <class Head>
[[nodiscard]] std::optional<Head> tlv_head_as(const TlvView& tlv) noexcept {
  static_assert(std::is_trivially_copyable_v<Head>);
  if (tlv.type != static_cast<std::uint8_t>(Head::kType) || tlv.value.size() < sizeof(Head)) return std::nullopt;
  Head out;
  std::memcpy(&out, tlv.value.data(), sizeof(Head));
  return out;
}

class FrameBuilder {
 public:
  // `buffer` receives the frame; it must stay valid until finish() returns.
  FrameBuilder(std::span<std::byte> buffer, RelayDomain domain, std::uint8_t source,
               std::uint8_t flags = 0) noexcept;

  // Appends one record. Standard form when value.size() <= 255, extended form otherwise.
  // False (and nothing written) if the type is unknown, the length illegal for the type, the
  // buffer or the frame size limit is exceeded, or the frame is already finished.
  [[nodiscard]] bool add_raw(std::uint8_t type, std::span<const std::byte> value) noexcept;
  // Variable-length records written as head + tail without an intermediate copy.
  [[nodiscard]] bool add_raw(std::uint8_t type, std::span<const std::byte> head,
                             std::span<const std::byte> tail) noexcept;

  template <class T>
  [[nodiscard]] bool add(const T& value) noexcept {
    static_assert(std::is_trivially_copyable_v<T> && std::has_unique_object_representations_v<T>);
    static_assert(sizeof(T) <= kMaxStandardTlvValue, "fixed-layout TLVs use the standard form");
    static_assert(is_valid_length(static_cast<std::uint8_t>(T::kType), sizeof(T)), "layout and registry disagree");
    // Hot path: the size is a constant, so the checks fold and the copy is a few moves.
    constexpr std::size_t rec = kStandardTlvHeader + sizeof(T);
    if (failed_ || finished_ || rec > buf_.size() - used_ || used_ + rec > kMaxFrameSize) [[unlikely]] {
      failed_ = true;
      return false;
    }
    std::byte* p = buf_.data() + used_;
    p[0] = static_cast<std::byte>(T::kType);
    p[1] = static_cast<std::byte>(sizeof(T));
    std::memcpy(p + kStandardTlvHeader, &value, sizeof(T));
    used_ += rec;
    return true;
  }

  // Writes the header (sizes, sequence, timestamp, checksum unless kNoChecksum) and returns the
  // finished frame, or an empty span if the builder had failed earlier (see failed()).
  [[nodiscard]] std::span<const std::byte> finish(std::uint64_t sequence, std::uint64_t timestamp_ns) noexcept;

  [[nodiscard]] bool failed() const noexcept { return failed_; }
  [[nodiscard]] std::size_t payload_size() const noexcept { return used_ - kHeaderSize; }
  // Starts a new frame in the same buffer with the same domain/source/flags.
  void reset() noexcept;

 private:
  std::span<std::byte> buf_;
  std::size_t used_ = 0;
  RelayDomain domain_;
  std::uint8_t source_;
  std::uint8_t flags_;
  bool failed_ = false;
  bool finished_ = false;
};

}  // namespace torq::protocol
