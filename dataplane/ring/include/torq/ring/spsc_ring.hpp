// torq/ring/spsc_ring.hpp — single-producer single-consumer ring of variable-length byte records.
//
// Owns: RingRegion (a non-owning view of a formatted ring in caller memory), SpscProducer and
// SpscConsumer (the two endpoint handles, each caching the other side's index),
// SpscProducer::Batch (a burst of in-place records with the producer's positions in registers), endpoint
// ownership/liveness (owner pid + process start time, epoch, heartbeat) and crash recovery.
// Records are opaque bytes (e.g. a Protocol V2 frame: 32-byte header + payload); each is stored
// as an 8-byte RecordHeader + payload, 8-byte aligned; a record that would straddle the end of
// the data area is preceded by a padding record. Publication is in-band (layout.hpp,
// RecordHeader): the consumer polls the header word at its position, not the tail index. A full
// ring is reported to the producer (empty claim / PublishResult::full, counted in rejected_full)
// and never overwritten.
// Thread-safety: exactly one SpscProducer and one SpscConsumer per ring, each used by one thread
// at a time (they may live in different processes). RingRegion's monitoring calls are safe from
// any thread or process. Allocation: none, ever. Hot-path calls (try_claim, commit, try_publish,
// publish_burst, Batch, peek, consume, consume_burst, heartbeat) are noexcept, lock-free and make no
// syscall (heartbeat reads CLOCK_MONOTONIC through the vDSO). attach(), format(), open() and the
// peer-state queries make syscalls (getpid, /proc): start-up and supervision only.
// Layout: SpscProducer and SpscConsumer are aligned to (and sized in multiples of)
// kFalseSharingRange, so neither handle's positions share a 128-byte pair of lines with the other
// side's handle or with any neighbouring object; placed next to each other (one struct, one
// stack frame) the two threads would otherwise pull that line back and forth on every record
// (docs/rings.md "Handles apart").
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <utility>

#include "torq/ring/layout.hpp"

namespace torq::ring {

enum class RingError : std::uint8_t {
  ok = 0,
  null_region,        // mem == nullptr
  misaligned,         // region not 128-byte aligned
  too_small,          // region smaller than bytes_for(capacity)
  bad_capacity,       // capacity not a power of two in [kMinCapacity, kMaxCapacity]
  bad_magic,          // not a formatted ring (or format not finished)
  bad_version,        // formatted by an incompatible layout version
  corrupt,            // indices or header fields inconsistent
  endpoint_busy,      // the side is owned by a live process/handle
};
[[nodiscard]] const char* to_string(RingError e) noexcept;

enum class PublishResult : std::uint8_t {
  ok = 0,
  full,      // not enough free space now: retry later (counted in rejected_full)
  bad_size,  // size 0 or > max_payload(): never fits (counted in rejected_size)
};

enum class PeerState : std::uint8_t {
  absent = 0,  // no owner recorded (never attached, or detached cleanly)
  alive,       // owner process exists and (if checked) its heartbeat is fresh
  dead,        // owner process is gone (or a zombie, or its pid was reused)
  stale,       // owner process exists but has not heartbeated within the given window
};
[[nodiscard]] const char* to_string(PeerState s) noexcept;

enum class AttachPolicy : std::uint8_t {
  if_free_or_dead = 0,  // take the side if free, or if its recorded owner process is dead
  force,                // take it regardless (operator override; the caller guarantees the old owner is gone)
};

// Minimal result type: value + error (no exceptions on these paths).
template <class T>
struct [[nodiscard]] Expected {
  T value{};
  RingError error = RingError::ok;
  [[nodiscard]] bool ok() const noexcept { return error == RingError::ok; }
  [[nodiscard]] explicit operator bool() const noexcept { return ok(); }
  T& operator*() noexcept { return value; }
  T* operator->() noexcept { return &value; }
};

// CLOCK_MONOTONIC in ns (vDSO, no syscall on Linux/x86-64). Heartbeats use this clock because it
// is the same in every process on the host.
[[nodiscard]] std::uint64_t monotonic_ns() noexcept;

// Snapshot of the shared counters (monitoring; relaxed loads, fields not mutually consistent).
struct RingStats {
  std::uint64_t capacity = 0;
  std::uint64_t tail = 0;
  std::uint64_t head = 0;
  std::uint64_t published = 0;
  std::uint64_t consumed = 0;
  std::uint64_t rejected_full = 0;
  std::uint64_t rejected_size = 0;
  std::uint64_t producer_epoch = 0;
  std::uint64_t consumer_epoch = 0;
  // The consumer can be ahead of the tail index for a moment (it reads committed headers, the
  // index is stored after them): then 0.
  [[nodiscard]] std::uint64_t used_bytes() const noexcept { return tail > head ? tail - head : 0; }
};

class RingRegion {
 public:
  RingRegion() noexcept = default;

  // Bytes of region needed for a data area of `capacity` bytes.
  [[nodiscard]] static constexpr std::size_t bytes_for(std::size_t capacity) noexcept {
    return kControlBytes + capacity;
  }
  // Largest power-of-two capacity whose ring fits in `bytes` (0 if none does).
  [[nodiscard]] static std::uint64_t capacity_for(std::size_t bytes) noexcept;

  // Writes a fresh control block at `mem` (128-byte aligned, >= bytes_for(capacity) bytes).
  // Destroys any ring that was there: only the creator calls this, before anyone attaches.
  static Expected<RingRegion> format(void* mem, std::size_t bytes, std::uint64_t capacity) noexcept;
  // Validates an existing ring (magic, version, sizes, indices) and returns a view of it.
  static Expected<RingRegion> open(void* mem, std::size_t bytes) noexcept;

  [[nodiscard]] bool valid() const noexcept { return ctl_ != nullptr; }
  // The sizes format() wrote or open() checked, kept in this view: the endpoints attach with
  // these, never with a second read of the shared header (which another process could have
  // changed since).
  [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::uint64_t max_payload() const noexcept { return max_payload_; }
  [[nodiscard]] ControlBlock* control() const noexcept { return ctl_; }
  [[nodiscard]] std::byte* data() const noexcept {
    return reinterpret_cast<std::byte*>(ctl_) + kControlBytes;
  }

  [[nodiscard]] RingStats stats() const noexcept;
  // Liveness of each side's owner: pid + process start time (catches pid reuse and zombies),
  // then, if stale_after > 0, heartbeat age. Syscalls: supervision only.
  [[nodiscard]] PeerState producer_state(std::chrono::nanoseconds stale_after = {}) const noexcept;
  [[nodiscard]] PeerState consumer_state(std::chrono::nanoseconds stale_after = {}) const noexcept;

 private:
  RingRegion(ControlBlock* c, std::uint64_t capacity, std::uint64_t max_payload) noexcept
      : ctl_(c), capacity_(capacity), max_payload_(max_payload) {}
  ControlBlock* ctl_ = nullptr;
  std::uint64_t capacity_ = 0;
  std::uint64_t max_payload_ = 0;
};

namespace detail {
// Identity word of the calling process: (start_ticks << 22) | pid. Never 0.
[[nodiscard]] std::uint64_t self_owner_word() noexcept;
[[nodiscard]] PeerState owner_state(const EndpointMeta& m, std::chrono::nanoseconds stale_after) noexcept;
// Takes ownership of a side; returns endpoint_busy if a live owner holds it.
[[nodiscard]] RingError acquire_endpoint(EndpointMeta& m, AttachPolicy policy) noexcept;
void release_endpoint(EndpointMeta& m, std::uint64_t owner) noexcept;
// Recovers (index, records) after a possible crash between the steps of publish().
void recover_index(const EndpointMeta& m, std::uint64_t published_index, std::uint64_t& records) noexcept;

// A header is one 8-byte word (length in the low half, flags in the high half), read and
// written atomically: the consumer polls it while the producer writes it.
[[nodiscard]] constexpr std::uint64_t header_word(std::uint32_t length, std::uint32_t flags) noexcept {
  return std::uint64_t{length} | (std::uint64_t{flags} << 32);
}
[[nodiscard]] inline std::atomic_ref<std::uint64_t> header_ref(std::byte* p) noexcept {
  return std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(p));
}
[[nodiscard]] inline RecordHeader load_header(const std::byte* p,
                                              std::memory_order order = std::memory_order_acquire) noexcept {
  const std::uint64_t w = header_ref(const_cast<std::byte*>(p)).load(order);
  return RecordHeader{static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(w >> 32)};
}
inline void store_header(std::byte* p, std::uint32_t length, std::uint32_t flags,
                         std::memory_order order = std::memory_order_relaxed) noexcept {
  header_ref(p).store(header_word(length, flags), order);
}
// Publishes an index with its record count so that a successor can recover both exactly.
// Order (all plain stores on x86): pending_index, pending_records, index, records.
inline void publish_index(std::atomic<std::uint64_t>& index, EndpointMeta& m, std::uint64_t value,
                          std::uint64_t records) noexcept {
  m.pending_index.store(value, std::memory_order_relaxed);
  m.pending_records.store(records, std::memory_order_release);
  index.store(value, std::memory_order_release);
  m.records.store(records, std::memory_order_release);
}
}  // namespace detail

namespace detail {
// What the producer's hot calls read and write, in two plain structs so that a caller can work on
// a local copy: SpscProducer::Batch, try_publish and publish_burst do, and the compiler then keeps
// the positions in registers. On the producer's own members it cannot: every store into the ring
// goes through a std::byte pointer, which may alias anything, so each member would be reloaded
// after each copied frame and the position would go from record to record through memory (a
// store-to-load forward per record: ~4 ns of a 64-byte record's ~5 ns in one thread).
struct ProducerGeometry {
  ControlBlock* ctl = nullptr;
  std::byte* data = nullptr;
  std::uint64_t capacity = 0;
  std::uint64_t mask = 0;
  std::uint64_t max_payload = 0;
};
struct ProducerPositions {
  std::uint64_t tail = 0;        // written position (>= published)
  std::uint64_t published = 0;   // last stored tail
  std::uint64_t head_cache = 0;  // consumer position as last loaded
  std::uint64_t records = 0;
  std::uint64_t rejected_full = 0;
  std::uint64_t rejected_size = 0;
  std::uint64_t first_word = 0;  // header word of the record at published (once written)
  std::uint32_t claim_size = 0;  // 0: no outstanding claim
};

// Writes the header of the record at s.tail. The first record after the last flush (at
// s.published) stays uncommitted until flush(): it holds the whole batch back; the others carry
// the committed flag already (the consumer cannot get past the first). (Writing the first
// header only once, in flush(), was measured: more throughput in 2 of 3 runs but p50 ~350 ns
// instead of ~165 ns on the 16-core host, so the header is written here, uncommitted.)
// flush() sets the flag from the word kept here, so it need not load the header back.
inline void put_header(const ProducerGeometry& g, ProducerPositions& s, std::uint32_t length,
                       std::uint32_t flags) noexcept {
  std::uint64_t w = header_word(length, flags);
  if (s.tail == s.published) {
    s.first_word = w;
  } else {
    w |= std::uint64_t{kRecordFlagCommitted} << 32;
  }
  header_ref(g.data + (s.tail & g.mask)).store(w, std::memory_order_relaxed);
}

inline void count_rejected_size(const ProducerGeometry& g, ProducerPositions& s) noexcept {
  g.ctl->producer.rejected_size.store(++s.rejected_size, std::memory_order_relaxed);
}

[[nodiscard]] inline std::span<std::byte> try_claim(const ProducerGeometry& g, ProducerPositions& s,
                                                    std::uint32_t size) noexcept {
  if (size == 0 || size > g.max_payload) [[unlikely]] {
    count_rejected_size(g, s);
    return {};
  }
  const std::uint64_t need = record_bytes(size);
  std::uint64_t pos = s.tail & g.mask;
  const std::uint64_t contig = g.capacity - pos;
  // + the end marker's 8 bytes: never on a header the consumer has yet to read.
  const std::uint64_t total = (contig < need ? contig + need : need) + kRecordHeaderBytes;
  if (total > g.capacity - (s.tail - s.head_cache)) {
    s.head_cache = g.ctl->head.value.load(std::memory_order_acquire);
    if (total > g.capacity - (s.tail - s.head_cache)) [[unlikely]] {
      g.ctl->producer.rejected_full.store(++s.rejected_full, std::memory_order_relaxed);
      return {};
    }
  }
  if (contig < need) [[unlikely]] {  // wrap: pad to the end, record starts at offset 0
    put_header(g, s, static_cast<std::uint32_t>(contig - kRecordHeaderBytes), kRecordFlagPadding);
    s.tail += contig;
    pos = 0;
  }
  s.claim_size = size;
  return {g.data + pos + kRecordHeaderBytes, size};
}

inline bool commit_deferred(const ProducerGeometry& g, ProducerPositions& s, std::uint32_t used) noexcept {
  if (s.claim_size == 0 || used == 0 || used > s.claim_size) [[unlikely]] return false;
  put_header(g, s, used, 0);
  s.tail += record_bytes(used);
  ++s.records;
  s.claim_size = 0;
  return true;
}

// End marker after the last committed record, then the first one's header with
// kRecordFlagCommitted (release), then the tail index (monitoring, recovery).
inline void flush(const ProducerGeometry& g, ProducerPositions& s) noexcept {
  if (s.tail != s.published) {
    store_header(g.data + (s.tail & g.mask), 0, 0);  // end marker
    header_ref(g.data + (s.published & g.mask))
        .store(s.first_word | (std::uint64_t{kRecordFlagCommitted} << 32), std::memory_order_release);
    publish_index(g.ctl->tail.value, g.ctl->producer, s.tail, s.records);
    s.published = s.tail;
  }
}

// One record, published at once (try_publish with nothing deferred), written so that the cache
// line the consumer is polling (the one holding the record's header) is stored to last and in one
// run: the payload bytes past that line first, then the end marker, then the payload bytes that
// share the header's line, then the header itself, committed (release; no uncommitted header
// first). Written front to back instead, the header's line is stored to, then the following
// lines (each ownership request a cross-core round trip), then the header's line again; by then
// the polling consumer has taken it back, so it crosses between the cores once more per message
// (on lent Intel hosts, p50 one-way 322 ns instead of 693 ns; docs/rings.md "Write order").
// Returns false (nothing written, nothing counted) when the record cannot take this path:
// deferred records are pending, the size is invalid, or the record wraps (the padding then leads
// the batch); the caller takes the general path (append + flush).
[[nodiscard]] inline bool publish_one(const ProducerGeometry& g, ProducerPositions& s, std::span<const std::byte> bytes,
                                      PublishResult& result) noexcept {
  if (s.tail != s.published || bytes.empty() || bytes.size() > g.max_payload) return false;
  const auto n = static_cast<std::uint32_t>(bytes.size());
  const std::uint64_t pos = s.tail & g.mask;
  const std::uint64_t rb = record_bytes(n);
  if (rb > g.capacity - pos) return false;  // needs a padding record: the general path
  const std::span<std::byte> dst = try_claim(g, s, n);
  if (dst.empty()) {  // full (counted in rejected_full)
    result = PublishResult::full;
    return true;
  }
  std::byte* const header = g.data + pos;
  // Payload bytes in the header's line (the data area is 64-byte aligned: 1024 bytes into a
  // 128-byte aligned region).
  const std::uint64_t in_first_line = std::min<std::uint64_t>(n, (64 - ((pos + kRecordHeaderBytes) & 63)) & 63);
  std::memcpy(dst.data() + in_first_line, bytes.data() + in_first_line, n - in_first_line);
  std::atomic_signal_fence(std::memory_order_seq_cst);  // the compiler keeps this store order
  s.tail += rb;
  ++s.records;
  s.claim_size = 0;
  store_header(g.data + (s.tail & g.mask), 0, 0);  // end marker
  std::memcpy(dst.data(), bytes.data(), in_first_line);
  header_ref(header).store(header_word(n, kRecordFlagCommitted), std::memory_order_release);
  publish_index(g.ctl->tail.value, g.ctl->producer, s.tail, s.records);
  s.published = s.tail;
  result = PublishResult::ok;
  return true;
}

// Claims, copies and commits (deferred) one record.
[[nodiscard]] inline PublishResult append(const ProducerGeometry& g, ProducerPositions& s,
                                          std::span<const std::byte> bytes) noexcept {
  if (bytes.empty() || bytes.size() > g.max_payload) [[unlikely]] {
    count_rejected_size(g, s);
    return PublishResult::bad_size;
  }
  const auto n = static_cast<std::uint32_t>(bytes.size());
  const std::span<std::byte> dst = try_claim(g, s, n);
  if (dst.empty()) return PublishResult::full;
  std::memcpy(dst.data(), bytes.data(), n);
  (void)commit_deferred(g, s, n);
  return PublishResult::ok;
}
}  // namespace detail

// The writing side. Move-only; detaches (flushes, frees the side) on destruction. Aligned to
// kFalseSharingRange (see the file comment).
class alignas(kFalseSharingRange) SpscProducer {
 public:
  class Batch;

  SpscProducer() noexcept = default;
  ~SpscProducer() { detach(); }
  SpscProducer(SpscProducer&& o) noexcept { *this = std::move(o); }
  SpscProducer& operator=(SpscProducer&& o) noexcept;
  SpscProducer(const SpscProducer&) = delete;
  SpscProducer& operator=(const SpscProducer&) = delete;

  // Takes the producer side. After a crash of the previous producer (policy permitting) it
  // resumes at the last published position: committed records are kept, unpublished bytes of the
  // dead producer are overwritten, and published_records() tells the application where to resume.
  static Expected<SpscProducer> attach(RingRegion region,
                                       AttachPolicy policy = AttachPolicy::if_free_or_dead) noexcept;
  // Flushes deferred commits and frees the side (owner = 0). Idempotent.
  void detach() noexcept;

  [[nodiscard]] bool attached() const noexcept { return g_.ctl != nullptr; }
  [[nodiscard]] std::uint64_t max_payload() const noexcept { return g_.max_payload; }
  [[nodiscard]] std::uint64_t capacity() const noexcept { return g_.capacity; }
  [[nodiscard]] std::uint64_t epoch() const noexcept { return epoch_; }
  // Records committed so far on this ring by all producers (including deferred ones).
  [[nodiscard]] std::uint64_t published_records() const noexcept { return s_.records; }
  [[nodiscard]] std::uint64_t rejected_full() const noexcept { return s_.rejected_full; }
  [[nodiscard]] std::uint64_t rejected_size() const noexcept { return s_.rejected_size; }

  // Reserves room for a `size`-byte record and returns its (8-byte aligned) payload span, or an
  // empty span if size is 0 / > max_payload() or the ring lacks room (both counted). Nothing is
  // visible to the consumer until commit(). A new claim replaces an uncommitted one.
  [[nodiscard]] std::span<std::byte> try_claim(std::uint32_t size) noexcept { return detail::try_claim(g_, s_, size); }

  // Commits the claimed record with `used` <= claimed bytes (default: all) and publishes it and
  // any deferred commits. Precondition: an outstanding claim (otherwise a no-op returning false).
  bool commit() noexcept { return commit(s_.claim_size); }
  bool commit(std::uint32_t used) noexcept {
    if (!commit_deferred(used)) [[unlikely]] return false;
    flush();
    return true;
  }
  // Commits without publishing; flush() (or the next commit) publishes. Lets a burst pay for
  // one release store. (A Batch does the same with the positions in registers.)
  bool commit_deferred(std::uint32_t used) noexcept { return detail::commit_deferred(g_, s_, used); }
  // Makes the committed records visible: end marker after the last one, then the first one's
  // header with kRecordFlagCommitted (release), then the tail index (monitoring, recovery).
  void flush() noexcept { detail::flush(g_, s_); }

  // Copies `bytes` into one record and publishes it, the line the consumer polls written last
  // (detail::publish_one; deferred commits or a wrap take the general path).
  // (On the members: for one record, a local copy's write-back costs more than the reloads.)
  [[nodiscard]] PublishResult try_publish(std::span<const std::byte> bytes) noexcept {
    PublishResult r;
    if (detail::publish_one(g_, s_, bytes, r)) return r;
    r = detail::append(g_, s_, bytes);
    if (r == PublishResult::ok) detail::flush(g_, s_);
    return r;
  }

  // Copies frames in order until one does not fit; publishes them with one release store.
  // Returns how many were published (the rest are the caller's to retry).
  [[nodiscard]] std::size_t publish_burst(std::span<const std::span<const std::byte>> frames) noexcept {
    const detail::ProducerGeometry g = g_;
    detail::ProducerPositions s = s_;
    std::size_t n = 0;
    for (const auto& f : frames) {
      if (detail::append(g, s, f) != PublishResult::ok) break;
      ++n;
    }
    detail::flush(g, s);
    s_ = s;
    return n;
  }

  // Opens a Batch (below): claims and commits with the positions in registers, one publication.
  [[nodiscard]] Batch batch() noexcept;

  // Free bytes as last seen (may be stale-low; never stale-high).
  [[nodiscard]] std::uint64_t free_bytes_hint() const noexcept { return g_.capacity - (s_.tail - s_.head_cache); }

  // Records liveness (CLOCK_MONOTONIC ns) for the consumer / monitors. Call from the idle path or
  // every N bursts; two relaxed stores on this side's private line.
  void heartbeat() noexcept { heartbeat(monotonic_ns()); }
  void heartbeat(std::uint64_t now_ns) noexcept {
    g_.ctl->producer.heartbeat_ns.store(now_ns, std::memory_order_relaxed);
    g_.ctl->producer.heartbeat_count.store(++heartbeats_, std::memory_order_relaxed);
  }
  // The consumer side's state (syscalls: supervision only).
  [[nodiscard]] PeerState consumer_state(std::chrono::nanoseconds stale_after = {}) const noexcept {
    return detail::owner_state(g_.ctl->consumer, stale_after);
  }

 private:
  detail::ProducerGeometry g_;
  detail::ProducerPositions s_;
  std::uint64_t heartbeats_ = 0;
  std::uint64_t owner_ = 0;
  std::uint64_t epoch_ = 0;
};

// A burst of records built in place: claims and commits like SpscProducer's, with the producer's
// positions copied into this object, which the compiler keeps in registers when it lives on the
// stack of the publishing loop (the copy goes back in publish()). On the development VM this
// raised the cross-core rate of 64-byte records in batches of 32 by 1.3-2x (docs/rings.md). Use:
//   { auto b = producer.batch();
//     for (...) { auto span = b.try_claim(n); if (span.empty()) break; build(span); b.commit(n); }
//   }                                   // or b.publish(): the committed records become visible
// While a Batch is open, its producer must not be used directly (the Batch holds its positions).
// Not copyable or movable; publish() may be called any number of times.
class SpscProducer::Batch {
 public:
  explicit Batch(SpscProducer& p) noexcept : p_(&p), g_(p.g_), s_(p.s_) {}
  ~Batch() { publish(); }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  [[nodiscard]] std::span<std::byte> try_claim(std::uint32_t size) noexcept { return detail::try_claim(g_, s_, size); }
  // Commits the claimed record (`used` <= claimed bytes) without publishing it.
  bool commit(std::uint32_t used) noexcept { return detail::commit_deferred(g_, s_, used); }
  // Copies `bytes` into one record and commits it without publishing it.
  [[nodiscard]] PublishResult append(std::span<const std::byte> bytes) noexcept { return detail::append(g_, s_, bytes); }
  // Makes every committed record visible (one release store) and hands the positions back.
  void publish() noexcept {
    detail::flush(g_, s_);
    p_->s_ = s_;
  }
  [[nodiscard]] std::uint64_t free_bytes_hint() const noexcept { return g_.capacity - (s_.tail - s_.head_cache); }

 private:
  SpscProducer* p_;
  detail::ProducerGeometry g_;
  detail::ProducerPositions s_;
};

inline SpscProducer::Batch SpscProducer::batch() noexcept { return Batch(*this); }

// The reading side. Move-only; detaches (releases consumed records, frees the side) on
// destruction. Aligned to kFalseSharingRange (see the file comment).
class alignas(kFalseSharingRange) SpscConsumer {
 public:
  SpscConsumer() noexcept = default;
  ~SpscConsumer() { detach(); }
  SpscConsumer(SpscConsumer&& o) noexcept { *this = std::move(o); }
  SpscConsumer& operator=(SpscConsumer&& o) noexcept;
  SpscConsumer(const SpscConsumer&) = delete;
  SpscConsumer& operator=(const SpscConsumer&) = delete;

  // Takes the consumer side, resuming at the last released position (records that a crashed
  // consumer read but had not released are delivered again: at-least-once for consumer crashes).
  static Expected<SpscConsumer> attach(RingRegion region,
                                       AttachPolicy policy = AttachPolicy::if_free_or_dead) noexcept;
  void detach() noexcept;

  [[nodiscard]] bool attached() const noexcept { return ctl_ != nullptr; }
  [[nodiscard]] std::uint64_t consumed_records() const noexcept { return records_; }
  [[nodiscard]] std::uint64_t epoch() const noexcept { return epoch_; }
  // True once a record header was found inconsistent (only a buggy or hostile producer can
  // cause it); the consumer then delivers nothing more.
  [[nodiscard]] bool corrupted() const noexcept { return corrupt_; }

  // True when a record (or a wrap's padding, which a record follows) is published at the read
  // position: one load of the line that the next consume reads anyway (a cache hit while nothing
  // new arrives). For a busy consumer deciding whether to stop and take newer input.
  [[nodiscard]] bool has_published() const noexcept {
    return ctl_ != nullptr && !corrupt_ && (detail::load_header(data_ + (head_ & mask_)).flags & kRecordFlagCommitted) != 0;
  }

  // The next record's payload (valid until consume()), or an empty span if none is published.
  [[nodiscard]] std::span<const std::byte> peek() noexcept {
    for (;;) {
      if (corrupt_) [[unlikely]] return {};
      const std::uint64_t pos = head_ & mask_;
      const RecordHeader h = detail::load_header(data_ + pos);
      if (!(h.flags & kRecordFlagCommitted)) return {};
      const std::uint64_t rb = record_bytes(h.length);
      if (rb > capacity_ - pos || (!(h.flags & kRecordFlagPadding) && h.length > max_payload_)) [[unlikely]] {
        corrupt_ = true;
        return {};
      }
      if (h.flags & kRecordFlagPadding) [[unlikely]] {
        head_ += rb;
        if (head_ - released_ > capacity_) {  // paddings all the way round: no producer writes that
          corrupt_ = true;
          return {};
        }
        continue;
      }
      peeked_ = rb;
      return {data_ + pos + kRecordHeaderBytes, h.length};
    }
  }
  // Releases the record returned by the last non-empty peek() back to the producer.
  bool consume() noexcept {
    if (peeked_ == 0) [[unlikely]] return false;
    head_ += peeked_;
    peeked_ = 0;
    ++records_;
    release();
    return true;
  }

  // Calls handler(std::span<const std::byte>) for up to `max` published records, in order, then
  // releases them all with one release store. The spans are valid only during the call. The
  // handler must not throw. Returns the number of records handled.
  template <class Handler>
  [[nodiscard]] std::size_t consume_burst(Handler&& handler, std::size_t max) noexcept {
    if (corrupt_) [[unlikely]] return 0;
    // Locals: the handler's stores (and the byte view of the ring) may alias the members, which
    // would otherwise be reloaded from memory for every record.
    std::byte* const data = data_;
    const std::uint64_t mask = mask_;
    const std::uint64_t capacity = capacity_;
    const std::uint64_t max_payload = max_payload_;
    std::size_t n = 0;
    std::uint64_t head = head_;
    while (n < max) {
      const std::uint64_t pos = head & mask;
      const RecordHeader h = detail::load_header(data + pos);
      if (!(h.flags & kRecordFlagCommitted)) break;  // not published (yet)
      const std::uint64_t rb = record_bytes(h.length);
      if (rb > capacity - pos || (!(h.flags & kRecordFlagPadding) && h.length > max_payload)) [[unlikely]] {
        corrupt_ = true;
        break;
      }
      if (!(h.flags & kRecordFlagPadding)) [[likely]] {
        handler(std::span<const std::byte>(data + pos + kRecordHeaderBytes, h.length));
        ++n;
      } else if (head + rb - released_ > capacity) [[unlikely]] {
        // Paddings all the way round (only records count against max): no producer writes that.
        corrupt_ = true;
        break;
      }
      head += rb;
    }
    head_ = head;
    peeked_ = 0;
    records_ += n;
    release();
    return n;
  }

  // Published-but-unconsumed bytes by the tail index (monitoring: reads the producer's line; may
  // be stale-low).
  [[nodiscard]] std::uint64_t available_bytes_hint() const noexcept {
    const std::uint64_t t = ctl_->tail.value.load(std::memory_order_acquire);
    return t > head_ ? t - head_ : 0;
  }

  void heartbeat() noexcept { heartbeat(monotonic_ns()); }
  void heartbeat(std::uint64_t now_ns) noexcept {
    ctl_->consumer.heartbeat_ns.store(now_ns, std::memory_order_relaxed);
    ctl_->consumer.heartbeat_count.store(++heartbeats_, std::memory_order_relaxed);
  }
  // The producer side's state (syscalls: supervision only).
  [[nodiscard]] PeerState producer_state(std::chrono::nanoseconds stale_after = {}) const noexcept {
    return detail::owner_state(ctl_->producer, stale_after);
  }
  // The producer epoch now (changes when a new producer attaches).
  [[nodiscard]] std::uint64_t producer_epoch() const noexcept {
    return ctl_->producer.epoch.load(std::memory_order_acquire);
  }

 private:
  void release() noexcept {
    if (head_ != released_) {
      detail::publish_index(ctl_->head.value, ctl_->consumer, head_, records_);
      released_ = head_;
    }
  }

  ControlBlock* ctl_ = nullptr;
  std::byte* data_ = nullptr;
  std::uint64_t capacity_ = 0;
  std::uint64_t mask_ = 0;
  std::uint64_t max_payload_ = 0;  // a longer non-padding record is corrupt
  std::uint64_t head_ = 0;        // read position (>= released_)
  std::uint64_t released_ = 0;    // last stored head
  std::uint64_t peeked_ = 0;      // record bytes of the outstanding peek (0: none)
  std::uint64_t records_ = 0;
  std::uint64_t heartbeats_ = 0;
  std::uint64_t owner_ = 0;
  std::uint64_t epoch_ = 0;
  bool corrupt_ = false;
};

}  // namespace torq::ring
