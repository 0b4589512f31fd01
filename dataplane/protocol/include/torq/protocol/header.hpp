// Protocol V2 frame header: the 32-byte little-endian header that starts every Torq frame.
//
//   offset  size  field
//   0       4     magic          0xDEADBEEF (bytes EF BE AD DE)
//   4       1     relay domain   RelayDomain
//   5       1     source         producer id (sequence space is per source)
//   6       1     flags          FrameFlags bits
//   7       1     version        2
//   8       8     sequence       per-source, +1 per frame, gap-detectable
//   16      8     timestamp      ns since the Unix epoch
//   24      4     payload size   bytes of TLV payload after the header
//   28      4     checksum       CRC32C over header (with this field zero) + payload
//
// Plain trivially copyable value type; no allocation; freely shared between threads by copy.
// Read it from untrusted bytes only through the reader (frame.hpp), which copies it out with
// memcpy, so unaligned input is never dereferenced.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace torq::protocol {

static_assert(std::endian::native == std::endian::little, "Protocol V2 is little-endian; Torq targets x86-64");

inline constexpr std::uint32_t kMagic = 0xDEADBEEFu;
inline constexpr std::uint8_t kVersion = 2;
inline constexpr std::size_t kHeaderSize = 32;
// Largest frame (header + payload) any Torq transport carries; fits one UDP datagram.
inline constexpr std::size_t kMaxFrameSize = 65000;
inline constexpr std::size_t kMaxPayloadSize = kMaxFrameSize - kHeaderSize;

enum class RelayDomain : std::uint8_t {
  MarketData = 1,  // pool events, blocks, reorgs (TLV types 1-19)
  Signal = 2,      // arbitrage signals (20-39)
  Execution = 3,   // orders and execution reports (40-79)
  System = 4,      // heartbeat, snapshots, errors (100-119)
};

[[nodiscard]] constexpr bool is_valid_domain(std::uint8_t d) noexcept { return d >= 1 && d <= 4; }

namespace frame_flags {
// Checksum field is zero and not verified: hot in-process links where memory is trusted.
inline constexpr std::uint8_t kNoChecksum = 0x01;
// Frame is a replay of a recording, not live data.
inline constexpr std::uint8_t kReplay = 0x02;
// Frame carries a state snapshot (consumers may reset state from it).
inline constexpr std::uint8_t kSnapshot = 0x04;
inline constexpr std::uint8_t kKnownMask = kNoChecksum | kReplay | kSnapshot;
}  // namespace frame_flags

struct FrameHeader {
  std::uint32_t magic;
  std::uint8_t domain;
  std::uint8_t source;
  std::uint8_t flags;
  std::uint8_t version;
  std::uint64_t sequence;
  std::uint64_t timestamp_ns;
  std::uint32_t payload_size;
  std::uint32_t checksum;
};
static_assert(sizeof(FrameHeader) == kHeaderSize);
static_assert(std::is_trivially_copyable_v<FrameHeader>);
static_assert(std::has_unique_object_representations_v<FrameHeader>, "no padding bytes");
static_assert(offsetof(FrameHeader, magic) == 0);
static_assert(offsetof(FrameHeader, domain) == 4);
static_assert(offsetof(FrameHeader, source) == 5);
static_assert(offsetof(FrameHeader, flags) == 6);
static_assert(offsetof(FrameHeader, version) == 7);
static_assert(offsetof(FrameHeader, sequence) == 8);
static_assert(offsetof(FrameHeader, timestamp_ns) == 16);
static_assert(offsetof(FrameHeader, payload_size) == 24);
static_assert(offsetof(FrameHeader, checksum) == 28);
inline constexpr std::size_t kChecksumOffset = offsetof(FrameHeader, checksum);

// The metadata word (bytes 4-7) as one little-endian u32, as the spec describes it.
[[nodiscard]] constexpr std::uint32_t metadata_word(const FrameHeader& h) noexcept {
  return std::uint32_t{h.domain} | (std::uint32_t{h.source} << 8) | (std::uint32_t{h.flags} << 16) |
         (std::uint32_t{h.version} << 24);
}

}  // namespace torq::protocol
