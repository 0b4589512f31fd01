// RpcClient transport security: a remote endpoint over plain HTTP/WS is refused before any
// connection is made, and TLS verifies the server's certificate (a self-signed certificate that
// no system CA vouches for fails the handshake, over HTTPS and over WSS). The server is a real
// TLS server (`openssl s_server`, skipped when the openssl tool is absent) on a loopback port.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "../common/tls_test_server.hpp"
#include "torq/control/rpc_client.hpp"

namespace {

using torq::control::parse_endpoint;
using torq::control::RpcClient;
using torq::control::RpcStatus;

constexpr const char* kBody = R"({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]})";

}  // namespace

TEST(RpcTransportSecurity, ShouldRefusePlainHttpAndWsToARemoteHostWithoutConnecting) {
  for (const char* url : {"http://192.0.2.10:8545", "ws://192.0.2.10:8546"}) {
    const auto ep = parse_endpoint(url);
    ASSERT_TRUE(ep.has_value()) << url;
    RpcClient c(*ep);
    std::string out;
    const RpcStatus st = std::string(url).starts_with("ws") ? c.ws_connect() : c.post(kBody, out);
    EXPECT_EQ(st, RpcStatus::Refused) << url << ": " << c.last_error();
    EXPECT_NE(c.last_error().find("not allowed"), std::string::npos) << c.last_error();
  }
}

// Transport errors reach the journal (torqd logs them): they name the endpoint as scheme://host:port
// only, never the path, query or user:password@ where a hosted provider's API key lives.
TEST(RpcTransportSecurity, ShouldNotPutTheUrlPathOrCredentialsInTransportErrors) {
  // A loopback port with nothing listening.
  const int port = torq::testing::free_tcp_port();
  ASSERT_GT(port, 0);
  const std::string closed = "127.0.0.1:" + std::to_string(port);
  for (const std::string& url : {std::string("http://192.0.2.10:8545/v2/PathApiKey?key=QueryApiKey"),
                                std::string("ws://192.0.2.10:8546/ws/v3/PathApiKey"),
                                "http://" + closed + "/v2/PathApiKey", "ws://" + closed + "/v2/PathApiKey"}) {
    const auto ep = parse_endpoint(url);
    ASSERT_TRUE(ep.has_value()) << url;
    RpcClient c(*ep);
    std::string out;
    const RpcStatus st = url.starts_with("ws") ? c.ws_connect() : c.post(kBody, out);
    EXPECT_NE(st, RpcStatus::Ok) << url;
    EXPECT_FALSE(c.last_error().empty()) << url;
    EXPECT_EQ(c.last_error().find("ApiKey"), std::string::npos) << c.last_error();
    EXPECT_EQ(c.last_error().rfind(url.substr(0, url.find('/', url.find("://") + 3)) + ": ", 0), 0u) << c.last_error();
  }
}

TEST(RpcTransportSecurity, ShouldFailTheTlsHandshakeWhenTheCertificateIsNotTrusted) {
  torq::testing::OpenSslServer server(torq::testing::TlsCert::self_signed_ip);
  if (!server.ready()) GTEST_SKIP() << "openssl tool or loopback TLS server unavailable";
  for (const std::string scheme : {"https", "wss"}) {
    const auto ep = parse_endpoint(scheme + "://127.0.0.1:" + std::to_string(server.port()));
    ASSERT_TRUE(ep.has_value());
    RpcClient c(*ep);
    std::string out;
    const RpcStatus st = scheme == "wss" ? c.ws_connect() : c.post(kBody, out);
    EXPECT_EQ(st, RpcStatus::TlsFailed) << scheme << ": " << to_string(st) << " " << c.last_error();
    EXPECT_NE(c.last_error().find("certificate verify failed"), std::string::npos) << c.last_error();
    EXPECT_TRUE(out.empty());
  }
}
