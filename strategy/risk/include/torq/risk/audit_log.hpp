// torq/risk/audit_log.hpp — append-only, checksummed audit log written off the hot core.
//
// Owns: the on-disk record format (AuditRecordType, the fixed payload structs, encode/verify),
// AuditChannel (the hot-side handle: pushes fixed-layout entries into an SPSC ring), AuditLog
// (owns the file, the rings and the writer thread that appends records with a configurable fsync
// policy, and reopens an existing log by truncating a torn tail) and AuditReader (verifies every
// record and stops cleanly at the first torn or corrupt one, reporting its offset).
//
// File format (little-endian; docs/risk-and-audit.md has the byte diagrams):
//   file header, 16 bytes: magic "TORQAUD1" | u32 version (1) | u32 CRC32C of bytes 0..11
//   record: u32 length (whole record, 28 + payload) | u8 type | u8 version (1) | u16 reserved (0)
//           | u64 sequence (1, 2, 3, ... across restarts) | u64 timestamp_ns (UTC, hot side)
//           | payload (fixed size per type) | u32 CRC32C of every preceding byte of the record
// There is no field for key material anywhere: records hold public data only.
//
// Thread-safety: each AuditChannel is used by ONE producer thread (SpscProducer rule); several
// producer threads take one channel each. AuditLog's writer thread (or the thread calling poll()
// when start_thread is false) is the only file writer. stats() from any thread. AuditReader is a
// single-threaded object over a read-only mapping.
// Allocation: open() allocates (rings, buffers, thread) and throws on failure; the channel push
// functions are noexcept, allocation-free, lock-free and syscall-free (a full ring drops the
// record and counts it; the writer then logs a Dropped record with the running total).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "torq/num/uint256.hpp"
#include "torq/protocol/tlv_types.hpp"
#include "torq/ring/local_ring.hpp"
#include "torq/ring/spsc_ring.hpp"
#include "torq/risk/clock.hpp"

namespace torq::risk {

// ---- on-disk format ----------------------------------------------------------------------------
inline constexpr std::array<char, 8> kAuditMagic{'T', 'O', 'R', 'Q', 'A', 'U', 'D', '1'};
inline constexpr std::uint32_t kAuditVersion = 1;
inline constexpr std::size_t kAuditFileHeaderBytes = 16;
inline constexpr std::size_t kAuditRecordHeaderBytes = 24;
inline constexpr std::size_t kAuditRecordTrailerBytes = 4;
inline constexpr std::size_t kAuditRecordOverhead = kAuditRecordHeaderBytes + kAuditRecordTrailerBytes;
inline constexpr std::size_t kAuditMaxPayload = 232;
inline constexpr std::size_t kAuditMaxRecordBytes = kAuditRecordOverhead + kAuditMaxPayload;

// Stable on-disk codes; never renumber.
enum class AuditRecordType : std::uint8_t {
  Start = 1,        // AuditStart: the writer (re)opened the log
  Signal = 2,       // protocol::ArbitrageSignal
  Decision = 3,     // AuditDecision: risk accept/reject + reason
  Transaction = 4,  // AuditTransaction: a signed transaction was sent (new or replacement)
  Receipt = 5,      // protocol::ExecutionReport: receipt / final status
  Pnl = 6,          // AuditPnl: realized P&L update
  Dropped = 7,      // AuditDropped: hot side dropped records (ring full)
  Nonce = 8,        // AuditNonce: nonce resync / recovery event
};
[[nodiscard]] const char* to_string(AuditRecordType t) noexcept;

struct AuditStart {
  std::uint64_t pid;
  std::uint64_t truncated_bytes;  // torn tail removed when this writer opened the file
  std::uint64_t prior_records;    // valid records found at open
  std::uint64_t reserved;
};
struct AuditDecision {
  std::uint64_t signal_id;
  std::uint64_t token_in;       // InstrumentId raw
  std::uint8_t accepted;        // 1 accept, 0 reject
  std::uint8_t reason;          // RejectReason
  std::uint8_t breaker_state;   // BreakerState at decision time
  std::array<std::uint8_t, 5> reserved;
  std::int64_t notional_usd;    // UsdFixedPoint8 raw
  num::U256 amount_in;
  num::U256 max_fee_per_gas;
  num::U256 max_priority_fee_per_gas;
};
enum class TxKind : std::uint8_t { New = 1, Replacement = 2, Resend = 3 };
struct AuditTransaction {
  std::uint64_t order_id;
  std::uint64_t signal_id;
  std::uint64_t nonce;
  std::uint64_t chain_id;
  std::uint64_t gas_limit;
  std::uint64_t sent_block;     // latest block known when it was sent (stuck detection after recovery)
  std::uint32_t attempt;        // 0 for the first send of this nonce, +1 per replacement
  std::uint8_t kind;            // TxKind
  std::array<std::uint8_t, 3> reserved;
  std::array<std::uint8_t, 32> tx_hash;
  std::array<std::uint8_t, 20> sender;  // public address, never key material
  std::array<std::uint8_t, 4> reserved2;
  num::U256 max_fee_per_gas;
  num::U256 max_priority_fee_per_gas;
};
struct AuditPnl {
  std::uint64_t order_id;
  std::uint64_t signal_id;
  std::uint64_t token_in;  // InstrumentId raw
  std::int64_t profit_usd;
  std::int64_t gas_usd;
  std::int64_t net_usd;
  std::int64_t expected_usd;
  std::int64_t cumulative_usd;
  std::int64_t peak_usd;
  std::int64_t drawdown_usd;
  std::int64_t daily_usd;
  std::uint64_t day;  // UTC day number of daily_usd
};
struct AuditDropped {
  std::uint64_t dropped_total;  // running total on this channel
  std::uint64_t channel;
};
enum class NonceEventKind : std::uint8_t { Recovery = 1, Resync = 2 };
struct AuditNonce {
  std::uint64_t kind;  // NonceEventKind
  std::uint64_t node_pending;
  std::uint64_t next_nonce;
  std::uint64_t tracked;  // in-flight entries kept
};

#define TORQ_AUDIT_PAYLOAD(T, Size)                                         \
  static_assert(sizeof(T) == (Size), #T " on-disk size changed");           \
  static_assert(std::is_trivially_copyable_v<T>, #T " must be trivial");     \
  static_assert(std::has_unique_object_representations_v<T>, #T " has padding")
TORQ_AUDIT_PAYLOAD(AuditStart, 32);
TORQ_AUDIT_PAYLOAD(AuditDecision, 128);
TORQ_AUDIT_PAYLOAD(AuditTransaction, 176);
TORQ_AUDIT_PAYLOAD(AuditPnl, 96);
TORQ_AUDIT_PAYLOAD(AuditDropped, 16);
TORQ_AUDIT_PAYLOAD(AuditNonce, 32);
#undef TORQ_AUDIT_PAYLOAD

// Payload size of a type, 0 for unknown types.
[[nodiscard]] std::size_t audit_payload_size(std::uint8_t type) noexcept;

template <class T>
struct AuditTypeOf;
template <> struct AuditTypeOf<AuditStart> { static constexpr auto value = AuditRecordType::Start; };
template <> struct AuditTypeOf<protocol::ArbitrageSignal> { static constexpr auto value = AuditRecordType::Signal; };
template <> struct AuditTypeOf<AuditDecision> { static constexpr auto value = AuditRecordType::Decision; };
template <> struct AuditTypeOf<AuditTransaction> { static constexpr auto value = AuditRecordType::Transaction; };
template <> struct AuditTypeOf<protocol::ExecutionReport> { static constexpr auto value = AuditRecordType::Receipt; };
template <> struct AuditTypeOf<AuditPnl> { static constexpr auto value = AuditRecordType::Pnl; };
template <> struct AuditTypeOf<AuditDropped> { static constexpr auto value = AuditRecordType::Dropped; };
template <> struct AuditTypeOf<AuditNonce> { static constexpr auto value = AuditRecordType::Nonce; };

// Encodes one record into `out` (>= kAuditRecordOverhead + payload.size() bytes); returns bytes.
std::size_t encode_audit_record(std::span<std::byte> out, AuditRecordType type, std::uint64_t sequence,
                                std::uint64_t timestamp_ns, std::span<const std::byte> payload) noexcept;
// The 16-byte file header.
[[nodiscard]] std::array<std::byte, kAuditFileHeaderBytes> audit_file_header() noexcept;

// ---- the entry that crosses the SPSC ring (hot side -> writer) ----------------------------------
struct AuditEntryHead {
  std::uint8_t type;
  std::array<std::uint8_t, 3> reserved;
  std::uint32_t size;             // payload bytes following the head
  std::uint64_t timestamp_ns;
  std::uint64_t dropped_total;    // records this channel dropped so far (before this one)
};
static_assert(sizeof(AuditEntryHead) == 24 && std::is_trivially_copyable_v<AuditEntryHead>);
inline constexpr std::size_t kAuditEntryMaxBytes = sizeof(AuditEntryHead) + kAuditMaxPayload;  // 256

// ---- writer ---------------------------------------------------------------------------------
enum class FsyncPolicy : std::uint8_t {
  EveryRecord = 0,  // fdatasync after every record: durable before the next one is written
  Interval = 1,     // fdatasync at most every fsync_interval, when something was written
  Never = 2,        // leave it to the kernel (still survives a process crash, not power loss)
};
[[nodiscard]] const char* to_string(FsyncPolicy p) noexcept;

struct AuditOptions {
  FsyncPolicy fsync = FsyncPolicy::Interval;
  std::chrono::nanoseconds fsync_interval = std::chrono::milliseconds(100);
  std::uint64_t ring_bytes = 1ULL << 20;  // per channel (power of two >= 4096)
  unsigned channels = 1;                  // independent producer handles (one thread each)
  bool start_thread = true;               // false: the owner drives poll() itself
  int numa_node = -1;                     // ring memory placement (-1: caller's node)
  Clock clock{};                          // timestamps and fsync interval
  std::size_t debug_write_chunk = 0;      // >0: split writes into chunks (tests widen torn windows)
};

struct AuditStats {
  std::uint64_t records_written = 0;  // including Start and Dropped records
  std::uint64_t bytes_written = 0;
  std::uint64_t fsyncs = 0;
  std::uint64_t write_errors = 0;       // failed write attempts (a failed batch is retried)
  std::uint64_t unwritten_records = 0;  // records given up at close() because writes kept failing
  std::uint64_t truncated_bytes = 0;  // torn tail removed at open
  std::uint64_t prior_records = 0;    // valid records found at open
  std::uint64_t next_sequence = 0;
};

class AuditLog;

// Hot-side handle. One thread per channel.
class AuditChannel {
 public:
  // Copies a fixed-layout payload into the ring. false (and counted) when the ring is full.
  template <class T>
  bool push(const T& payload) noexcept {
    static_assert(sizeof(T) <= kAuditMaxPayload);
    return push_raw(AuditTypeOf<T>::value, &payload, sizeof(T), clock_.now_ns());
  }
  template <class T>
  bool push(const T& payload, std::uint64_t timestamp_ns) noexcept {
    return push_raw(AuditTypeOf<T>::value, &payload, sizeof(T), timestamp_ns);
  }
  bool push_raw(AuditRecordType type, const void* payload, std::size_t size, std::uint64_t timestamp_ns) noexcept;

  [[nodiscard]] std::uint64_t pushed() const noexcept { return producer_.published_records(); }
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  friend class AuditLog;
  ring::LocalRing ring_;
  ring::SpscProducer producer_;
  ring::SpscConsumer consumer_;  // used by the writer only
  Clock clock_{};
  std::atomic<std::uint64_t> dropped_{0};  // written by the producer thread only
  // Writer-side bookkeeping.
  std::atomic<std::uint64_t> written_{0};  // records consumed from the ring and on file
  std::uint64_t buffered_ = 0;             // records consumed, waiting in the writer's buffer
  std::uint64_t dropped_seen_ = 0;
};

class AuditLog {
 public:
  // Opens (creating with mode 0600) or reopens `path`. An existing log is verified; a torn or
  // corrupt tail shorter than one maximal record is truncated; corruption followed by more data
  // throws (the log is never silently cut in the middle). Writes a Start record. Throws
  // std::runtime_error / std::system_error on failure.
  static std::unique_ptr<AuditLog> open(const std::string& path, const AuditOptions& opts = {});
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  [[nodiscard]] AuditChannel& channel(unsigned i = 0) noexcept { return *channels_[i]; }
  [[nodiscard]] unsigned channel_count() const noexcept { return static_cast<unsigned>(channels_.size()); }

  // Manual mode (start_thread == false): drains every channel once; returns records written.
  std::size_t poll() noexcept;
  // Waits until every record pushed so far on every channel has been written (not necessarily
  // fsynced). false at the timeout, after close(), or as soon as a write attempted during the
  // call fails (the batch stays buffered and is retried; its records are not reported written
  // until they are on file). Call from the producer threads' side when they are quiescent (shutdown,
  // tests) or to make a record write-ahead (the submitter).
  bool flush(std::chrono::nanoseconds timeout = std::chrono::seconds(10)) noexcept;
  // fdatasync now (any policy).
  void sync() noexcept;
  // Drains, applies the final fsync (EveryRecord/Interval), stops the writer, closes the file.
  void close() noexcept;

  [[nodiscard]] AuditStats stats() const noexcept;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  AuditLog() = default;
  void run() noexcept;
  std::size_t drain_channel(AuditChannel& ch, std::uint64_t channel_index) noexcept;
  void append(AuditRecordType type, std::uint64_t ts, const void* payload, std::size_t size) noexcept;
  bool write_buffer() noexcept;  // false: the batch stays buffered for the next attempt
  void publish_written() noexcept;
  void maybe_sync(bool force) noexcept;

  std::string path_;
  AuditOptions opts_;
  int fd_ = -1;
  std::vector<std::unique_ptr<AuditChannel>> channels_;
  std::vector<std::byte> buf_;
  std::size_t buf_used_ = 0;
  std::uint64_t next_seq_ = 1;
  std::uint64_t pending_records_ = 0;  // encoded in buf_, not yet written
  std::uint64_t good_size_ = 0;        // file bytes known written
  std::uint64_t last_sync_ns_ = 0;
  bool dirty_ = false;
  std::atomic<bool> stop_{false};
  bool closed_ = false;
  std::thread thread_;
  // Stats (writer thread writes, anyone reads).
  std::atomic<std::uint64_t> records_written_{0};
  std::atomic<std::uint64_t> bytes_written_{0};
  std::atomic<std::uint64_t> fsyncs_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  std::atomic<std::uint64_t> unwritten_records_{0};
  std::atomic<std::uint64_t> next_seq_pub_{1};
  std::uint64_t truncated_bytes_ = 0;
  std::uint64_t prior_records_ = 0;
};

// ---- reader ---------------------------------------------------------------------------------
enum class ReadStatus : std::uint8_t {
  Record = 0,  // a verified record was returned
  End,         // clean end of file (after the last complete record)
  Torn,        // the file ends inside a record (crash mid-write): everything before is valid
  Corrupt,     // a record failed verification (see corrupt_kind()); everything before is valid
};
enum class CorruptKind : std::uint8_t {
  None = 0,
  BadFileHeader,  // magic, version or header CRC wrong
  BadLength,      // length field impossible for the type
  BadType,        // unknown record type
  BadVersion,     // unknown record version or reserved bits set
  BadChecksum,    // CRC32C mismatch
  SequenceGap,    // sequence is not previous + 1 (first record: 1)
};
[[nodiscard]] const char* to_string(ReadStatus s) noexcept;
[[nodiscard]] const char* to_string(CorruptKind k) noexcept;

struct AuditRecordView {
  AuditRecordType type{};
  std::uint64_t sequence = 0;
  std::uint64_t timestamp_ns = 0;
  std::uint64_t offset = 0;  // file offset of the record
  std::uint32_t length = 0;  // whole record bytes
  std::span<const std::byte> payload;
  // Copies the payload out if the type matches T.
  template <class T>
  [[nodiscard]] bool as(T& out) const noexcept {
    if (type != AuditTypeOf<T>::value || payload.size() != sizeof(T)) return false;
    std::memcpy(&out, payload.data(), sizeof(T));
    return true;
  }
};

class AuditReader {
 public:
  // Maps the file read-only. Throws std::system_error if it cannot be opened.
  explicit AuditReader(const std::string& path);
  // Reads from caller memory (must outlive the reader).
  explicit AuditReader(std::span<const std::byte> bytes) noexcept;
  ~AuditReader();
  AuditReader(const AuditReader&) = delete;
  AuditReader& operator=(const AuditReader&) = delete;

  // Next record, or why reading stopped. After End/Torn/Corrupt every further call repeats it.
  [[nodiscard]] ReadStatus next(AuditRecordView& out) noexcept;
  // Offset of the next record to read; after Torn/Corrupt, the offset of the failing record
  // (== bytes of valid data: the truncation point).
  [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }
  [[nodiscard]] CorruptKind corrupt_kind() const noexcept { return corrupt_; }
  [[nodiscard]] std::uint64_t size() const noexcept { return bytes_.size(); }
  [[nodiscard]] std::uint64_t records() const noexcept { return records_; }
  [[nodiscard]] std::uint64_t last_sequence() const noexcept { return last_seq_; }

 private:
  ReadStatus stop(ReadStatus s, CorruptKind k) noexcept {
    status_ = s;
    corrupt_ = k;
    return s;
  }
  std::span<const std::byte> bytes_;
  void* map_ = nullptr;
  std::size_t map_len_ = 0;
  std::uint64_t offset_ = 0;
  std::uint64_t records_ = 0;
  std::uint64_t last_seq_ = 0;
  ReadStatus status_ = ReadStatus::Record;
  CorruptKind corrupt_ = CorruptKind::None;
};

}  // namespace torq::risk
