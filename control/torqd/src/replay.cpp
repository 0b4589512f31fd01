// Record and replay of torqd's collector: see torq/torqd/replay.hpp and docs/record-replay.md.
#include "torq/torqd/replay.hpp"

#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "torq/control/pool_list.hpp"
#include "torq/executor/abi.hpp"
#include "torq/executor/key.hpp"
#include "torq/executor/signer.hpp"
#include "torq/executor/tx.hpp"
#include "torq/protocol/frame.hpp"
#include "torq/risk/clock.hpp"
#include "torq/risk/risk_gates.hpp"
#include "torq/ring/local_ring.hpp"
#include "torq/ring/spsc_ring.hpp"
#include "torq/torqd/execution.hpp"
#include "torq/torqd/telemetry.hpp"

namespace torq::torqd {

namespace {

using num::U256;
using num::UsdFixedPoint8;

std::uint64_t mono_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

std::string json_escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o;
}

std::uint64_t fnv_update(std::uint64_t h, std::span<const std::byte> b) noexcept {
  for (std::byte c : b) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}
constexpr std::uint64_t kFnvBasis = 0xcbf29ce484222325ULL;

bool same(std::span<const std::byte> a, std::span<const std::byte> b) noexcept {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// Settings replay needs, read back from the header's metadata.
struct Meta {
  std::string manifest;  // minified JSON text
  std::uint64_t chain_id = 137;
  std::string rpc_http, rpc_ws, contract;
  std::vector<std::int64_t> prices;
  Options opt;
};

Meta parse_meta(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text).get(doc) != simdjson::SUCCESS) throw std::runtime_error("recording metadata: not JSON");
  Meta m;
  simdjson::dom::element manifest;
  if (doc["manifest"].get(manifest) != simdjson::SUCCESS) throw std::runtime_error("recording metadata: no manifest");
  m.manifest = simdjson::minify(manifest);
  auto str = [&](const char* k, std::string& out) {
    std::string_view v;
    if (doc[k].get(v) == simdjson::SUCCESS) out = std::string(v);
  };
  auto u64 = [&](const char* k, std::uint64_t& out) {
    std::uint64_t v = 0;
    if (doc[k].get(v) == simdjson::SUCCESS) out = v;
  };
  auto i64 = [&](const char* k, std::int64_t& out) {
    std::int64_t v = 0;
    if (doc[k].get(v) == simdjson::SUCCESS) out = v;
  };
  str("rpc_http", m.rpc_http);
  str("rpc_ws", m.rpc_ws);
  str("contract", m.contract);
  u64("chain_id", m.chain_id);
  simdjson::dom::array prices;
  if (doc["prices"].get(prices) == simdjson::SUCCESS)
    for (auto p : prices) {
      std::int64_t v = 0;
      if (p.get(v) != simdjson::SUCCESS) v = 0;
      m.prices.push_back(v);
    }
  Options& o = m.opt;
  o.chain_id = m.chain_id;
  u64("gas_units_2hop", o.gas_units_2hop);
  u64("gas_units_3hop", o.gas_units_3hop);
  // Recordings made before the key existed signed with gas limit = gas units (no headroom).
  o.gas_limit_headroom_pct = 0;
  if (std::uint64_t h = 0; doc["gas_limit_headroom_pct"].get(h) == simdjson::SUCCESS) o.gas_limit_headroom_pct = static_cast<std::uint32_t>(h);
  if (std::uint64_t b = 0; doc["md_max_frame_bytes"].get(b) == simdjson::SUCCESS) o.md_max_frame_bytes = static_cast<std::uint32_t>(b);
  str("native_token", o.native_token);  // absent in older recordings: WMATIC/WPOL/POL
  Reloadable& r = o.reload;
  i64("min_profit_usd", r.min_profit_usd.raw);
  std::uint64_t v = 0;
  if (doc["min_profit_share_bps"].get(v) == simdjson::SUCCESS) r.min_profit_share_bps = static_cast<std::uint32_t>(v);
  u64("priority_fee_gwei", r.priority_fee_gwei);
  i64("max_notional_usd", r.max_notional_usd.raw);
  i64("daily_loss_usd", r.daily_loss_usd.raw);
  i64("max_drawdown_usd", r.max_drawdown_usd.raw);
  if (doc["max_in_flight"].get(v) == simdjson::SUCCESS) r.max_in_flight = static_cast<std::uint32_t>(v);
  if (doc["stale_blocks"].get(v) == simdjson::SUCCESS) r.stale_blocks = static_cast<std::uint32_t>(v);
  u64("max_gas_price_gwei", r.max_gas_price_gwei);
  bool ks = false;
  if (doc["kill_switch"].get(ks) == simdjson::SUCCESS) r.kill_switch = ks;
  return m;
}


// Everything the replay sink touches; lives on the session thread while the session runs.
struct ReplayState {
  // Inputs.
  std::vector<control::RecordView> rec_frames;
  std::vector<std::uint64_t> rec_stamps;  // header timestamp of each recorded frame (the clock)
  std::size_t clock_reads = 0;
  bool truncated = false;  // the file ended torn/corrupt: frames beyond its last one are not mismatches
  control::NodeTap* tap = nullptr;
  // Pipeline parts.
  const protocol::InstrumentRegistry* registry = nullptr;
  arb::ArbEngine* engine = nullptr;
  ring::SpscConsumer* signals_in = nullptr;
  const PathTable* paths = nullptr;
  risk::RiskGates* gates = nullptr;
  risk::ManualClock* gate_clock = nullptr;
  const executor::Signer* signer = nullptr;
  const executor::PrivateKey* key = nullptr;
  protocol::Address contract{};
  Options opt;
  std::uint64_t base_fee = 0;
  std::uint64_t next_nonce = 0;
  // Outputs.
  ReplayResult* res = nullptr;
  bool keep = false;
  std::vector<std::vector<std::byte>> frames, signals, decisions;

  static std::uint64_t clock_fn(void* ctx) noexcept {
    auto* s = static_cast<ReplayState*>(ctx);
    const std::size_t i = s->clock_reads++;
    if (i < s->rec_stamps.size()) return s->rec_stamps[i];
    return s->rec_stamps.empty() ? 0 : s->rec_stamps.back() + (i - s->rec_stamps.size() + 1);
  }

  bool on_frame(std::span<const std::byte> f) noexcept {
    const std::uint64_t t_sink = mono_ns();
    ReplayResult& r = *res;
    const std::size_t k = r.frames++;
    bool accepted = true;
    if (k < rec_frames.size()) {
      accepted = rec_frames[k].status != 0;
      if (!same(f, rec_frames[k].body)) {
        if (r.frame_mismatches++ == 0)
          r.first_mismatch = "frame " + std::to_string(k) + ": " + std::to_string(f.size()) + " bytes produced, recorded " +
                             std::to_string(rec_frames[k].body.size()) + " bytes differ";
      }
    } else if (!truncated && r.frame_mismatches++ == 0) {
      r.first_mismatch = "frame " + std::to_string(k) + ": produced beyond the " + std::to_string(rec_frames.size()) +
                         " recorded frames";
    }
    r.frames_fnv = fnv_update(r.frames_fnv, f);
    try {
      frames.emplace_back(f.begin(), f.end());
    } catch (...) {
    }
    if (!accepted) return false;  // the live md ring refused it: the strategy never saw it

    protocol::ParseOptions po;
    po.verify_checksum = false;
    const auto parsed = protocol::parse_frame(f, po);
    const bool market = parsed.ok() && parsed.view.header.domain == static_cast<std::uint8_t>(protocol::RelayDomain::MarketData);
    if (parsed.ok())
      for (const auto& tlv : parsed.view.tlvs())
        if (const auto h = protocol::tlv_as<protocol::BlockHeader>(tlv)) base_fee = h->base_fee_per_gas.limb[0];
    const std::uint64_t served = tap->last_read_mono_ns();
    if (market && served != 0 && t_sink >= served) r.decode_ns.push_back(t_sink - served);

    const std::uint64_t e0 = mono_ns();
    (void)engine->on_frame(f);
    const std::uint64_t e1 = mono_ns();
    r.engine_ns.push_back(e1 - e0);
    bool decided = false;
    for (;;) {
      const auto s = signals_in->peek();
      if (s.empty()) break;
      const std::uint64_t d0 = mono_ns();
      decide(s);
      r.decide_ns.push_back(mono_ns() - d0);
      signals_in->consume();
      decided = true;
    }
    if (decided && market && served != 0) r.tick_to_decision_ns.push_back(mono_ns() - served);
    return true;
  }

  // The dry-run executor stage (pipeline.cpp on_signal without submission, audit or telemetry).
  void decide(std::span<const std::byte> frame) noexcept {
    ReplayResult& r = *res;
    ++r.signals;
    r.signals_fnv = fnv_update(r.signals_fnv, frame);
    try {
      signals.emplace_back(frame.begin(), frame.end());
    } catch (...) {
    }
    const auto parsed = protocol::parse_frame(frame);
    if (!parsed.ok()) return;
    for (const auto& tlv : parsed.view.tlvs()) {
      const auto sig = protocol::tlv_as<protocol::ArbitrageSignal>(tlv);
      if (!sig) continue;
      std::array<std::byte, sizeof(DecisionRecord) + 640> out{};
      DecisionRecord d{};
      d.signal_id = sig->signal_id;
      d.block = sig->block_number;
      d.net_profit_usd = sig->net_profit_usd;
      d.hop_count = sig->hop_count;
      std::size_t raw_len = 0;
      std::array<std::uint8_t, kMaxPathBytes> path{};
      std::size_t path_len = 0;
      if (sig->net_profit_usd < opt.reload.min_profit_usd.raw) {
        d.decision = kDecisionBelowThreshold;
      } else if (encode_path(*sig, *paths, path, path_len) != PathError::Ok) {
        d.decision = kDecisionPathError;
      } else {
        const FeeQuote fees = fees_for(U256(base_fee), opt.reload.priority_fee_gwei, opt.chain_id);
        risk::Candidate cand = risk_candidate(*sig, fees);
        gate_clock->set(parsed.view.header.timestamp_ns);
        gates->set_latest_block(sig->block_number);
        const risk::Decision dec = gates->check(cand);
        d.notional_usd = dec.notional_usd.raw;
        std::memcpy(d.max_fee_per_gas, dec.max_fee_per_gas.limb, 32);
        std::memcpy(d.max_priority_fee_per_gas, dec.max_priority_fee_per_gas.limb, 32);
        if (!dec.accept) {
          d.decision = static_cast<std::uint8_t>(dec.reason);
        } else {
          std::array<std::uint8_t, 512> calldata{};
          const std::size_t cd_len = executor::encode_execute_call(
              calldata, std::span<const std::uint8_t>(path.data(), path_len), sig->amount_in,
              min_profit_for(sig->expected_profit, opt.reload.min_profit_share_bps));
          executor::Eip1559Tx tx{};
          tx.chain_id = opt.chain_id;
          tx.nonce = next_nonce;
          tx.max_priority_fee_per_gas = dec.max_priority_fee_per_gas;
          tx.max_fee_per_gas = dec.max_fee_per_gas;
          tx.gas_limit = opt.gas_limit_for(sig->hop_count);
          tx.to = contract;
          tx.data = std::span<const std::uint8_t>(calldata.data(), cd_len);
          std::array<std::uint8_t, 640> raw{};
          executor::SignedTx st{};
          if (cd_len == 0 || executor::sign_tx(*signer, *key, tx, raw, st) != executor::TxError::Ok) {
            d.decision = kDecisionSignError;
          } else {
            d.decision = kDecisionTaken;
            d.nonce = next_nonce++;
            d.raw_size = static_cast<std::uint32_t>(st.size);
            std::memcpy(d.tx_hash, st.hash.data(), 32);
            raw_len = st.size;
            std::memcpy(out.data() + sizeof(DecisionRecord), raw.data(), raw_len);
            ++r.taken;
          }
        }
      }
      std::memcpy(out.data(), &d, sizeof d);
      const auto bytes = std::span<const std::byte>(out.data(), sizeof(DecisionRecord) + raw_len);
      ++r.decisions;
      r.decisions_fnv = fnv_update(r.decisions_fnv, bytes);
      try {
        decisions.emplace_back(bytes.begin(), bytes.end());
      } catch (...) {
      }
    }
  }
};

struct ReplaySink {
  ReplayState* s = nullptr;
  bool operator()(std::span<const std::byte> f) noexcept { return s->on_frame(f); }
};

std::string percentiles_json(std::vector<std::uint64_t> v) {
  std::sort(v.begin(), v.end());
  auto q = [&](double p) -> std::uint64_t {
    if (v.empty()) return 0;
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
  };
  std::ostringstream o;
  o << "{\"n\":" << v.size() << ",\"p50_ns\":" << q(0.5) << ",\"p99_ns\":" << q(0.99)
    << ",\"max_ns\":" << (v.empty() ? 0 : v.back()) << "}";
  return o.str();
}

// The recorded manifest, registered as torqd registers it (control::load_pool_list reads a file).
protocol::InstrumentRegistry registry_from_manifest(const std::string& manifest, std::uint64_t chain_id,
                                                    std::uint64_t* list_chain) {
  char tmpl[] = "/tmp/torq-replay-manifest-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("replay: cannot create a temporary manifest file");
  (void)!::write(fd, manifest.data(), manifest.size());
  ::close(fd);
  control::PoolList list;
  try {
    list = control::load_pool_list(tmpl);
  } catch (...) {
    ::unlink(tmpl);
    throw;
  }
  ::unlink(tmpl);
  if (list.chain_id != 0) chain_id = list.chain_id;
  if (list_chain != nullptr) *list_chain = list.chain_id;
  const auto chain = protocol::chain_from_id(chain_id);
  if (!chain) throw std::runtime_error("replay: chain id " + std::to_string(chain_id) + " is not supported");
  protocol::InstrumentRegistry registry;
  (void)control::register_pools(list, registry, *chain);
  return registry;
}

}  // namespace

protocol::InstrumentRegistry recording_registry(const control::RecordingHeader& header, protocol::Chain* chain) {
  const Meta meta = parse_meta(header.meta);
  std::uint64_t list_chain = 0;
  auto reg = registry_from_manifest(meta.manifest, meta.chain_id, &list_chain);
  if (chain != nullptr) *chain = *protocol::chain_from_id(list_chain != 0 ? list_chain : meta.chain_id);
  return reg;
}

std::vector<control::EndpointConfig> client_endpoints(const std::string& rpc_http, const std::string& rpc_ws,
                                                     const std::vector<BackupEndpoint>& backups,
                                                     std::uint32_t primary_requests_per_second) {
  // Budget r requests/s with a burst of one second's worth (at least the default 20 when
  // unlimited, where the bucket is off anyway).
  const auto ep = [](const std::string& http, const std::string& ws, int priority, std::uint32_t r) {
    return control::EndpointConfig{http, ws, priority, static_cast<double>(r), r != 0 ? static_cast<double>(r) : 20.0};
  };
  std::vector<control::EndpointConfig> eps;
  eps.push_back(ep(rpc_http, rpc_ws, 0, primary_requests_per_second));
  int priority = 1;
  for (const BackupEndpoint& b : backups) eps.push_back(ep(b.http, b.ws, priority++, b.requests_per_second));
  return eps;
}

control::NodeSessionConfig session_config(protocol::Chain chain, const std::string& rpc_http, const std::string& rpc_ws,
                                          const std::vector<BackupEndpoint>& backups,
                                          std::uint32_t primary_requests_per_second) {
  control::NodeSessionConfig sc;
  sc.chain = chain;
  sc.endpoints = client_endpoints(rpc_http, rpc_ws, backups, primary_requests_per_second);
  sc.source_id = 10;      // torqd's collector source (pipeline.cpp kSourceCollector)
  sc.checksum = false;    // in-process / same-host ring
  sc.use_finalized_tag = false;
  return sc;
}

std::optional<std::uint32_t> native_token_index(const protocol::InstrumentRegistry& registry, const std::string& symbol) {
  std::optional<std::uint32_t> native;
  for (std::size_t i = 0; i < registry.token_count(); ++i) {
    const auto& sym = registry.token(registry.token_id(i))->symbol;
    if (symbol.empty() ? (sym == "WMATIC" || sym == "WPOL" || sym == "POL") : sym == symbol) native = static_cast<std::uint32_t>(i);
  }
  return native;
}

arb::EngineConfig engine_config(const protocol::InstrumentRegistry& registry, const std::vector<std::int64_t>& prices,
                                std::uint32_t native_token, const Options& opt) {
  arb::EngineConfig cfg;
  for (std::size_t i = 0; i < registry.token_count(); ++i) {
    const protocol::TokenInfo* t = registry.token(registry.token_id(i));
    if (t->symbol.rfind("USD", 0) == 0 && i < prices.size() && prices[i] == UsdFixedPoint8::kScale) {
      cfg.pricing.stables.push_back(arb::StableToken{static_cast<std::uint32_t>(i), t->decimals});
    }
  }
  // Start tokens: stables first (profit measured in USD units), then WETH, then the native token.
  for (const auto& s : cfg.pricing.stables) cfg.cycles.base_tokens.push_back(s.token);
  for (std::size_t i = 0; i < registry.token_count(); ++i) {
    const auto& sym = registry.token(registry.token_id(i))->symbol;
    if (sym == "WETH") cfg.cycles.base_tokens.push_back(static_cast<std::uint32_t>(i));
  }
  cfg.cycles.base_tokens.push_back(native_token);
  cfg.gas.gas_units_two_pool = opt.gas_units_2hop;
  cfg.gas.gas_units_triangular = opt.gas_units_3hop;
  cfg.gas.priority_fee_wei = U256(opt.reload.priority_fee_gwei) * U256(1'000'000'000ULL);
  cfg.gas.chain = *protocol::chain_from_id(opt.chain_id);
  cfg.gas.native_token = native_token;
  cfg.min_net_profit = opt.reload.min_profit_usd;
  cfg.finality_depth = 64;
  return cfg;
}

std::string recording_meta(const Options& opt, const std::vector<std::int64_t>& prices) {
  std::ifstream f(opt.manifest);
  if (!f) throw std::runtime_error("--record: cannot read the manifest " + opt.manifest);
  const std::string manifest((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(manifest).get(doc) != simdjson::SUCCESS) throw std::runtime_error("--record: manifest is not JSON");
  const Reloadable& r = opt.reload;
  std::ostringstream o;
  o << "{\"format\":\"torq-recording/1\",\"chain_id\":" << opt.chain_id << ",\"rpc_http\":\"" << json_escape(opt.rpc_http)
    << "\",\"rpc_ws\":\"" << json_escape(opt.rpc_ws) << "\",\"contract\":\"" << json_escape(opt.contract)
    << "\",\"gas_units_2hop\":" << opt.gas_units_2hop << ",\"gas_units_3hop\":" << opt.gas_units_3hop
    << ",\"gas_limit_headroom_pct\":" << opt.gas_limit_headroom_pct
    << (opt.md_max_frame_bytes != 0 ? ",\"md_max_frame_bytes\":" + std::to_string(opt.md_max_frame_bytes) : std::string())
    << (opt.native_token.empty() ? std::string() : ",\"native_token\":\"" + json_escape(opt.native_token) + "\"")
    << ",\"min_profit_usd\":" << r.min_profit_usd.raw << ",\"min_profit_share_bps\":" << r.min_profit_share_bps
    << ",\"priority_fee_gwei\":" << r.priority_fee_gwei << ",\"max_notional_usd\":" << r.max_notional_usd.raw
    << ",\"daily_loss_usd\":" << r.daily_loss_usd.raw << ",\"max_drawdown_usd\":" << r.max_drawdown_usd.raw
    << ",\"max_in_flight\":" << r.max_in_flight << ",\"stale_blocks\":" << r.stale_blocks
    << ",\"max_gas_price_gwei\":" << r.max_gas_price_gwei << ",\"kill_switch\":" << (r.kill_switch ? "true" : "false")
    << ",\"prices\":[";
  for (std::size_t i = 0; i < prices.size(); ++i) o << (i ? "," : "") << prices[i];
  o << "],\"manifest\":" << simdjson::minify(doc) << "}";
  return o.str();
}

std::string ReplayResult::summary_json() const {
  std::ostringstream o;
  o << "{\"event\":\"replay\",\"identical\":" << (identical() ? "true" : "false")
    << ",\"transport_steps\":" << transport_steps << ",\"steps_served\":" << steps_served
    << ",\"divergences\":" << divergences << ",\"recorded_frames\":" << recorded_frames << ",\"frames\":" << frames
    << ",\"frame_mismatches\":" << frame_mismatches << ",\"signals\":" << signals << ",\"decisions\":" << decisions
    << ",\"taken\":" << taken << ",\"recorded_signals\":" << recorded_signals
    << ",\"recorded_decisions\":" << recorded_decisions << ",\"signal_mismatches\":" << signal_mismatches
    << ",\"decision_mismatches\":" << decision_mismatches << ",\"frames_fnv\":\"" << std::hex << frames_fnv
    << "\",\"signals_fnv\":\"" << signals_fnv << "\",\"decisions_fnv\":\"" << decisions_fnv << std::dec
    << "\",\"file_stop\":\"" << control::to_string(file_stop) << "\",\"timed_out\":" << (timed_out ? "true" : "false")
    << ",\"wall_s\":" << wall_s << ",\"decode\":" << percentiles_json(decode_ns)
    << ",\"engine\":" << percentiles_json(engine_ns) << ",\"decide\":" << percentiles_json(decide_ns)
    << ",\"tick_to_decision\":" << percentiles_json(tick_to_decision_ns);
  if (!first_divergence.empty()) o << ",\"first_divergence\":\"" << json_escape(first_divergence) << "\"";
  if (!first_mismatch.empty()) o << ",\"first_mismatch\":\"" << json_escape(first_mismatch) << "\"";
  o << "}";
  return o.str();
}

ReplayResult replay(const ReplayOptions& ro) {
  const auto w0 = std::chrono::steady_clock::now();
  const control::RecordReader reader = control::RecordReader::open(ro.file);
  const Meta meta = parse_meta(reader.header().meta);
  ReplayResult res;
  res.file_stop = reader.stop();
  res.frames_fnv = res.signals_fnv = res.decisions_fnv = kFnvBasis;

  Options opt = meta.opt;
  std::uint64_t list_chain = 0;
  const protocol::InstrumentRegistry registry = registry_from_manifest(meta.manifest, opt.chain_id, &list_chain);
  if (list_chain != 0) opt.chain_id = list_chain;
  const auto chain = protocol::chain_from_id(opt.chain_id);
  std::vector<std::int64_t> prices = meta.prices;
  prices.resize(registry.token_count(), 0);
  const std::uint32_t native = native_token_index(registry, opt.native_token).value_or(0);

  ReplayState st;
  st.res = &res;
  st.keep = ro.keep_outputs;
  std::vector<control::RecordView> transport, rec_signals, rec_decisions;
  for (const auto& r : reader.records()) {
    switch (r.kind) {
      case control::RecordKind::MdFrame: {
        st.rec_frames.push_back(r);
        protocol::ParseOptions po;
        po.verify_checksum = false;
        const auto p = protocol::parse_frame(r.body, po);
        st.rec_stamps.push_back(p.ok() ? p.view.header.timestamp_ns : 0);
        break;
      }
      case control::RecordKind::Signal: rec_signals.push_back(r); break;
      case control::RecordKind::Decision: rec_decisions.push_back(r); break;
      default: transport.push_back(r); break;
    }
  }
  st.truncated = reader.stop() != control::ReadStop::End;
  res.transport_steps = transport.size();
  res.recorded_frames = st.rec_frames.size();
  res.recorded_signals = rec_signals.size();
  res.recorded_decisions = rec_decisions.size();

  // Strategy engine (torqd's configuration) with an in-process signal ring.
  arb::ArbEngine engine(arb::pool_specs_from_registry(registry), engine_config(registry, prices, native, opt));
  ring::LocalRing signal_ring = ring::LocalRing::create(1u << 20);
  auto prod = ring::SpscProducer::attach(signal_ring.region());
  auto cons = ring::SpscConsumer::attach(signal_ring.region());
  if (!prod.ok() || !cons.ok()) throw std::runtime_error("replay: cannot attach the signal ring");
  engine.attach_output(&*prod);

  // Dry-run executor stage.
  PathTable paths(registry);
  risk::ManualClock gate_clock(st.rec_stamps.empty() ? 0 : st.rec_stamps.front());
  risk::RiskGates::Config gc;
  gc.max_tokens = std::max<std::size_t>(registry.token_count(), 1);
  gc.limits = risk_limits_of(opt.reload);
  gc.clock = gate_clock.clock();
  risk::RiskGates gates(gc);
  for (std::size_t i = 0; i < registry.token_count(); ++i) {
    if (prices[i] == 0) continue;
    risk::TokenRisk tr;
    tr.price_usd = prices[i];
    tr.decimals = registry.token(registry.token_id(i))->decimals;
    tr.configured = 1;
    tr.max_exposure = ~U256::zero();
    (void)gates.set_token(registry.token_id(i), tr);
  }
  if (opt.reload.kill_switch) gates.engage_kill_switch();
  executor::Signer signer;
  const executor::PrivateKey key = executor::PrivateKey::from_hex(kDryRunKeyHex);
  if (const auto c = protocol::parse_address(meta.contract)) st.contract = *c;

  st.registry = &registry;
  st.engine = &engine;
  st.signals_in = &*cons;
  st.paths = &paths;
  st.gates = &gates;
  st.gate_clock = &gate_clock;
  st.signer = &signer;
  st.key = &key;
  st.opt = opt;

  // The session, exactly as torqd configures it, with the replay tap and the recorded clock.
  auto tap = control::NodeTap::replayer(transport, ro.pace);
  st.tap = tap.get();
  control::NodeSessionConfig sc = session_config(*chain, meta.rpc_http, meta.rpc_ws);
  if (meta.opt.md_max_frame_bytes != 0) sc.max_frame_bytes = meta.opt.md_max_frame_bytes;
  sc.rpc.tap = tap.get();
  sc.clock = control::FrameClock{&ReplayState::clock_fn, &st};
  ReplaySink sink{&st};
  {
    control::NodeSession<ReplaySink> session(sc, registry, sink);
    session.start();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(ro.timeout_s);
    while (!tap->exhausted()) {
      if (std::chrono::steady_clock::now() > deadline) {
        res.timed_out = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    session.stop();
  }
  res.steps_served = tap->served();
  res.divergences = tap->divergences();
  res.first_divergence = tap->first_divergence();
  if (res.frames < res.recorded_frames) {
    if (res.frame_mismatches++ == 0)
      res.first_mismatch = std::to_string(res.frames) + " frames produced, " + std::to_string(res.recorded_frames) +
                           " recorded";
  }
  auto compare = [](const std::vector<control::RecordView>& rec, const std::vector<std::vector<std::byte>>& got) {
    std::uint64_t bad = 0;
    for (std::size_t i = 0; i < std::max(rec.size(), got.size()); ++i)
      if (i >= rec.size() || i >= got.size() || !same(rec[i].body, got[i])) ++bad;
    return bad;
  };
  if (!rec_signals.empty() || !rec_decisions.empty()) {
    res.signal_mismatches = compare(rec_signals, st.signals);
    res.decision_mismatches = compare(rec_decisions, st.decisions);
  }

  if (!ro.out_file.empty()) {
    control::RecordingHeader h = reader.header();
    auto w = control::RecordWriter::create(ro.out_file, h);
    // The recorded order (each frame after the transport step that produced it), the produced
    // frames in place of the recorded ones, then the signals and decisions.
    std::size_t k = 0;
    for (const auto& r : reader.records()) {
      if (r.kind == control::RecordKind::Signal || r.kind == control::RecordKind::Decision) continue;
      if (r.kind != control::RecordKind::MdFrame) {
        w->write(r.kind, r.status, r.t_ns, r.aux, r.body);
      } else if (k < st.frames.size()) {
        w->write(r.kind, r.status, r.t_ns, {}, st.frames[k++]);
      }
    }
    for (; k < st.frames.size(); ++k) w->write(control::RecordKind::MdFrame, 1, 0, {}, st.frames[k]);
    auto stamp = [](std::span<const std::byte> f) -> std::uint64_t {
      protocol::ParseOptions po;
      po.verify_checksum = false;
      const auto p = protocol::parse_frame(f, po);
      return p.ok() ? p.view.header.timestamp_ns : 0;
    };
    for (const auto& s : st.signals) w->write(control::RecordKind::Signal, 1, stamp(s), {}, s);
    for (const auto& d : st.decisions) w->write(control::RecordKind::Decision, 1, 0, {}, d);
    w->close();
    if (!w->error().empty()) throw std::runtime_error(w->error());
  }
  if (ro.keep_outputs) {
    res.out_frames = std::move(st.frames);
    res.out_signals = std::move(st.signals);
    res.out_decisions = std::move(st.decisions);
  }
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  return res;
}

}  // namespace torq::torqd
