// Audit log: record encoding, the writer thread, reopen/truncate, and the verifying reader.
#include "torq/risk/audit_log.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>
#include <utility>
#include <system_error>

#include "torq/protocol/crc32c.hpp"

namespace torq::risk {

namespace {

template <class T>
T load_le(const std::byte* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
void store_le(std::byte* p, T v) noexcept {
  std::memcpy(p, &v, sizeof v);
}

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

const char* to_string(AuditRecordType t) noexcept {
  switch (t) {
    case AuditRecordType::Start: return "start";
    case AuditRecordType::Signal: return "signal";
    case AuditRecordType::Decision: return "decision";
    case AuditRecordType::Transaction: return "transaction";
    case AuditRecordType::Receipt: return "receipt";
    case AuditRecordType::Pnl: return "pnl";
    case AuditRecordType::Dropped: return "dropped";
    case AuditRecordType::Nonce: return "nonce";
  }
  return "unknown";
}

const char* to_string(FsyncPolicy p) noexcept {
  switch (p) {
    case FsyncPolicy::EveryRecord: return "every_record";
    case FsyncPolicy::Interval: return "interval";
    case FsyncPolicy::Never: return "never";
  }
  return "unknown";
}

const char* to_string(ReadStatus s) noexcept {
  switch (s) {
    case ReadStatus::Record: return "record";
    case ReadStatus::End: return "end";
    case ReadStatus::Torn: return "torn";
    case ReadStatus::Corrupt: return "corrupt";
  }
  return "unknown";
}

const char* to_string(CorruptKind k) noexcept {
  switch (k) {
    case CorruptKind::None: return "none";
    case CorruptKind::BadFileHeader: return "bad_file_header";
    case CorruptKind::BadLength: return "bad_length";
    case CorruptKind::BadType: return "bad_type";
    case CorruptKind::BadVersion: return "bad_version";
    case CorruptKind::BadChecksum: return "bad_checksum";
    case CorruptKind::SequenceGap: return "sequence_gap";
  }
  return "unknown";
}

std::size_t audit_payload_size(std::uint8_t type) noexcept {
  switch (static_cast<AuditRecordType>(type)) {
    case AuditRecordType::Start: return sizeof(AuditStart);
    case AuditRecordType::Signal: return sizeof(protocol::ArbitrageSignal);
    case AuditRecordType::Decision: return sizeof(AuditDecision);
    case AuditRecordType::Transaction: return sizeof(AuditTransaction);
    case AuditRecordType::Receipt: return sizeof(protocol::ExecutionReport);
    case AuditRecordType::Pnl: return sizeof(AuditPnl);
    case AuditRecordType::Dropped: return sizeof(AuditDropped);
    case AuditRecordType::Nonce: return sizeof(AuditNonce);
  }
  return 0;
}

std::size_t encode_audit_record(std::span<std::byte> out, AuditRecordType type, std::uint64_t sequence,
                                std::uint64_t timestamp_ns, std::span<const std::byte> payload) noexcept {
  const std::size_t len = kAuditRecordOverhead + payload.size();
  if (out.size() < len) return 0;
  std::byte* p = out.data();
  store_le<std::uint32_t>(p, static_cast<std::uint32_t>(len));
  p[4] = static_cast<std::byte>(type);
  p[5] = static_cast<std::byte>(kAuditVersion);
  store_le<std::uint16_t>(p + 6, 0);
  store_le<std::uint64_t>(p + 8, sequence);
  store_le<std::uint64_t>(p + 16, timestamp_ns);
  if (!payload.empty()) std::memcpy(p + kAuditRecordHeaderBytes, payload.data(), payload.size());
  const std::uint32_t crc = protocol::crc32c(p, len - kAuditRecordTrailerBytes);
  store_le<std::uint32_t>(p + len - kAuditRecordTrailerBytes, crc);
  return len;
}

std::array<std::byte, kAuditFileHeaderBytes> audit_file_header() noexcept {
  std::array<std::byte, kAuditFileHeaderBytes> h{};
  std::memcpy(h.data(), kAuditMagic.data(), kAuditMagic.size());
  store_le<std::uint32_t>(h.data() + 8, kAuditVersion);
  store_le<std::uint32_t>(h.data() + 12, protocol::crc32c(h.data(), 12));
  return h;
}

// ---- hot side ---------------------------------------------------------------------------------
bool AuditChannel::push_raw(AuditRecordType type, const void* payload, std::size_t size,
                            std::uint64_t timestamp_ns) noexcept {
  if (size > kAuditMaxPayload) [[unlikely]] return false;
  const std::span<std::byte> dst = producer_.try_claim(static_cast<std::uint32_t>(sizeof(AuditEntryHead) + size));
  const std::uint64_t dropped = dropped_.load(std::memory_order_relaxed);
  if (dst.empty()) [[unlikely]] {
    dropped_.store(dropped + 1, std::memory_order_relaxed);
    return false;
  }
  const AuditEntryHead head{static_cast<std::uint8_t>(type), {}, static_cast<std::uint32_t>(size), timestamp_ns,
                            dropped};
  std::memcpy(dst.data(), &head, sizeof head);
  if (size != 0) std::memcpy(dst.data() + sizeof head, payload, size);
  producer_.commit();
  return true;
}

// ---- writer -----------------------------------------------------------------------------------
std::unique_ptr<AuditLog> AuditLog::open(const std::string& path, const AuditOptions& opts) {
  if (opts.channels == 0 || opts.channels > 64) throw std::invalid_argument("AuditLog: channels must be 1..64");
  if (opts.ring_bytes < 4096 || (opts.ring_bytes & (opts.ring_bytes - 1)) != 0) {
    throw std::invalid_argument("AuditLog: ring_bytes must be a power of two >= 4096");
  }
  std::unique_ptr<AuditLog> log(new AuditLog());
  log->path_ = path;
  log->opts_ = opts;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw_errno("AuditLog: open " + path);
  log->fd_ = fd;
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno("AuditLog: fstat " + path);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::uint64_t keep = 0;
  if (size < kAuditFileHeaderBytes) {
    log->truncated_bytes_ = size;  // empty, or a header torn by a crash at creation
    keep = 0;
  } else {
    AuditReader reader(path);
    AuditRecordView v;
    ReadStatus s;
    while ((s = reader.next(v)) == ReadStatus::Record) {
    }
    if (s == ReadStatus::Corrupt) {
      if (reader.corrupt_kind() == CorruptKind::BadFileHeader) {
        throw std::runtime_error("AuditLog: " + path + " is not a Torq audit log (bad file header)");
      }
      if (size - reader.offset() > kAuditMaxRecordBytes) {
        throw std::runtime_error("AuditLog: " + path + " is corrupt at offset " + std::to_string(reader.offset()) +
                                 " (" + to_string(reader.corrupt_kind()) +
                                 ") with more data after it; refusing to truncate (see docs/risk-and-audit.md)");
      }
    }
    keep = reader.offset();
    log->truncated_bytes_ = size - keep;
    log->prior_records_ = reader.records();
    log->next_seq_ = reader.last_sequence() + 1;
  }
  if (keep != size && ::ftruncate(fd, static_cast<off_t>(keep)) != 0) throw_errno("AuditLog: ftruncate " + path);
  if (::lseek(fd, 0, SEEK_END) < 0) throw_errno("AuditLog: lseek " + path);
  if (keep == 0) {
    const auto h = audit_file_header();
    if (::write(fd, h.data(), h.size()) != static_cast<ssize_t>(h.size())) throw_errno("AuditLog: write header");
    keep = h.size();
  }
  log->good_size_ = keep;
  log->next_seq_pub_.store(log->next_seq_, std::memory_order_relaxed);

  for (unsigned i = 0; i < opts.channels; ++i) {
    auto ch = std::make_unique<AuditChannel>();
    ch->ring_ = ring::LocalRing::create(opts.ring_bytes, opts.numa_node, /*try_hugepages=*/false);
    auto prod = ring::SpscProducer::attach(ch->ring_.region());
    auto cons = ring::SpscConsumer::attach(ch->ring_.region());
    if (!prod.ok() || !cons.ok()) throw std::runtime_error("AuditLog: ring attach failed");
    ch->producer_ = std::move(prod.value);
    ch->consumer_ = std::move(cons.value);
    ch->clock_ = opts.clock;
    log->channels_.push_back(std::move(ch));
  }
  log->buf_.resize(64 * 1024);

  const AuditStart start{static_cast<std::uint64_t>(::getpid()), log->truncated_bytes_, log->prior_records_, 0};
  log->append(AuditRecordType::Start, opts.clock.now_ns(), &start, sizeof start);
  log->write_buffer();
  if (opts.fsync != FsyncPolicy::Never) log->maybe_sync(true);
  log->last_sync_ns_ = opts.clock.now_ns();
  if (log->write_errors_.load() != 0) throw std::runtime_error("AuditLog: cannot write " + path);
  if (opts.start_thread) log->thread_ = std::thread([p = log.get()] { p->run(); });
  return log;
}

AuditLog::~AuditLog() { close(); }

void AuditLog::append(AuditRecordType type, std::uint64_t ts, const void* payload, std::size_t size) noexcept {
  // drain_channel sizes its bursts so that this never happens; open() and close() append to a
  // buffer with room unless writes keep failing, and then the record is counted as unwritten.
  if (buf_.size() - buf_used_ < kAuditMaxRecordBytes && (!write_buffer() || buf_.size() - buf_used_ < kAuditMaxRecordBytes)) {
    unwritten_records_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::size_t n = encode_audit_record(std::span<std::byte>(buf_.data() + buf_used_, buf_.size() - buf_used_),
                                            type, next_seq_, ts,
                                            std::span<const std::byte>(static_cast<const std::byte*>(payload), size));
  buf_used_ += n;
  ++next_seq_;
  ++pending_records_;
  if (opts_.fsync == FsyncPolicy::EveryRecord) {
    if (write_buffer()) maybe_sync(true);
  }
}

bool AuditLog::write_buffer() noexcept {
  if (buf_used_ == 0) {
    publish_written();
    return true;
  }
  // Positional writes: the batch always goes to the end of the last good record, whatever an
  // earlier failed attempt left behind.
  std::size_t done = 0;
  while (done < buf_used_) {
    std::size_t want = buf_used_ - done;
    if (opts_.debug_write_chunk != 0 && want > opts_.debug_write_chunk) want = opts_.debug_write_chunk;
    const ssize_t w = ::pwrite(fd_, buf_.data() + done, want, static_cast<off_t>(good_size_ + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += static_cast<std::size_t>(w);
  }
  if (done < buf_used_) {
    // Keep the file a valid log (cut the partial batch) and keep the batch in the buffer: the
    // next call writes it again at the same offset with the same sequence numbers. Its records
    // are not counted as written, so flush() does not report them.
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    if (done != 0 && ::ftruncate(fd_, static_cast<off_t>(good_size_)) != 0) {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
    }
    return false;
  }
  good_size_ += buf_used_;
  bytes_written_.fetch_add(buf_used_, std::memory_order_relaxed);
  records_written_.fetch_add(pending_records_, std::memory_order_relaxed);
  dirty_ = true;
  next_seq_pub_.store(next_seq_, std::memory_order_relaxed);
  buf_used_ = 0;
  pending_records_ = 0;
  publish_written();
  return true;
}

void AuditLog::publish_written() noexcept {
  for (const auto& ch : channels_) {
    if (ch->buffered_ != 0) ch->written_.fetch_add(std::exchange(ch->buffered_, 0), std::memory_order_release);
  }
}

void AuditLog::maybe_sync(bool force) noexcept {
  if (!dirty_) return;
  const std::uint64_t now = opts_.clock.now_ns();
  if (!force) {
    if (opts_.fsync != FsyncPolicy::Interval) return;
    const auto interval = static_cast<std::uint64_t>(opts_.fsync_interval.count());
    if (now >= last_sync_ns_ && now - last_sync_ns_ < interval) return;
  }
  if (::fdatasync(fd_) != 0) write_errors_.fetch_add(1, std::memory_order_relaxed);
  fsyncs_.fetch_add(1, std::memory_order_relaxed);
  last_sync_ns_ = now;
  dirty_ = false;
}

std::size_t AuditLog::drain_channel(AuditChannel& ch, std::uint64_t index) noexcept {
  // A batch whose write failed is written again first; until it is on file, new records stay in
  // the rings (a producer then finds its ring full: its push fails and is counted).
  if (!write_buffer()) return 0;
  // Room for every record of the burst and a Dropped record before each, so append() never has
  // to write in the middle of a burst.
  const std::size_t room = (buf_.size() - buf_used_) / (2 * kAuditMaxRecordBytes);
  const std::size_t n = ch.consumer_.consume_burst(
      [&](std::span<const std::byte> rec) {
        ++ch.buffered_;  // counted in written_ once the batch is on file (or nothing was to write)
        if (rec.size() < sizeof(AuditEntryHead)) return;
        AuditEntryHead h;
        std::memcpy(&h, rec.data(), sizeof h);
        if (h.dropped_total > ch.dropped_seen_) {
          const AuditDropped d{h.dropped_total, index};
          append(AuditRecordType::Dropped, h.timestamp_ns, &d, sizeof d);
          ch.dropped_seen_ = h.dropped_total;
        }
        if (h.size != audit_payload_size(h.type) || rec.size() != sizeof h + h.size) return;
        append(static_cast<AuditRecordType>(h.type), h.timestamp_ns, rec.data() + sizeof h, h.size);
      },
      room);
  if (n != 0) (void)write_buffer();
  return n;
}

std::size_t AuditLog::poll() noexcept {
  if (closed_) return 0;
  std::size_t total = 0;
  for (std::size_t i = 0; i < channels_.size(); ++i) total += drain_channel(*channels_[i], i);
  maybe_sync(false);
  return total;
}

void AuditLog::run() noexcept {
  unsigned idle = 0;
  while (!stop_.load(std::memory_order_acquire)) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < channels_.size(); ++i) n += drain_channel(*channels_[i], i);
    maybe_sync(false);
    if (n != 0) {
      idle = 0;
      continue;
    }
    // Off the hot core: back off from 20 us up to 1 ms while idle.
    const unsigned us = idle < 6 ? (20U << idle) : 1000U;
    if (idle < 6) ++idle;
    std::this_thread::sleep_for(std::chrono::microseconds(us));
  }
}

bool AuditLog::flush(std::chrono::nanoseconds timeout) noexcept {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::uint64_t errors_before = write_errors_.load(std::memory_order_acquire);
  for (;;) {
    bool done = true;
    for (const auto& ch : channels_) {
      if (ch->written_.load(std::memory_order_acquire) < ch->pushed()) done = false;
    }
    if (done) return true;
    if (closed_) return false;
    // A write attempted since this call began failed: the records are not on file, so say so
    // now rather than at the deadline (the submitter must not send a transaction whose record
    // is not written). The writer keeps retrying the batch.
    if (write_errors_.load(std::memory_order_acquire) != errors_before) return false;
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (!thread_.joinable()) {
      (void)poll();
      continue;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void AuditLog::sync() noexcept {
  if (thread_.joinable() || closed_) {
    if (!closed_ && ::fdatasync(fd_) == 0) fsyncs_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  dirty_ = true;
  maybe_sync(true);
}

void AuditLog::close() noexcept {
  if (closed_) return;
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    while (drain_channel(*channels_[i], i) != 0) {
    }
    AuditChannel& ch = *channels_[i];
    const std::uint64_t dropped = ch.dropped();
    if (dropped > ch.dropped_seen_) {  // the producer is quiescent at close
      const AuditDropped d{dropped, i};
      append(AuditRecordType::Dropped, opts_.clock.now_ns(), &d, sizeof d);
      ch.dropped_seen_ = dropped;
    }
  }
  if (!write_buffer()) unwritten_records_.fetch_add(pending_records_, std::memory_order_relaxed);
  if (opts_.fsync != FsyncPolicy::Never) maybe_sync(true);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  closed_ = true;
}

AuditStats AuditLog::stats() const noexcept {
  AuditStats s;
  s.records_written = records_written_.load(std::memory_order_relaxed);
  s.bytes_written = bytes_written_.load(std::memory_order_relaxed);
  s.fsyncs = fsyncs_.load(std::memory_order_relaxed);
  s.write_errors = write_errors_.load(std::memory_order_relaxed);
  s.unwritten_records = unwritten_records_.load(std::memory_order_relaxed);
  s.truncated_bytes = truncated_bytes_;
  s.prior_records = prior_records_;
  s.next_sequence = next_seq_pub_.load(std::memory_order_relaxed);
  return s;
}

// ---- reader -----------------------------------------------------------------------------------
AuditReader::AuditReader(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno("AuditReader: open " + path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "AuditReader: fstat " + path);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size != 0) {
    void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      throw std::system_error(e, std::generic_category(), "AuditReader: mmap " + path);
    }
    map_ = m;
    map_len_ = size;
    bytes_ = std::span<const std::byte>(static_cast<const std::byte*>(m), size);
  }
  ::close(fd);
}

AuditReader::AuditReader(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}

AuditReader::~AuditReader() {
  if (map_ != nullptr) ::munmap(map_, map_len_);
}

ReadStatus AuditReader::next(AuditRecordView& out) noexcept {
  if (status_ != ReadStatus::Record) return status_;
  const std::uint64_t size = bytes_.size();
  const std::byte* base = bytes_.data();
  if (offset_ == 0) {
    if (size == 0) return stop(ReadStatus::End, CorruptKind::None);
    if (size < kAuditFileHeaderBytes) return stop(ReadStatus::Torn, CorruptKind::None);
    const auto expect = audit_file_header();
    if (std::memcmp(base, expect.data(), expect.size()) != 0) return stop(ReadStatus::Corrupt, CorruptKind::BadFileHeader);
    offset_ = kAuditFileHeaderBytes;
  }
  if (offset_ == size) return stop(ReadStatus::End, CorruptKind::None);
  const std::uint64_t remaining = size - offset_;
  const std::byte* p = base + offset_;
  if (remaining < 4) return stop(ReadStatus::Torn, CorruptKind::None);
  const auto len = load_le<std::uint32_t>(p);
  if (len < kAuditRecordOverhead || len > kAuditMaxRecordBytes) return stop(ReadStatus::Corrupt, CorruptKind::BadLength);
  if (remaining < len) return stop(ReadStatus::Torn, CorruptKind::None);
  const std::uint32_t crc = protocol::crc32c(p, len - kAuditRecordTrailerBytes);
  if (crc != load_le<std::uint32_t>(p + len - kAuditRecordTrailerBytes)) {
    return stop(ReadStatus::Corrupt, CorruptKind::BadChecksum);
  }
  const auto type = static_cast<std::uint8_t>(p[4]);
  const std::size_t psize = audit_payload_size(type);
  if (psize == 0) return stop(ReadStatus::Corrupt, CorruptKind::BadType);
  if (len != kAuditRecordOverhead + psize) return stop(ReadStatus::Corrupt, CorruptKind::BadLength);
  if (static_cast<std::uint8_t>(p[5]) != kAuditVersion || load_le<std::uint16_t>(p + 6) != 0) {
    return stop(ReadStatus::Corrupt, CorruptKind::BadVersion);
  }
  const auto seq = load_le<std::uint64_t>(p + 8);
  if (seq != last_seq_ + 1) return stop(ReadStatus::Corrupt, CorruptKind::SequenceGap);
  out.type = static_cast<AuditRecordType>(type);
  out.sequence = seq;
  out.timestamp_ns = load_le<std::uint64_t>(p + 16);
  out.offset = offset_;
  out.length = len;
  out.payload = std::span<const std::byte>(p + kAuditRecordHeaderBytes, psize);
  offset_ += len;
  last_seq_ = seq;
  ++records_;
  return ReadStatus::Record;
}

}  // namespace torq::risk
