// Nonce manager (see nonce_manager.hpp).
#include "torq/risk/nonce_manager.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "torq/risk/risk_gates.hpp"

namespace torq::risk {

using num::U256;

namespace {

bool icontains(std::string_view hay, std::string_view needle) noexcept {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    bool eq = true;
    for (std::size_t j = 0; j < needle.size(); ++j) {
      char a = hay[i + j];
      if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
      if (a != needle[j]) {
        eq = false;
        break;
      }
    }
    if (eq) return true;
  }
  return false;
}

// max(ceil(x * (100 + p) / 100), x + 1); empty on overflow.
std::optional<U256> bump_one(const U256& x, std::uint32_t p) noexcept {
  const std::optional<U256> num = num::checked_mul(x, U256(100U + p));
  if (!num) return std::nullopt;
  const std::optional<U256> c = num::div_rounding_up(*num, U256(100));
  if (!c) return std::nullopt;
  const std::optional<U256> plus1 = num::checked_add(x, U256::one());
  if (!plus1) return std::nullopt;
  return *c > *plus1 ? *c : *plus1;
}

}  // namespace

NodeError classify_node_error(std::string_view m) noexcept {
  if (m.empty()) return NodeError::None;
  if (icontains(m, "nonce too low") || icontains(m, "nonce is too low")) return NodeError::NonceTooLow;
  if (icontains(m, "nonce too high") || icontains(m, "nonce is too high")) return NodeError::NonceTooHigh;
  if (icontains(m, "already known") || icontains(m, "known transaction") || icontains(m, "already imported")) {
    return NodeError::AlreadyKnown;
  }
  if (icontains(m, "replacement transaction underpriced") || icontains(m, "replacement underpriced")) {
    return NodeError::ReplacementUnderpriced;
  }
  if (icontains(m, "underpriced") || icontains(m, "less than block base fee") ||
      icontains(m, "max priority fee per gas higher") || icontains(m, "fee cap less than")) {
    return NodeError::Underpriced;
  }
  if (icontains(m, "insufficient funds")) return NodeError::InsufficientFunds;
  return NodeError::Other;
}

const char* to_string(NodeError e) noexcept {
  switch (e) {
    case NodeError::None: return "none";
    case NodeError::NonceTooLow: return "nonce_too_low";
    case NodeError::NonceTooHigh: return "nonce_too_high";
    case NodeError::AlreadyKnown: return "already_known";
    case NodeError::ReplacementUnderpriced: return "replacement_underpriced";
    case NodeError::Underpriced: return "underpriced";
    case NodeError::InsufficientFunds: return "insufficient_funds";
    case NodeError::Other: return "other";
  }
  return "unknown";
}

const char* to_string(SendAction a) noexcept {
  switch (a) {
    case SendAction::TreatAsSent: return "treat_as_sent";
    case SendAction::ResyncAndRetry: return "resync_and_retry";
    case SendAction::AlreadyMined: return "already_mined";
    case SendAction::BumpAndRetry: return "bump_and_retry";
    case SendAction::KeepWaiting: return "keep_waiting";
    case SendAction::Released: return "released";
    case SendAction::Unknown: return "unknown";
  }
  return "unknown";
}

std::optional<TxFees> bump_fees(const TxFees& old, std::uint32_t percent, std::uint64_t priority_floor,
                                std::uint64_t max_fee_cap) noexcept {
  if (percent < 10) percent = 10;
  std::optional<U256> prio = bump_one(old.max_priority_fee_per_gas, percent);
  std::optional<U256> maxf = bump_one(old.max_fee_per_gas, percent);
  if (!prio || !maxf) return std::nullopt;
  if (*prio < U256(priority_floor)) prio = U256(priority_floor);
  if (*maxf < *prio) maxf = *prio;
  if (max_fee_cap != 0 && *maxf > U256(max_fee_cap)) return std::nullopt;
  return TxFees{*maxf, *prio};
}

bool is_valid_replacement(const TxFees& prev, const TxFees& next, std::uint32_t percent) noexcept {
  if (percent < 10) percent = 10;
  const auto ok = [percent](const U256& a, const U256& b) {
    // b * 100 >= a * (100 + percent) and b > a
    const std::optional<U256> lhs = num::checked_mul(b, U256(100));
    const std::optional<U256> rhs = num::checked_mul(a, U256(100U + percent));
    if (!lhs || !rhs) return false;
    return *lhs >= *rhs && b > a;
  };
  return ok(prev.max_fee_per_gas, next.max_fee_per_gas) &&
         ok(prev.max_priority_fee_per_gas, next.max_priority_fee_per_gas) &&
         next.max_fee_per_gas >= next.max_priority_fee_per_gas;
}

NonceManager::NonceManager(const NonceConfig& cfg, PendingNonceSource pending)
    : cfg_(cfg), pending_(std::move(pending)) {
  if (cfg_.capacity == 0 || cfg_.capacity > 65536) throw std::invalid_argument("NonceManager: capacity in [1, 65536]");
  if (!pending_) throw std::invalid_argument("NonceManager: a pending-nonce source is required");
  if (cfg_.bump_percent < 10) cfg_.bump_percent = 10;
  slots_ = std::make_unique<InFlightTx[]>(cfg_.capacity);
}

std::uint64_t NonceManager::priority_floor() const noexcept {
  const std::uint64_t chain_floor = cfg_.chain_id == kPolygonChainId ? kPolygonMinPriorityFeeWei : 0;
  return std::max(chain_floor, cfg_.min_priority_fee_wei);
}

RecoveryReport NonceManager::recover(std::span<const RecoveredTx> audit_txs, std::uint64_t now_ns) {
  RecoveryReport r;
  const std::optional<std::uint64_t> pending = pending_();
  if (!pending) return r;
  for (std::size_t i = 0; i < cfg_.capacity; ++i) free_slot(slots_[i]);
  base_ = *pending;
  r.node_pending = *pending;
  for (const RecoveredTx& t : audit_txs) {
    if (!r.last_audit_nonce || t.nonce > *r.last_audit_nonce) r.last_audit_nonce = t.nonce;
    if (t.nonce >= *pending) {
      ++r.reusable;  // signed but never known to the node: the nonce is free again
      continue;
    }
    if (t.settled) continue;
    InFlightTx& s = slot(t.nonce);
    if (s.state != SlotState::Free && s.nonce != t.nonce) continue;  // table full: receipts will tell
    if (s.state == SlotState::Free) ++r.tracked;
    s.nonce = t.nonce;
    s.order_id = t.order_id;
    s.sent_block = t.sent_block;
    s.sent_ns = now_ns;
    s.attempts = t.attempts == 0 ? 1 : t.attempts;
    s.state = SlotState::Sent;
    s.hash = t.hash;
    s.fees = t.fees;
  }
  ready_ = true;
  r.ok = true;
  r.next_nonce = base_;
  for (std::uint64_t n = base_;; ++n) {  // first untracked nonce (what acquire() will return)
    InFlightTx& s = slot(n);
    if (s.state == SlotState::Free || s.nonce != n || n - base_ >= cfg_.capacity) {
      r.next_nonce = n;
      break;
    }
  }
  return r;
}

ResyncReport NonceManager::resync() {
  ResyncReport r;
  const std::optional<std::uint64_t> pending = pending_();
  if (!pending) return r;
  r.node_pending = *pending;
  // A node behind what we saw mined (a lagging replica behind a load balancer) cannot take the
  // nonce back below our own receipts: that would hand out used nonces and call live ones lost.
  std::uint64_t next = *pending;
  if (next < mined_floor_) {
    next = mined_floor_;
    ++stale_pending_;
    r.stale = true;
  }
  for (std::size_t i = 0; i < cfg_.capacity; ++i) {
    InFlightTx& s = slots_[i];
    if (s.state == SlotState::Reserved && s.nonce < next) {
      free_slot(s);
      ++r.dropped;
    } else if (s.state == SlotState::Sent && s.nonce >= next) {
      s.state = SlotState::Lost;
      ++r.lost;
    }
  }
  base_ = next;
  ready_ = true;
  r.ok = true;
  return r;
}

std::optional<std::uint64_t> NonceManager::acquire() noexcept {
  if (!ready_) [[unlikely]] return std::nullopt;
  for (std::size_t k = 0; k < cfg_.capacity; ++k) {
    const std::uint64_t n = base_ + k;
    InFlightTx& s = slot(n);
    if (s.state == SlotState::Free) {
      s = InFlightTx{};
      s.nonce = n;
      s.state = SlotState::Reserved;
      return n;
    }
    if (s.nonce != n) return std::nullopt;  // slot held by another nonce: table full
  }
  return std::nullopt;
}

bool NonceManager::release(std::uint64_t nonce) noexcept {
  InFlightTx* s = tracked(nonce);
  if (s == nullptr || s->state != SlotState::Reserved) return false;
  free_slot(*s);
  return true;
}

bool NonceManager::on_sent(std::uint64_t nonce, const Hash32& hash, const TxFees& fees, std::uint64_t block,
                           std::uint64_t order_id, std::uint64_t now_ns) noexcept {
  InFlightTx* s = tracked(nonce);
  if (s == nullptr || s->state != SlotState::Reserved) return false;
  s->state = SlotState::Sent;
  s->hash = hash;
  s->fees = fees;
  s->sent_block = block;
  s->sent_ns = now_ns;
  s->order_id = order_id;
  s->attempts = 1;
  return true;
}

SendAction NonceManager::on_send_error(std::uint64_t nonce, NodeError error) noexcept {
  InFlightTx* s = tracked(nonce);
  if (s == nullptr) return SendAction::Unknown;
  const bool fresh = s->state == SlotState::Reserved;
  switch (error) {
    case NodeError::None:
    case NodeError::AlreadyKnown:
      return SendAction::TreatAsSent;
    case NodeError::NonceTooLow:
      if (!fresh) return SendAction::AlreadyMined;
      free_slot(*s);
      return SendAction::ResyncAndRetry;
    case NodeError::NonceTooHigh:
      if (!fresh) return SendAction::KeepWaiting;
      free_slot(*s);
      return SendAction::ResyncAndRetry;
    case NodeError::ReplacementUnderpriced:
      if (!fresh) return SendAction::BumpAndRetry;
      free_slot(*s);  // an unknown tx holds this nonce in the pool
      return SendAction::ResyncAndRetry;
    case NodeError::Underpriced:
    case NodeError::InsufficientFunds:
    case NodeError::Other:
      if (!fresh) return SendAction::KeepWaiting;
      free_slot(*s);
      return SendAction::Released;
  }
  return SendAction::Unknown;
}

std::size_t NonceManager::on_mined(std::uint64_t nonce) noexcept {
  std::size_t freed = 0;
  for (std::size_t i = 0; i < cfg_.capacity; ++i) {
    InFlightTx& s = slots_[i];
    if (s.state != SlotState::Free && s.nonce <= nonce) {
      free_slot(s);
      ++freed;
    }
  }
  if (nonce + 1 > base_) base_ = nonce + 1;
  if (nonce + 1 > mined_floor_) mined_floor_ = nonce + 1;
  return freed;
}

std::size_t NonceManager::find_stuck(std::uint64_t current_block, std::span<Replacement> out,
                                     std::uint64_t now_ns) noexcept {
  std::size_t n = 0;
  const std::uint64_t floor = priority_floor();
  for (std::size_t i = 0; i < cfg_.capacity; ++i) {
    const InFlightTx& s = slots_[i];
    const bool lost = s.state == SlotState::Lost;
    const bool by_blocks = current_block >= s.sent_block && current_block - s.sent_block >= cfg_.stuck_after_blocks;
    const bool by_time = cfg_.stuck_after_ns != 0 && now_ns != 0 && now_ns >= s.sent_ns &&
                         now_ns - s.sent_ns >= cfg_.stuck_after_ns;
    const bool stuck = s.state == SlotState::Sent && (by_blocks || by_time);
    if (!lost && !stuck) continue;
    std::optional<TxFees> bumped = bump_fees(s.fees, cfg_.bump_percent, floor, cfg_.max_fee_cap_wei);
    if (!bumped) {
      if (!lost) {
        ++cap_exceeded_;
        continue;
      }
      // The node forgot it, so a resend replaces nothing and needs no bump: at its own fees
      // (accepted under the cap when it was sent) rather than never, which would leave a nonce
      // gap that holds every later transaction in the node's queue.
      bumped = s.fees;
    }
    const Replacement r{s.nonce, s.order_id, lost, s.fees, *bumped};
    if (n < out.size()) {
      // insertion sort by nonce (out is small)
      std::size_t j = n++;
      while (j > 0 && out[j - 1].nonce > r.nonce) {
        out[j] = out[j - 1];
        --j;
      }
      out[j] = r;
    } else if (!out.empty() && r.nonce < out[n - 1].nonce) {
      std::size_t j = n - 1;  // drop the highest, keep the lowest nonces
      while (j > 0 && out[j - 1].nonce > r.nonce) {
        out[j] = out[j - 1];
        --j;
      }
      out[j] = r;
    }
  }
  return n;
}

bool NonceManager::on_replaced(std::uint64_t nonce, const Hash32& hash, const TxFees& fees,
                               std::uint64_t block, std::uint64_t now_ns) noexcept {
  InFlightTx* s = tracked(nonce);
  if (s == nullptr || (s->state != SlotState::Sent && s->state != SlotState::Lost)) return false;
  // A lost transaction's resend replaces nothing in the node's pool: any fees.
  if (s->state == SlotState::Sent && !is_valid_replacement(s->fees, fees, cfg_.bump_percent)) return false;
  s->hash = hash;
  s->fees = fees;
  s->sent_block = block;
  s->sent_ns = now_ns;
  s->state = SlotState::Sent;
  ++s->attempts;
  return true;
}

bool NonceManager::abandon(std::uint64_t nonce) noexcept {
  InFlightTx* s = tracked(nonce);
  if (s == nullptr || (s->state != SlotState::Sent && s->state != SlotState::Lost)) return false;
  free_slot(*s);
  return true;
}

const InFlightTx* NonceManager::find(std::uint64_t nonce) const noexcept {
  const InFlightTx& s = slots_[nonce % cfg_.capacity];
  return (s.state != SlotState::Free && s.nonce == nonce) ? &s : nullptr;
}

std::size_t NonceManager::in_flight() const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < cfg_.capacity; ++i) n += slots_[i].state != SlotState::Free ? 1 : 0;
  return n;
}

std::vector<RecoveredTx> recovered_transactions(AuditReader& reader) {
  std::map<std::uint64_t, RecoveredTx> by_nonce;
  AuditRecordView v;
  while (reader.next(v) == ReadStatus::Record) {
    AuditTransaction t;
    protocol::ExecutionReport rep;
    if (v.as(t)) {
      RecoveredTx& r = by_nonce[t.nonce];
      if (r.attempts != 0 && r.order_id == t.order_id && r.hash != t.tx_hash) {
        r.earlier_hashes.push_back(r.hash);  // a replacement or resend of the same order
      } else if (r.order_id != t.order_id) {
        r.earlier_hashes.clear();  // the nonce went to another order
      }
      r.nonce = t.nonce;
      r.order_id = t.order_id;
      r.attempts = t.attempt + 1;
      r.sent_block = t.sent_block;
      r.settled = false;
      r.hash = t.tx_hash;
      r.fees = TxFees{t.max_fee_per_gas, t.max_priority_fee_per_gas};
    } else if (v.as(rep)) {
      const auto st = static_cast<protocol::ExecutionStatus>(rep.status);
      auto it = by_nonce.find(rep.nonce);
      if (it == by_nonce.end() || it->second.order_id != rep.order_id) continue;
      if (st == protocol::ExecutionStatus::Included || st == protocol::ExecutionStatus::Reverted ||
          st == protocol::ExecutionStatus::Failed) {
        it->second.settled = true;
      }
    }
  }
  std::vector<RecoveredTx> out;
  out.reserve(by_nonce.size());
  for (auto& [n, r] : by_nonce) out.push_back(r);
  return out;
}

}  // namespace torq::risk
