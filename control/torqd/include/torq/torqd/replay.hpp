// torq/torqd/replay.hpp — record and replay of torqd's collector (docs/record-replay.md).
//
// Recording (`torqd --record FILE`): the node session's transport steps (NodeTap on its
// RpcOptions) and every market-data frame it hands to the md sink go to a control::RecordWriter;
// the header's metadata (recording_meta) carries the manifest text and the settings the run used.
//
// Replay (`torqd --replay FILE`, replay()): the SAME control::NodeSession, with its transport
// answered from the recording (no node, no network) and its frame clock reading the recorded
// stamps, publishes into a sink that (1) compares every frame with the recorded one byte for
// byte, (2) feeds it to the same arb::ArbEngine torqd runs (same EngineConfig, engine_config()),
// and (3) passes every ArbitrageSignal through a dry-run executor stage: threshold, path
// encoding, fees from the stream's base fee, risk::RiskGates::check (clock = the signal's
// stamp), execute() calldata and an EIP-1559 transaction signed with a fixed dry-run key
// (kDryRunKeyHex, never a real key); nothing is submitted and no trade is ever in flight. All of
// it runs on the session thread, so the output is a deterministic function of the recording.
//
// Thread-safety: replay() is self-contained (its own session thread, joined before it returns).
// Allocation: everything here allocates (control plane / tools); the per-message path inside the
// session, engine and executor stage is the production one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "torq/arb/engine.hpp"
#include "torq/control/node_session.hpp"
#include "torq/control/recording.hpp"
#include "torq/torqd/options.hpp"

namespace torq::torqd {

// secp256k1 key used to sign dry-run transactions in replay (public, worthless; 32 bytes 0x11).
inline constexpr const char* kDryRunKeyHex = "1111111111111111111111111111111111111111111111111111111111111111";

// torqd's node-session configuration (the node's http + ws URLs, then the failover endpoints in
// order). Shared by the pipeline and replay so a replay runs the session exactly as the recorded
// run did (a recording holds one endpoint).
[[nodiscard]] control::NodeSessionConfig session_config(protocol::Chain chain, const std::string& rpc_http,
                                                        const std::string& rpc_ws,
                                                        const std::vector<BackupEndpoint>& backups = {},
                                                        std::uint32_t primary_requests_per_second = 0);
// The same endpoints as ChainClient configuration (primary first, priorities 0, 1, 2, ...), each
// with its request budget (requests_per_second, burst of one second's worth; 0 = unlimited).
[[nodiscard]] std::vector<control::EndpointConfig> client_endpoints(const std::string& rpc_http, const std::string& rpc_ws,
                                                                    const std::vector<BackupEndpoint>& backups,
                                                                    std::uint32_t primary_requests_per_second = 0);

// torqd's strategy-engine configuration (stables, start tokens, gas model, threshold).
// `prices`: USD per token index (UsdFixedPoint8 raw, 0 unknown).
[[nodiscard]] arb::EngineConfig engine_config(const protocol::InstrumentRegistry& registry,
                                              const std::vector<std::int64_t>& prices, std::uint32_t native_token,
                                              const Options& opt);

// Dense index of the wrapped native token: the token named `symbol`, or with an empty symbol the
// one called WMATIC, WPOL or POL. nullopt when there is none (gas cannot be valued: torqd refuses
// to start a strategy or executor).
[[nodiscard]] std::optional<std::uint32_t> native_token_index(const protocol::InstrumentRegistry& registry,
                                                              const std::string& symbol = {});

// The recording header's metadata (JSON): manifest text, chain, URLs, USD prices per token
// index, and the executor settings replay's dry run uses. Throws when the manifest is unreadable.
[[nodiscard]] std::string recording_meta(const Options& opt, const std::vector<std::int64_t>& prices);

// The instruments of a recording (its manifest, registered as torqd registers it) and its chain.
// Throws std::runtime_error on bad metadata.
[[nodiscard]] protocol::InstrumentRegistry recording_registry(const control::RecordingHeader& header,
                                                              protocol::Chain* chain = nullptr);

// One dry-run decision (Decision record body, followed by raw_size bytes of signed transaction).
struct DecisionRecord {
  std::uint64_t signal_id = 0;
  std::uint64_t block = 0;
  std::int64_t net_profit_usd = 0;
  std::int64_t notional_usd = 0;
  std::uint64_t nonce = 0;
  std::uint8_t decision = 0;     // kDecision* (telemetry.hpp) or a risk::RejectReason value
  std::uint8_t hop_count = 0;
  std::uint8_t pad[2] = {};
  std::uint32_t raw_size = 0;    // signed transaction bytes after this struct (0 unless taken)
  std::uint8_t max_fee_per_gas[32] = {};           // U256 little-endian limbs
  std::uint8_t max_priority_fee_per_gas[32] = {};
  std::uint8_t tx_hash[32] = {};
};
static_assert(sizeof(DecisionRecord) == 144);

struct ReplayOptions {
  std::string file;
  control::NodeTap::Pace pace = control::NodeTap::Pace::Max;
  std::string out_file;         // optional: write a recording of the replay's frames, signals, decisions
  bool keep_outputs = false;    // fill ReplayResult::frames/signals/decisions
  std::uint32_t timeout_s = 600;
};

struct ReplayResult {
  std::uint64_t transport_steps = 0;      // recorded transport records
  std::uint64_t steps_served = 0;
  std::uint64_t divergences = 0;          // requests that differed from the recording
  std::string first_divergence;
  std::uint64_t recorded_frames = 0;
  std::uint64_t frames = 0;               // frames the replayed session produced
  std::uint64_t frame_mismatches = 0;     // produced != recorded (bytes), or count differs
  std::string first_mismatch;
  std::uint64_t signals = 0;
  std::uint64_t decisions = 0;
  std::uint64_t taken = 0;                // decisions that produced a signed transaction
  std::uint64_t recorded_signals = 0;     // Signal / Decision records in the file (a blessed output)
  std::uint64_t recorded_decisions = 0;
  std::uint64_t signal_mismatches = 0;    // against recorded Signal records (when the file has them)
  std::uint64_t decision_mismatches = 0;
  std::uint64_t frames_fnv = 0, signals_fnv = 0, decisions_fnv = 0;  // FNV-1a over the outputs
  control::ReadStop file_stop = control::ReadStop::End;
  bool timed_out = false;
  double wall_s = 0;
  // Per-stage latencies (ns) measured on the session thread.
  std::vector<std::uint64_t> decode_ns;    // recorded message served → its frame at the sink
  std::vector<std::uint64_t> engine_ns;    // ArbEngine::on_frame (book + search)
  std::vector<std::uint64_t> decide_ns;    // one signal through the dry-run executor stage
  std::vector<std::uint64_t> tick_to_decision_ns;  // message served → last decision of its frame
  std::vector<std::vector<std::byte>> out_frames, out_signals, out_decisions;  // keep_outputs

  // True when the replay reproduced the recording: no divergence, every frame equal, and the
  // recorded signals/decisions (if any) equal.
  [[nodiscard]] bool identical() const noexcept {
    return divergences == 0 && frame_mismatches == 0 && signal_mismatches == 0 && decision_mismatches == 0 &&
           !timed_out;
  }
  [[nodiscard]] std::string summary_json() const;
};

// Replays a recording (see the file comment). Throws std::runtime_error for an unreadable file
// or metadata; a replay that differs from the recording is reported in the result, not thrown.
[[nodiscard]] ReplayResult replay(const ReplayOptions& options);

}  // namespace torq::torqd
