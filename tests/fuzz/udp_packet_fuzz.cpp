// libFuzzer target: nic::parse_udp_packet, the first thing that reads a frame off the wire (DPDK
// or a pcap), on arbitrary bytes. The input's first byte picks the filter (UDP checksum check,
// a destination port, a destination address); the rest is the Ethernet frame. Checks, besides
// "no crash, no UB" (sanitizers), for an accepted frame:
//   - the payload lies inside the frame, after at least the untagged headers, and the VLAN id is
//     12 bits (or kNoVlan);
//   - the filter held: the destination port / address are the ones asked for;
//   - the same frame without a filter is accepted with the same fields (a filter only refuses);
//   - the transmit side agrees: build_udp_packet with the parsed addressing and payload (checksum
//     on) gives a frame that parses, checksum verified, to the same addressing and payload bytes.
// Seeds (tests/fuzz/corpus/udp_packet): untagged, VLAN and QinQ datagrams, IP options, Ethernet
// padding, a zero UDP checksum, and frames that each check refuses.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "torq/nic/packet.hpp"

using namespace torq::nic;

namespace {

bool same_addressing(const UdpPacket& a, const UdpPacket& b) noexcept {
  return a.vlan == b.vlan && a.src_ip == b.src_ip && a.dst_ip == b.dst_ip && a.src_port == b.src_port &&
         a.dst_port == b.dst_port && a.payload_size == b.payload_size;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t opt = data[0];
  const auto frame = std::as_bytes(std::span(data + 1, size - 1));

  PacketFilter filter;
  filter.verify_udp_checksum = (opt & 1) != 0;
  if (opt & 2) filter.dst_port = 9000;                   // the seeds' destination port
  if (opt & 4) filter.dst_ip = ipv4(239, 1, 2, 3);       // the seeds' multicast group
  const UdpPacket p = parse_udp_packet(frame, filter);
  if (!p.ok()) return 0;

  if (std::size_t{p.payload_offset} + p.payload_size > frame.size()) std::abort();
  if (p.payload_offset < kUdpHeadersSize) std::abort();
  if (p.vlan != kNoVlan && p.vlan > 0x0FFF) std::abort();
  if (filter.dst_port != 0 && p.dst_port != filter.dst_port) std::abort();
  if (filter.dst_ip != 0 && p.dst_ip != filter.dst_ip) std::abort();

  const UdpPacket open = parse_udp_packet(frame);
  if (!open.ok() || !same_addressing(open, p) || open.payload_offset != p.payload_offset) std::abort();

  // Round trip through the transmit side. The builder tags with one VLAN (the outermost id seen).
  const std::span<const std::byte> payload = udp_payload(frame, p);
  UdpEndpoints ep;
  ep.src_ip = p.src_ip;
  ep.dst_ip = p.dst_ip;
  ep.src_port = p.src_port;
  ep.dst_port = p.dst_port;
  ep.vlan = p.vlan;
  ep.udp_checksum = true;
  std::vector<std::byte> out(udp_headers_size(ep) + payload.size());
  const std::size_t n = build_udp_packet(out, ep, payload, 7);
  if (n != out.size()) std::abort();  // an accepted payload always fits one datagram again
  PacketFilter strict;
  strict.verify_udp_checksum = true;
  const UdpPacket q = parse_udp_packet(std::span<const std::byte>(out.data(), n), strict);
  if (!q.ok() || !same_addressing(q, p)) std::abort();
  if (q.payload_size != 0 && std::memcmp(out.data() + q.payload_offset, payload.data(), q.payload_size) != 0) std::abort();
  return 0;
}
