// Names of telemetry stages, decisions and trade states (torq/torqd/telemetry.hpp).
#include "torq/torqd/telemetry.hpp"

#include "torq/risk/risk_gates.hpp"

namespace torq::torqd {

const char* to_string(Stage s) noexcept {
  switch (s) {
    case Stage::Decode: return "decode";
    case Stage::Search: return "search";
    case Stage::TickToSignal: return "tick_to_signal";
    case Stage::Risk: return "risk";
    case Stage::Sign: return "sign";
    case Stage::TickToSignedTx: return "tick_to_signed_tx";
    case Stage::SubmitToMined: return "submit_to_mined";
  }
  return "unknown";
}

const char* decision_name(std::uint8_t d) noexcept {
  switch (d) {
    case kDecisionTaken: return "taken";
    case kDecisionBelowThreshold: return "below_threshold";
    case kDecisionStale: return "stale";
    case kDecisionPathError: return "path_error";
    case kDecisionSignError: return "sign_error";
    case kDecisionTxRingFull: return "tx_ring_full";
    case kDecisionNoOrderSlot: return "no_order_slot";
    default: break;
  }
  if (d < risk::kRejectReasonCount) return risk::to_string(static_cast<risk::RejectReason>(d));
  return "unknown";
}

const char* to_string(TradeState s) noexcept {
  switch (s) {
    case TradeState::Pending: return "pending";
    case TradeState::Mined: return "mined";
    case TradeState::Reverted: return "reverted";
    case TradeState::Dropped: return "dropped";
  }
  return "unknown";
}

}  // namespace torq::torqd
