// Implementation of torq/hw/numa_memory.hpp.
#include "torq/hw/numa_memory.hpp"

#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "torq/hw/memlock.hpp"

namespace torq::hw {
namespace {

std::atomic<bool> g_fallback_warned{false};

bool numa_supported() noexcept {
  static const bool ok = numa_available() >= 0;
  return ok;
}

std::size_t small_page_size() noexcept {
  const long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? static_cast<std::size_t>(p) : 4096;
}

std::size_t round_up(std::size_t n, std::size_t to) noexcept { return (n + to - 1) / to * to; }

bool read_u64(const std::filesystem::path& p, std::uint64_t& out) {
  std::ifstream f(p);
  if (!f) return false;
  unsigned long long v = 0;
  if (!(f >> v)) return false;
  out = v;
  return true;
}

// The size MAP_HUGETLB uses (the default hugepage size), from /proc/meminfo; 2 MiB if unknown.
std::size_t default_hugepage_size() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  while (f >> key) {
    if (key == "Hugepagesize:") {
      unsigned long long kb = 0;
      if (f >> kb && kb > 0) return static_cast<std::size_t>(kb) * 1024;
      break;
    }
    f.ignore(4096, '\n');
  }
  return 2u << 20;
}

std::uint64_t free_hugepages(int node, std::size_t page_size) {
  for (const auto& p : hugepage_pools(node))
    if (p.page_size == page_size) return p.free;
  return 0;
}

bool bind_to_node(void* p, std::size_t len, int node) noexcept {
  if (!numa_supported()) return false;
  unsigned long mask[16] = {};  // up to 1024 nodes
  constexpr unsigned long kBits = 8 * sizeof(unsigned long);
  if (node < 0 || static_cast<unsigned long>(node) >= 16 * kBits) return false;
  mask[static_cast<unsigned long>(node) / kBits] = 1UL << (static_cast<unsigned long>(node) % kBits);
  return mbind(p, len, MPOL_BIND, mask, 16 * kBits, 0) == 0;
}

void warn_fallback_once(std::size_t bytes, int node, const char* why) {
  if (g_fallback_warned.exchange(true, std::memory_order_relaxed)) return;
  std::fprintf(stderr,
               "torq::hw warning: hugepages unavailable for %zu bytes on NUMA node %d (%s); "
               "using normal pages with a transparent-hugepage hint. Reserve some with e.g. "
               "`echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages`. "
               "(printed once per process)\n",
               bytes, node, why);
}

}  // namespace

int numa_node_count() noexcept {
  if (!numa_supported()) return 1;
  const int n = numa_num_configured_nodes();
  return n > 0 ? n : 1;
}

int current_numa_node() noexcept {
  if (!numa_supported()) return 0;
  const int cpu = sched_getcpu();
  if (cpu < 0) return 0;
  const int node = numa_node_of_cpu(cpu);
  return node >= 0 ? node : 0;
}

std::vector<HugepagePool> hugepage_pools(int node) {
  namespace fs = std::filesystem;
  std::vector<HugepagePool> out;
  const fs::path dir = node < 0 ? fs::path("/sys/kernel/mm/hugepages")
                                : fs::path("/sys/devices/system/node") / ("node" + std::to_string(node)) / "hugepages";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();  // hugepages-2048kB
    constexpr std::string_view prefix = "hugepages-";
    if (name.rfind(prefix, 0) != 0 || name.size() < prefix.size() + 3 || name.substr(name.size() - 2) != "kB") continue;
    std::uint64_t kb = 0;
    try {
      kb = std::stoull(name.substr(prefix.size(), name.size() - prefix.size() - 2));
    } catch (const std::exception&) {
      continue;
    }
    HugepagePool pool;
    pool.page_size = static_cast<std::size_t>(kb) * 1024;
    if (!read_u64(it->path() / "nr_hugepages", pool.total)) continue;
    if (!read_u64(it->path() / "free_hugepages", pool.free)) pool.free = 0;
    out.push_back(pool);
  }
  std::sort(out.begin(), out.end(), [](const HugepagePool& a, const HugepagePool& b) { return a.page_size < b.page_size; });
  return out;
}

NumaRegion NumaRegion::allocate(std::size_t bytes, int numa_node, bool try_hugepages) {
  if (bytes == 0) throw std::system_error(EINVAL, std::generic_category(), "NumaRegion::allocate: zero bytes");
  int node = numa_node < 0 ? current_numa_node() : numa_node;
  if (numa_supported()) {
    if (node > numa_max_node() || numa_bitmask_isbitset(numa_all_nodes_ptr, static_cast<unsigned>(node)) == 0)
      throw std::system_error(EINVAL, std::generic_category(),
                              "NumaRegion::allocate: NUMA node " + std::to_string(node) + " does not exist or is not allowed");
  } else if (node != 0) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "NumaRegion::allocate: NUMA node " + std::to_string(node) + " requested but the kernel has no NUMA support");
  }

  NumaRegion r;
  r.size_ = bytes;
  r.node_ = node;

  if (try_hugepages) {
    const std::size_t hp = default_hugepage_size();
    const std::size_t len = round_up(bytes, hp);
    // MAP_HUGETLB reserves pages system-wide at mmap time, but binding to a node only takes effect
    // at fault time: check the node's own pool first so the touch below cannot SIGBUS.
    const std::uint64_t free_pages = numa_supported() ? free_hugepages(node, hp) : free_hugepages(-1, hp);
    if (free_pages >= len / hp) {
      void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
      if (p != MAP_FAILED) {
        r.bound_ = bind_to_node(p, len, node);
        r.data_ = p;
        r.mapped_ = len;
        r.huge_ = true;
        prefault(p, len, true);
        return r;
      }
      warn_fallback_once(bytes, node, "mmap(MAP_HUGETLB) failed");
    } else {
      warn_fallback_once(bytes, node, "not enough free hugepages reserved");
    }
  }

  const std::size_t len = round_up(bytes, small_page_size());
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw std::system_error(errno, std::generic_category(), "NumaRegion::allocate: mmap of " + std::to_string(len) + " bytes");
  (void)madvise(p, len, MADV_HUGEPAGE);  // a hint: transparent hugepages if enabled (madvise mode)
  r.bound_ = bind_to_node(p, len, node);
  r.data_ = p;
  r.mapped_ = len;
  prefault(p, len, true);  // anonymous memory is zero; writing faults every page in now
  return r;
}

NumaRegion::~NumaRegion() { release(); }

NumaRegion::NumaRegion(NumaRegion&& o) noexcept
    : data_(o.data_), size_(o.size_), mapped_(o.mapped_), node_(o.node_), huge_(o.huge_), bound_(o.bound_) {
  o.data_ = nullptr;
  o.size_ = o.mapped_ = 0;
  o.node_ = -1;
  o.huge_ = o.bound_ = false;
}

NumaRegion& NumaRegion::operator=(NumaRegion&& o) noexcept {
  if (this != &o) {
    release();
    data_ = o.data_;
    size_ = o.size_;
    mapped_ = o.mapped_;
    node_ = o.node_;
    huge_ = o.huge_;
    bound_ = o.bound_;
    o.data_ = nullptr;
    o.size_ = o.mapped_ = 0;
    o.node_ = -1;
    o.huge_ = o.bound_ = false;
  }
  return *this;
}

void NumaRegion::release() noexcept {
  if (data_ != nullptr) munmap(data_, mapped_);
  data_ = nullptr;
  size_ = mapped_ = 0;
}

int NumaRegion::resident_node() const noexcept {
  if (data_ == nullptr || !numa_supported()) return -1;
  int node = -1;
  if (get_mempolicy(&node, nullptr, 0, data_, MPOL_F_NODE | MPOL_F_ADDR) != 0) return -1;
  return node;
}

}  // namespace torq::hw
