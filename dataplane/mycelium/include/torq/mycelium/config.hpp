// torq/mycelium/config.hpp — which transport an endpoint uses, parsed from one string.
//
// Owns: TransportConfig and parse_transport_config(). Accepted forms (query keys are optional):
//   inproc:<name>[?capacity=N]                       process-local ring, found by name
//   shm:/<name>[?capacity=N&hugepages=1&unlink=1]    shared-memory ring /dev/shm/<name>
//   uds:<path>[?sndbuf=N&rcvbuf=N]                   Unix stream socket at <path>
//   udp://<ipv4>:<port>[?iface=<ifname>&ttl=N&loop=0&sndbuf=N&rcvbuf=N&batch=N]
// A UDP address in 224.0.0.0/4 selects multicast (the subscriber joins the group on `iface`,
// the publisher sends through it). capacity is the ring's data-area bytes (power of two).
// Start-up only: parsing allocates (std::string) and throws std::invalid_argument whose message
// names the offending part of the string. Thread-safety: plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "torq/mycelium/types.hpp"

namespace torq::mycelium {

inline constexpr std::uint64_t kDefaultRingCapacity = 1u << 20;  // 1 MiB data area
inline constexpr int kDefaultUdpBatch = 32;                      // datagrams per recvmmsg

struct TransportConfig {
  TransportKind kind = TransportKind::inproc;
  std::string name;                 // inproc name, shm segment name (no slash), or uds path
  std::string address;              // udp: dotted IPv4 (unicast or multicast group)
  std::uint16_t port = 0;           // udp
  std::string interface;            // udp multicast: interface name (e.g. "lo", "eth0"); "" = default
  std::uint64_t capacity = kDefaultRingCapacity;  // inproc/shm ring data-area bytes
  bool hugepages = false;           // shm: try hugetlbfs
  bool unlink_on_close = false;     // shm: the endpoint that created the segment removes the name at close
  int ttl = 1;                      // udp multicast TTL
  bool multicast_loop = true;       // udp: deliver own multicast to local subscribers
  int sndbuf = 0;                   // socket SO_SNDBUF bytes (0: kernel default)
  int rcvbuf = 0;                   // socket SO_RCVBUF bytes (0: kernel default)
  int batch = kDefaultUdpBatch;     // udp: datagrams per recvmmsg (1..256)

  [[nodiscard]] bool multicast() const noexcept;  // udp and address in 224.0.0.0/4
  [[nodiscard]] std::string to_string() const;    // canonical string form (round-trips)
};

// Parses the forms above. Throws std::invalid_argument on any error.
[[nodiscard]] TransportConfig parse_transport_config(std::string_view text);

}  // namespace torq::mycelium
