// torq/nic/config.hpp — how torqd's configuration turns into a NIC backend: the backend choice
// (DPDK or kernel UDP, made once at start-up), the EAL command line, the feed lines (A/B).
//
// Owns: NicConfig, EalOptions, LineConfig, eal_arguments() (pure: options -> EAL argv, unit
// tested), hugepages_available() (reads sysfs), choose_backend().
// EAL policy: `-l <cores>` (and `--main-lcore`), `-m <MiB>` when set; when no hugepages are free
// (or hugepages = "none"): `--no-huge` (+ `-m`, 256 MiB by default) and `--no-shconf` (DPDK 22.11
// refuses --in-memory together with --no-huge's legacy memory); with hugepages: `--in-memory`
// (nothing left in hugetlbfs or /var/run after exit) unless in_memory = false; `--no-pci` when no
// PCI device is allowed, `-a <bdf>` per allowed device otherwise; `--vdev` per virtual device;
// `-d <path>` per extra driver; `--file-prefix` (unique per process, so tests and torqd can run
// side by side); `--no-telemetry` unless asked; `--log-level`.
// Thread-safety: plain values; functions reentrant. Allocation: yes (start-up only); invalid
// combinations throw std::invalid_argument naming the option.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "torq/nic/arbiter.hpp"
#include "torq/nic/dpdk.hpp"
#include "torq/nic/packet.hpp"

namespace torq::nic {

enum class Backend : std::uint8_t { kernel, dpdk };
enum class Hugepages : std::uint8_t { auto_detect, require, none };

struct EalOptions {
  std::string cores = "0";                 // -l: lcore list ("2", "2-3", "2,4")
  int main_lcore = -1;                     // --main-lcore (-1: the first of `cores`)
  std::uint32_t memory_mb = 0;             // -m (0: DPDK's default; 256 without hugepages)
  Hugepages hugepages = Hugepages::auto_detect;
  bool in_memory = true;                   // --in-memory with hugepages
  std::vector<std::string> allow_pci;      // -a per device; empty: --no-pci
  std::vector<std::string> vdevs;          // --vdev per virtual device
  std::vector<std::string> driver_paths;   // -d per extra PMD (.so or directory)
  std::string file_prefix = "torqd";       // --file-prefix
  std::string log_level;                   // --log-level (e.g. "lib.eal:warning")
  bool telemetry = false;                  // false: --no-telemetry
  std::vector<std::string> extra;          // appended verbatim
};

// One feed line. DPDK: port (PortConfig.device) + queue + destination filter. Kernel: a UDP
// socket bound to bind_ip:dst_port, joined to multicast_group on interface_ip when set.
struct LineConfig {
  std::string name = "A";
  std::string dpdk_device;           // DPDK: PortConfig.device of the port this line arrives on
  std::uint16_t dpdk_queue = 0;
  std::uint32_t dst_ip = 0;          // filter (DPDK) / multicast group or bind address (kernel); 0 any
  std::uint16_t dst_port = 0;        // UDP port (kernel: required; DPDK: filter, 0 any)
  std::uint32_t interface_ip = 0;    // kernel multicast: interface to join on (0: default)
  std::uint32_t kernel_rcvbuf = 8u << 20;
};

struct NicConfig {
  Backend backend = Backend::kernel;   // as configured; see choose_backend()
  EalOptions eal{};
  dpdk::MbufPoolConfig mbufs{};
  std::vector<LineConfig> lines{LineConfig{}};
  bool arbitrate = false;              // merge the lines A/B (line arbitration)
  ArbiterConfig arbiter{};
  bool verify_udp_checksum = false;
  int poll_cpu = -1;                   // pin the poll loop here (-1: leave affinity alone)
  std::uint16_t burst = 32;            // rx burst size
};

// True if the system (sysfs) has at least one free hugepage of any size.
[[nodiscard]] bool hugepages_available();

// The EAL argument list for `opt` (without argv[0]). `hugepages_free` is what
// hugepages_available() reported. Throws std::invalid_argument (e.g. hugepages = require but
// none free, empty core list).
[[nodiscard]] std::vector<std::string> eal_arguments(const EalOptions& opt, bool hugepages_free);

// The backend torqd should run: DPDK only when configured AND built in; kernel UDP otherwise
// (`reason` says why DPDK was not used, empty when it is).
[[nodiscard]] Backend choose_backend(const NicConfig& cfg, std::string* reason = nullptr);

// "a.b.c.d" -> host-order address. Throws std::invalid_argument.
[[nodiscard]] std::uint32_t parse_ipv4(const std::string& text);
[[nodiscard]] std::string format_ipv4(std::uint32_t ip);

}  // namespace torq::nic
