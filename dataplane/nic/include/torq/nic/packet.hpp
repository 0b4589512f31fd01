// torq/nic/packet.hpp — Ethernet / 802.1Q VLAN / IPv4 / UDP header parsing and building, with
// every check a receiver needs before it trusts the UDP payload (a Protocol V2 datagram).
//
// Owns: parse_udp_packet() (in place: returns offsets into the caller's bytes, never copies),
// ipv4_header_checksum(), udp_checksum(), write_udp_headers()/build_udp_packet() (the transmit
// side: headers written into a caller-provided buffer), multicast_mac(). All input is read
// byte by byte (big-endian loads through memcpy-free shifts), so unaligned, truncated or hostile
// bytes are never dereferenced out of bounds.
// Checks, in order (the first failure is reported): Ethernet header present; up to two VLAN tags
// (0x8100 / 0x88A8); ethertype IPv4; IPv4 version 4 and IHL >= 5; header checksum; total length
// inside the frame and >= IHL*4 (Ethernet padding after it is ignored); not a fragment (MF set or
// offset != 0: Protocol V2 datagrams are never fragmented on purpose, reassembly is not done);
// protocol UDP; UDP length >= 8 and inside the IP payload; optional UDP checksum; optional
// destination port / address filter.
// Thread-safety: pure functions, reentrant. Allocation: none. Cost: O(headers), plus O(payload)
// when the UDP checksum is verified or written.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

namespace torq::nic {

inline constexpr std::size_t kEthHeaderSize = 14;
inline constexpr std::size_t kVlanTagSize = 4;
inline constexpr std::size_t kIpv4MinHeaderSize = 20;
inline constexpr std::size_t kUdpHeaderSize = 8;
// Ethernet + IPv4 (no options) + UDP, untagged.
inline constexpr std::size_t kUdpHeadersSize = kEthHeaderSize + kIpv4MinHeaderSize + kUdpHeaderSize;
inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeVlan = 0x8100;
inline constexpr std::uint16_t kEtherTypeQinQ = 0x88A8;
inline constexpr std::uint8_t kIpProtoUdp = 17;
inline constexpr std::uint16_t kNoVlan = 0xFFFF;

enum class PacketError : std::uint8_t {
  Ok = 0,
  Truncated,         // shorter than the headers it announces
  NotIpv4,           // ethertype (after VLAN tags) is not IPv4
  BadIpHeader,       // version != 4, IHL < 5, total length < IHL*4 or beyond the frame
  BadIpChecksum,     // IPv4 header checksum does not verify
  IpFragment,        // MF flag or a non-zero fragment offset
  NotUdp,            // IP protocol is not 17
  BadUdpLength,      // UDP length < 8 or beyond the IP payload
  BadUdpChecksum,    // non-zero UDP checksum that does not verify (only when asked to verify)
  WrongDestination,  // UDP destination port or IPv4 destination not the one filtered for
};
inline constexpr std::size_t kPacketErrorCount = 10;
[[nodiscard]] const char* to_string(PacketError e) noexcept;

using MacAddress = std::array<std::uint8_t, 6>;

// Receive-side filter and options. Zero fields match anything.
struct PacketFilter {
  std::uint32_t dst_ip = 0;      // host byte order; 0 = any
  std::uint16_t dst_port = 0;    // 0 = any
  bool verify_udp_checksum = false;  // Protocol V2 frames carry CRC32C; UDP's sum is redundant
};

// Where the UDP payload is, and the addressing it arrived with. Offsets index the caller's bytes.
struct UdpPacket {
  PacketError error;
  std::uint16_t vlan;          // outermost VLAN id, or kNoVlan
  std::uint32_t src_ip;        // host byte order
  std::uint32_t dst_ip;        // host byte order
  std::uint16_t src_port;
  std::uint16_t dst_port;
  std::uint32_t payload_offset;
  std::uint32_t payload_size;
  [[nodiscard]] bool ok() const noexcept { return error == PacketError::Ok; }
};
static_assert(std::is_trivially_copyable_v<UdpPacket>);
static_assert(sizeof(UdpPacket) == 24);

[[nodiscard]] UdpPacket parse_udp_packet(std::span<const std::byte> frame, const PacketFilter& filter = {}) noexcept;

// The UDP payload of a successfully parsed packet.
[[nodiscard]] inline std::span<const std::byte> udp_payload(std::span<const std::byte> frame,
                                                            const UdpPacket& p) noexcept {
  return frame.subspan(p.payload_offset, p.payload_size);
}

// Internet checksum (RFC 1071) of an IPv4 header as it should be written: the header's own
// checksum field (bytes 10-11) is treated as zero. Returned in host order.
[[nodiscard]] std::uint16_t ipv4_header_checksum(std::span<const std::byte> header) noexcept;

// UDP checksum over the IPv4 pseudo-header and the UDP header + payload (`udp` = header + payload,
// its checksum field treated as zero). Never returns 0 (0 is sent as 0xFFFF). Host order.
[[nodiscard]] std::uint16_t udp_checksum(std::uint32_t src_ip, std::uint32_t dst_ip,
                                         std::span<const std::byte> udp) noexcept;

// Transmit-side addressing of one UDP flow.
struct UdpEndpoints {
  MacAddress src_mac{};
  MacAddress dst_mac{};
  std::uint32_t src_ip = 0;     // host byte order
  std::uint32_t dst_ip = 0;     // host byte order
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint16_t vlan = kNoVlan; // tag with this VLAN id (0-4094), or untagged
  std::uint8_t ttl = 64;
  bool udp_checksum = true;     // compute the UDP checksum (false: send 0, legal for IPv4)
};

// Bytes of headers write_udp_headers() puts before the payload.
[[nodiscard]] constexpr std::size_t udp_headers_size(const UdpEndpoints& ep) noexcept {
  return kUdpHeadersSize + (ep.vlan != kNoVlan ? kVlanTagSize : 0);
}

// Writes Ethernet (+VLAN) + IPv4 (DF, no options) + UDP headers for a payload of payload_size bytes
// that the caller has already placed (or will place) right after them: out must hold headers +
// payload; with ep.udp_checksum the payload must already be in place. Returns the header size,
// or 0 if out is too small or the payload does not fit one IPv4 datagram.
[[nodiscard]] std::size_t write_udp_headers(std::span<std::byte> out, const UdpEndpoints& ep,
                                            std::size_t payload_size, std::uint16_t ip_id) noexcept;

// Copies payload after freshly written headers. Returns the packet size, or 0 if it does not fit.
[[nodiscard]] std::size_t build_udp_packet(std::span<std::byte> out, const UdpEndpoints& ep,
                                           std::span<const std::byte> payload, std::uint16_t ip_id) noexcept;

// Ethernet group address of an IPv4 multicast group (01:00:5e + low 23 bits).
[[nodiscard]] constexpr MacAddress multicast_mac(std::uint32_t group) noexcept {
  return {0x01, 0x00, 0x5e, static_cast<std::uint8_t>((group >> 16) & 0x7f),
          static_cast<std::uint8_t>(group >> 8), static_cast<std::uint8_t>(group)};
}

[[nodiscard]] constexpr std::uint32_t ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept {
  return (std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | d;
}

}  // namespace torq::nic
