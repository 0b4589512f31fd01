// torq/ring/layout.hpp — the byte layout of an SPSC frame ring inside a caller-provided region.
//
// Owns: the constants, the record header and the control block that sit at the start of every
// ring region (process-local NumaRegion memory or a shared-memory mapping). The control block
// holds no pointers, only sizes and byte positions, so it means the same thing in every process
// that maps it, at any address. See docs/rings.md for the byte diagram and the ordering argument.
// Thread-safety: the fields are either immutable after format (RingHeader), or written by exactly
// one side (tail and the producer EndpointMeta by the producer; head and the consumer
// EndpointMeta by the consumer) and read by the other side or by monitors with atomic loads.
// Allocation: none; these are plain types placed with placement-new into existing memory.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace torq::ring {

inline constexpr std::size_t kCacheLine = 64;
// Indices are kept two cache lines apart: Intel's adjacent-line prefetcher moves 128-byte pairs.
inline constexpr std::size_t kFalseSharingRange = 128;

inline constexpr std::uint64_t kRingMagic = 0x474E4952'51524F54ULL;  // "TORQRING" little-endian
inline constexpr std::uint32_t kLayoutVersion = 2;  // 2: in-band commit (kRecordFlagCommitted)

inline constexpr std::size_t kRecordAlign = 8;
inline constexpr std::size_t kRecordHeaderBytes = 8;
inline constexpr std::uint32_t kRecordFlagPadding = 1u;    // record skipped by the consumer (wrap)
inline constexpr std::uint32_t kRecordFlagCommitted = 2u;  // the record is published (see RecordHeader)

inline constexpr std::size_t kControlBytes = 1024;       // the data area starts here
inline constexpr std::uint64_t kMinCapacity = 256;       // bytes of data area
inline constexpr std::uint64_t kMaxCapacity = 1ULL << 40;

// Prefix of every record in the data area: payload length (bytes, excluding this header) and
// flags. The record occupies record_bytes(length) bytes, so every header is 8-byte aligned.
// In-band commit (layout 2): the header is the publication point. The consumer polls the 8-byte
// header word at its position and takes the record once kRecordFlagCommitted is set (acquire);
// it never reads the tail index, so a record costs it one cache-line transfer (the line that
// holds the header and the frame's start) instead of two (tail line, then the record). The word
// at the consumer's position is never stale: before the producer makes a batch visible it
// zeroes the header word after the batch's last record (the "end marker", in the 8 bytes of
// free space every claim keeps in reserve), then stores the batch's first header with the
// committed flag (release); the batch's other headers carry the flag already and sit behind it.
// The tail index is still published after each batch: monitoring, back pressure statistics and
// crash recovery (a new producer walks committed headers past it).
struct RecordHeader {
  std::uint32_t length;
  std::uint32_t flags;
};
static_assert(sizeof(RecordHeader) == kRecordHeaderBytes);
static_assert(std::is_trivially_copyable_v<RecordHeader>);
static_assert(offsetof(RecordHeader, length) == 0 && offsetof(RecordHeader, flags) == 4);

[[nodiscard]] constexpr std::uint64_t record_bytes(std::uint64_t payload) noexcept {
  return (payload + kRecordHeaderBytes + (kRecordAlign - 1)) & ~std::uint64_t{kRecordAlign - 1};
}
static_assert(record_bytes(1) == 16 && record_bytes(8) == 16 && record_bytes(9) == 24);
static_assert(record_bytes(64) == 72 && record_bytes(256) == 264);

// Immutable after RingRegion::format (magic is stored last, with release).
struct alignas(kFalseSharingRange) RingHeader {
  std::atomic<std::uint64_t> magic;  // kRingMagic once formatted
  std::uint32_t version;             // kLayoutVersion
  std::uint32_t control_bytes;       // kControlBytes: offset of the data area
  std::uint64_t capacity;            // data-area bytes, power of two
  std::uint64_t region_bytes;        // bytes the formatter was given
  std::uint64_t max_payload;         // largest accepted payload (capacity / 2 - header)
  std::uint64_t format_ns;           // CLOCK_REALTIME at format (diagnostics)
  std::int32_t creator_pid;          // diagnostics
  std::uint32_t reserved;
};

// One index (tail or head) alone on its 128-byte pair of lines.
struct alignas(kFalseSharingRange) IndexLine {
  std::atomic<std::uint64_t> value;  // monotonically increasing byte position (never wraps)
};

// Ownership, liveness and recovery words of one side. Written only by that side (owner CAS at
// attach excepted); read by the other side and by monitors. Never read on the other side's hot path.
struct alignas(kFalseSharingRange) EndpointMeta {
  std::atomic<std::uint64_t> owner;            // 0 = free; else (start_ticks << 22) | pid
  std::atomic<std::uint64_t> epoch;            // attaches so far (incremented by each attach)
  std::atomic<std::uint64_t> heartbeat_ns;     // CLOCK_MONOTONIC ns of the last heartbeat
  std::atomic<std::uint64_t> heartbeat_count;  // heartbeats so far
  std::atomic<std::uint64_t> pending_index;    // index about to be published (crash recovery)
  std::atomic<std::uint64_t> pending_records;  // record count that goes with pending_index
  std::atomic<std::uint64_t> records;          // records published (producer) / consumed (consumer)
  std::atomic<std::uint64_t> rejected_full;    // producer: claims refused because the ring was full
  std::atomic<std::uint64_t> rejected_size;    // producer: claims refused for size 0 or > max_payload
};

struct ControlBlock {
  RingHeader header;      // 0
  IndexLine tail;         // 128: producer's published position
  IndexLine head;         // 256: consumer's released position
  EndpointMeta producer;  // 384
  EndpointMeta consumer;  // 512
  std::byte reserved[kControlBytes - 5 * kFalseSharingRange];
};

static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "ring atomics must be lock-free (and therefore address-free) to work across processes");
static_assert(std::is_standard_layout_v<ControlBlock>);
static_assert(sizeof(ControlBlock) == kControlBytes);
static_assert(alignof(ControlBlock) == kFalseSharingRange);
static_assert(offsetof(ControlBlock, header) == 0);
static_assert(offsetof(ControlBlock, tail) == 128);
static_assert(offsetof(ControlBlock, head) == 256);
static_assert(offsetof(ControlBlock, producer) == 384);
static_assert(offsetof(ControlBlock, consumer) == 512);
static_assert(sizeof(RingHeader) == 128 && sizeof(IndexLine) == 128 && sizeof(EndpointMeta) == 128);
static_assert(offsetof(RingHeader, capacity) == 16 && offsetof(RingHeader, max_payload) == 32);
static_assert(offsetof(EndpointMeta, pending_index) == 32 && offsetof(EndpointMeta, records) == 48);

}  // namespace torq::ring
