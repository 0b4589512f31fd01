// torq/ops/client.hpp — a minimal blocking HTTP/1.1 client for torqctl, tests and the alert
// webhook (plain http:// only: the operator API is bound to localhost).
//
// One request per call, its own connection, a whole-call deadline. Never throws: failures come back
// as ClientResponse::error with a message. Thread-safety: no shared state. Allocates.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace torq::ops {

enum class ClientError { none, bad_url, unreachable, timeout, protocol };

struct ClientResponse {
  ClientError error = ClientError::none;
  std::string message;        // error description
  unsigned status = 0;        // HTTP status when error == none
  std::string body;
  std::string content_type;
};

// base_url: "http://host:port" (a trailing path is ignored). token: empty for no Authorization.
[[nodiscard]] ClientResponse http_request(std::string_view base_url, std::string_view method, std::string_view target,
                                          std::string_view token, std::string_view body = {},
                                          std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

}  // namespace torq::ops
