// torq/ring/local_ring.hpp — a process-local ring in NUMA-local (hugepage when available) memory.
//
// Owns: LocalRing, a torq::hw::NumaRegion holding one formatted ring. Used by monolith mode to
// join components on different threads of one process.
// Thread-safety: the LocalRing object itself is owned by one thread (move-only); attach one
// SpscProducer and one SpscConsumer to region() and use each from one thread.
// Allocation: create() maps and prefaults memory (start-up only) and throws std::system_error or
// std::runtime_error on failure; everything else is noexcept.
#pragma once

#include <cstdint>

#include "torq/hw/numa_memory.hpp"
#include "torq/ring/spsc_ring.hpp"

namespace torq::ring {

class LocalRing {
 public:
  LocalRing() noexcept = default;
  // capacity: data-area bytes, a power of two >= kMinCapacity. numa_node -1: caller's node.
  static LocalRing create(std::uint64_t capacity, int numa_node = -1, bool try_hugepages = true);

  [[nodiscard]] RingRegion region() const noexcept { return region_; }
  [[nodiscard]] const hw::NumaRegion& memory() const noexcept { return memory_; }

 private:
  hw::NumaRegion memory_;
  RingRegion region_;
};

}  // namespace torq::ring
