// LocalRing: a ring formatted in a NumaRegion.
#include "torq/ring/local_ring.hpp"

#include <stdexcept>
#include <string>

namespace torq::ring {

LocalRing LocalRing::create(std::uint64_t capacity, int numa_node, bool try_hugepages) {
  LocalRing r;
  r.memory_ = hw::NumaRegion::allocate(RingRegion::bytes_for(capacity), numa_node, try_hugepages);
  auto f = RingRegion::format(r.memory_.data(), r.memory_.size(), capacity);
  if (!f) throw std::runtime_error(std::string("LocalRing::create: ") + to_string(f.error));
  r.region_ = f.value;
  return r;
}

}  // namespace torq::ring
