// torq/risk/nonce_manager.hpp — local nonce tracking for one sender account.
//
// Owns: NonceManager (which nonce the next transaction uses, which nonces are in flight with what
// hash and fees, when a stuck one must be replaced and with which fees, how to resynchronise with
// the node after an error, and recovery after a crash), the node-error classifier and the fee-bump
// rule. No network code: the node's pending nonce (eth_getTransactionCount(addr, "pending")) comes
// from an injected function that the lead wires to the node session; it is only called by
// recover() and resync(), never by the per-trade calls.
//
// Model: nonces below base() are used on chain or in the node's pool; acquire() hands out the
// lowest nonce >= base() that is not tracked. The in-flight table is a fixed array of `capacity`
// slots indexed by nonce % capacity; a nonce whose slot is taken by another nonce means the table
// is full (acquire() returns nullopt). Replacement fees rise by >= bump_percent (at least 10%, as
// geth/Bor require) on BOTH maxFeePerGas and maxPriorityFeePerGas, and by at least 1 wei, with the
// 25 gwei priority floor on chain 137 and an optional max-fee cap.
//
// Thread-safety: one thread (the executor). Allocation: the constructor allocates the table;
// acquire/release/on_sent/on_send_error/on_mined/find_stuck/on_replaced are noexcept and
// allocation-free; recover()/resync() call the injected function (which may block and allocate);
// recovered_transactions() allocates (start-up).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "torq/num/uint256.hpp"
#include "torq/risk/audit_log.hpp"

namespace torq::risk {

using Hash32 = std::array<std::uint8_t, 32>;

struct TxFees {
  num::U256 max_fee_per_gas = num::U256::zero();
  num::U256 max_priority_fee_per_gas = num::U256::zero();
  friend constexpr bool operator==(const TxFees&, const TxFees&) noexcept = default;
};

// What a node's error message means for the nonce (geth / Bor / Anvil wording, case-insensitive).
enum class NodeError : std::uint8_t {
  None = 0,
  NonceTooLow,             // "nonce too low"
  NonceTooHigh,            // "nonce too high" (a gap)
  AlreadyKnown,            // "already known" / "known transaction"
  ReplacementUnderpriced,  // "replacement transaction underpriced"
  Underpriced,             // "transaction underpriced" / "max fee per gas less than block base fee"
  InsufficientFunds,       // "insufficient funds"
  Other,
};
[[nodiscard]] NodeError classify_node_error(std::string_view message) noexcept;
[[nodiscard]] const char* to_string(NodeError e) noexcept;

// What the executor does next after a send error.
enum class SendAction : std::uint8_t {
  TreatAsSent,     // the node already has this exact transaction: call on_sent() as usual
  ResyncAndRetry,  // the nonce is unusable: call resync(), then sign again with acquire()
  AlreadyMined,    // a replacement hit "nonce too low": an earlier attempt was mined; fetch its receipt
  BumpAndRetry,    // replacement underpriced: bump again (find_stuck / bump_fees) and resend
  KeepWaiting,     // a replacement failed for another reason: the previous attempt is still pending
  Released,        // a new transaction failed: its nonce went back to the pool; the trade failed
  Unknown,         // the nonce is not tracked
};
[[nodiscard]] const char* to_string(SendAction a) noexcept;

struct NonceConfig {
  std::size_t capacity = 64;               // in-flight table slots (>= 1)
  std::uint64_t stuck_after_blocks = 5;    // replace a tx still pending this many blocks after sending
  std::uint64_t stuck_after_ns = 0;        // ... or this long after sending (0: blocks only). Needs the
                                           // now_ns arguments (a chain that stops producing blocks)
  std::uint32_t bump_percent = 10;         // raised to 10 if lower
  std::uint64_t chain_id = 137;            // 137: priority floor 25 gwei
  std::uint64_t min_priority_fee_wei = 0;  // additional floor
  std::uint64_t max_fee_cap_wei = 0;       // replacements never exceed this max fee (0: no cap)
};

enum class SlotState : std::uint8_t { Free = 0, Reserved, Sent, Lost };

struct InFlightTx {
  std::uint64_t nonce = 0;
  std::uint64_t order_id = 0;
  std::uint64_t sent_block = 0;
  std::uint64_t sent_ns = 0;   // caller's clock at the last send (0: unknown)
  std::uint32_t attempts = 0;  // sends of this nonce so far (1 after the first send)
  SlotState state = SlotState::Free;
  Hash32 hash{};
  TxFees fees{};
};

struct Replacement {
  std::uint64_t nonce = 0;
  std::uint64_t order_id = 0;
  bool lost = false;  // the node forgot the tx (resync): any fee works; bumped unless the bump
                      // would pass the cap, then new_fees == old_fees (a plain resend)
  TxFees old_fees{};
  TxFees new_fees{};
};

// Replacement fees: each of maxFee and priority rises to max(ceil(old * (100 + percent) / 100),
// old + 1); the priority to at least `priority_floor`; maxFee to at least the new priority.
// Empty when the new maxFee would exceed `max_fee_cap` (non-zero) or on overflow.
[[nodiscard]] std::optional<TxFees> bump_fees(const TxFees& old, std::uint32_t percent, std::uint64_t priority_floor,
                                              std::uint64_t max_fee_cap) noexcept;
// Whether `next` is an acceptable replacement of `prev` under a `percent` bump rule (both fees).
[[nodiscard]] bool is_valid_replacement(const TxFees& prev, const TxFees& next, std::uint32_t percent) noexcept;

// One transaction as remembered by the audit log (latest attempt per nonce).
struct RecoveredTx {
  std::uint64_t nonce = 0;
  std::uint64_t order_id = 0;
  std::uint64_t sent_block = 0;  // 0 when unknown
  std::uint32_t attempts = 0;
  bool settled = false;          // a receipt (included / reverted / failed) of this order was logged
  Hash32 hash{};
  TxFees fees{};
  // The order's earlier attempts at this nonce (oldest first): a replacement's record is written
  // before it is sent, so any of them may be the one mined.
  std::vector<Hash32> earlier_hashes;
};
// Reads a verified audit log (up to its first bad record) into one RecoveredTx per nonce, sorted:
// the latest order at each nonce with all of its attempts; only a report of that order (same
// order id) settles it (a nonce released by a refused order and reused by the next one is the
// next one's; the writer may log the reports of the two out of order).
[[nodiscard]] std::vector<RecoveredTx> recovered_transactions(AuditReader& reader);

struct RecoveryReport {
  bool ok = false;                          // false: the node's pending nonce was unavailable
  std::uint64_t node_pending = 0;
  std::optional<std::uint64_t> last_audit_nonce;
  std::uint64_t next_nonce = 0;             // what acquire() returns next
  std::uint64_t tracked = 0;                // unsettled txs below node_pending, tracked as in flight
  std::uint64_t reusable = 0;               // logged nonces >= node_pending: unknown to the node, reused
};
struct ResyncReport {
  bool ok = false;
  std::uint64_t node_pending = 0;
  std::uint64_t dropped = 0;  // reserved (unsent) nonces below the node's pending nonce
  std::uint64_t lost = 0;     // sent txs at or above it: the node forgot them; they must be resent
  bool stale = false;         // the node's count was below a nonce we saw mined: that floor was used
};

class NonceManager {
 public:
  using PendingNonceSource = std::function<std::optional<std::uint64_t>()>;

  NonceManager(const NonceConfig& cfg, PendingNonceSource pending_nonce);  // throws std::invalid_argument

  // Start-up: node pending nonce + the audit log's transactions. Until it succeeds (or resync()
  // does), acquire() returns nullopt.
  // `now_ns` (the caller's clock) becomes the sent time of the transactions tracked again, so the
  // time-based stuck rule counts from the restart.
  RecoveryReport recover(std::span<const RecoveredTx> audit_txs, std::uint64_t now_ns = 0);
  // After a nonce error: re-reads the node's pending nonce (see ResyncReport). Never below the
  // nonce after the highest one on_mined() saw (a lagging node's count is raised to it).
  ResyncReport resync();

  // ---- per trade (noexcept, no allocation) ----
  [[nodiscard]] std::optional<std::uint64_t> acquire() noexcept;
  bool release(std::uint64_t nonce) noexcept;  // reserved but never sent (e.g. signing failed)
  bool on_sent(std::uint64_t nonce, const Hash32& hash, const TxFees& fees, std::uint64_t block,
               std::uint64_t order_id, std::uint64_t now_ns = 0) noexcept;
  [[nodiscard]] SendAction on_send_error(std::uint64_t nonce, NodeError error) noexcept;
  // A receipt for `nonce` arrived: it and every lower tracked nonce are settled. Returns slots freed.
  std::size_t on_mined(std::uint64_t nonce) noexcept;
  // Stuck (sent >= stuck_after_blocks ago, or >= stuck_after_ns before `now_ns` when both are
  // non-zero) and lost txs, lowest nonce first, with bumped fees. Fills `out` and returns how many;
  // stuck txs whose bump would exceed the cap are skipped and counted; lost ones are then resent
  // at their own fees.
  [[nodiscard]] std::size_t find_stuck(std::uint64_t current_block, std::span<Replacement> out,
                                       std::uint64_t now_ns = 0) noexcept;
  // The replacement was accepted by the node. false if untracked or (a Sent tx) the fees violate
  // the bump rule; a Lost tx's resend takes any fees.
  bool on_replaced(std::uint64_t nonce, const Hash32& hash, const TxFees& fees, std::uint64_t block,
                   std::uint64_t now_ns = 0) noexcept;
  // Stop following a sent (or lost) transaction whose outcome the caller gave up on (e.g. after a
  // receipt timeout and a resync): it is no longer returned by find_stuck(). false if untracked.
  bool abandon(std::uint64_t nonce) noexcept;
  // The replacement fee cap (the risk gates' gas price ceiling, reloadable; 0: none).
  void set_max_fee_cap(std::uint64_t wei) noexcept { cfg_.max_fee_cap_wei = wei; }

  [[nodiscard]] const InFlightTx* find(std::uint64_t nonce) const noexcept;
  [[nodiscard]] std::size_t in_flight() const noexcept;  // Reserved + Sent + Lost
  [[nodiscard]] std::uint64_t base() const noexcept { return base_; }
  [[nodiscard]] bool ready() const noexcept { return ready_; }
  [[nodiscard]] std::uint64_t cap_exceeded() const noexcept { return cap_exceeded_; }
  // resync()s whose node count was below the nonce after our highest receipt (ignored there).
  [[nodiscard]] std::uint64_t stale_pending() const noexcept { return stale_pending_; }
  [[nodiscard]] std::uint64_t priority_floor() const noexcept;
  [[nodiscard]] const NonceConfig& config() const noexcept { return cfg_; }

 private:
  [[nodiscard]] InFlightTx& slot(std::uint64_t nonce) noexcept { return slots_[nonce % cfg_.capacity]; }
  [[nodiscard]] InFlightTx* tracked(std::uint64_t nonce) noexcept {
    InFlightTx& s = slot(nonce);
    return (s.state != SlotState::Free && s.nonce == nonce) ? &s : nullptr;
  }
  void free_slot(InFlightTx& s) noexcept { s = InFlightTx{}; }

  NonceConfig cfg_;
  PendingNonceSource pending_;
  std::unique_ptr<InFlightTx[]> slots_;
  std::uint64_t base_ = 0;
  bool ready_ = false;
  std::uint64_t cap_exceeded_ = 0;
  std::uint64_t mined_floor_ = 0;  // 1 + the highest nonce on_mined() saw: never handed out again
  std::uint64_t stale_pending_ = 0;
};

}  // namespace torq::risk
