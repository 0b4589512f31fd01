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
// long, frame finished) through its return value; nothing throws. The common calls are inline:
// add<T>() is one room check, a 2-byte store and a fixed-size word copy; add_raw() of a
// standard-form record the same with memcpy; finish() computes the CRC from the header words in
// registers plus the payload and stores the header once. The builder never writes outside
// [0, 32 + payload) of its buffer.
//
// Frame CRC (both sides): the SSE4.2 instruction inline when the process chose hardware
// (crc32c.hpp); for payloads of 64 bytes and more on CPUs with PCLMULQDQ, three independent
// crc32 chains joined by carry-less multiplies (detail::frame_crc_lanes, one direct call); the
// table version otherwise. All give the same bytes (tests/protocol/builder_test.cpp).
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

namespace detail {

[[nodiscard]] inline std::uint64_t load_u64(const std::byte* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store_u64(std::byte* p, std::uint64_t v) noexcept { std::memcpy(p, &v, sizeof v); }

// Header words 0-3 as the CRC sees them: w0 = magic | metadata << 32, w1 = sequence,
// w2 = timestamp, w3 = payload_size (the checksum half zero).
[[nodiscard]] constexpr std::uint64_t header_word0(std::uint8_t domain, std::uint8_t source, std::uint8_t flags) noexcept {
  return std::uint64_t{kMagic} | (std::uint64_t{domain} << 32) | (std::uint64_t{source} << 40) |
         (std::uint64_t{flags} << 48) | (std::uint64_t{kVersion} << 56);
}

// Frame CRC32C from the header words (held in registers, so the header never has to be stored
// and read back) and the payload bytes.
[[nodiscard]] __attribute__((target("sse4.2"))) inline std::uint32_t frame_crc_hardware(
    std::uint64_t w0, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3, const std::byte* payload,
    std::size_t n) noexcept {
  std::uint64_t c = 0xFFFFFFFFu;
  c = _mm_crc32_u64(c, w0);
  c = _mm_crc32_u64(c, w1);
  c = _mm_crc32_u64(c, w2);
  c = _mm_crc32_u64(c, w3);
  return crc32c_hardware(payload, n, ~static_cast<std::uint32_t>(c));
}
[[nodiscard]] std::uint32_t frame_crc_software(std::uint64_t w0, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3,
                                               const std::byte* payload, std::size_t n) noexcept;
// Same result as frame_crc_hardware with three independent crc32 chains (header + first part of
// the payload, middle part, last part) joined by two carry-less multiplies: a 96-byte frame is 4
// dependent crc32 steps instead of 12. Needs SSE4.2 and PCLMULQDQ (g_crc32c_use_lanes), which
// x86-64-v3 does not imply, so it is compiled for them and called, not inlined.
[[nodiscard]] std::uint32_t frame_crc_lanes(std::uint64_t w0, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3,
                                            const std::byte* payload, std::size_t n) noexcept;
inline constexpr std::size_t kFrameCrcLanesMinPayload = 64;
[[nodiscard]] inline std::uint32_t frame_crc(std::uint64_t w0, std::uint64_t w1, std::uint64_t w2, std::uint64_t w3,
                                             const std::byte* payload, std::size_t n) noexcept {
  if (crc32c_uses_hardware()) {
    // (One unsigned compare for 64 <= n <= kMaxPayloadSize: the lanes' shift tables cover < 64 KiB.)
    if (n - kFrameCrcLanesMinPayload <= kMaxPayloadSize - kFrameCrcLanesMinPayload && g_crc32c_use_lanes) {
      return frame_crc_lanes(w0, w1, w2, w3, payload, n);
    }
    return frame_crc_hardware(w0, w1, w2, w3, payload, n);
  }
  return frame_crc_software(w0, w1, w2, w3, payload, n);
}

}  // namespace detail

class FrameBuilder {
 public:
  // `buffer` receives the frame; it must stay valid until finish() returns. The builder writes
  // only inside the frame it builds (bytes [0, 32 + payload_size) of `buffer`).
  FrameBuilder(std::span<std::byte> buffer, RelayDomain domain, std::uint8_t source,
               std::uint8_t flags = 0) noexcept
      : data_(buffer.data()),
        limit_(buffer.size() < kMaxFrameSize ? buffer.size() : kMaxFrameSize),
        word0_(detail::header_word0(static_cast<std::uint8_t>(domain), source, flags)),
        checksum_((flags & frame_flags::kNoChecksum) == 0) {
    reset();
  }

  // Appends one record. Standard form when value.size() <= 255, extended form otherwise.
  // False (and nothing written) if the type is unknown, the length illegal for the type, the
  // buffer or the frame size limit is exceeded, or the frame is already finished.
  [[nodiscard]] bool add_raw(std::uint8_t type, std::span<const std::byte> value) noexcept {
    return add_raw(type, value, {});
  }
  // Variable-length records written as head + tail without an intermediate copy.
  [[nodiscard]] bool add_raw(std::uint8_t type, std::span<const std::byte> head,
                             std::span<const std::byte> tail) noexcept {
    const std::size_t len = head.size() + tail.size();
    // Inline path: a standard-form record that fits. Everything else (extended form, refusals)
    // goes through add_raw_slow, which re-checks and reports.
    if (closed() || len > kMaxStandardTlvValue || !is_valid_length(type, len) ||
        kStandardTlvHeader + len > limit_ - used_) [[unlikely]] {
      return add_raw_slow(type, head, tail);
    }
    std::byte* p = data_ + used_;
    const auto th = static_cast<std::uint16_t>(type | (len << 8));
    std::memcpy(p, &th, sizeof th);
    if (!head.empty()) std::memcpy(p + kStandardTlvHeader, head.data(), head.size());
    if (!tail.empty()) std::memcpy(p + kStandardTlvHeader + head.size(), tail.data(), tail.size());
    used_ += kStandardTlvHeader + len;
    return true;
  }

  template <class T>
  [[nodiscard]] bool add(const T& value) noexcept {
    static_assert(std::is_trivially_copyable_v<T> && std::has_unique_object_representations_v<T>);
    static_assert(sizeof(T) <= kMaxStandardTlvValue, "fixed-layout TLVs use the standard form");
    static_assert(is_valid_length(static_cast<std::uint8_t>(T::kType), sizeof(T)), "layout and registry disagree");
    // Hot path: the size is a constant, so the record is one 2-byte store and a fixed-size copy,
    // behind one room check (limit_ already folds the buffer size and the frame size limit).
    constexpr std::size_t rec = kStandardTlvHeader + sizeof(T);
    if (closed() || rec > limit_ - used_) [[unlikely]] {
      failed_ = true;
      return false;
    }
    std::byte* p = data_ + used_;
    constexpr auto th = static_cast<std::uint16_t>(static_cast<std::uint8_t>(T::kType) | (sizeof(T) << 8));
    std::memcpy(p, &th, sizeof th);
    copy_words<sizeof(T)>(p + kStandardTlvHeader, reinterpret_cast<const std::byte*>(&value));
    used_ += rec;
    return true;
  }

  // Writes the header (sizes, sequence, timestamp, checksum unless kNoChecksum) and returns the
  // finished frame, or an empty span if the builder had failed earlier (see failed()).
  // The checksum is computed from the header words in registers plus the payload, and the header
  // is then stored once, checksum included.
  [[nodiscard]] std::span<const std::byte> finish(std::uint64_t sequence, std::uint64_t timestamp_ns) noexcept {
    if (closed()) [[unlikely]] return {};
    const auto n = static_cast<std::uint32_t>(used_ - kHeaderSize);
    const std::uint32_t crc = checksum_ ? detail::frame_crc(word0_, sequence, timestamp_ns, n, data_ + kHeaderSize, n) : 0;
    detail::store_u64(data_, word0_);
    detail::store_u64(data_ + 8, sequence);
    detail::store_u64(data_ + 16, timestamp_ns);
    // Size and checksum as separate stores: a reader of this frame (parse_frame loads them
    // separately) can start on the size before the checksum is known.
    std::memcpy(data_ + 24, &n, sizeof n);
    std::memcpy(data_ + kChecksumOffset, &crc, sizeof crc);
    finished_ = true;
    return {data_, used_};
  }

  [[nodiscard]] bool failed() const noexcept { return failed_; }
  [[nodiscard]] std::size_t payload_size() const noexcept { return used_ - kHeaderSize; }
  // Starts a new frame in the same buffer with the same domain/source/flags.
  void reset() noexcept {
    used_ = kHeaderSize;
    finished_ = false;
    failed_ = limit_ < kHeaderSize;
  }

 private:
  [[nodiscard]] bool closed() const noexcept { return failed_ | finished_; }
  // Copies N bytes as 8-byte words (plus a 4/2/1-byte tail): loads of the size a caller's
  // 8-byte fields were stored with, so a value built just before add() is forwarded from the
  // store buffer rather than waited for (a 16- or 32-byte load spanning several smaller stores
  // cannot be forwarded). The empty asm keeps the compiler from fusing the words back into
  // vector moves.
  template <std::size_t N>
  static void copy_words(std::byte* dst, const std::byte* src) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= N; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, src + i, 8);
      asm("" : "+r"(w));
      std::memcpy(dst + i, &w, 8);
    }
    if constexpr (N % 8 >= 4) {
      std::uint32_t w;
      std::memcpy(&w, src + i, 4);
      std::memcpy(dst + i, &w, 4);
      i += 4;
    }
    if constexpr (N % 4 != 0) std::memcpy(dst + i, src + i, N % 4);
  }
  [[nodiscard]] bool add_raw_slow(std::uint8_t type, std::span<const std::byte> head,
                                  std::span<const std::byte> tail) noexcept;

  std::byte* data_;
  std::size_t limit_;   // min(buffer size, kMaxFrameSize): the one bound every append checks
  std::size_t used_ = 0;
  std::uint64_t word0_;  // header bytes 0-7: magic and metadata word
  bool checksum_;        // false with kNoChecksum
  bool failed_ = false;
  bool finished_ = false;
};

}  // namespace torq::protocol
