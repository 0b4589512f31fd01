// Kernel-socket transports (UDS stream, UDP). See socket_transport.hpp.
#include "torq/mycelium/socket_transport.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

namespace torq::mycelium {
namespace {

constexpr std::uint64_t kReconnectIntervalNs = 1'000'000;

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), "mycelium: " + what);
}

std::uint64_t mono_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

void set_buffer(int fd, int opt, int bytes, const std::string& cfg) {
  if (bytes <= 0) return;
  if (::setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes) != 0) {
    throw_errno(errno, cfg + ": setsockopt(" + (opt == SO_SNDBUF ? "SO_SNDBUF" : "SO_RCVBUF") + ")");
  }
}

sockaddr_un uds_address(const std::string& path, socklen_t& len) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), std::min(path.size(), sizeof(a.sun_path) - 1));
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return a;
}

sockaddr_in ipv4_address(const std::string& address, std::uint16_t port, const std::string& cfg) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1) throw_errno(EINVAL, cfg + ": bad IPv4 address");
  return a;
}

int interface_index(const TransportConfig& cfg) {
  if (cfg.interface.empty()) return 0;
  const unsigned idx = ::if_nametoindex(cfg.interface.c_str());
  if (idx == 0) throw_errno(errno != 0 ? errno : ENODEV, cfg.to_string() + ": no interface '" + cfg.interface + "'");
  return static_cast<int>(idx);
}

}  // namespace

void Fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

// ---- UDS publisher ---------------------------------------------------------------------------

UdsPublisher open_uds_publisher(const TransportConfig& cfg) {
  UdsPublisher p;
  auto a = uds_address(cfg.name, p.addr_len_);
  std::memcpy(&p.addr_, &a, sizeof a);
  p.sndbuf_ = cfg.sndbuf;
  p.pending_ = std::make_unique<std::byte[]>(protocol::kMaxFrameSize);
  (void)p.connect();  // a subscriber that is not up yet is not an error
  return p;
}

bool UdsPublisher::connect() noexcept {
  if (fd_.valid()) return true;
  next_connect_ns_ = mono_ns() + kReconnectIntervalNs;
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    ++stats_.errors;
    return false;
  }
  if (sndbuf_ > 0) (void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf_, sizeof sndbuf_);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr_), addr_len_) != 0) {
    // AF_UNIX stream connects complete at once or fail (ENOENT, ECONNREFUSED, EAGAIN: backlog full).
    return false;
  }
  fd_ = std::move(fd);
  pending_off_ = pending_len_ = 0;
  ++stats_.reconnects;
  return true;
}

void UdsPublisher::disconnect() noexcept {
  fd_.reset();
  pending_off_ = pending_len_ = 0;  // a partial frame cannot be completed on a new stream
  next_connect_ns_ = 0;
}

bool UdsPublisher::flush() noexcept {
  while (pending_len_ > 0) {
    const ssize_t r = ::send(fd_.get(), pending_.get() + pending_off_, pending_len_, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r > 0) {
      pending_off_ += static_cast<std::size_t>(r);
      pending_len_ -= static_cast<std::size_t>(r);
      continue;
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
    ++stats_.errors;
    disconnect();
    return false;
  }
  pending_off_ = 0;
  return true;
}

PublishResult UdsPublisher::try_publish(std::span<const std::byte> frame) noexcept {
  if (frame.empty() || frame.size() > protocol::kMaxFrameSize) [[unlikely]] {
    ++stats_.too_large;
    return PublishResult::too_large;
  }
  if (!fd_.valid()) [[unlikely]] {
    if (mono_ns() < next_connect_ns_ || !connect()) {
      ++stats_.not_connected;
      return PublishResult::not_connected;
    }
  }
  if (pending_len_ > 0) [[unlikely]] {
    if (!flush()) {
      if (!fd_.valid()) return PublishResult::error;
      ++stats_.would_block;
      return PublishResult::would_block;
    }
  }
  const ssize_t r = ::send(fd_.get(), frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (r == static_cast<ssize_t>(frame.size())) [[likely]] {
    ++stats_.published;
    return PublishResult::ok;
  }
  if (r >= 0) {  // partial: keep the rest, the frame is accepted and will be completed first
    const auto sent = static_cast<std::size_t>(r);
    std::memcpy(pending_.get(), frame.data() + sent, frame.size() - sent);
    pending_off_ = 0;
    pending_len_ = frame.size() - sent;
    ++stats_.published;
    return PublishResult::ok;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    ++stats_.would_block;
    return PublishResult::would_block;
  }
  ++stats_.errors;
  disconnect();
  return PublishResult::error;
}

// ---- UDS subscriber --------------------------------------------------------------------------

UdsSubscriber open_uds_subscriber(const TransportConfig& cfg) {
  UdsSubscriber s;
  const std::string where = cfg.to_string();
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throw_errno(errno, where + ": socket(AF_UNIX)");
  ::unlink(cfg.name.c_str());  // a stale socket file from a previous run
  socklen_t len = 0;
  const sockaddr_un a = uds_address(cfg.name, len);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), len) != 0) throw_errno(errno, where + ": bind");
  if (::listen(fd.get(), 4) != 0) throw_errno(errno, where + ": listen");
  s.listen_ = std::move(fd);
  s.path_ = cfg.name;
  s.rcvbuf_ = cfg.rcvbuf;
  s.buf_ = std::make_unique<std::byte[]>(UdsSubscriber::kBufferBytes);
  return s;
}

UdsSubscriber::~UdsSubscriber() {
  if (listen_.valid() && !path_.empty()) ::unlink(path_.c_str());
}

UdsSubscriber::UdsSubscriber(UdsSubscriber&& o) noexcept { *this = std::move(o); }

UdsSubscriber& UdsSubscriber::operator=(UdsSubscriber&& o) noexcept {
  if (this != &o) {
    if (listen_.valid() && !path_.empty()) ::unlink(path_.c_str());
    listen_ = std::move(o.listen_);
    conn_ = std::move(o.conn_);
    path_ = std::move(o.path_);
    o.path_.clear();
    rcvbuf_ = o.rcvbuf_;
    buf_ = std::move(o.buf_);
    begin_ = std::exchange(o.begin_, 0);
    end_ = std::exchange(o.end_, 0);
    stats_ = o.stats_;
  }
  return *this;
}

bool UdsSubscriber::accept_one() noexcept {
  const int c = ::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++stats_.errors;
    return false;
  }
  conn_ = Fd(c);
  if (rcvbuf_ > 0) (void)::setsockopt(c, SOL_SOCKET, SO_RCVBUF, &rcvbuf_, sizeof rcvbuf_);
  begin_ = end_ = 0;
  ++stats_.accepts;
  return true;
}

void UdsSubscriber::drop_connection() noexcept {
  if (end_ != begin_) ++stats_.malformed;  // a partial frame that can never complete
  conn_.reset();
  begin_ = end_ = 0;
}

bool UdsSubscriber::read_some() noexcept {
  if (kBufferBytes - end_ < protocol::kMaxFrameSize && begin_ > 0) {  // room for one full frame
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  const ssize_t r = ::recv(conn_.get(), buf_.get() + end_, kBufferBytes - end_, MSG_DONTWAIT);
  if (r > 0) {
    end_ += static_cast<std::size_t>(r);
    return true;
  }
  if (r == 0) {
    ++stats_.disconnects;
    drop_connection();
    return false;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return false;
  ++stats_.errors;
  ++stats_.disconnects;
  drop_connection();
  return false;
}

// ---- UDP -------------------------------------------------------------------------------------

UdpPublisher open_udp_publisher(const TransportConfig& cfg) {
  const std::string where = cfg.to_string();
  if (cfg.port == 0) throw_errno(EINVAL, where + ": a UDP publisher needs a destination port");
  UdpPublisher p;
  p.dest_ = ipv4_address(cfg.address, cfg.port, where);
  Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throw_errno(errno, where + ": socket(AF_INET, SOCK_DGRAM)");
  set_buffer(fd.get(), SO_SNDBUF, cfg.sndbuf, where);
  if (cfg.multicast()) {
    ip_mreqn m{};
    m.imr_ifindex = interface_index(cfg);
    if (::setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) != 0) throw_errno(errno, where + ": IP_MULTICAST_IF");
    const int ttl = cfg.ttl;
    if (::setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0) throw_errno(errno, where + ": IP_MULTICAST_TTL");
    const int loop = cfg.multicast_loop ? 1 : 0;
    if (::setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0) throw_errno(errno, where + ": IP_MULTICAST_LOOP");
  }
  p.fd_ = std::move(fd);
  return p;
}

PublishResult UdpPublisher::try_publish(std::span<const std::byte> frame) noexcept {
  if (frame.empty() || frame.size() > protocol::kMaxFrameSize) [[unlikely]] {
    ++stats_.too_large;
    return PublishResult::too_large;
  }
  const ssize_t r = ::sendto(fd_.get(), frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&dest_), sizeof dest_);
  if (r == static_cast<ssize_t>(frame.size())) [[likely]] {
    ++stats_.published;
    return PublishResult::ok;
  }
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR)) {
    ++stats_.would_block;
    return PublishResult::would_block;
  }
  ++stats_.errors;
  return PublishResult::error;
}

UdpSubscriber open_udp_subscriber(const TransportConfig& cfg) {
  const std::string where = cfg.to_string();
  UdpRxSpec spec;
  spec.bind_addr = ipv4_address(cfg.address, cfg.port, where);  // multicast: bind the group address
  spec.rcvbuf = cfg.rcvbuf;
  if (cfg.multicast()) spec.join_ifindex = interface_index(cfg);  // imr_address stays INADDR_ANY
  UdpSubscriber s;
  s.fd_ = open_udp_rx_socket(spec, "mycelium: " + where + ": ", s.port_);
  s.burst_ = UdpRxBurst(static_cast<std::size_t>(std::clamp(cfg.batch, 1, 256)));
  return s;
}

}  // namespace torq::mycelium
