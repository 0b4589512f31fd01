// DPDK ports: EAL, mbuf pools, port set-up, rx/tx bursts. See dpdk.hpp.
// Compiled only when libdpdk is found (dpdk_stub.cpp otherwise); DPDK headers are system
// includes of this file alone.
#include "torq/nic/dpdk.hpp"

#include <pthread.h>
#include <sched.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_dev.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

namespace torq::nic::dpdk {
namespace {

bool g_eal = false;

[[noreturn]] void fail(const std::string& what, int err) {
  throw std::runtime_error(what + ": " + rte_strerror(err < 0 ? -err : err));
}

bool is_vdev(const std::string& name) {
  return name.rfind("net_", 0) == 0 || name.rfind("eth_", 0) == 0;
}

}  // namespace

bool available() noexcept { return true; }

void eal_init(const std::vector<std::string>& args) {
  if (g_eal) throw std::runtime_error("EAL already initialized (one per process)");
  std::vector<std::string> storage;
  storage.reserve(args.size() + 1);
  storage.emplace_back("torqd");
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  // rte_eal_init pins the calling thread to the main lcore; every thread the caller starts later
  // would inherit that one CPU. The caller's own placement is restored (the poll loop pins itself).
  cpu_set_t before;
  const bool saved = pthread_getaffinity_np(pthread_self(), sizeof before, &before) == 0;
  const int rc = rte_eal_init(static_cast<int>(storage.size()), argv.data());
  if (saved) (void)pthread_setaffinity_np(pthread_self(), sizeof before, &before);
  if (rc < 0) fail("rte_eal_init", rte_errno);
  g_eal = true;
}

bool eal_initialized() noexcept { return g_eal; }

void eal_cleanup() noexcept {
  if (g_eal) (void)rte_eal_cleanup();
}

unsigned numa_nodes() noexcept { return g_eal ? rte_socket_count() : 0; }

MbufPools::MbufPools(const MbufPoolConfig& cfg, const std::string& name_prefix) {
  if (!g_eal) throw std::runtime_error("MbufPools: EAL not initialized");
  const unsigned nodes = std::max(1u, rte_socket_count());
  for (unsigned i = 0; i < nodes; ++i) {
    const int socket = rte_socket_id_by_idx(i);
    const std::string name = name_prefix + "_mbuf_" + std::to_string(socket < 0 ? 0 : socket);
    rte_mempool* mp = rte_pktmbuf_pool_create(name.c_str(), cfg.mbufs, cfg.cache, 0, cfg.data_room,
                                              socket < 0 ? SOCKET_ID_ANY : socket);
    if (mp == nullptr) {
      for (void* p : pools_) rte_mempool_free(static_cast<rte_mempool*>(p));
      pools_.clear();
      fail("rte_pktmbuf_pool_create " + name, rte_errno);
    }
    if (static_cast<std::size_t>(socket < 0 ? 0 : socket) >= pools_.size()) {
      pools_.resize(static_cast<std::size_t>(socket < 0 ? 0 : socket) + 1, nullptr);
    }
    pools_[static_cast<std::size_t>(socket < 0 ? 0 : socket)] = mp;
  }
}

MbufPools::~MbufPools() {
  for (void* p : pools_) rte_mempool_free(static_cast<rte_mempool*>(p));
}

void* MbufPools::pool(int numa_node) const noexcept {
  if (numa_node >= 0 && static_cast<std::size_t>(numa_node) < pools_.size() && pools_[static_cast<std::size_t>(numa_node)]) {
    return pools_[static_cast<std::size_t>(numa_node)];
  }
  for (void* p : pools_) {
    if (p != nullptr) return p;
  }
  return nullptr;
}

std::uint32_t MbufPools::available(int numa_node) const noexcept {
  auto* mp = static_cast<rte_mempool*>(pool(numa_node));
  return mp == nullptr ? 0 : rte_mempool_avail_count(mp);
}

Port::Port(const PortConfig& cfg, const MbufPools& pools) {
  if (!g_eal) throw std::runtime_error("Port: EAL not initialized");
  const std::string& dev = cfg.device;
  const std::size_t comma = dev.find(',');
  name_ = dev.substr(0, comma);
  std::uint16_t id = 0;
  if (name_.rfind("port:", 0) == 0) {
    id = static_cast<std::uint16_t>(std::stoul(name_.substr(5)));
    if (!rte_eth_dev_is_valid_port(id)) throw std::runtime_error("Port: no DPDK port " + name_);
  } else {
    int rc = rte_eth_dev_get_port_by_name(name_.c_str(), &id);
    if (rc != 0 && is_vdev(name_)) {
      const std::string args = comma == std::string::npos ? std::string() : dev.substr(comma + 1);
      rc = rte_eal_hotplug_add("vdev", name_.c_str(), args.c_str());
      if (rc != 0) fail("attach " + dev, rc);
      attached_ = true;
      rc = rte_eth_dev_get_port_by_name(name_.c_str(), &id);
    }
    if (rc != 0) {
      if (attached_) (void)rte_eal_hotplug_remove("vdev", name_.c_str());
      throw std::runtime_error("Port: no DPDK port named '" + name_ + "' (allow it with -a or --vdev)");
    }
  }
  id_ = id;
  auto cleanup_attach = [&] {
    if (attached_) (void)rte_eal_hotplug_remove("vdev", name_.c_str());
    attached_ = false;
  };
  rte_eth_dev_info info{};
  int rc = rte_eth_dev_info_get(id_, &info);
  if (rc != 0) {
    cleanup_attach();
    fail("rte_eth_dev_info_get " + name_, rc);
  }
  driver_ = info.driver_name != nullptr ? info.driver_name : "";
  const int sock = rte_eth_dev_socket_id(id_);
  numa_node_ = sock < 0 ? 0 : sock;
  pool_ = pools.pool(numa_node_);
  if (pool_ == nullptr) {
    cleanup_attach();
    throw std::runtime_error("Port: no mbuf pool");
  }
  const std::uint16_t rxq = std::min<std::uint16_t>(cfg.rx_queues, info.max_rx_queues);
  const std::uint16_t txq = std::min<std::uint16_t>(cfg.tx_queues, info.max_tx_queues);
  rte_eth_conf conf{};
  rc = rte_eth_dev_configure(id_, rxq, txq, &conf);
  if (rc != 0) {
    cleanup_attach();
    fail("rte_eth_dev_configure " + name_, rc);
  }
  std::uint16_t nrx = cfg.rx_descriptors;
  std::uint16_t ntx = cfg.tx_descriptors;
  (void)rte_eth_dev_adjust_nb_rx_tx_desc(id_, &nrx, &ntx);
  open_ = true;  // from here on close() stops/closes the port
  for (std::uint16_t q = 0; q < rxq; ++q) {
    rc = rte_eth_rx_queue_setup(id_, q, nrx, static_cast<unsigned>(numa_node_), nullptr, static_cast<rte_mempool*>(pool_));
    if (rc != 0) {
      close();
      fail("rte_eth_rx_queue_setup " + name_, rc);
    }
  }
  for (std::uint16_t q = 0; q < txq; ++q) {
    rc = rte_eth_tx_queue_setup(id_, q, ntx, static_cast<unsigned>(numa_node_), nullptr);
    if (rc != 0) {
      close();
      fail("rte_eth_tx_queue_setup " + name_, rc);
    }
  }
  rc = rte_eth_dev_start(id_);
  if (rc != 0) {
    close();
    fail("rte_eth_dev_start " + name_, rc);
  }
  if (cfg.promiscuous) (void)rte_eth_promiscuous_enable(id_);    // -ENOTSUP on some vdevs: fine
  if (cfg.all_multicast) (void)rte_eth_allmulticast_enable(id_);
  rte_ether_addr a{};
  if (rte_eth_macaddr_get(id_, &a) == 0) std::memcpy(mac_.data(), a.addr_bytes, 6);
}

Port::Port(Port&& o) noexcept
    : id_(o.id_), open_(o.open_), attached_(o.attached_), numa_node_(o.numa_node_), pool_(o.pool_),
      name_(std::move(o.name_)), driver_(std::move(o.driver_)), mac_(o.mac_) {
  o.open_ = false;
  o.attached_ = false;
}

Port::~Port() { close(); }

void Port::close() noexcept {
  if (open_) {
    (void)rte_eth_dev_stop(id_);
    (void)rte_eth_dev_close(id_);
    open_ = false;
  }
  if (attached_) {
    (void)rte_eal_hotplug_remove("vdev", name_.c_str());
    attached_ = false;
  }
}

std::uint16_t Port::rx_burst(std::uint16_t queue, std::span<RxPacket> out) noexcept {
  rte_mbuf* m[512];
  const auto want = static_cast<std::uint16_t>(std::min<std::size_t>(out.size(), 512));
  const std::uint16_t n = rte_eth_rx_burst(id_, queue, m, want);
  for (std::uint16_t i = 0; i < n; ++i) {
    rte_prefetch0(rte_pktmbuf_mtod(m[i], void*));
  }
  for (std::uint16_t i = 0; i < n; ++i) {
    out[i] = RxPacket{rte_pktmbuf_mtod(m[i], const std::byte*), rte_pktmbuf_data_len(m[i]),
                      m[i]->nb_segs, 0, m[i]};
  }
  return n;
}

void Port::release(std::span<const RxPacket> packets) noexcept {
  rte_mbuf* m[512];
  std::size_t done = 0;
  while (done < packets.size()) {
    const std::size_t k = std::min<std::size_t>(packets.size() - done, 512);
    for (std::size_t i = 0; i < k; ++i) m[i] = static_cast<rte_mbuf*>(packets[done + i].mbuf);
    rte_pktmbuf_free_bulk(m, static_cast<unsigned>(k));
    done += k;
  }
}

std::uint16_t Port::tx_frames(std::uint16_t queue, const UdpEndpoints& ep, std::span<const std::span<const std::byte>> frames,
                              std::uint16_t& ip_id) noexcept {
  const std::size_t hdr = udp_headers_size(ep);
  auto* mp = static_cast<rte_mempool*>(pool_);
  std::uint16_t total = 0;
  while (total < frames.size()) {
    rte_mbuf* m[64];
    const auto k = static_cast<std::uint16_t>(std::min<std::size_t>(frames.size() - total, 64));
    if (rte_pktmbuf_alloc_bulk(mp, m, k) != 0) return total;
    std::uint16_t built = 0;
    for (; built < k; ++built) {
      const std::span<const std::byte> f = frames[total + built];
      const std::size_t len = hdr + f.size();
      char* data = len <= 0xFFFF ? rte_pktmbuf_append(m[built], static_cast<std::uint16_t>(len)) : nullptr;
      if (data == nullptr) break;  // does not fit one mbuf
      auto* b = reinterpret_cast<std::byte*>(data);
      std::memcpy(b + hdr, f.data(), f.size());
      if (write_udp_headers(std::span<std::byte>(b, len), ep, f.size(), ip_id++) == 0) break;
    }
    const std::uint16_t sent = built == 0 ? 0 : rte_eth_tx_burst(id_, queue, m, built);
    if (sent < k) rte_pktmbuf_free_bulk(m + sent, static_cast<unsigned>(k - sent));
    total = static_cast<std::uint16_t>(total + sent);
    if (sent < k) return total;
  }
  return total;
}

LinkStatus Port::link() const noexcept {
  rte_eth_link l{};
  if (rte_eth_link_get_nowait(id_, &l) != 0) return {};
  return LinkStatus{l.link_status == RTE_ETH_LINK_UP, l.link_speed, l.link_duplex == RTE_ETH_LINK_FULL_DUPLEX};
}

bool Port::wait_link_up(std::uint32_t timeout_ms) const noexcept {
  for (std::uint32_t waited = 0;; waited += 10) {
    if (link().up) return true;
    if (waited >= timeout_ms) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

PortStats Port::stats() const noexcept {
  rte_eth_stats s{};
  if (rte_eth_stats_get(id_, &s) != 0) return {};
  return PortStats{s.ipackets, s.opackets, s.ibytes, s.obytes, s.imissed, s.ierrors, s.oerrors, s.rx_nombuf};
}

}  // namespace torq::nic::dpdk
