// RpcClient implementation: Boost.Beast HTTP/WebSocket over TCP or OpenSSL TLS, every step with
// a deadline enforced by running the client's own io_context (see rpc_client.hpp).
#include "torq/control/rpc_client.hpp"
#include "torq/control/recording.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <optional>

namespace torq::control {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

const char* to_string(RpcStatus s) noexcept {
  switch (s) {
    case RpcStatus::Ok: return "ok";
    case RpcStatus::Timeout: return "timeout";
    case RpcStatus::ConnectFailed: return "connect failed";
    case RpcStatus::TlsFailed: return "TLS failed";
    case RpcStatus::Closed: return "connection closed";
    case RpcStatus::ProtocolError: return "protocol error";
    case RpcStatus::Refused: return "refused by policy";
  }
  return "unknown";
}

bool is_loopback_host(std::string_view host) noexcept {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.substr(0, 4) == "127.";
}

namespace {
// The endpoint as error messages name it: scheme://host[:port], without user:password@, path or
// query (a hosted provider's API key is in the path, docs/operator.md: "shown redacted").
std::string shown_url(const Endpoint& ep) {
  const std::string_view url = ep.url;
  const auto p = url.find("://");
  if (p == std::string_view::npos) return "(redacted)";
  const auto end = url.find_first_of("/?#", p + 3);
  std::string_view host = url.substr(p + 3, end == std::string_view::npos ? std::string_view::npos : end - p - 3);
  if (const auto at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
  return std::string(url.substr(0, p + 3)) + std::string(host);
}

// host[:port] as the Host header and the WebSocket handshake want it (IPv6 in brackets).
std::string host_header(const Endpoint& ep, bool with_port) {
  std::string h = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
  return with_port ? h + ":" + ep.port : h;
}
}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view url) {
  Endpoint e;
  e.url = std::string(url);
  std::string_view rest;
  if (url.substr(0, 7) == "http://") rest = url.substr(7);
  else if (url.substr(0, 8) == "https://") rest = url.substr(8), e.tls = true;
  else if (url.substr(0, 5) == "ws://") rest = url.substr(5), e.websocket = true;
  else if (url.substr(0, 6) == "wss://") rest = url.substr(6), e.websocket = true, e.tls = true;
  else return std::nullopt;
  const auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  e.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!hostport.empty() && hostport.front() == '[') {
    // IPv6 literal: [addr] or [addr]:port. host holds the address without brackets (resolver,
    // TLS); the Host header and the WebSocket handshake put them back (host_header()).
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    e.host = std::string(hostport.substr(1, close - 1));
    const std::string_view after = hostport.substr(close + 1);
    if (after.empty()) {
      e.port = e.tls ? "443" : "80";
    } else {
      if (after.front() != ':') return std::nullopt;
      e.port = std::string(after.substr(1));
      if (e.port.empty() || e.port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    }
    if (e.host.find_first_not_of("0123456789abcdefABCDEF:.%") != std::string::npos) return std::nullopt;
  } else if (const auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    e.host = std::string(hostport.substr(0, colon));
    e.port = std::string(hostport.substr(colon + 1));
    if (e.port.empty() || e.port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  } else {
    e.host = std::string(hostport);
    e.port = e.tls ? "443" : "80";
  }
  if (e.host.empty()) return std::nullopt;
  return e;
}

struct RpcClient::Impl {
  asio::io_context ioc;
  ssl::context tls_ctx{ssl::context::tls_client};
  std::optional<beast::tcp_stream> http_plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> http_tls;
  std::optional<websocket::stream<beast::tcp_stream>> ws_plain;
  std::optional<websocket::stream<beast::ssl_stream<beast::tcp_stream>>> ws_tls;
  beast::flat_buffer http_buffer;
  beast::flat_buffer ws_buffer;
  bool read_pending = false;
  bool read_done = false;
  beast::error_code read_ec;

  Impl() {
    tls_ctx.set_default_verify_paths();
    tls_ctx.set_verify_mode(ssl::verify_peer);
  }

  // Runs the io_context until `done` or the deadline; on timeout cancels `lowest` and drains.
  template <class Lowest>
  bool run_until(bool& done, std::chrono::milliseconds timeout, Lowest& lowest) {
    ioc.restart();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      ioc.run_one_for(deadline - now);
    }
    if (done) return true;
    beast::error_code ignored;
    lowest.socket().cancel(ignored);
    ioc.restart();
    while (!done) ioc.run_one();
    return false;
  }
};

RpcClient::RpcClient(Endpoint endpoint, RpcOptions options)
    : endpoint_(std::move(endpoint)), options_(options), impl_(std::make_unique<Impl>()) {}
RpcClient::~RpcClient() { close(); }

namespace {
template <class Stream>
RpcStatus connect_tcp(RpcClient::Impl& m, Stream& lowest, const Endpoint& ep, std::chrono::milliseconds timeout,
                      std::string& error) {
  tcp::resolver resolver(m.ioc);
  bool done = false;
  beast::error_code ec;
  tcp::resolver::results_type results;
  resolver.async_resolve(ep.host, ep.port, [&](beast::error_code e, tcp::resolver::results_type r) {
    ec = e, results = std::move(r), done = true;
  });
  m.ioc.restart();
  if (m.ioc.run_for(timeout) == 0 && !done) {
    resolver.cancel();
    m.ioc.restart();
    m.ioc.run();
  }
  if (!done || ec) {
    error = shown_url(ep) + ": resolve: " + (ec ? ec.message() : std::string("timeout"));
    return RpcStatus::ConnectFailed;
  }
  done = false;
  lowest.expires_after(timeout);
  lowest.async_connect(results, [&](beast::error_code e, const tcp::endpoint&) { ec = e, done = true; });
  m.ioc.restart();
  while (!done) m.ioc.run_one();
  if (ec) {
    error = shown_url(ep) + ": connect: " + ec.message();
    return ec == beast::error::timeout ? RpcStatus::Timeout : RpcStatus::ConnectFailed;
  }
  lowest.expires_never();
  (void)m;
  return RpcStatus::Ok;
}

template <class SslStream>
RpcStatus tls_handshake(RpcClient::Impl& m, SslStream& s, const Endpoint& ep, std::chrono::milliseconds timeout,
                        std::string& error) {
  if (!SSL_set_tlsext_host_name(s.native_handle(), ep.host.c_str())) {
    error = shown_url(ep) + ": TLS: cannot set SNI";
    return RpcStatus::TlsFailed;
  }
  s.set_verify_callback(ssl::host_name_verification(ep.host));
  bool done = false;
  beast::error_code ec;
  beast::get_lowest_layer(s).expires_after(timeout);
  s.async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e, done = true; });
  m.ioc.restart();
  while (!done) m.ioc.run_one();
  beast::get_lowest_layer(s).expires_never();
  if (ec) {
    error = shown_url(ep) + ": TLS handshake: " + ec.message();
    return RpcStatus::TlsFailed;
  }
  return RpcStatus::Ok;
}
}  // namespace

RpcStatus RpcClient::post_io(std::string_view body, std::string& out) {
  if (!endpoint_.tls && !options_.allow_plain_remote && !is_loopback_host(endpoint_.host)) {
    error_ = shown_url(endpoint_) + ": plain HTTP to a remote host is not allowed";
    return RpcStatus::Refused;
  }
  auto& m = *impl_;
  maybe_delivered_ = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool fresh = !(m.http_plain || m.http_tls);
    if (fresh) {
      if (endpoint_.tls) {
        m.http_tls.emplace(m.ioc, m.tls_ctx);
        if (auto s = connect_tcp(m, beast::get_lowest_layer(*m.http_tls), endpoint_, options_.timeout, error_); s != RpcStatus::Ok) {
          m.http_tls.reset();
          return s;
        }
        if (auto s = tls_handshake(m, *m.http_tls, endpoint_, options_.timeout, error_); s != RpcStatus::Ok) {
          m.http_tls.reset();
          return s;
        }
      } else {
        m.http_plain.emplace(m.ioc);
        if (auto s = connect_tcp(m, *m.http_plain, endpoint_, options_.timeout, error_); s != RpcStatus::Ok) {
          m.http_plain.reset();
          return s;
        }
      }
    }
    http::request<http::string_body> req{http::verb::post, endpoint_.target, 11};
    req.set(http::field::host, host_header(endpoint_, false));
    req.set(http::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = std::string(body);
    req.prepare_payload();
    http::response<http::string_body> res;
    beast::error_code ec;
    bool done = false;
    bool written = false;
    auto exchange = [&](auto& stream) {
      auto& lowest = beast::get_lowest_layer(stream);
      lowest.expires_after(options_.timeout);
      http::async_write(stream, req, [&](beast::error_code e, std::size_t) {
        if (e) {
          ec = e, done = true;
          return;
        }
        written = true;
        m.http_buffer.clear();
        http::async_read(stream, m.http_buffer, res, [&](beast::error_code e2, std::size_t) { ec = e2, done = true; });
      });
      m.ioc.restart();
      while (!done) m.ioc.run_one();
      lowest.expires_never();
    };
    if (m.http_tls) exchange(*m.http_tls);
    else exchange(*m.http_plain);
    if (ec) {
      m.http_plain.reset();
      m.http_tls.reset();
      // A request fully written is as good as received: a retry (below) may resend it.
      if (written || ec == beast::error::timeout) maybe_delivered_ = true;
      error_ = shown_url(endpoint_) + ": HTTP exchange: " + ec.message();
      if (ec == beast::error::timeout) return RpcStatus::Timeout;
      if (!fresh) continue;  // stale keep-alive connection: one retry on a fresh one
      return RpcStatus::Closed;
    }
    if (res.result() != http::status::ok) {
      // A proxy's 5xx may come after the node acted; a 429 is a refusal before it.
      if (res.result() != http::status::too_many_requests) maybe_delivered_ = true;
      error_ = shown_url(endpoint_) + ": HTTP status " + std::to_string(res.result_int()) + ": " + res.body().substr(0, 200);
      out = std::move(res.body());
      return res.result() == http::status::too_many_requests ? RpcStatus::Refused : RpcStatus::ProtocolError;
    }
    if (!res.keep_alive()) m.http_plain.reset(), m.http_tls.reset();
    out = std::move(res.body());
    return RpcStatus::Ok;
  }
  return RpcStatus::Closed;
}

RpcStatus RpcClient::ws_connect_io() {
  close();
  if (!endpoint_.tls && !options_.allow_plain_remote && !is_loopback_host(endpoint_.host)) {
    error_ = shown_url(endpoint_) + ": plain WebSocket to a remote host is not allowed";
    return RpcStatus::Refused;
  }
  auto& m = *impl_;
  auto upgrade = [&](auto& ws) -> RpcStatus {
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws.read_message_max(64 * 1024 * 1024);
    beast::error_code ec;
    bool done = false;
    ws.async_handshake(host_header(endpoint_, true), endpoint_.target, [&](beast::error_code e) { ec = e, done = true; });
    m.ioc.restart();
    if (!m.run_until(done, options_.timeout, beast::get_lowest_layer(ws))) ec = beast::error::timeout;
    if (ec) {
      error_ = shown_url(endpoint_) + ": WebSocket handshake: " + ec.message();
      return RpcStatus::ConnectFailed;
    }
    return RpcStatus::Ok;
  };
  RpcStatus s;
  if (endpoint_.tls) {
    m.ws_tls.emplace(m.ioc, m.tls_ctx);
    s = connect_tcp(m, beast::get_lowest_layer(*m.ws_tls), endpoint_, options_.timeout, error_);
    if (s == RpcStatus::Ok) s = tls_handshake(m, m.ws_tls->next_layer(), endpoint_, options_.timeout, error_);
    if (s == RpcStatus::Ok) s = upgrade(*m.ws_tls);
  } else {
    m.ws_plain.emplace(m.ioc);
    s = connect_tcp(m, beast::get_lowest_layer(*m.ws_plain), endpoint_, options_.timeout, error_);
    if (s == RpcStatus::Ok) s = upgrade(*m.ws_plain);
  }
  if (s != RpcStatus::Ok) close();
  return s;
}

bool RpcClient::ws_open() const noexcept { return impl_->ws_plain.has_value() || impl_->ws_tls.has_value(); }

RpcStatus RpcClient::ws_send_io(std::string_view text) {
  auto& m = *impl_;
  if (!ws_open()) return RpcStatus::Closed;
  beast::error_code ec;
  bool done = false;
  auto send = [&](auto& ws) {
    ws.text(true);
    ws.async_write(asio::buffer(text.data(), text.size()), [&](beast::error_code e, std::size_t) { ec = e, done = true; });
    if (!m.run_until(done, options_.timeout, beast::get_lowest_layer(ws))) ec = beast::error::timeout;
  };
  if (m.ws_tls) send(*m.ws_tls);
  else send(*m.ws_plain);
  if (ec) {
    error_ = shown_url(endpoint_) + ": WebSocket write: " + ec.message();
    close();
    return RpcStatus::Closed;
  }
  return RpcStatus::Ok;
}

RpcStatus RpcClient::ws_read_io(std::string& out, std::chrono::milliseconds wait) {
  auto& m = *impl_;
  if (!ws_open()) return RpcStatus::Closed;
  if (!m.read_pending) {
    m.read_pending = true;
    m.read_done = false;
    m.ws_buffer.clear();
    auto start = [&](auto& ws) {
      ws.async_read(m.ws_buffer, [&m](beast::error_code e, std::size_t) { m.read_ec = e, m.read_done = true; });
    };
    if (m.ws_tls) start(*m.ws_tls);
    else start(*m.ws_plain);
  }
  m.ioc.restart();
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (!m.read_done) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return RpcStatus::Timeout;  // read stays pending: connection usable
    m.ioc.run_one_for(deadline - now);
  }
  m.read_pending = false;
  if (m.read_ec) {
    error_ = shown_url(endpoint_) + ": WebSocket read: " + m.read_ec.message();
    close();
    return RpcStatus::Closed;
  }
  out.assign(static_cast<const char*>(m.ws_buffer.data().data()), m.ws_buffer.size());
  return RpcStatus::Ok;
}

// Transport tap (record / replay, docs/record-replay.md): one null check when off.
RpcStatus RpcClient::post(std::string_view body, std::string& out) {
  NodeTap* tap = options_.tap;
  if (tap == nullptr) return post_io(body, out);
  if (tap->replaying()) return tap->replay_post(body, out);
  const RpcStatus s = post_io(body, out);
  tap->on_post(s, body, out);
  return s;
}
RpcStatus RpcClient::ws_connect() {
  NodeTap* tap = options_.tap;
  if (tap == nullptr) return ws_connect_io();
  if (tap->replaying()) return tap->replay_connect();
  const RpcStatus s = ws_connect_io();
  tap->on_connect(s);
  return s;
}
RpcStatus RpcClient::ws_send(std::string_view text) {
  NodeTap* tap = options_.tap;
  if (tap == nullptr) return ws_send_io(text);
  if (tap->replaying()) return tap->replay_send(text);
  const RpcStatus s = ws_send_io(text);
  tap->on_send(s, text);
  return s;
}
RpcStatus RpcClient::ws_read(std::string& out, std::chrono::milliseconds wait) {
  NodeTap* tap = options_.tap;
  if (tap == nullptr) return ws_read_io(out, wait);
  if (tap->replaying()) return tap->replay_read(out);
  const RpcStatus s = ws_read_io(out, wait);
  tap->on_read(s, out);
  return s;
}

void RpcClient::close() noexcept {
  auto& m = *impl_;
  beast::error_code ignored;
  if (m.ws_plain) beast::get_lowest_layer(*m.ws_plain).socket().close(ignored);
  if (m.ws_tls) beast::get_lowest_layer(*m.ws_tls).socket().close(ignored);
  if (m.read_pending) {  // let the aborted read's handler run before the stream goes away
    m.ioc.restart();
    while (!m.read_done && m.ioc.run_one() > 0) {
    }
    m.read_pending = false;
  }
  m.ws_plain.reset();
  m.ws_tls.reset();
}

}  // namespace torq::control
