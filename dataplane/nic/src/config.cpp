// EAL arguments and backend choice. See config.hpp.
#include "torq/nic/config.hpp"

#include <arpa/inet.h>

#include <stdexcept>

#include "torq/hw/numa_memory.hpp"

namespace torq::nic {

bool hugepages_available() {
  for (const auto& p : hw::hugepage_pools()) {
    if (p.free > 0) return true;
  }
  return false;
}

std::vector<std::string> eal_arguments(const EalOptions& opt, bool hugepages_free) {
  if (opt.cores.empty()) throw std::invalid_argument("nic.eal.cores: empty core list");
  if (opt.file_prefix.empty()) throw std::invalid_argument("nic.eal.file_prefix: empty");
  if (opt.hugepages == Hugepages::require && !hugepages_free) {
    throw std::invalid_argument("nic.eal.hugepages = require, but no free hugepages (see tuning/check)");
  }
  const bool huge = opt.hugepages != Hugepages::none && hugepages_free;
  std::vector<std::string> a{"-l", opt.cores};
  if (opt.main_lcore >= 0) a.insert(a.end(), {"--main-lcore", std::to_string(opt.main_lcore)});
  if (huge) {
    if (opt.memory_mb != 0) a.insert(a.end(), {"-m", std::to_string(opt.memory_mb)});
    if (opt.in_memory) a.emplace_back("--in-memory");
  } else {
    a.insert(a.end(), {"--no-huge", "-m", std::to_string(opt.memory_mb != 0 ? opt.memory_mb : 256), "--no-shconf"});
  }
  if (opt.allow_pci.empty()) {
    a.emplace_back("--no-pci");
  } else {
    for (const auto& d : opt.allow_pci) a.insert(a.end(), {"-a", d});
  }
  for (const auto& v : opt.vdevs) a.emplace_back("--vdev=" + v);
  for (const auto& d : opt.driver_paths) a.insert(a.end(), {"-d", d});
  a.emplace_back("--file-prefix=" + opt.file_prefix);
  if (!opt.telemetry) a.emplace_back("--no-telemetry");
  if (!opt.log_level.empty()) a.emplace_back("--log-level=" + opt.log_level);
  a.insert(a.end(), opt.extra.begin(), opt.extra.end());
  return a;
}

Backend choose_backend(const NicConfig& cfg, std::string* reason) {
  if (cfg.backend == Backend::kernel) {
    if (reason != nullptr) *reason = "DPDK not configured";
    return Backend::kernel;
  }
  if (!dpdk::available()) {
    if (reason != nullptr) *reason = "DPDK configured but torq_nic was built without libdpdk";
    return Backend::kernel;
  }
  if (reason != nullptr) reason->clear();
  return Backend::dpdk;
}

std::uint32_t parse_ipv4(const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) throw std::invalid_argument("not an IPv4 address: '" + text + "'");
  return ntohl(a.s_addr);
}

std::string format_ipv4(std::uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xFF) + "." + std::to_string((ip >> 8) & 0xFF) +
         "." + std::to_string(ip & 0xFF);
}

}  // namespace torq::nic
