// Record/replay file and transport tap: see torq/control/recording.hpp and docs/record-replay.md.
#include "torq/control/recording.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "torq/control/rpc_client.hpp"
#include "torq/protocol/crc32c.hpp"

namespace torq::control {

namespace {

template <class T>
void put(std::vector<std::byte>& out, T v) {
  const auto* p = reinterpret_cast<const std::byte*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}
template <class T>
T get(const std::byte* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

std::uint64_t mono_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

std::span<const std::byte> bytes_of(std::string_view s) noexcept {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

bool valid_kind(std::uint8_t k) noexcept { return (k >= 1 && k <= 4) || (k >= 16 && k <= 18); }

}  // namespace

const char* to_string(RecordKind k) noexcept {
  switch (k) {
    case RecordKind::WsConnect: return "ws_connect";
    case RecordKind::WsSend: return "ws_send";
    case RecordKind::WsRead: return "ws_read";
    case RecordKind::HttpPost: return "http_post";
    case RecordKind::MdFrame: return "md_frame";
    case RecordKind::Signal: return "signal";
    case RecordKind::Decision: return "decision";
  }
  return "?";
}

const char* to_string(ReadStop s) noexcept {
  switch (s) {
    case ReadStop::End: return "end";
    case ReadStop::Torn: return "torn";
    case ReadStop::Corrupt: return "corrupt";
  }
  return "?";
}

std::uint64_t fnv1a64(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t recording_now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Header: magic[8] version u32 meta_len u32 chain_id u64 fingerprint u64 created u64
//         crc u32 (CRC32C of bytes 0..40 and the metadata) reserved u32, then meta.
void append_header(std::vector<std::byte>& out, const RecordingHeader& h) {
  const std::size_t start = out.size();
  for (char c : kRecordingMagic) out.push_back(static_cast<std::byte>(c));
  put<std::uint32_t>(out, h.version);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(h.meta.size()));
  put<std::uint64_t>(out, h.chain_id);
  put<std::uint64_t>(out, h.config_fingerprint);
  put<std::uint64_t>(out, h.created_unix_ns);
  std::uint32_t crc = protocol::crc32c(out.data() + start, 40);
  crc = protocol::crc32c(h.meta.data(), h.meta.size(), crc);
  put<std::uint32_t>(out, crc);
  put<std::uint32_t>(out, 0);
  const auto m = bytes_of(h.meta);
  out.insert(out.end(), m.begin(), m.end());
}

// Record: payload_len u32, crc u32 (CRC32C of the payload), payload =
//   kind u8, status u8, flags u16, aux_len u32, t_ns u64, aux, body.
void append_record(std::vector<std::byte>& out, const RecordView& r) {
  const std::size_t payload = kRecordFixedSize + r.aux.size() + r.body.size();
  const std::size_t at = out.size();
  put<std::uint32_t>(out, static_cast<std::uint32_t>(payload));
  put<std::uint32_t>(out, 0);  // CRC below
  const std::size_t p0 = out.size();
  put<std::uint8_t>(out, static_cast<std::uint8_t>(r.kind));
  put<std::uint8_t>(out, r.status);
  put<std::uint16_t>(out, r.flags);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(r.aux.size()));
  put<std::uint64_t>(out, r.t_ns);
  out.insert(out.end(), r.aux.begin(), r.aux.end());
  out.insert(out.end(), r.body.begin(), r.body.end());
  const std::uint32_t crc = protocol::crc32c(out.data() + p0, payload);
  std::memcpy(out.data() + at + 4, &crc, 4);
}

// ------------------------------------------------------------------ writer

std::unique_ptr<RecordWriter> RecordWriter::create(const std::string& path, RecordingHeader header) {
  std::unique_ptr<RecordWriter> w(new RecordWriter());
  w->path_ = path;
  // 0600: the header's metadata holds the node URLs, whose path often carries a provider API key.
  w->fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (w->fd_ < 0) throw std::runtime_error("recording " + path + ": cannot create: " + std::strerror(errno));
  if (header.config_fingerprint == 0) header.config_fingerprint = fnv1a64(header.meta);
  w->buf_.reserve(128 * 1024);
  append_header(w->buf_, header);
  std::lock_guard lk(w->mu_);
  w->flush_locked();
  if (!w->error_.empty()) throw std::runtime_error(w->error_);
  return w;
}

RecordWriter::~RecordWriter() { close(); }

void RecordWriter::write(RecordKind kind, std::uint8_t status, std::uint64_t t_ns, std::span<const std::byte> aux,
                         std::span<const std::byte> body) noexcept {
  RecordView r;
  r.kind = kind;
  r.status = status;
  r.t_ns = t_ns;
  r.aux = aux;
  r.body = body;
  std::lock_guard lk(mu_);
  if (fd_ < 0 || !error_.empty()) return;
  if (kRecordFixedSize + aux.size() + body.size() > kMaxRecordPayload) {
    try {
      error_ = "recording " + path_ + ": record too large";
    } catch (...) {
    }
    return;
  }
  try {
    append_record(buf_, r);
    ++records_;
    // Flushed when 64 KiB are buffered or 200 ms after the last flush (the session records a
    // WebSocket read timeout every 100 ms when idle), so a kill -9 loses at most that much.
    if (buf_.size() >= 64 * 1024 || t_ns >= last_flush_ns_ + 200'000'000ULL) {
      flush_locked();
      last_flush_ns_ = t_ns;
    }
  } catch (...) {
    try {
      error_ = "recording " + path_ + ": out of memory";
    } catch (...) {
    }
  }
}

void RecordWriter::flush_locked() {
  std::size_t off = 0;
  while (off < buf_.size()) {
    const ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = "recording " + path_ + ": write failed: " + std::strerror(errno);
      break;
    }
    off += static_cast<std::size_t>(n);
  }
  bytes_ += off;
  buf_.clear();
}

void RecordWriter::flush() {
  std::lock_guard lk(mu_);
  if (fd_ >= 0 && error_.empty()) flush_locked();
}

void RecordWriter::close() {
  std::lock_guard lk(mu_);
  if (fd_ < 0) return;
  if (error_.empty()) flush_locked();
  ::close(fd_);
  fd_ = -1;
}

std::uint64_t RecordWriter::records() const {
  std::lock_guard lk(mu_);
  return records_;
}
std::uint64_t RecordWriter::bytes() const {
  std::lock_guard lk(mu_);
  return bytes_ + buf_.size();
}
std::string RecordWriter::error() const {
  std::lock_guard lk(mu_);
  return error_;
}

// ------------------------------------------------------------------ reader

RecordReader RecordReader::open(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("recording " + path + ": cannot open");
  std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(raw.size());
  if (!raw.empty()) std::memcpy(bytes.data(), raw.data(), raw.size());
  return from_bytes(std::move(bytes), path);
}

RecordReader RecordReader::from_bytes(std::vector<std::byte> bytes, const std::string& name) {
  RecordReader r;
  auto data = std::make_shared<std::vector<std::byte>>(std::move(bytes));
  r.data_ = data;
  const std::byte* p = data->data();
  const std::size_t n = data->size();
  if (n < kRecordingHeaderSize || std::memcmp(p, kRecordingMagic.data(), 8) != 0)
    throw std::runtime_error("recording " + name + ": not a Torq recording (magic)");
  r.header_.version = get<std::uint32_t>(p + 8);
  if (r.header_.version != kRecordingVersion)
    throw std::runtime_error("recording " + name + ": version " + std::to_string(r.header_.version) +
                             " (this build reads " + std::to_string(kRecordingVersion) + ")");
  const std::uint32_t meta_len = get<std::uint32_t>(p + 12);
  if (meta_len > n - kRecordingHeaderSize) throw std::runtime_error("recording " + name + ": header truncated");
  r.header_.chain_id = get<std::uint64_t>(p + 16);
  r.header_.config_fingerprint = get<std::uint64_t>(p + 24);
  r.header_.created_unix_ns = get<std::uint64_t>(p + 32);
  std::uint32_t crc = protocol::crc32c(p, 40);
  crc = protocol::crc32c(p + kRecordingHeaderSize, meta_len, crc);
  if (crc != get<std::uint32_t>(p + 40)) throw std::runtime_error("recording " + name + ": header checksum mismatch");
  if (get<std::uint32_t>(p + 44) != 0) throw std::runtime_error("recording " + name + ": reserved header field set");
  r.header_.meta.assign(reinterpret_cast<const char*>(p + kRecordingHeaderSize), meta_len);

  std::size_t off = kRecordingHeaderSize + meta_len;
  r.stop_ = ReadStop::End;
  while (off < n) {
    if (n - off < kRecordPrefixSize) {
      r.stop_ = ReadStop::Torn;
      break;
    }
    const std::uint32_t len = get<std::uint32_t>(p + off);
    const std::uint32_t want = get<std::uint32_t>(p + off + 4);
    if (len < kRecordFixedSize || len > kMaxRecordPayload) {
      r.stop_ = ReadStop::Corrupt;
      break;
    }
    if (n - off - kRecordPrefixSize < len) {  // the writer was cut in the middle of this record
      r.stop_ = ReadStop::Torn;
      break;
    }
    const std::byte* q = p + off + kRecordPrefixSize;
    if (protocol::crc32c(q, len) != want) {
      r.stop_ = ReadStop::Corrupt;
      break;
    }
    const std::uint8_t kind = get<std::uint8_t>(q);
    const std::uint32_t aux_len = get<std::uint32_t>(q + 4);
    if (!valid_kind(kind) || aux_len > len - kRecordFixedSize) {
      r.stop_ = ReadStop::Corrupt;
      break;
    }
    RecordView v;
    v.kind = static_cast<RecordKind>(kind);
    v.status = get<std::uint8_t>(q + 1);
    v.flags = get<std::uint16_t>(q + 2);
    v.t_ns = get<std::uint64_t>(q + 8);
    v.aux = std::span<const std::byte>(q + kRecordFixedSize, aux_len);
    v.body = std::span<const std::byte>(q + kRecordFixedSize + aux_len, len - kRecordFixedSize - aux_len);
    r.records_.push_back(v);
    off += kRecordPrefixSize + len;
  }
  r.stop_offset_ = off;
  return r;
}

// ------------------------------------------------------------------ tap

std::unique_ptr<NodeTap> NodeTap::recorder(RecordWriter& writer) {
  std::unique_ptr<NodeTap> t(new NodeTap());
  t->mode_ = Mode::Record;
  t->writer_ = &writer;
  return t;
}

std::unique_ptr<NodeTap> NodeTap::replayer(std::vector<RecordView> transport, Pace pace) {
  std::unique_ptr<NodeTap> t(new NodeTap());
  t->mode_ = Mode::Replay;
  t->transport_ = std::move(transport);
  t->pace_ = pace;
  if (!t->transport_.empty()) t->first_t_ = t->transport_.front().t_ns;
  t->start_mono_ = mono_ns();
  return t;
}

void NodeTap::on_connect(RpcStatus s) {
  writer_->write_text(RecordKind::WsConnect, static_cast<std::uint8_t>(s), recording_now_ns(), {}, {});
}
void NodeTap::on_send(RpcStatus s, std::string_view text) {
  writer_->write_text(RecordKind::WsSend, static_cast<std::uint8_t>(s), recording_now_ns(), {}, text);
}
void NodeTap::on_read(RpcStatus s, std::string_view text) {
  writer_->write_text(RecordKind::WsRead, static_cast<std::uint8_t>(s), recording_now_ns(), {},
                      s == RpcStatus::Ok ? text : std::string_view());
}
void NodeTap::on_post(RpcStatus s, std::string_view request, std::string_view response) {
  writer_->write_text(RecordKind::HttpPost, static_cast<std::uint8_t>(s), recording_now_ns(), request,
                      s == RpcStatus::Ok ? response : std::string_view());
}

const RecordView* NodeTap::take(RecordKind kind, std::string_view request) {
  if (next_ >= transport_.size()) {
    drained_.store(true, std::memory_order_release);
    return nullptr;
  }
  const RecordView& r = transport_[next_];
  const bool same_kind = r.kind == kind;
  const std::string_view recorded = kind == RecordKind::HttpPost ? r.aux_text() : r.body_text();
  if (!same_kind || ((kind == RecordKind::HttpPost || kind == RecordKind::WsSend) && recorded != request)) {
    ++divergences_;
    if (first_divergence_.empty()) {
      first_divergence_ = "step " + std::to_string(next_) + ": replay asked for " + to_string(kind) + " '" +
                          std::string(request.substr(0, 160)) + "', the recording has " + to_string(r.kind) + " '" +
                          std::string(recorded.substr(0, 160)) + "'";
    }
    if (!same_kind) return nullptr;  // do not consume: the code path differs
  }
  ++next_;
  return &r;
}

void NodeTap::pace(const RecordView& r) {
  if (pace_ != Pace::Recorded || r.t_ns < first_t_) return;
  const std::uint64_t due = start_mono_ + (r.t_ns - first_t_);
  const std::uint64_t now = mono_ns();
  if (due > now) std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
}

RpcStatus NodeTap::replay_connect() {
  const RecordView* r = take(RecordKind::WsConnect, {});
  if (r == nullptr) return RpcStatus::ConnectFailed;
  return static_cast<RpcStatus>(r->status);
}
RpcStatus NodeTap::replay_send(std::string_view text) {
  const RecordView* r = take(RecordKind::WsSend, text);
  if (r == nullptr) return RpcStatus::Closed;
  return static_cast<RpcStatus>(r->status);
}
RpcStatus NodeTap::replay_read(std::string& out) {
  const RecordView* r = take(RecordKind::WsRead, {});
  if (r == nullptr) {
    // Past the end: the node goes quiet (as a node would between messages) until the owner stops.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return RpcStatus::Timeout;
  }
  pace(*r);
  last_read_mono_ = mono_ns();
  out.assign(r->body_text());
  return static_cast<RpcStatus>(r->status);
}
RpcStatus NodeTap::replay_post(std::string_view request, std::string& out) {
  const RecordView* r = take(RecordKind::HttpPost, request);
  if (r == nullptr) return RpcStatus::Closed;
  out.assign(r->body_text());
  return static_cast<RpcStatus>(r->status);
}

}  // namespace torq::control
