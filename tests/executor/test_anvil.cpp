// Against a real node (label `chain`): starts `anvil --chain-id 137` from chain/node_modules on a
// free loopback port, sends transactions built and signed by torq::executor with
// eth_sendRawTransaction — a plain transfer, contract creations and contract calls — and checks
// that anvil recovers our address as `from` and reports the expected status. Also reruns
// tests/executor/ethers_vectors.mjs under node and requires its output to equal the checked-in
// ethers_vectors.json that the unit tests use. Skips when node or chain/node_modules is missing.
// One test sends transactions signed with precomputed nonces (Signer's fast path).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ethers_cases.hpp"
#include "torq/executor/abi.hpp"
#include "torq/executor/hex.hpp"
#include "torq/executor/tx.hpp"

using namespace torq::executor;
using namespace torq::executor::test;
using torq::num::U256;
namespace fs = std::filesystem;

namespace {

int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(s);
    return -1;
  }
  ::close(s);
  return ntohs(a.sin_port);
}

// Minimal HTTP/1.1 JSON-RPC POST over loopback (Connection: close, body until EOF).
std::optional<std::string> http_post(int port, const std::string& body) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(s);
    return std::nullopt;
  }
  const std::string req = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  std::size_t sent = 0;
  while (sent < req.size()) {
    const ssize_t n = ::send(s, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(s);
      return std::nullopt;
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string resp;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(s, buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  ::close(s);
  const auto hdr_end = resp.find("\r\n\r\n");
  if (hdr_end == std::string::npos) return std::nullopt;
  std::string headers = resp.substr(0, hdr_end);
  std::string payload = resp.substr(hdr_end + 4);
  for (auto& ch : headers) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (headers.find("transfer-encoding: chunked") != std::string::npos) {
    std::string out;
    std::size_t pos = 0;
    for (;;) {
      const auto eol = payload.find("\r\n", pos);
      if (eol == std::string::npos) break;
      const std::size_t len = std::stoul(payload.substr(pos, eol - pos), nullptr, 16);
      if (len == 0) break;
      out += payload.substr(eol + 2, len);
      pos = eol + 2 + len + 2;
    }
    payload = out;
  }
  return payload;
}

class Anvil {
 public:
  bool start(const std::string& bin) {
    port_ = free_port();
    if (port_ <= 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // no orphaned anvil if the test process dies
      std::freopen("/dev/null", "w", stdout);
      const std::string port = std::to_string(port_);
      // No block states on disk: anvil never removes its ~/.foundry/anvil/tmp directory (chain/fixture.mjs).
      ::execl(bin.c_str(), bin.c_str(), "--chain-id", "137", "--port", port.c_str(), "--host", "127.0.0.1",
              "--hardfork", "cancun", "--max-persisted-states", "0", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (rpc_raw("eth_chainId", "[]").has_value()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  ~Anvil() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  std::optional<std::string> rpc_raw(const std::string& method, const std::string& params) {
    return http_post(port_, R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":)" + params + "}");
  }
  // The JSON text of `result` (or of `error` when there is no result; `is_error` tells which).
  std::string rpc(const std::string& method, const std::string& params, bool* is_error = nullptr) {
    const auto body = rpc_raw(method, params);
    if (!body) return "";
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    if (p.parse(*body).get(doc) != simdjson::SUCCESS) return "";
    simdjson::dom::element r;
    const bool err = doc["result"].get(r) != simdjson::SUCCESS;
    if (is_error != nullptr) *is_error = err;
    if (err && doc["error"].get(r) != simdjson::SUCCESS) return "";
    return simdjson::minify(r);
  }

 private:
  int port_ = -1;
  pid_t pid_ = -1;
};

std::string unquote(const std::string& s) {
  return s.size() >= 2 && s.front() == '"' ? s.substr(1, s.size() - 2) : s;
}

std::string field(const std::string& json_obj, const char* key) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(json_obj).get(doc) != simdjson::SUCCESS) return "";
  simdjson::dom::element v;
  if (doc[key].get(v) != simdjson::SUCCESS) return "";
  return unquote(simdjson::minify(v));
}

// Init code that deploys `runtime` (CODECOPY + RETURN prefix).
std::vector<std::uint8_t> init_code(const std::vector<std::uint8_t>& runtime) {
  const auto n = static_cast<std::uint8_t>(runtime.size());
  const std::uint8_t prefix[] = {0x60, n, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, n, 0x60, 0x00, 0xf3};
  std::vector<std::uint8_t> c(sizeof prefix + runtime.size());
  std::memcpy(c.data(), prefix, sizeof prefix);
  std::memcpy(c.data() + sizeof prefix, runtime.data(), runtime.size());
  return c;
}

class AnvilTx : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string root = source_dir();
    bin_ = root + "/chain/node_modules/.bin/anvil";
    if (!fs::exists(bin_)) GTEST_SKIP() << "anvil not installed (npm ci --prefix chain)";
    ASSERT_TRUE(anvil_.start(bin_)) << "anvil did not answer";
    // Our key goes through the real loader: a 0600 file.
    key_path_ = fs::temp_directory_path() / ("torq-anvil-key-" + std::to_string(::getpid()));
    std::ofstream(key_path_) << kAnvilKey0 << "\n";
    ::chmod(key_path_.c_str(), 0600);
    key_.emplace(PrivateKey::from_file(key_path_));
    fs::remove(key_path_);
    me_ = torq::protocol::format_address(signer_.address_of(*key_));
  }

  // Signs `tx` (nonce from the node), sends it, returns the receipt JSON.
  std::string send(Eip1559Tx tx, std::string* tx_hash = nullptr, const Signer* by = nullptr) {
    const std::string nonce_hex = unquote(anvil_.rpc("eth_getTransactionCount", "[\"" + me_ + "\",\"pending\"]"));
    tx.nonce = std::stoull(nonce_hex, nullptr, 16);
    tx.chain_id = 137;
    tx.max_priority_fee_per_gas = *U256::parse("30000000000");  // 30 gwei, above Bor's 25 gwei floor
    tx.max_fee_per_gas = *U256::parse("300000000000");
    std::vector<std::uint8_t> buf(max_signed_tx_size(tx.data.size()));
    SignedTx s;
    EXPECT_EQ(sign_tx(by != nullptr ? *by : signer_, *key_, tx, buf, s), TxError::Ok);
    bool err = false;
    const std::string sent =
        anvil_.rpc("eth_sendRawTransaction", "[\"" + to_hex(std::span(buf).first(s.size)) + "\"]", &err);
    EXPECT_FALSE(err) << sent;
    EXPECT_EQ(unquote(sent), to_hex(s.hash)) << "node computed a different tx hash";
    if (tx_hash != nullptr) *tx_hash = to_hex(s.hash);
    for (int i = 0; i < 100; ++i) {
      const std::string r = anvil_.rpc("eth_getTransactionReceipt", "[\"" + to_hex(s.hash) + "\"]");
      if (!r.empty() && r != "null") return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "no receipt";
    return "";
  }

  std::string bin_;
  Anvil anvil_;
  Signer signer_;
  fs::path key_path_;
  std::optional<PrivateKey> key_;
  std::string me_;
};

}  // namespace

TEST_F(AnvilTx, ShouldHaveAnvilAcceptATransferAndRecoverOurAddress) {
  ASSERT_EQ(me_, kAnvilAddress0);
  Eip1559Tx tx;
  tx.gas_limit = 21000;
  tx.to = addr("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
  tx.value = *U256::parse("1234567890123456789");
  const std::string before = unquote(anvil_.rpc("eth_getBalance", R"(["0x70997970c51812dc3a010c7d01b50e0d17dc79c8","latest"])"));
  const std::string receipt = send(tx);
  EXPECT_EQ(field(receipt, "from"), me_);
  EXPECT_EQ(field(receipt, "status"), "0x1");
  EXPECT_EQ(field(receipt, "type"), "0x2");
  const std::string after = unquote(anvil_.rpc("eth_getBalance", R"(["0x70997970c51812dc3a010c7d01b50e0d17dc79c8","latest"])"));
  EXPECT_EQ(*U256::parse(after) - *U256::parse(before), tx.value);
}

TEST_F(AnvilTx, ShouldDeployAndCallAContractWithOurCalldata) {
  // Runtime: sstore(0, calldataload(36)) — stores the amountIn argument of an execute() call.
  const std::vector<std::uint8_t> runtime = {0x60, 0x24, 0x35, 0x60, 0x00, 0x55, 0x00};
  const auto code = init_code(runtime);
  Eip1559Tx create;
  create.create = true;
  create.gas_limit = 200000;
  create.data = code;
  const std::string r1 = send(create);
  ASSERT_EQ(field(r1, "status"), "0x1") << r1;
  EXPECT_EQ(field(r1, "from"), me_);
  const std::string contract = field(r1, "contractAddress");
  ASSERT_EQ(contract.size(), 42u);

  const auto path = vector_path();
  std::vector<std::uint8_t> calldata(execute_call_size(path.size()));
  const U256 amount_in = *U256::parse("3000000000000000007");
  ASSERT_GT(encode_execute_call(calldata, path, amount_in, *U256::parse("123456789")), 0u);
  Eip1559Tx call;
  call.to = addr(contract);
  call.gas_limit = 100000;
  call.data = calldata;
  const std::string r2 = send(call);
  EXPECT_EQ(field(r2, "status"), "0x1") << r2;
  EXPECT_EQ(field(r2, "from"), me_);
  EXPECT_EQ(field(r2, "to"), contract);
  const std::string slot0 = unquote(anvil_.rpc("eth_getStorageAt", "[\"" + contract + "\",\"0x0\",\"latest\"]"));
  EXPECT_EQ(*U256::parse(slot0), amount_in) << "the contract did not see our ABI-encoded amountIn";
}

TEST_F(AnvilTx, ShouldDecodeTheRevertReasonOfAFailingCall) {
  // Runtime: revert(Error("Too little profit")).
  std::vector<std::uint8_t> rt = {0x63, 0x08, 0xc3, 0x79, 0xa0, 0x60, 0xe0, 0x1b, 0x60, 0x00, 0x52,  // selector
                                  0x60, 0x20, 0x60, 0x04, 0x52,                                      // offset
                                  0x60, 0x11, 0x60, 0x24, 0x52,                                      // length 17
                                  0x70};                                                             // PUSH17
  const std::string msg = "Too little profit";
  rt.insert(rt.end(), msg.begin(), msg.end());
  for (std::uint8_t b : {0x60, 0x78, 0x1b, 0x60, 0x44, 0x52, 0x60, 0x64, 0x60, 0x00, 0xfd}) rt.push_back(b);
  const auto code = init_code(rt);
  Eip1559Tx create;
  create.create = true;
  create.gas_limit = 200000;
  create.data = code;
  const std::string r1 = send(create);
  ASSERT_EQ(field(r1, "status"), "0x1") << r1;
  const std::string contract = field(r1, "contractAddress");

  std::vector<std::uint8_t> calldata(execute_call_size(3));
  const std::uint8_t path[] = {1, 2, 3};
  ASSERT_GT(encode_execute_call(calldata, path, U256::one(), U256::one()), 0u);
  bool err = false;
  const std::string e = anvil_.rpc(
      "eth_call", "[{\"from\":\"" + me_ + "\",\"to\":\"" + contract + "\",\"data\":\"" + to_hex(calldata) + "\"},\"latest\"]",
      &err);
  ASSERT_TRUE(err) << e;
  const auto data = from_hex(field(e, "data"));
  ASSERT_TRUE(data.has_value()) << e;
  const RevertReason rr = decode_revert(*data);
  ASSERT_EQ(rr.kind, RevertKind::ErrorString) << e;
  EXPECT_EQ(rr.message, msg);

  // Sent as a transaction it is mined with status 0, still from us.
  Eip1559Tx call;
  call.to = addr(contract);
  call.gas_limit = 100000;
  call.data = calldata;
  const std::string r2 = send(call);
  EXPECT_EQ(field(r2, "status"), "0x0") << r2;
  EXPECT_EQ(field(r2, "from"), me_);
}

TEST_F(AnvilTx, ShouldAcceptTransactionsSignedWithPrecomputedNonces) {
  SignerOptions o;
  o.nonces = NonceMode::Precomputed;
  o.pool_capacity = 8;
  const Signer fast(o);
  // A transfer and an execute() call, both on the fast path (a pool nonce each, no fallback).
  Eip1559Tx transfer;
  transfer.gas_limit = 21000;
  transfer.to = addr("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
  transfer.value = *U256::parse("1000000007");
  const std::string r1 = send(transfer, nullptr, &fast);
  EXPECT_EQ(field(r1, "status"), "0x1") << r1;
  EXPECT_EQ(field(r1, "from"), me_);

  const std::vector<std::uint8_t> runtime = {0x60, 0x24, 0x35, 0x60, 0x00, 0x55, 0x00};  // sstore(0, amountIn)
  const auto code = init_code(runtime);
  Eip1559Tx create;
  create.create = true;
  create.gas_limit = 200000;
  create.data = code;
  const std::string r2 = send(create, nullptr, &fast);
  ASSERT_EQ(field(r2, "status"), "0x1") << r2;
  const std::string contract = field(r2, "contractAddress");
  const auto path = vector_path();
  std::vector<std::uint8_t> calldata(execute_call_size(path.size()));
  const U256 amount_in = *U256::parse("4000000000000000009");
  ASSERT_GT(encode_execute_call(calldata, path, amount_in, U256::one()), 0u);
  Eip1559Tx call;
  call.to = addr(contract);
  call.gas_limit = 100000;
  call.data = calldata;
  const std::string r3 = send(call, nullptr, &fast);
  EXPECT_EQ(field(r3, "status"), "0x1") << r3;
  EXPECT_EQ(field(r3, "from"), me_);
  const std::string slot0 = unquote(anvil_.rpc("eth_getStorageAt", "[\"" + contract + "\",\"0x0\",\"latest\"]"));
  EXPECT_EQ(*U256::parse(slot0), amount_in);
  const SignerStats st = fast.stats();
  EXPECT_EQ(st.precomputed, 3U) << "the transactions were not signed on the fast path";
  EXPECT_EQ(st.fallback_empty + st.fallback_busy + st.fallback_degenerate, 0U);
}

TEST(EthersCrossCheck, ShouldMatchTheCheckedInVectorsWhenEthersRegeneratesThem) {
  const std::string root = source_dir();
  if (!fs::exists(root + "/chain/node_modules/ethers")) GTEST_SKIP() << "ethers not installed";
  const std::string cmd = "node " + root + "/tests/executor/ethers_vectors.mjs";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = ::pclose(p);
  if (rc != 0 && out.empty()) GTEST_SKIP() << "node not available";
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(out, read_text(root + "/tests/executor/ethers_vectors.json"));
}
