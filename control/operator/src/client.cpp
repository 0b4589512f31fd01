// Minimal blocking HTTP client (see torq/ops/client.hpp).
#include "torq/ops/client.hpp"

#include <utility>  // std::exchange, used by Boost 1.74 asio headers

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace torq::ops {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

ClientResponse http_request(std::string_view base_url, std::string_view method, std::string_view target,
                            std::string_view token, std::string_view body, std::chrono::milliseconds timeout) {
  ClientResponse out;
  constexpr std::string_view kScheme = "http://";
  if (base_url.substr(0, kScheme.size()) != kScheme) {
    out.error = ClientError::bad_url;
    out.message = "URL must start with http://";
    return out;
  }
  std::string_view hostport = base_url.substr(kScheme.size());
  hostport = hostport.substr(0, hostport.find('/'));
  const auto colon = hostport.rfind(':');
  const std::string host(hostport.substr(0, colon));
  const std::string port = colon == std::string_view::npos ? "80" : std::string(hostport.substr(colon + 1));
  if (host.empty() || port.empty()) {
    out.error = ClientError::bad_url;
    out.message = "URL has no host";
    return out;
  }
  try {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    beast::error_code ec;
    const auto results = resolver.resolve(host, port, ec);
    if (ec) {
      out.error = ClientError::unreachable;
      out.message = "cannot resolve " + host + ": " + ec.message();
      return out;
    }
    stream.expires_after(timeout);
    bool done = false;
    stream.async_connect(results, [&](beast::error_code e, const tcp::endpoint&) { ec = e; done = true; });
    ioc.run();
    ioc.restart();
    if (ec || !done) {
      out.error = ec == beast::error::timeout ? ClientError::timeout : ClientError::unreachable;
      out.message = "cannot connect to " + std::string(hostport) + ": " + ec.message();
      return out;
    }
    http::request<http::string_body> req{http::string_to_verb(beast::string_view(method.data(), method.size())), std::string(target), 11};
    req.set(http::field::host, std::string(hostport));
    req.set(http::field::user_agent, "torqctl");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + std::string(token));
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
      return out;
    }
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::async_read(stream, buf, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    ioc.run();
    if (ec) {
      out.error = ec == beast::error::timeout ? ClientError::timeout : ClientError::protocol;
      out.message = "reading the response failed: " + ec.message();
      return out;
    }
    auto res = parser.release();
    out.status = res.result_int();
    out.body = std::move(res.body());
    { const auto ct = res[http::field::content_type]; out.content_type.assign(ct.data(), ct.size()); }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  } catch (const std::exception& e) {
    out.error = ClientError::protocol;
    out.message = e.what();
  }
  return out;
}

}  // namespace torq::ops
