// Operator HTTP/JSON API, dashboard, WebSocket and metrics server (see torq/ops/api_server.hpp).
#include "torq/ops/api_server.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>  // std::exchange, used by Boost 1.74 asio headers

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "torq/ops/json.hpp"
#include "torq/ops/render.hpp"
#include "torq/ops/snapshot_codec.hpp"

#ifndef TORQ_OPS_WEB_ROOT
#define TORQ_OPS_WEB_ROOT ""
#endif

namespace torq::ops {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
// Boost 1.74 Beast uses boost::string_view; convert at the boundary.
std::string_view sv(beast::string_view s) noexcept { return {s.data(), s.size()}; }
beast::string_view bsv(std::string_view s) noexcept { return {s.data(), s.size()}; }
}  // namespace

std::string default_web_root() { return TORQ_OPS_WEB_ROOT; }

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size() > b.size() ? a.size() : b.size();
  volatile unsigned char diff = static_cast<unsigned char>(a.size() != b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

std::string load_token_file(const std::filesystem::path& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error("token file " + path.string() + " cannot be read");
  if ((st.st_mode & 077) != 0)
    throw std::runtime_error("token file " + path.string() + " is accessible by group or others (mode " +
                             std::to_string(st.st_mode & 0777) + " octal-decimal); chmod 600 it");
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  const auto b = t.find_first_not_of(" \t\r\n");
  const auto e = t.find_last_not_of(" \t\r\n");
  if (b == std::string::npos) throw std::runtime_error("token file " + path.string() + " is empty");
  return t.substr(b, e - b + 1);
}

namespace {
// At most max bytes of s, cut on a UTF-8 character boundary.
std::string_view bounded(std::string_view s, std::size_t max) noexcept {
  return s.size() <= max ? s : s.substr(0, json::utf8_prefix_length(s, max));
}
}  // namespace

std::string audit_record_json(const AuditRecord& r) {
  json::Writer w;
  w.begin_object();
  w.key("t_unix_ns").num(r.t_unix_ns);
  w.key("actor").str(r.actor);
  w.key("method").str(r.method);
  w.key("target").str(bounded(r.target, kAuditTargetMax));
  w.key("body").str(bounded(r.body, kAuditBodyMax));
  w.key("status").num(static_cast<std::uint64_t>(r.status));
  w.key("outcome").str(r.outcome);
  w.key("command_id").num(r.command_id);
  if (r.unrecorded != 0) w.key("unrecorded").num(r.unrecorded);
  w.end_object();
  return w.take();
}

JsonLinesAuditFile::JsonLinesAuditFile(const std::filesystem::path& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) throw std::runtime_error("cannot open operator audit file " + path.string());
}
JsonLinesAuditFile::~JsonLinesAuditFile() {
  if (fd_ >= 0) ::close(fd_);
}
void JsonLinesAuditFile::append(const AuditRecord& r) {
  std::string line = audit_record_json(r);
  line += '\n';
  std::lock_guard lk(mu_);
  std::size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
    if (n <= 0) return;  // best effort: the caller's log shows the failure via the missing line
    off += static_cast<std::size_t>(n);
  }
  (void)::fdatasync(fd_);
}

ApiServerOptions api_options_from_config(const TorqConfig& cfg, const std::string& config_path) {
  ApiServerOptions o;
  o.bind = cfg.api.bind;
  o.port = cfg.api.port;
  o.token = load_token_file(cfg.api.token_file);
  o.web_root = cfg.api.web_root;
  o.metrics_require_token = cfg.metrics.require_token;
  o.snapshot_interval_ms = cfg.metrics.snapshot_interval_ms;
  o.stale_blocks = cfg.risk.stale_blocks;
  o.max_connections = cfg.api.max_connections;
  o.config_path = config_path;
  o.current_config = std::make_shared<const TorqConfig>(cfg);
  return o;
}

struct ApiServer::Impl {
  OperatorState& state;
  CommandQueue& commands;
  ApiServerOptions opt;
  std::mutex cfg_mu;
  // The reloadable settings the server uses (opt.* at start, then set_current_config).
  std::atomic<bool> metrics_require_token;
  std::atomic<std::uint32_t> snapshot_interval_ms;
  std::atomic<std::uint64_t> stale_blocks;
  // Counters (ApiServer::Stats). Declared before ioc: sessions destroyed with it release their slot.
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> connections_refused{0};
  std::atomic<std::uint64_t> accept_errors{0};
  std::atomic<std::uint64_t> unauthorized{0};
  std::atomic<std::uint64_t> unauthorized_unrecorded{0};
  std::atomic<std::uint64_t> commands_refused{0};
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  asio::steady_timer accept_retry{ioc};
  // Unauthorized POSTs, summarized in the audit trail (server thread only; stop() after the join).
  bool unauth_line_written = false;
  std::chrono::steady_clock::time_point unauth_last_line{};
  std::uint64_t unauth_pending = 0;
  std::string unauth_last_actor;
  bool unauth_timer_armed = false;
  asio::steady_timer unauth_timer{ioc};
  std::thread thread;
  std::uint16_t bound_port = 0;

  Impl(OperatorState& s, CommandQueue& c, ApiServerOptions o)
      : state(s),
        commands(c),
        opt(std::move(o)),
        metrics_require_token(opt.metrics_require_token),
        snapshot_interval_ms(opt.snapshot_interval_ms),
        stale_blocks(opt.stale_blocks) {
    if (opt.web_root.empty()) opt.web_root = default_web_root();
    if (opt.max_connections == 0) opt.max_connections = 1;
  }

  std::shared_ptr<const TorqConfig> current_config() {
    std::lock_guard lk(cfg_mu);
    return opt.current_config;
  }

  void do_accept();
  void audit(const AuditRecord& r) noexcept {
    if (!opt.audit) return;
    try {
      opt.audit(r);
    } catch (...) {  // a failing sink must not take the server thread down
    }
  }
  // An unauthorized POST: written in full when no unauthorized line was written in the last
  // interval, else counted and summarized by one line when the interval is over.
  void audit_unauthorized(AuditRecord r) {
    const auto now = std::chrono::steady_clock::now();
    const auto interval = std::chrono::milliseconds(opt.unauthorized_audit_interval_ms);
    if (unauth_line_written && now - unauth_last_line < interval) {
      ++unauth_pending;
      unauthorized_unrecorded.fetch_add(1, std::memory_order_relaxed);
      unauth_last_actor = r.actor;
      if (!unauth_timer_armed) arm_unauthorized_timer();
      return;
    }
    r.unrecorded = std::exchange(unauth_pending, 0);
    unauth_line_written = true;
    unauth_last_line = now;
    audit(r);
  }
  // The summary line goes out one interval after the previous unauthorized line.
  void arm_unauthorized_timer() {
    unauth_timer_armed = true;
    unauth_timer.expires_at(unauth_last_line + std::chrono::milliseconds(opt.unauthorized_audit_interval_ms));
    unauth_timer.async_wait([this](beast::error_code ec) {
      if (ec) return;  // cancelled: the server is going; stop() writes the summary
      unauth_timer_armed = false;
      if (unauth_pending == 0) return;
      if (std::chrono::steady_clock::now() < unauth_last_line + std::chrono::milliseconds(opt.unauthorized_audit_interval_ms)) {
        arm_unauthorized_timer();  // a full line went out meanwhile: wait for its interval
        return;
      }
      flush_unauthorized();
    });
  }
  void flush_unauthorized() {
    if (unauth_pending == 0) return;
    AuditRecord r;
    r.t_unix_ns = unix_now_ns();
    r.actor = unauth_last_actor;
    r.method = "POST";
    r.status = 401;
    r.unrecorded = std::exchange(unauth_pending, 0);
    r.outcome = "unauthorized: " + std::to_string(r.unrecorded) + " more refused, not recorded one by one (the last from " +
                r.actor + ")";
    unauth_line_written = true;
    unauth_last_line = std::chrono::steady_clock::now();
    audit(r);
  }
};

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

Response make(const Request& req, http::status st, std::string body, std::string_view type = "application/json") {
  Response res{st, req.version()};
  res.set(http::field::server, "torqd");
  res.set(http::field::content_type, bsv(type));
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string error_json(std::string_view msg) {
  json::Writer w;
  w.begin_object().key("error").str(msg).end_object();
  return w.take();
}

std::string query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view kv = rest.substr(0, amp);
    const auto eq = kv.find('=');
    if (kv.substr(0, eq) == name) return eq == std::string_view::npos ? std::string("1") : std::string(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return {};
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// A query value with its %XX escapes decoded (a '+' stays a '+'): the dashboard sends
// ?token=encodeURIComponent(token), so a token with '+', '/' or '=' (base64) arrives escaped.
std::string percent_decoded(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size() && hex(v[i + 1]) >= 0 && hex(v[i + 2]) >= 0) {
      out += static_cast<char>(hex(v[i + 1]) * 16 + hex(v[i + 2]));
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

// One of the max_connections places (Impl::connections), held by the session that serves the
// connection (HttpSession, then WsSession after an upgrade) and released when that session goes.
class ConnectionSlot {
 public:
  explicit ConnectionSlot(std::atomic<std::uint64_t>& n) noexcept : n_(&n) { n_->fetch_add(1, std::memory_order_relaxed); }
  ConnectionSlot(ConnectionSlot&& o) noexcept : n_(std::exchange(o.n_, nullptr)) {}
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot() {
    if (n_ != nullptr) n_->fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint64_t>* n_;
};

constexpr std::size_t kWsReadMessageMax = 64 * 1024;  // the dashboard sends nothing; this bounds a hostile client

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket&& s, ApiServer::Impl& impl, ConnectionSlot slot)
      : ws_(std::move(s)), impl_(impl), timer_(ws_.get_executor()), slot_(std::move(slot)) {}

  void run(Request req) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(kWsReadMessageMax);
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->read_loop();
      self->push();
    });
  }

 private:
  void read_loop() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) { self->closed_ = true; self->timer_.cancel(); return; }
      self->in_.consume(self->in_.size());
      self->read_loop();
    });
  }
  void push() {
    if (closed_) return;
    const std::uint64_t v = impl_.state.version();
    const auto now = std::chrono::steady_clock::now();
    if (v != last_version_ || now - last_sent_ > std::chrono::seconds(2)) {
      last_version_ = v;
      last_sent_ = now;
      out_ = render_dashboard(impl_.state.snapshot(), impl_.stale_blocks.load(std::memory_order_relaxed));
      ws_.text(true);
      ws_.async_write(asio::buffer(out_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) { self->closed_ = true; return; }
        self->schedule();
      });
      return;
    }
    schedule();
  }
  void schedule() {
    timer_.expires_after(std::chrono::milliseconds(impl_.snapshot_interval_ms.load(std::memory_order_relaxed)));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->push();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  ApiServer::Impl& impl_;
  asio::steady_timer timer_;
  beast::flat_buffer in_;
  std::string out_;
  std::uint64_t last_version_ = ~std::uint64_t{0};
  std::chrono::steady_clock::time_point last_sent_{};
  bool closed_ = false;
  ConnectionSlot slot_;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& s, ApiServer::Impl& impl, ConnectionSlot slot)
      : stream_(std::move(s)), impl_(impl), slot_(std::move(slot)) {
    beast::error_code ec;
    const auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) actor_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  void run() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(64 * 1024);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buf_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    if (ec) {
      // A request Beast could not parse gets an answer, then the connection is closed; a
      // connection that broke (reset, closed mid-request) gets none.
      const Request r;
      if (ec == http::error::body_limit) {
        send(make(r, http::status::payload_too_large, error_json("request body over 64 KiB")), true, true);
      } else if (ec == http::error::header_limit) {
        send(make(r, http::status::request_header_fields_too_large, error_json("request header over 16 KiB")), true, true);
      } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
                 ec != http::error::partial_message) {
        send(make(r, http::status::bad_request, error_json("malformed HTTP request: " + ec.message())), true, true);
      }
      return;
    }
    Request req = parser_->release();
    if (websocket::is_upgrade(req)) {
      if (path_of(sv(req.target())) != "/ws" || !authorized(req, true)) {
        impl_.unauthorized.fetch_add(1, std::memory_order_relaxed);
        send(make(req, http::status::unauthorized, error_json("bearer token required")), true);
        return;
      }
      stream_.expires_never();
      std::make_shared<WsSession>(stream_.release_socket(), impl_, std::move(slot_))->run(std::move(req));
      return;
    }
    const bool close = !req.keep_alive();
    Response res = handle(req);
    if (req.method() == http::verb::head) {  // the headers of the GET answer, Content-Length included, no body
      const std::size_t n = res.body().size();
      res.body().clear();
      res.content_length(n);
    }
    send(std::move(res), close);
  }

  // drain: the request was not read to its end (an error answer); see drain().
  void send(Response res, bool close, bool drain = false) {
    res_ = std::make_shared<Response>(std::move(res));
    if (close) res_->keep_alive(false);
    http::async_write(stream_, *res_, [self = shared_from_this(), close, drain](beast::error_code ec, std::size_t) {
      if (ec) return;
      if (close || !self->res_->keep_alive()) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        if (drain) self->drain();
        return;
      }
      self->read();
    });
  }

  // Reads and drops what the client still sends (at most 1 MiB, 2 s) before the socket closes:
  // closing with unread data resets the connection, and the client could lose the answer.
  void drain() {
    stream_.expires_after(std::chrono::seconds(2));
    stream_.async_read_some(buf_.prepare(16 * 1024), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > 1024 * 1024) return;
      self->drain();
    });
  }

  bool authorized(const Request& req, bool allow_query) const {
    std::string_view h = sv(req[http::field::authorization]);
    constexpr std::string_view kBearer = "bearer";  // an auth scheme is case-insensitive (RFC 9110 §11.1)
    if (h.size() > kBearer.size() + 1 && beast::iequals(bsv(h.substr(0, kBearer.size())), bsv(kBearer)) &&
        h[kBearer.size()] == ' ') {
      h.remove_prefix(kBearer.size());
      while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
      return constant_time_equal(h, impl_.opt.token);
    }
    if (allow_query) {
      const std::string t = percent_decoded(query_param(sv(req.target()), "token"));
      if (!t.empty()) return constant_time_equal(t, impl_.opt.token);
    }
    return false;
  }

  Response static_file(const Request& req, std::string_view name, std::string_view type) {
    std::ifstream in(std::filesystem::path(impl_.opt.web_root) / std::string(name), std::ios::binary);
    if (!in) return make(req, http::status::not_found, error_json("dashboard file missing: " + std::string(name)));
    std::stringstream ss;
    ss << in.rdbuf();
    return make(req, http::status::ok, ss.str(), type);
  }

  Response handle(const Request& req) {
    const std::string_view path = path_of(sv(req.target()));
    const bool get = req.method() == http::verb::get || req.method() == http::verb::head;
    const bool post = req.method() == http::verb::post;
    if (get && path == "/healthz") return make(req, http::status::ok, "ok\n", "text/plain");
    if (get && path == "/readyz") {
      const bool ready = impl_.state.snapshot().status.ready;
      return make(req, ready ? http::status::ok : http::status::service_unavailable, ready ? "ready\n" : "not ready\n", "text/plain");
    }
    if (get && path == "/metrics") {
      if (impl_.metrics_require_token.load(std::memory_order_relaxed) && !authorized(req, false)) {
        impl_.unauthorized.fetch_add(1, std::memory_order_relaxed);
        return make(req, http::status::unauthorized, error_json("bearer token required"));
      }
      return make(req, http::status::ok, render_prometheus(impl_.state.snapshot()) + server_metrics(),
                  "text/plain; version=0.0.4; charset=utf-8");
    }
    if (get && (path == "/" || path == "/index.html")) return static_file(req, "index.html", "text/html; charset=utf-8");
    if (get && path == "/app.js") return static_file(req, "app.js", "text/javascript; charset=utf-8");
    if (get && path == "/style.css") return static_file(req, "style.css", "text/css; charset=utf-8");

    if (path.substr(0, 5) != "/api/") return make(req, http::status::not_found, error_json("no such route"));
    if (!authorized(req, false)) {
      impl_.unauthorized.fetch_add(1, std::memory_order_relaxed);
      if (post) impl_.audit_unauthorized(record(req, 401, "unauthorized", 0));
      Response r = make(req, http::status::unauthorized, error_json("missing or wrong bearer token"));
      r.set(http::field::www_authenticate, "Bearer");
      return r;
    }
    if (get) {
      const Snapshot s = impl_.state.snapshot();
      if (path == "/api/status") return make(req, http::status::ok, render_status(s));
      if (path == "/api/pools") {
        const std::string stale = query_param(sv(req.target()), "stale");
        return make(req, http::status::ok,
                    render_pools(s, !stale.empty() && stale != "0", impl_.stale_blocks.load(std::memory_order_relaxed)));
      }
      if (path == "/api/opportunities") return make(req, http::status::ok, render_opportunities(s));
      if (path == "/api/trades") return make(req, http::status::ok, render_trades(s));
      if (path == "/api/pnl") return make(req, http::status::ok, render_pnl(s));
      if (path == "/api/risk") return make(req, http::status::ok, render_risk(s));
      if (path == "/api/latency") return make(req, http::status::ok, render_latency(s));
      if (path == "/api/snapshot") return make(req, http::status::ok, encode_snapshot(s));  // a standalone dashboard reads this
      return make(req, http::status::not_found, error_json("no such route"));
    }
    if (!post) return make(req, http::status::method_not_allowed, error_json("use GET or POST"));
    return handle_post(req, path);
  }

  // Target and body cut to kAuditTargetMax / kAuditBodyMax (on a UTF-8 boundary).
  AuditRecord record(const Request& req, unsigned status, std::string outcome, std::uint64_t id) const {
    AuditRecord r;
    r.t_unix_ns = unix_now_ns();
    r.actor = actor_;
    r.method = std::string(sv(req.method_string()));
    r.target = std::string(bounded(sv(req.target()), kAuditTargetMax));
    r.body = std::string(bounded(req.body(), kAuditBodyMax));
    r.status = status;
    r.outcome = std::move(outcome);
    r.command_id = id;
    return r;
  }

  Response reply(const Request& req, http::status st, std::string body, std::string outcome, std::uint64_t id = 0) {
    impl_.audit(record(req, static_cast<unsigned>(st), std::move(outcome), id));
    return make(req, st, std::move(body));
  }

  // 503 for a command the queue refused (CommandQueue::try_push returned 0).
  Response queue_full(const Request& req) {
    impl_.commands_refused.fetch_add(1, std::memory_order_relaxed);
    return reply(req, http::status::service_unavailable,
                 error_json("command queue full (" + std::to_string(impl_.commands.size()) + " waiting); try again"),
                 "rejected: command queue full");
  }

  // The server's own counters, appended to /metrics.
  std::string server_metrics() const {
    std::string out;
    auto one = [&](const char* name, const char* type, const char* help, std::uint64_t v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + std::to_string(v) + "\n";
    };
    one("torq_api_connections", "gauge", "Open operator API connections (HTTP and WebSocket).",
        impl_.connections.load(std::memory_order_relaxed));
    one("torq_api_connections_refused_total", "counter", "Connections closed at accept: over api.max_connections.",
        impl_.connections_refused.load(std::memory_order_relaxed));
    one("torq_api_accept_errors_total", "counter", "Failed accepts (e.g. out of file descriptors), retried after 100 ms.",
        impl_.accept_errors.load(std::memory_order_relaxed));
    one("torq_api_unauthorized_total", "counter", "Operator API requests refused with 401.",
        impl_.unauthorized.load(std::memory_order_relaxed));
    one("torq_api_commands_refused_total", "counter", "Operator commands refused with 503: the command queue was full.",
        impl_.commands_refused.load(std::memory_order_relaxed));
    return out;
  }

  static std::string accepted_json(std::uint64_t id, const std::vector<std::string>& changed = {}) {
    json::Writer w;
    w.begin_object().key("accepted").boolean(true).key("command_id").num(id);
    if (!changed.empty()) {
      w.key("changed").begin_array();
      for (const auto& c : changed) w.str(c);
      w.end_array();
    }
    w.end_object();
    return w.take();
  }

  Response handle_post(const Request& req, std::string_view path) {
    // Body: empty or a JSON object.
    std::optional<json::Value> body;
    if (!req.body().empty()) {
      json::ParseError pe;
      body = json::parse(req.body(), &pe);
      if (!body || !body->is_object())
        return reply(req, http::status::bad_request,
                     error_json("request body is not a JSON object (offset " + std::to_string(pe.offset) + ": " + pe.message + ")"),
                     "rejected: bad JSON");
    }
    auto field = [&](std::string_view k) -> std::optional<std::string> {
      if (!body) return std::nullopt;
      const auto* v = body->find(k);
      if (v == nullptr) return std::nullopt;
      if (v->is_string() || v->is_number()) return v->text();
      if (v->is_bool()) return std::string(v->as_bool() ? "true" : "false");
      return std::nullopt;
    };
    Command c;
    c.actor = actor_;
    if (path == "/api/kill") {
      c.kind = CommandKind::kill;
      c.reason = field("reason").value_or("operator");
      const auto id = impl_.commands.push(c);
      impl_.state.update([&](Snapshot& s) {
        s.status.kill_switch = true;
        s.status.kill_reason = c.reason;
      });
      return reply(req, http::status::accepted, accepted_json(id), "accepted", id);
    }
    if (path == "/api/resume") {
      c.kind = CommandKind::resume;
      const auto id = impl_.commands.try_push(c);
      if (id == 0) return queue_full(req);
      return reply(req, http::status::accepted, accepted_json(id), "accepted", id);
    }
    if (path == "/api/risk") {
      auto key = field("key");
      auto value = field("value");
      if (!key || !value)
        return reply(req, http::status::bad_request, error_json("body must be {\"key\": \"…\", \"value\": \"…\"}"), "rejected: missing key/value");
      RiskConfig probe = impl_.state.snapshot().risk.limits;
      if (auto err = apply_risk_setting(probe, *key, *value))
        return reply(req, http::status::unprocessable_entity, error_json(*err), "rejected: " + *err);
      c.kind = CommandKind::risk_set;
      c.key = *key;
      c.value = *value;
      const auto id = impl_.commands.try_push(c);
      if (id == 0) return queue_full(req);
      return reply(req, http::status::accepted, accepted_json(id, {"risk." + *key}), "accepted", id);
    }
    if (path == "/api/reload") {
      if (impl_.opt.config_path.empty())
        return reply(req, http::status::not_implemented, error_json("reload is not configured (no config file)"), "rejected: no config path");
      std::shared_ptr<const TorqConfig> next;
      try {
        next = std::make_shared<const TorqConfig>(load_config_file(impl_.opt.config_path, impl_.opt.load_options));
      } catch (const ConfigError& e) {
        return reply(req, http::status::unprocessable_entity, error_json(e.what()), std::string("rejected: ") + e.what());
      }
      ReloadDiff d;
      if (auto cur = impl_.current_config()) d = diff_reloadable(*cur, *next);
      if (!d.allowed()) {
        std::string msg = "structural settings changed (restart needed): ";
        for (std::size_t i = 0; i < d.structural.size(); ++i) msg += (i ? ", " : "") + d.structural[i];
        return reply(req, http::status::conflict, error_json(msg), "rejected: " + msg);
      }
      c.kind = CommandKind::reload;
      c.config = next;
      const auto id = impl_.commands.try_push(c);
      if (id == 0) return queue_full(req);
      return reply(req, http::status::accepted, accepted_json(id, d.reloadable), "accepted", id);
    }
    return reply(req, http::status::not_found, error_json("no such route"), "rejected: no such route");
  }

  beast::tcp_stream stream_;
  ApiServer::Impl& impl_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> res_;
  std::string actor_;
  std::size_t drained_ = 0;
  ConnectionSlot slot_;
};

}  // namespace

void ApiServer::Impl::do_accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      // EMFILE, ENFILE, ENOBUFS...: the connection stays in the backlog and accepting again at
      // once fails the same way, so wait instead of spinning this thread.
      accept_errors.fetch_add(1, std::memory_order_relaxed);
      accept_retry.expires_after(std::chrono::milliseconds(100));
      accept_retry.async_wait([this](beast::error_code e) {
        if (!e) do_accept();
      });
      return;
    }
    if (connections.load(std::memory_order_relaxed) >= opt.max_connections) {
      connections_refused.fetch_add(1, std::memory_order_relaxed);
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<HttpSession>(std::move(socket), *this, ConnectionSlot(connections))->run();
    }
    do_accept();
  });
}

ApiServer::ApiServer(OperatorState& state, CommandQueue& commands, ApiServerOptions options)
    : impl_(std::make_unique<Impl>(state, commands, std::move(options))) {
  if (impl_->opt.token.empty()) throw std::runtime_error("ApiServer: an API token is required");
}

ApiServer::~ApiServer() { stop(); }

void ApiServer::start() {
  auto& i = *impl_;
  beast::error_code ec;
  const auto addr = asio::ip::make_address(i.opt.bind, ec);
  if (ec) throw std::runtime_error("api.bind: invalid address " + i.opt.bind);
  const tcp::endpoint ep{addr, i.opt.port};
  i.acceptor.open(ep.protocol());
  i.acceptor.set_option(asio::socket_base::reuse_address(true));
  i.acceptor.bind(ep, ec);
  if (ec) throw std::runtime_error("api: cannot bind " + i.opt.bind + ":" + std::to_string(i.opt.port) + ": " + ec.message());
  i.acceptor.listen(asio::socket_base::max_listen_connections);
  i.bound_port = i.acceptor.local_endpoint().port();
  i.do_accept();
  i.thread = std::thread([&i] { i.ioc.run(); });
}

void ApiServer::stop() {
  if (!impl_) return;
  auto& i = *impl_;
  if (i.thread.joinable()) {
    i.ioc.stop();
    i.thread.join();
  }
  beast::error_code ec;
  i.acceptor.close(ec);  // the io thread is gone: safe to touch the acceptor here
  i.flush_unauthorized();  // unauthorized POSTs not yet summarized in the audit trail
}

std::uint16_t ApiServer::port() const noexcept { return impl_->bound_port; }

ApiServer::Stats ApiServer::stats() const noexcept {
  const auto& i = *impl_;
  Stats s;
  s.connections = i.connections.load(std::memory_order_relaxed);
  s.connections_refused = i.connections_refused.load(std::memory_order_relaxed);
  s.accept_errors = i.accept_errors.load(std::memory_order_relaxed);
  s.unauthorized = i.unauthorized.load(std::memory_order_relaxed);
  s.unauthorized_unrecorded = i.unauthorized_unrecorded.load(std::memory_order_relaxed);
  s.commands_refused = i.commands_refused.load(std::memory_order_relaxed);
  return s;
}

void ApiServer::set_stale_blocks(std::uint64_t blocks) noexcept {
  impl_->stale_blocks.store(blocks, std::memory_order_relaxed);
}

void ApiServer::set_current_config(std::shared_ptr<const TorqConfig> cfg) {
  if (cfg) {
    impl_->metrics_require_token.store(cfg->metrics.require_token, std::memory_order_relaxed);
    impl_->snapshot_interval_ms.store(cfg->metrics.snapshot_interval_ms, std::memory_order_relaxed);
    impl_->stale_blocks.store(cfg->risk.stale_blocks, std::memory_order_relaxed);
  }
  std::lock_guard lk(impl_->cfg_mu);
  impl_->opt.current_config = std::move(cfg);
}

}  // namespace torq::ops
