// Every Mycelium transport: frames arrive intact and in order; back pressure is reported (never
// silent loss on reliable transports); UDS framing across partial reads; malformed input counted
// and dropped; the config-chosen wrapper and the consumer loop.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>

#include "frames.hpp"
#include "torq/mycelium/transport.hpp"
#include "torq/mycelium/udp_rx.hpp"
#include "torq/ring/shm_segment.hpp"

namespace torq::mycelium {
namespace {

using test::frame_matches;
using test::make_frame;
using test::poll_rounds;
using test::poll_until;
using test::Received;

std::string unique(const char* stem) {
  static int n = 0;
  return std::string(stem) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

std::string uds_path() { return "/tmp/" + unique("torq-myc") + ".sock"; }

template <class Pub>
void publish_all(Pub& pub, std::uint8_t source, std::uint64_t first, std::uint64_t count, int extra = 0) {
  for (std::uint64_t s = first; s < first + count; ++s) {
    const auto f = make_frame(source, s, extra);
    ASSERT_EQ(pub.try_publish(f), PublishResult::ok) << "seq " << s;
  }
}

void expect_in_order(const Received& rx, std::uint8_t source, std::uint64_t first, std::uint64_t count) {
  ASSERT_EQ(rx.frames.size(), count);
  for (std::uint64_t i = 0; i < count; ++i) {
    EXPECT_TRUE(frame_matches(rx.frames[i], source, first + i)) << "frame " << i;
  }
}

// ---- inproc ----------------------------------------------------------------------------------

TEST(InprocTransport, ShouldDeliverFramesIntactAndInOrder) {
  const auto cfg = parse_transport_config("inproc:" + unique("md") + "?capacity=65536");
  auto sub = open_inproc_subscriber(cfg);
  auto pub = open_inproc_publisher(cfg);
  publish_all(pub, 7, 1, 100, 2);
  Received rx;
  poll_until(sub, rx, 100);
  expect_in_order(rx, 7, 1, 100);
  EXPECT_EQ(sub.stats().received, 100u);
  EXPECT_EQ(pub.stats().published, 100u);
}

TEST(InprocTransport, ShouldReportWouldBlockWhenFullAndLoseNothing) {
  const auto cfg = parse_transport_config("inproc:" + unique("bp") + "?capacity=4096");
  auto pub = open_inproc_publisher(cfg);
  auto sub = open_inproc_subscriber(cfg);
  std::uint64_t accepted = 0;
  PublishResult last = PublishResult::ok;
  for (std::uint64_t s = 1; s <= 1000 && last == PublishResult::ok; ++s) {
    last = pub.try_publish(make_frame(1, s));
    if (last == PublishResult::ok) ++accepted;
  }
  ASSERT_EQ(last, PublishResult::would_block);
  EXPECT_GT(accepted, 5u);
  EXPECT_EQ(pub.stats().would_block, 1u);
  // Drain, then the refused frame goes through: the stream has no hole.
  Received rx;
  poll_until(sub, rx, accepted);
  ASSERT_EQ(pub.try_publish(make_frame(1, accepted + 1)), PublishResult::ok);
  poll_until(sub, rx, accepted + 1);
  expect_in_order(rx, 1, 1, accepted + 1);
}

// torqd's operator surface reads ring fill from the shared control block (region().stats()) on
// its own thread: both ends must report the queued bytes, and a drained ring reads empty.
TEST(InprocTransport, ShouldReportQueuedBytesAndFullRefusalsThroughTheRegion) {
  const auto cfg = parse_transport_config("inproc:" + unique("fill") + "?capacity=4096");
  auto pub = open_inproc_publisher(cfg);
  auto sub = open_inproc_subscriber(cfg);
  EXPECT_EQ(pub.region().stats().used_bytes(), 0u);
  EXPECT_EQ(pub.region().stats().capacity, 4096u);
  std::uint64_t accepted = 0;
  while (pub.try_publish(make_frame(1, accepted + 1)) == PublishResult::ok) ++accepted;
  const auto full = sub.region().stats();
  EXPECT_GT(full.used_bytes() * 100 / full.capacity, 90u) << full.used_bytes();
  EXPECT_EQ(full.rejected_full, 1u);
  EXPECT_EQ(pub.region().stats().used_bytes(), full.used_bytes());
  Received rx;
  poll_until(sub, rx, accepted);
  EXPECT_EQ(pub.region().stats().used_bytes(), 0u);
}

TEST(InprocTransport, ShouldRejectOversizeFrameAsTooLarge) {
  const auto cfg = parse_transport_config("inproc:" + unique("big") + "?capacity=4096");
  auto pub = open_inproc_publisher(cfg);
  const auto f = make_frame(1, 1, 40);  // > capacity / 2
  ASSERT_GT(f.size(), pub.max_frame_size());
  EXPECT_EQ(pub.try_publish(f), PublishResult::too_large);
  EXPECT_EQ(pub.stats().too_large, 1u);
}

TEST(InprocTransport, ShouldRefuseASecondPublisherOnTheSameName) {
  const auto cfg = parse_transport_config("inproc:" + unique("dup"));
  auto pub = open_inproc_publisher(cfg);
  EXPECT_THROW((void)open_inproc_publisher(cfg), std::runtime_error);
}

// ---- shm across processes ----------------------------------------------------------------------

TEST(ShmTransport, ShouldDeliverFramesFromAnotherProcessIntactAndInOrder) {
  const std::string name = unique("torq-myc-shm");
  const auto cfg = parse_transport_config("shm:/" + name + "?capacity=16384&unlink=1");
  auto sub = open_shm_subscriber(cfg);
  constexpr std::uint64_t kCount = 5000;  // several ring wraps, with back pressure on the child
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int rc = 0;
    try {
      auto pub = open_shm_publisher(parse_transport_config("shm:/" + name + "?capacity=16384"));
      for (std::uint64_t s = 1; s <= kCount; ++s) {
        const auto f = make_frame(3, s, static_cast<int>(s % 4));
        while (pub.try_publish(f) == PublishResult::would_block) std::this_thread::yield();
      }
    } catch (...) {
      rc = 3;
    }
    ::_exit(rc);
  }
  Received rx;
  poll_until(sub, rx, kCount);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  expect_in_order(rx, 3, 1, kCount);
  ring::ShmSegment::remove(name);
}

// ---- UDS -------------------------------------------------------------------------------------

TEST(UdsTransport, ShouldDeliverFramesIntactAndInOrder) {
  const auto cfg = parse_transport_config("uds:" + uds_path());
  auto sub = open_uds_subscriber(cfg);
  auto pub = open_uds_publisher(cfg);
  ASSERT_TRUE(pub.connected());
  Received rx;
  for (std::uint64_t s = 1; s <= 200; ++s) {
    ASSERT_EQ(pub.try_publish(make_frame(2, s, 3)), PublishResult::ok);
    (void)sub.poll(rx, 64);
  }
  poll_until(sub, rx, 200);
  expect_in_order(rx, 2, 1, 200);
  EXPECT_EQ(sub.stats().accepts, 1u);
}

TEST(UdsTransport, ShouldReportNotConnectedUntilTheSubscriberListens) {
  const auto cfg = parse_transport_config("uds:" + uds_path());
  auto pub = open_uds_publisher(cfg);
  EXPECT_FALSE(pub.connected());
  EXPECT_EQ(pub.try_publish(make_frame(1, 1)), PublishResult::not_connected);
  auto sub = open_uds_subscriber(cfg);
  ASSERT_TRUE(pub.connect());
  ASSERT_EQ(pub.try_publish(make_frame(1, 1)), PublishResult::ok);
  Received rx;
  poll_until(sub, rx, 1);
  expect_in_order(rx, 1, 1, 1);
  EXPECT_EQ(pub.stats().not_connected, 1u);
}

TEST(UdsTransport, ShouldReportWouldBlockWhenTheSocketIsFullAndLoseNothingAccepted) {
  auto cfg = parse_transport_config("uds:" + uds_path() + "?sndbuf=4096&rcvbuf=4096");
  auto sub = open_uds_subscriber(cfg);
  auto pub = open_uds_publisher(cfg);
  Received rx;
  (void)sub.poll(rx, 1);  // accept
  std::uint64_t accepted = 0;
  int blocked = 0;
  for (std::uint64_t s = 1; s <= 100000 && blocked == 0; ++s) {
    const auto r = pub.try_publish(make_frame(4, s, 2));
    if (r == PublishResult::ok) ++accepted;
    else if (r == PublishResult::would_block) ++blocked;
    else FAIL() << to_string(r);
  }
  ASSERT_EQ(blocked, 1) << "socket never filled";
  EXPECT_EQ(pub.stats().would_block, 1u);
  // Every accepted frame (including one that was only partly written) arrives, in order.
  for (int i = 0; i < 1000 && rx.frames.size() < accepted; ++i) {
    (void)pub.flush();
    (void)sub.poll(rx, 64);
  }
  expect_in_order(rx, 4, 1, accepted);
  EXPECT_EQ(sub.stats().malformed, 0u);
}

TEST(UdsTransport, ShouldReportTheBrokenLinkAndReconnectWhenTheSubscriberComesBack) {
  const auto cfg = parse_transport_config("uds:" + uds_path());
  auto pub = open_uds_publisher(cfg);
  {
    auto sub = open_uds_subscriber(cfg);
    ASSERT_TRUE(pub.connect());
    ASSERT_EQ(pub.try_publish(make_frame(1, 1)), PublishResult::ok);
    Received rx;
    poll_until(sub, rx, 1);
    ASSERT_EQ(rx.frames.size(), 1u);
  }  // the subscriber process "dies"
  const auto r = pub.try_publish(make_frame(1, 2));
  EXPECT_TRUE(r == PublishResult::error || r == PublishResult::not_connected) << to_string(r);
  EXPECT_FALSE(pub.connected());
  auto sub = open_uds_subscriber(cfg);
  PublishResult again = PublishResult::not_connected;
  for (int i = 0; i < 5000 && again != PublishResult::ok; ++i) {
    again = pub.try_publish(make_frame(1, 2));
    if (again != PublishResult::ok) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  ASSERT_EQ(again, PublishResult::ok);
  Received rx;
  poll_until(sub, rx, 1);
  expect_in_order(rx, 1, 2, 1);
  EXPECT_EQ(pub.stats().reconnects, 2u);
}

// Writes raw bytes to a UDS path, as a publisher that fragments frames arbitrarily would.
class RawUdsClient {
 public:
  explicit RawUdsClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.data(), path.size());
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::system_error(errno, std::generic_category());
  }
  ~RawUdsClient() { ::close(fd_); }
  void write(std::span<const std::byte> b) {
    ASSERT_EQ(::send(fd_, b.data(), b.size(), MSG_NOSIGNAL), static_cast<ssize_t>(b.size()));
  }

 private:
  int fd_ = -1;
};

TEST(UdsTransport, ShouldReassembleFramesSplitAcrossPartialReads) {
  const std::string path = uds_path();
  auto sub = open_uds_subscriber(parse_transport_config("uds:" + path));
  RawUdsClient raw(path);
  std::vector<std::byte> stream;
  for (std::uint64_t s = 1; s <= 20; ++s) {
    const auto f = make_frame(5, s, static_cast<int>(s % 3));
    stream.insert(stream.end(), f.begin(), f.end());
  }
  Received rx;
  // Chunks of 1, 2, 3, ... 13 bytes, polling after each, so headers and payloads split everywhere.
  std::size_t off = 0;
  for (std::size_t chunk = 1; off < stream.size(); chunk = chunk % 13 + 1) {
    const std::size_t n = std::min(chunk, stream.size() - off);
    raw.write(std::span<const std::byte>(stream).subspan(off, n));
    off += n;
    (void)sub.poll(rx, 64);
  }
  poll_until(sub, rx, 20);
  expect_in_order(rx, 5, 1, 20);
  EXPECT_EQ(sub.stats().malformed, 0u);
}

TEST(UdsTransport, ShouldCountAndSkipACorruptFrameAndKeepTheStream) {
  const std::string path = uds_path();
  auto sub = open_uds_subscriber(parse_transport_config("uds:" + path));
  RawUdsClient raw(path);
  auto good1 = make_frame(6, 1);
  auto bad = make_frame(6, 2);
  bad.back() ^= std::byte{0x01};  // checksum mismatch, header still frames correctly
  auto good3 = make_frame(6, 3);
  raw.write(good1);
  raw.write(bad);
  raw.write(good3);
  Received rx;
  poll_until(sub, rx, 2);
  ASSERT_EQ(rx.frames.size(), 2u);
  EXPECT_TRUE(frame_matches(rx.frames[0], 6, 1));
  EXPECT_TRUE(frame_matches(rx.frames[1], 6, 3));
  EXPECT_EQ(sub.stats().malformed, 1u);
  EXPECT_EQ(sub.stats().desyncs, 0u);
}

TEST(UdsTransport, ShouldDropTheConnectionWhenTheStreamLosesFrameAlignment) {
  const std::string path = uds_path();
  auto sub = open_uds_subscriber(parse_transport_config("uds:" + path));
  {
    RawUdsClient raw(path);
    raw.write(make_frame(6, 1));
    std::vector<std::byte> junk(40, std::byte{0x5A});
    raw.write(junk);
    Received rx;
    poll_until(sub, rx, 1);
    poll_rounds(sub, rx, 5);
    ASSERT_EQ(rx.frames.size(), 1u);
    EXPECT_EQ(sub.stats().desyncs, 1u);
    EXPECT_FALSE(sub.connected());
  }
  // A new publisher is served afterwards.
  auto pub = open_uds_publisher(parse_transport_config("uds:" + path));
  ASSERT_EQ(pub.try_publish(make_frame(6, 9)), PublishResult::ok);
  Received rx;
  poll_until(sub, rx, 1);
  expect_in_order(rx, 6, 9, 1);
}

// ---- UDP -------------------------------------------------------------------------------------

TEST(UdpTransport, ShouldDeliverDatagramsIntactAndInOrderOverLoopback) {
  auto sub = open_udp_subscriber(parse_transport_config("udp://127.0.0.1:0"));
  auto pub = open_udp_publisher(parse_transport_config("udp://127.0.0.1:" + std::to_string(sub.port())));
  Received rx;
  for (std::uint64_t s = 1; s <= 200; ++s) {
    ASSERT_EQ(pub.try_publish(make_frame(8, s, 1)), PublishResult::ok);
    (void)sub.poll(rx, 64);
  }
  poll_until(sub, rx, 200);
  expect_in_order(rx, 8, 1, 200);
  EXPECT_EQ(sub.stats().kernel_drops, 0u);
}

TEST(UdpTransport, ShouldCountDatagramsTheKernelDroppedWhenTheReceiverLags) {
  auto sub = open_udp_subscriber(parse_transport_config("udp://127.0.0.1:0?rcvbuf=4096"));
  auto pub = open_udp_publisher(parse_transport_config("udp://127.0.0.1:" + std::to_string(sub.port())));
  constexpr std::uint64_t kSent = 500;
  for (std::uint64_t s = 1; s <= kSent; ++s) ASSERT_EQ(pub.try_publish(make_frame(8, s)), PublishResult::ok);
  Received rx;
  poll_rounds(sub, rx, 20);
  ASSERT_LT(rx.frames.size(), kSent) << "a 4 KiB receive buffer held every datagram";
  // The loss is not silent: the kernel stamps each queued datagram with the socket's drop count
  // so far, so the next datagram that gets through reports every earlier drop.
  ASSERT_EQ(pub.try_publish(make_frame(8, kSent + 1)), PublishResult::ok);
  const std::size_t before = rx.frames.size();
  poll_until(sub, rx, before + 1);
  ASSERT_EQ(rx.frames.size(), before + 1);
  EXPECT_TRUE(frame_matches(rx.frames.back(), 8, kSent + 1));
  EXPECT_EQ(rx.frames.size() + sub.stats().kernel_drops, kSent + 1);
}

class RawUdpSender {
 public:
  explicit RawUdpSender(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    to_.sin_family = AF_INET;
    to_.sin_port = htons(port);
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~RawUdpSender() { ::close(fd_); }
  void send(std::span<const std::byte> b) {
    ASSERT_EQ(::sendto(fd_, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&to_), sizeof to_),
              static_cast<ssize_t>(b.size()));
  }

 private:
  int fd_ = -1;
  sockaddr_in to_{};
};

TEST(UdpTransport, ShouldCountAndDropMalformedDatagrams) {
  auto sub = open_udp_subscriber(parse_transport_config("udp://127.0.0.1:0?batch=4"));
  RawUdpSender raw(sub.port());
  auto bad_crc = make_frame(9, 2);
  bad_crc[40] ^= std::byte{0x10};
  const auto f3 = make_frame(9, 3);
  std::vector<std::byte> two(f3.begin(), f3.end());
  const auto f4 = make_frame(9, 4);
  two.insert(two.end(), f4.begin(), f4.end());  // two frames in one datagram: not allowed
  const auto full = make_frame(9, 5);
  const std::vector<std::byte> cut(full.begin(), full.end() - 10);
  const std::vector<std::byte> junk(100, std::byte{0x33});

  raw.send(make_frame(9, 1));
  raw.send(bad_crc);
  raw.send(two);
  raw.send(cut);
  raw.send(junk);
  raw.send(make_frame(9, 6));
  Received rx;
  poll_until(sub, rx, 2);
  poll_rounds(sub, rx, 3);
  ASSERT_EQ(rx.frames.size(), 2u);
  EXPECT_TRUE(frame_matches(rx.frames[0], 9, 1));
  EXPECT_TRUE(frame_matches(rx.frames[1], 9, 6));
  EXPECT_EQ(sub.stats().malformed, 4u);
}

TEST(UdpTransport, ShouldRejectFramesLargerThanADatagramAsTooLarge) {
  auto pub = open_udp_publisher(parse_transport_config("udp://127.0.0.1:9"));
  std::vector<std::byte> huge(protocol::kMaxFrameSize + 1);
  EXPECT_EQ(pub.try_publish(huge), PublishResult::too_large);
  EXPECT_EQ(pub.try_publish({}), PublishResult::too_large);
  EXPECT_EQ(pub.stats().too_large, 2u);
}

TEST(UdpTransport, ShouldDeliverMulticastOnLoopbackWhenTheHostAllowsIt) {
  const std::uint16_t port = static_cast<std::uint16_t>(20000 + ::getpid() % 20000);
  const std::string url = "udp://239.255.77.1:" + std::to_string(port) + "?iface=lo";
  std::optional<UdpSubscriber> sub;
  try {
    sub.emplace(open_udp_subscriber(parse_transport_config(url)));
  } catch (const std::system_error& e) {
    GTEST_SKIP() << "multicast join on lo not possible here: " << e.what();
  }
  auto pub = open_udp_publisher(parse_transport_config(url));
  const auto r = pub.try_publish(make_frame(1, 1));
  if (r == PublishResult::error) GTEST_SKIP() << "multicast send on lo not possible here";
  publish_all(pub, 1, 2, 9);
  Received rx;
  poll_until(*sub, rx, 10);
  if (rx.frames.empty()) GTEST_SKIP() << "lo does not loop multicast back on this host";
  expect_in_order(rx, 1, 1, 10);
}

// ---- the UDP receive side shared with nic::KernelUdpRx (udp_rx.hpp) -------------------------

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

TEST(UdpRx, ShouldBindNonBlockingAndReportTheEphemeralPort) {
  UdpRxSpec spec;
  spec.bind_addr = loopback(0);
  std::uint16_t port = 0;
  const Fd fd = open_udp_rx_socket(spec, "test: ", port);
  ASSERT_TRUE(fd.valid());
  ASSERT_NE(port, 0);
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ASSERT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len), 0);
  EXPECT_EQ(ntohs(bound.sin_port), port);
  EXPECT_NE(::fcntl(fd.get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(UdpRx, ShouldNameTheFailedStepAfterThePrefixWhenBindFails) {
  UdpRxSpec spec;
  spec.bind_addr = loopback(0);
  spec.bind_addr.sin_addr.s_addr = htonl(0xC0000201);  // 192.0.2.1 (TEST-NET-1): not a local address
  std::uint16_t port = 0;
  try {
    (void)open_udp_rx_socket(spec, "who: ", port);
    FAIL() << "bind to a non-local address succeeded";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRNOTAVAIL);
    EXPECT_EQ(std::string(e.what()).rfind("who: bind", 0), 0U) << e.what();
  }
}

TEST(UdpRx, ShouldReceiveADatagramIntactAndCountErrorsWithoutThrowing) {
  UdpRxSpec spec;
  spec.bind_addr = loopback(0);
  std::uint16_t port = 0;
  const Fd fd = open_udp_rx_socket(spec, "", port);
  UdpRxBurst burst(4);
  RawUdpSender raw(port);
  const auto f1 = make_frame(1, 1);
  raw.send(f1);
  std::uint64_t errors = 0;
  std::uint64_t drops = 0;
  EXPECT_EQ(burst.receive(fd.get(), 0, errors, drops), 0);
  int got = 0;
  for (int i = 0; i < 1000 && got == 0; ++i) got = burst.receive(fd.get(), 8, errors, drops);
  ASSERT_GE(got, 1);
  EXPECT_FALSE(burst.truncated(0));
  EXPECT_TRUE(std::equal(burst.datagram(0).begin(), burst.datagram(0).end(), f1.begin(), f1.end()));
  EXPECT_EQ(errors, 0U);
  EXPECT_EQ(burst.receive(-1, 8, errors, drops), 0);  // EBADF: counted, not thrown
  EXPECT_EQ(errors, 1U);
}

// ---- the config-chosen wrapper and the consumer loop --------------------------------------------

TEST(Transport, ShouldOpenTheTransportNamedByTheConfigString) {
  const std::string path = uds_path();
  for (const std::string& url : std::vector<std::string>{"inproc:" + unique("w"),
                                                         "shm:/" + unique("torq-myc-w") + "?capacity=65536&unlink=1",
                                                         "uds:" + path, "udp://127.0.0.1:0"}) {
    SCOPED_TRACE(url);
    auto sub = Subscriber::open(url);
    EXPECT_EQ(sub.kind(), parse_transport_config(url).kind);
    // UDP: the subscriber bound an ephemeral port; the concrete type tells which (one visit).
    const std::uint16_t port = sub.visit([](auto& s) -> std::uint16_t {
      if constexpr (std::is_same_v<std::decay_t<decltype(s)>, UdpSubscriber>) {
        return s.port();
      } else {
        return 0;
      }
    });
    auto pub = Publisher::open(sub.kind() == TransportKind::udp ? "udp://127.0.0.1:" + std::to_string(port) : url);
    EXPECT_EQ(pub.kind(), sub.kind());
    EXPECT_EQ(pub.reliable(), sub.kind() != TransportKind::udp);
    publish_all(pub, 1, 1, 10);
    Received rx;
    poll_until(sub, rx, 10);
    expect_in_order(rx, 1, 1, 10);
  }
}

TEST(Transport, ShouldRunTheConsumerLoopOnTheConcreteTransportUntilStopped) {
  const std::string url = "inproc:" + unique("loop");
  auto sub = Subscriber::open(url);
  auto pub = Publisher::open(url);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> seen{0};
  std::uint64_t total = 0;
  std::thread t([&] {
    BackoffIdle idle;
    total = run_consumer(
        sub,
        [&](std::span<const std::byte> f) {
          if (frame_matches(f, 1, seen.load() + 1)) seen.fetch_add(1);
        },
        idle, stop);
  });
  for (std::uint64_t s = 1; s <= 1000; ++s) {
    const auto f = make_frame(1, s);
    while (pub.try_publish(f) != PublishResult::ok) std::this_thread::yield();
  }
  const auto guard = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (seen.load() < 1000 && std::chrono::steady_clock::now() < guard) std::this_thread::yield();
  stop.store(true);
  t.join();
  EXPECT_EQ(total, 1000u);
  EXPECT_EQ(seen.load(), 1000u);
}

}  // namespace
}  // namespace torq::mycelium
