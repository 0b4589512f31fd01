// Ethernet/VLAN/IPv4/UDP parsing and building. See packet.hpp.
#include "torq/nic/packet.hpp"

#include <cstring>

namespace torq::nic {
namespace {

[[nodiscard]] inline std::uint16_t be16(const std::byte* p) noexcept {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) | std::to_integer<unsigned>(p[1]));
}
[[nodiscard]] inline std::uint32_t be32(const std::byte* p) noexcept {
  return (std::uint32_t{be16(p)} << 16) | be16(p + 2);
}
inline void put16(std::byte* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::byte>(v >> 8);
  p[1] = static_cast<std::byte>(v);
}
inline void put32(std::byte* p, std::uint32_t v) noexcept {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}

// Sum of big-endian 16-bit words (odd tail padded with zero), not folded.
[[nodiscard]] std::uint64_t sum16(std::span<const std::byte> b) noexcept {
  std::uint64_t s = 0;
  std::size_t i = 0;
  for (; i + 1 < b.size(); i += 2) s += be16(b.data() + i);
  if (i < b.size()) s += std::to_integer<std::uint64_t>(b[i]) << 8;
  return s;
}
[[nodiscard]] std::uint16_t fold(std::uint64_t s) noexcept {
  while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
  return static_cast<std::uint16_t>(s);
}

[[nodiscard]] UdpPacket fail(UdpPacket p, PacketError e) noexcept {
  p.error = e;
  return p;
}

}  // namespace

const char* to_string(PacketError e) noexcept {
  switch (e) {
    case PacketError::Ok: return "ok";
    case PacketError::Truncated: return "truncated";
    case PacketError::NotIpv4: return "not IPv4";
    case PacketError::BadIpHeader: return "bad IPv4 header";
    case PacketError::BadIpChecksum: return "bad IPv4 checksum";
    case PacketError::IpFragment: return "IPv4 fragment";
    case PacketError::NotUdp: return "not UDP";
    case PacketError::BadUdpLength: return "bad UDP length";
    case PacketError::BadUdpChecksum: return "bad UDP checksum";
    case PacketError::WrongDestination: return "wrong destination";
  }
  return "unknown";
}

std::uint16_t ipv4_header_checksum(std::span<const std::byte> header) noexcept {
  std::uint64_t s = sum16(header);
  if (header.size() >= 12) s -= be16(header.data() + 10);  // the checksum field counts as zero
  return static_cast<std::uint16_t>(~fold(s));
}

std::uint16_t udp_checksum(std::uint32_t src_ip, std::uint32_t dst_ip, std::span<const std::byte> udp) noexcept {
  std::uint64_t s = (src_ip >> 16) + (src_ip & 0xFFFF) + (dst_ip >> 16) + (dst_ip & 0xFFFF) + kIpProtoUdp + udp.size();
  s += sum16(udp);
  if (udp.size() >= 8) s -= be16(udp.data() + 6);
  const auto c = static_cast<std::uint16_t>(~fold(s));
  return c == 0 ? 0xFFFF : c;
}

UdpPacket parse_udp_packet(std::span<const std::byte> frame, const PacketFilter& filter) noexcept {
  UdpPacket p{};
  p.vlan = kNoVlan;
  const std::size_t n = frame.size();
  const std::byte* b = frame.data();
  if (n < kEthHeaderSize) [[unlikely]] return fail(p, PacketError::Truncated);
  std::size_t off = 12;
  std::uint16_t type = be16(b + off);
  for (int tags = 0; tags < 2 && (type == kEtherTypeVlan || type == kEtherTypeQinQ); ++tags) {
    if (n < off + 2 + kVlanTagSize) [[unlikely]] return fail(p, PacketError::Truncated);
    if (p.vlan == kNoVlan) p.vlan = be16(b + off + 2) & 0x0FFF;
    off += kVlanTagSize;
    type = be16(b + off);
  }
  off += 2;
  if (type != kEtherTypeIpv4) [[unlikely]] return fail(p, PacketError::NotIpv4);
  if (n < off + kIpv4MinHeaderSize) [[unlikely]] return fail(p, PacketError::Truncated);
  const std::byte* ip = b + off;
  const unsigned ver_ihl = std::to_integer<unsigned>(ip[0]);
  const std::size_t ihl = (ver_ihl & 0x0F) * 4u;
  if ((ver_ihl >> 4) != 4 || ihl < kIpv4MinHeaderSize) [[unlikely]] return fail(p, PacketError::BadIpHeader);
  if (n < off + ihl) [[unlikely]] return fail(p, PacketError::Truncated);
  const std::size_t total = be16(ip + 2);
  if (total < ihl) [[unlikely]] return fail(p, PacketError::BadIpHeader);
  if (n < off + total) [[unlikely]] return fail(p, PacketError::Truncated);
  // A correct header (checksum field included) sums to 0xFFFF.
  if (fold(sum16(std::span<const std::byte>(ip, ihl))) != 0xFFFF) [[unlikely]] return fail(p, PacketError::BadIpChecksum);
  const std::uint16_t frag = be16(ip + 6);
  if ((frag & 0x2000) != 0 || (frag & 0x1FFF) != 0) [[unlikely]] return fail(p, PacketError::IpFragment);
  if (std::to_integer<std::uint8_t>(ip[9]) != kIpProtoUdp) [[unlikely]] return fail(p, PacketError::NotUdp);
  p.src_ip = be32(ip + 12);
  p.dst_ip = be32(ip + 16);
  const std::size_t ip_payload = total - ihl;
  const std::byte* udp = ip + ihl;
  if (ip_payload < kUdpHeaderSize) [[unlikely]] return fail(p, PacketError::BadUdpLength);
  const std::size_t ulen = be16(udp + 4);
  if (ulen < kUdpHeaderSize || ulen > ip_payload) [[unlikely]] return fail(p, PacketError::BadUdpLength);
  p.src_port = be16(udp);
  p.dst_port = be16(udp + 2);
  if (filter.verify_udp_checksum && be16(udp + 6) != 0) {
    const std::uint16_t want = udp_checksum(p.src_ip, p.dst_ip, std::span<const std::byte>(udp, ulen));
    if (want != be16(udp + 6)) [[unlikely]] return fail(p, PacketError::BadUdpChecksum);
  }
  if ((filter.dst_port != 0 && p.dst_port != filter.dst_port) || (filter.dst_ip != 0 && p.dst_ip != filter.dst_ip))
      [[unlikely]] {
    return fail(p, PacketError::WrongDestination);
  }
  p.payload_offset = static_cast<std::uint32_t>(off + ihl + kUdpHeaderSize);
  p.payload_size = static_cast<std::uint32_t>(ulen - kUdpHeaderSize);
  p.error = PacketError::Ok;
  return p;
}

std::size_t write_udp_headers(std::span<std::byte> out, const UdpEndpoints& ep, std::size_t payload_size,
                              std::uint16_t ip_id) noexcept {
  const std::size_t hdr = udp_headers_size(ep);
  if (payload_size > 65535 - kIpv4MinHeaderSize - kUdpHeaderSize || out.size() < hdr + payload_size) return 0;
  std::byte* b = out.data();
  std::memcpy(b, ep.dst_mac.data(), 6);
  std::memcpy(b + 6, ep.src_mac.data(), 6);
  std::size_t off = 12;
  if (ep.vlan != kNoVlan) {
    put16(b + off, kEtherTypeVlan);
    put16(b + off + 2, static_cast<std::uint16_t>(ep.vlan & 0x0FFF));
    off += kVlanTagSize;
  }
  put16(b + off, kEtherTypeIpv4);
  off += 2;
  std::byte* ip = b + off;
  ip[0] = std::byte{0x45};
  ip[1] = std::byte{0};
  put16(ip + 2, static_cast<std::uint16_t>(kIpv4MinHeaderSize + kUdpHeaderSize + payload_size));
  put16(ip + 4, ip_id);
  put16(ip + 6, 0x4000);  // DF
  ip[8] = static_cast<std::byte>(ep.ttl);
  ip[9] = static_cast<std::byte>(kIpProtoUdp);
  put16(ip + 10, 0);
  put32(ip + 12, ep.src_ip);
  put32(ip + 16, ep.dst_ip);
  put16(ip + 10, ipv4_header_checksum(std::span<const std::byte>(ip, kIpv4MinHeaderSize)));
  std::byte* udp = ip + kIpv4MinHeaderSize;
  put16(udp, ep.src_port);
  put16(udp + 2, ep.dst_port);
  put16(udp + 4, static_cast<std::uint16_t>(kUdpHeaderSize + payload_size));
  put16(udp + 6, 0);
  if (ep.udp_checksum) {
    put16(udp + 6, udp_checksum(ep.src_ip, ep.dst_ip, std::span<const std::byte>(udp, kUdpHeaderSize + payload_size)));
  }
  return hdr;
}

std::size_t build_udp_packet(std::span<std::byte> out, const UdpEndpoints& ep, std::span<const std::byte> payload,
                             std::uint16_t ip_id) noexcept {
  const std::size_t hdr = udp_headers_size(ep);
  if (out.size() < hdr + payload.size()) return 0;
  if (!payload.empty()) std::memcpy(out.data() + hdr, payload.data(), payload.size());
  if (write_udp_headers(out, ep, payload.size(), ip_id) == 0) return 0;
  return hdr + payload.size();
}

}  // namespace torq::nic
