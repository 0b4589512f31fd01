// JSON-RPC transport to an Ethereum node: HTTP(S) request/response (single calls and batches)
// and a WebSocket (ws/wss) connection for subscriptions, built on Boost.Beast + Asio.
//
// TLS (https, wss) uses OpenSSL with the system trust store, peer verification and host-name
// checking (SNI set); plain http/ws is accepted only for loopback hosts unless explicitly allowed.
// Every operation has a deadline; failures are returned as RpcStatus with a message that names
// the endpoint and the step (resolve, connect, TLS, handshake, write, read, HTTP status).
//
// Threading: an RpcClient owns its io_context and is driven by the one thread that calls it (the
// session thread, never a hot core). Not thread-safe. Allocates (control-plane path).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace torq::control {

struct Endpoint {
  std::string url;
  std::string host;
  std::string port;
  std::string target;  // path, "/" by default
  bool tls = false;
  bool websocket = false;
};

// Parses http://, https://, ws://, wss:// URLs (host[:port][/path], IPv6 as [addr][:port]: host
// is then the address without brackets); nullopt otherwise.
[[nodiscard]] std::optional<Endpoint> parse_endpoint(std::string_view url);
[[nodiscard]] bool is_loopback_host(std::string_view host) noexcept;

enum class RpcStatus : std::uint8_t { Ok = 0, Timeout, ConnectFailed, TlsFailed, Closed, ProtocolError, Refused };
[[nodiscard]] const char* to_string(RpcStatus s) noexcept;

class NodeTap;  // torq/control/recording.hpp

struct RpcOptions {
  std::chrono::milliseconds timeout{5000};
  bool allow_plain_remote = false;  // plain http/ws to a non-loopback host
  // Record/replay tap (docs/record-replay.md); null = off. Records every transport step, or in
  // replay answers every step from a recording without touching the network. Not owned.
  NodeTap* tap = nullptr;
};

class RpcClient {
 public:
  RpcClient(Endpoint endpoint, RpcOptions options = {});
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // HTTP POST of a JSON-RPC body (one request object or a batch array); the response body in
  // `out`. Keeps the connection alive between calls and reconnects once on a stale connection.
  [[nodiscard]] RpcStatus post(std::string_view body, std::string& out);

  // WebSocket: connect (TCP, TLS, upgrade), send a text message, read the next message (waits up
  // to `wait`; Timeout leaves the connection usable), close.
  [[nodiscard]] RpcStatus ws_connect();
  [[nodiscard]] RpcStatus ws_send(std::string_view text);
  [[nodiscard]] RpcStatus ws_read(std::string& out, std::chrono::milliseconds wait);
  void close() noexcept;
  [[nodiscard]] bool ws_open() const noexcept;

  [[nodiscard]] const std::string& last_error() const noexcept { return error_; }
  // The last post() sent its request and then failed on some attempt (no or a bad answer, a
  // timeout), or the stale-connection retry resent it: the node may have acted on the request
  // even if the call then failed or was answered on the retry.
  [[nodiscard]] bool last_maybe_delivered() const noexcept { return maybe_delivered_; }
  [[nodiscard]] const Endpoint& endpoint() const noexcept { return endpoint_; }
  // Next JSON-RPC request id (monotonic per client).
  [[nodiscard]] std::uint64_t next_id() noexcept { return ++id_; }

  struct Impl;  // Beast/Asio state, opaque outside rpc_client.cpp

 private:
  RpcStatus post_io(std::string_view body, std::string& out);
  RpcStatus ws_connect_io();
  RpcStatus ws_send_io(std::string_view text);
  RpcStatus ws_read_io(std::string& out, std::chrono::milliseconds wait);

  Endpoint endpoint_;
  RpcOptions options_;
  std::unique_ptr<Impl> impl_;
  std::string error_;
  bool maybe_delivered_ = false;
  std::uint64_t id_ = 0;
};

}  // namespace torq::control
