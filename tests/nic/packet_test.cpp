// Ethernet/VLAN/IPv4/UDP parsing and building with crafted packets.
#include "torq/nic/packet.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "torq/nic/pcap.hpp"

namespace torq::nic {
namespace {

UdpEndpoints endpoints(std::uint16_t vlan = kNoVlan) {
  UdpEndpoints ep;
  ep.src_mac = {0x02, 0, 0, 0, 0, 1};
  ep.dst_mac = {0x02, 0, 0, 0, 0, 2};
  ep.src_ip = ipv4(10, 0, 0, 1);
  ep.dst_ip = ipv4(10, 0, 0, 2);
  ep.src_port = 40000;
  ep.dst_port = 9000;
  ep.vlan = vlan;
  return ep;
}

std::vector<std::byte> packet(const UdpEndpoints& ep, std::span<const std::byte> payload) {
  std::vector<std::byte> out(2048);
  const std::size_t n = build_udp_packet(out, ep, payload, 7);
  out.resize(n);
  return out;
}

std::vector<std::byte> frame() { return make_feed_frame(3, 42); }

// Recomputes the IPv4 header checksum after the test edited the header.
void fix_ip_checksum(std::vector<std::byte>& p, std::size_t ip_off = kEthHeaderSize) {
  p[ip_off + 10] = std::byte{0};
  p[ip_off + 11] = std::byte{0};
  const std::uint16_t s = ipv4_header_checksum(std::span<const std::byte>(p).subspan(ip_off, 20));
  p[ip_off + 10] = static_cast<std::byte>(s >> 8);
  p[ip_off + 11] = static_cast<std::byte>(s);
}

TEST(Packet, ShouldFindPayloadOfBuiltPacket) {
  const auto f = frame();
  const auto p = packet(endpoints(), f);
  ASSERT_EQ(p.size(), kUdpHeadersSize + f.size());
  const UdpPacket u = parse_udp_packet(p, PacketFilter{0, 9000, true});
  ASSERT_TRUE(u.ok()) << to_string(u.error);
  EXPECT_EQ(u.src_ip, ipv4(10, 0, 0, 1));
  EXPECT_EQ(u.dst_ip, ipv4(10, 0, 0, 2));
  EXPECT_EQ(u.src_port, 40000);
  EXPECT_EQ(u.dst_port, 9000);
  EXPECT_EQ(u.vlan, kNoVlan);
  const auto payload = udp_payload(p, u);
  ASSERT_EQ(payload.size(), f.size());
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), f.begin()));
}

TEST(Packet, ShouldParseVlanTaggedPacket) {
  const auto f = frame();
  const auto p = packet(endpoints(100), f);
  const UdpPacket u = parse_udp_packet(p);
  ASSERT_TRUE(u.ok()) << to_string(u.error);
  EXPECT_EQ(u.vlan, 100);
  EXPECT_EQ(u.payload_offset, kUdpHeadersSize + kVlanTagSize);
  EXPECT_EQ(u.payload_size, f.size());
}

TEST(Packet, ShouldIgnoreEthernetPaddingAfterIpTotalLength) {
  const std::byte small[4] = {};
  auto p = packet(endpoints(), small);
  p.resize(60, std::byte{0xEE});  // minimum Ethernet frame with padding
  const UdpPacket u = parse_udp_packet(p);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u.payload_size, 4u);
}

TEST(Packet, ShouldRejectTruncatedPackets) {
  const auto p = packet(endpoints(), frame());
  for (std::size_t n : {std::size_t{0}, std::size_t{13}, std::size_t{20}, kEthHeaderSize + 19, p.size() - 1}) {
    EXPECT_EQ(parse_udp_packet(std::span<const std::byte>(p).first(n)).error, PacketError::Truncated) << n;
  }
  auto v = packet(endpoints(5), frame());
  EXPECT_EQ(parse_udp_packet(std::span<const std::byte>(v).first(16)).error, PacketError::Truncated);
}

TEST(Packet, ShouldRejectWrongEthertype) {
  auto p = packet(endpoints(), frame());
  p[12] = std::byte{0x86};  // IPv6
  p[13] = std::byte{0xDD};
  EXPECT_EQ(parse_udp_packet(p).error, PacketError::NotIpv4);
}

TEST(Packet, ShouldRejectBadIpChecksum) {
  auto p = packet(endpoints(), frame());
  p[kEthHeaderSize + 8] = std::byte{63};  // TTL changed, checksum not updated
  EXPECT_EQ(parse_udp_packet(p).error, PacketError::BadIpChecksum);
  fix_ip_checksum(p);
  EXPECT_TRUE(parse_udp_packet(p).ok());
}

TEST(Packet, ShouldRejectIpFragments) {
  auto p = packet(endpoints(), frame());
  p[kEthHeaderSize + 6] = std::byte{0x20};  // MF
  fix_ip_checksum(p);
  EXPECT_EQ(parse_udp_packet(p).error, PacketError::IpFragment);
  p[kEthHeaderSize + 6] = std::byte{0x00};
  p[kEthHeaderSize + 7] = std::byte{0x10};  // offset 16*8
  fix_ip_checksum(p);
  EXPECT_EQ(parse_udp_packet(p).error, PacketError::IpFragment);
}

TEST(Packet, ShouldRejectBadIpHeaderFields) {
  auto p = packet(endpoints(), frame());
  p[kEthHeaderSize] = std::byte{0x65};  // version 6
  fix_ip_checksum(p);
  EXPECT_EQ(parse_udp_packet(p).error, PacketError::BadIpHeader);
  p = packet(endpoints(), frame());
  p[kEthHeaderSize] = std::byte{0x44};  // IHL 4
  EXPECT_EQ(parse_udp_packet(p).error, PacketError::BadIpHeader);
}

TEST(Packet, ShouldRejectNonUdp) {
  auto p = packet(endpoints(), frame());
  p[kEthHeaderSize + 9] = std::byte{6};  // TCP
  fix_ip_checksum(p);
  EXPECT_EQ(parse_udp_packet(p).error, PacketError::NotUdp);
}

TEST(Packet, ShouldRejectUdpLengthBeyondIpPayload) {
  auto p = packet(endpoints(), frame());
  const std::size_t udp = kEthHeaderSize + 20;
  p[udp + 4] = std::byte{0xFF};
  EXPECT_EQ(parse_udp_packet(p).error, PacketError::BadUdpLength);
  p[udp + 4] = std::byte{0};
  p[udp + 5] = std::byte{7};
  EXPECT_EQ(parse_udp_packet(p).error, PacketError::BadUdpLength);
}

TEST(Packet, ShouldRejectBadUdpChecksumOnlyWhenVerifying) {
  auto p = packet(endpoints(), frame());
  p.back() ^= std::byte{1};  // payload changed after the UDP checksum was computed
  EXPECT_EQ(parse_udp_packet(p, PacketFilter{0, 0, true}).error, PacketError::BadUdpChecksum);
  EXPECT_TRUE(parse_udp_packet(p, PacketFilter{0, 0, false}).ok());
  UdpEndpoints ep = endpoints();
  ep.udp_checksum = false;  // checksum 0 = not computed: accepted even when verifying
  EXPECT_TRUE(parse_udp_packet(packet(ep, frame()), PacketFilter{0, 0, true}).ok());
}

TEST(Packet, ShouldRejectWrongUdpPortOrDestination) {
  const auto p = packet(endpoints(), frame());
  EXPECT_EQ(parse_udp_packet(p, PacketFilter{0, 9001, false}).error, PacketError::WrongDestination);
  EXPECT_EQ(parse_udp_packet(p, PacketFilter{ipv4(10, 0, 0, 3), 0, false}).error, PacketError::WrongDestination);
  EXPECT_TRUE(parse_udp_packet(p, PacketFilter{ipv4(10, 0, 0, 2), 9000, false}).ok());
}

TEST(Packet, ShouldComputeKnownIpv4Checksum) {
  // RFC 1071 style example (Wikipedia's IPv4 header checksum example): expected 0xB861.
  const std::uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                              0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(ipv4_header_checksum(std::as_bytes(std::span(h))), 0xB861);
}

TEST(Packet, ShouldMapMulticastGroupToMac) {
  const MacAddress m = multicast_mac(ipv4(239, 129, 1, 2));
  EXPECT_EQ(m, (MacAddress{0x01, 0x00, 0x5e, 0x01, 0x01, 0x02}));
}

TEST(Packet, ShouldRefuseToBuildIntoSmallBuffer) {
  const auto f = frame();
  std::vector<std::byte> out(kUdpHeadersSize + f.size() - 1);
  EXPECT_EQ(build_udp_packet(out, endpoints(), f, 1), 0u);
}

}  // namespace
}  // namespace torq::nic
