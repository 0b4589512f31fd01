// torq/torqd/recovery.hpp — torqd's start-up recovery from its own audit log after a crash
// (docs/risk-and-audit.md §5, docs/torqd.md "Crash recovery"): the transactions that were sent
// (or about to be sent) without a logged outcome, the last booked P&L, and the highest order id;
// plus combine_pnl(), which continues the restored P&L with the running tracker's, and
// shares_pool(), the in-flight pool conflict test of the executor's stale-signal rule.
//
// Thread-safety: read_audit_recovery() is start-up code (one thread; allocates and may throw on
// I/O errors other than a missing file). combine_pnl() and shares_pool() are pure, noexcept and
// allocation-free (any thread).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "torq/protocol/tlv_types.hpp"
#include "torq/risk/audit_log.hpp"
#include "torq/risk/nonce_manager.hpp"
#include "torq/risk/pnl.hpp"

namespace torq::torqd {

// One unsettled transaction of the log (latest attempt per nonce, no Included/Reverted/Failed
// receipt) with what the executor needs to book it.
struct RecoveredOrder {
  risk::RecoveredTx tx{};
  std::uint64_t signal_id = 0;
  std::uint64_t chain_id = 0;
  std::uint64_t gas_limit = 0;
  bool have_signal = false;             // the Signal record was found (pools, tokens, expected P&L)
  protocol::ArbitrageSignal signal{};
};

struct AuditRecovery {
  bool found = false;                    // the file existed
  risk::ReadStatus stop = risk::ReadStatus::End;  // End, Torn (tail cut by AuditLog::open) or Corrupt
  std::uint64_t valid_bytes = 0;         // bytes of verified records (the truncation point)
  std::uint64_t records = 0;
  std::uint64_t max_order_id = 0;        // new orders continue above it (ids stay unique)
  std::optional<risk::AuditPnl> last_pnl;  // the last Pnl record: cumulative, peak, daily, day
  std::vector<RecoveredOrder> unsettled;   // by nonce, ascending
  std::vector<risk::RecoveredTx> txs;      // every logged nonce (latest attempt), for NonceManager::recover
};

// Reads `path` up to its first bad record (a torn tail is tolerated). A missing file → found=false.
[[nodiscard]] AuditRecovery read_audit_recovery(const std::string& path);

// The P&L after a restart: `base` (restored from the log) continued by `run` (this process's
// PnlTracker, which starts at 0). cumulative = base + run; peak = max(base.peak, base.cumulative +
// run.peak); daily = the parts that belong to `today` (UTC day number); day = today.
[[nodiscard]] risk::PnlSnapshot combine_pnl(const risk::PnlSnapshot& base, const risk::PnlSnapshot& run,
                                            std::uint64_t today) noexcept;
// The snapshot a Pnl record carries.
[[nodiscard]] risk::PnlSnapshot snapshot_of(const risk::AuditPnl& p) noexcept;

// Whether the first `na` pools of `a` and the first `nb` pools of `b` have one in common.
[[nodiscard]] bool shares_pool(std::span<const std::uint64_t> a, std::size_t na, std::span<const std::uint64_t> b,
                               std::size_t nb) noexcept;

}  // namespace torq::torqd
