// torq/hw/numa_memory.hpp — NUMA-local, zeroed, prefaulted memory regions (rings, pools).
//
// Owns: NumaRegion, an RAII mmap'ed region placed on one NUMA node. allocate() first tries
// explicit hugepages (mmap MAP_HUGETLB, 2 MiB) when asked; if none are reserved it falls back to
// normal pages (with a transparent-hugepage hint) and prints one warning on stderr per process.
// Placement uses mbind via libnuma (numa_tonode_memory) when the kernel supports NUMA; every page
// is touched (written) before allocate() returns so no page fault happens later on a hot path.
// Also: hugepage_pools(), the kernel's hugepage pools as seen in sysfs.
// Thread-safety: a NumaRegion is owned by one thread at a time (move-only); the memory itself may
// be shared by any threads under the caller's own protocol. allocate() may be called concurrently.
// Allocation: allocate() maps memory (start-up only) and throws std::system_error on failure;
// accessors are noexcept and never allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace torq::hw {

class NumaRegion {
 public:
  NumaRegion() noexcept = default;  // empty: data() == nullptr, size() == 0
  ~NumaRegion();
  NumaRegion(NumaRegion&& other) noexcept;
  NumaRegion& operator=(NumaRegion&& other) noexcept;
  NumaRegion(const NumaRegion&) = delete;
  NumaRegion& operator=(const NumaRegion&) = delete;

  // Maps at least `bytes` (rounded up to the page size used) of zeroed memory on `numa_node`
  // (-1: the node of the CPU the calling thread runs on). Throws std::system_error if bytes == 0,
  // the node does not exist, or mmap fails.
  static NumaRegion allocate(std::size_t bytes, int numa_node = -1, bool try_hugepages = true);

  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }   // the requested bytes
  [[nodiscard]] std::size_t mapped_size() const noexcept { return mapped_; }  // rounded up
  [[nodiscard]] bool hugepages() const noexcept { return huge_; }
  [[nodiscard]] int node() const noexcept { return node_; }  // the node the memory was bound to
  // Whether the pages were bound with mbind (false when the kernel/libnuma lacks NUMA support).
  [[nodiscard]] bool bound() const noexcept { return bound_; }
  [[nodiscard]] explicit operator bool() const noexcept { return data_ != nullptr; }

  // The node the first page actually resides on (get_mempolicy MPOL_F_NODE|MPOL_F_ADDR),
  // or -1 if the kernel cannot say. A check, not for the hot path.
  [[nodiscard]] int resident_node() const noexcept;

 private:
  void release() noexcept;

  void* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t mapped_ = 0;
  int node_ = -1;
  bool huge_ = false;
  bool bound_ = false;
};

// Number of NUMA nodes usable for allocation (>= 1; 1 when the kernel lacks NUMA support).
[[nodiscard]] int numa_node_count() noexcept;

// The node of the CPU the calling thread runs on now (0 when unknown).
[[nodiscard]] int current_numa_node() noexcept;

// One hugepage pool, from /sys/kernel/mm/hugepages/hugepages-<size>kB (or the per-node copy).
struct HugepagePool {
  std::size_t page_size = 0;   // bytes
  std::uint64_t total = 0;     // nr_hugepages
  std::uint64_t free = 0;      // free_hugepages
};

// The hugepage pools of the whole system (node < 0) or of one node, by page size ascending.
// Empty when the kernel has no hugetlbfs support. Allocates; start-up/reporting only.
[[nodiscard]] std::vector<HugepagePool> hugepage_pools(int node = -1);

}  // namespace torq::hw
