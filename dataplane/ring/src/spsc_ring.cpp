// Start-up, ownership and liveness parts of the SPSC ring (the hot path is inline in the header).
#include "torq/ring/spsc_ring.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <new>

namespace torq::ring {
namespace {

constexpr std::uint64_t kPidBits = 22;  // pid_max <= 4194304 = 2^22
constexpr std::uint64_t kPidMask = (std::uint64_t{1} << kPidBits) - 1;
constexpr std::uint64_t kStartMask = (std::uint64_t{1} << (64 - kPidBits)) - 1;

enum class ProcState { gone, zombie, running, unknown };

struct ProcInfo {
  ProcState state = ProcState::unknown;
  std::uint64_t start_ticks = 0;
};

// Reads state and start time (field 22, clock ticks since boot) from /proc/<pid>/stat without
// allocating. `pid` 0 means "self".
ProcInfo read_proc(std::int32_t pid) noexcept {
  char path[64];
  if (pid == 0) {
    std::snprintf(path, sizeof path, "/proc/self/stat");
  } else {
    std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  }
  ProcInfo info;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (pid != 0) {
      if (::kill(pid, 0) == 0 || errno == EPERM) {
        info.state = ProcState::unknown;  // exists, but /proc hides it: cannot check start time
      } else {
        info.state = ProcState::gone;
      }
    }
    return info;
  }
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) {
    info.state = ProcState::gone;  // the process vanished between open and read
    return info;
  }
  buf[n] = '\0';
  const char* p = nullptr;
  for (ssize_t i = n - 1; i >= 0; --i) {
    if (buf[i] == ')') {
      p = buf + i + 1;
      break;
    }
  }
  if (p == nullptr) return info;
  // After ") ": field 3 (state) is token 0; field 22 (starttime) is token 19.
  int token = -1;
  bool in_token = false;
  const char* tok_start[20] = {};
  for (; *p != '\0' && token < 19; ++p) {
    if (*p == ' ') {
      in_token = false;
    } else if (!in_token) {
      in_token = true;
      ++token;
      if (token <= 19) tok_start[token] = p;
    }
  }
  if (token < 19 || tok_start[0] == nullptr || tok_start[19] == nullptr) return info;
  const char st = *tok_start[0];
  info.state = (st == 'Z' || st == 'X' || st == 'x') ? ProcState::zombie : ProcState::running;
  std::uint64_t v = 0;
  for (const char* q = tok_start[19]; *q >= '0' && *q <= '9'; ++q) v = v * 10 + static_cast<std::uint64_t>(*q - '0');
  info.start_ticks = v;
  return info;
}

bool owner_word_dead(std::uint64_t w) noexcept {
  const auto pid = static_cast<std::int32_t>(w & kPidMask);
  const std::uint64_t start = w >> kPidBits;
  const ProcInfo info = read_proc(pid);
  switch (info.state) {
    case ProcState::gone:
    case ProcState::zombie:
      return true;
    case ProcState::running:
      return (info.start_ticks & kStartMask) != start;  // pid reused by another process
    case ProcState::unknown:
      return false;
  }
  return false;
}

// The head may be ahead of the tail index: the consumer follows committed headers, and a
// producer that died between a batch's commit and its tail store leaves the index behind (the
// next producer walks past it on attach).
bool indices_sane(std::uint64_t head, std::uint64_t tail, std::uint64_t capacity) noexcept {
  return head % kRecordAlign == 0 && tail % kRecordAlign == 0 && (head <= tail ? tail - head : head - tail) <= capacity;
}

ControlBlock* as_control(void* mem) noexcept { return std::launder(reinterpret_cast<ControlBlock*>(mem)); }

}  // namespace

const char* to_string(RingError e) noexcept {
  switch (e) {
    case RingError::ok: return "ok";
    case RingError::null_region: return "null region";
    case RingError::misaligned: return "region not 128-byte aligned";
    case RingError::too_small: return "region too small for the capacity";
    case RingError::bad_capacity: return "capacity not a power of two in [256 B, 1 TiB]";
    case RingError::bad_magic: return "no formatted ring in region (bad magic)";
    case RingError::bad_version: return "ring layout version mismatch";
    case RingError::corrupt: return "ring control block inconsistent";
    case RingError::endpoint_busy: return "ring side owned by a live process or handle";
  }
  return "unknown ring error";
}

const char* to_string(PeerState s) noexcept {
  switch (s) {
    case PeerState::absent: return "absent";
    case PeerState::alive: return "alive";
    case PeerState::dead: return "dead";
    case PeerState::stale: return "stale";
  }
  return "unknown";
}

std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t RingRegion::capacity_for(std::size_t bytes) noexcept {
  if (bytes < kControlBytes + kMinCapacity) return 0;
  const std::uint64_t cap = std::bit_floor(static_cast<std::uint64_t>(bytes - kControlBytes));
  return std::min(cap, kMaxCapacity);
}

Expected<RingRegion> RingRegion::format(void* mem, std::size_t bytes, std::uint64_t capacity) noexcept {
  if (mem == nullptr) return {{}, RingError::null_region};
  if (reinterpret_cast<std::uintptr_t>(mem) % kFalseSharingRange != 0) return {{}, RingError::misaligned};
  if (capacity < kMinCapacity || capacity > kMaxCapacity || !std::has_single_bit(capacity)) {
    return {{}, RingError::bad_capacity};
  }
  if (bytes < bytes_for(capacity)) return {{}, RingError::too_small};
  ControlBlock* c = new (mem) ControlBlock();
  c->header.version = kLayoutVersion;
  c->header.control_bytes = static_cast<std::uint32_t>(kControlBytes);
  c->header.capacity = capacity;
  c->header.region_bytes = bytes;
  const std::uint64_t max_payload = std::min<std::uint64_t>(capacity / 2 - kRecordHeaderBytes, 0xFFFF'FFF0u);
  c->header.max_payload = max_payload;
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  c->header.format_ns = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
  c->header.creator_pid = static_cast<std::int32_t>(::getpid());
  // The consumer starts by polling the header word at offset 0: nothing published there yet.
  detail::store_header(reinterpret_cast<std::byte*>(c) + kControlBytes, 0, 0);
  c->header.magic.store(kRingMagic, std::memory_order_release);
  return {RingRegion(c, capacity, max_payload), RingError::ok};
}

Expected<RingRegion> RingRegion::open(void* mem, std::size_t bytes) noexcept {
  if (mem == nullptr) return {{}, RingError::null_region};
  if (reinterpret_cast<std::uintptr_t>(mem) % kFalseSharingRange != 0) return {{}, RingError::misaligned};
  if (bytes < kControlBytes + kMinCapacity) return {{}, RingError::too_small};
  ControlBlock* c = as_control(mem);
  if (c->header.magic.load(std::memory_order_acquire) != kRingMagic) return {{}, RingError::bad_magic};
  if (c->header.version != kLayoutVersion || c->header.control_bytes != kControlBytes) {
    return {{}, RingError::bad_version};
  }
  const std::uint64_t cap = c->header.capacity;
  if (cap < kMinCapacity || cap > kMaxCapacity || !std::has_single_bit(cap)) return {{}, RingError::corrupt};
  if (bytes < bytes_for(cap)) return {{}, RingError::too_small};
  // As format() sets it. (Not record_bytes(max_payload) > cap / 2: that sum wraps for a value
  // near 2^64, and a record length is 32 bits.)
  const std::uint64_t max_payload = c->header.max_payload;
  if (max_payload == 0 || max_payload > std::min<std::uint64_t>(cap / 2 - kRecordHeaderBytes, 0xFFFF'FFF0u)) {
    return {{}, RingError::corrupt};
  }
  if (!indices_sane(c->head.value.load(std::memory_order_acquire), c->tail.value.load(std::memory_order_acquire), cap)) {
    return {{}, RingError::corrupt};
  }
  return {RingRegion(c, cap, max_payload), RingError::ok};
}

RingStats RingRegion::stats() const noexcept {
  RingStats s;
  if (ctl_ == nullptr) return s;
  s.capacity = capacity_;
  s.head = ctl_->head.value.load(std::memory_order_acquire);
  s.tail = ctl_->tail.value.load(std::memory_order_acquire);
  s.published = ctl_->producer.records.load(std::memory_order_relaxed);
  s.consumed = ctl_->consumer.records.load(std::memory_order_relaxed);
  s.rejected_full = ctl_->producer.rejected_full.load(std::memory_order_relaxed);
  s.rejected_size = ctl_->producer.rejected_size.load(std::memory_order_relaxed);
  s.producer_epoch = ctl_->producer.epoch.load(std::memory_order_relaxed);
  s.consumer_epoch = ctl_->consumer.epoch.load(std::memory_order_relaxed);
  return s;
}

PeerState RingRegion::producer_state(std::chrono::nanoseconds stale_after) const noexcept {
  return detail::owner_state(ctl_->producer, stale_after);
}
PeerState RingRegion::consumer_state(std::chrono::nanoseconds stale_after) const noexcept {
  return detail::owner_state(ctl_->consumer, stale_after);
}

namespace detail {

std::uint64_t self_owner_word() noexcept {
  const auto pid = static_cast<std::uint64_t>(::getpid()) & kPidMask;
  const ProcInfo info = read_proc(0);
  return ((info.start_ticks & kStartMask) << kPidBits) | pid;
}

PeerState owner_state(const EndpointMeta& m, std::chrono::nanoseconds stale_after) noexcept {
  const std::uint64_t w = m.owner.load(std::memory_order_acquire);
  if (w == 0) return PeerState::absent;
  if (owner_word_dead(w)) return PeerState::dead;
  if (stale_after.count() > 0) {
    const std::uint64_t hb = m.heartbeat_ns.load(std::memory_order_relaxed);
    const std::uint64_t now = monotonic_ns();
    if (now > hb && now - hb > static_cast<std::uint64_t>(stale_after.count())) return PeerState::stale;
  }
  return PeerState::alive;
}

RingError acquire_endpoint(EndpointMeta& m, AttachPolicy policy) noexcept {
  const std::uint64_t self = self_owner_word();
  std::uint64_t cur = 0;
  if (m.owner.compare_exchange_strong(cur, self, std::memory_order_acq_rel, std::memory_order_acquire)) {
    return RingError::ok;
  }
  if (policy == AttachPolicy::if_free_or_dead) {
    if (cur == self) return RingError::endpoint_busy;  // another handle of this process
    if (!owner_word_dead(cur)) return RingError::endpoint_busy;
  }
  if (!m.owner.compare_exchange_strong(cur, self, std::memory_order_acq_rel, std::memory_order_acquire)) {
    return RingError::endpoint_busy;  // someone else took it over first
  }
  return RingError::ok;
}

void release_endpoint(EndpointMeta& m, std::uint64_t owner) noexcept {
  std::uint64_t expected = owner;
  (void)m.owner.compare_exchange_strong(expected, 0, std::memory_order_acq_rel, std::memory_order_relaxed);
}

void recover_index(const EndpointMeta& m, std::uint64_t published_index, std::uint64_t& records) noexcept {
  // publish_index stores pending_index, pending_records, index, records in that order. If the
  // published index equals pending_index, the crash (if any) came after the index store, so
  // pending_records is the count that goes with it; otherwise the pending pair belongs to a
  // publication that never happened and `records` (stored after the previous index) is right.
  if (m.pending_index.load(std::memory_order_acquire) == published_index) {
    records = m.pending_records.load(std::memory_order_acquire);
  } else {
    records = m.records.load(std::memory_order_acquire);
  }
}

}  // namespace detail

// ---- producer ----

Expected<SpscProducer> SpscProducer::attach(RingRegion region, AttachPolicy policy) noexcept {
  if (!region.valid()) return {{}, RingError::null_region};
  ControlBlock* c = region.control();
  EndpointMeta& m = c->producer;
  if (const RingError e = detail::acquire_endpoint(m, policy); e != RingError::ok) return {{}, e};
  const std::uint64_t owner = m.owner.load(std::memory_order_acquire);
  const std::uint64_t cap = region.capacity();  // as checked, not re-read from shared memory
  std::uint64_t tail = c->tail.value.load(std::memory_order_acquire);
  const std::uint64_t head = c->head.value.load(std::memory_order_acquire);
  if (!indices_sane(head, tail, cap)) {
    detail::release_endpoint(m, owner);
    return {{}, RingError::corrupt};
  }
  std::uint64_t records = 0;
  detail::recover_index(m, tail, records);
  // A predecessor that died between committing a batch and storing the tail index left
  // committed records past it, which the consumer may already have read: walk them (each was
  // written in this lap: the end marker at the index came first). The walk stops at the first
  // header without the commit flag: an end marker, or a batch that was never made visible.
  std::byte* const data = region.data();
  for (;;) {
    const std::uint64_t pos = tail & (cap - 1);
    const RecordHeader h = detail::load_header(data + pos);
    if (!(h.flags & kRecordFlagCommitted)) break;
    const std::uint64_t rb = record_bytes(h.length);
    if (rb > cap - pos || tail + rb - std::min(head, tail) > cap) {
      detail::release_endpoint(m, owner);
      return {{}, RingError::corrupt};
    }
    tail += rb;
    if (!(h.flags & kRecordFlagPadding)) ++records;
  }
  if (head > tail) {  // the consumer cannot have read past what was committed
    detail::release_endpoint(m, owner);
    return {{}, RingError::corrupt};
  }
  detail::store_header(data + (tail & (cap - 1)), 0, 0);  // end marker (drops a never-visible batch)
  Expected<SpscProducer> r;
  SpscProducer& p = r.value;
  p.g_.ctl = c;
  p.g_.data = data;
  p.g_.capacity = cap;
  p.g_.mask = cap - 1;
  p.g_.max_payload = region.max_payload();
  p.s_.tail = p.s_.published = tail;
  p.s_.head_cache = head;
  p.s_.records = records;
  detail::publish_index(c->tail.value, m, tail, p.s_.records);  // normalise the recovery words
  p.s_.rejected_full = m.rejected_full.load(std::memory_order_relaxed);
  p.s_.rejected_size = m.rejected_size.load(std::memory_order_relaxed);
  p.heartbeats_ = m.heartbeat_count.load(std::memory_order_relaxed);
  p.owner_ = owner;
  p.epoch_ = m.epoch.fetch_add(1, std::memory_order_acq_rel) + 1;
  p.heartbeat();
  return r;
}

void SpscProducer::detach() noexcept {
  if (g_.ctl == nullptr) return;
  if (g_.ctl->producer.owner.load(std::memory_order_acquire) == owner_) flush();
  detail::release_endpoint(g_.ctl->producer, owner_);
  g_.ctl = nullptr;
}

SpscProducer& SpscProducer::operator=(SpscProducer&& o) noexcept {
  if (this == &o) return *this;
  detach();
  g_ = o.g_;
  o.g_.ctl = nullptr;
  s_ = o.s_;
  heartbeats_ = o.heartbeats_;
  owner_ = o.owner_;
  epoch_ = o.epoch_;
  return *this;
}

// ---- consumer ----

Expected<SpscConsumer> SpscConsumer::attach(RingRegion region, AttachPolicy policy) noexcept {
  if (!region.valid()) return {{}, RingError::null_region};
  ControlBlock* c = region.control();
  EndpointMeta& m = c->consumer;
  if (const RingError e = detail::acquire_endpoint(m, policy); e != RingError::ok) return {{}, e};
  const std::uint64_t owner = m.owner.load(std::memory_order_acquire);
  const std::uint64_t cap = region.capacity();  // as checked, not re-read from shared memory
  const std::uint64_t head = c->head.value.load(std::memory_order_acquire);
  const std::uint64_t tail = c->tail.value.load(std::memory_order_acquire);
  if (!indices_sane(head, tail, cap)) {
    detail::release_endpoint(m, owner);
    return {{}, RingError::corrupt};
  }
  Expected<SpscConsumer> r;
  SpscConsumer& s = r.value;
  s.ctl_ = c;
  s.data_ = region.data();
  s.capacity_ = cap;
  s.mask_ = cap - 1;
  s.max_payload_ = region.max_payload();
  s.head_ = s.released_ = head;
  detail::recover_index(m, head, s.records_);
  detail::publish_index(c->head.value, m, head, s.records_);
  s.heartbeats_ = m.heartbeat_count.load(std::memory_order_relaxed);
  s.owner_ = owner;
  s.epoch_ = m.epoch.fetch_add(1, std::memory_order_acq_rel) + 1;
  s.heartbeat();
  return r;
}

void SpscConsumer::detach() noexcept {
  if (ctl_ == nullptr) return;
  if (ctl_->consumer.owner.load(std::memory_order_acquire) == owner_) release();
  detail::release_endpoint(ctl_->consumer, owner_);
  ctl_ = nullptr;
}

SpscConsumer& SpscConsumer::operator=(SpscConsumer&& o) noexcept {
  if (this == &o) return *this;
  detach();
  ctl_ = std::exchange(o.ctl_, nullptr);
  data_ = o.data_;
  capacity_ = o.capacity_;
  mask_ = o.mask_;
  max_payload_ = o.max_payload_;
  head_ = o.head_;
  released_ = o.released_;
  peeked_ = o.peeked_;
  records_ = o.records_;
  heartbeats_ = o.heartbeats_;
  owner_ = o.owner_;
  epoch_ = o.epoch_;
  corrupt_ = o.corrupt_;
  return *this;
}

}  // namespace torq::ring
