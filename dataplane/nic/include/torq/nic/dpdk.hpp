// torq/nic/dpdk.hpp — DPDK ports behind a DPDK-free interface: EAL start-up, one mbuf pool per
// NUMA node, port and queue set-up, link status, burst receive into RxPacket views, and the
// transmit path (Protocol V2 frames wrapped in Ethernet/IPv4/UDP and sent with rte_eth_tx_burst).
//
// Owns: eal_init()/eal_cleanup(), MbufPools, Port, Publisher (a mycelium-style publisher with
// try_publish(frame) -> PublishResult, so a Relay can fan out to DPDK), available().
// No DPDK header is included here: users of torq::nic compile without DPDK's include paths or
// flags; rx_burst/tx calls cost one out-of-line call per burst, not per packet.
// When torq_nic was built without libdpdk, available() is false and eal_init/MbufPools/Port
// throw std::runtime_error("DPDK support not built") — the kernel UDP backend still works.
// Thread-safety: eal_init/eal_cleanup once per process, from the main thread; a Port's queue is
// polled by one thread; Port set-up/tear-down on one thread while nothing polls it.
// Allocation: constructors allocate (DPDK memory) and throw std::runtime_error with the DPDK
// error text; rx_burst/release/tx_* are noexcept and allocation-free (mbufs come from the pools).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "torq/mycelium/types.hpp"
#include "torq/nic/packet.hpp"

namespace torq::nic::dpdk {

// True when torq_nic was compiled against libdpdk.
[[nodiscard]] bool available() noexcept;

// Runs rte_eal_init with argv = {"torqd", args...}. Throws std::runtime_error on failure or when
// called twice (DPDK allows one EAL per process). See config.hpp eal_arguments().
void eal_init(const std::vector<std::string>& args);
[[nodiscard]] bool eal_initialized() noexcept;
// rte_eal_cleanup; after it no DPDK call may be made (and eal_init may not run again).
void eal_cleanup() noexcept;
// NUMA nodes DPDK knows (rte_socket_count), after eal_init.
[[nodiscard]] unsigned numa_nodes() noexcept;

struct MbufPoolConfig {
  std::uint32_t mbufs = 8191;        // per pool (2^n - 1 is optimal for the ring underneath)
  std::uint32_t cache = 256;         // per-lcore cache
  std::uint16_t data_room = 2048 + 128;  // RTE_MBUF_DEFAULT_BUF_SIZE: one MTU-sized packet per mbuf
};

// One rte_mempool of packet mbufs per NUMA node, created at construction (start-up only).
class MbufPools {
 public:
  explicit MbufPools(const MbufPoolConfig& cfg = {}, const std::string& name_prefix = "torq");
  ~MbufPools();
  MbufPools(const MbufPools&) = delete;
  MbufPools& operator=(const MbufPools&) = delete;
  // The pool of `numa_node` (a node without one, or -1, gets node 0's). Opaque rte_mempool*.
  [[nodiscard]] void* pool(int numa_node) const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return pools_.size(); }
  [[nodiscard]] std::uint32_t available(int numa_node) const noexcept;  // free mbufs (monitoring)

 private:
  std::vector<void*> pools_;
};

struct PortConfig {
  // What to open: a virtual device with its arguments ("net_pcap0,rx_pcap=/x.pcap",
  // "net_null0", "net_af_packet0,iface=veth0", "net_tap0,iface=tap0"), attached now with
  // rte_eal_hotplug_add; or the name of a probed device (PCI address "0000:3b:00.0" allowed with
  // -a, or a --vdev given to the EAL); or "port:N" for DPDK port N.
  std::string device;
  std::uint16_t rx_queues = 1;
  std::uint16_t tx_queues = 1;
  std::uint16_t rx_descriptors = 1024;
  std::uint16_t tx_descriptors = 1024;
  bool promiscuous = true;
  bool all_multicast = true;   // receive multicast feeds without per-group MAC filters
};

struct LinkStatus {
  bool up = false;
  std::uint32_t speed_mbps = 0;
  bool full_duplex = false;
};

struct PortStats {  // rte_eth_stats
  std::uint64_t ipackets = 0, opackets = 0, ibytes = 0, obytes = 0;
  std::uint64_t imissed = 0;     // dropped by the NIC: rx ring full (the poll loop is too slow)
  std::uint64_t ierrors = 0, oerrors = 0;
  std::uint64_t rx_nombuf = 0;   // rx mbuf allocation failures (pool too small)
};

// One received packet: a view of its first segment's bytes and the mbuf that owns them.
struct RxPacket {
  const std::byte* data;
  std::uint32_t size;       // bytes in the first segment
  std::uint16_t segments;   // > 1: packet continues in further mbufs (not contiguous)
  std::uint16_t reserved;
  void* mbuf;               // rte_mbuf*, returned with Port::release()
};
static_assert(std::is_trivially_copyable_v<RxPacket> && sizeof(RxPacket) == 24);

class Port {
 public:
  // Attaches (virtual devices), configures queues with mbufs from the port's NUMA node, starts
  // the port, enables promiscuous/all-multicast where the driver supports it.
  Port(const PortConfig& cfg, const MbufPools& pools);
  ~Port();  // stop, close, detach a device this Port attached
  Port(Port&& o) noexcept;
  Port& operator=(Port&&) = delete;
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  [[nodiscard]] std::uint16_t id() const noexcept { return id_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] int numa_node() const noexcept { return numa_node_; }
  [[nodiscard]] const std::string& driver() const noexcept { return driver_; }
  [[nodiscard]] MacAddress mac() const noexcept { return mac_; }

  // rte_eth_rx_burst into `out` (at most out.size(), <= 512). Every returned packet must be handed
  // back with release() once its bytes are no longer needed.
  [[nodiscard]] std::uint16_t rx_burst(std::uint16_t queue, std::span<RxPacket> out) noexcept;
  static void release(std::span<const RxPacket> packets) noexcept;

  // Sends Protocol V2 frames, one per UDP datagram, addressed by `ep`: each gets an mbuf from the
  // port's pool, headers + frame are written into it, then one rte_eth_tx_burst. Returns frames
  // handed to the driver (the rest were not sent: ring full or pool empty; their mbufs freed).
  // `ip_id` is incremented per packet.
  [[nodiscard]] std::uint16_t tx_frames(std::uint16_t queue, const UdpEndpoints& ep,
                                        std::span<const std::span<const std::byte>> frames,
                                        std::uint16_t& ip_id) noexcept;

  [[nodiscard]] LinkStatus link() const noexcept;
  // Polls the link every 10 ms up to timeout_ms; true once up.
  [[nodiscard]] bool wait_link_up(std::uint32_t timeout_ms) const noexcept;
  [[nodiscard]] PortStats stats() const noexcept;

 private:
  void close() noexcept;

  std::uint16_t id_ = 0;
  bool open_ = false;
  bool attached_ = false;  // we hot-plugged the vdev, so we detach it
  int numa_node_ = 0;
  void* pool_ = nullptr;
  std::string name_;
  std::string driver_;
  MacAddress mac_{};
};

// Publishes frames on one TX queue of a port to one UDP destination: the DPDK counterpart of
// mycelium::UdpPublisher (same wire format), usable as a mycelium::Relay output.
class Publisher {
 public:
  Publisher(Port& port, std::uint16_t queue, const UdpEndpoints& ep) noexcept
      : port_(&port), queue_(queue), ep_(ep) {}

  [[nodiscard]] mycelium::PublishResult try_publish(std::span<const std::byte> frame) noexcept {
    if (frame.empty() || frame.size() + udp_headers_size(ep_) > max_packet_) [[unlikely]] {
      ++stats_.too_large;
      return mycelium::PublishResult::too_large;
    }
    const std::span<const std::byte> one[1] = {frame};
    if (port_->tx_frames(queue_, ep_, one, ip_id_) == 1) [[likely]] {
      ++stats_.published;
      return mycelium::PublishResult::ok;
    }
    ++stats_.would_block;
    return mycelium::PublishResult::would_block;
  }
  // Burst form: returns frames sent (a prefix of `frames`).
  [[nodiscard]] std::size_t publish_burst(std::span<const std::span<const std::byte>> frames) noexcept {
    const std::uint16_t n = port_->tx_frames(queue_, ep_, frames, ip_id_);
    stats_.published += n;
    stats_.would_block += frames.size() - n;
    return n;
  }
  [[nodiscard]] bool flush() noexcept { return true; }
  [[nodiscard]] const mycelium::PublisherStats& stats() const noexcept { return stats_; }
  // Largest Ethernet frame this publisher builds (one mbuf, standard MTU).
  void set_max_packet(std::size_t bytes) noexcept { max_packet_ = bytes; }

 private:
  Port* port_;
  std::uint16_t queue_;
  UdpEndpoints ep_;
  std::uint16_t ip_id_ = 0;
  std::size_t max_packet_ = 1514;
  mycelium::PublisherStats stats_{};
};

}  // namespace torq::nic::dpdk
