// Inputs of the ethers reference vectors (tests/executor/ethers_vectors.mjs prints the expected
// outputs for exactly these inputs into ethers_vectors.json) and a reader for that JSON file.
// Test-only: allocates freely.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "torq/executor/abi.hpp"
#include "torq/executor/hex.hpp"
#include "torq/executor/tx.hpp"

namespace torq::executor::test {

// anvil's well-known test account 0 (mnemonic "test test ... junk"); worthless outside a test
// chain. Tests check that no string our code produces contains it.
inline constexpr const char* kAnvilKey0 = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
inline constexpr const char* kAnvilAddress0 = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

inline std::vector<std::uint8_t> hexv(std::string_view h) {
  auto v = from_hex(h);
  if (!v) throw std::runtime_error("bad hex in test: " + std::string(h));
  return *v;
}
inline protocol::Address addr(std::string_view h) {
  const auto a = protocol::parse_address(h);
  if (!a) throw std::runtime_error("bad address in test");
  return *a;
}
inline num::U256 u256(std::string_view dec) {
  const auto v = num::U256::parse(dec);
  if (!v) throw std::runtime_error("bad number in test");
  return *v;
}

inline std::string source_dir() {
  const char* s = std::getenv("TORQ_SOURCE_DIR");
  return s != nullptr ? s : TORQ_TEST_SOURCE_DIR;
}
inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The execute(bytes,uint256,uint256) path used by the vectors: 70 bytes (i * 37 + 11) & 0xff.
inline std::vector<std::uint8_t> vector_path() {
  std::vector<std::uint8_t> p(70);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>((i * 37 + 11) & 0xff);
  return p;
}

struct TxCase {
  std::string name;
  Eip1559Tx tx;
  std::vector<std::uint8_t> data;  // tx.data points here after fix()
};

inline std::vector<TxCase> tx_cases() {
  std::vector<TxCase> cs(4);
  cs[0].name = "transfer";
  cs[0].tx.chain_id = 137;
  cs[0].tx.nonce = 0;
  cs[0].tx.max_priority_fee_per_gas = u256("30000000000");
  cs[0].tx.max_fee_per_gas = u256("300000000000");
  cs[0].tx.gas_limit = 21000;
  cs[0].tx.to = addr("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
  cs[0].tx.value = u256("1000000000000000000");

  cs[1].name = "execute_call";
  cs[1].tx.chain_id = 137;
  cs[1].tx.nonce = 42;
  cs[1].tx.max_priority_fee_per_gas = u256("25000000000");
  cs[1].tx.max_fee_per_gas = u256("151000000000");
  cs[1].tx.gas_limit = 450000;
  cs[1].tx.to = addr("0x5FbDB2315678afecb367f032d93F642f64180aa3");
  {
    const auto path = vector_path();
    cs[1].data.resize(execute_call_size(path.size()));
    const auto n = encode_execute_call(cs[1].data, path, u256("3000000000000000007"), u256("123456789"));
    if (n != cs[1].data.size()) throw std::runtime_error("encode_execute_call failed");
  }

  cs[2].name = "create";
  cs[2].tx.chain_id = 1;
  cs[2].tx.nonce = 1000000;
  cs[2].tx.max_priority_fee_per_gas = u256("0");
  cs[2].tx.max_fee_per_gas = u256("1");
  cs[2].tx.gas_limit = 3000000;
  cs[2].tx.create = true;
  cs[2].data = hexv("0x600a600c600039600a6000f3602a60005260206000f3");

  cs[3].name = "big_values";
  cs[3].tx.chain_id = 8453;
  cs[3].tx.nonce = std::uint64_t{1} << 40;
  cs[3].tx.max_priority_fee_per_gas = u256("1");
  cs[3].tx.max_fee_per_gas = num::U256::pow2(255) + u256("12345");
  cs[3].tx.gas_limit = 30000000;
  cs[3].tx.to = addr("0x0000000000000000000000000000000000000001");
  cs[3].tx.value = num::U256::pow2(200) - num::U256::one();
  cs[3].data = {0x00};
  for (auto& c : cs) c.tx.data = c.data;
  return cs;
}

struct TxExpect {
  std::string signing_hash, raw, hash, r, s;
  int y_parity = 0;
};
struct EthersVectors {
  std::string address;
  std::map<std::string, TxExpect> tx;
  std::map<std::string, std::string> abi;  // name -> 0x hex
};

inline EthersVectors parse_ethers_vectors(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(json);
  EthersVectors v;
  v.address = std::string(std::string_view(doc["address"]));
  for (simdjson::dom::element t : doc["tx"].get_array()) {
    TxExpect e;
    e.signing_hash = std::string(std::string_view(t["signingHash"]));
    e.raw = std::string(std::string_view(t["raw"]));
    e.hash = std::string(std::string_view(t["hash"]));
    e.r = std::string(std::string_view(t["r"]));
    e.s = std::string(std::string_view(t["s"]));
    e.y_parity = static_cast<int>(std::int64_t(t["yParity"]));
    v.tx[std::string(std::string_view(t["name"]))] = e;
  }
  for (simdjson::dom::element a : doc["abi"].get_array()) {
    v.abi[std::string(std::string_view(a["name"]))] = std::string(std::string_view(a["encoded"]));
  }
  return v;
}

inline EthersVectors checked_in_vectors() {
  return parse_ethers_vectors(read_text(source_dir() + "/tests/executor/ethers_vectors.json"));
}

}  // namespace torq::executor::test
