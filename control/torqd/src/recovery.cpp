// torqd start-up recovery from the audit log (see torq/torqd/recovery.hpp).
#include "torq/torqd/recovery.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <unordered_map>

namespace torq::torqd {

AuditRecovery read_audit_recovery(const std::string& path) {
  AuditRecovery out;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || st.st_size == 0) return out;
  out.found = true;
  // Pass 1: the nonce view of the risk library (latest attempt per nonce, settled or not).
  std::vector<risk::RecoveredTx> txs;
  {
    risk::AuditReader r(path);
    txs = risk::recovered_transactions(r);
  }
  // Pass 2: order → signal, the last Pnl, the highest order id, the stop status.
  struct TxInfo {
    std::uint64_t signal_id, chain_id, gas_limit;
  };
  std::unordered_map<std::uint64_t, TxInfo> by_order;
  {
    risk::AuditReader r(path);
    risk::AuditRecordView v;
    risk::ReadStatus s;
    while ((s = r.next(v)) == risk::ReadStatus::Record) {
      risk::AuditTransaction t;
      risk::AuditPnl p;
      protocol::ExecutionReport rep;
      if (v.as(t)) {
        by_order[t.order_id] = TxInfo{t.signal_id, t.chain_id, t.gas_limit};
        out.max_order_id = std::max(out.max_order_id, t.order_id);
      } else if (v.as(p)) {
        out.last_pnl = p;
        out.max_order_id = std::max(out.max_order_id, p.order_id);
      } else if (v.as(rep)) {
        out.max_order_id = std::max(out.max_order_id, rep.order_id);
      }
    }
    out.stop = s;
    out.valid_bytes = r.offset();
    out.records = r.records();
  }
  std::unordered_map<std::uint64_t, std::size_t> want;  // signal id → index in unsettled
  for (const auto& t : txs) {
    if (t.settled) continue;
    RecoveredOrder o;
    o.tx = t;
    if (auto it = by_order.find(t.order_id); it != by_order.end()) {
      o.signal_id = it->second.signal_id;
      o.chain_id = it->second.chain_id;
      o.gas_limit = it->second.gas_limit;
    }
    want.emplace(o.signal_id, out.unsettled.size());
    out.unsettled.push_back(o);
  }
  out.txs = std::move(txs);
  if (!want.empty()) {  // Pass 3: the signals of the unsettled orders.
    risk::AuditReader r(path);
    risk::AuditRecordView v;
    while (r.next(v) == risk::ReadStatus::Record) {
      protocol::ArbitrageSignal sig;
      if (!v.as(sig)) continue;
      auto it = want.find(sig.signal_id);
      if (it == want.end()) continue;
      out.unsettled[it->second].signal = sig;
      out.unsettled[it->second].have_signal = true;
    }
  }
  return out;
}

risk::PnlSnapshot combine_pnl(const risk::PnlSnapshot& base, const risk::PnlSnapshot& run, std::uint64_t today) noexcept {
  risk::PnlSnapshot s{};
  s.cumulative.raw = base.cumulative.raw + run.cumulative.raw;
  s.peak.raw = std::max(base.peak.raw, base.cumulative.raw + run.peak.raw);
  s.peak.raw = std::max(s.peak.raw, s.cumulative.raw);
  s.drawdown.raw = s.peak.raw - s.cumulative.raw;
  s.daily.raw = (base.day == today ? base.daily.raw : 0) + (run.day == today ? run.daily.raw : 0);
  s.day = today;
  return s;
}

risk::PnlSnapshot snapshot_of(const risk::AuditPnl& p) noexcept {
  return risk::PnlSnapshot{risk::UsdFixedPoint8{p.cumulative_usd}, risk::UsdFixedPoint8{p.peak_usd}, risk::UsdFixedPoint8{p.drawdown_usd},
                           risk::UsdFixedPoint8{p.daily_usd}, p.day};
}

bool shares_pool(std::span<const std::uint64_t> a, std::size_t na, std::span<const std::uint64_t> b, std::size_t nb) noexcept {
  na = std::min(na, a.size());
  nb = std::min(nb, b.size());
  for (std::size_t i = 0; i < na; ++i)
    for (std::size_t j = 0; j < nb; ++j)
      if (a[i] == b[j]) return true;
  return false;
}

}  // namespace torq::torqd
