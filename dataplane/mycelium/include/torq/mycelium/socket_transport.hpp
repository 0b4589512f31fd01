// torq/mycelium/socket_transport.hpp — Mycelium endpoints over kernel sockets: Unix domain
// stream sockets and UDP/IPv4 (unicast and multicast).
//
// Owns: UdsPublisher/UdsSubscriber ("uds:<path>") and UdpPublisher/UdpSubscriber
// ("udp://a.b.c.d:port[?iface=..]"), each holding one non-blocking socket and buffers allocated
// once at open.
// UDS (reliable, ordered): the subscriber binds and listens at the path (replacing a stale socket
// file) and serves one publisher connection at a time; the publisher connects, and reconnects at
// most once per millisecond while disconnected. Frames go back to back on the stream; the
// subscriber reassembles them across partial reads in a preallocated buffer, validates each with
// protocol::parse_frame (a frame whose header is sane but whose body fails is counted in
// `malformed` and skipped; a header that cannot be framed — bad magic/version/domain/size —
// means the stream lost alignment: counted in `desyncs` and the connection is dropped). A publisher
// never splits a frame silently: a partial send keeps the remainder in a one-frame pending buffer
// that is flushed before anything else, and while it is pending try_publish reports would_block.
// UDP (unreliable, one frame per datagram): try_publish reports would_block when the socket
// buffer is full (EAGAIN/ENOBUFS) and never retries by itself; loss in flight is detected by
// sequence tracking downstream. The subscriber reads bursts with recvmmsg into preallocated
// buffers; datagrams that are truncated, carry anything but exactly one valid frame, or fail
// parse_frame are counted and dropped; kernel receive-buffer drops are read from SO_RXQ_OVFL
// (socket set-up and burst: udp_rx.hpp, shared with nic::KernelUdpRx).
// Thread-safety: each endpoint is used by one thread at a time. Allocation: open_* allocates and
// throws std::system_error on failure; try_publish/flush/poll are noexcept and allocation-free,
// one syscall per call (send/sendto, recv/recvmmsg), none while a buffered frame suffices.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "torq/mycelium/config.hpp"
#include "torq/mycelium/fd.hpp"
#include "torq/mycelium/types.hpp"
#include "torq/mycelium/udp_rx.hpp"
#include "torq/protocol/frame.hpp"

namespace torq::mycelium {

// Sockets cross a trust boundary: every frame must carry a verified CRC32C.
inline constexpr protocol::ParseOptions kUntrustedLink{.verify_checksum = true, .require_checksum = true};

// ---- Unix domain stream socket ---------------------------------------------------------------

class UdsPublisher {
 public:
  static constexpr TransportKind kKind = TransportKind::uds;
  static constexpr bool kReliable = true;

  UdsPublisher() noexcept = default;

  [[nodiscard]] PublishResult try_publish(std::span<const std::byte> frame) noexcept;
  // Sends the pending remainder of a partially sent frame. True when nothing is pending.
  [[nodiscard]] bool flush() noexcept;
  // Tries to connect now (start-up helper; try_publish also reconnects by itself).
  [[nodiscard]] bool connect() noexcept;
  [[nodiscard]] bool connected() const noexcept { return fd_.valid(); }
  [[nodiscard]] std::size_t max_frame_size() const noexcept { return protocol::kMaxFrameSize; }
  [[nodiscard]] const PublisherStats& stats() const noexcept { return stats_; }

 private:
  friend UdsPublisher open_uds_publisher(const TransportConfig& cfg);
  void disconnect() noexcept;

  Fd fd_;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  int sndbuf_ = 0;
  std::uint64_t next_connect_ns_ = 0;
  std::unique_ptr<std::byte[]> pending_;  // kMaxFrameSize bytes
  std::size_t pending_off_ = 0;
  std::size_t pending_len_ = 0;
  PublisherStats stats_{};
};

class UdsSubscriber {
 public:
  static constexpr TransportKind kKind = TransportKind::uds;
  static constexpr std::size_t kBufferBytes = 4 * protocol::kMaxFrameSize;

  UdsSubscriber() noexcept = default;
  ~UdsSubscriber();
  UdsSubscriber(UdsSubscriber&& o) noexcept;
  UdsSubscriber& operator=(UdsSubscriber&& o) noexcept;
  UdsSubscriber(const UdsSubscriber&) = delete;
  UdsSubscriber& operator=(const UdsSubscriber&) = delete;

  // Accepts a pending connection if none is open, reads once, and calls
  // handler(std::span<const std::byte> frame) for up to max_burst complete, valid frames (spans
  // valid only during the call). Returns the number delivered.
  template <class Handler>
  [[nodiscard]] std::size_t poll(Handler&& handler, std::size_t max_burst) noexcept {
    ++stats_.polls;
    std::size_t n = drain(handler, max_burst);
    if (n < max_burst) {
      if (!conn_.valid() && !accept_one()) return n;
      if (read_some()) n += drain(handler, max_burst - n);
    }
    return n;
  }

  [[nodiscard]] bool connected() const noexcept { return conn_.valid(); }
  [[nodiscard]] const SubscriberStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  friend UdsSubscriber open_uds_subscriber(const TransportConfig& cfg);
  bool accept_one() noexcept;
  bool read_some() noexcept;     // true if bytes arrived
  void drop_connection() noexcept;

  template <class Handler>
  std::size_t drain(Handler& handler, std::size_t max) noexcept {
    std::size_t n = 0;
    while (n < max && end_ - begin_ >= protocol::kHeaderSize) {
      protocol::FrameHeader h;
      std::memcpy(&h, buf_.get() + begin_, sizeof h);
      if (h.magic != protocol::kMagic || h.version != protocol::kVersion || !protocol::is_valid_domain(h.domain) ||
          h.payload_size > protocol::kMaxPayloadSize) [[unlikely]] {
        ++stats_.desyncs;
        drop_connection();
        return n;
      }
      const std::size_t total = protocol::kHeaderSize + h.payload_size;
      if (end_ - begin_ < total) break;
      const std::span<const std::byte> bytes(buf_.get() + begin_, total);
      begin_ += total;
      const protocol::ParseResult r = protocol::parse_frame(bytes, kUntrustedLink);
      if (r.ok()) [[likely]] {
        handler(bytes);
        ++n;
        ++stats_.received;
      } else {
        ++stats_.malformed;
      }
    }
    if (begin_ == end_) begin_ = end_ = 0;
    return n;
  }

  Fd listen_;
  Fd conn_;
  std::string path_;
  int rcvbuf_ = 0;
  std::unique_ptr<std::byte[]> buf_;  // kBufferBytes
  std::size_t begin_ = 0;             // first unconsumed byte
  std::size_t end_ = 0;               // one past the last received byte
  SubscriberStats stats_{};
};

// ---- UDP -------------------------------------------------------------------------------------

class UdpPublisher {
 public:
  static constexpr TransportKind kKind = TransportKind::udp;
  static constexpr bool kReliable = false;

  UdpPublisher() noexcept = default;

  [[nodiscard]] PublishResult try_publish(std::span<const std::byte> frame) noexcept;
  [[nodiscard]] bool flush() noexcept { return true; }
  [[nodiscard]] std::size_t max_frame_size() const noexcept { return protocol::kMaxFrameSize; }
  [[nodiscard]] const PublisherStats& stats() const noexcept { return stats_; }

 private:
  friend UdpPublisher open_udp_publisher(const TransportConfig& cfg);
  Fd fd_;
  sockaddr_in dest_{};
  PublisherStats stats_{};
};

class UdpSubscriber {
 public:
  static constexpr TransportKind kKind = TransportKind::udp;
  static constexpr std::size_t kSlotBytes = UdpRxBurst::kSlotBytes;  // > kMaxFrameSize: larger datagrams show as MSG_TRUNC

  UdpSubscriber() noexcept = default;

  // Receives up to min(max_burst, batch) datagrams with one recvmmsg and calls
  // handler(std::span<const std::byte> frame) for each valid one. Returns the number delivered.
  template <class Handler>
  [[nodiscard]] std::size_t poll(Handler&& handler, std::size_t max_burst) noexcept {
    ++stats_.polls;
    const int got = burst_.receive(fd_.get(), max_burst, stats_.errors, stats_.kernel_drops);
    std::size_t n = 0;
    for (int i = 0; i < got; ++i) {
      if (burst_.truncated(static_cast<std::size_t>(i))) [[unlikely]] {
        ++stats_.truncated;
        continue;
      }
      const std::span<const std::byte> bytes = burst_.datagram(static_cast<std::size_t>(i));
      const protocol::ParseResult r = protocol::parse_frame(bytes, kUntrustedLink);
      if (r.ok() && r.view.size() == bytes.size()) [[likely]] {
        handler(bytes);
        ++n;
      } else {
        ++stats_.malformed;
      }
    }
    stats_.received += n;
    return n;
  }

  [[nodiscard]] const SubscriberStats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }  // actual bound port

 private:
  friend UdpSubscriber open_udp_subscriber(const TransportConfig& cfg);

  Fd fd_;
  std::uint16_t port_ = 0;
  UdpRxBurst burst_;  // recvmmsg slots; reads SO_RXQ_OVFL
  SubscriberStats stats_{};
};

// Start-up. UDS publisher: a not-yet-listening path is fine (reconnects later). UDS subscriber:
// binds cfg.name (unlinking a stale socket file first). UDP subscriber: port 0 binds an
// ephemeral port (see port()). All throw std::system_error naming the step that failed.
[[nodiscard]] UdsPublisher open_uds_publisher(const TransportConfig& cfg);
[[nodiscard]] UdsSubscriber open_uds_subscriber(const TransportConfig& cfg);
[[nodiscard]] UdpPublisher open_udp_publisher(const TransportConfig& cfg);
[[nodiscard]] UdpSubscriber open_udp_subscriber(const TransportConfig& cfg);

}  // namespace torq::mycelium
