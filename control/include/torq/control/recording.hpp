// torq/control/recording.hpp — the record/replay file of a node session (docs/record-replay.md):
// every transport step between the control plane and the node (WebSocket connect/send/read with
// its result and text, HTTP JSON-RPC request and response) with its wall-clock receive time, and
// the Protocol V2 frames the session produced, so a run can be replayed through the same code
// path byte for byte.
//
// Owns:
//   RecordWriter  appends records to a file: a buffered writer behind a mutex (several control
//                 threads may record; never a hot core), flushed when the buffer passes 64 KiB,
//                 200 ms after the last flush, and at flush()/close(). A kill -9 loses at most
//                 the unflushed records and leaves at most one torn record.
//   RecordReader  reads a whole file into memory, checks the header and every record's CRC32C;
//                 stops cleanly at a torn tail (Torn) or at a record whose checksum or layout is
//                 wrong (Corrupt, with its byte offset).
//   NodeTap       what an RpcClient holds (RpcOptions::tap, a plain pointer: a null check per
//                 transport call when recording is off). Recording mode writes each transport
//                 step to a RecordWriter; replay mode answers each step from the recorded ones,
//                 in order, and checks that every request sent equals the recorded one.
// Thread-safety: RecordWriter is thread-safe; RecordReader is immutable after open; a replaying
// NodeTap belongs to one thread (the session thread). Allocation: all of it allocates (control
// plane, start-up and session threads only).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace torq::control {

enum class RpcStatus : std::uint8_t;

inline constexpr std::array<char, 8> kRecordingMagic = {'T', 'O', 'R', 'Q', 'R', 'E', 'C', '1'};
inline constexpr std::uint32_t kRecordingVersion = 1;
inline constexpr std::size_t kRecordingHeaderSize = 48;   // fixed part; the metadata text follows
inline constexpr std::size_t kRecordPrefixSize = 8;       // u32 payload length, u32 CRC32C(payload)
inline constexpr std::size_t kRecordFixedSize = 16;       // kind, status, flags, aux length, time
inline constexpr std::uint32_t kMaxRecordPayload = 64u << 20;

enum class RecordKind : std::uint8_t {
  WsConnect = 1,   // status
  WsSend = 2,      // status; body = text sent
  WsRead = 3,      // status (Ok, Timeout, Closed…); body = the message text when Ok
  HttpPost = 4,    // status; aux = request body; body = response body
  // 5 reserved
  MdFrame = 16,    // a frame handed to the md sink; status 1 = accepted, 0 = refused (back pressure)
  Signal = 17,     // an ArbitrageSignal frame (replay output)
  Decision = 18,   // a DecisionRecord + signed raw transaction (replay output)
};
[[nodiscard]] const char* to_string(RecordKind k) noexcept;

struct RecordingHeader {
  std::uint32_t version = kRecordingVersion;
  std::uint64_t chain_id = 0;
  std::uint64_t config_fingerprint = 0;  // FNV-1a 64 of the metadata text (what the run was configured with)
  std::uint64_t created_unix_ns = 0;
  std::string meta;                      // JSON text: manifest and the settings replay needs
};

// One record as read (views into the reader's buffer) or to be written.
struct RecordView {
  RecordKind kind{};
  std::uint8_t status = 0;
  std::uint16_t flags = 0;
  std::uint64_t t_ns = 0;  // CLOCK_REALTIME ns when received / produced
  std::span<const std::byte> aux;
  std::span<const std::byte> body;
  [[nodiscard]] std::string_view aux_text() const noexcept {
    return {reinterpret_cast<const char*>(aux.data()), aux.size()};
  }
  [[nodiscard]] std::string_view body_text() const noexcept {
    return {reinterpret_cast<const char*>(body.data()), body.size()};
  }
};

[[nodiscard]] std::uint64_t fnv1a64(std::string_view s) noexcept;

// Serialises one record (prefix + payload) onto `out` (tests build torn/corrupt files with it).
void append_record(std::vector<std::byte>& out, const RecordView& r);
// Serialises the file header (fixed part + metadata).
void append_header(std::vector<std::byte>& out, const RecordingHeader& h);

class RecordWriter {
 public:
  // Creates/truncates `path` and writes the header. Throws std::runtime_error naming the path.
  static std::unique_ptr<RecordWriter> create(const std::string& path, RecordingHeader header);
  ~RecordWriter();  // close()
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  // Any thread. Buffered; a write error (or out of memory) is remembered (error()) and later
  // records are discarded. Never throws.
  void write(RecordKind kind, std::uint8_t status, std::uint64_t t_ns, std::span<const std::byte> aux,
             std::span<const std::byte> body) noexcept;
  void write_text(RecordKind kind, std::uint8_t status, std::uint64_t t_ns, std::string_view aux,
                  std::string_view body) noexcept {
    write(kind, status, t_ns, std::as_bytes(std::span<const char>(aux.data(), aux.size())),
          std::as_bytes(std::span<const char>(body.data(), body.size())));
  }
  void flush();
  void close();
  [[nodiscard]] std::uint64_t records() const;
  [[nodiscard]] std::uint64_t bytes() const;
  [[nodiscard]] std::string error() const;

 private:
  RecordWriter() = default;
  void flush_locked();
  mutable std::mutex mu_;
  int fd_ = -1;
  std::string path_;
  std::vector<std::byte> buf_;
  std::uint64_t records_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t last_flush_ns_ = 0;
  std::string error_;
};

enum class ReadStop : std::uint8_t { End = 0, Torn, Corrupt };
[[nodiscard]] const char* to_string(ReadStop s) noexcept;

class RecordReader {
 public:
  // Reads the file. Throws std::runtime_error (missing file, bad magic/version/header checksum).
  static RecordReader open(const std::string& path);
  // The same from bytes in memory (tests).
  static RecordReader from_bytes(std::vector<std::byte> bytes, const std::string& name = "<memory>");

  [[nodiscard]] const RecordingHeader& header() const noexcept { return header_; }
  // Every complete, checksummed record before the stop point, in file order.
  [[nodiscard]] const std::vector<RecordView>& records() const noexcept { return records_; }
  [[nodiscard]] ReadStop stop() const noexcept { return stop_; }
  [[nodiscard]] std::size_t stop_offset() const noexcept { return stop_offset_; }  // first byte not read
  [[nodiscard]] std::size_t size() const noexcept { return data_->size(); }

 private:
  std::shared_ptr<const std::vector<std::byte>> data_;
  RecordingHeader header_;
  std::vector<RecordView> records_;
  ReadStop stop_ = ReadStop::End;
  std::size_t stop_offset_ = 0;
};

// Wall clock (CLOCK_REALTIME ns), the clock of frame timestamps and record times.
[[nodiscard]] std::uint64_t recording_now_ns() noexcept;

// The tap on an RpcClient's transport (RpcOptions::tap). Not virtual: a mode switch.
class NodeTap {
 public:
  enum class Mode : std::uint8_t { Record, Replay };
  enum class Pace : std::uint8_t { Max, Recorded };

  // Record every transport step into `writer` (must outlive the tap).
  static std::unique_ptr<NodeTap> recorder(RecordWriter& writer);
  // Answer transport steps from `transport` (the WsConnect…WsClose records of a reading, in
  // order; the views must outlive the tap). Pace::Recorded sleeps so that each WebSocket message
  // is returned at its recorded offset from the first record.
  static std::unique_ptr<NodeTap> replayer(std::vector<RecordView> transport, Pace pace);

  [[nodiscard]] Mode mode() const noexcept { return mode_; }
  [[nodiscard]] bool replaying() const noexcept { return mode_ == Mode::Replay; }

  // ---- record mode (called by RpcClient after the real step) ----
  void on_connect(RpcStatus s);
  void on_send(RpcStatus s, std::string_view text);
  void on_read(RpcStatus s, std::string_view text);
  void on_post(RpcStatus s, std::string_view request, std::string_view response);

  // ---- replay mode (called by RpcClient instead of the real step) ----
  [[nodiscard]] RpcStatus replay_connect();
  [[nodiscard]] RpcStatus replay_send(std::string_view text);
  [[nodiscard]] RpcStatus replay_read(std::string& out);
  [[nodiscard]] RpcStatus replay_post(std::string_view request, std::string& out);

  // Replay: every recorded step has been served and the session asked for one more, i.e. it has
  // finished handling the last recorded message (any thread may poll this).
  [[nodiscard]] bool exhausted() const noexcept { return drained_.load(std::memory_order_acquire); }
  // Replay: CLOCK_MONOTONIC ns when the last WebSocket message was handed out (session thread).
  [[nodiscard]] std::uint64_t last_read_mono_ns() const noexcept { return last_read_mono_; }
  // Replay: steps whose kind or request text differed from the recording (0 = same code path).
  [[nodiscard]] std::uint64_t divergences() const noexcept { return divergences_; }
  [[nodiscard]] const std::string& first_divergence() const noexcept { return first_divergence_; }
  [[nodiscard]] std::size_t served() const noexcept { return next_; }

 private:
  NodeTap() = default;
  const RecordView* take(RecordKind kind, std::string_view request);
  void pace(const RecordView& r);
  Mode mode_ = Mode::Record;
  RecordWriter* writer_ = nullptr;
  std::vector<RecordView> transport_;
  std::size_t next_ = 0;
  Pace pace_ = Pace::Max;
  std::uint64_t first_t_ = 0;
  std::uint64_t start_mono_ = 0;
  std::uint64_t divergences_ = 0;
  std::uint64_t last_read_mono_ = 0;
  std::atomic<bool> drained_{false};
  std::string first_divergence_;
};

}  // namespace torq::control
