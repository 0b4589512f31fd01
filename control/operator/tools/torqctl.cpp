// torqctl — the operator CLI for torqd's HTTP/JSON API (see docs/operator.md).
//
// Exit codes: 0 ok; 2 usage error; 3 torqd unreachable (connection refused, timeout); 4 unauthorized
// (wrong token, or the token file is missing / not 0600); 5 request rejected by torqd (bad value,
// structural reload, unknown route); 6 unexpected response from torqd (5xx, not JSON).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "torq/ops/api_server.hpp"
#include "torq/ops/cli.hpp"
#include "torq/ops/client.hpp"
#include "torq/ops/json.hpp"
#include "torq/ops/render.hpp"

namespace {

using torq::ops::json::Value;

enum Exit : int { kOk = 0, kUsage = 2, kUnreachable = 3, kUnauthorized = 4, kRejected = 5, kBadResponse = 6 };

struct Options {
  std::string url = "http://127.0.0.1:8787";
  std::string token_file = "/etc/torq/api.token";
  bool json = false;
  int timeout_ms = 5000;
};

// --url as printed in messages: without user:password@ and path, either of which may hold a secret.
std::string shown_url(const std::string& url) {
  if (url.find("://") != std::string::npos) return torq::ops::redact_url(url);
  const auto at = url.rfind('@');
  return at == std::string::npos ? url : url.substr(at + 1);
}

std::string cell(const Value* v) {
  if (v == nullptr || v->is_null()) return "-";
  if (v->is_bool()) return v->as_bool() ? "yes" : "no";
  if (v->is_string() || v->is_number()) return v->text();
  return torq::ops::json::dump(*v);
}

void print_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w(headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i) w[i] = headers[i].size();
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (std::size_t i = 0; i < headers.size(); ++i) {
      std::string c = i < r.size() ? r[i] : "";
      if (i + 1 < headers.size()) c.resize(w[i], ' ');
      out += c;
      if (i + 1 < headers.size()) out += "  ";
    }
    std::cout << out << '\n';
  };
  line(headers);
  std::vector<std::string> dashes;
  for (auto x : w) dashes.emplace_back(x, '-');
  line(dashes);
  for (const auto& r : rows) line(r);
  if (rows.empty()) std::cout << "(none)\n";
}

void print_kv(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::size_t w = 0;
  for (const auto& [k, v] : kv) w = std::max(w, k.size());
  for (const auto& [k, v] : kv) {
    std::string key = k;
    key.resize(w, ' ');
    std::cout << key << "  " << v << '\n';
  }
}

std::vector<std::vector<std::string>> rows_of(const Value& arr, const std::vector<std::string>& keys, std::size_t limit = 0) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : arr.items()) {
    if (limit && rows.size() >= limit) break;
    std::vector<std::string> r;
    for (const auto& k : keys) r.push_back(cell(item.find(k)));
    rows.push_back(std::move(r));
  }
  return rows;
}

class Ctl {
 public:
  explicit Ctl(Options o) : o_(std::move(o)) {}

  // Performs the call; on success fills doc and returns kOk, else prints a message and returns the exit code.
  int call(const std::string& method, const std::string& target, const std::string& body, Value& doc) {
    std::string token;
    try {
      token = torq::ops::load_token_file(o_.token_file);
    } catch (const std::exception& e) {
      std::cerr << "torqctl: " << e.what() << " (use --token-file or TORQ_API_TOKEN_FILE)\n";
      return kUnauthorized;
    }
    const auto r = torq::ops::http_request(o_.url, method, target, token, body, std::chrono::milliseconds(o_.timeout_ms));
    if (r.error == torq::ops::ClientError::bad_url) {
      std::cerr << "torqctl: --url " << shown_url(o_.url) << ": " << r.message << '\n';
      return kUsage;
    }
    if (r.error != torq::ops::ClientError::none) {
      std::cerr << "torqctl: torqd is not reachable at " << shown_url(o_.url) << " (" << r.message << "); is torqd running?\n";
      return kUnreachable;
    }
    auto parsed = torq::ops::json::parse(r.body);
    if (r.status == 401 || r.status == 403) {
      std::cerr << "torqctl: unauthorized: torqd refused the token from " << o_.token_file << '\n';
      return kUnauthorized;
    }
    if (r.status >= 400 && r.status < 500) {
      const Value* err = parsed ? parsed->find("error") : nullptr;
      std::cerr << "torqctl: rejected by torqd (HTTP " << r.status << "): " << (err ? err->text() : r.body) << '\n';
      return kRejected;
    }
    if (r.status < 200 || r.status >= 300 || !parsed) {
      const Value* err = parsed ? parsed->find("error") : nullptr;  // e.g. 501: reload has no config file
      std::cerr << "torqctl: unexpected response from torqd (HTTP " << r.status << ")";
      if (err != nullptr && err->is_string()) std::cerr << ": " << err->text();
      std::cerr << '\n';
      return kBadResponse;
    }
    if (o_.json) std::cout << r.body << '\n';
    doc = std::move(*parsed);
    return kOk;
  }

  int status() {
    Value d;
    if (int rc = call("GET", "/api/status", "", d); rc != kOk || o_.json) return rc;
    print_kv({{"mode", cell(d.find("mode"))},
              {"chain", cell(d.find("chain")) + " (" + cell(d.find("chain_id")) + ")"},
              {"uptime_s", cell(d.find("uptime_s"))},
              {"ready", cell(d.find("ready"))},
              {"head_block", cell(d.find("head_block"))},
              {"local_block", cell(d.find("local_block"))},
              {"block_lag", cell(d.find("block_lag"))},
              {"last_event_age_ms", cell(d.find("last_event_age_ms"))},
              {"breaker", cell(d.find("breaker"))},
              {"kill_switch", cell(d.find("kill_switch")) + (d.find("kill_switch") && d.find("kill_switch")->as_bool()
                                                                 ? " (" + cell(d.find("kill_reason")) + ")" : "")}});
    std::cout << '\n';
    if (const auto* e = d.find("endpoints")) print_table({"ENDPOINT", "CONNECTED", "RECONNECTS", "LAST_BLOCK"},
                                                         rows_of(*e, {"url", "connected", "reconnects", "last_block"}));
    std::cout << '\n';
    if (const auto* r = d.find("rings")) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& ring : r->items()) {
        char fill[32];
        std::snprintf(fill, sizeof fill, "%.1f%%", ring.find("fill_pct") ? ring.find("fill_pct")->as_double() : 0.0);
        rows.push_back({cell(ring.find("name")), fill, cell(ring.find("used_bytes")), cell(ring.find("capacity_bytes")),
                        cell(ring.find("drops"))});
      }
      print_table({"RING", "FILL", "USED", "CAPACITY", "DROPS"}, rows);
    }
    if (const auto* l = d.find("links"); l != nullptr && l->is_array() && !l->items().empty()) {  // distributed over udp://
      std::cout << '\n';
      print_table({"LINK", "DIR", "FRAMES", "GAPS", "MISSING", "LATE", "DUPLICATES", "SNAPSHOT_REQ", "RESEND_REQ", "RESENT", "UNAVAILABLE"},
                  rows_of(*l, {"name", "direction", "frames", "gaps", "missing", "late", "duplicates", "snapshot_requests",
                               "resend_requests", "resent", "resend_unavailable"}));
    }
    if (const auto* u = d.find("upstreams"); u != nullptr && u->is_array() && !u->items().empty()) {  // a standalone dashboard
      std::cout << '\n';
      print_table({"UPSTREAM", "ROLES", "UP", "LAST_OK_AGE_MS", "POLLS_FAILED", "COMMANDS_FAILED", "ERROR"},
                  rows_of(*u, {"url", "roles", "up", "last_ok_age_ms", "polls_failed", "commands_failed", "error"}));
    }
    return kOk;
  }

  int list(const std::string& target, const std::vector<std::string>& headers, const std::vector<std::string>& keys,
           std::size_t limit) {
    Value d;
    if (int rc = call("GET", target, "", d); rc != kOk || o_.json) return rc;
    print_table(headers, rows_of(d, keys, limit));
    return kOk;
  }

  int pnl() {
    Value d;
    if (int rc = call("GET", "/api/pnl", "", d); rc != kOk || o_.json) return rc;
    print_kv({{"cumulative_usd", cell(d.find("cumulative_usd"))},
              {"daily_usd", cell(d.find("daily_usd"))},
              {"peak_usd", cell(d.find("peak_usd"))},
              {"drawdown_usd", cell(d.find("drawdown_usd"))},
              {"trades_won", cell(d.find("trades_won"))},
              {"trades_lost", cell(d.find("trades_lost"))}});
    return kOk;
  }

  int risk_show() {
    Value d;
    if (int rc = call("GET", "/api/risk", "", d); rc != kOk || o_.json) return rc;
    std::vector<std::pair<std::string, std::string>> kv;
    if (const auto* l = d.find("limits")) {
      for (const auto& [k, v] : l->members()) {
        if (v.is_object()) {
          for (const auto& [sym, lim] : v.members()) kv.emplace_back(k + "." + sym, cell(&lim));
        } else {
          kv.emplace_back(k, cell(&v));
        }
      }
    }
    kv.emplace_back("in_flight", cell(d.find("in_flight")));
    kv.emplace_back("consecutive_reverts", cell(d.find("consecutive_reverts")));
    print_kv(kv);
    if (const auto* rj = d.find("rejects_by_reason"); rj && !rj->members().empty()) {
      std::cout << '\n';
      std::vector<std::vector<std::string>> rows;
      for (const auto& [k, v] : rj->members()) rows.push_back({k, cell(&v)});
      print_table({"REJECT_REASON", "COUNT"}, rows);
    }
    return kOk;
  }

  int post(const std::string& target, const std::string& body, const std::string& what) {
    Value d;
    if (int rc = call("POST", target, body, d); rc != kOk || o_.json) return rc;
    std::cout << what << " accepted (command " << cell(d.find("command_id")) << ")";
    if (const auto* ch = d.find("changed"); ch && !ch->items().empty()) {
      std::cout << "; changed:";
      for (const auto& c : ch->items()) std::cout << ' ' << c.text();
    }
    std::cout << '\n';
    return kOk;
  }

  int latency() {
    Value d;
    if (int rc = call("GET", "/api/latency", "", d); rc != kOk || o_.json) return rc;
    print_table({"STAGE", "COUNT", "MIN_NS", "P50_NS", "P90_NS", "P99_NS", "P99.9_NS", "MAX_NS"},
                rows_of(d, {"stage", "count", "min_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns"}));
    return kOk;
  }

 private:
  Options o_;
};

std::string body_of(std::initializer_list<std::pair<std::string, std::string>> kv) {
  torq::ops::json::Writer w;
  w.begin_object();
  for (const auto& [k, v] : kv) w.key(k).str(v);
  w.end_object();
  return w.take();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const char* u = std::getenv("TORQ_URL")) o.url = u;
  if (const char* t = std::getenv("TORQ_API_TOKEN_FILE")) o.token_file = t;

  CLI::App app{"torqctl — operate a running torqd through its HTTP/JSON API"};
  app.footer("Exit codes: 0 ok, 2 usage, 3 torqd unreachable, 4 unauthorized, 5 rejected, 6 unexpected response.");
  // The default shown by --help is the redacted URL: TORQ_URL may carry user:password@.
  app.add_option("--url", o.url, "torqd API base URL (env TORQ_URL)")->default_str(torq::ops::redact_url(o.url));
  app.add_option("--token-file", o.token_file, "bearer token file, mode 0600 (env TORQ_API_TOKEN_FILE)")->capture_default_str();
  app.add_flag("--json", o.json, "print the API's JSON instead of a table");
  torq::ops::cli::integer_in(app.add_option("--timeout-ms", o.timeout_ms, "request timeout")->capture_default_str(), 1, 600000);
  app.require_subcommand(1);

  bool stale = false;
  std::size_t limit = 50;
  std::string reason = "operator";
  std::string risk_key, risk_value;

  auto* status = app.add_subcommand("status", "health: mode, blocks, lag, endpoints, rings, breaker, kill switch");
  auto* pools = app.add_subcommand("pools", "pool table with freshness and quarantine");
  pools->add_flag("--stale", stale, "only stale or quarantined pools");
  auto* opps = app.add_subcommand("opportunities", "recent opportunities (newest first)");
  torq::ops::cli::integer_in(opps->add_option("--limit", limit, "rows to show (0: all kept)")->capture_default_str(), std::size_t{0},
                             std::size_t{1'000'000});
  auto* trades = app.add_subcommand("trades", "recent trades, expected vs realized P&L");
  torq::ops::cli::integer_in(trades->add_option("--limit", limit, "rows to show (0: all kept)")->capture_default_str(), std::size_t{0},
                             std::size_t{1'000'000});
  auto* pnl = app.add_subcommand("pnl", "cumulative, daily, peak, drawdown");
  auto* risk = app.add_subcommand("risk", "risk limits and counters");
  risk->require_subcommand(1);
  auto* risk_show = risk->add_subcommand("show", "limits, in-flight, rejects by reason");
  auto* risk_set = risk->add_subcommand("set", "set one limit (e.g. max_notional_usd 2500)");
  risk_set->add_option("KEY", risk_key, "limit name (see `risk show`)")->required();
  risk_set->add_option("VALUE", risk_value, "new value (USD as decimal)")->required();
  auto* kill = app.add_subcommand("kill", "engage the kill switch (no new trades)");
  kill->add_option("--reason", reason, "recorded in the audit trail")->capture_default_str();
  auto* resume = app.add_subcommand("resume", "release the kill switch");
  auto* reload = app.add_subcommand("reload", "re-read the config file (thresholds, risk limits only)");
  auto* latency = app.add_subcommand("latency", "per-stage latency percentiles");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kOk : kUsage;
  }

  Ctl ctl(o);
  if (status->parsed()) return ctl.status();
  if (pools->parsed())
    return ctl.list(stale ? "/api/pools?stale=1" : "/api/pools",
                    {"POOL", "VENUE", "PAIR", "FEE_PPM", "LAST_BLOCK", "AGE", "STALE", "QUARANTINED"},
                    {"address", "venue", "pair", "fee_ppm", "last_update_block", "age_blocks", "stale", "quarantined"}, 0);
  if (opps->parsed())
    return ctl.list("/api/opportunities", {"ID", "PATH", "SIZE", "TOKEN", "SIZE_USD", "EXPECTED_USD", "DECISION"},
                    {"id", "path", "size", "size_token", "size_usd", "expected_profit_usd", "decision"}, limit);
  if (trades->parsed())
    return ctl.list("/api/trades", {"HASH", "NONCE", "STATUS", "BLOCK", "EXPECTED_USD", "REALIZED_USD", "PATH"},
                    {"hash", "nonce", "status", "block", "expected_pnl_usd", "realized_pnl_usd", "path"}, limit);
  if (pnl->parsed()) return ctl.pnl();
  if (risk_show->parsed()) return ctl.risk_show();
  if (risk_set->parsed()) return ctl.post("/api/risk", body_of({{"key", risk_key}, {"value", risk_value}}), "risk set " + risk_key);
  if (kill->parsed()) return ctl.post("/api/kill", body_of({{"reason", reason}}), "kill");
  if (resume->parsed()) return ctl.post("/api/resume", "", "resume");
  if (reload->parsed()) return ctl.post("/api/reload", "", "reload");
  if (latency->parsed()) return ctl.latency();
  return kUsage;
}
