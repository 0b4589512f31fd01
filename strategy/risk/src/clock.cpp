// The default wall clock (CLOCK_REALTIME through the vDSO).
#include "torq/risk/clock.hpp"

#include <ctime>

namespace torq::risk {

std::uint64_t realtime_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * kNsPerSecond + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace torq::risk
