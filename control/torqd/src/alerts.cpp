// torqd alert rules and notifier (torq/torqd/alerts.hpp).
#include "torq/torqd/alerts.hpp"

#include <chrono>

#include "torq/ops/client.hpp"
#include "torq/ops/json.hpp"
#include "torq/ops/render.hpp"

namespace torq::torqd {

std::string alert_json(const Alert& a) {
  ops::json::Writer w;
  w.begin_object();
  w.key("event").str("alert");
  w.key("rule").str(a.rule);
  w.key("state").str(a.firing ? "firing" : "resolved");
  w.key("t_unix_ns").num(a.t_unix_ns);
  w.key("message").str(a.message);
  w.end_object();
  return w.take();
}

std::vector<Alert> AlertChecker::evaluate(const AlertInputs& in) {
  std::vector<Alert> out;
  auto rule = [&](const char* name, bool active, std::string message) {
    bool& was = state_[name];
    if (active == was) return;
    was = active;
    out.push_back(Alert{name, active, in.now_unix_ns, active ? std::move(message) : std::string(name) + " cleared"});
  };
  // Block lag: only once both numbers are known.
  const std::uint64_t lag = in.head_block > in.local_block && in.local_block != 0 ? in.head_block - in.local_block : 0;
  rule("block_lag", cfg_.block_lag_blocks > 0 && lag > cfg_.block_lag_blocks,
       "block lag " + std::to_string(lag) + " > " + std::to_string(cfg_.block_lag_blocks) + " blocks (node head " +
           std::to_string(in.head_block) + ", pipeline at " + std::to_string(in.local_block) + ")");
  const std::int64_t since = in.last_event_unix_ns != 0 ? in.last_event_unix_ns : in.started_unix_ns;
  const std::int64_t quiet_ns = in.now_unix_ns > since ? in.now_unix_ns - since : 0;
  rule("no_events", cfg_.no_events_s > 0 && quiet_ns > static_cast<std::int64_t>(cfg_.no_events_s) * 1'000'000'000LL,
       "no market events for " + std::to_string(quiet_ns / 1'000'000'000LL) + " s (threshold " +
           std::to_string(cfg_.no_events_s) + " s)");
  rule("breaker", cfg_.breaker_tripped && in.breaker_open, "risk circuit breaker is open (consecutive reverts)");
  rule("drawdown", cfg_.drawdown_usd.raw > 0 && in.drawdown.raw >= cfg_.drawdown_usd.raw,
       "drawdown " + in.drawdown.to_string() + " USD >= " + cfg_.drawdown_usd.to_string() + " USD");
  rule("ring_fill", cfg_.ring_fill_pct > 0 && in.ring_fill_pct >= cfg_.ring_fill_pct,
       "ring " + in.fullest_ring + " is " + std::to_string(in.ring_fill_pct) + "% full (threshold " +
           std::to_string(cfg_.ring_fill_pct) + "%): its consumer is falling behind");
  return out;
}

bool AlertChecker::firing(const std::string& rule) const {
  const auto it = state_.find(rule);
  return it != state_.end() && it->second;
}

AlertNotifier::AlertNotifier(std::FILE* log) : log_(log), thread_([this] { run(); }) {}

AlertNotifier::~AlertNotifier() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void AlertNotifier::notify(const Alert& a, const std::string& webhook_url) {
  const std::string body = alert_json(a);
  if (log_ != nullptr) {
    std::fprintf(log_, "torqd: %s\n", body.c_str());
    std::fflush(log_);
  }
  std::lock_guard lk(mu_);
  ++stats_.logged;
  if (webhook_url.empty()) return;
  if (q_.size() >= 256) {
    ++stats_.dropped;
    return;
  }
  q_.emplace_back(webhook_url, body);
  cv_.notify_all();
}

bool AlertNotifier::flush(std::chrono::milliseconds limit) {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, limit, [&] { return q_.empty() && !busy_; });
}

NotifierStats AlertNotifier::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void AlertNotifier::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || !q_.empty(); });
    if (q_.empty() && stop_) return;
    auto [url, body] = std::move(q_.front());
    q_.pop_front();
    busy_ = true;
    lk.unlock();
    // "http://host:port/path" → base "http://host:port", target "/path"; "http://host?q" → "/?q".
    std::string base = url, target = "/";
    const std::size_t scheme = url.find("://");
    const std::size_t slash = scheme == std::string::npos ? std::string::npos : url.find_first_of("/?", scheme + 3);
    if (slash != std::string::npos) {
      base = url.substr(0, slash);
      target = url[slash] == '?' ? "/" + url.substr(slash) : url.substr(slash);
    }
    const ops::ClientResponse r = ops::http_request(base, "POST", target, "", body, std::chrono::milliseconds(2000));
    const bool ok = r.error == ops::ClientError::none && r.status >= 200 && r.status < 300;
    if (!ok && log_ != nullptr) {
      // Only scheme://host:port: user:password@, the path and the query may hold the hook's secret.
      std::fprintf(log_, "torqd: alert webhook %s failed: %s\n", ops::redact_url(url).c_str(),
                   r.error != ops::ClientError::none ? r.message.c_str() : ("HTTP " + std::to_string(r.status)).c_str());
      std::fflush(log_);
    }
    lk.lock();
    ++(ok ? stats_.posted : stats_.post_failed);
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace torq::torqd
