// Minimal blocking HTTP/HTTPS client (see torq/ops/client.hpp).
#include "torq/ops/client.hpp"

#include <cstdint>
#include <utility>  // std::exchange, used by Boost 1.74 asio headers

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace torq::ops {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto v = (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8) | std::uint8_t(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += kAlphabet[(v >> k) & 63];
  }
  if (i < in.size()) {
    std::uint32_t v = std::uint32_t(std::uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) v |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// One request/response over a connected stream (plain TCP or TLS). Fills `out`; false on failure.
template <class Stream>
bool exchange(asio::io_context& ioc, Stream& stream, const std::string& hostport, std::string_view method,
              std::string_view target, std::string_view token, std::string_view userinfo, std::string_view body,
              ClientResponse& out) {
  beast::error_code ec;
  http::request<http::string_body> req{http::string_to_verb(beast::string_view(method.data(), method.size())), std::string(target), 11};
  req.set(http::field::host, hostport);
  req.set(http::field::user_agent, "torqctl");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + std::string(token));
  else if (!userinfo.empty()) req.set(http::field::authorization, "Basic " + base64(userinfo));
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
  }
  req.prepare_payload();
  req.keep_alive(false);
  http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
  ioc.run();
  ioc.restart();
  if (ec) {
    out.error = ec == beast::error::timeout ? ClientError::timeout : ClientError::protocol;
    out.message = "sending the request failed: " + ec.message();
    return false;
  }
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::async_read(stream, buf, parser, [&](beast::error_code e, std::size_t) { ec = e; });
  ioc.run();
  ioc.restart();
  if (ec) {
    out.error = ec == beast::error::timeout ? ClientError::timeout : ClientError::protocol;
    out.message = "reading the response failed: " + ec.message();
    return false;
  }
  auto res = parser.release();
  out.status = res.result_int();
  out.body = std::move(res.body());
  const auto ct = res[http::field::content_type];
  out.content_type.assign(ct.data(), ct.size());
  return true;
}

}  // namespace

ClientResponse http_request(std::string_view base_url, std::string_view method, std::string_view target,
                            std::string_view token, std::string_view body, std::chrono::milliseconds timeout) {
  ClientResponse out;
  const bool tls = base_url.substr(0, 8) == "https://";
  if (!tls && base_url.substr(0, 7) != "http://") {
    out.error = ClientError::bad_url;
    out.message = "URL must start with http:// or https://";
    return out;
  }
  std::string_view hostport = base_url.substr(tls ? 8 : 7);
  hostport = hostport.substr(0, hostport.find_first_of("/?#"));
  // user:password@ is sent as Basic authorization and never appears in a message.
  std::string_view userinfo;
  if (const auto at = hostport.rfind('@'); at != std::string_view::npos) {
    userinfo = hostport.substr(0, at);
    hostport = hostport.substr(at + 1);
  }
  const auto colon = hostport.rfind(':');
  const std::string host(hostport.substr(0, colon));
  const std::string port = colon == std::string_view::npos ? (tls ? "443" : "80") : std::string(hostport.substr(colon + 1));
  if (host.empty() || port.empty()) {
    out.error = ClientError::bad_url;
    out.message = "URL has no host";
    return out;
  }
  try {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    const auto results = resolver.resolve(host, port, ec);
    if (ec) {
      out.error = ClientError::unreachable;
      out.message = "cannot resolve " + host + ": " + ec.message();
      return out;
    }
    auto connect = [&](beast::tcp_stream& s) {
      s.expires_after(timeout);
      bool done = false;
      s.async_connect(results, [&](beast::error_code e, const tcp::endpoint&) { ec = e; done = true; });
      ioc.run();
      ioc.restart();
      if (ec || !done) {
        out.error = ec == beast::error::timeout ? ClientError::timeout : ClientError::unreachable;
        out.message = "cannot connect to " + std::string(hostport) + ": " + ec.message();
        return false;
      }
      return true;
    };
    if (!tls) {
      beast::tcp_stream stream(ioc);
      if (!connect(stream)) return out;
      if (!exchange(ioc, stream, std::string(hostport), method, target, token, userinfo, body, out)) return out;
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return out;
    }
    // TLS: the system's trust store, the peer's certificate checked against the host name (SNI set).
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_default_verify_paths();
    ctx.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
      out.error = ClientError::protocol;
      out.message = "cannot set the TLS server name " + host;
      return out;
    }
    stream.set_verify_callback(ssl::host_name_verification(host));
    if (!connect(beast::get_lowest_layer(stream))) return out;
    stream.async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    ioc.run();
    ioc.restart();
    if (ec) {
      out.error = ec == beast::error::timeout ? ClientError::timeout : ClientError::tls;
      out.message = "TLS handshake with " + std::string(hostport) + " failed: " + ec.message();
      return out;
    }
    if (!exchange(ioc, stream, std::string(hostport), method, target, token, userinfo, body, out)) return out;
    beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(500));
    stream.async_shutdown([](beast::error_code) {});  // close_notify; the peer may just close
    ioc.run();
  } catch (const std::exception& e) {
    out.error = ClientError::protocol;
    out.message = e.what();
  }
  return out;
}

}  // namespace torq::ops
