// torq-audit: verifies every record of a Torq audit log and prints it.
//
//   torq-audit [--json] [--quiet] FILE
//
// Text output: one line per record, then a summary line. --json: one JSON document
// {"file":..., "records":[...], "status":..., ...}. --quiet: summary only.
// Exit status: 0 the log is clean to its end; 2 torn tail (crash mid-write: every record before
// stop_offset is valid); 3 corrupt record at stop_offset; 1 usage or I/O error.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include "torq/num/usd_fixed.hpp"
#include "torq/risk/audit_log.hpp"
#include "torq/risk/risk_gates.hpp"

namespace {

using namespace torq;
using namespace torq::risk;

// Emits "key":value (json) or key=value (text) pairs for one record.
class Out {
 public:
  explicit Out(bool json) : json_(json) {}
  void begin() {
    first_ = true;
    std::fputs(json_ ? "    {" : "", stdout);
  }
  void end(bool last_in_array) {
    if (json_) std::printf("}%s\n", last_in_array ? "" : ",");
    else std::fputc('\n', stdout);
  }
  void num(const char* k, unsigned long long v) { raw(k, std::to_string(v), false); }
  void snum(const char* k, long long v) { raw(k, std::to_string(v), false); }
  void str(const char* k, std::string_view v) { raw(k, std::string(v), true); }
  void usd(const char* k, std::int64_t raw_usd) { raw(k, num::to_string(num::UsdFixedPoint8{raw_usd}), true); }
  void u256(const char* k, const num::U256& v) { raw(k, v.to_string(), true); }
  void i256(const char* k, const num::I256& v) { raw(k, v.to_string(), true); }
  template <std::size_t N>
  void hex(const char* k, const std::array<std::uint8_t, N>& b) {
    std::string s = "0x";
    static const char* d = "0123456789abcdef";
    for (std::uint8_t x : b) {
      s.push_back(d[x >> 4]);
      s.push_back(d[x & 15]);
    }
    raw(k, s, true);
  }

 private:
  void raw(const char* k, const std::string& v, bool quoted) {
    if (json_) {
      std::printf("%s\"%s\":%s%s%s", first_ ? "" : ",", k, quoted ? "\"" : "", v.c_str(), quoted ? "\"" : "");
    } else {
      std::printf("%s%s=%s", first_ ? "" : " ", k, v.c_str());
    }
    first_ = false;
  }
  bool json_;
  bool first_ = true;
};

void print_record(Out& o, const AuditRecordView& v) {
  o.num("seq", v.sequence);
  o.num("offset", v.offset);
  o.num("timestamp_ns", v.timestamp_ns);
  o.str("type", to_string(v.type));
  AuditStart st;
  protocol::ArbitrageSignal sig;
  AuditDecision dec;
  AuditTransaction tx;
  protocol::ExecutionReport rep;
  AuditPnl pnl;
  AuditDropped dr;
  AuditNonce nn;
  if (v.as(st)) {
    o.num("pid", st.pid);
    o.num("truncated_bytes", st.truncated_bytes);
    o.num("prior_records", st.prior_records);
  } else if (v.as(sig)) {
    o.num("signal_id", sig.signal_id);
    o.num("block", sig.block_number);
    o.num("hops", sig.hop_count);
    o.num("token_in", sig.tokens[0]);
    o.u256("amount_in", sig.amount_in);
    o.u256("expected_profit", sig.expected_profit);
    o.usd("net_profit_usd", sig.net_profit_usd);
    o.num("gas_units", sig.gas_units);
  } else if (v.as(dec)) {
    o.num("signal_id", dec.signal_id);
    o.str("decision", dec.accepted != 0 ? "accept" : "reject");
    o.str("reason", to_string(static_cast<RejectReason>(dec.reason)));
    o.num("reason_code", dec.reason);
    o.str("breaker", to_string(static_cast<BreakerState>(dec.breaker_state)));
    o.num("token_in", dec.token_in);
    o.u256("amount_in", dec.amount_in);
    o.usd("notional_usd", dec.notional_usd);
    o.u256("max_fee_per_gas", dec.max_fee_per_gas);
    o.u256("max_priority_fee_per_gas", dec.max_priority_fee_per_gas);
  } else if (v.as(tx)) {
    o.num("order_id", tx.order_id);
    o.num("signal_id", tx.signal_id);
    o.num("nonce", tx.nonce);
    o.num("chain_id", tx.chain_id);
    o.num("attempt", tx.attempt);
    o.str("kind", tx.kind == 1 ? "new" : tx.kind == 2 ? "replacement" : tx.kind == 3 ? "resend" : "unknown");
    o.hex("tx_hash", tx.tx_hash);
    o.hex("sender", tx.sender);
    o.num("gas_limit", tx.gas_limit);
    o.num("sent_block", tx.sent_block);
    o.u256("max_fee_per_gas", tx.max_fee_per_gas);
    o.u256("max_priority_fee_per_gas", tx.max_priority_fee_per_gas);
  } else if (v.as(rep)) {
    static const char* names[] = {"?", "rejected", "submitted", "included", "reverted", "failed", "replaced"};
    o.num("order_id", rep.order_id);
    o.num("signal_id", rep.signal_id);
    o.num("nonce", rep.nonce);
    o.num("block", rep.block_number);
    o.str("status", rep.status < 7 ? names[rep.status] : "?");
    o.str("reject_reason", to_string(static_cast<RejectReason>(rep.reject_reason)));
    o.hex("tx_hash", rep.tx_hash);
    o.num("gas_used", rep.gas_used);
    o.u256("effective_gas_price", rep.effective_gas_price);
    o.i256("realized_profit", rep.realized_profit);
    o.usd("realized_pnl_usd", rep.realized_pnl_usd);
    o.usd("expected_pnl_usd", rep.expected_pnl_usd);
  } else if (v.as(pnl)) {
    o.num("order_id", pnl.order_id);
    o.num("signal_id", pnl.signal_id);
    o.num("token_in", pnl.token_in);
    o.usd("profit_usd", pnl.profit_usd);
    o.usd("gas_usd", pnl.gas_usd);
    o.usd("net_usd", pnl.net_usd);
    o.usd("expected_usd", pnl.expected_usd);
    o.usd("cumulative_usd", pnl.cumulative_usd);
    o.usd("peak_usd", pnl.peak_usd);
    o.usd("drawdown_usd", pnl.drawdown_usd);
    o.usd("daily_usd", pnl.daily_usd);
    o.num("day", pnl.day);
  } else if (v.as(dr)) {
    o.num("dropped_total", dr.dropped_total);
    o.num("channel", dr.channel);
  } else if (v.as(nn)) {
    o.str("event", nn.kind == 1 ? "recovery" : nn.kind == 2 ? "resync" : "?");
    o.num("node_pending", nn.node_pending);
    o.num("next_nonce", nn.next_nonce);
    o.num("tracked", nn.tracked);
  }
}

std::string json_escape(std::string_view in) {
  std::string s;
  for (const char c : in) {
    if (c == '"' || c == '\\') {
      s.push_back('\\');
      s.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(c));
      s += b;
    } else {
      s.push_back(c);
    }
  }
  return s;
}

int usage() {
  std::fputs("usage: torq-audit [--json] [--quiet] FILE\n"
             "Verifies every record (length, CRC32C, type, sequence) and prints the log.\n"
             "exit: 0 clean, 2 torn tail, 3 corrupt record, 1 error\n",
             stderr);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  bool quiet = false;
  const char* file = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--json") json = true;
    else if (a == "--quiet") quiet = true;
    else if (a == "--help" || a == "-h") return usage();
    else if (!a.empty() && a[0] == '-') return usage();
    else if (file == nullptr) file = argv[i];
    else return usage();
  }
  if (file == nullptr) return usage();
  try {
    AuditReader reader(file);
    Out out(json);
    if (json) std::printf("{\"file\":\"%s\",\n  \"records\":[\n", json_escape(file).c_str());
    AuditRecordView v;
    ReadStatus s;
    // Print lazily so that JSON commas are right: hold one record back.
    AuditRecordView held;
    bool have_held = false;
    while ((s = reader.next(v)) == ReadStatus::Record) {
      if (!quiet) {
        if (have_held) {
          out.begin();
          print_record(out, held);
          out.end(false);
        }
        held = v;
        have_held = true;
      }
    }
    if (have_held) {
      out.begin();
      print_record(out, held);
      out.end(true);
    }
    const std::uint64_t valid = reader.offset();
    if (json) {
      std::printf("  ],\n  \"status\":\"%s\",\"corrupt_kind\":\"%s\",\"records_ok\":%llu,\"last_sequence\":%llu,"
                  "\"valid_bytes\":%llu,\"file_bytes\":%llu,\"stop_offset\":%llu}\n",
                  to_string(s), to_string(reader.corrupt_kind()), static_cast<unsigned long long>(reader.records()),
                  static_cast<unsigned long long>(reader.last_sequence()), static_cast<unsigned long long>(valid),
                  static_cast<unsigned long long>(reader.size()), static_cast<unsigned long long>(valid));
    } else {
      std::printf("status=%s corrupt_kind=%s records_ok=%llu last_sequence=%llu valid_bytes=%llu file_bytes=%llu%s\n",
                  to_string(s), to_string(reader.corrupt_kind()), static_cast<unsigned long long>(reader.records()),
                  static_cast<unsigned long long>(reader.last_sequence()), static_cast<unsigned long long>(valid),
                  static_cast<unsigned long long>(reader.size()),
                  s == ReadStatus::End ? "" : (" stop_offset=" + std::to_string(valid)).c_str());
    }
    return s == ReadStatus::End ? 0 : s == ReadStatus::Torn ? 2 : 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torq-audit: %s\n", e.what());
    return 1;
  }
}
