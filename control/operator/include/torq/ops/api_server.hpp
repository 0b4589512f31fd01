// torq/ops/api_server.hpp — the operator HTTP/JSON API, dashboard, WebSocket and metrics server.
//
// Owns ApiServer: Boost.Beast on its own thread (one io_context, asynchronous sessions), bound to
// 127.0.0.1 by default. Routes:
//   GET  /api/status /api/pools[?stale=1] /api/opportunities /api/trades /api/pnl /api/risk /api/latency
//   POST /api/kill {"reason":…}  /api/resume  /api/reload  /api/risk {"key":…,"value":…}
//   GET  /metrics (Prometheus text), /healthz, /readyz, / (dashboard: index.html, app.js, style.css)
//   GET  /ws (WebSocket; pushes the dashboard snapshot every snapshot_interval_ms when it changed)
// Every /api/* call and /ws need "Authorization: Bearer <token>" (scheme case-insensitive; /ws also
// accepts ?token=, since browsers cannot set headers on WebSocket); compared in constant time.
// /metrics needs it when metrics_require_token. Every authorized POST (accepted or refused) goes to
// the audit sink; unauthorized POSTs are counted and go there at most once per
// unauthorized_audit_interval_ms (the first one in full, then one summary line with the count), so
// a flood cannot fill the disk or stall the server thread on fdatasync. Mutations never touch the
// pipeline directly: they become Commands in the CommandQueue (bounded: 503 when full, kill excepted).
// Limits: max_connections concurrent connections (more are closed at once, counted); a failed
// accept (EMFILE...) retries after 100 ms; request header 16 KiB (431), body 64 KiB (413), other
// malformed requests 400; WebSocket messages from the client 64 KiB. HEAD answers carry no body.
// metrics_require_token, snapshot_interval_ms and stale_blocks follow set_current_config (reload).
//
// Also owns the operator audit trail type (AuditRecord, JsonLinesAuditFile) and load_token_file().
// Thread-safety: start()/stop() from one owner thread; the audit sink is called on the server
// thread (and by stop(), for a pending unauthorized summary); stats() and set_current_config()
// from any thread. Start-up throws (bind failure, unreadable web root is not checked until served).
// Allocates freely; never on a pinned core.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "torq/ops/config.hpp"
#include "torq/ops/state.hpp"

namespace torq::ops {

// Bounds of what an audit record keeps of a request (cut on a UTF-8 character boundary).
inline constexpr std::size_t kAuditTargetMax = 512;
inline constexpr std::size_t kAuditBodyMax = 4096;

struct AuditRecord {
  std::int64_t t_unix_ns = 0;
  std::string actor;        // remote address:port
  std::string method;       // "POST"
  std::string target;       // "/api/kill" (at most kAuditTargetMax bytes)
  std::string body;         // request body (at most kAuditBodyMax bytes)
  unsigned status = 0;      // HTTP status returned
  std::string outcome;      // "accepted", "unauthorized", "rejected: …"
  std::uint64_t command_id = 0;
  // Unauthorized POSTs refused since the previous unauthorized line and not recorded one by one
  // (JSON key "unrecorded", written only when non-zero). A summary line has no target.
  std::uint64_t unrecorded = 0;
};
using AuditSink = std::function<void(const AuditRecord&)>;

// One JSON object (no newline); target and body cut to the bounds above, invalid UTF-8 replaced.
[[nodiscard]] std::string audit_record_json(const AuditRecord& r);

// Appends one JSON line per record to a file opened O_APPEND (mode 0600) and fdatasync()s it.
class JsonLinesAuditFile {
 public:
  explicit JsonLinesAuditFile(const std::filesystem::path& path);  // throws std::runtime_error
  ~JsonLinesAuditFile();
  JsonLinesAuditFile(const JsonLinesAuditFile&) = delete;
  JsonLinesAuditFile& operator=(const JsonLinesAuditFile&) = delete;
  void append(const AuditRecord& r);

 private:
  std::mutex mu_;
  int fd_ = -1;
};

// Reads the bearer token (surrounding whitespace trimmed). Throws std::runtime_error when the
// file is missing, empty, or grants any access to group or others (must be 0600 or 0400).
[[nodiscard]] std::string load_token_file(const std::filesystem::path& path);

// Constant-time equality (time depends only on the lengths).
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// Directory of the dashboard files in the source tree (compiled in); overridable by api.web_root.
[[nodiscard]] std::string default_web_root();

struct ApiServerOptions {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 8787;                 // 0: ephemeral (see ApiServer::port())
  std::string token;                         // required (non-empty)
  std::string web_root;                      // empty: default_web_root()
  bool metrics_require_token = false;
  std::uint32_t snapshot_interval_ms = 250;
  std::uint64_t stale_blocks = 2;            // for ?stale=1 and the pool table
  std::uint32_t max_connections = 64;        // concurrent HTTP + WebSocket connections (api.max_connections)
  std::uint32_t unauthorized_audit_interval_ms = 1000;  // at most one unauthorized audit line per interval (0: all)
  std::string config_path;                   // POST /api/reload re-reads this file; empty: 501
  LoadOptions load_options;
  std::shared_ptr<const TorqConfig> current_config;  // reload diff base
  AuditSink audit;                           // empty: no audit (torqd always sets one)
};

// Options from a loaded config: bind, port, token (from api.token_file), web root, metrics/alert
// settings, config path for reload. Throws like load_token_file.
[[nodiscard]] ApiServerOptions api_options_from_config(const TorqConfig& cfg, const std::string& config_path);

class ApiServer {
 public:
  ApiServer(OperatorState& state, CommandQueue& commands, ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  void start();                              // binds and starts the thread; throws on failure
  void stop();                               // idempotent; joins the thread
  [[nodiscard]] std::uint16_t port() const noexcept;
  // After the pipeline applied a reload: the new base for the next reload diff, and the source of
  // metrics.require_token, metrics.snapshot_interval_ms and risk.stale_blocks from now on.
  void set_current_config(std::shared_ptr<const TorqConfig> cfg);
  // After `risk set stale_blocks N` was applied: the bound of ?stale=1 and the pool table's age
  // colouring follows the live limit, not only the file's (a reload sets it back to the file's).
  void set_stale_blocks(std::uint64_t blocks) noexcept;

  struct Stats {
    std::uint64_t connections = 0;           // open now (HTTP and WebSocket)
    std::uint64_t connections_refused = 0;   // closed at accept: over max_connections
    std::uint64_t accept_errors = 0;         // accept failed (EMFILE, ENFILE, ...): retried after 100 ms
    std::uint64_t unauthorized = 0;          // requests answered 401
    std::uint64_t unauthorized_unrecorded = 0;  // unauthorized POSTs only counted in a summary line
    std::uint64_t commands_refused = 0;      // 503: the command queue was full
  };
  [[nodiscard]] Stats stats() const noexcept;  // also on /metrics as torq_api_*

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace torq::ops
