// Names for sequence verdicts. See sequence_tracker.hpp.
#include "torq/mycelium/sequence_tracker.hpp"

namespace torq::mycelium {

const char* to_string(SeqVerdict v) noexcept {
  switch (v) {
    case SeqVerdict::first: return "first";
    case SeqVerdict::in_order: return "in_order";
    case SeqVerdict::gap: return "gap";
    case SeqVerdict::late: return "late";
    case SeqVerdict::duplicate: return "duplicate";
    case SeqVerdict::stale: return "stale";
  }
  return "unknown";
}

}  // namespace torq::mycelium
