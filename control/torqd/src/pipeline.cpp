// torqd pipeline: see torq/torqd/pipeline.hpp for the threads and their order.
#include "torq/torqd/pipeline.hpp"

#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "torq/arb/engine.hpp"
#include "torq/control/chain_client.hpp"
#include "torq/control/event_publisher.hpp"
#include "torq/control/log_decoder.hpp"
#include "torq/control/node_session.hpp"
#include "torq/control/pool_list.hpp"
#include "torq/control/pool_sync.hpp"
#include "torq/control/reorg_tracker.hpp"
#include "torq/control/rpc_client.hpp"
#include "torq/executor/abi.hpp"
#include "torq/executor/key.hpp"
#include "torq/executor/signer.hpp"
#include "torq/executor/tx.hpp"
#include "torq/hw/affinity.hpp"
#include "torq/hw/topology.hpp"
#include "torq/mycelium/idle.hpp"
#include "torq/mycelium/transport.hpp"
#include "torq/ops/render.hpp"
#include "torq/protocol/frame.hpp"
#include "torq/risk/audit_log.hpp"
#include "torq/risk/nonce_manager.hpp"
#include "torq/risk/pnl.hpp"
#include "torq/torqd/recovery.hpp"
#include "torq/risk/risk_gates.hpp"
#include "torq/torqd/execution.hpp"
#include "torq/torqd/hex.hpp"
#include "torq/torqd/links.hpp"
#include "torq/torqd/pool_resolve.hpp"
#include "torq/control/recording.hpp"  // record/replay (docs/record-replay.md)
#include "torq/torqd/replay.hpp"

namespace torq::torqd {

namespace {

using Clock = std::chrono::steady_clock;
using num::U256;
using num::UsdFixedPoint8;

constexpr std::uint8_t kSourceCollector = 10;
constexpr std::uint8_t kSourceSnapshot = 11;
constexpr std::uint32_t kUdpMtuPayload = 1472;  // 1500-byte Ethernet MTU - IPv4 - UDP headers
constexpr std::uint8_t kSourceMdLink = 12;      // frames renumbered by the market-data udp:// link
constexpr std::uint8_t kSourceSignalLink = 13;  // ... by the signal udp:// link
constexpr std::size_t kMaxRawTx = 640;
constexpr std::size_t kMaxOrders = 64;
constexpr std::uint32_t kMaxNonceRetries = 2;  // re-signs of one order with a fresh nonce after nonce errors
constexpr std::size_t kLatencySamples = 1 << 16;

std::uint64_t mono_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

std::uint64_t wall_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

void log_line(const std::string& s) {
  std::fprintf(stderr, "torqd: %s\n", s.c_str());
  std::fflush(stderr);
}

// What crosses the tx ring (executor → submitter, same process). Trivially copyable.
struct TxOrder {
  std::uint64_t order_id;
  std::uint64_t signal_id;
  std::uint64_t nonce;
  std::uint64_t gas_limit;
  std::uint64_t chain_id;
  std::array<std::uint8_t, 32> tx_hash;
  std::array<std::uint8_t, 20> sender;
  std::uint32_t raw_size;
  std::uint32_t attempt;  // earlier sends of this nonce (0: the first)
  std::uint8_t kind;      // risk::TxKind: New, Replacement (same nonce, bumped fees), Resend (node forgot it)
  U256 max_fee_per_gas;
  U256 max_priority_fee_per_gas;
  std::array<std::uint8_t, kMaxRawTx> raw;
};
static_assert(std::is_trivially_copyable_v<TxOrder>);

// What crosses the report ring (submitter → executor, same process). Trivially copyable.
enum class SubmitWhat : std::uint8_t {
  Accepted = 1,  // the node took this attempt (rep: order, nonce, the attempt's hash)
  Refused,       // the node refused it: node_error says why (rep: order, nonce, hash)
  Settled,       // a receipt of one of the order's attempts (rep: Included/Reverted, the mined hash)
  TimedOut,      // no receipt within --receipt-timeout-ms (rep: Failed)
};
struct SubmitEvent {
  protocol::ExecutionReport rep;
  std::uint64_t sent_block;
  std::uint8_t what;        // SubmitWhat
  std::uint8_t tx_kind;     // risk::TxKind of the attempt
  std::uint8_t node_error;  // risk::NodeError (Refused)
  std::array<std::uint8_t, 5> reserved;
};
static_assert(std::is_trivially_copyable_v<SubmitEvent>);

// An executor-side record of a submitted order (for risk outcome and P&L, and for re-signing it
// with another nonce or higher fees).
struct InFlight {
  bool used = false;
  std::uint64_t order_id = 0;
  std::uint64_t signal_id = 0;
  std::uint64_t nonce = 0;
  std::uint64_t gas_limit = 0;
  risk::TxFees fees{};          // of the attempt the node holds
  risk::TxFees pending_fees{};  // of a replacement queued to the submitter and not answered yet
  bool replacing = false;
  std::uint32_t retries = 0;         // re-signed with a fresh nonce after a nonce error
  std::uint64_t next_replace_ns = 0;  // no new replacement before (mono clock)
  std::size_t cd_len = 0;
  std::array<std::uint8_t, 512> calldata{};
  risk::Candidate candidate{};
  std::int64_t expected_usd = 0;
  std::array<std::uint64_t, protocol::kMaxHops> pools{};
  std::array<std::uint64_t, protocol::kMaxHops + 1> tokens{};
  U256 amount_in{};
  std::size_t pool_count = 0;  // pools[0..pool_count) (0 for a recovered order without its signal)
};

// The ring endpoints of a mycelium ring transport (inproc or shm).
ring::SpscProducer& producer_of(mycelium::Publisher& p, const std::string& link) {
  ring::SpscProducer* out = nullptr;
  p.visit([&](auto& c) {
    if constexpr (requires { c.producer(); }) out = &c.producer();
  });
  if (out == nullptr) throw std::invalid_argument("link '" + link + "': torqd needs a ring transport (inproc: or shm:/)");
  return *out;
}
ring::SpscConsumer& consumer_of(mycelium::Subscriber& s, const std::string& link) {
  ring::SpscConsumer* out = nullptr;
  s.visit([&](auto& c) {
    if constexpr (requires { c.consumer(); }) out = &c.consumer();
  });
  if (out == nullptr) throw std::invalid_argument("link '" + link + "': torqd needs a ring transport (inproc: or shm:/)");
  return *out;
}

std::optional<UsdFixedPoint8> usd_from_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.8f", v);
  return num::parse_usd(buf);
}

// tokens[].usdPrice of a local-chain manifest (the control library's PoolList omits it).
std::vector<TokenPrice> manifest_prices(const std::string& path) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::vector<TokenPrice> out;
  if (parser.load(path).get(doc) != simdjson::SUCCESS) throw std::runtime_error("manifest " + path + ": not JSON");
  simdjson::dom::array tokens;
  if (doc["tokens"].get_array().get(tokens) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element t : tokens) {
    std::string_view sym, addr;
    double price = 0;
    if (t["symbol"].get(sym) != simdjson::SUCCESS || t["address"].get(addr) != simdjson::SUCCESS) continue;
    if (t["usdPrice"].get(price) != simdjson::SUCCESS) continue;
    const auto usd = usd_from_double(price);
    if (!usd) continue;
    out.push_back(TokenPrice{std::string(sym), std::string(addr), *usd, UsdFixedPoint8{0}});
  }
  return out;
}

// A JSON-RPC result that must succeed (start-up and control-side calls); throws with context.
template <class T>
T value_or_throw(control::RpcResult<T>&& r, const char* what) {
  if (!r.ok()) throw std::runtime_error(std::string(what) + ": " + r.error.message);
  return std::move(r.value);
}
std::string text_or_throw(control::RawResult&& r, const char* what) {
  if (r.error) throw std::runtime_error(std::string(what) + ": " + r.error.message);
  return std::move(r.json);
}

std::string http_from_ws(const std::string& ws) {
  if (ws.rfind("wss://", 0) == 0) return "https://" + ws.substr(6);
  if (ws.rfind("ws://", 0) == 0) return "http://" + ws.substr(5);
  return ws;
}

// 10^n as U256.
U256 pow10(unsigned n) {
  U256 v = U256::one();
  for (unsigned i = 0; i < n; ++i) v = v * U256(10);
  return v;
}

// 10^n for n <= 77 from a table built once (no loop on the executor thread).
const U256& pow10_table(unsigned n) noexcept {
  static const std::array<U256, 78> t = [] {
    std::array<U256, 78> a{};
    a[0] = U256::one();
    for (std::size_t i = 1; i < a.size(); ++i) a[i] = a[i - 1] * U256(10);
    return a;
  }();
  return t[std::min<unsigned>(n, 77)];
}

std::uint64_t percentile(std::vector<std::uint64_t> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

struct Pipeline::Impl {
  Options opt;
  Pipeline* owner = nullptr;
  Counters counters;

  // Instruments.
  control::PoolList list;
  protocol::InstrumentRegistry registry;
  protocol::Chain chain = protocol::Chain::Polygon;
  std::vector<TokenPrice> prices;  // resolved per token (index = token index), usd 0 when unknown
  std::uint32_t native_token = 0;  // dense index of the wrapped native token

  // Links.
  std::string md_link, signal_link, tx_link, report_link;
  std::string md_local, sig_local;  // the rings the stages use (= the links unless those are udp://)
  std::unique_ptr<mycelium::Publisher> md_pub, signal_pub, tx_pub, report_pub;
  std::unique_ptr<mycelium::Subscriber> md_sub, signal_sub, tx_sub, report_sub;
  std::vector<std::pair<const char*, ring::RingRegion>> ring_regions;  // set in start(), read-only after
  // udp:// links (torq/torqd/links.hpp): a bridge thread between the local ring and the network.
  std::unique_ptr<mycelium::Subscriber> md_egress_sub, signal_egress_sub;
  std::unique_ptr<mycelium::Publisher> md_ingress_pub, signal_ingress_pub;
  std::unique_ptr<LinkEgress> md_egress, signal_egress;
  std::unique_ptr<LinkIngress> md_ingress, signal_ingress;
  std::thread md_egress_t, signal_egress_t, md_ingress_t, signal_ingress_t;
  std::atomic<bool> stop_md_egress{false}, stop_signal_egress{false}, stop_md_ingress{false}, stop_signal_ingress{false};

  // Operator telemetry: one SPSC queue per producing thread, drained by the control thread.
  std::unique_ptr<TelemetryRing> tel_exec = std::make_unique<TelemetryRing>();
  std::unique_ptr<TelemetryRing> tel_sub = std::make_unique<TelemetryRing>();
  std::unique_ptr<TelemetryRing> tel_strat = std::make_unique<TelemetryRing>();
  std::unique_ptr<TelemetryRing> tel_coll = std::make_unique<TelemetryRing>();
  std::unique_ptr<std::atomic<std::uint64_t>[]> pool_block;  // per pool index: last event/snapshot block
  std::size_t pool_n = 0;
  std::array<std::atomic<std::uint64_t>, 256> events_by_type{};
  std::unique_ptr<std::atomic<std::int64_t>[]> exposure_usd;  // per token index (executor publishes)

  static void stage_sample(TelemetryRing& q, Stage st, std::uint64_t ns) noexcept {
    TelemetryRecord r;
    r.kind = TelemetryKind::Stage;
    r.stage = static_cast<std::uint8_t>(st);
    r.value_ns = ns;
    (void)q.try_push(r);
  }

  // Collector side (control thread): per pool freshness and per type counts of a published frame.
  void note_frame(std::span<const std::byte> f) noexcept {
    protocol::ParseOptions po;
    po.verify_checksum = false;
    const auto parsed = protocol::parse_frame(f, po);
    if (!parsed.ok()) return;
    std::uint64_t hi = 0;
    for (const auto& tlv : parsed.view.tlvs()) {
      events_by_type[tlv.type].fetch_add(1, std::memory_order_relaxed);
      if (tlv.type == static_cast<std::uint8_t>(protocol::TlvType::BlockHeader) && tlv.value.size() >= 8) {
        std::uint64_t number = 0;
        std::memcpy(&number, tlv.value.data(), 8);
        hi = std::max(hi, number);
        continue;
      }
      const bool pool_event = (tlv.type >= 1 && tlv.type <= 8) || tlv.type == 101 || tlv.type == 102;
      if (!pool_event || tlv.value.size() < 16) continue;
      std::uint64_t pool = 0, block = 0;
      std::memcpy(&pool, tlv.value.data(), 8);
      std::memcpy(&block, tlv.value.data() + 8, 8);
      const std::size_t i = protocol::InstrumentId(pool).index();
      if (i < pool_n && pool_block[i].load(std::memory_order_relaxed) < block) pool_block[i].store(block, std::memory_order_relaxed);
      hi = std::max(hi, block);
    }
    if (hi > counters.md_last_block.load(std::memory_order_relaxed)) counters.md_last_block.store(hi, std::memory_order_relaxed);
    counters.last_event_unix_ns.store(wall_ns(), std::memory_order_relaxed);
  }

  // Collector (control library's node session).
  struct SessionSink {
    ring::SpscProducer* p = nullptr;
    Impl* impl = nullptr;
    control::RecordWriter* rec = nullptr;  // --record (session thread; null when off)
    bool operator()(std::span<const std::byte> f) noexcept {
      const bool ok = p->try_publish(f) == ring::PublishResult::ok;
      if (rec != nullptr) [[unlikely]]
        rec->write(control::RecordKind::MdFrame, ok ? 1 : 0, control::recording_now_ns(), {}, f);
      if (!ok) return false;
      impl->note_frame(f);
      return true;
    }
  };
  // --record (docs/record-replay.md): declared before the session so they outlive it.
  std::unique_ptr<control::RecordWriter> recorder;
  std::unique_ptr<control::NodeTap> record_tap;
  SessionSink session_sink;
  std::unique_ptr<control::NodeSession<SessionSink>> session;
  std::atomic<control::NodeSession<SessionSink>*> session_for_requests{nullptr};  // for the md link's request hook

  // Strategy.
  std::unique_ptr<arb::ArbEngine> engine;

  // Executor.
  std::optional<executor::PrivateKey> key;
  std::unique_ptr<executor::Signer> signer;
  protocol::Address sender{};
  protocol::Address contract{};
  std::unique_ptr<PathTable> paths;
  std::unique_ptr<risk::RiskGates> gates;
  std::unique_ptr<risk::PnlTracker> pnl;
  std::unique_ptr<risk::AuditLog> audit;
  // Nonces (executor thread; docs/torqd.md "Nonces and stuck transactions"). The node's pending
  // count reaches NonceManager::resync() through node_pending, which the submitter fills before it
  // reports a nonce error or a receipt timeout (UINT64_MAX: unknown, the resync is skipped).
  std::unique_ptr<risk::NonceManager> nonces;
  std::atomic<std::uint64_t> node_pending{UINT64_MAX};
  std::uint64_t next_stuck_check_ns = 0;
  std::uint64_t last_trade_block = 0;  // block of our last mined trade (executor thread)
  // Crash recovery (read from the audit log at start-up; docs/torqd.md "Crash recovery").
  risk::PnlSnapshot pnl_base{};          // the last Pnl record of the log (zero when none)
  std::uint64_t order_seq_start = 0;     // the highest order id in the log
  // In flight at the crash, with the hashes of every logged attempt: the submitter polls their receipts.
  std::vector<std::pair<TxOrder, std::vector<std::array<std::uint8_t, 32>>>> recovered_orders;
  std::array<InFlight, kMaxOrders> orders{};
  std::vector<std::uint64_t> latency_ns;  // tick (md frame stamp) → signed tx
  std::vector<std::uint64_t> signal_latency_ns;  // md frame stamp → signal seen by the executor
  std::vector<U256> realized_raw;          // per token index
  // Reloadable settings read by the executor (relaxed atomics).
  std::atomic<std::int64_t> min_profit_usd{0};
  std::atomic<std::uint32_t> min_profit_share_bps{5000};
  std::atomic<std::uint64_t> priority_fee_gwei{30};
  // Bumped by reload(): the strategy thread then gives min_profit_usd and priority_fee_gwei to the
  // engine between frames (the engine is single-threaded; a relaxed load per poll).
  std::atomic<std::uint64_t> engine_settings_gen{0};

  // Threads and stop flags (in shutdown order).
  std::thread collector_t, strategy_t, executor_t, submitter_t;
  std::atomic<bool> stop_collector{false}, stop_strategy{false}, stop_executor{false}, stop_submitter{false};
  std::atomic<bool> collector_ready{false}, strategy_done{false}, submitter_done{false};
  std::atomic<bool> intake_closed{false};    // no more signals will arrive (strategy stopped)
  std::atomic<bool> signals_drained{false};  // the executor found the signal ring empty after that
  std::mutex error_mu;
  std::string collector_error;
  bool shut = false;

  bool has(Role r) const { return opt.roles.has(r); }

  // One control::ChainClient per thread that talks HTTP JSON-RPC (start-up, submitter, builtin
  // collector): the configured endpoints, each with its [[endpoints]] request budget.
  std::unique_ptr<control::ChainClient> make_client() const {
    control::RpcOptions ro;
    return std::make_unique<control::ChainClient>(
        client_endpoints(opt.rpc_http, opt.rpc_ws, opt.backup_endpoints, opt.rpc_requests_per_second), ro);
  }

  // ---------------------------------------------------------------- start-up
  explicit Impl(Options o) : opt(std::move(o)) {
    // A process without the executor role that got the key variable anyway (a shared
    // EnvironmentFile) drops it first, before any thread of ours runs (unsetenv is not safe
    // against a concurrent getenv). The executor's from_env takes it out the same way.
    if (!has(Role::executor) && !opt.key_env.empty()) (void)executor::PrivateKey::discard_env(opt.key_env.c_str());
    if (opt.manifest.empty()) {  // [[pools]] of the config, resolved on chain (pool_resolve.hpp)
      opt.manifest = resolve_config_pools(opt, resolved_pool_list_path(opt));
      log_line("resolved " + std::to_string(opt.config_pools.size()) + " [[pools]] on chain into " + opt.manifest);
    }
    list = control::load_pool_list(opt.manifest);
    if (list.chain_id != 0) opt.chain_id = list.chain_id;
    const auto c = protocol::chain_from_id(opt.chain_id);
    if (!c) throw std::invalid_argument("chain id " + std::to_string(opt.chain_id) + " is not supported");
    chain = *c;
    (void)control::register_pools(list, registry, chain);
    pool_n = registry.pool_count();
    pool_block = std::make_unique<std::atomic<std::uint64_t>[]>(std::max<std::size_t>(pool_n, 1));
    exposure_usd = std::make_unique<std::atomic<std::int64_t>[]>(std::max<std::size_t>(registry.token_count(), 1));
    if (opt.rpc_ws.empty()) opt.rpc_ws = list.rpc_ws;
    if (opt.rpc_http.empty()) opt.rpc_http = list.rpc_http.empty() ? http_from_ws(opt.rpc_ws) : list.rpc_http;
    for (BackupEndpoint& b : opt.backup_endpoints)
      if (b.http.empty()) b.http = http_from_ws(b.ws);  // a ws-only backup: its node's HTTP side

    // Prices: config [[tokens]] first, the manifest's usdPrice otherwise.
    std::vector<TokenPrice> known = opt.prices;
    for (auto& p : manifest_prices(opt.manifest)) known.push_back(p);
    prices.resize(registry.token_count());
    for (std::size_t i = 0; i < registry.token_count(); ++i) {
      const protocol::TokenInfo* t = registry.token(registry.token_id(i));
      prices[i].symbol = t->symbol;
      prices[i].address = protocol::format_address(t->address);
      for (const auto& k : known) {
        const auto a = protocol::parse_address(k.address);
        if (a && *a == t->address && prices[i].usd.raw == 0) {
          prices[i].usd = k.usd;
          if (k.max_exposure_usd.raw != 0) prices[i].max_exposure_usd = k.max_exposure_usd;
        }
      }
    }
    if (const auto n = native_token_index(registry, opt.native_token)) {
      native_token = *n;
    } else if (has(Role::strategy) || has(Role::executor)) {  // gas is valued in it
      throw std::runtime_error(opt.native_token.empty()
                                   ? "no wrapped native token among the pools' tokens (WMATIC, WPOL or POL): name it in [chain] native_token"
                                   : "[chain] native_token \"" + opt.native_token + "\" is not a token of any configured pool");
    }

    const bool distributed = !opt.roles.monolith();
    const std::string tag = std::to_string(::getpid());
    md_link = distributed ? opt.md_link : "inproc:torqd-md-" + tag + "?capacity=4194304";
    signal_link = distributed ? opt.signal_link : "inproc:torqd-signals-" + tag + "?capacity=1048576";
    tx_link = "inproc:torqd-tx-" + tag + "?capacity=1048576";
    if (is_udp_link(md_link) && has(Role::collector) && !has(Role::strategy)) opt.md_max_frame_bytes = kUdpMtuPayload;
    report_link = "inproc:torqd-reports-" + tag + "?capacity=1048576";

    min_profit_usd.store(opt.reload.min_profit_usd.raw);
    min_profit_share_bps.store(opt.reload.min_profit_share_bps);
    priority_fee_gwei.store(opt.reload.priority_fee_gwei);

    if (has(Role::strategy)) build_engine();
    if (has(Role::executor)) build_executor();
  }

  // USD reference per token index (UsdFixedPoint8 raw; 0 unknown).
  std::vector<std::int64_t> price_raws() const {
    std::vector<std::int64_t> v;
    for (const auto& p : prices) v.push_back(p.usd.raw);
    return v;
  }

  // The configuration is shared with replay (torq/torqd/replay.hpp engine_config).
  void build_engine() {
    engine = std::make_unique<arb::ArbEngine>(arb::pool_specs_from_registry(registry),
                                              engine_config(registry, price_raws(), native_token, opt));
  }

  void build_executor() {
    executor::protect_process_secrets();  // before the key is in memory: no core dump, no ptrace
    key.emplace(opt.key_file.empty() ? executor::PrivateKey::from_env(opt.key_env.c_str())
                                     : executor::PrivateKey::from_file(opt.key_file));
    // Precomputed nonces (docs/transactions.md): ~0.2 µs signing; refilled by its own "torq-nonces" thread.
    signer = std::make_unique<executor::Signer>(executor::SignerOptions{.nonces = executor::NonceMode::Precomputed});
    signer->start_refill();
    sender = signer->address_of(*key);
    const auto c = protocol::parse_address(opt.contract);
    if (!c) throw std::invalid_argument("--contract: '" + opt.contract + "' is not a 0x-prefixed 20-byte address");
    contract = *c;
    paths = std::make_unique<PathTable>(registry);

    // The contract must be ours: owner() == the key's address (else every execute reverts NotOwner).
    auto rpc = make_client();
    const control::EthCall owner_call{contract, "0x8da5cb5b"};  // owner()
    auto owner_res = value_or_throw(rpc->eth_call_batch(std::span<const control::EthCall>(&owner_call, 1), "latest"),
                                    "owner() of the contract");
    const std::string owner_hex = owner_res.empty() ? std::string() : text_or_throw(std::move(owner_res[0]), "owner()");
    const auto owner_bytes = parse_hex_bytes(owner_hex);
    if (!owner_bytes || owner_bytes->size() != 32) {
      throw std::runtime_error("contract " + protocol::format_address(contract) + ": owner() did not answer (is it deployed?)");
    }
    protocol::Address owner{};
    std::memcpy(owner.data(), owner_bytes->data() + 12, 20);
    if (owner != sender) {
      throw std::runtime_error("contract " + protocol::format_address(contract) + " is owned by " +
                               protocol::format_address(owner) + ", not by the signing key's address " +
                               protocol::format_address(sender));
    }
    node_pending.store(value_or_throw(rpc->get_transaction_count(sender, "pending"), "eth_getTransactionCount"));
    risk::NonceConfig nc;
    nc.capacity = kMaxOrders;
    nc.stuck_after_blocks = opt.replace_after_blocks;
    nc.stuck_after_ns = std::uint64_t{opt.replace_after_ms} * 1'000'000ULL;
    nc.bump_percent = opt.replace_bump_pct;
    nc.chain_id = opt.chain_id;
    nc.min_priority_fee_wei = opt.reload.priority_fee_gwei * 1'000'000'000ULL;
    nc.max_fee_cap_wei = opt.reload.max_gas_price_gwei * 1'000'000'000ULL;
    nonces = std::make_unique<risk::NonceManager>(nc, [this]() -> std::optional<std::uint64_t> {
      const std::uint64_t v = node_pending.load(std::memory_order_acquire);
      if (v == UINT64_MAX) return std::nullopt;
      return v;
    });

    risk::RiskGates::Config rc;
    rc.max_tokens = std::max<std::size_t>(registry.token_count(), 1);
    rc.limits = limits_of(opt.reload);
    gates = std::make_unique<risk::RiskGates>(rc);
    risk::PnlTracker::Config pc;
    pc.max_tokens = rc.max_tokens;
    pc.native_price = prices[native_token].usd;
    pnl = std::make_unique<risk::PnlTracker>(pc);
    for (std::size_t i = 0; i < registry.token_count(); ++i) {
      const protocol::InstrumentId id = registry.token_id(i);
      const protocol::TokenInfo* t = registry.token(id);
      if (prices[i].usd.raw == 0) continue;  // UnknownToken at the gate
      (void)pnl->set_token(id, t->decimals, prices[i].usd);
    }
    apply_token_limits();
    if (opt.reload.kill_switch) gates->engage_kill_switch();
    realized_raw.assign(registry.token_count(), U256::zero());
    latency_ns.reserve(kLatencySamples);
    signal_latency_ns.reserve(kLatencySamples);

    // Recovery (docs/risk-and-audit.md §5): read the log before open() truncates a torn tail.
    const AuditRecovery rec = read_audit_recovery(opt.audit_file);
    risk::AuditOptions ao;
    ao.channels = 2;  // 0: executor thread, 1: submitter thread
    audit = risk::AuditLog::open(opt.audit_file, ao);
    if (rec.found) {
      recover_from(rec);
    } else if (!nonces->recover({}, mono_ns()).ok) {
      throw std::runtime_error("eth_getTransactionCount: no pending nonce");
    }
  }

  // Start-up (before the threads): P&L base, in-flight orders, order ids, a Nonce Recovery record.
  void recover_from(const AuditRecovery& rec) {
    order_seq_start = rec.max_order_id;
    // Nonces: unsettled transactions below the node's pending count are in flight again (their
    // receipts settle them, or they are replaced when stuck); logged nonces at or above it never
    // reached the node and are reused.
    const risk::RecoveryReport nr = nonces->recover(rec.txs, mono_ns());
    if (!nr.ok) throw std::runtime_error("eth_getTransactionCount: no pending nonce for the recovery");
    const std::uint64_t next_nonce = nr.node_pending;
    if (rec.last_pnl) {
      pnl_base = snapshot_of(*rec.last_pnl);
      const auto snap = combined_pnl();
      gates->update_pnl(snap);
      counters.pnl_daily_usd.store(snap.daily.raw, std::memory_order_relaxed);
      counters.pnl_peak_usd.store(snap.peak.raw, std::memory_order_relaxed);
      counters.pnl_drawdown_usd.store(snap.drawdown.raw, std::memory_order_relaxed);
    }
    std::uint64_t tracked = 0;
    std::optional<std::uint64_t> last_nonce;
    for (const RecoveredOrder& ro : rec.unsettled) {
      last_nonce = ro.tx.nonce;
      // A nonce at or above the node's pending count never reached the node: it is reused.
      if (ro.tx.nonce >= next_nonce) continue;
      InFlight* slot = nullptr;
      for (auto& o : orders)
        if (!o.used) {
          slot = &o;
          break;
        }
      const protocol::ArbitrageSignal& sig = ro.signal;
      // What a replacement re-signs: the same execute() call, rebuilt from the Signal record.
      std::array<std::uint8_t, kMaxPathBytes> path{};
      std::size_t path_len = 0;
      if (slot == nullptr || !ro.have_signal || encode_path(sig, *paths, path, path_len) != PathError::Ok) {
        (void)nonces->abandon(ro.tx.nonce);  // not followed (no order slot or no signal to rebuild it)
        continue;
      }
      slot->cd_len = executor::encode_execute_call(slot->calldata, std::span<const std::uint8_t>(path.data(), path_len),
                                                   sig.amount_in, min_profit_for(sig.expected_profit, min_profit_share_bps.load()));
      slot->signal_id = ro.signal_id;
      slot->nonce = ro.tx.nonce;
      slot->gas_limit = ro.gas_limit;
      slot->fees = ro.tx.fees;
      slot->replacing = false;
      slot->retries = 0;
      slot->next_replace_ns = 0;
      risk::Candidate cand{};
      cand.signal_id = sig.signal_id;
      cand.token_in = protocol::InstrumentId(sig.tokens[0]);
      cand.hop_count = sig.hop_count;
      cand.amount_in = sig.amount_in;
      cand.max_fee_per_gas = ro.tx.fees.max_fee_per_gas;
      cand.max_priority_fee_per_gas = ro.tx.fees.max_priority_fee_per_gas;
      gates->on_submitted(cand);
      slot->used = true;
      slot->order_id = ro.tx.order_id;
      slot->candidate = cand;
      slot->expected_usd = sig.net_profit_usd;
      slot->pools = sig.pools;
      slot->tokens = sig.tokens;
      slot->amount_in = sig.amount_in;
      slot->pool_count = std::min<std::size_t>(sig.hop_count, protocol::kMaxHops);
      TxOrder o{};
      o.order_id = ro.tx.order_id;
      o.signal_id = ro.signal_id;
      o.nonce = ro.tx.nonce;
      o.gas_limit = ro.gas_limit;
      o.chain_id = ro.chain_id;
      std::memcpy(o.tx_hash.data(), ro.tx.hash.data(), 32);
      o.sender = sender;
      o.max_fee_per_gas = ro.tx.fees.max_fee_per_gas;
      o.max_priority_fee_per_gas = ro.tx.fees.max_priority_fee_per_gas;
      std::vector<std::array<std::uint8_t, 32>> hashes(ro.tx.earlier_hashes.begin(), ro.tx.earlier_hashes.end());
      hashes.push_back(o.tx_hash);
      recovered_orders.emplace_back(o, std::move(hashes));
      ++tracked;
    }
    counters.in_flight.store(static_cast<std::uint32_t>(gates->in_flight()), std::memory_order_relaxed);
    risk::AuditNonce an{};
    an.kind = static_cast<std::uint64_t>(risk::NonceEventKind::Recovery);
    an.node_pending = next_nonce;
    an.next_nonce = nr.next_nonce;
    an.tracked = tracked;
    (void)audit->channel(0).push(an);
    log_line("recovered from the audit log: " + std::to_string(rec.records) + " records" +
             (rec.stop == risk::ReadStatus::Torn ? " (torn tail truncated)" : "") + ", cumulative P&L " +
             std::to_string(pnl_base.cumulative.raw) + "e-8 USD, " + std::to_string(tracked) +
             " transaction(s) in flight, next nonce " + std::to_string(nr.next_nonce) +
             (last_nonce ? ", last audited nonce " + std::to_string(*last_nonce) : std::string()));
  }

  // The restored P&L continued by this run's tracker (executor thread after start).
  risk::PnlSnapshot combined_pnl() const noexcept {
    return combine_pnl(pnl_base, pnl->snapshot(), risk::Clock::utc_day(wall_ns()));
  }

  static risk::RiskLimits limits_of(const Reloadable& r) { return risk_limits_of(r); }

  void apply_token_limits() {
    for (std::size_t i = 0; i < registry.token_count(); ++i) {
      const protocol::InstrumentId id = registry.token_id(i);
      const protocol::TokenInfo* t = registry.token(id);
      if (prices[i].usd.raw == 0) continue;
      risk::TokenRisk tr;
      tr.price_usd = prices[i].usd.raw;
      tr.decimals = t->decimals;
      tr.configured = 1;
      if (prices[i].max_exposure_usd.raw > 0) {
        // raw = usd / price × 10^decimals
        tr.max_exposure = U256(static_cast<std::uint64_t>(prices[i].max_exposure_usd.raw)) * pow10(t->decimals) /
                          U256(static_cast<std::uint64_t>(prices[i].usd.raw));
      } else {
        tr.max_exposure = ~U256::zero();
      }
      (void)gates->set_token(id, tr);
    }
  }

  void open_links() {
    // A udp:// link whose two ends both run here is an in-process ring; otherwise the stage keeps
    // its ring ("inproc:" local) and a bridge moves frames between that ring and the network.
    const std::string tag = std::to_string(::getpid());
    const bool md_net = is_udp_link(md_link) && has(Role::collector) != has(Role::strategy);
    const bool sig_net = is_udp_link(signal_link) && has(Role::strategy) != has(Role::executor);
    md_local = is_udp_link(md_link) ? "inproc:torqd-md-" + tag + "?capacity=4194304" : md_link;
    sig_local = is_udp_link(signal_link) ? "inproc:torqd-signals-" + tag + "?capacity=1048576" : signal_link;
    // Consumers first where both sides live here (inproc: either order works).
    if (has(Role::collector)) {
      md_pub = std::make_unique<mycelium::Publisher>(mycelium::Publisher::open(md_local));
      if (md_net) {
        md_egress_sub = std::make_unique<mycelium::Subscriber>(mycelium::Subscriber::open(md_local));
        std::vector<std::string> lines{md_link};
        if (!opt.md_link_b.empty()) lines.push_back(opt.md_link_b);
        md_egress = std::make_unique<LinkEgress>("market_data", lines, kSourceMdLink, consumer_of(*md_egress_sub, md_local), &opt.nic);
        log_line("market data link " + md_link + ": sending by " + md_egress->describe());
        if (!opt.md_request_link.empty()) {
          // Receivers that joined late or lost frames ask for snapshots: the node session
          // re-snapshots every pool at the head (at most every 5 s, however many ask).
          md_egress->listen_for_requests(opt.md_request_link, SnapshotRequestHook{[](void* c) noexcept {
                                                                 auto* self = static_cast<Impl*>(c);
                                                                 if (auto* s = self->session_for_requests.load(std::memory_order_acquire)) s->request_resnapshot();
                                                               }, this},
                                         5'000'000'000ULL,
                                         ResendLimits{opt.resend.history_frames, opt.resend.burst, opt.resend.per_second});
          log_line("market data back channel " + opt.md_request_link + ": resends from the last " +
                   std::to_string(opt.resend.history_frames) + " frames, " + std::to_string(opt.resend.burst) + " at once, " +
                   std::to_string(opt.resend.per_second) + " a second");
        }
      }
    }
    if (has(Role::strategy)) {
      md_sub = std::make_unique<mycelium::Subscriber>(mycelium::Subscriber::open(md_local));
      if (md_net) {
        md_ingress_pub = std::make_unique<mycelium::Publisher>(mycelium::Publisher::open(md_local));
        nic::NicConfig rx = nic_config_for(opt.nic, md_link, opt.md_link_b, -1);
        // With a back channel, holes wait in the reorder buffer for a resend (one line too).
        if (!opt.md_request_link.empty()) rx.arbitrate = true;
        md_ingress = std::make_unique<LinkIngress>("market_data", rx, producer_of(*md_ingress_pub, md_local));
        if (!opt.md_request_link.empty())
          md_ingress->request_from(opt.md_request_link, kSourceMdLink, std::uint64_t{opt.resend.retry_us} * 1000);
        log_line("market data link " + md_link + ": " + md_ingress->describe());
      }
      signal_pub = std::make_unique<mycelium::Publisher>(mycelium::Publisher::open(sig_local));
      engine->attach_output(&producer_of(*signal_pub, sig_local));
      if (sig_net) {
        signal_egress_sub = std::make_unique<mycelium::Subscriber>(mycelium::Subscriber::open(sig_local));
        signal_egress = std::make_unique<LinkEgress>("signals", std::vector<std::string>{signal_link}, kSourceSignalLink,
                                                     consumer_of(*signal_egress_sub, sig_local));
      }
    }
    if (has(Role::executor)) {
      signal_sub = std::make_unique<mycelium::Subscriber>(mycelium::Subscriber::open(sig_local));
      if (sig_net) {
        signal_ingress_pub = std::make_unique<mycelium::Publisher>(mycelium::Publisher::open(sig_local));
        signal_ingress = std::make_unique<LinkIngress>("signals", nic_config_for(ops::NicConfig{}, signal_link, "", -1),
                                                       producer_of(*signal_ingress_pub, sig_local));
      }
      tx_pub = std::make_unique<mycelium::Publisher>(mycelium::Publisher::open(tx_link));
      tx_sub = std::make_unique<mycelium::Subscriber>(mycelium::Subscriber::open(tx_link));
      report_pub = std::make_unique<mycelium::Publisher>(mycelium::Publisher::open(report_link));
      report_sub = std::make_unique<mycelium::Subscriber>(mycelium::Subscriber::open(report_link));
    }
    // Fill levels for the operator surface: one side of each ring this process holds.
    auto watch = [&](const char* name, auto* endpoint) {
      if (endpoint == nullptr) return;
      ring::RingRegion r;
      endpoint->visit([&](auto& c) {
        if constexpr (requires { c.region(); }) r = c.region();
      });
      if (r.valid()) ring_regions.emplace_back(name, r);
    };
    md_pub ? watch("market_data", md_pub.get()) : watch("market_data", md_sub.get());
    signal_pub ? watch("signals", signal_pub.get()) : watch("signals", signal_sub.get());
    watch("tx", tx_pub.get());
    watch("reports", report_pub.get());
  }

  // ---------------------------------------------------------------- collector
  struct RingSink {
    ring::SpscProducer* p;
    Impl* impl;
    bool operator()(std::span<const std::byte> f) noexcept {
      if (p->try_publish(f) != ring::PublishResult::ok) return false;
      impl->note_frame(f);
      return true;
    }
  };

  void publish_blocking(ring::SpscProducer& p, std::span<const std::byte> frame) {
    while (p.try_publish(frame) == ring::PublishResult::full) {
      if (stop_collector.load(std::memory_order_acquire)) return;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    note_frame(frame);
  }

  static std::optional<protocol::BlockHeader> fetch_header(control::ChainClient& rpc, std::uint64_t number) {
    auto r = rpc.block_by_number(control::to_hex_quantity(number));
    if (!r.ok()) throw std::runtime_error("eth_getBlockByNumber: " + r.error.message);
    return r.value;
  }

  // Snapshot frames wait for room in the md ring (start-up: nothing may be lost).
  struct BlockingSink {
    ring::SpscProducer* p;
    Impl* impl;
    bool operator()(std::span<const std::byte> f) noexcept {
      for (;;) {
        const auto r = p->try_publish(f);
        if (r == ring::PublishResult::ok) break;
        if (r != ring::PublishResult::full || impl->stop_collector.load(std::memory_order_acquire)) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      impl->note_frame(f);
      return true;
    }
  };

  struct SnapshotStats {
    std::size_t v2_pools = 0, v3_pools = 0, v3_ticks = 0;
    std::uint64_t calls = 0;
  };

  // Every pool at block b through the control library's snapshot_pools (batched eth_call:
  // getReserves; slot0, liquidity, tickSpacing, fee, tickBitmap words, ticks(t) with
  // liquidityNet and liquidityGross). The word range covers the WHOLE tick bitmap
  // (MIN_TICK..MAX_TICK) for each tick spacing, so no price move can leave the loaded ticks.
  SnapshotStats load_snapshot(control::ChainClient& http, ring::SpscProducer& md, std::uint64_t b) {
    constexpr std::int32_t kMaxTick = 887272;
    SnapshotStats st;
    const std::uint64_t calls0 = http.stats().requests.load();
    std::map<std::int32_t, std::vector<protocol::InstrumentId>> by_spacing;
    for (std::size_t i = 0; i < registry.pool_count(); ++i) {
      const protocol::InstrumentId id = registry.pool_id(i);
      const protocol::PoolInfo* p = registry.pool(id);
      by_spacing[p != nullptr ? p->tick_spacing : 0].push_back(id);
    }
    BlockingSink sink{&md, this};
    control::EventPublisher<BlockingSink> pub(sink, kSourceSnapshot, /*checksum=*/false);
    std::vector<std::byte> scratch(protocol::kMaxFrameSize);
    for (const auto& [spacing, ids] : by_spacing) {
      const std::int32_t words = spacing > 0 ? kMaxTick / (spacing * 256) + 2 : 0;
      std::vector<protocol::InstrumentId> failed;
      auto snaps = control::snapshot_pools(http, registry, ids, b, words, &failed);
      if (!snaps.ok()) throw std::runtime_error("snapshot at block " + std::to_string(b) + ": " + snaps.error.message);
      if (!failed.empty()) {
        const protocol::PoolInfo* p = registry.pool(failed.front());
        throw std::runtime_error("snapshot at block " + std::to_string(b) + ": " + std::to_string(failed.size()) +
                                 " pool(s) did not answer, or answered values no deployed pool has (a tick, tick spacing, fee or liquidity out of its type or range), e.g. " + (p ? protocol::format_address(p->address) : "?"));
      }
      for (const control::PoolSnapshot& ps : snaps.value) {
        if (!pub.publish_snapshot(ps.state, ps.ticks, scratch)) throw std::runtime_error("snapshot: md ring refused a frame");
        if (ps.state.kind == static_cast<std::uint8_t>(protocol::PoolKind::V3)) {
          ++st.v3_pools;
          st.v3_ticks += ps.ticks.size();
        } else {
          ++st.v2_pools;
        }
      }
    }
    st.calls = http.stats().requests.load() - calls0;
    return st;
  }

  // {"address":[pools],"topics":[[the decoded pool events]]} (no Transfer/Approval/Collect noise).
  std::string log_filter() const {
    std::string f = "{\"address\":[";
    for (std::size_t i = 0; i < list.pools.size(); ++i) {
      if (i) f += ',';
      f += "\"" + protocol::format_address(list.pools[i].address) + "\"";
    }
    f += "],\"topics\":[[";
    namespace t = control::topics;
    const control::topics::Bytes32* all[] = {&t::kV2Sync, &t::kV2Swap, &t::kV2Mint, &t::kV2Burn,
                                             &t::kV3Swap, &t::kV3Mint, &t::kV3Burn, &t::kV3Initialize};
    for (std::size_t i = 0; i < std::size(all); ++i) {
      if (i) f += ',';
      f += "\"" + to_hex(all[i]->data(), 32) + "\"";
    }
    return f + "]]}";
  }

  // Subscribes newHeads + logs; notifications that arrive before both answers are kept in `early`.
  bool subscribe(control::RpcClient& ws, std::vector<std::string>& early) {
    if (ws.ws_connect() != control::RpcStatus::Ok) return false;
    if (ws.ws_send(R"({"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]})") != control::RpcStatus::Ok) return false;
    const std::string logs = R"({"jsonrpc":"2.0","id":2,"method":"eth_subscribe","params":["logs",)" + log_filter() + "]}";
    if (ws.ws_send(logs) != control::RpcStatus::Ok) return false;
    int answered = 0;
    simdjson::dom::parser parser;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (answered < 2 && Clock::now() < deadline) {
      std::string msg;
      const auto st = ws.ws_read(msg, std::chrono::milliseconds(500));
      if (st == control::RpcStatus::Timeout) continue;
      if (st != control::RpcStatus::Ok) return false;
      simdjson::dom::element doc;
      if (parser.parse(msg).get(doc) != simdjson::SUCCESS) continue;
      std::uint64_t id = 0;
      if (doc["id"].get(id) == simdjson::SUCCESS) {
        simdjson::dom::element err;
        if (doc["error"].get(err) == simdjson::SUCCESS) {
          set_error("eth_subscribe refused: " + simdjson::minify(err));
          return false;
        }
        ++answered;
      } else {
        early.push_back(std::move(msg));
      }
    }
    return answered == 2;
  }

  void set_error(const std::string& e) {
    std::lock_guard lk(error_mu);
    if (collector_error.empty()) collector_error = e;
  }

  void run_collector() {
    if (opt.core_collector >= 0 && !hw::pin_current_thread(opt.core_collector)) log_line("collector: cannot pin to CPU " + std::to_string(opt.core_collector));
    try {
      collector_loop();
    } catch (const std::exception& e) {
      set_error(std::string("collector: ") + e.what());
      log_line(std::string("collector stopped: ") + e.what());
    }
  }

  void collector_loop() {
    auto ep = control::parse_endpoint(opt.rpc_ws);
    if (!ep || !ep->websocket) throw std::invalid_argument("--rpc '" + ops::redact_url(opt.rpc_ws) + "' is not a ws:// or wss:// URL");
    ring::SpscProducer& md = producer_of(*md_pub, md_local);
    RingSink sink{&md, this};
    control::EventPublisher<RingSink> publisher(sink, kSourceCollector, /*checksum=*/false);
    control::LogDecoder decoder(registry, chain);
    control::ReorgTracker tracker;
    std::unique_ptr<control::ChainClient> http_client = make_client();
    control::ChainClient& http = *http_client;
    control::RpcClient ws(*ep);

    std::vector<std::string> early;
    if (!subscribe(ws, early)) throw std::runtime_error("cannot subscribe at " + ops::redact_url(opt.rpc_ws) + ": " + ws.last_error());

    // Snapshot at a pinned block B; live events of blocks <= B are in it.
    const std::uint64_t b = value_or_throw(http.block_number(), "eth_blockNumber");
    const SnapshotStats snap = load_snapshot(http, md, b);
    if (auto h = fetch_header(http, b)) {
      (void)tracker.on_head(*h);
      (void)publisher.publish(*h);
      counters.base_fee_wei.store(h->base_fee_per_gas.limb[0], std::memory_order_relaxed);
    }
    counters.snapshot_block.store(b);
    counters.latest_block.store(b);
    log_line("snapshot at block " + std::to_string(b) + ": " + std::to_string(snap.v2_pools) + " V2 pools, " +
             std::to_string(snap.v3_pools) + " V3 pools, " + std::to_string(snap.v3_ticks) + " initialized ticks, " +
             std::to_string(snap.calls) + " JSON-RPC requests (control::snapshot_pools, full tick bitmap)");
    std::uint64_t last_block = b;
    collector_ready.store(true, std::memory_order_release);

    auto handle_log = [&](const control::LogEvent& ev) {
      const auto ctx = ev.ctx();
      if (ctx.block_number <= b) return;  // inside the snapshot
      if (ev.removed) {
        if (tracker.holds(ctx.block_number, ctx.block_hash_prefix)) resolve_reorg(tracker, publisher, http, nullptr);
        return;
      }
      counters.logs.fetch_add(1, std::memory_order_relaxed);
      if (publisher.publish(ev)) counters.md_frames.fetch_add(1, std::memory_order_relaxed);
      else counters.md_dropped.fetch_add(1, std::memory_order_relaxed);
      last_block = std::max(last_block, ctx.block_number);
    };
    auto handle = [&](std::string_view msg) {
      control::MessageKind kind{};
      const auto err = decoder.decode_message(msg, kind);
      if (err != control::DecodeError::Ok) {
        counters.decode_errors.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      if (kind == control::MessageKind::Log) {
        handle_log(decoder.log());
      } else if (kind == control::MessageKind::NewHead) {
        const protocol::BlockHeader h = decoder.head();
        counters.heads.fetch_add(1, std::memory_order_relaxed);
        if (tracker.on_head(h) == control::HeadResult::NeedsResolve) resolve_reorg(tracker, publisher, http, &h);
        if (publisher.publish(h)) counters.md_frames.fetch_add(1, std::memory_order_relaxed);
        else counters.md_dropped.fetch_add(1, std::memory_order_relaxed);
        counters.base_fee_wei.store(h.base_fee_per_gas.limb[0], std::memory_order_relaxed);
        counters.latest_block.store(h.number, std::memory_order_relaxed);
        if (gates) gates->set_latest_block(h.number);
      }
    };
    for (const auto& m : early) handle(m);

    std::string msg;
    TelemetryRing& tel = *tel_coll;
    std::uint32_t backoff_ms = 100;
    while (!stop_collector.load(std::memory_order_acquire)) {
      const auto st = ws.ws_read(msg, std::chrono::milliseconds(100));
      if (st == control::RpcStatus::Ok) {
        const std::uint64_t t0 = mono_ns();
        const std::uint64_t before = counters.md_frames.load(std::memory_order_relaxed);
        handle(msg);
        if (counters.md_frames.load(std::memory_order_relaxed) != before) stage_sample(tel, Stage::Decode, mono_ns() - t0);
        continue;
      }
      if (st == control::RpcStatus::Timeout) continue;
      // Connection lost: reconnect with backoff, resubscribe, then backfill from the last block.
      log_line("collector: node connection lost (" + std::string(control::to_string(st)) + "): " + ws.last_error());
      counters.reconnects.fetch_add(1, std::memory_order_relaxed);
      counters.node_connected.store(0, std::memory_order_relaxed);
      ws.close();
      early.clear();
      while (!stop_collector.load(std::memory_order_acquire)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
        if (subscribe(ws, early)) break;
        ws.close();
        backoff_ms = std::min<std::uint32_t>(backoff_ms * 2, 5000);
      }
      if (stop_collector.load(std::memory_order_acquire)) break;
      counters.node_connected.store(1, std::memory_order_relaxed);
      backoff_ms = 100;
      try {
        const std::uint64_t head = value_or_throw(http.block_number(), "eth_blockNumber");
        // A reorg while we were away announces itself by no removed log: compare our tip (or the
        // node's head, when lower) with the node's block of that number, unwind to the common
        // ancestor on a mismatch and backfill the new branch from there (its events sit at the
        // positions of the orphaned ones, which the book would otherwise drop as duplicates).
        std::uint64_t from = last_block;
        if (const auto tip = tracker.tip()) {
          const std::uint64_t at = std::min(*tip, head);
          const auto ours = tracker.hash_at(at);
          const auto theirs = fetch_header(http, at);
          std::uint64_t ancestor = 0;
          if (ours && theirs && theirs->hash != *ours) {
            if (resolve_reorg(tracker, publisher, http, at < *tip ? &*theirs : nullptr, &ancestor)) {
              log_line("collector: our tip " + std::to_string(*tip) + " left the canonical chain while disconnected; unwound to block " +
                       std::to_string(ancestor));
              from = std::min(from, ancestor + 1);
            } else {
              log_line("collector: our tip " + std::to_string(*tip) + " left the canonical chain while disconnected and no common ancestor was found");
            }
          }
        }
        const std::string logs = text_or_throw(
            http.call("eth_getLogs", "[{\"fromBlock\":\"" + control::to_hex_quantity(from) + "\",\"toBlock\":\"" +
                                         control::to_hex_quantity(head) + "\"," + log_filter().substr(1) + "]"),
            "eth_getLogs");
        const std::string wrapped = "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":" + logs + "}";
        (void)decoder.decode_log_array(wrapped, [&](const control::LogEvent& ev) {
          counters.backfilled_logs.fetch_add(1, std::memory_order_relaxed);
          handle_log(ev);
        });
      } catch (const std::exception& e) {
        log_line(std::string("collector: backfill failed: ") + e.what());
      }
      for (const auto& m : early) handle(m);
    }
    ws.close();
  }

  template <class Pub>
  bool resolve_reorg(control::ReorgTracker& tracker, Pub& publisher, control::ChainClient& http, const protocol::BlockHeader* head,
                     std::uint64_t* ancestor = nullptr) {
    protocol::ReorgNotice notice{};
    auto canonical = [&](std::uint64_t n) -> std::optional<control::Hash32> {
      try {
        if (auto h = fetch_header(http, n)) return h->hash;
      } catch (const std::exception&) {
      }
      return std::nullopt;
    };
    if (!tracker.resolve(head, canonical, notice)) return false;
    counters.reorgs.fetch_add(1, std::memory_order_relaxed);
    (void)publisher.publish(notice);
    if (ancestor != nullptr) *ancestor = notice.common_ancestor_number;
    return true;
  }

  // ---------------------------------------------------------------- strategy
  template <class Idle>
  void strategy_loop(Idle& idle) {
    ring::SpscConsumer& in = consumer_of(*md_sub, md_local);
    TelemetryRing& tel = *tel_strat;
    std::uint64_t signals_before = 0;
    std::uint64_t settings_seen = 0;
    for (;;) {
      if (const std::uint64_t g = engine_settings_gen.load(std::memory_order_acquire); g != settings_seen) [[unlikely]] {
        settings_seen = g;
        engine->set_min_net_profit(num::UsdFixedPoint8{min_profit_usd.load(std::memory_order_relaxed)});
        engine->set_priority_fee(U256(priority_fee_gwei.load(std::memory_order_relaxed)) * U256(1'000'000'000ULL));
      }
      const std::uint64_t t0 = mono_ns();
      const std::size_t n = engine->poll(in, 64);
      if (n != 0) {
        counters.strategy_frames.fetch_add(n, std::memory_order_relaxed);
        const auto& st = engine->stats();
        if (st.signals != signals_before) {
          stage_sample(tel, Stage::Search, mono_ns() - t0);
          signals_before = st.signals;
        }
        counters.signals.store(st.signals, std::memory_order_relaxed);
        counters.signals_dropped.store(st.signals_dropped_full, std::memory_order_relaxed);
        continue;
      }
      if (engine->pending()) continue;  // evaluations a newer frame had paused (poll resumed them)
      if (stop_strategy.load(std::memory_order_acquire)) break;  // stopped and drained
      idle.idle(0);
    }
  }

  void run_strategy() {
    if (opt.core_strategy >= 0 && !hw::pin_current_thread(opt.core_strategy)) log_line("strategy: cannot pin to CPU " + std::to_string(opt.core_strategy));
    with_idle(opt.idle, [&](auto& i) { strategy_loop(i); });
    strategy_done.store(true, std::memory_order_release);
  }

  // ---------------------------------------------------------------- executor
  InFlight* order_slot(std::uint64_t order_id) noexcept {
    for (auto& o : orders)
      if (o.used && o.order_id == order_id) return &o;
    return nullptr;
  }

  enum class QueueResult : std::uint8_t { Ok, SignError, RingFull };
  // Signs the order's execute() call with `nonce` and `fees` and queues it to the submitter. The
  // hash of the signed transaction goes to `hash`. No allocation.
  QueueResult queue_tx(const InFlight& s, std::uint64_t nonce, const risk::TxFees& fees, risk::TxKind kind,
                       std::uint32_t attempt, ring::SpscProducer& tx_out, std::array<std::uint8_t, 32>& hash) noexcept {
    TxOrder order{};
    order.order_id = s.order_id;
    order.signal_id = s.signal_id;
    order.nonce = nonce;
    order.gas_limit = s.gas_limit;
    order.chain_id = opt.chain_id;
    order.sender = sender;
    order.attempt = attempt;
    order.kind = static_cast<std::uint8_t>(kind);
    order.max_fee_per_gas = fees.max_fee_per_gas;
    order.max_priority_fee_per_gas = fees.max_priority_fee_per_gas;
    executor::Eip1559Tx tx{};
    tx.chain_id = opt.chain_id;
    tx.nonce = nonce;
    tx.max_priority_fee_per_gas = fees.max_priority_fee_per_gas;
    tx.max_fee_per_gas = fees.max_fee_per_gas;
    tx.gas_limit = s.gas_limit;
    tx.to = contract;
    tx.data = std::span<const std::uint8_t>(s.calldata.data(), s.cd_len);
    executor::SignedTx signed_tx{};
    if (s.cd_len == 0 || executor::sign_tx(*signer, *key, tx, order.raw, signed_tx) != executor::TxError::Ok) {
      return QueueResult::SignError;
    }
    order.raw_size = static_cast<std::uint32_t>(signed_tx.size);
    std::memcpy(order.tx_hash.data(), signed_tx.hash.data(), 32);
    hash = order.tx_hash;
    const std::size_t bytes = offsetof(TxOrder, raw) + signed_tx.size;
    if (tx_out.try_publish(std::span<const std::byte>(reinterpret_cast<const std::byte*>(&order), bytes)) != ring::PublishResult::ok) {
      return QueueResult::RingFull;
    }
    return QueueResult::Ok;
  }

  // After a nonce error or a receipt timeout: the node's pending count (fetched by the submitter)
  // becomes the nonce base; logged as a Nonce record (kind Resync).
  void resync_nonces(risk::AuditChannel& ach) noexcept {
    const risk::ResyncReport r = nonces->resync();
    if (!r.ok) {
      log_line("executor: nonce resync skipped (the node's pending nonce is unknown)");
      return;
    }
    counters.nonce_resyncs.fetch_add(1, std::memory_order_relaxed);
    if (r.stale) {
      log_line("executor: the node's pending nonce " + std::to_string(r.node_pending) + " is below our last receipt's; kept " +
               std::to_string(nonces->base()) + " (a lagging node)");
    }
    risk::AuditNonce an{};
    an.kind = static_cast<std::uint64_t>(risk::NonceEventKind::Resync);
    an.node_pending = r.node_pending;
    an.next_nonce = nonces->base();
    an.tracked = nonces->in_flight();
    (void)ach.push(an);
  }

  // Executor thread, off the per-signal path (every 250 ms while idle): transactions without a
  // receipt for replace_after_blocks blocks / replace_after_ms, or lost by the node, are re-signed
  // at the same nonce with both fees bumped (NonceManager::find_stuck), capped by the risk gates'
  // gas price ceiling as it is now (reloadable).
  void replace_stuck(ring::SpscProducer& tx_out, std::uint64_t now) noexcept {
    // A ceiling of 0 makes the gates refuse every trade; for replacements it must mean "no fee
    // at all", not the nonce manager's "no cap" (1 wei: nothing bumps under it).
    const std::uint64_t ceiling = std::max<std::uint64_t>(gates->limits().max_fee_per_gas_wei, 1);
    nonces->set_max_fee_cap(ceiling);
    const std::uint64_t capped_before = nonces->cap_exceeded();
    std::array<risk::Replacement, 8> stuck{};
    const std::size_t n = nonces->find_stuck(counters.latest_block.load(std::memory_order_relaxed), stuck, now);
    if (nonces->cap_exceeded() != capped_before) {
      counters.replacement_capped.fetch_add(nonces->cap_exceeded() - capped_before, std::memory_order_relaxed);
    }
    for (std::size_t i = 0; i < n; ++i) {
      const risk::Replacement& r = stuck[i];
      InFlight* slot = order_slot(r.order_id);
      if (slot == nullptr || slot->nonce != r.nonce) {  // nothing to re-sign it from
        (void)nonces->abandon(r.nonce);
        continue;
      }
      if (slot->replacing || now < slot->next_replace_ns) continue;
      const risk::InFlightTx* t = nonces->find(r.nonce);
      std::array<std::uint8_t, 32> hash{};
      const QueueResult q = queue_tx(*slot, r.nonce, r.new_fees, r.lost ? risk::TxKind::Resend : risk::TxKind::Replacement,
                                     t != nullptr ? t->attempts : 1, tx_out, hash);
      slot->next_replace_ns = now + 1'000'000'000ULL;  // at most one attempt per second and order
      if (q != QueueResult::Ok) continue;
      slot->replacing = true;
      slot->pending_fees = r.new_fees;
    }
  }

  // A message of the submitter: the node's answer to an attempt, a receipt or a timeout.
  void on_submit_event(const SubmitEvent& ev, ring::SpscProducer& tx_out, risk::AuditChannel& ach) noexcept {
    const auto what = static_cast<SubmitWhat>(ev.what);
    const auto kind = static_cast<risk::TxKind>(ev.tx_kind);
    const std::uint64_t now = mono_ns();
    InFlight* slot = order_slot(ev.rep.order_id);
    const risk::Hash32 hash = ev.rep.tx_hash;
    switch (what) {
      case SubmitWhat::Accepted:
        if (slot == nullptr) return;
        if (kind == risk::TxKind::New) {
          (void)nonces->on_sent(ev.rep.nonce, hash, slot->fees, ev.sent_block, ev.rep.order_id, now);
        } else {
          if (nonces->on_replaced(ev.rep.nonce, hash, slot->pending_fees, ev.sent_block, now)) slot->fees = slot->pending_fees;
          slot->replacing = false;
          counters.replacements.fetch_add(1, std::memory_order_relaxed);
        }
        return;
      case SubmitWhat::Refused:
        on_refused(ev, slot, tx_out, ach, now);
        return;
      case SubmitWhat::Settled:
        (void)nonces->on_mined(ev.rep.nonce);
        on_report(ev.rep, ach);
        return;
      case SubmitWhat::TimedOut:
        // Given up: the nonce follows the node again (a tx still in its pool keeps its nonce used).
        resync_nonces(ach);
        (void)nonces->abandon(ev.rep.nonce);
        on_report(ev.rep, ach);
        return;
    }
  }

  void on_refused(const SubmitEvent& ev, InFlight* slot, ring::SpscProducer& tx_out, risk::AuditChannel& ach,
                  std::uint64_t now) noexcept {
    const auto err = static_cast<risk::NodeError>(ev.node_error);
    const risk::SendAction a = nonces->on_send_error(ev.rep.nonce, err);
    if (slot == nullptr) return;
    if (static_cast<risk::TxKind>(ev.tx_kind) != risk::TxKind::New) {
      // A replacement or resend: the earlier attempt stays in flight (AlreadyMined: a receipt of
      // it is coming; KeepWaiting), unless the node already had this one.
      counters.replacements_refused.fetch_add(1, std::memory_order_relaxed);
      slot->replacing = false;
      if (a == risk::SendAction::TreatAsSent) {
        if (nonces->on_replaced(ev.rep.nonce, ev.rep.tx_hash, slot->pending_fees, ev.sent_block, now)) slot->fees = slot->pending_fees;
      } else if (a == risk::SendAction::BumpAndRetry) {
        // Someone's transaction at this nonce pays more than our bump: bump from what was refused.
        const std::optional<risk::TxFees> more =
            risk::bump_fees(slot->pending_fees, opt.replace_bump_pct, nonces->priority_floor(),
                            std::max<std::uint64_t>(gates->limits().max_fee_per_gas_wei, 1));
        const risk::InFlightTx* t = nonces->find(ev.rep.nonce);
        std::array<std::uint8_t, 32> h{};
        if (more && t != nullptr &&
            queue_tx(*slot, ev.rep.nonce, *more, risk::TxKind::Replacement, t->attempts, tx_out, h) == QueueResult::Ok) {
          slot->replacing = true;
          slot->pending_fees = *more;
        }
      }
      return;
    }
    if (a == risk::SendAction::TreatAsSent) {  // "already known": the node holds this very tx
      (void)nonces->on_sent(ev.rep.nonce, ev.rep.tx_hash, slot->fees, ev.sent_block, ev.rep.order_id, now);
      return;
    }
    protocol::ExecutionReport failed = ev.rep;
    failed.status = static_cast<std::uint8_t>(protocol::ExecutionStatus::Failed);
    if (a == risk::SendAction::ResyncAndRetry) {
      // Our local nonce was stale (a transaction sent from this key elsewhere, a node that lost its
      // pool): follow the node, then sign the same trade again with the next free nonce.
      resync_nonces(ach);
      if (slot->retries < kMaxNonceRetries) {
        if (const std::optional<std::uint64_t> n = nonces->acquire()) {
          std::array<std::uint8_t, 32> h{};
          if (queue_tx(*slot, *n, slot->fees, risk::TxKind::New, 0, tx_out, h) == QueueResult::Ok) {
            (void)ach.push(failed);  // this attempt's nonce is settled in the log (never mined)
            slot->nonce = *n;
            ++slot->retries;
            counters.nonce_retries.fetch_add(1, std::memory_order_relaxed);
            return;
          }
          (void)nonces->release(*n);
        }
      }
    }
    on_report(failed, ach);  // the trade failed (Failed receipt in the log, risk outcome Failed)
  }

  void on_signal(std::span<const std::byte> frame, std::uint64_t& order_seq, ring::SpscProducer& tx_out,
                 risk::AuditChannel& ach) noexcept {
    const auto parsed = protocol::parse_frame(frame);
    if (!parsed.ok()) return;
    for (const auto& tlv : parsed.view.tlvs()) {
      const auto sig = protocol::tlv_as<protocol::ArbitrageSignal>(tlv);
      if (!sig) continue;
      counters.signals_received.fetch_add(1, std::memory_order_relaxed);
      const std::uint64_t md_ts = parsed.view.header.timestamp_ns;
      const std::uint64_t seen = wall_ns();
      if (signal_latency_ns.size() < kLatencySamples && md_ts != 0 && seen > md_ts) signal_latency_ns.push_back(seen - md_ts);
      TelemetryRing& tel = *tel_exec;
      if (md_ts != 0 && seen > md_ts) stage_sample(tel, Stage::TickToSignal, seen - md_ts);
      TelemetryRecord op;
      op.kind = TelemetryKind::Opportunity;
      op.t_unix_ns = seen;
      op.signal_id = sig->signal_id;
      op.block = sig->block_number;
      op.hop_count = sig->hop_count;
      op.pools = sig->pools;
      op.tokens = sig->tokens;
      op.amount_in = sig->amount_in;
      op.expected_usd = sig->net_profit_usd;
      auto emit = [&](std::uint8_t decision) noexcept {
        op.decision = decision;
        (void)tel.try_push(op);
      };
      (void)ach.push(*sig);
      if (sig->net_profit_usd < min_profit_usd.load(std::memory_order_relaxed)) {
        counters.below_threshold.fetch_add(1, std::memory_order_relaxed);
        emit(kDecisionBelowThreshold);
        continue;
      }
      // A signal computed at or before the block our last trade was mined in may not include that
      // trade's own pool changes (heads can arrive before the block's logs):
      // executing it would trade against our own footprint (and usually revert). The engine
      // re-signals from the new state if the cycle is still profitable.
      if (sig->block_number <= last_trade_block) {
        counters.stale_signals.fetch_add(1, std::memory_order_relaxed);
        emit(kDecisionStale);
        continue;
      }
      // A signal on a pool that one of our in-flight trades touches was computed without that trade:
      // both would race within one block and one would revert. Skipped as stale too.
      bool conflict = false;
      const std::size_t sig_pools = std::min<std::size_t>(sig->hop_count, protocol::kMaxHops);
      for (const auto& o : orders)
        if (o.used && shares_pool(o.pools, o.pool_count, sig->pools, sig_pools)) conflict = true;
      if (conflict) {
        counters.stale_signals.fetch_add(1, std::memory_order_relaxed);
        emit(kDecisionStale);
        continue;
      }
      std::array<std::uint8_t, kMaxPathBytes> path{};
      std::size_t path_len = 0;
      if (encode_path(*sig, *paths, path, path_len) != PathError::Ok) {
        counters.path_errors.fetch_add(1, std::memory_order_relaxed);
        emit(kDecisionPathError);
        continue;
      }
      const FeeQuote fees = fees_for(U256(counters.base_fee_wei.load(std::memory_order_relaxed)),
                                     priority_fee_gwei.load(std::memory_order_relaxed), opt.chain_id);
      risk::Candidate cand = risk_candidate(*sig, fees);
      // The freshest head this process knows (the signal's block, or the node's head as polled by
      // the submitter / seen by the builtin collector): a signal priced on an older book is stale.
      gates->set_latest_block(std::max(sig->block_number, counters.latest_block.load(std::memory_order_relaxed)));
      const std::uint64_t risk_t0 = mono_ns();
      const risk::Decision d = gates->check(cand);
      stage_sample(tel, Stage::Risk, mono_ns() - risk_t0);
      op.notional_usd = d.notional_usd.raw;
      risk::AuditDecision ad{};
      ad.signal_id = sig->signal_id;
      ad.token_in = sig->tokens[0];
      ad.accepted = d.accept ? 1 : 0;
      ad.reason = static_cast<std::uint8_t>(d.reason);
      ad.breaker_state = static_cast<std::uint8_t>(gates->breaker_state());
      ad.notional_usd = d.notional_usd.raw;
      ad.amount_in = sig->amount_in;
      ad.max_fee_per_gas = d.max_fee_per_gas;
      ad.max_priority_fee_per_gas = d.max_priority_fee_per_gas;
      (void)ach.push(ad);
      if (!d.accept) {
        counters.risk_rejected.fetch_add(1, std::memory_order_relaxed);
        emit(static_cast<std::uint8_t>(d.reason));
        continue;
      }
      counters.risk_accepted.fetch_add(1, std::memory_order_relaxed);
      InFlight* slot = nullptr;
      for (auto& o : orders)
        if (!o.used) {
          slot = &o;
          break;
        }
      if (slot == nullptr) {  // more in flight than the table holds: the gate's limit is set too high
        counters.risk_rejected.fetch_add(1, std::memory_order_relaxed);
        emit(kDecisionNoOrderSlot);
        continue;
      }
      const std::optional<std::uint64_t> nonce = nonces->acquire();
      if (!nonce) {  // the nonce table is full, or the nonces are not in sync with the node
        counters.risk_rejected.fetch_add(1, std::memory_order_relaxed);
        emit(kDecisionNoOrderSlot);
        continue;
      }
      const std::uint64_t sign_t0 = mono_ns();
      slot->cd_len = executor::encode_execute_call(
          slot->calldata, std::span<const std::uint8_t>(path.data(), path_len), sig->amount_in,
          min_profit_for(sig->expected_profit, min_profit_share_bps.load(std::memory_order_relaxed)));
      slot->order_id = ++order_seq;
      slot->signal_id = sig->signal_id;
      slot->nonce = *nonce;
      slot->gas_limit = opt.gas_limit_for(sig->hop_count);
      slot->fees = risk::TxFees{d.max_fee_per_gas, d.max_priority_fee_per_gas};
      slot->replacing = false;
      slot->retries = 0;
      slot->next_replace_ns = 0;
      std::array<std::uint8_t, 32> tx_hash{};
      const QueueResult qr = queue_tx(*slot, *nonce, slot->fees, risk::TxKind::New, 0, tx_out, tx_hash);
      if (qr == QueueResult::SignError) {
        (void)nonces->release(*nonce);
        counters.sign_errors.fetch_add(1, std::memory_order_relaxed);
        emit(kDecisionSignError);
        continue;
      }
      if (qr == QueueResult::Ok) {
        stage_sample(tel, Stage::Sign, mono_ns() - sign_t0);
      }
      const std::uint64_t signed_at = wall_ns();
      if (qr == QueueResult::Ok) {
        if (latency_ns.size() < kLatencySamples && md_ts != 0 && signed_at > md_ts) latency_ns.push_back(signed_at - md_ts);
        if (md_ts != 0 && signed_at > md_ts) stage_sample(tel, Stage::TickToSignedTx, signed_at - md_ts);
        counters.signed_txs.fetch_add(1, std::memory_order_relaxed);
      }
      if (qr == QueueResult::RingFull) {
        (void)nonces->release(*nonce);
        counters.signed_txs.fetch_add(1, std::memory_order_relaxed);
        counters.tx_ring_full.fetch_add(1, std::memory_order_relaxed);
        emit(kDecisionTxRingFull);
        continue;
      }
      gates->on_submitted(cand);
      slot->used = true;
      slot->candidate = cand;
      slot->expected_usd = sig->net_profit_usd;
      slot->pools = sig->pools;
      slot->tokens = sig->tokens;
      slot->amount_in = sig->amount_in;
      slot->pool_count = sig_pools;
      emit(kDecisionTaken);
      TelemetryRecord tr = op;
      tr.kind = TelemetryKind::Trade;
      tr.trade_state = static_cast<std::uint8_t>(TradeState::Pending);
      tr.order_id = slot->order_id;
      tr.nonce = *nonce;
      tr.tx_hash = tx_hash;
      tr.t_unix_ns = signed_at;
      (void)tel.try_push(tr);
      publish_risk_state();
    }
  }

  // Executor thread: in-flight, reverts and per-token exposure (USD) for the operator surface.
  // Runs after a submission or an outcome only (not per signal).
  void publish_risk_state() noexcept {
    counters.in_flight.store(static_cast<std::uint32_t>(gates->in_flight()), std::memory_order_relaxed);
    counters.consecutive_reverts.store(gates->consecutive_failures(), std::memory_order_relaxed);
    for (std::size_t i = 0; i < registry.token_count(); ++i) {
      if (prices[i].usd.raw <= 0) continue;
      const protocol::InstrumentId id = registry.token_id(i);
      const U256 raw = gates->exposure(id);
      const protocol::TokenInfo* t = registry.token(id);
      const U256 usd = raw * U256(static_cast<std::uint64_t>(prices[i].usd.raw)) / pow10_table(t->decimals);
      const bool big = (usd.limb[1] | usd.limb[2] | usd.limb[3]) != 0 || usd.limb[0] > static_cast<std::uint64_t>(INT64_MAX);
      const std::int64_t v = big ? INT64_MAX : static_cast<std::int64_t>(usd.limb[0]);
      exposure_usd[i].store(v, std::memory_order_relaxed);
    }
  }

  // Books the outcome of an order (Included, Reverted or Failed): risk outcome, P&L, audit.
  void on_report(protocol::ExecutionReport report, risk::AuditChannel& ach) noexcept {
    protocol::ExecutionReport* rep = &report;
    {
      InFlight* slot = order_slot(rep->order_id);
      if (slot == nullptr) return;
      const auto status = static_cast<protocol::ExecutionStatus>(rep->status);
      if (status == protocol::ExecutionStatus::Submitted) return;  // still in flight
      risk::TradeOutcome outcome = risk::TradeOutcome::Failed;
      if (status == protocol::ExecutionStatus::Included) outcome = risk::TradeOutcome::Included;
      if (status == protocol::ExecutionStatus::Reverted) outcome = risk::TradeOutcome::Reverted;
      rep->expected_pnl_usd = slot->expected_usd;
      TelemetryRecord tr;
      tr.kind = TelemetryKind::Trade;
      tr.t_unix_ns = wall_ns();
      tr.order_id = rep->order_id;
      tr.signal_id = rep->signal_id;
      tr.nonce = rep->nonce;
      tr.block = rep->block_number;
      tr.gas_used = rep->gas_used;
      tr.tx_hash = rep->tx_hash;
      tr.hop_count = slot->candidate.hop_count;
      tr.pools = slot->pools;
      tr.tokens = slot->tokens;
      tr.amount_in = slot->amount_in;
      tr.expected_usd = slot->expected_usd;
      tr.trade_state = static_cast<std::uint8_t>(status == protocol::ExecutionStatus::Included   ? TradeState::Mined
                                                 : status == protocol::ExecutionStatus::Reverted ? TradeState::Reverted
                                                                                                 : TradeState::Dropped);
      if (status == protocol::ExecutionStatus::Included || status == protocol::ExecutionStatus::Reverted) {
        last_trade_block = std::max(last_trade_block, rep->block_number);
        risk::TradePnl t{};
        if (pnl->on_execution(*rep, slot->candidate.token_in, t) == risk::PnlError::ok) {
          rep->realized_pnl_usd = t.net_usd.raw;
          counters.realized_pnl_usd.fetch_add(t.net_usd.raw, std::memory_order_relaxed);
          counters.realized_profit_usd.fetch_add(t.profit_usd.raw, std::memory_order_relaxed);
          counters.gas_usd.fetch_add(t.gas_usd.raw, std::memory_order_relaxed);
          const auto snap = combined_pnl();
          gates->update_pnl(snap);
          tr.realized_known = 1;
          tr.realized_usd = t.net_usd.raw;
          counters.pnl_daily_usd.store(snap.daily.raw, std::memory_order_relaxed);
          counters.pnl_peak_usd.store(snap.peak.raw, std::memory_order_relaxed);
          counters.pnl_drawdown_usd.store(snap.drawdown.raw, std::memory_order_relaxed);
          (void)ach.push(*rep);
          risk::AuditPnl ap{};
          ap.order_id = rep->order_id;
          ap.signal_id = rep->signal_id;
          ap.token_in = slot->candidate.token_in.raw();
          ap.profit_usd = t.profit_usd.raw;
          ap.gas_usd = t.gas_usd.raw;
          ap.net_usd = t.net_usd.raw;
          ap.expected_usd = t.expected_usd.raw;
          ap.cumulative_usd = snap.cumulative.raw;
          ap.peak_usd = snap.peak.raw;
          ap.drawdown_usd = snap.drawdown.raw;
          ap.daily_usd = snap.daily.raw;
          ap.day = snap.day;
          (void)ach.push(ap);
        } else {
          (void)ach.push(*rep);
        }
        const std::uint64_t ti = slot->candidate.token_in.index();
        if (status == protocol::ExecutionStatus::Included && ti < realized_raw.size() && !rep->realized_profit.is_negative()) {
          realized_raw[ti] = realized_raw[ti] + rep->realized_profit.bits();
        }
      } else {
        (void)ach.push(*rep);
      }
      gates->on_outcome(slot->candidate, outcome);
      slot->used = false;
      (void)tel_exec->try_push(tr);
      publish_risk_state();
    }
  }

  template <class Idle>
  void executor_loop(Idle& idle) {
    ring::SpscConsumer& sig_in = consumer_of(*signal_sub, sig_local);
    ring::SpscConsumer& rep_in = consumer_of(*report_sub, report_link);
    ring::SpscProducer& tx_out = producer_of(*tx_pub, tx_link);
    risk::AuditChannel& ach = audit->channel(0);
    std::uint64_t order_seq = order_seq_start;
    for (;;) {
      std::size_t n = sig_in.consume_burst([&](std::span<const std::byte> f) noexcept { on_signal(f, order_seq, tx_out, ach); }, 16);
      n += rep_in.consume_burst(
          [&](std::span<const std::byte> f) noexcept {
            SubmitEvent ev{};
            std::memcpy(&ev, f.data(), std::min(f.size(), sizeof ev));
            on_submit_event(ev, tx_out, ach);
          },
          16);
      if (n != 0) continue;
      if (const std::uint64_t now = mono_ns(); now >= next_stuck_check_ns) {
        next_stuck_check_ns = now + 250'000'000ULL;
        replace_stuck(tx_out, now);
      }
      if (intake_closed.load(std::memory_order_acquire)) signals_drained.store(true, std::memory_order_release);
      if (stop_executor.load(std::memory_order_acquire)) break;
      idle.idle(0);
    }
  }

  void run_executor() {
    if (opt.core_executor >= 0 && !hw::pin_current_thread(opt.core_executor)) log_line("executor: cannot pin to CPU " + std::to_string(opt.core_executor));
    with_idle(opt.idle, [&](auto& i) { executor_loop(i); });
  }

  // ---------------------------------------------------------------- submitter
  struct Pending {
    TxOrder order;  // the latest accepted attempt
    Clock::time_point deadline;
    std::uint64_t sent_ns = 0;
    std::vector<std::array<std::uint8_t, 32>> hashes;  // every accepted attempt at this nonce: any may be mined
    bool confirming = false;  // a receipt was seen; waiting for receipt_confirmations blocks on top
  };

  void send_event(ring::SpscProducer& out, const protocol::ExecutionReport& r, SubmitWhat what, std::uint8_t tx_kind = 0,
                  risk::NodeError err = risk::NodeError::None, std::uint64_t sent_block = 0) {
    SubmitEvent ev{};
    ev.rep = r;
    ev.what = static_cast<std::uint8_t>(what);
    ev.tx_kind = tx_kind;
    ev.node_error = static_cast<std::uint8_t>(err);
    ev.sent_block = sent_block;
    const std::span<const std::byte> f(reinterpret_cast<const std::byte*>(&ev), sizeof ev);
    while (out.try_publish(f) == ring::PublishResult::full) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }

  static protocol::ExecutionReport report_of(const TxOrder& o, protocol::ExecutionStatus st) {
    protocol::ExecutionReport r{};
    r.order_id = o.order_id;
    r.signal_id = o.signal_id;
    r.nonce = o.nonce;
    r.status = static_cast<std::uint8_t>(st);
    r.tx_hash = o.tx_hash;
    r.effective_gas_price = U256::zero();
    r.realized_profit = num::I256::from_bits(U256::zero());
    return r;
  }

  // The node's pending nonce for the executor's NonceManager::resync() (UINT64_MAX on failure).
  void fetch_pending_nonce(control::ChainClient& rpc) {
    try {
      node_pending.store(value_or_throw(rpc.get_transaction_count(sender, "pending"), "eth_getTransactionCount"),
                         std::memory_order_release);
    } catch (const std::exception& e) {
      node_pending.store(UINT64_MAX, std::memory_order_release);
      log_line(std::string("submitter: pending nonce unavailable: ") + e.what());
    }
  }

  // Parses a receipt; false when not mined yet.
  bool parse_receipt(const std::string& json, const TxOrder& o, protocol::ExecutionReport& r) {
    if (json == "null") return false;
    simdjson::dom::parser parser;
    simdjson::dom::element rc;
    if (parser.parse(json).get(rc) != simdjson::SUCCESS) return false;
    std::string_view s;
    const bool ok = rc["status"].get(s) == simdjson::SUCCESS && parse_hex_u64(s).value_or(0) == 1;
    r = report_of(o, ok ? protocol::ExecutionStatus::Included : protocol::ExecutionStatus::Reverted);
    if (rc["blockNumber"].get(s) == simdjson::SUCCESS) r.block_number = parse_hex_u64(s).value_or(0);
    if (rc["gasUsed"].get(s) == simdjson::SUCCESS) r.gas_used = parse_hex_u64(s).value_or(0);
    if (rc["effectiveGasPrice"].get(s) == simdjson::SUCCESS) r.effective_gas_price = U256::parse(s).value_or(U256::zero());
    // Executed(bytes32 indexed pathHash, uint256 amountIn, uint256 profit) from our contract.
    static const auto kExecuted = executor::keccak256(std::string_view("Executed(bytes32,uint256,uint256)"));
    simdjson::dom::array logs;
    if (ok && rc["logs"].get_array().get(logs) == simdjson::SUCCESS) {
      for (simdjson::dom::element lg : logs) {
        std::string_view addr, data;
        simdjson::dom::array topics;
        if (lg["address"].get(addr) != simdjson::SUCCESS || lg["data"].get(data) != simdjson::SUCCESS ||
            lg["topics"].get_array().get(topics) != simdjson::SUCCESS)
          continue;
        const auto a = protocol::parse_address(addr);
        if (!a || *a != contract) continue;
        std::string_view t0;
        if (topics.at(0).get(t0) != simdjson::SUCCESS) continue;
        const auto t0b = parse_hex_bytes(t0);
        if (!t0b || t0b->size() != 32 || std::memcmp(t0b->data(), kExecuted.data(), 32) != 0) continue;
        const auto d = parse_hex_bytes(data);
        if (!d) continue;
        if (d->size() >= 64) {
          r.realized_profit =
              num::I256::from_bits(num::from_be_bytes(std::span<const std::uint8_t, 32>(d->data() + 32, 32)));
        }
      }
    }
    return true;
  }

  void run_submitter() {
    try {
      submitter_loop();
    } catch (const std::exception& e) {
      log_line(std::string("submitter stopped: ") + e.what());
    }
    submitter_done.store(true, std::memory_order_release);
  }

  void submitter_loop() {
    std::unique_ptr<control::ChainClient> client = make_client();
    control::ChainClient& rpc = *client;
    ring::SpscConsumer& in = consumer_of(*tx_sub, tx_link);
    ring::SpscProducer& out = producer_of(*report_pub, report_link);
    risk::AuditChannel& ach = audit->channel(1);
    std::vector<Pending> pending;
    for (const auto& [o, hashes] : recovered_orders)  // in flight at the crash: poll every attempt's receipt
      pending.push_back(Pending{o, Clock::now() + std::chrono::milliseconds(opt.receipt_timeout_ms), mono_ns(), hashes});
    auto last_poll = Clock::now();
    auto last_fee = Clock::now() - std::chrono::seconds(10);
    const bool own_fee = !has(Role::collector) || !opt.builtin_collector;  // no base fee from a collector here
    for (;;) {
      if (own_fee && Clock::now() - last_fee > std::chrono::milliseconds(500)) {
        last_fee = Clock::now();
        try {
          if (auto h = fetch_header(rpc, value_or_throw(rpc.block_number(), "eth_blockNumber"))) {
            counters.base_fee_wei.store(h->base_fee_per_gas.limb[0], std::memory_order_relaxed);
            counters.latest_block.store(h->number, std::memory_order_relaxed);
          }
        } catch (const std::exception& e) {
          log_line(std::string("submitter: base fee refresh failed: ") + e.what());
        }
      }
      std::vector<TxOrder> batch;
      (void)in.consume_burst(
          [&](std::span<const std::byte> f) noexcept {
            TxOrder o{};
            std::memcpy(&o, f.data(), std::min(f.size(), sizeof o));
            batch.push_back(o);
          },
          16);
      for (const TxOrder& o : batch) {
        const auto kind = static_cast<risk::TxKind>(o.kind);
        Pending* p = nullptr;
        for (auto& q : pending)
          if (q.order.order_id == o.order_id) p = &q;
        if (kind != risk::TxKind::New && p == nullptr) continue;  // settled meanwhile: nothing to replace
        // Write-ahead: the Transaction record (signed, not yet acknowledged) is in the file before
        // the node can see the transaction, so a crash never leaves an unaudited one.
        risk::AuditTransaction at{};
        at.order_id = o.order_id;
        at.signal_id = o.signal_id;
        at.nonce = o.nonce;
        at.chain_id = o.chain_id;
        at.gas_limit = o.gas_limit;
        at.sent_block = counters.latest_block.load(std::memory_order_relaxed);
        at.attempt = o.attempt;
        at.kind = o.kind;
        at.tx_hash = o.tx_hash;
        at.sender = o.sender;
        at.max_fee_per_gas = o.max_fee_per_gas;
        at.max_priority_fee_per_gas = o.max_priority_fee_per_gas;
        std::string error;
        if (!ach.push(at) || !audit->flush(std::chrono::seconds(2))) {
          error = "audit Transaction record not written: not sent";
        } else {
          auto sent = rpc.send_raw_transaction(std::span<const std::uint8_t>(o.raw.data(), o.raw_size));
          if (!sent.ok() && sent.error.outcome_unknown()) {
            // The node may hold the transaction (the call timed out or the connection failed
            // after sending): follow it like an accepted one, by its hash. Treating it as refused
            // would free its nonce for the next trade, which could replace it or be refused,
            // while this one may still be mined unbooked. If the node never had it, the receipt
            // wait times out and the nonce resyncs (or the stuck rule resends it).
            counters.send_unknown.fetch_add(1, std::memory_order_relaxed);
            log_line("submitter: eth_sendRawTransaction outcome unknown (" + std::string(kind == risk::TxKind::New ? "new" : "replacement") +
                     " at nonce " + std::to_string(o.nonce) + "): " + sent.error.message + "; following " + to_hex(o.tx_hash.data(), 32));
          } else if (!sent.ok() && risk::classify_node_error(sent.error.message) == risk::NodeError::AlreadyKnown) {
            // The node holds this very transaction (e.g. it reached it through another endpoint
            // or peer): accepted, and followed like any accepted one (receipts, timeout,
            // replacements). Reported as refused it would be tracked by the executor but never
            // polled here, leaving its order slot and in-flight count taken for good.
            log_line("submitter: eth_sendRawTransaction: already known (nonce " + std::to_string(o.nonce) + "): following it");
          } else if (!sent.ok()) {
            error = sent.error.message.empty() ? std::string("send failed") : sent.error.message;
          } else if (to_hex(sent.value.data(), 32) != to_hex(o.tx_hash.data(), 32)) {
            log_line("submitter: node returned hash " + to_hex(sent.value.data(), 32) + " for " + to_hex(o.tx_hash.data(), 32));
          }
        }
        const protocol::ExecutionReport base = report_of(o, protocol::ExecutionStatus::Submitted);
        if (error.empty()) {
          counters.sent.fetch_add(1, std::memory_order_relaxed);
          // Follow-up status: acknowledged by the node (a Receipt record with status Submitted).
          (void)ach.push(base);
          send_event(out, base, SubmitWhat::Accepted, o.kind, risk::NodeError::None, at.sent_block);
          const auto deadline = Clock::now() + std::chrono::milliseconds(opt.receipt_timeout_ms);
          if (p == nullptr) {
            pending.push_back(Pending{o, deadline, mono_ns(), {o.tx_hash}});
          } else {
            p->order = o;
            p->deadline = deadline;  // a replacement restarts the wait
            p->hashes.push_back(o.tx_hash);
          }
          continue;
        }
        const risk::NodeError err = risk::classify_node_error(error);
        counters.send_failed.fetch_add(1, std::memory_order_relaxed);
        log_line(std::string("submitter: eth_sendRawTransaction refused (") + (kind == risk::TxKind::New ? "new" : "replacement") +
                 " at nonce " + std::to_string(o.nonce) + ", " + risk::to_string(err) + "): " + error);
        // A nonce error on a new transaction makes the executor resync: it needs the node's count.
        if (kind == risk::TxKind::New &&
            (err == risk::NodeError::NonceTooLow || err == risk::NodeError::NonceTooHigh || err == risk::NodeError::ReplacementUnderpriced)) {
          fetch_pending_nonce(rpc);
        }
        send_event(out, base, SubmitWhat::Refused, o.kind, err, at.sent_block);
      }
      const auto now = Clock::now();
      if (!pending.empty() && now - last_poll >= std::chrono::milliseconds(20)) {
        last_poll = now;
        // Raw receipts (control::Receipt carries no logs; the profit is in our Executed event).
        // Every attempt of every pending nonce: whichever was mined settles the order.
        std::vector<std::pair<std::string, std::string>> reqs;
        for (const auto& p : pending)
          for (const auto& h : p.hashes) reqs.emplace_back("eth_getTransactionReceipt", "[\"" + to_hex(h.data(), 32) + "\"]");
        try {
          auto batch_res = rpc.batch(reqs);
          if (!batch_res.ok()) throw std::runtime_error(batch_res.error.message);
          const auto& res = batch_res.value;
          std::vector<Pending> still;
          std::size_t k = 0;
          for (std::size_t i = 0; i < pending.size(); ++i) {
            protocol::ExecutionReport r{};
            bool mined = false;
            for (const auto& h : pending[i].hashes) {
              const std::size_t at = k++;
              if (mined || at >= res.size() || res[at].error) continue;
              TxOrder attempt = pending[i].order;
              attempt.tx_hash = h;
              mined = parse_receipt(res[at].json, attempt, r);
            }
            // A receipt is booked once receipt_confirmations blocks are on top of its block. Until
            // then the receipt is fetched again at every poll: if its block is reorged away the
            // receipt disappears (or names another block) and the wait goes on; the wait does not
            // time out while a receipt is seen.
            if (mined && opt.receipt_confirmations != 0) {
              const std::uint64_t latest = counters.latest_block.load(std::memory_order_relaxed);
              if (r.block_number == 0 || latest < r.block_number + opt.receipt_confirmations) {
                if (!pending[i].confirming) counters.receipts_confirming.fetch_add(1, std::memory_order_relaxed);
                pending[i].confirming = true;
                pending[i].deadline = std::max(pending[i].deadline, now + std::chrono::milliseconds(opt.receipt_timeout_ms));
                still.push_back(pending[i]);
                continue;
              }
            }
            if (!mined && pending[i].confirming) {  // its block left the canonical chain
              pending[i].confirming = false;
              counters.receipts_unmined.fetch_add(1, std::memory_order_relaxed);
              log_line("submitter: the receipt of nonce " + std::to_string(pending[i].order.nonce) + " is gone (reorg): waiting again");
            }
            // The order's Submitted record (this thread's audit channel) must come before the
            // executor's Included/Reverted/Failed record (its own channel) in the log: the writer
            // drains channels in turn, so let it write ours before the executor hears of the outcome.
            if (mined) {
              (r.status == static_cast<std::uint8_t>(protocol::ExecutionStatus::Included) ? counters.included : counters.reverted)
                  .fetch_add(1, std::memory_order_relaxed);
              stage_sample(*tel_sub, Stage::SubmitToMined, mono_ns() - pending[i].sent_ns);
              (void)audit->flush(std::chrono::seconds(2));
              send_event(out, r, SubmitWhat::Settled);
            } else if (now > pending[i].deadline) {
              counters.receipt_timeouts.fetch_add(1, std::memory_order_relaxed);
              fetch_pending_nonce(rpc);
              (void)audit->flush(std::chrono::seconds(2));
              send_event(out, report_of(pending[i].order, protocol::ExecutionStatus::Failed), SubmitWhat::TimedOut);
            } else {
              still.push_back(pending[i]);
            }
          }
          pending.swap(still);
        } catch (const std::exception& e) {
          log_line(std::string("submitter: receipt poll failed: ") + e.what());
        }
      }
      if (batch.empty()) {
        // Stopping: orders still waiting for confirmations stay unsettled in the audit log; the
        // next start polls their receipts (crash recovery) rather than this one waiting for blocks.
        const bool only_confirming = std::all_of(pending.begin(), pending.end(), [](const Pending& p) { return p.confirming; });
        if (stop_submitter.load(std::memory_order_acquire) && only_confirming) break;
        std::this_thread::sleep_for(std::chrono::microseconds(pending.empty() ? 200 : 2000));
      }
    }
  }

  // ---------------------------------------------------------------- lifecycle
  void start_links() {
    if (md_egress) md_egress_t = std::thread([this] { md_egress->run(stop_md_egress, -1, opt.idle); });
    if (signal_egress) signal_egress_t = std::thread([this] { signal_egress->run(stop_signal_egress, -1, opt.idle); });
    if (md_ingress) {
      md_ingress_t = std::thread([this] {
        if (!md_ingress->run(stop_md_ingress, opt.idle)) log_line("market data link: cannot pin the receive loop");
      });
    }
    if (signal_ingress) {
      signal_ingress_t = std::thread([this] {
        if (!signal_ingress->run(stop_signal_ingress, opt.idle)) log_line("signal link: cannot pin the receive loop");
      });
    }
  }
  static void stop_thread(std::atomic<bool>& flag, std::thread& t) {
    flag.store(true, std::memory_order_release);
    if (t.joinable()) t.join();
  }

  // Start-up: how this process's pinned hot roles sit on the machine (shared cores, NUMA nodes,
  // L3 domains; docs/tuning.md). Warnings only: the operator's [cores] are kept as given.
  void check_placement() {
    std::vector<hw::HotRole> roles;
    if (has(Role::collector)) roles.push_back({"collector", opt.core_collector});
    if (has(Role::strategy)) roles.push_back({"strategy", opt.core_strategy});
    if (has(Role::executor)) roles.push_back({"executor", opt.core_executor});
    if (std::none_of(roles.begin(), roles.end(), [](const hw::HotRole& r) { return r.cpu >= 0; })) return;
    try {
      const hw::Topology topo = hw::Topology::discover();
      for (const hw::PlacementIssue& i : hw::check_hot_placement(topo, roles))
        log_line(std::string("cores: ") + hw::to_string(i.kind) + ": " + i.message);
    } catch (const std::exception& e) {
      log_line(std::string("cores: placement not checked (") + e.what() + ")");
    }
  }

  void start() {
    check_placement();
    open_links();
    start_links();
    if (has(Role::executor)) {
      submitter_t = std::thread([this] { run_submitter(); });
      executor_t = std::thread([this] { run_executor(); });
    }
    if (has(Role::strategy)) strategy_t = std::thread([this] { run_strategy(); });
    if (has(Role::collector) && !opt.builtin_collector) {
      control::NodeSessionConfig sc = session_config(chain, opt.rpc_http, opt.rpc_ws, opt.backup_endpoints, opt.rpc_requests_per_second);  // shared with replay
      if (opt.md_max_frame_bytes != 0) sc.max_frame_bytes = opt.md_max_frame_bytes;
      if (!opt.record_file.empty()) {  // --record: transport steps + md frames (docs/record-replay.md)
        control::RecordingHeader rh;
        rh.chain_id = opt.chain_id;
        rh.created_unix_ns = control::recording_now_ns();
        rh.meta = recording_meta(opt, price_raws());
        recorder = control::RecordWriter::create(opt.record_file, rh);
        record_tap = control::NodeTap::recorder(*recorder);
        sc.rpc.tap = record_tap.get();
        session_sink.rec = recorder.get();
        log_line("recording the node session to " + opt.record_file);
      }
      session_sink.p = &producer_of(*md_pub, md_local);
      session_sink.impl = this;
      session = std::make_unique<control::NodeSession<SessionSink>>(sc, registry, session_sink);
      session->start();
      session_for_requests.store(session.get(), std::memory_order_release);
      const auto deadline = Clock::now() + std::chrono::seconds(60);
      while (session->counters().backfills_completed.load(std::memory_order_acquire) == 0) {
        if (Clock::now() > deadline) {
          shutdown();
          throw std::runtime_error("node session: no snapshot/backfill within 60 s (state " +
                                   std::to_string(static_cast<int>(session->state())) + ")");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      counters.snapshot_block.store(session->counters().last_block.load());
      log_line("node session streaming at block " + std::to_string(session->counters().last_block.load()) + ": " +
               std::to_string(session->counters().snapshots_published.load()) + " pool snapshots");
    } else if (has(Role::collector)) {
      collector_t = std::thread([this] { run_collector(); });
      const auto deadline = Clock::now() + std::chrono::seconds(60);
      while (!collector_ready.load(std::memory_order_acquire)) {
        {
          std::lock_guard lk(error_mu);
          if (!collector_error.empty()) {
            const std::string e = collector_error;
            shutdown();
            throw std::runtime_error(e);
          }
        }
        if (Clock::now() > deadline) {
          shutdown();
          throw std::runtime_error("collector: no snapshot within 60 s");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }

  void wait_drained(ring::SpscConsumer* c, const mycelium::Subscriber* /*unused*/, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (c != nullptr && c->available_bytes_hint() != 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  void shutdown() {
    if (shut) return;
    shut = true;
    // 1. Intake.
    stop_collector.store(true, std::memory_order_release);
    if (collector_t.joinable()) collector_t.join();
    if (session) {
      session_for_requests.store(nullptr, std::memory_order_release);
      session->stop();
      sync_session_counters();
    }
    stop_thread(stop_md_egress, md_egress_t);  // sends what the collector published, then stops
    if (recorder) {  // --record: the session has stopped; nothing more is written
      recorder->close();
      log_line("recording: " + std::to_string(recorder->records()) + " records, " +
               std::to_string(recorder->bytes()) + " bytes" +
               (recorder->error().empty() ? std::string() : " (" + recorder->error() + ")"));
    }
    // 2. Strategy drains the md ring (its loop exits only when a poll finds nothing).
    stop_thread(stop_md_ingress, md_ingress_t);  // nothing more arrives from the network
    stop_strategy.store(true, std::memory_order_release);
    if (strategy_t.joinable()) strategy_t.join();
    stop_thread(stop_signal_egress, signal_egress_t);
    stop_thread(stop_signal_ingress, signal_ingress_t);
    // 3. Submitter finishes sent transactions (receipts or timeouts); the executor keeps running
    //    meanwhile so that it drains the signal ring and books the reports.
    if (submitter_t.joinable()) {
      // The executor drains the signal ring first (it may still queue transactions).
      intake_closed.store(true, std::memory_order_release);
      const auto deadline = Clock::now() + std::chrono::seconds(5);
      while (!signals_drained.load(std::memory_order_acquire) && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      stop_submitter.store(true, std::memory_order_release);
      submitter_t.join();
    }
    // 4. Executor drains the signal and report rings.
    stop_executor.store(true, std::memory_order_release);
    if (executor_t.joinable()) executor_t.join();
    // 5. Audit log: flush and close.
    if (audit) {
      (void)audit->flush();
      audit->close();
    }
  }

  std::vector<Pipeline::LinkRow> link_rows() const {
    std::vector<Pipeline::LinkRow> out;
    constexpr auto R = std::memory_order_relaxed;
    for (const LinkIngress* in : {md_ingress.get(), signal_ingress.get()}) {
      if (in == nullptr) continue;
      const LinkIngressStats& st = in->stats();
      out.push_back(Pipeline::LinkRow{in->name(), true, st.delivered.load(R), st.gaps.load(R), st.missing.load(R),
                                      st.duplicates.load(R), st.ring_full.load(R),
                                      st.bad_packets.load(R) + st.bad_frames.load(R), st.restarts.load(R), st.heartbeats.load(R), 0,
                                      st.requests_sent.load(R), st.resend_requests_sent.load(R), st.late.load(R), 0});
    }
    for (const LinkEgress* eg : {md_egress.get(), signal_egress.get()}) {
      if (eg == nullptr) continue;
      const LinkEgressStats& st = eg->stats();
      out.push_back(Pipeline::LinkRow{eg->name(), false, st.frames.load(R), 0, 0, 0, st.abandoned.load(R), st.oversize.load(R), 0,
                                      st.heartbeats.load(R), st.largest.load(R), st.requests_acted.load(R),
                                      st.resend_requests.load(R), st.frames_resent.load(R),
                                      st.resend_unavailable.load(R) + st.resend_refused.load(R)});
    }
    return out;
  }

  // Mirrors the node session's counters into ours (operator feed, summary).
  void sync_session_counters() const {
    if (!session) return;
    const auto& c = session->counters();
    auto& k = const_cast<Counters&>(counters);
    k.heads.store(c.heads_published.load());
    k.logs.store(c.logs_published.load());
    k.md_frames.store(c.logs_published.load() + c.heads_published.load() + c.snapshots_published.load() +
                      c.tick_frames_published.load() + c.reorg_notices.load());
    k.md_dropped.store(c.sink_drops.load());
    k.decode_errors.store(c.decode_errors.load());
    k.reconnects.store(c.reconnects.load());
    const control::SessionState s = session->state();
    k.node_connected.store(s == control::SessionState::Streaming || s == control::SessionState::Backfilling ? 1 : 0);
    k.reorgs.store(c.reorg_notices.load());
    k.backfilled_logs.store(c.backfill_logs.load());
    if (c.last_block.load() > k.latest_block.load()) k.latest_block.store(c.last_block.load());
  }

  std::string summary() const {
    sync_session_counters();
    std::ostringstream o;
    auto c = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    auto usd = [](std::int64_t raw) { return UsdFixedPoint8{raw}.to_string(); };
    o << "{\"event\":\"summary\",\"role\":\"" << to_string(opt.roles) << "\",\"snapshot_block\":" << c(counters.snapshot_block)
      << ",\"latest_block\":" << c(counters.latest_block) << ",\"heads\":" << c(counters.heads) << ",\"logs\":" << c(counters.logs)
      << ",\"md_frames\":" << c(counters.md_frames) << ",\"md_dropped\":" << c(counters.md_dropped)
      << ",\"decode_errors\":" << c(counters.decode_errors) << ",\"reconnects\":" << c(counters.reconnects)
      << ",\"reorgs\":" << c(counters.reorgs) << ",\"strategy_frames\":" << c(counters.strategy_frames);
    if (session)
      o << ",\"snapshot_ticks\":" << session->snapshot_ticks()
        << ",\"resnapshots_requested\":" << session->counters().resnapshots_requested.load(std::memory_order_relaxed);
    if (engine) {
      const auto& s = engine->stats();
      o << ",\"cycles\":" << engine->cycles().size() << ",\"cycles_evaluated\":" << s.cycles_evaluated
        << ",\"signals\":" << s.signals << ",\"signals_dropped\":" << s.signals_dropped_full << ",\"below_min\":" << s.below_min
        << ",\"unprofitable\":" << s.unprofitable << ",\"rejected_events\":" << s.rejected_events
        << ",\"preempted\":" << s.preempted << ",\"superseded\":" << s.superseded;
      const auto& b = engine->book().stats();
      o << ",\"book\":{\"applied\":" << b.applied << ",\"duplicates\":" << b.duplicates << ",\"unknown_pool\":" << b.unknown_pool
        << ",\"wrong_type\":" << b.wrong_type << ",\"quarantined_events\":" << b.quarantined_events
        << ",\"tick_overflows\":" << b.tick_overflows << ",\"inconsistent\":" << b.inconsistent;
      std::uint64_t ticks = 0;  // initialized V3 ticks held (summaries are written after shutdown: the strategy has stopped)
      for (std::uint32_t i = 0; i < engine->book().pool_count(); ++i) ticks += engine->book().ticks(i).size();
      o << ",\"ticks\":" << ticks << "}";
    }
    o << ",\"signals_received\":" << c(counters.signals_received) << ",\"below_threshold\":" << c(counters.below_threshold)
      << ",\"stale_signals\":" << c(counters.stale_signals) << ",\"path_errors\":" << c(counters.path_errors) << ",\"risk_accepted\":" << c(counters.risk_accepted)
      << ",\"risk_rejected\":" << c(counters.risk_rejected) << ",\"signed_txs\":" << c(counters.signed_txs)
      << ",\"sent\":" << c(counters.sent) << ",\"send_failed\":" << c(counters.send_failed) << ",\"send_unknown\":" << c(counters.send_unknown)
      << ",\"included\":" << c(counters.included) << ",\"reverted\":" << c(counters.reverted)
      << ",\"receipt_timeouts\":" << c(counters.receipt_timeouts) << ",\"receipts_confirming\":" << c(counters.receipts_confirming)
      << ",\"receipts_unmined\":" << c(counters.receipts_unmined) << ",\"nonce_resyncs\":" << c(counters.nonce_resyncs)
      << ",\"nonce_retries\":" << c(counters.nonce_retries) << ",\"replacements\":" << c(counters.replacements)
      << ",\"replacements_refused\":" << c(counters.replacements_refused) << ",\"replacement_capped\":" << c(counters.replacement_capped)
      << ",\"realized_pnl_usd\":\"" << usd(counters.realized_pnl_usd.load()) << "\",\"realized_profit_usd\":\""
      << usd(counters.realized_profit_usd.load()) << "\",\"gas_usd\":\"" << usd(counters.gas_usd.load()) << "\"";
    o << ",\"links\":{";
    bool first_link = true;
    for (const Pipeline::LinkRow& l : link_rows()) {
      o << (first_link ? "" : ",") << "\"" << l.name << (l.ingress ? "_in" : "_out") << "\":{\"frames\":" << l.frames
        << ",\"gaps\":" << l.gaps << ",\"missing\":" << l.missing << ",\"duplicates\":" << l.duplicates
        << ",\"ring_full\":" << l.ring_full << ",\"bad\":" << l.bad << ",\"restarts\":" << l.restarts
        << ",\"heartbeats\":" << l.heartbeats << (l.ingress ? "" : ",\"largest\":" + std::to_string(l.largest))
        << ",\"snapshot_requests\":" << l.snapshot_requests << ",\"resend_requests\":" << l.resend_requests
        << (l.ingress ? ",\"late\":" : ",\"resent\":") << l.resent
        << (l.ingress ? "" : ",\"resend_unavailable\":" + std::to_string(l.resend_unavailable)) << "}";
      first_link = false;
    }
    o << "}";
    o << ",\"realized_profit_raw\":{";
    bool first = true;
    for (std::size_t i = 0; i < realized_raw.size(); ++i) {
      if (realized_raw[i] == U256::zero()) continue;
      o << (first ? "" : ",") << "\"" << prices[i].address << "\":\"" << realized_raw[i].to_string() << "\"";
      first = false;
    }
    o << "}";
    o << ",\"tick_to_signed_tx_ns\":{\"count\":" << latency_ns.size() << ",\"p50\":" << percentile(latency_ns, 0.5)
      << ",\"p99\":" << percentile(latency_ns, 0.99) << ",\"max\":" << percentile(latency_ns, 1.0) << "}";
    o << ",\"tick_to_executor_ns\":{\"count\":" << signal_latency_ns.size() << ",\"p50\":" << percentile(signal_latency_ns, 0.5)
      << ",\"p99\":" << percentile(signal_latency_ns, 0.99) << ",\"max\":" << percentile(signal_latency_ns, 1.0) << "}";
    if (audit) o << ",\"audit_records\":" << audit->stats().records_written << ",\"audit_file\":\"" << opt.audit_file << "\"";
    o << "}";
    return o.str();
  }
};

Pipeline::Pipeline(Options options) : impl_(std::make_unique<Impl>(std::move(options))) { impl_->owner = this; }

Pipeline::~Pipeline() {
  if (impl_) impl_->shutdown();
}

void Pipeline::start() { impl_->start(); }
void Pipeline::shutdown() { impl_->shutdown(); }

Options Pipeline::options() const {
  std::lock_guard lk(impl_->error_mu);
  return impl_->opt;
}

void Pipeline::reload(const Reloadable& r) {
  {
    std::lock_guard lk(impl_->error_mu);
    impl_->opt.reload = r;
  }
  impl_->min_profit_usd.store(r.min_profit_usd.raw, std::memory_order_relaxed);
  impl_->min_profit_share_bps.store(r.min_profit_share_bps, std::memory_order_relaxed);
  impl_->priority_fee_gwei.store(r.priority_fee_gwei, std::memory_order_relaxed);
  impl_->engine_settings_gen.fetch_add(1, std::memory_order_release);  // the engine's threshold and tip too
  if (impl_->gates) {
    (void)impl_->gates->set_limits(Impl::limits_of(r));
    // Per-token exposure limits by symbol (control thread; RiskGates::set_token is a seqlock).
    for (auto& p : impl_->prices) {
      const auto it = r.token_exposure_usd.find(p.symbol);
      p.max_exposure_usd = it != r.token_exposure_usd.end() ? it->second : num::UsdFixedPoint8{0};
    }
    impl_->apply_token_limits();
    if (r.kill_switch) impl_->gates->engage_kill_switch();
    else impl_->gates->release_kill_switch();
  }
}

const Counters& Pipeline::counters() const noexcept {
  impl_->sync_session_counters();
  return impl_->counters;
}
std::string Pipeline::summary_json() const { return impl_->summary(); }

std::size_t Pipeline::drain_telemetry(const std::function<void(const TelemetryRecord&)>& f) {
  std::size_t n = 0;
  TelemetryRecord r;
  for (TelemetryRing* q : {impl_->tel_coll.get(), impl_->tel_strat.get(), impl_->tel_exec.get(), impl_->tel_sub.get()}) {
    while (q->pop(r)) {
      f(r);
      ++n;
    }
  }
  return n;
}
std::uint64_t Pipeline::telemetry_dropped() const noexcept {
  return impl_->tel_coll->dropped() + impl_->tel_strat->dropped() + impl_->tel_exec->dropped() + impl_->tel_sub->dropped();
}
const protocol::InstrumentRegistry& Pipeline::registry() const noexcept { return impl_->registry; }
const std::vector<TokenPrice>& Pipeline::token_prices() const noexcept { return impl_->prices; }
std::uint64_t Pipeline::pool_last_block(std::size_t i) const noexcept {
  return i < impl_->pool_n ? impl_->pool_block[i].load(std::memory_order_relaxed) : 0;
}
bool Pipeline::pool_quarantined(std::size_t i) const noexcept {
  return impl_->session && i < impl_->pool_n && impl_->session->quarantined(impl_->registry.pool_id(i));
}
std::uint64_t Pipeline::events_of_type(std::uint8_t type) const noexcept {
  return impl_->events_by_type[type].load(std::memory_order_relaxed);
}
bool Pipeline::has_executor() const noexcept { return impl_->gates != nullptr; }

std::vector<Pipeline::LinkRow> Pipeline::links() const { return impl_->link_rows(); }

std::vector<Pipeline::RingFill> Pipeline::ring_fill() const {
  std::vector<RingFill> out;
  out.reserve(impl_->ring_regions.size());
  for (const auto& [name, region] : impl_->ring_regions) {
    const ring::RingStats st = region.stats();
    out.push_back(RingFill{name, st.used_bytes(), st.capacity, st.rejected_full});
  }
  return out;
}
RiskView Pipeline::risk_view() const {
  RiskView v;
  v.limits = options().reload;
  const Impl& m = *impl_;
  if (!m.gates) return v;
  for (std::size_t i = 0; i < v.rejects.size(); ++i) v.rejects[i] = m.gates->rejected(static_cast<risk::RejectReason>(i));
  v.breaker = static_cast<std::uint8_t>(m.gates->breaker_state());
  v.breaker_trips = m.gates->breaker_trips();
  v.kill_switch = m.gates->kill_switch_engaged();
  v.in_flight = m.counters.in_flight.load(std::memory_order_relaxed);
  v.consecutive_reverts = m.counters.consecutive_reverts.load(std::memory_order_relaxed);
  v.exposure_usd.resize(m.registry.token_count());
  for (std::size_t i = 0; i < v.exposure_usd.size(); ++i) v.exposure_usd[i] = m.exposure_usd[i].load(std::memory_order_relaxed);
  return v;
}
std::string Pipeline::sender_address() const {
  return impl_->signer ? protocol::format_address(impl_->sender) : std::string();
}

}  // namespace torq::torqd
