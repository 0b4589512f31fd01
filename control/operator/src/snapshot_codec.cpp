// Lossless JSON form of the operator Snapshot (see torq/ops/snapshot_codec.hpp).
#include "torq/ops/snapshot_codec.hpp"

#include <vector>

#include "torq/ops/json.hpp"
#include "torq/ops/render.hpp"

namespace torq::ops {

namespace {

void write_limits(json::Writer& w, const RiskConfig& l) {
  w.begin_object();
  w.key("max_notional_usd").num(l.max_notional_usd.raw);
  w.key("per_token_exposure_usd").begin_object();
  for (const auto& [k, v] : l.per_token_exposure_usd) w.key(k).num(v.raw);
  w.end_object();
  w.key("max_in_flight").num(l.max_in_flight);
  w.key("daily_loss_usd").num(l.daily_loss_usd.raw);
  w.key("max_drawdown_usd").num(l.max_drawdown_usd.raw);
  w.key("breaker_reverts").num(l.breaker_reverts);
  w.key("breaker_cooldown_s").num(l.breaker_cooldown_s);
  w.key("stale_blocks").num(l.stale_blocks);
  w.key("max_gas_price_gwei").num(l.max_gas_price_gwei);
  w.key("kill_switch").boolean(l.kill_switch);
  w.end_object();
}

// Reads fields of one JSON object; the first problem is kept (with its key) and every later read
// returns a default, so a decoder is a straight sequence of reads followed by one ok() check.
class Reader {
 public:
  Reader(const json::Value* v, std::string path, std::string* err) : v_(v), path_(std::move(path)), err_(err) {
    if (v_ == nullptr || !v_->is_object()) fail("", "not an object");
  }
  [[nodiscard]] const json::Value* get(std::string_view k) {
    if (v_ == nullptr || !v_->is_object()) return nullptr;
    const json::Value* x = v_->find(k);
    if (x == nullptr) fail(k, "missing");
    return x;
  }
  std::uint64_t u64(std::string_view k) {
    const json::Value* x = get(k);
    if (x == nullptr) return 0;
    auto n = x->as_uint();
    if (!n) fail(k, "not an unsigned integer");
    return n.value_or(0);
  }
  std::uint32_t u32(std::string_view k) {
    const std::uint64_t n = u64(k);
    if (n > UINT32_MAX) fail(k, "out of range");
    return static_cast<std::uint32_t>(n);
  }
  std::int64_t i64(std::string_view k) {
    const json::Value* x = get(k);
    if (x == nullptr) return 0;
    auto n = x->as_int();
    if (!n) fail(k, "not an integer");
    return n.value_or(0);
  }
  UsdFixedPoint8 usd(std::string_view k) { return UsdFixedPoint8{i64(k)}; }
  std::string str(std::string_view k) {
    const json::Value* x = get(k);
    if (x == nullptr) return {};
    if (!x->is_string()) fail(k, "not a string");
    return x->is_string() ? x->text() : std::string{};
  }
  bool boolean(std::string_view k) {
    const json::Value* x = get(k);
    if (x == nullptr) return false;
    if (!x->is_bool()) fail(k, "not a boolean");
    return x->is_bool() && x->as_bool();
  }
  const std::vector<json::Value>& array(std::string_view k) {
    static const std::vector<json::Value> kEmpty;
    const json::Value* x = get(k);
    if (x == nullptr) return kEmpty;
    if (!x->is_array()) {
      fail(k, "not an array");
      return kEmpty;
    }
    return x->items();
  }
  const json::Value* object(std::string_view k) {
    const json::Value* x = get(k);
    if (x != nullptr && !x->is_object()) {
      fail(k, "not an object");
      return nullptr;
    }
    return x;
  }
  Reader sub(std::string_view k) { return Reader(object(k), path_ + "." + std::string(k), err_); }
  Reader item(std::string_view k, const json::Value& v, std::size_t i) const {
    return Reader(&v, path_ + "." + std::string(k) + "[" + std::to_string(i) + "]", err_);
  }
  void fail(std::string_view k, std::string_view why) {
    if (!err_->empty()) return;
    *err_ = path_ + (k.empty() ? "" : "." + std::string(k)) + ": " + std::string(why);
  }
  [[nodiscard]] bool ok() const { return err_->empty(); }
  [[nodiscard]] const json::Value* value() const { return v_; }

 private:
  const json::Value* v_;
  std::string path_;
  std::string* err_;
};

RiskConfig read_limits(Reader r) {
  RiskConfig l;
  l.max_notional_usd = r.usd("max_notional_usd");
  if (const json::Value* m = r.object("per_token_exposure_usd")) {
    for (const auto& [k, v] : m->members()) {
      auto n = v.as_int();
      if (!n) r.fail("per_token_exposure_usd." + k, "not an integer");
      l.per_token_exposure_usd[k] = UsdFixedPoint8{n.value_or(0)};
    }
  }
  l.max_in_flight = r.u32("max_in_flight");
  l.daily_loss_usd = r.usd("daily_loss_usd");
  l.max_drawdown_usd = r.usd("max_drawdown_usd");
  l.breaker_reverts = r.u32("breaker_reverts");
  l.breaker_cooldown_s = r.u32("breaker_cooldown_s");
  l.stale_blocks = r.u32("stale_blocks");
  l.max_gas_price_gwei = r.u64("max_gas_price_gwei");
  l.kill_switch = r.boolean("kill_switch");
  return l;
}

}  // namespace

std::string encode_snapshot(const Snapshot& s) {
  json::Writer w;
  w.begin_object();
  w.key("format").num(kSnapshotFormat);
  w.key("version").num(s.version);
  w.key("taken_unix_ns").num(s.taken_unix_ns);

  const StatusSnapshot& st = s.status;
  w.key("status").begin_object();
  w.key("mode").str(st.mode).key("roles").str(st.roles).key("chain").str(st.chain).key("chain_id").num(st.chain_id);
  w.key("started_unix_ns").num(st.started_unix_ns);
  w.key("endpoints").begin_array();
  for (const auto& e : st.endpoints)
    w.begin_object().key("url").str(redact_url(e.url)).key("connected").boolean(e.connected).key("reconnects").num(e.reconnects)
        .key("last_block").num(e.last_block).end_object();
  w.end_array();
  w.key("head_block").num(st.head_block).key("local_block").num(st.local_block);
  w.key("rings").begin_array();
  for (const auto& r : st.rings)
    w.begin_object().key("name").str(r.name).key("capacity_bytes").num(r.capacity_bytes).key("used_bytes").num(r.used_bytes)
        .key("drops").num(r.drops).end_object();
  w.end_array();
  w.key("links").begin_array();
  for (const auto& l : st.links)
    w.begin_object().key("name").str(l.name).key("ingress").boolean(l.ingress).key("frames").num(l.frames).key("gaps").num(l.gaps)
        .key("missing").num(l.missing).key("duplicates").num(l.duplicates).key("late").num(l.late)
        .key("snapshot_requests").num(l.snapshot_requests).key("resend_requests").num(l.resend_requests).key("resent").num(l.resent)
        .key("resend_unavailable").num(l.resend_unavailable).end_object();
  w.end_array();
  w.key("breaker").num(static_cast<std::uint64_t>(st.breaker)).key("breaker_until_unix_ns").num(st.breaker_until_unix_ns);
  w.key("kill_switch").boolean(st.kill_switch).key("kill_reason").str(st.kill_reason);
  w.key("last_event_unix_ns").num(st.last_event_unix_ns).key("ready").boolean(st.ready);
  w.key("upstreams").begin_array();
  for (const auto& u : st.upstreams)
    w.begin_object().key("url").str(u.url).key("roles").str(u.roles).key("up").boolean(u.up).key("error").str(u.error)
        .key("last_ok_unix_ns").num(u.last_ok_unix_ns).key("polls_failed").num(u.polls_failed)
        .key("commands_forwarded").num(u.commands_forwarded).key("commands_failed").num(u.commands_failed).end_object();
  w.end_array();
  w.end_object();

  w.key("pools").begin_array();
  for (const auto& p : s.pools)
    w.begin_object().key("address").str(p.address).key("venue").str(p.venue).key("token0").str(p.token0).key("token1").str(p.token1)
        .key("fee_ppm").num(p.fee_ppm).key("last_update_block").num(p.last_update_block).key("quarantined").boolean(p.quarantined)
        .key("quarantine_reason").str(p.quarantine_reason).end_object();
  w.end_array();

  w.key("opportunities").begin_array();
  for (const auto& o : s.opportunities)
    w.begin_object().key("id").num(o.id).key("t_unix_ns").num(o.t_unix_ns).key("path").str(o.path).key("size").str(o.size)
        .key("size_token").str(o.size_token).key("size_usd").num(o.size_usd.raw).key("expected_profit_usd").num(o.expected_profit_usd.raw)
        .key("decision").str(o.decision).end_object();
  w.end_array();

  w.key("trades").begin_array();
  for (const auto& t : s.trades) {
    w.begin_object().key("hash").str(t.hash).key("nonce").num(t.nonce).key("status").str(t.status).key("path").str(t.path)
        .key("t_unix_ns").num(t.t_unix_ns).key("block").num(t.block).key("gas_used").num(t.gas_used)
        .key("expected_pnl_usd").num(t.expected_pnl_usd.raw).key("realized_pnl_usd");
    if (t.realized_pnl_usd) w.num(t.realized_pnl_usd->raw);
    else w.null();
    w.end_object();
  }
  w.end_array();

  w.key("pnl").begin_object().key("cumulative").num(s.pnl.cumulative.raw).key("daily").num(s.pnl.daily.raw)
      .key("peak").num(s.pnl.peak.raw).key("drawdown").num(s.pnl.drawdown.raw).key("trades_won").num(s.pnl.trades_won)
      .key("trades_lost").num(s.pnl.trades_lost).end_object();
  w.key("pnl_series").begin_array();
  for (const auto& p : s.pnl_series) w.begin_array().num(p.t_unix_ns).num(p.cumulative.raw).end_array();
  w.end_array();

  w.key("risk").begin_object();
  w.key("limits");
  write_limits(w, s.risk.limits);
  w.key("rejects_by_reason").begin_object();
  for (const auto& [k, v] : s.risk.rejects_by_reason) w.key(k).num(v);
  w.end_object();
  w.key("exposure_usd").begin_object();
  for (const auto& [k, v] : s.risk.exposure_usd) w.key(k).num(v.raw);
  w.end_object();
  w.key("in_flight").num(s.risk.in_flight).key("consecutive_reverts").num(s.risk.consecutive_reverts);
  w.end_object();

  const Counters& c = s.counters;
  w.key("counters").begin_object();
  w.key("events_by_type").begin_object();
  for (const auto& [k, v] : c.events_by_type) w.key(k).num(v);
  w.end_object();
  w.key("sequence_gaps").num(c.sequence_gaps).key("reorgs").num(c.reorgs).key("opportunities_found").num(c.opportunities_found)
      .key("opportunities_taken").num(c.opportunities_taken).key("tx_sent").num(c.tx_sent).key("tx_mined").num(c.tx_mined)
      .key("tx_reverted").num(c.tx_reverted).key("tx_replaced").num(c.tx_replaced).key("nonce_resyncs").num(c.nonce_resyncs);
  w.end_object();

  w.key("latency").begin_array();
  for (const auto& l : s.latency) {
    const LatencyHistogram& h = l.histogram;
    w.begin_object().key("stage").str(l.stage).key("count").num(h.count()).key("sum").num(h.sum()).key("min").num(h.min())
        .key("max").num(h.max()).key("buckets").begin_array();
    for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i)
      if (h.bucket_count(i) != 0) w.begin_array().num(static_cast<std::uint64_t>(i)).num(h.bucket_count(i)).end_array();
    w.end_array().end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

std::optional<Snapshot> decode_snapshot(std::string_view body, std::string* error) {
  std::string err;
  auto fail = [&](std::string m) -> std::optional<Snapshot> {
    if (error != nullptr) *error = std::move(m);
    return std::nullopt;
  };
  json::ParseError pe;
  const std::optional<json::Value> doc = json::parse(body, &pe);
  if (!doc) return fail("snapshot is not JSON (offset " + std::to_string(pe.offset) + ": " + pe.message + ")");
  Reader top(&*doc, "snapshot", &err);
  if (!top.ok()) return fail(err);
  const std::uint64_t format = top.u64("format");
  if (!top.ok() || format != kSnapshotFormat)
    return fail("snapshot: format " + std::to_string(format) + " is not " + std::to_string(kSnapshotFormat));
  Snapshot s;
  s.version = top.u64("version");
  s.taken_unix_ns = top.i64("taken_unix_ns");

  Reader st = top.sub("status");
  StatusSnapshot& ss = s.status;
  ss.mode = st.str("mode");
  ss.roles = st.str("roles");
  ss.chain = st.str("chain");
  ss.chain_id = st.u64("chain_id");
  ss.started_unix_ns = st.i64("started_unix_ns");
  const auto& eps = st.array("endpoints");
  for (std::size_t i = 0; i < eps.size(); ++i) {
    Reader e = st.item("endpoints", eps[i], i);
    ss.endpoints.push_back(EndpointStatus{e.str("url"), e.boolean("connected"), e.u64("reconnects"), e.u64("last_block")});
  }
  ss.head_block = st.u64("head_block");
  ss.local_block = st.u64("local_block");
  const auto& rings = st.array("rings");
  for (std::size_t i = 0; i < rings.size(); ++i) {
    Reader r = st.item("rings", rings[i], i);
    ss.rings.push_back(RingStatus{r.str("name"), r.u64("capacity_bytes"), r.u64("used_bytes"), r.u64("drops")});
  }
  // "links" is newer than the other fields: a role process of an older build sends none.
  if (st.value() != nullptr && st.value()->is_object() && st.value()->find("links") != nullptr) {
    const auto& links = st.array("links");
    for (std::size_t i = 0; i < links.size(); ++i) {
      Reader l = st.item("links", links[i], i);
      ss.links.push_back(LinkStatus{l.str("name"), l.boolean("ingress"), l.u64("frames"), l.u64("gaps"), l.u64("missing"),
                                    l.u64("duplicates"), l.u64("late"), l.u64("snapshot_requests"), l.u64("resend_requests"),
                                    l.u64("resent"), l.u64("resend_unavailable")});
    }
  }
  const std::uint64_t breaker = st.u64("breaker");
  if (breaker > static_cast<std::uint64_t>(BreakerState::half_open)) st.fail("breaker", "unknown state");
  ss.breaker = static_cast<BreakerState>(breaker);
  ss.breaker_until_unix_ns = st.i64("breaker_until_unix_ns");
  ss.kill_switch = st.boolean("kill_switch");
  ss.kill_reason = st.str("kill_reason");
  ss.last_event_unix_ns = st.i64("last_event_unix_ns");
  ss.ready = st.boolean("ready");
  const auto& ups = st.array("upstreams");
  for (std::size_t i = 0; i < ups.size(); ++i) {
    Reader u = st.item("upstreams", ups[i], i);
    UpstreamStatus x;
    x.url = u.str("url");
    x.roles = u.str("roles");
    x.up = u.boolean("up");
    x.error = u.str("error");
    x.last_ok_unix_ns = u.i64("last_ok_unix_ns");
    x.polls_failed = u.u64("polls_failed");
    x.commands_forwarded = u.u64("commands_forwarded");
    x.commands_failed = u.u64("commands_failed");
    ss.upstreams.push_back(std::move(x));
  }

  const auto& pools = top.array("pools");
  s.pools.reserve(pools.size());
  for (std::size_t i = 0; i < pools.size(); ++i) {
    Reader p = top.item("pools", pools[i], i);
    PoolRow row;
    row.address = p.str("address");
    row.venue = p.str("venue");
    row.token0 = p.str("token0");
    row.token1 = p.str("token1");
    row.fee_ppm = p.u32("fee_ppm");
    row.last_update_block = p.u64("last_update_block");
    row.quarantined = p.boolean("quarantined");
    row.quarantine_reason = p.str("quarantine_reason");
    s.pools.push_back(std::move(row));
  }
  const auto& opps = top.array("opportunities");
  for (std::size_t i = 0; i < opps.size(); ++i) {
    Reader o = top.item("opportunities", opps[i], i);
    OpportunityRow row;
    row.id = o.u64("id");
    row.t_unix_ns = o.i64("t_unix_ns");
    row.path = o.str("path");
    row.size = o.str("size");
    row.size_token = o.str("size_token");
    row.size_usd = o.usd("size_usd");
    row.expected_profit_usd = o.usd("expected_profit_usd");
    row.decision = o.str("decision");
    s.opportunities.push_back(std::move(row));
  }
  const auto& trades = top.array("trades");
  for (std::size_t i = 0; i < trades.size(); ++i) {
    Reader t = top.item("trades", trades[i], i);
    TradeRow row;
    row.hash = t.str("hash");
    row.nonce = t.u64("nonce");
    row.status = t.str("status");
    row.path = t.str("path");
    row.t_unix_ns = t.i64("t_unix_ns");
    row.block = t.u64("block");
    row.gas_used = t.u64("gas_used");
    row.expected_pnl_usd = t.usd("expected_pnl_usd");
    if (const json::Value* rz = t.get("realized_pnl_usd"); rz != nullptr && !rz->is_null()) row.realized_pnl_usd = t.usd("realized_pnl_usd");
    s.trades.push_back(std::move(row));
  }
  Reader pnl = top.sub("pnl");
  s.pnl.cumulative = pnl.usd("cumulative");
  s.pnl.daily = pnl.usd("daily");
  s.pnl.peak = pnl.usd("peak");
  s.pnl.drawdown = pnl.usd("drawdown");
  s.pnl.trades_won = pnl.u64("trades_won");
  s.pnl.trades_lost = pnl.u64("trades_lost");
  const auto& series = top.array("pnl_series");
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& pt = series[i].items();
    if (!series[i].is_array() || pt.size() != 2 || !pt[0].as_int() || !pt[1].as_int()) {
      top.fail("pnl_series[" + std::to_string(i) + "]", "not [t_unix_ns, cumulative]");
      break;
    }
    s.pnl_series.push_back(PnlPoint{*pt[0].as_int(), UsdFixedPoint8{*pt[1].as_int()}});
  }
  Reader risk = top.sub("risk");
  s.risk.limits = read_limits(risk.sub("limits"));
  if (const json::Value* m = risk.object("rejects_by_reason"))
    for (const auto& [k, v] : m->members()) {
      if (!v.as_uint()) risk.fail("rejects_by_reason." + k, "not an unsigned integer");
      s.risk.rejects_by_reason[k] = v.as_uint().value_or(0);
    }
  if (const json::Value* m = risk.object("exposure_usd"))
    for (const auto& [k, v] : m->members()) {
      if (!v.as_int()) risk.fail("exposure_usd." + k, "not an integer");
      s.risk.exposure_usd[k] = UsdFixedPoint8{v.as_int().value_or(0)};
    }
  s.risk.in_flight = risk.u32("in_flight");
  s.risk.consecutive_reverts = risk.u32("consecutive_reverts");

  Reader c = top.sub("counters");
  if (const json::Value* m = c.object("events_by_type"))
    for (const auto& [k, v] : m->members()) {
      if (!v.as_uint()) c.fail("events_by_type." + k, "not an unsigned integer");
      s.counters.events_by_type[k] = v.as_uint().value_or(0);
    }
  s.counters.sequence_gaps = c.u64("sequence_gaps");
  s.counters.reorgs = c.u64("reorgs");
  s.counters.opportunities_found = c.u64("opportunities_found");
  s.counters.opportunities_taken = c.u64("opportunities_taken");
  s.counters.tx_sent = c.u64("tx_sent");
  s.counters.tx_mined = c.u64("tx_mined");
  s.counters.tx_reverted = c.u64("tx_reverted");
  s.counters.tx_replaced = c.u64("tx_replaced");
  s.counters.nonce_resyncs = c.u64("nonce_resyncs");

  const auto& lat = top.array("latency");
  for (std::size_t i = 0; i < lat.size() && top.ok(); ++i) {
    Reader l = top.item("latency", lat[i], i);
    StageLatency sl;
    sl.stage = l.str("stage");
    const std::uint64_t count = l.u64("count"), sum = l.u64("sum"), mn = l.u64("min"), mx = l.u64("max");
    const auto& bs = l.array("buckets");
    if (bs.size() > LatencyHistogram::kBuckets) {
      l.fail("buckets", "more buckets than a histogram has");
      break;
    }
    std::vector<LatencyHistogram::Bucket> buckets;
    buckets.reserve(bs.size());
    for (const json::Value& b : bs) {
      const auto& pr = b.items();
      if (!b.is_array() || pr.size() != 2 || !pr[0].as_uint() || !pr[1].as_uint()) {
        l.fail("buckets", "not [index, count] pairs");
        break;
      }
      buckets.push_back(LatencyHistogram::Bucket{static_cast<std::size_t>(std::min<std::uint64_t>(*pr[0].as_uint(), SIZE_MAX)), *pr[1].as_uint()});
    }
    if (l.ok() && !sl.histogram.restore(buckets.data(), buckets.size(), count, sum, mn, mx)) l.fail("buckets", "inconsistent histogram");
    s.latency.push_back(std::move(sl));
  }
  if (!err.empty()) return fail(err);
  return s;
}

}  // namespace torq::ops
