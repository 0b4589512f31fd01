// TransportConfig parsing: every scheme, options, round trip, and errors that name the problem.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "torq/mycelium/config.hpp"

namespace torq::mycelium {
namespace {

TEST(TransportConfig, ShouldParseEveryScheme) {
  const auto a = parse_transport_config("inproc:md");
  EXPECT_EQ(a.kind, TransportKind::inproc);
  EXPECT_EQ(a.name, "md");
  EXPECT_EQ(a.capacity, kDefaultRingCapacity);

  const auto b = parse_transport_config("shm:/torq-md?capacity=65536&hugepages=1&unlink=1");
  EXPECT_EQ(b.kind, TransportKind::shm);
  EXPECT_EQ(b.name, "torq-md");
  EXPECT_EQ(b.capacity, 65536u);
  EXPECT_TRUE(b.hugepages);
  EXPECT_TRUE(b.unlink_on_close);

  const auto c = parse_transport_config("uds:/run/torq.sock");
  EXPECT_EQ(c.kind, TransportKind::uds);
  EXPECT_EQ(c.name, "/run/torq.sock");

  const auto d = parse_transport_config("udp://127.0.0.1:9000");
  EXPECT_EQ(d.kind, TransportKind::udp);
  EXPECT_EQ(d.address, "127.0.0.1");
  EXPECT_EQ(d.port, 9000);
  EXPECT_FALSE(d.multicast());

  const auto e = parse_transport_config("udp://239.1.1.1:9000?iface=lo&ttl=4&loop=0&batch=8");
  EXPECT_TRUE(e.multicast());
  EXPECT_EQ(e.interface, "lo");
  EXPECT_EQ(e.ttl, 4);
  EXPECT_FALSE(e.multicast_loop);
  EXPECT_EQ(e.batch, 8);
}

TEST(TransportConfig, ShouldRoundTripThroughToString) {
  for (const char* s : {"inproc:md", "inproc:sig?capacity=4096", "shm:/torq-md?capacity=65536&unlink=1",
                        "uds:/tmp/x.sock?sndbuf=4096", "udp://239.1.1.1:9000?iface=lo&ttl=4",
                        "udp://127.0.0.1:9000?batch=8&rcvbuf=1048576"}) {
    EXPECT_EQ(parse_transport_config(s).to_string(), s);
  }
}

void expect_error(const char* text, const char* fragment) {
  try {
    (void)parse_transport_config(text);
    ADD_FAILURE() << "accepted: " << text;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(TransportConfig, ShouldRejectMalformedStringsWithAReason) {
  expect_error("tcp://1.2.3.4:5", "unknown scheme");
  expect_error("inproc:", "needs a name");
  expect_error("shm:/a/b", "plain segment name");
  expect_error("udp://localhost:9000", "not a dotted IPv4");
  expect_error("udp://127.0.0.1", "host:port");
  expect_error("udp://127.0.0.1:70000", "out of range");
  expect_error("inproc:x?capacity=1000", "power of two");
  expect_error("inproc:x?iface=lo", "unknown option 'iface'");
  expect_error("udp://127.0.0.1:9?loop=maybe", "not a boolean");
  const std::string long_path = "uds:/" + std::string(120, 'a');
  expect_error(long_path.c_str(), "107 bytes");
}

}  // namespace
}  // namespace torq::mycelium
