// Operator state model, command queue and latency histogram (see torq/ops/state.hpp).
#include "torq/ops/state.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

namespace torq::ops {

void LatencyHistogram::merge(const LatencyHistogram& o) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
  sum_ = (sum_ + o.sum_ < sum_) ? UINT64_MAX : sum_ + o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

bool LatencyHistogram::restore(const Bucket* buckets, std::size_t n, std::uint64_t count, std::uint64_t sum,
                               std::uint64_t min, std::uint64_t max) noexcept {
  reset();
  if (count == 0) return n == 0;
  if (min > max) return false;
  LatencyHistogram h;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (buckets[i].index >= kBuckets || buckets[i].count == 0) return false;
    h.buckets_[buckets[i].index] += buckets[i].count;
    if (total + buckets[i].count < total) return false;
    total += buckets[i].count;
  }
  if (total != count || bucket_of(min) >= kBuckets || h.buckets_[bucket_of(min)] == 0 || h.buckets_[bucket_of(max)] == 0) return false;
  h.count_ = count;
  h.sum_ = sum;
  h.min_ = min;
  h.max_ = max;
  *this = h;
  return true;
}

std::uint64_t LatencyHistogram::value_at(std::uint64_t num, std::uint64_t den) const noexcept {
  if (count_ == 0 || den == 0) return 0;
  if (num > den) num = den;
  // rank = ceil(count * num / den), at least 1; 128-bit so that huge counts cannot overflow.
  const unsigned __int128 prod = static_cast<unsigned __int128>(count_) * num;
  std::uint64_t rank = static_cast<std::uint64_t>((prod + den - 1) / den);
  if (rank == 0) rank = 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::clamp(bucket_upper(i), min_, max_);
  }
  return max_;
}

std::uint64_t LatencyHistogram::count_at_or_below(std::uint64_t v) const noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < kBuckets && bucket_upper(i) <= v; ++i) n += buckets_[i];
  return n;
}

std::string_view to_string(BreakerState b) noexcept {
  switch (b) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
  }
  return "?";
}

std::string_view to_string(CommandKind k) noexcept {
  switch (k) {
    case CommandKind::kill: return "kill";
    case CommandKind::resume: return "resume";
    case CommandKind::reload: return "reload";
    case CommandKind::risk_set: return "risk_set";
  }
  return "?";
}

std::int64_t unix_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

OperatorState::OperatorState(std::size_t opportunities_kept, std::size_t trades_kept, std::size_t pnl_points_kept)
    : opps_kept_(std::max<std::size_t>(1, opportunities_kept)),
      trades_kept_(std::max<std::size_t>(1, trades_kept)),
      points_kept_(std::max<std::size_t>(2, pnl_points_kept)) {
  s_.status.started_unix_ns = unix_now_ns();
}

void OperatorState::bump() noexcept { version_.fetch_add(1, std::memory_order_acq_rel); }

void OperatorState::set_status(StatusSnapshot s) {
  std::lock_guard lk(mu_);
  if (s.started_unix_ns == 0) s.started_unix_ns = s_.status.started_unix_ns;
  s_.status = std::move(s);
  bump();
}

void OperatorState::set_pools(std::vector<PoolRow> pools) {
  std::lock_guard lk(mu_);
  s_.pools = std::move(pools);
  bump();
}

void OperatorState::add_opportunity(OpportunityRow o) {
  std::lock_guard lk(mu_);
  opps_.push_back(std::move(o));
  while (opps_.size() > opps_kept_) opps_.pop_front();
  bump();
}

void OperatorState::upsert_trade(TradeRow t) {
  std::lock_guard lk(mu_);
  auto it = std::find_if(trades_.begin(), trades_.end(), [&](const TradeRow& r) { return r.hash == t.hash; });
  if (it != trades_.end()) {
    *it = std::move(t);
  } else {
    trades_.push_back(std::move(t));
    while (trades_.size() > trades_kept_) trades_.pop_front();
  }
  bump();
}

void OperatorState::set_pnl(PnlSnapshot p) {
  std::lock_guard lk(mu_);
  s_.pnl = p;
  series_.push_back(PnlPoint{unix_now_ns(), p.cumulative});
  while (series_.size() > points_kept_) series_.pop_front();
  bump();
}

void OperatorState::set_risk(RiskSnapshot r) {
  std::lock_guard lk(mu_);
  s_.risk = std::move(r);
  bump();
}

void OperatorState::set_counters(Counters c) {
  std::lock_guard lk(mu_);
  s_.counters = std::move(c);
  bump();
}

void OperatorState::set_latency(const std::string& stage, const LatencyHistogram& h) {
  std::lock_guard lk(mu_);
  auto it = std::find_if(s_.latency.begin(), s_.latency.end(), [&](const StageLatency& l) { return l.stage == stage; });
  if (it != s_.latency.end()) it->histogram = h;
  else s_.latency.push_back(StageLatency{stage, h});
  bump();
}

void OperatorState::update(const std::function<void(Snapshot&)>& f) {
  std::lock_guard lk(mu_);
  f(s_);
  bump();
}

void OperatorState::set_limits(std::size_t opportunities_kept, std::size_t trades_kept) {
  std::lock_guard lk(mu_);
  opps_kept_ = std::max<std::size_t>(1, opportunities_kept);
  trades_kept_ = std::max<std::size_t>(1, trades_kept);
  while (opps_.size() > opps_kept_) opps_.pop_front();
  while (trades_.size() > trades_kept_) trades_.pop_front();
  bump();
}

void OperatorState::replace(Snapshot s) {
  std::lock_guard lk(mu_);
  opps_.assign(std::make_move_iterator(s.opportunities.begin()), std::make_move_iterator(s.opportunities.end()));
  while (opps_.size() > opps_kept_) opps_.pop_front();
  trades_.assign(std::make_move_iterator(s.trades.begin()), std::make_move_iterator(s.trades.end()));
  while (trades_.size() > trades_kept_) trades_.pop_front();
  series_.assign(s.pnl_series.begin(), s.pnl_series.end());
  while (series_.size() > points_kept_) series_.pop_front();
  s.opportunities.clear();
  s.trades.clear();
  s.pnl_series.clear();
  if (s.status.started_unix_ns == 0) s.status.started_unix_ns = s_.status.started_unix_ns;
  s_ = std::move(s);
  bump();
}

Snapshot OperatorState::snapshot() const {
  std::lock_guard lk(mu_);
  Snapshot out = s_;
  out.opportunities.assign(opps_.begin(), opps_.end());
  out.trades.assign(trades_.begin(), trades_.end());
  out.pnl_series.assign(series_.begin(), series_.end());
  out.version = version_.load(std::memory_order_acquire);
  out.taken_unix_ns = unix_now_ns();
  return out;
}

std::uint64_t CommandQueue::push(Command c) {
  std::lock_guard lk(mu_);
  return push_locked(std::move(c));
}

std::uint64_t CommandQueue::try_push(Command c) {
  std::lock_guard lk(mu_);
  if (q_.size() >= capacity_) return 0;
  return push_locked(std::move(c));
}

std::uint64_t CommandQueue::push_locked(Command c) {
  c.id = next_id_++;
  if (c.issued_unix_ns == 0) c.issued_unix_ns = unix_now_ns();
  if (c.kind == CommandKind::kill) kill_.store(true, std::memory_order_release);
  if (c.kind == CommandKind::resume) kill_.store(false, std::memory_order_release);
  const std::uint64_t id = c.id;
  q_.push_back(std::move(c));
  return id;
}

std::optional<Command> CommandQueue::try_pop() {
  std::lock_guard lk(mu_);
  if (q_.empty()) return std::nullopt;
  Command c = std::move(q_.front());
  q_.pop_front();
  return c;
}

std::vector<Command> CommandQueue::drain() {
  std::lock_guard lk(mu_);
  std::vector<Command> out(std::make_move_iterator(q_.begin()), std::make_move_iterator(q_.end()));
  q_.clear();
  return out;
}

std::size_t CommandQueue::size() const {
  std::lock_guard lk(mu_);
  return q_.size();
}

}  // namespace torq::ops
