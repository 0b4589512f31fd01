// torq/ops/client.hpp — a minimal blocking HTTP/1.1 client for torqctl, tests and the alert
// webhook: http:// (the operator API on localhost) and https:// (webhooks such as Slack or
// PagerDuty; the peer's certificate is verified against the system trust store and the host name,
// which honours SSL_CERT_FILE / SSL_CERT_DIR).
//
// One request per call, its own connection, a whole-call deadline. Never throws: failures come back
// as ClientResponse::error with a message. Thread-safety: no shared state. Allocates.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace torq::ops {

enum class ClientError { none, bad_url, unreachable, timeout, protocol, tls };

struct ClientResponse {
  ClientError error = ClientError::none;
  std::string message;        // error description
  unsigned status = 0;        // HTTP status when error == none
  std::string body;
  std::string content_type;
};

// base_url: "http://host[:port]" or "https://host[:port]" (a trailing path is ignored). token:
// empty for no Authorization. "user:password@host" in base_url is sent as Basic authorization when
// no token is given and never appears in an error message. A TLS failure (untrusted certificate, wrong host) is ClientError::tls.
[[nodiscard]] ClientResponse http_request(std::string_view base_url, std::string_view method, std::string_view target,
                                          std::string_view token, std::string_view body = {},
                                          std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

}  // namespace torq::ops
