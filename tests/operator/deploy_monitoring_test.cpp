// Tests for the monitoring files shipped in deploy/: the Grafana dashboard
// (deploy/grafana/torq-dashboard.json) and the Prometheus alert rules
// (deploy/prometheus/torq-alerts.yml). Every PromQL expression they hold must only use metrics
// that torqd's Prometheus renderer (render_prometheus) actually emits, with the labels those
// series carry; rate()/increase() only on counters; the alert thresholds equal the [alerts]
// section of config/polygon-mainnet.toml; the JSON parses and the YAML is well formed.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "torq/ops/config.hpp"
#include "torq/ops/json.hpp"
#include "torq/ops/render.hpp"
#include "torq/ops/state.hpp"

namespace {

using namespace torq::ops;
namespace fs = std::filesystem;

fs::path source_dir() {
  const char* s = std::getenv("TORQ_SOURCE_DIR");
  return s ? fs::path(s) : fs::path(TORQ_TEST_SOURCE_DIR);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// --- what torqd emits ---------------------------------------------------------------------------

struct Exposition {
  std::map<std::string, std::string> family_type;           // # TYPE name type
  std::map<std::string, std::set<std::string>> labels;      // sample name -> label names seen
  [[nodiscard]] bool emitted(const std::string& name) const { return labels.count(name) != 0; }
  // Type of a sample name: its family's, histogram parts included.
  [[nodiscard]] std::string type_of(const std::string& name) const {
    if (auto it = family_type.find(name); it != family_type.end()) return it->second;
    for (std::string_view suf : {"_bucket", "_sum", "_count"}) {
      if (name.size() > suf.size() && name.ends_with(suf)) {
        auto it = family_type.find(name.substr(0, name.size() - suf.size()));
        if (it != family_type.end() && it->second == "histogram") return "histogram";
      }
    }
    return "";
  }
};

// A snapshot with a row in every labelled family (endpoints, rings, event types, reject reasons,
// latency stages), so each family torqd can emit has samples.
Exposition render_full_exposition() {
  OperatorState st;
  StatusSnapshot s;
  s.mode = "monolith";
  s.chain = "polygon";
  s.chain_id = 137;
  s.head_block = 1000;
  s.local_block = 999;
  s.ready = true;
  s.started_unix_ns = unix_now_ns() - 5'000'000'000;
  s.last_event_unix_ns = unix_now_ns();
  s.endpoints.push_back({"wss://node.example/ws", true, 1, 1000});
  s.rings.push_back({"market_data", 1 << 20, 1 << 10, 0});
  s.links.push_back({"market_data", true, 10, 0, 0, 0, 1, 1, 1, 0, 0});
  s.links.push_back({"market_data", false, 10, 0, 0, 0, 0, 1, 1, 1, 0});
  s.upstreams.push_back({"http://127.0.0.1:8788", "executor", true, "", unix_now_ns(), 0, 0, 0});  // a standalone dashboard's
  st.set_status(s);
  RiskSnapshot r;
  r.rejects_by_reason["stale_state"] = 1;
  st.set_risk(r);
  Counters c;
  c.events_by_type["v2_sync"] = 3;
  c.sequence_gaps = 1;
  st.set_counters(c);
  LatencyHistogram h;
  h.record(1000);
  st.set_latency("search", h);

  Exposition e;
  std::istringstream in(render_prometheus(st.snapshot()));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      e.family_type[name] = type;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const auto brace = line.find('{');
    const auto space = line.find(' ');
    const std::string name = line.substr(0, std::min(brace, space));
    auto& set = e.labels[name];
    if (brace != std::string::npos && brace < space) {
      // label="value",label="value"} — values are quoted, names are not.
      std::size_t i = brace + 1;
      while (i < line.size() && line[i] != '}') {
        const auto eq = line.find('=', i);
        set.insert(line.substr(i, eq - i));
        i = eq + 2;  // after ="
        while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
        ++i;
        if (i < line.size() && line[i] == ',') ++i;
      }
    }
  }
  return e;
}

// --- PromQL scan --------------------------------------------------------------------------------

struct PromRefs {
  std::vector<std::string> metrics;                         // every metric selector, in order
  std::vector<std::pair<std::string, std::string>> calls;   // (function, metric) for f(metric...)
  std::vector<std::pair<std::string, std::string>> matchers;  // (metric, label) in metric{label=...}
  std::set<std::string> grouping;                           // labels in by (...) / without (...)
  bool aggregated_by = false;                               // result labels = the by (...) list
  std::string error;
};

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }

// A small lexer over the PromQL subset used in the deploy files: selectors with matchers and
// ranges, functions, aggregations with by/without, binary operators, numbers.
PromRefs scan_promql(std::string_view q) {
  static const std::set<std::string, std::less<>> kAggregations = {
      "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group"};
  static const std::set<std::string, std::less<>> kLabelLists = {"by", "without", "on", "ignoring", "group_left", "group_right"};
  static const std::set<std::string, std::less<>> kKeywords = {"and", "or", "unless", "bool", "offset"};
  PromRefs out;
  std::string open_fn;  // function whose '(' was the previous token
  std::size_t i = 0;
  auto skip_ws = [&] { while (i < q.size() && std::isspace(static_cast<unsigned char>(q[i]))) ++i; };
  auto skip_string = [&] {
    const char quote = q[i++];
    while (i < q.size() && q[i] != quote) i += q[i] == '\\' ? 2 : 1;
    if (i >= q.size()) out.error = "unterminated string";
    ++i;
  };
  while (i < q.size() && out.error.empty()) {
    const char c = q[i];
    if (std::isspace(static_cast<unsigned char>(c))) { ++i; continue; }
    if (c == '"' || c == '\'') { skip_string(); open_fn.clear(); continue; }
    if (c == '[') {
      const auto end = q.find(']', i);
      if (end == std::string_view::npos) { out.error = "unterminated range"; break; }
      i = end + 1;
      open_fn.clear();
      continue;
    }
    if (c == '{') {  // matchers of the previous metric (or of a bare {…} selector)
      ++i;
      for (;;) {
        skip_ws();
        if (i >= q.size()) { out.error = "unterminated matcher"; break; }
        if (q[i] == '}') { ++i; break; }
        if (q[i] == ',') { ++i; continue; }
        const auto start = i;
        while (i < q.size() && ident_char(q[i])) ++i;
        if (start == i) { out.error = "bad matcher"; break; }
        out.matchers.emplace_back(out.metrics.empty() ? "" : out.metrics.back(), std::string(q.substr(start, i - start)));
        skip_ws();
        while (i < q.size() && (q[i] == '=' || q[i] == '!' || q[i] == '~')) ++i;
        skip_ws();
        if (i >= q.size() || (q[i] != '"' && q[i] != '\'')) { out.error = "matcher value not quoted"; break; }
        skip_string();
      }
      open_fn.clear();
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && i + 1 < q.size() && std::isdigit(static_cast<unsigned char>(q[i + 1])))) {
      while (i < q.size() && (std::isalnum(static_cast<unsigned char>(q[i])) || q[i] == '.')) ++i;
      open_fn.clear();
      continue;
    }
    if (ident_start(c)) {
      const auto start = i;
      while (i < q.size() && ident_char(q[i])) ++i;
      const std::string id(q.substr(start, i - start));
      skip_ws();
      const bool call = i < q.size() && q[i] == '(';
      if (kLabelLists.count(id)) {
        if (!call) continue;  // group_left without a list
        if (id == "by") out.aggregated_by = true;
        ++i;
        for (;;) {
          skip_ws();
          if (i >= q.size()) { out.error = "unterminated label list"; break; }
          if (q[i] == ')') { ++i; break; }
          if (q[i] == ',') { ++i; continue; }
          const auto ls = i;
          while (i < q.size() && ident_char(q[i])) ++i;
          if (ls == i) { out.error = "bad label list"; break; }
          out.grouping.insert(std::string(q.substr(ls, i - ls)));
        }
        open_fn.clear();
        continue;
      }
      if (kAggregations.count(id) || kKeywords.count(id)) { open_fn.clear(); continue; }
      if (call) {  // function
        ++i;
        open_fn = id;
        continue;
      }
      out.metrics.push_back(id);
      if (!open_fn.empty()) out.calls.emplace_back(open_fn, id);
      open_fn.clear();
      continue;
    }
    open_fn.clear();
    ++i;  // operators, parentheses, commas
  }
  return out;
}

// Label names a template refers to: Grafana "{{name}}" / "{{ name }}", Prometheus "{{ $labels.name }}".
std::set<std::string> template_labels(std::string_view t) {
  std::set<std::string> out;
  std::size_t i = 0;
  while ((i = t.find("{{", i)) != std::string_view::npos) {
    const auto end = t.find("}}", i);
    if (end == std::string_view::npos) break;
    std::string_view inner = t.substr(i + 2, end - i - 2);
    while (!inner.empty() && inner.front() == ' ') inner.remove_prefix(1);
    while (!inner.empty() && inner.back() == ' ') inner.remove_suffix(1);
    if (inner.rfind("$labels.", 0) == 0) out.insert(std::string(inner.substr(8)));
    else if (!inner.empty() && inner[0] != '$' && inner[0] != '.') out.insert(std::string(inner));
    i = end + 2;
  }
  return out;
}

// Checks one expression against the exposition; `where` names it in messages. `templates` are the
// legend/annotation texts that show the expression's labels.
void check_expr(const Exposition& e, const std::string& where, const std::string& expr,
                const std::vector<std::string>& templates, std::set<std::string>& used) {
  SCOPED_TRACE(where + ": " + expr);
  const PromRefs r = scan_promql(expr);
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_FALSE(r.metrics.empty()) << "no metric in the expression";
  std::vector<std::string> torq;
  for (const auto& m : r.metrics) {
    if (m == "up") continue;  // Prometheus' own scrape health series
    EXPECT_TRUE(e.emitted(m)) << "metric '" << m << "' is not emitted by torqd's /metrics";
    if (e.emitted(m)) {
      torq.push_back(m);
      used.insert(m);
    }
  }
  for (const auto& [fn, m] : r.calls) {
    if (fn == "rate" || fn == "irate" || fn == "increase" || fn == "resets") {
      const auto type = e.type_of(m);
      EXPECT_TRUE(type == "counter" || type == "histogram") << fn << "() over '" << m << "', " << (type.empty() ? "not a torqd metric" : "a " + type)
                                                    << " (counters only)";
    }
  }
  for (const auto& [m, l] : r.matchers) {
    if (m.empty() || m == "up" || !e.emitted(m)) continue;
    EXPECT_TRUE(e.labels.at(m).count(l)) << "matcher on label '" << l << "' that '" << m << "' does not carry";
  }
  auto on_every_metric = [&](const std::string& l) {
    for (const auto& m : torq)
      if (!e.labels.at(m).count(l)) return false;
    return !torq.empty();
  };
  for (const auto& l : r.grouping) EXPECT_TRUE(on_every_metric(l)) << "grouping by label '" << l << "' that the metrics do not carry";
  for (const auto& t : templates) {
    for (const auto& l : template_labels(t)) {
      const bool present = r.aggregated_by ? r.grouping.count(l) != 0 : on_every_metric(l);
      EXPECT_TRUE(present) << "template '" << t << "' shows label '" << l << "' that the result does not carry";
    }
  }
}

// --- the alert rules file, read line by line -----------------------------------------------------

struct AlertRule {
  std::string alert, expr, for_, severity, summary;
  int line = 0;
};

struct AlertsFile {
  std::vector<std::string> groups;
  std::vector<AlertRule> rules;
  std::vector<std::string> errors;  // "LINE: what"
};

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

// A YAML scalar as written in the file: plain, or single/double quoted (no escapes used there).
std::string scalar(std::string_view v) {
  std::string t = trim(v);
  if (t.size() >= 2 && (t.front() == '"' || t.front() == '\'') && t.back() == t.front()) return t.substr(1, t.size() - 2);
  return t;
}

// Value of "key: value" inside a flow map "{a: b, c: "d"}" (no nesting; values without commas).
std::optional<std::string> flow_value(std::string_view map, std::string_view key) {
  std::string m = trim(map);
  if (m.size() < 2 || m.front() != '{' || m.back() != '}') return std::nullopt;
  std::string_view body(m);
  body = body.substr(1, body.size() - 2);
  std::size_t i = 0;
  while (i < body.size()) {
    std::size_t end = i;
    bool quoted = false;
    while (end < body.size() && (quoted || body[end] != ',')) {
      if (body[end] == '"') quoted = !quoted;
      ++end;
    }
    const std::string_view item = body.substr(i, end - i);
    if (const auto colon = item.find(':'); colon != std::string_view::npos && trim(item.substr(0, colon)) == key)
      return scalar(item.substr(colon + 1));
    i = end + 1;
  }
  return std::nullopt;
}

// The structure Prometheus requires: groups: [- name:, rules: [- alert:, expr:, for:, labels:,
// annotations:]]. Block scalars (expr: |) are read as the indented lines that follow.
AlertsFile read_alerts(const std::string& text) {
  AlertsFile f;
  std::vector<std::string> lines;
  {
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l)) lines.push_back(l);
  }
  auto indent = [](const std::string& l) { return l.find_first_not_of(' '); };
  bool in_groups = false, in_rules = false;
  std::size_t rule_indent = 0;
  for (std::size_t n = 0; n < lines.size(); ++n) {
    const std::string& raw = lines[n];
    const std::string line_no = std::to_string(n + 1);
    if (raw.find('\t') != std::string::npos) f.errors.push_back(line_no + ": tab in indentation");
    const std::string t = trim(raw);
    if (t.empty() || t[0] == '#') continue;
    const std::size_t ind = indent(raw);
    if (ind == 0) {
      in_groups = t == "groups:";
      if (!in_groups) f.errors.push_back(line_no + ": unexpected top-level key: " + t);
      in_rules = false;
      continue;
    }
    if (!in_groups) continue;
    if (t.rfind("- name:", 0) == 0) {
      f.groups.push_back(scalar(t.substr(7)));
      in_rules = false;
      continue;
    }
    if (t == "rules:") {
      in_rules = true;
      rule_indent = 0;
      continue;
    }
    if (!in_rules) {
      f.errors.push_back(line_no + ": unexpected line in a group: " + t);
      continue;
    }
    std::string body = t;
    if (t.rfind("- ", 0) == 0) {  // a new rule
      if (rule_indent == 0) rule_indent = ind;
      if (ind != rule_indent) f.errors.push_back(line_no + ": rule list item at indent " + std::to_string(ind));
      f.rules.push_back(AlertRule{});
      f.rules.back().line = static_cast<int>(n + 1);
      body = trim(t.substr(2));
    } else if (f.rules.empty() || ind != rule_indent + 2) {
      f.errors.push_back(line_no + ": rule key at indent " + std::to_string(ind) + " (expected " + std::to_string(rule_indent + 2) + ")");
      continue;
    }
    const auto colon = body.find(':');
    if (colon == std::string::npos) {
      f.errors.push_back(line_no + ": not a key: value line: " + body);
      continue;
    }
    const std::string key = body.substr(0, colon);
    std::string value = trim(body.substr(colon + 1));
    if (value == "|" || value == ">" || value == "|-" || value == ">-") {  // block scalar
      std::string block;
      while (n + 1 < lines.size() && (trim(lines[n + 1]).empty() || indent(lines[n + 1]) > rule_indent + 2)) {
        ++n;
        if (!block.empty()) block += value[0] == '|' ? "\n" : " ";
        block += trim(lines[n]);
      }
      value = block;
    }
    AlertRule& r = f.rules.back();
    if (key == "alert") r.alert = scalar(value);
    else if (key == "expr") r.expr = scalar(value);
    else if (key == "for") r.for_ = scalar(value);
    else if (key == "labels") r.severity = flow_value(value, "severity").value_or("");
    else if (key == "annotations") r.summary = flow_value(value, "summary").value_or("");
    else if (key != "keep_firing_for") f.errors.push_back(line_no + ": unknown rule key '" + key + "'");
  }
  return f;
}

const fs::path kDashboard = "deploy/grafana/torq-dashboard.json";
const fs::path kAlerts = "deploy/prometheus/torq-alerts.yml";

// --- Grafana dashboard --------------------------------------------------------------------------

TEST(GrafanaDashboard, ShouldParseAndQueryOnlyMetricsTorqdEmits) {
  const auto text = read_text(source_dir() / kDashboard);
  ASSERT_FALSE(text.empty()) << kDashboard.string();
  json::ParseError pe;
  const auto doc = json::parse(text, &pe);
  ASSERT_TRUE(doc.has_value()) << kDashboard.string() << ": offset " << pe.offset << ": " << pe.message;
  ASSERT_TRUE(doc->is_object());
  ASSERT_NE(doc->find("uid"), nullptr);
  ASSERT_NE(doc->find("panels"), nullptr);
  // The panels' datasource is the ${DS_PROMETHEUS} input the file declares.
  bool declares_ds = false;
  if (const auto* in = doc->find("__inputs"))
    for (const auto& i : in->items())
      if (i.find("name") && i.find("name")->text() == "DS_PROMETHEUS") declares_ds = true;
  EXPECT_TRUE(declares_ds);

  const Exposition e = render_full_exposition();
  std::set<std::string> used;
  std::set<std::string> ids;
  std::size_t targets = 0;
  for (const auto& p : doc->find("panels")->items()) {
    const std::string title = p.find("title") ? p.find("title")->text() : "?";
    ASSERT_NE(p.find("id"), nullptr) << title;
    EXPECT_TRUE(ids.insert(p.find("id")->text()).second) << "duplicate panel id " << p.find("id")->text();
    const auto* ds = p.find("datasource");
    ASSERT_NE(ds, nullptr) << title;
    EXPECT_EQ(ds->find("type") ? ds->find("type")->text() : "", "prometheus") << title;
    EXPECT_EQ(ds->find("uid") ? ds->find("uid")->text() : "", "${DS_PROMETHEUS}") << title;
    const auto* ts = p.find("targets");
    ASSERT_NE(ts, nullptr) << title;
    ASSERT_FALSE(ts->items().empty()) << title;
    std::set<std::string> refs;
    for (const auto& t : ts->items()) {
      ASSERT_NE(t.find("expr"), nullptr) << title;
      const std::string ref = t.find("refId") ? t.find("refId")->text() : "";
      EXPECT_TRUE(refs.insert(ref).second) << title << ": duplicate refId " << ref;
      std::vector<std::string> legends;
      if (const auto* lf = t.find("legendFormat")) legends.push_back(lf->text());
      check_expr(e, "panel '" + title + "' " + ref, t.find("expr")->text(), legends, used);
      ++targets;
    }
  }
  EXPECT_GE(targets, 15u);
  // The panels docs/operator.md lists: P&L, lag, breaker, events, opportunities, transactions,
  // ring fill, latency (histogram), drops/gaps/reorgs, endpoints.
  for (const char* m : {"torq_realized_pnl_usd", "torq_block_lag", "torq_breaker_open", "torq_events_total",
                        "torq_opportunities_found_total", "torq_tx_sent_total", "torq_ring_used_bytes",
                        "torq_stage_latency_seconds_bucket", "torq_ring_drops_total", "torq_sequence_gaps_total",
                        "torq_reorgs_total", "torq_endpoint_connected"})
    EXPECT_TRUE(used.count(m)) << "no panel shows " << m;
}

// --- Prometheus alert rules ---------------------------------------------------------------------

TEST(PrometheusAlerts, ShouldBeWellFormedAndUseOnlyMetricsTorqdEmits) {
  const auto text = read_text(source_dir() / kAlerts);
  ASSERT_FALSE(text.empty()) << kAlerts.string();
  const AlertsFile f = read_alerts(text);
  for (const auto& err : f.errors) ADD_FAILURE() << kAlerts.string() << ":" << err;
  ASSERT_EQ(f.groups.size(), 1u);
  EXPECT_EQ(f.groups[0], "torq");
  ASSERT_GE(f.rules.size(), 12u);

  const Exposition e = render_full_exposition();
  std::set<std::string> names, used;
  for (const auto& r : f.rules) {
    const std::string where = kAlerts.string() + ":" + std::to_string(r.line) + " " + r.alert;
    EXPECT_FALSE(r.alert.empty()) << where << ": no alert name";
    EXPECT_TRUE(names.insert(r.alert).second) << where << ": duplicate alert name";
    EXPECT_TRUE(r.severity == "critical" || r.severity == "warning" || r.severity == "info") << where << ": severity '" << r.severity << "'";
    EXPECT_FALSE(r.summary.empty()) << where << ": no summary annotation";
    if (!r.for_.empty()) {
      const auto unit = r.for_.find_first_not_of("0123456789");
      EXPECT_TRUE(unit > 0 && unit != std::string::npos && r.for_.substr(unit).find_first_not_of("smhd") == std::string::npos)
          << where << ": for: '" << r.for_ << "' is not a duration";
    }
    ASSERT_FALSE(r.expr.empty()) << where << ": no expr";
    check_expr(e, where, r.expr, {r.summary}, used);
  }
  // The conditions docs/operator.md lists for this file.
  for (const char* m : {"torq_ready", "torq_block_lag", "torq_last_event_age_seconds", "torq_endpoint_connected",
                        "torq_breaker_open", "torq_kill_switch", "torq_drawdown_usd", "torq_ring_used_bytes",
                        "torq_ring_drops_total", "torq_sequence_gaps_total", "torq_tx_reverted_total"})
    EXPECT_TRUE(used.count(m)) << "no alert uses " << m;
}

// The number after "METRIC >" in an expression, if any.
std::optional<double> threshold_after(const std::string& expr, const std::string& lhs) {
  const auto p = expr.find(lhs);
  if (p == std::string::npos) return std::nullopt;
  auto i = p + lhs.size();
  while (i < expr.size() && expr[i] == ' ') ++i;
  if (i >= expr.size() || expr[i] != '>') return std::nullopt;
  ++i;
  char* end = nullptr;
  const double v = std::strtod(expr.c_str() + i, &end);
  if (end == expr.c_str() + i) return std::nullopt;
  return v;
}

TEST(PrometheusAlerts, ThresholdsShouldMatchTheMainnetSampleAlertsSection) {
  LoadOptions o;
  o.getenv = [](const std::string& n) -> std::optional<std::string> {
    if (n == "POLYGON_WSS_URL") return "wss://polygon.example/ws";
    if (n == "POLYGON_HTTPS_URL") return "https://polygon.example";
    return std::nullopt;
  };
  const auto cfg = load_config_file(source_dir() / "config/polygon-mainnet.toml", o);
  const AlertsFile f = read_alerts(read_text(source_dir() / kAlerts));
  std::map<std::string, std::string> expr;
  for (const auto& r : f.rules) expr[r.alert] = r.expr;
  auto expect = [&](const char* alert, const char* lhs, double want) {
    ASSERT_TRUE(expr.count(alert)) << "no alert " << alert;
    const auto got = threshold_after(expr[alert], lhs);
    ASSERT_TRUE(got.has_value()) << alert << ": no '" << lhs << " > N' in " << expr[alert];
    EXPECT_DOUBLE_EQ(*got, want) << alert << ": " << expr[alert];
  };
  expect("TorqBlockLag", "torq_block_lag", static_cast<double>(cfg.alerts.block_lag_blocks));
  expect("TorqNoEvents", "torq_last_event_age_seconds", cfg.alerts.no_events_s);
  expect("TorqDrawdown", "torq_drawdown_usd", static_cast<double>(cfg.alerts.drawdown_usd.raw) / 1e8);
  expect("TorqRingFill", "torq_ring_capacity_bytes", cfg.alerts.ring_fill_pct / 100.0);
}

// Cross-check of the line reader with a real YAML parser when python3 and PyYAML are installed:
// the file must load, and give the same alerts and expressions.
TEST(PrometheusAlerts, ShouldLoadWithAYamlParserAsTheSameRules) {
  const fs::path file = source_dir() / kAlerts;
  const std::string cmd =
      "python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' '" + file.string() +
      "' 2>&1";
  if (std::system("python3 -c 'import yaml' >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 with PyYAML is not installed";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ASSERT_EQ(::pclose(p), 0) << "PyYAML refused " << file << ": " << out;
  const auto doc = json::parse(out);
  ASSERT_TRUE(doc.has_value()) << out;
  const auto* groups = doc->find("groups");
  ASSERT_NE(groups, nullptr);
  ASSERT_EQ(groups->items().size(), 1u);
  const auto* rules = groups->items()[0].find("rules");
  ASSERT_NE(rules, nullptr);
  const AlertsFile f = read_alerts(read_text(file));
  ASSERT_EQ(rules->items().size(), f.rules.size());
  for (std::size_t i = 0; i < f.rules.size(); ++i) {
    const auto& y = rules->items()[i];
    EXPECT_EQ(y.find("alert") ? y.find("alert")->text() : "", f.rules[i].alert);
    EXPECT_EQ(y.find("expr") ? y.find("expr")->text() : "", f.rules[i].expr);
    const auto* labels = y.find("labels");
    EXPECT_EQ(labels && labels->find("severity") ? labels->find("severity")->text() : "", f.rules[i].severity);
    const auto* ann = y.find("annotations");
    EXPECT_EQ(ann && ann->find("summary") ? ann->find("summary")->text() : "", f.rules[i].summary);
  }
}

// --- the checker itself --------------------------------------------------------------------------

TEST(DeployMonitoringChecker, ShouldCatchUnknownMetricsWrongLabelsAndRateOverGauges) {
  const Exposition e = render_full_exposition();
  // Histogram parts are emitted; the family name alone is not a series.
  EXPECT_TRUE(e.emitted("torq_stage_latency_seconds_bucket"));
  EXPECT_TRUE(e.emitted("torq_stage_latency_seconds_count"));
  EXPECT_FALSE(e.emitted("torq_stage_latency_seconds"));
  EXPECT_TRUE(e.labels.at("torq_stage_latency_seconds_bucket").count("le"));
  // Every family the renderer declares has samples in the snapshot used above.
  for (const auto& [name, type] : e.family_type) {
    if (type == "histogram") EXPECT_TRUE(e.emitted(name + "_bucket")) << name;
    else EXPECT_TRUE(e.emitted(name)) << name;
  }
  std::set<std::string> used;
  auto failures = [&](const std::string& expr, std::vector<std::string> templates = {}) {
    ::testing::TestPartResultArray results;
    {
      ::testing::ScopedFakeTestPartResultReporter rep(::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
      check_expr(e, "probe", expr, templates, used);
    }
    return results.size();
  };
  EXPECT_EQ(failures("sum by (stage, le) (rate(torq_stage_latency_seconds_bucket[5m]))", {"{{stage}}"}), 0);
  EXPECT_EQ(failures("torq_ring_used_bytes / torq_ring_capacity_bytes > 0.8", {"ring {{ $labels.ring }} full"}), 0);
  EXPECT_EQ(failures("up{job=\"torqd\"} == 0"), 0);
  EXPECT_GT(failures("torq_sequence_gaps"), 0);                                   // no such series
  EXPECT_GT(failures("torq_stage_latency_seconds"), 0);                           // histogram family name
  EXPECT_GT(failures("rate(torq_block_lag[5m])"), 0);                             // rate over a gauge
  EXPECT_GT(failures("sum by (pool) (rate(torq_events_total[1m]))"), 0);          // label not carried
  EXPECT_GT(failures("torq_ring_drops_total", {"{{endpoint}}"}), 0);              // legend label not carried
  EXPECT_GT(failures("sum by (type) (rate(torq_events_total[1m]))", {"{{ring}}"}), 0);  // dropped by the aggregation
  EXPECT_GT(failures("torq_events_total{reason=\"x\"}"), 0);                      // matcher label not carried
}

TEST(DeployMonitoringChecker, ShouldReadAlertRulesAndReportStructureErrors) {
  const auto ok = read_alerts(
      "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: |\n          torq_up\n          == 0\n"
      "        for: 1m\n        labels: {severity: critical}\n        annotations: {summary: \"x, y\"}\n");
  EXPECT_TRUE(ok.errors.empty()) << ok.errors.front();
  ASSERT_EQ(ok.rules.size(), 1u);
  EXPECT_EQ(ok.rules[0].expr, "torq_up\n== 0");
  EXPECT_EQ(ok.rules[0].severity, "critical");
  EXPECT_EQ(ok.rules[0].summary, "x, y");
  EXPECT_FALSE(read_alerts("group:\n  - name: g\n").errors.empty());
  EXPECT_FALSE(read_alerts("groups:\n  - name: g\n    rules:\n      - alert: A\n         expr: x\n").errors.empty());
  EXPECT_FALSE(read_alerts("groups:\n  - name: g\n    rules:\n      - alert: A\n        exp: x\n").errors.empty());
}

}  // namespace
