// NodeSession engine: connect → subscribe → (snapshot) → backfill → stream, with failover,
// backoff, reorg handling, discovery and reconciliation. Control plane, session thread only.
#include "torq/control/node_session.hpp"

#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <unordered_map>

#include "torq/control/hex.hpp"
#include "torq/control/log_decoder.hpp"
#include "torq/control/reorg_tracker.hpp"

namespace torq::control {

namespace {
constexpr auto R = std::memory_order_relaxed;
using Key = std::pair<std::uint64_t, std::uint32_t>;
constexpr std::uint32_t kAfterBlock = std::numeric_limits<std::uint32_t>::max();

std::string pool_topics() {
  const topics::Bytes32* all[] = {&topics::kV2Sync, &topics::kV2Swap, &topics::kV2Mint, &topics::kV2Burn,
                                  &topics::kV3Swap, &topics::kV3Mint, &topics::kV3Burn, &topics::kV3Initialize};
  std::string s = "[[";
  for (std::size_t i = 0; i < std::size(all); ++i) s += (i ? ",\"" : "\"") + to_hex_bytes(*all[i]) + "\"";
  return s + "]]";
}
std::string address_array(const std::vector<protocol::Address>& a) {
  std::string s = "[";
  for (std::size_t i = 0; i < a.size(); ++i) s += (i ? ",\"" : "\"") + protocol::format_address(a[i]) + "\"";
  return s + "]";
}
}  // namespace

namespace detail {

class SessionEngine {
 public:
  SessionEngine(NodeSessionConfig cfg, const protocol::InstrumentRegistry& reg, SessionOutput out, NodeSessionBase& base)
      : cfg_(std::move(cfg)),
        base_(base),
        c_(base.counters_),
        out_(out),
        registry_(reg),
        http_(cfg_.endpoints, cfg_.rpc, cfg_.reconnect_backoff),
        dec_(registry_, cfg_.chain, 256 * 1024),
        tracker_(cfg_.reorg_window, cfg_.finality_depth),
        backoff_(cfg_.reconnect_backoff, cfg_.jitter_seed),
        chunk_(std::clamp(cfg_.initial_chunk, std::max<std::uint64_t>(cfg_.min_chunk, 1), cfg_.max_chunk)),
        topics_(pool_topics()) {
    for (const auto& e : cfg_.endpoints) {
      if (e.ws.empty()) continue;
      auto ep = parse_endpoint(e.ws);
      if (!ep || !ep->websocket) throw std::invalid_argument("NodeSession: bad ws URL '" + e.ws + "'");
      ws_.push_back({e.priority, *ep});
    }
    if (ws_.empty()) throw std::invalid_argument("NodeSession: no endpoint with a ws URL");
    std::stable_sort(ws_.begin(), ws_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < registry_.pool_count(); ++i) {
      const auto id = registry_.pool_id(i);
      const auto* p = registry_.pool(id);
      // snapshot_pools speaks Uniswap V2/V3 only; an Algebra pool would never get a snapshot.
      if (p && protocol::venue_protocol(p->venue) == protocol::PoolProtocol::AlgebraV3) {
        c_.unsupported_pools.fetch_add(1, R);
        continue;
      }
      track(id);
    }
    c_.chunk_size.store(chunk_, R);
  }

  void run(const std::atomic<bool>& stop) {
    while (!stop.load(R)) {
      set_state(SessionState::Connecting);
      if (!connect()) {
        c_.connect_failures.fetch_add(1, R);
        sleep_backoff(stop);
        continue;
      }
      bool ok = subscribe();
      if (ok && !initialized_) ok = initialize();
      if (ok) {
        set_state(SessionState::Backfilling);
        ok = catch_up();
      }
      if (ok) {
        backoff_.reset();
        set_state(SessionState::Streaming);
        stream(stop);
      }
      if (ws_client_) ws_client_->close();
      if (stop.load(R)) break;
      c_.reconnects.fetch_add(1, R);
      sleep_backoff(stop);
    }
    if (ws_client_) ws_client_->close();
    set_state(SessionState::Stopped);
  }

 private:
  struct Track {
    protocol::InstrumentId id;
    Key cursor{0, 0};
    bool has_cursor = false;
    ShadowPool shadow;
    std::uint64_t last_event_block = 0;
    // Snapshot failed: nothing of this pool is published until a retry at retry_block succeeds.
    bool awaiting_snapshot = false;
    std::uint32_t snapshot_failures = 0;
    std::uint64_t retry_block = 0;
  };

  void set_state(SessionState s) { c_.state.store(static_cast<std::uint8_t>(s), R); }
  void sleep_backoff(const std::atomic<bool>& stop) {
    set_state(SessionState::Backoff);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff_.next_ms());
    while (!stop.load(R) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Track& track(protocol::InstrumentId id) {
    auto [it, fresh] = pools_.try_emplace(id.raw());
    if (fresh) {
      it->second.id = id;
      if (const auto* p = registry_.pool(id)) addresses_.push_back(p->address);
    }
    return it->second;
  }

  bool connect() {
    for (std::size_t i = 0; i < ws_.size(); ++i) {
      auto c = std::make_unique<RpcClient>(ws_[i].second, cfg_.rpc);
      if (c->ws_connect() == RpcStatus::Ok) {
        ws_client_ = std::move(c);
        c_.endpoint.store(static_cast<std::int32_t>(i), R);
        return true;
      }
      c_.transport_errors.fetch_add(1, R);
    }
    return false;
  }
  bool ws_send(const std::string& s) {
    if (ws_client_->ws_send(s) == RpcStatus::Ok) return true;
    c_.transport_errors.fetch_add(1, R);
    return false;
  }
  bool subscribe_logs(const std::vector<protocol::Address>& addrs) {
    if (addrs.empty()) return true;
    return ws_send("{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(ws_client_->next_id()) +
                   ",\"method\":\"eth_subscribe\",\"params\":[\"logs\",{\"address\":" + address_array(addrs) +
                   ",\"topics\":" + topics_ + "}]}");
  }
  bool subscribe() {
    if (!ws_send("{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(ws_client_->next_id()) +
                 ",\"method\":\"eth_subscribe\",\"params\":[\"newHeads\"]}"))
      return false;
    if (!subscribe_logs(addresses_)) return false;
    if (!cfg_.factories.empty()) {
      std::vector<protocol::Address> f;
      for (const auto& x : cfg_.factories) f.push_back(x.address);
      if (!ws_send("{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(ws_client_->next_id()) +
                   ",\"method\":\"eth_subscribe\",\"params\":[\"logs\",{\"address\":" + address_array(f) +
                   ",\"topics\":[[\"" + to_hex_bytes(topics::kV2PairCreated) + "\",\"" +
                   to_hex_bytes(topics::kV3PoolCreated) + "\"]]}]}"))
        return false;
    }
    return true;
  }

  // Mirrors the ChainClient's stats into the session counters (session thread).
  void sync_stats() {
    const auto& st = http_.stats();
    c_.timeouts.store(st.timeouts.load(R), R);
    c_.rate_limited.store(st.rate_limited.load(R), R);
    c_.rate_limited_waits.store(st.rate_limited_waits.load(R), R);
    c_.failovers.store(st.failovers.load(R), R);
    c_.parse_errors.store(st.parse_errors.load(R), R);
    c_.http_requests.store(st.requests.load(R), R);
  }

  bool http_ok(const RpcError& e) {
    sync_stats();
    if (!e) return true;
    (e.kind == RpcError::Kind::Transport ? c_.transport_errors : c_.rpc_errors).fetch_add(1, R);
    return false;
  }

  // A block number no chain reaches (a hostile or broken node): refused before any loop uses it.
  bool sane(std::uint64_t block) {
    if (block <= kMaxBlockNumber) return true;
    c_.bad_answers.fetch_add(1, R);
    return false;
  }

  // First successful connection: pool cache, discovery, snapshot at a pinned head.
  bool initialize() {
    auto head = http_.block_by_number("latest");
    if (!http_ok(head.error) || !sane(head.value.number)) return false;
    const std::uint64_t h = head.value.number;
    const std::size_t subscribed = addresses_.size();  // subscribe() covered these
    if (!cfg_.pool_cache_path.empty()) {
      auto cache = load_pool_cache(cfg_.pool_cache_path);
      const auto cid = protocol::chain_id(cfg_.chain);
      // A file that is there but unreadable, damaged, holds a pool no factory deploys
      // (parse_pool_cache) or belongs to another chain is not used: discovery runs instead.
      if (std::error_code ec; (!cache || !cid || *cid != cache->chain_id) && std::filesystem::exists(cfg_.pool_cache_path, ec))
        c_.pool_cache_refused.fetch_add(1, R);
      if (cache) {
        if (cid && *cid == cache->chain_id) {
          std::vector<bool> known(cache->pools.size());
          for (std::size_t i = 0; i < cache->pools.size(); ++i)
            known[i] = registry_.find(cfg_.chain, cache->pools[i].address).has_value();
          const auto ids = register_discovered(cache->pools, registry_, cfg_.chain);
          for (std::size_t i = 0; i < ids.size(); ++i) {
            if (!ids[i].valid()) continue;
            track(ids[i]);
            c_.pools_from_cache.fetch_add(1, R);
            if (!known[i]) report(ids[i], cache->pools[i]);  // new to the owner
          }
          discovered_through_ = cache->discovered_through;
          cached_ = cache->pools;
        }
      }
    }
    if (!cfg_.factories.empty() && discovered_through_ < h) {
      const std::uint64_t from = discovered_through_ ? discovered_through_ + 1 : 0;
      count_scan(from, h);
      auto found = discover_pools(http_, cfg_.factories, from, h);
      if (!http_ok(found.error)) return false;
      auto ids = register_discovered(found.value, registry_, cfg_.chain);
      for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i].valid() && !pools_.contains(ids[i].raw())) {
          track(ids[i]);
          cached_.push_back(found.value[i]);
          c_.pools_discovered.fetch_add(1, R);
          report(ids[i], found.value[i]);
        }
      discovered_through_ = h;
      save_cache();
    }
    if (addresses_.size() > subscribed &&  // pools from the cache or discovery: subscribe them too
        !subscribe_logs(std::vector<protocol::Address>(addresses_.begin() + static_cast<std::ptrdiff_t>(subscribed),
                                                       addresses_.end())))
      return false;
    if (cfg_.start_block) {
      for (auto& [raw, t] : pools_) t.cursor = {*cfg_.start_block, 0}, t.has_cursor = false;
      backfill_from_ = *cfg_.start_block;
    } else {
      std::vector<protocol::InstrumentId> ids;
      for (auto& [raw, t] : pools_) ids.push_back(t.id);
      backfill_from_ = h;  // pools left out by a failed snapshot have no cursor
      if (!snapshot_and_publish(ids, h)) return false;
    }
    if (!on_head(head.value)) return false;
    initialized_ = true;
    return true;
  }

  void count_scan(std::uint64_t from, std::uint64_t to) {
    std::uint64_t lo = from;
    if (!cfg_.factories.empty()) {
      std::uint64_t f = std::numeric_limits<std::uint64_t>::max();
      for (const auto& x : cfg_.factories) f = std::min(f, x.from_block);
      lo = std::max(lo, f);
    }
    c_.discovery_scans.fetch_add(1, R);
    if (to >= lo) c_.discovery_blocks_scanned.fetch_add(to - lo + 1, R);
  }

  void report(protocol::InstrumentId id, const PoolMeta& m) {
    std::lock_guard lock(base_.discovered_mu_);
    base_.discovered_.emplace_back(id, m);
  }
  void save_cache() {
    if (cfg_.pool_cache_path.empty()) return;
    PoolCache c;
    c.chain_id = protocol::chain_id(cfg_.chain).value_or(0);
    c.discovered_through = discovered_through_;
    c.pools = cached_;
    (void)save_pool_cache(cfg_.pool_cache_path, c);
  }

  bool snapshot_and_publish(const std::vector<protocol::InstrumentId>& ids, std::uint64_t block) {
    if (ids.empty()) return true;
    std::vector<protocol::InstrumentId> failed;
    auto snaps = snapshot_pools(http_, registry_, ids, block, cfg_.tick_scan_words, &failed);
    if (!http_ok(snaps.error)) return false;
    // One pool's missing or refused answers do not hold the others back: it is left out.
    for (const auto id : failed) leave_out(id, block);
    for (const auto& s : snaps.value) {
      Track& t = track(protocol::InstrumentId(s.state.pool));
      if (t.awaiting_snapshot) {
        t.awaiting_snapshot = false;
        t.snapshot_failures = 0;
        c_.pools_awaiting_snapshot.fetch_sub(1, R);
      }
      apply_snapshot(t.shadow, s.state);
      t.cursor = {block, kAfterBlock};
      t.has_cursor = true;
      PoolSnapshot copy = s;
      copy.state.state_version = ++snapshot_version_;
      const bool published = out_.snapshot(out_.ctx, copy);
      if (published) {
        c_.snapshots_published.fetch_add(1, R);
        if (copy.state.kind == static_cast<std::uint8_t>(protocol::PoolKind::V3)) c_.tick_frames_published.fetch_add(1, R);
      } else {
        c_.sink_drops.fetch_add(1, R);
      }
      // Quarantine: 1 = drift found, resync pending; 2 = resync published, awaiting the ack.
      // A snapshot the sink refused leaves the pool quarantined (flag 1) and its shadow unknown,
      // so the next reconciliation resyncs it again.
      if (auto idx = t.id.index(); idx < base_.max_pools_) {
        auto& q = base_.quarantine_[idx];
        if (!published) {
          if (q.load(std::memory_order_acquire) != 0) t.shadow.known = false;
        } else if (cfg_.quarantine_until_ack) {
          std::uint8_t one = 1;
          (void)q.compare_exchange_strong(one, 2, std::memory_order_acq_rel);
        } else if (q.exchange(0, std::memory_order_acq_rel) != 0) {
          c_.quarantined_now.fetch_sub(1, R);
        }
      }
    }
    return true;
  }

  // A pool whose snapshot failed: nothing of it is published (consumers keep what they had, and
  // quarantined() says so) until a snapshot at a later head succeeds.
  void leave_out(protocol::InstrumentId id, std::uint64_t block) {
    auto it = pools_.find(id.raw());
    if (it == pools_.end()) return;
    Track& t = it->second;
    c_.snapshot_pool_failures.fetch_add(1, R);
    if (!t.awaiting_snapshot) {
      t.awaiting_snapshot = true;
      c_.pools_awaiting_snapshot.fetch_add(1, R);
    }
    t.has_cursor = false;
    t.shadow.known = false;
    t.retry_block = block + (std::uint64_t{1} << std::min<std::uint32_t>(t.snapshot_failures, 8));  // 1 .. 256 blocks
    ++t.snapshot_failures;
    if (auto idx = t.id.index(); idx < base_.max_pools_) {
      std::uint8_t zero = 0;
      if (base_.quarantine_[idx].compare_exchange_strong(zero, 1, std::memory_order_acq_rel)) c_.quarantined_now.fetch_add(1, R);
      else base_.quarantine_[idx].store(1, std::memory_order_release);  // a pending ack is void: no snapshot to ack
    }
  }

  // Pools left out whose retry block has come: snapshot them at `block` (a head we hold).
  bool retry_snapshots(std::uint64_t block) {
    if (c_.pools_awaiting_snapshot.load(R) == 0) return true;
    std::vector<protocol::InstrumentId> ids;
    for (auto& [raw, t] : pools_)
      if (t.awaiting_snapshot && t.retry_block <= block) ids.push_back(t.id);
    return snapshot_and_publish(ids, block);
  }

  // A decoded log: published unless it is at or below its pool's cursor. `live`: from the
  // subscription, where a log whose block the tracker does not hold yet (above the tip, or
  // another hash than ours) is held until it does (flush_held()).
  void publish_log(const LogEvent& e, bool live) {
    const auto c = e.ctx();
    auto it = pools_.find(c.pool);
    if (it == pools_.end()) return;
    Track& t = it->second;
    if (t.awaiting_snapshot) {
      c_.logs_withheld.fetch_add(1, R);
      return;
    }
    const Key k{c.block_number, c.log_index};
    if (t.has_cursor && k <= t.cursor) {
      c_.duplicates_skipped.fetch_add(1, R);
      return;
    }
    const auto ours = tracker_.hash_at(c.block_number);
    if (ours && *ours != e.block_hash) {
      if (live) {
        hold(e);  // a late log of a replaced block, or the node is ahead of our heads: wait
      } else {
        // The node's canonical chain (eth_getLogs) has another block there than we hold: our
        // chain is stale. The log stays unpublished (cursor unchanged); check_tip() resolves
        // the reorg and the re-backfill from the ancestor fetches it again.
        c_.stale_backfill_logs.fetch_add(1, R);
        recheck_tip_ = true;
      }
      return;
    }
    if (live && !ours) {
      const auto tip = tracker_.tip();
      if (!tip || c.block_number > *tip) {
        hold(e);
        return;
      }
    }
    emit(t, e);
  }

  void hold(const LogEvent& e) {
    if (held_.size() >= cfg_.max_held_logs) {
      c_.held_log_overflows.fetch_add(1, R);
      held_overflow_ = true;  // the stream reconnects; the backfill fetches what was held
      return;
    }
    held_.push_back(e);
  }

  // The tracker moved: publish the held logs of blocks it now holds with the same hash, drop those
  // of blocks it holds with another hash (orphans), keep those above the tip. A held log of a
  // number the tracker skipped (Gap) is checked against the node's canonical hash. Returns false
  // on an RPC failure.
  bool flush_held() {
    const auto tip = tracker_.tip();
    if (held_.empty() || !tip) return true;
    std::size_t keep = 0;
    std::optional<std::pair<std::uint64_t, Hash32>> asked;  // last canonical hash fetched
    for (std::size_t i = 0; i < held_.size(); ++i) {
      const LogEvent e = held_[i];
      const std::uint64_t b = e.ctx().block_number;
      if (b > *tip) {
        held_[keep++] = e;
        continue;
      }
      auto ours = tracker_.hash_at(b);
      if (!ours) {
        if (!asked || asked->first != b) {
          const auto c = canonical(b);
          if (!c) {
            held_.clear();
            return false;
          }
          asked.emplace(b, *c);
        }
        ours = asked->second;
      }
      if (*ours != e.block_hash) {
        c_.orphan_logs.fetch_add(1, R);
        continue;
      }
      auto it = pools_.find(e.ctx().pool);
      if (it == pools_.end()) continue;
      if (it->second.awaiting_snapshot) {
        c_.logs_withheld.fetch_add(1, R);
        continue;
      }
      const Key k{b, e.ctx().log_index};
      if (it->second.has_cursor && k <= it->second.cursor) {
        c_.duplicates_skipped.fetch_add(1, R);
        continue;
      }
      emit(it->second, e);
    }
    held_.resize(keep);
    return true;
  }

  void emit(Track& t, const LogEvent& e) {
    const auto c = e.ctx();
    const Key k{c.block_number, c.log_index};
    t.cursor = k;
    t.has_cursor = true;
    t.last_event_block = std::max(t.last_event_block, c.block_number);
    if (const auto req = base_.drop_request_.load(R);
        req != 0 && req == c.pool && (e.type == protocol::TlvType::V2Sync || e.type == protocol::TlvType::V3Swap)) {
      base_.drop_request_.store(0, R);  // fault injection: lost as if the node never sent it
      c_.events_dropped_on_request.fetch_add(1, R);
      return;
    }
    (void)apply_event(t.shadow, e.type, e.bytes());
    if (out_.log(out_.ctx, e)) c_.logs_published.fetch_add(1, R);
    else c_.sink_drops.fetch_add(1, R);
  }

  // eth_getLogs [from, to] for all tracked pools in adaptive chunks.
  bool backfill(std::uint64_t from, std::uint64_t to) {
    if (addresses_.empty() || from > to) return true;
    if (!sane(to)) return false;
    const std::string addrs = address_array(addresses_);
    for (;;) {
      const std::uint64_t end = to - from < chunk_ ? to : from + chunk_ - 1;  // cannot wrap
      const RawResult r = http_.call("eth_getLogs", "[{\"fromBlock\":\"" + to_hex_quantity(from) + "\",\"toBlock\":\"" +
                                                        to_hex_quantity(end) + "\",\"address\":" + addrs +
                                                        ",\"topics\":" + topics_ + "}]");
      if (r.error) {
        if (r.error.is_range_limit() && chunk_ > std::max<std::uint64_t>(cfg_.min_chunk, 1)) {
          chunk_ = std::max<std::uint64_t>(std::max<std::uint64_t>(cfg_.min_chunk, 1), chunk_ / 2);
          c_.chunk_shrinks.fetch_add(1, R);
          c_.rpc_errors.fetch_add(1, R);
          c_.chunk_size.store(chunk_, R);
          successes_ = 0;
          continue;
        }
        return http_ok(r.error);
      }
      wrapped_.assign("{\"result\":");
      wrapped_ += r.json;
      wrapped_ += '}';
      std::uint64_t n = 0;
      const DecodeError e = dec_.decode_log_array(wrapped_, [&](const LogEvent& ev) {
        ++n;
        publish_log(ev, /*live=*/false);
      });
      if (e != DecodeError::Ok) {
        c_.decode_errors.fetch_add(1, R);
        return false;
      }
      c_.backfill_logs.fetch_add(n, R);
      c_.backfill_chunks.fetch_add(1, R);
      sync_stats();
      if (++successes_ >= cfg_.grow_after && chunk_ < cfg_.max_chunk) {
        chunk_ = std::min(cfg_.max_chunk, chunk_ * 2);
        successes_ = 0;
        c_.chunk_grows.fetch_add(1, R);
        c_.chunk_size.store(chunk_, R);
      }
      synced_through_ = std::max(synced_through_, end);
      if (end == to) return true;
      from = end + 1;
    }
  }

  std::uint64_t min_cursor_block() const {
    std::uint64_t m = std::numeric_limits<std::uint64_t>::max();
    for (const auto& [raw, t] : pools_)
      if (!t.awaiting_snapshot) m = std::min(m, t.has_cursor ? t.cursor.first : backfill_from_);
    if (m == std::numeric_limits<std::uint64_t>::max()) m = backfill_from_;
    return std::max(m, synced_through_);  // [.., synced_through_] was fully backfilled already
  }

  // After (re)connect: discovery catch-up, backfill from the cursors to the head.
  // The head is read as a full header: after the backfill it goes through on_head(), so the
  // reorg tracker, counters().last_block and consumers (BlockHeader) learn the head even when no
  // new block arrives over the WebSocket after a reconnect.
  //
  // A reorg while we were away: the node's hash at our tip (or at its head, if it is behind us)
  // is compared with ours first; on a mismatch the reorg is resolved (notice, snapshots at the
  // ancestor, re-backfill) before anything is fetched from the cursors, which otherwise would
  // skip the new branch's logs as already published.
  bool catch_up() {
    held_.clear();  // not published, cursors unchanged: the backfill fetches them again
    held_overflow_ = false;
    recheck_tip_ = false;
    auto hdr = http_.block_by_number("latest");
    if (!http_ok(hdr.error) || !sane(hdr.value.number)) return false;
    const std::uint64_t head = hdr.value.number;
    bool head_done = false;
    if (const auto tip = tracker_.tip()) {
      const std::uint64_t at = std::min(*tip, head);
      if (const auto ours = tracker_.hash_at(at)) {
        const auto theirs = at == head ? std::optional<Hash32>(hdr.value.hash) : canonical(at);
        if (!theirs) return false;
        if (*theirs != *ours) {
          bool resynced = false;
          if (!resolve_reorg(&hdr.value, &resynced)) return false;
          head_done = true;
          if (!resynced && !publish_head(hdr.value)) return false;
        }
      }
    }
    if (!cfg_.factories.empty() && discovered_through_ < head) {
      count_scan(discovered_through_ + 1, head);
      auto found = discover_pools(http_, cfg_.factories, discovered_through_ + 1, head);
      if (!http_ok(found.error)) return false;
      for (auto& m : found.value)
        if (!add_new_pool(m, head)) return false;
      discovered_through_ = head;
      save_cache();
    }
    if (!backfill(min_cursor_block(), head)) return false;
    if (!check_tip()) return false;
    const bool head_ok = head_done || on_head(hdr.value);
    c_.backfills_completed.fetch_add(1, std::memory_order_release);  // last_block is set by now
    return head_ok;
  }

  // A backfill answered a block we hold with another hash: compare our tip with the node's
  // canonical hash and resolve the reorg if it differs. Returns false on an RPC failure.
  bool check_tip() {
    if (!std::exchange(recheck_tip_, false)) return true;
    const auto tip = tracker_.tip();
    if (!tip) return true;
    const auto ours = tracker_.hash_at(*tip);
    const auto theirs = canonical(*tip);
    if (!theirs) return false;
    if (!ours || *ours == *theirs) return true;
    return resolve_reorg(nullptr);
  }

  // resolve() against the node's canonical hashes, then the unwind (after_reorg). A reorg the
  // tracker cannot resolve (deeper than it holds or than finality) resnapshots every pool at the
  // head (`resynced`). Returns false on an RPC failure (the caller reconnects).
  bool resolve_reorg(const protocol::BlockHeader* h, bool* resynced = nullptr) {
    protocol::ReorgNotice n{};
    bool rpc_failed = false;
    const bool ok = tracker_.resolve(h, [&](std::uint64_t k) {
      auto c = canonical(k);
      if (!c) rpc_failed = true;
      return c;
    }, n);
    if (ok) return after_reorg(n);
    if (rpc_failed) return false;
    c_.deep_reorgs.fetch_add(1, R);
    if (resynced) *resynced = true;
    return resync_all_at_head();
  }

  // A pool created while running: register, subscribe, snapshot at `block`, report.
  bool add_new_pool(const PoolMeta& m, std::uint64_t block) {
    if (registry_.find(cfg_.chain, m.address)) return true;
    auto ids = register_discovered({m}, registry_, cfg_.chain);
    if (!ids[0].valid()) return true;
    track(ids[0]);
    cached_.push_back(m);
    if (!subscribe_logs({m.address})) return false;
    if (!snapshot_and_publish({ids[0]}, block)) return false;
    c_.pools_discovered.fetch_add(1, R);
    report(ids[0], m);
    // Logs of blocks after `block` mined before the new subscription took effect: fetch them
    // (anything the subscription also delivers is skipped by the cursor).
    auto head = http_.block_number();
    if (!http_ok(head.error) || !sane(head.value)) return false;
    return head.value <= block || backfill(block + 1, head.value);
  }

  std::optional<Hash32> canonical(std::uint64_t n) {
    auto b = http_.block_by_number(to_hex_quantity(n));
    if (!http_ok(b.error)) return std::nullopt;
    return b.value.hash;
  }

  // Reorg: notice, snapshot affected pools at the ancestor, re-backfill to the head.
  bool after_reorg(const protocol::ReorgNotice& n) {
    if (out_.reorg(out_.ctx, n)) c_.reorg_notices.fetch_add(1, R);
    else c_.sink_drops.fetch_add(1, R);
    synced_through_ = std::min(synced_through_, n.common_ancestor_number);
    std::vector<protocol::InstrumentId> affected;
    for (auto& [raw, t] : pools_)
      if (t.last_event_block > n.common_ancestor_number || (t.has_cursor && t.cursor.first > n.common_ancestor_number))
        affected.push_back(t.id);
    if (!snapshot_and_publish(affected, n.common_ancestor_number)) return false;
    for (auto id : affected) pools_[id.raw()].last_event_block = n.common_ancestor_number;
    auto head = http_.block_number();
    if (!http_ok(head.error) || !sane(head.value)) return false;
    const bool ok = backfill(n.common_ancestor_number + 1, head.value);
    if (ok) c_.backfills_completed.fetch_add(1, R);
    return ok;
  }

  bool resync_all_at_head() {
    tracker_.clear();
    auto head = http_.block_by_number("latest");
    if (!http_ok(head.error) || !sane(head.value.number)) return false;
    std::vector<protocol::InstrumentId> ids;
    for (auto& [raw, t] : pools_) ids.push_back(t.id);
    if (!snapshot_and_publish(ids, head.value.number)) return false;
    return on_head(head.value);
  }

  // Returns false on an RPC failure (the caller reconnects).
  // A head that skips numbers (missed heads, reconnect) keeps the history below it only after our
  // tip is checked against the node's canonical hash; a mismatch is a reorg we missed.
  bool on_head(const protocol::BlockHeader& h) {
    if (!sane(h.number)) return false;
    HeadResult r;
    const auto tip = tracker_.tip();
    if (tip && h.number > *tip + 1) {
      const auto theirs = canonical(*tip);
      if (!theirs) return false;
      const auto ours = tracker_.hash_at(*tip);
      r = ours && *ours == *theirs ? tracker_.on_head(h, /*keep_below_gap=*/true) : HeadResult::NeedsResolve;
    } else {
      r = tracker_.on_head(h);
    }
    if (r == HeadResult::Duplicate) return true;
    if (r == HeadResult::Refused) return sane(h.number);
    if (r == HeadResult::NeedsResolve) {
      bool resynced = false;
      if (!resolve_reorg(&h, &resynced)) return false;
      if (resynced) return true;  // resync_all_at_head() published its own head
    }
    return publish_head(h);
  }

  // After the tracker took `h`: held logs it decides, the BlockHeader, finality, snapshot retries.
  bool publish_head(const protocol::BlockHeader& h) {
    if (!flush_held()) return false;
    if (out_.head(out_.ctx, h)) c_.heads_published.fetch_add(1, R);
    else c_.sink_drops.fetch_add(1, R);
    if (h.number > c_.last_block.load(R)) c_.last_block.store(h.number, R);
    if (cfg_.use_finalized_tag) {
      auto f = http_.block_by_number("finalized");
      if (f.ok()) c_.finalized_block.store(f.value.number, R);
    } else if (auto f = tracker_.finalized()) {
      c_.finalized_block.store(*f, R);
    }
    return retry_snapshots(h.number);
  }

  bool on_unknown(const std::string& msg) {
    if (cfg_.factories.empty()) return true;
    simdjson::dom::parser p;
    simdjson::dom::element r;
    if (p.parse(msg)["params"]["result"].get(r) != simdjson::SUCCESS) return true;
    auto m = parse_creation_log(simdjson::minify(r), cfg_.factories);
    if (!m) return true;
    std::vector<PoolMeta> v{*m};
    if (!http_ok(fetch_token_metadata(http_, v)) || v.empty()) return true;
    auto head = http_.block_number();
    if (!http_ok(head.error) || !sane(head.value)) return false;
    if (!add_new_pool(v[0], head.value)) return false;
    save_cache();
    return true;
  }

  bool reconcile() {
    c_.reconciliations.fetch_add(1, R);
    auto head = http_.block_number();
    if (!http_ok(head.error) || !sane(head.value)) return false;
    const std::uint64_t H = head.value;
    if (!backfill(min_cursor_block(), H)) return false;  // everything <= H applied
    // Compare only against the block our state reflects: if the chain's block H is not the one we
    // hold, or changes while we snapshot (a reorg in progress), honest state would look drifted.
    // Skip the round; the reorg path brings the state back and the next round compares.
    const auto before = canonical(H);
    if (!before) return false;
    if (const auto ours = tracker_.hash_at(H); ours && *ours != *before) return true;
    std::vector<protocol::InstrumentId> ids;
    for (auto& [raw, t] : pools_)
      if (!t.awaiting_snapshot && (!t.has_cursor || t.cursor.first <= H)) ids.push_back(t.id);
    auto snaps = snapshot_pools(http_, registry_, ids, H, 0);
    if (!http_ok(snaps.error)) return false;
    const auto after = canonical(H);
    if (!after) return false;
    if (*after != *before) return true;
    std::vector<protocol::InstrumentId> drifted;
    for (const auto& s : snaps.value) {
      Track& t = pools_[s.state.pool];
      if (t.has_cursor && t.cursor.first > H) continue;  // moved on meanwhile
      if (!matches(t.shadow, s.state)) drifted.push_back(t.id);
    }
    // A mismatch counts only if a second snapshot at H confirms it: a node can answer calls at
    // block H with a later state while it mines H+1 (anvil does under 100-transaction blocks,
    // seen in test_control_session_volume: every pool of the block "drifted" and a repeat of the
    // same calls a moment later matched). Costs one more batch only when something mismatched.
    if (!drifted.empty()) {
      auto again = snapshot_pools(http_, registry_, drifted, H, 0);
      if (!http_ok(again.error)) return false;
      const auto last = canonical(H);
      if (!last) return false;
      if (*last != *before) return true;
      drifted.clear();
      for (const auto& s : again.value)
        if (!matches(pools_[s.state.pool].shadow, s.state)) drifted.push_back(pools_[s.state.pool].id);
    }
    for (const auto id : drifted) {
      c_.drift_detected.fetch_add(1, R);
      if (auto idx = id.index(); idx < base_.max_pools_)
        if (base_.quarantine_[idx].exchange(1, std::memory_order_acq_rel) == 0) c_.quarantined_now.fetch_add(1, R);
    }
    if (!drifted.empty()) {
      if (!snapshot_and_publish(drifted, H)) return false;  // clears the quarantine flags
      c_.resyncs.fetch_add(drifted.size(), R);
    }
    return true;
  }

  void stream(const std::atomic<bool>& stop) {
    auto next_reconcile = std::chrono::steady_clock::now() + cfg_.reconcile_interval;
    auto last_head = std::chrono::steady_clock::now();
    while (!stop.load(R)) {
      if (held_overflow_ || !check_tip()) return;
      // Watchdog: a subscription the node dropped without closing the socket sends nothing.
      if (cfg_.head_timeout.count() > 0 && std::chrono::steady_clock::now() - last_head > cfg_.head_timeout) {
        c_.head_timeouts.fetch_add(1, R);
        return;
      }
      if (base_.resnapshot_request_.load(R) && base_.resnapshot_request_.exchange(false, std::memory_order_acq_rel)) {
        c_.resnapshots_requested.fetch_add(1, R);
        if (!resync_all_at_head()) return;
      }
      const RpcStatus st = ws_client_->ws_read(msg_, cfg_.read_wait);
      if (st == RpcStatus::Timeout) {
        if (cfg_.reconcile_interval.count() > 0 && std::chrono::steady_clock::now() >= next_reconcile) {
          if (!reconcile()) return;
          next_reconcile = std::chrono::steady_clock::now() + cfg_.reconcile_interval;
        }
        continue;
      }
      if (st != RpcStatus::Ok) {
        c_.transport_errors.fetch_add(1, R);
        return;
      }
      MessageKind kind = MessageKind::None;
      const DecodeError e = dec_.decode_message(msg_, kind);
      if (e == DecodeError::Ok) {
        if (kind == MessageKind::Log) {
          const LogEvent& ev = dec_.log();
          if (ev.removed) {
            // Only a block on our chain needs unwinding: a removed log of a block we never held
            // was never published (held logs wait for their block and are dropped as orphans).
            const auto c = ev.ctx();
            if (tracker_.holds(c.block_number, c.block_hash_prefix) && !resolve_reorg(nullptr)) return;
            continue;
          }
          publish_log(ev, /*live=*/true);
        } else if (kind == MessageKind::NewHead) {
          last_head = std::chrono::steady_clock::now();
          if (!on_head(dec_.head())) return;
        }
      } else if (e == DecodeError::UnknownPool || e == DecodeError::UnknownTopic) {
        c_.ignored_logs.fetch_add(1, R);
        if (!on_unknown(msg_)) return;
      } else if (e == DecodeError::RpcError) {
        // The session sends nothing but eth_subscribe on the socket: an error answer means a
        // subscription is missing (e.g. "filter too large"). Streaming on would miss its events.
        c_.rpc_errors.fetch_add(1, R);
        c_.subscribe_errors.fetch_add(1, R);
        return;
      } else {
        c_.decode_errors.fetch_add(1, R);
      }
    }
  }

  NodeSessionConfig cfg_;
  NodeSessionBase& base_;
  SessionCounters& c_;
  SessionOutput out_;
  protocol::InstrumentRegistry registry_;
  ChainClient http_;
  LogDecoder dec_;
  ReorgTracker tracker_;
  Backoff backoff_;
  std::vector<std::pair<int, Endpoint>> ws_;
  std::unique_ptr<RpcClient> ws_client_;
  std::unordered_map<std::uint64_t, Track> pools_;
  std::vector<protocol::Address> addresses_;
  std::vector<PoolMeta> cached_;
  std::uint64_t discovered_through_ = 0;
  std::uint64_t backfill_from_ = 0;
  std::uint64_t synced_through_ = 0;  // every log <= this block was fetched by a backfill
  std::uint64_t chunk_;
  std::uint32_t successes_ = 0;
  std::uint64_t snapshot_version_ = 0;
  bool initialized_ = false;
  std::string topics_;
  std::string msg_;
  std::string wrapped_;
  std::vector<LogEvent> held_;   // streamed logs waiting for their block (publish_log)
  bool held_overflow_ = false;
  bool recheck_tip_ = false;     // a backfill saw another hash at a block we hold
};

}  // namespace detail

NodeSessionBase::NodeSessionBase(NodeSessionConfig config, const protocol::InstrumentRegistry& registry, SessionOutput out)
    : quarantine_(std::make_unique<std::atomic<std::uint8_t>[]>(config.max_pools)), max_pools_(config.max_pools) {
  for (std::uint32_t i = 0; i < max_pools_; ++i) quarantine_[i].store(0, std::memory_order_relaxed);
  engine_ = std::make_unique<detail::SessionEngine>(std::move(config), registry, out, *this);
}

NodeSessionBase::~NodeSessionBase() { stop(); }

void NodeSessionBase::start() {
  if (thread_.joinable()) return;
  stop_.store(false);
  thread_ = std::thread([this] { engine_->run(stop_); });
}

void NodeSessionBase::stop() noexcept {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

bool NodeSessionBase::quarantined(protocol::InstrumentId pool) const noexcept {
  const auto i = pool.index();
  return i < max_pools_ && quarantine_[i].load(std::memory_order_relaxed) != 0;
}

bool NodeSessionBase::acknowledge_resync(protocol::InstrumentId pool) noexcept {
  const auto i = pool.index();
  if (i >= max_pools_) return false;
  std::uint8_t two = 2;
  if (!quarantine_[i].compare_exchange_strong(two, 0, std::memory_order_acq_rel)) return false;
  counters_.quarantined_now.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

void NodeSessionBase::debug_drop_next_event(protocol::InstrumentId pool) noexcept {
  drop_request_.store(pool.raw(), std::memory_order_relaxed);
}

std::vector<std::pair<protocol::InstrumentId, PoolMeta>> NodeSessionBase::take_discovered() {
  std::lock_guard lock(discovered_mu_);
  return std::exchange(discovered_, {});
}

}  // namespace torq::control
