// What the control plane accepts from a node and from its own files about pools: strict ABI word
// decoding (abi_word.hpp), PairCreated/PoolCreated logs, receipts, fee history, the pool cache
// and the pool list. A value a deployed pool cannot have (a tick spacing of 0 or 2^32 + 60, a
// fee of 100 %, 300 decimals, an address word with high bits set) is refused with a reason or
// nullopt instead of being truncated into a plausible-looking pool.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "torq/control/abi_word.hpp"
#include "torq/control/chain_client.hpp"
#include "torq/control/pool_list.hpp"
#include "torq/control/pool_sync.hpp"

using namespace torq;
using namespace torq::control;
using num::U256;
namespace wabi = torq::control::abi;  // (a bare `abi` also names the C++ runtime's namespace)

namespace {

constexpr std::uint64_t kOnes = ~std::uint64_t{0};

U256 neg(std::int64_t v) {  // sign-extended two's complement, as the ABI encodes intN
  return U256::from_limbs(static_cast<std::uint64_t>(v), kOnes, kOnes, kOnes);
}

std::string word_hex(const U256& w) {
  static constexpr char d[] = "0123456789abcdef";
  std::string s;
  for (int i = 3; i >= 0; --i)
    for (int b = 60; b >= 0; b -= 4) s += d[(w.limb[i] >> b) & 15];
  return s;
}

std::string address_word(std::uint8_t fill) {
  return std::string(24, '0') + std::string(40, "0123456789abcdef"[fill & 15]);
}

constexpr protocol::Address kFactory{0xfa, 0xc7};

// A PoolCreated log of kFactory with the given fee topic and tickSpacing data word.
std::string pool_created(const std::string& fee_topic, const std::string& spacing_word,
                         const std::string& token0_topic = address_word(1), const std::string& pool_word = address_word(3)) {
  return R"({"address":")" + protocol::format_address(kFactory) + R"(","topics":["0x783cca1c0412dd0d695e784568c96da2e9c22ff989357a2e8b1d9b2b4e6b7118","0x)" +
         token0_topic + R"(","0x)" + address_word(2) + R"(","0x)" + fee_topic + R"("],"data":"0x)" + spacing_word +
         pool_word + R"(","blockNumber":"0x2a"})";
}

std::filesystem::path temp_file(const std::string& name, const std::string& text) {
  const auto p = std::filesystem::temp_directory_path() / ("torq-node-answers-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(p) << text;
  return p;
}

}  // namespace

TEST(AbiWord, ShouldAcceptOnlyTheEncodingOfEachType) {
  // int24: sign-extended over all 256 bits.
  EXPECT_EQ(wabi::as_int(U256(60), 24), 60);
  EXPECT_EQ(wabi::as_int(neg(-60), 24), -60);
  EXPECT_EQ(wabi::as_int(U256(0x7FFFFF), 24), 0x7FFFFF);
  EXPECT_EQ(wabi::as_int(neg(-0x800000), 24), -0x800000);
  EXPECT_FALSE(wabi::as_int(U256(0x800000), 24)) << "2^23 is not an int24";
  EXPECT_FALSE(wabi::as_int(U256::from_limbs(60, 1, 0, 0), 24)) << "high limb set";
  EXPECT_FALSE(wabi::as_int(U256((std::uint64_t{1} << 32) + 60), 24)) << "2^32 + 60 (was read as 60)";
  EXPECT_FALSE(wabi::as_int(U256::from_limbs(static_cast<std::uint64_t>(-60), kOnes, kOnes, 0), 24)) << "sign fill cut short";
  EXPECT_EQ(wabi::as_int(neg(-1), 64), -1);
  // uintN, uint128, int128.
  EXPECT_EQ(wabi::as_uint(U256(999'999), 24), 999'999u);
  EXPECT_FALSE(wabi::as_uint(U256(1u << 24), 24));
  EXPECT_FALSE(wabi::as_uint(neg(-1), 24));
  EXPECT_TRUE(wabi::as_uint128(U256::from_limbs(kOnes, kOnes, 0, 0)));
  EXPECT_FALSE(wabi::as_uint128(U256::from_limbs(0, 0, 1, 0)));
  EXPECT_EQ(wabi::as_int128(neg(-5)), static_cast<__int128>(-5));
  EXPECT_FALSE(wabi::as_int128(U256::from_limbs(5, 0, 0, kOnes)));
  EXPECT_TRUE(wabi::fits_unsigned(U256::from_limbs(kOnes, (std::uint64_t{1} << 48) - 1, 0, 0), 112));
  EXPECT_FALSE(wabi::fits_unsigned(U256::from_limbs(0, std::uint64_t{1} << 48, 0, 0), 112));
  // address: 160 bits, big-endian.
  const auto a = wabi::as_address(U256::from_limbs(0x1122334455667788ULL, 0x99aabbccddeeff00ULL, 0xdeadbeefULL, 0));
  ASSERT_TRUE(a);
  EXPECT_EQ(protocol::format_address(*a).substr(2, 8), "deadbeef");
  EXPECT_FALSE(wabi::as_address(U256::from_limbs(1, 0, std::uint64_t{1} << 32, 0)));
  // Pool parameters: the factory's and TickMath's bounds.
  EXPECT_EQ(wabi::as_tick_spacing(U256(1)), 1);
  EXPECT_EQ(wabi::as_tick_spacing(U256(16383)), 16383);
  EXPECT_FALSE(wabi::as_tick_spacing(U256(0)));
  EXPECT_FALSE(wabi::as_tick_spacing(U256(16384)));
  EXPECT_FALSE(wabi::as_tick_spacing(neg(-60)));
  EXPECT_EQ(wabi::as_tick(neg(-887272)), -887272);
  EXPECT_FALSE(wabi::as_tick(U256(887273)));
  EXPECT_FALSE(wabi::as_fee_ppm(U256(1'000'000)));
  EXPECT_EQ(wabi::as_fee_ppm(U256(3000)), 3000u);
}

TEST(CreationLog, ShouldParseAPoolCreatedLogAndRefuseFieldsNoFactoryEmits) {
  const FactoryConfig factories[] = {{protocol::Venue::UniswapV3, kFactory, 0, 0}};
  const auto ok = parse_creation_log(pool_created(word_hex(U256(500)), word_hex(U256(10))), factories);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->fee_ppm, 500u);
  EXPECT_EQ(ok->tick_spacing, 10);
  EXPECT_EQ(ok->created_block, 42u);
  EXPECT_EQ(protocol::format_address(ok->address), "0x" + std::string(40, '3'));
  EXPECT_EQ(protocol::format_address(ok->token0), "0x" + std::string(40, '1'));

  EXPECT_FALSE(parse_creation_log(pool_created(word_hex(U256(500)), word_hex(U256(0))), factories)) << "spacing 0";
  EXPECT_FALSE(parse_creation_log(pool_created(word_hex(U256(500)), word_hex(neg(-10))), factories)) << "negative spacing";
  EXPECT_FALSE(parse_creation_log(pool_created(word_hex(U256(500)), word_hex(U256((std::uint64_t{1} << 32) + 10))), factories))
      << "spacing 2^32 + 10";
  EXPECT_FALSE(parse_creation_log(pool_created(word_hex(U256(1'000'000)), word_hex(U256(10))), factories)) << "fee 100%";
  EXPECT_FALSE(parse_creation_log(pool_created(word_hex(U256(500)), word_hex(U256(10)), "ff" + address_word(1).substr(2)), factories))
      << "token topic with high bytes";
  EXPECT_FALSE(parse_creation_log(pool_created(word_hex(U256(500)), word_hex(U256(10)), address_word(1), "01" + address_word(3).substr(2)),
                                  factories))
      << "pool word with high bytes";
  const FactoryConfig other[] = {{protocol::Venue::UniswapV3, protocol::Address{0x01}, 0, 0}};
  EXPECT_FALSE(parse_creation_log(pool_created(word_hex(U256(500)), word_hex(U256(10))), other)) << "not a configured factory";
}

TEST(Receipt, ShouldNeedABlockAndABinaryStatus) {
  const std::array<std::uint8_t, 32> tx{0xaa};
  const std::string hash = "\"0x" + std::string(64, 'b') + "\"";
  const auto r = parse_receipt(R"({"blockNumber":"0x10","blockHash":)" + hash +
                                   R"(,"status":"0x1","gasUsed":"0x5208","effectiveGasPrice":"0x3b9aca00"})",
                               tx);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->block_number, 16u);
  EXPECT_TRUE(r->status);
  EXPECT_EQ(r->gas_used, 21000u);
  EXPECT_EQ(r->effective_gas_price, U256(1'000'000'000));
  EXPECT_EQ(r->tx_hash, tx);
  EXPECT_EQ(r->block_hash[31], 0xbb);
  EXPECT_FALSE(parse_receipt(R"({"blockNumber":"0x10","status":"0x1","gasUsed":"0x5208"})", tx)) << "no block hash";
  EXPECT_FALSE(parse_receipt(R"({"blockNumber":"0x10","blockHash":)" + hash + R"(,"status":"0x2","gasUsed":"0x5208"})", tx))
      << "status 2";
  EXPECT_FALSE(parse_receipt(R"({"blockHash":)" + hash + R"(,"status":"0x1","gasUsed":"0x5208"})", tx)) << "pending";
  EXPECT_FALSE(parse_receipt("[1,2", tx));
}

TEST(FeeHistory, ShouldRefuseRowsWithUnreadableEntries) {
  const auto h = parse_fee_history(
      R"({"oldestBlock":"0x10","baseFeePerGas":["0x1","0x2"],"gasUsedRatio":[0.5,1],"reward":[["0x3","0x4"]]})");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->oldest_block, 16u);
  ASSERT_EQ(h->base_fee_per_gas.size(), 2u);
  ASSERT_EQ(h->reward.size(), 1u);
  EXPECT_EQ(h->reward[0].size(), 2u);
  EXPECT_FALSE(parse_fee_history(R"({"oldestBlock":"0x10","reward":[["0x3","zz"]]})")) << "a shortened row shifts percentiles";
  EXPECT_FALSE(parse_fee_history(R"({"oldestBlock":"0x10","baseFeePerGas":["0x1",7]})"));
  EXPECT_FALSE(parse_fee_history(R"({"baseFeePerGas":["0x1"]})"));
}

TEST(PoolCache, ShouldRoundTripAndRefuseValuesNoPoolHas) {
  PoolCache c;
  c.chain_id = 137;
  c.discovered_through = 1234;
  PoolMeta v2;
  v2.venue = protocol::Venue::QuickSwapV2;
  v2.address = protocol::Address{0x11};
  v2.token0 = protocol::Address{0x01};
  v2.token1 = protocol::Address{0x02};
  v2.decimals0 = 6;
  v2.decimals1 = 18;
  v2.symbol0 = "US\"DC\x01";
  v2.symbol1 = "W\xc3\xa9TH";  // valid UTF-8 kept
  v2.fee_ppm = 3000;
  PoolMeta v3 = v2;
  v3.venue = protocol::Venue::UniswapV3;
  v3.address = protocol::Address{0x12};
  v3.symbol1 = "bad\xff";  // not UTF-8: the high byte is dropped, the file stays readable
  v3.fee_ppm = 500;
  v3.tick_spacing = 10;
  v3.created_block = 99;
  c.pools = {v2, v3};
  const std::string text = format_pool_cache(c);
  const auto back = parse_pool_cache(text);
  ASSERT_TRUE(back) << text;
  EXPECT_EQ(back->chain_id, 137u);
  EXPECT_EQ(back->discovered_through, 1234u);
  ASSERT_EQ(back->pools.size(), 2u);
  EXPECT_EQ(back->pools[0].symbol0, "USDC");
  EXPECT_EQ(back->pools[0].symbol1, "W\xc3\xa9TH");
  EXPECT_EQ(back->pools[1].symbol1, "bad");
  EXPECT_EQ(back->pools[1].tick_spacing, 10);
  EXPECT_EQ(back->pools[1].created_block, 99u);
  EXPECT_EQ(back->pools[1].address, v3.address);

  // The same file via save/load.
  const auto path = std::filesystem::temp_directory_path() / ("torq-pool-cache-" + std::to_string(::getpid()) + ".json");
  ASSERT_TRUE(save_pool_cache(path.string(), c));
  const auto loaded = load_pool_cache(path.string());
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->pools.size(), 2u);
  std::filesystem::remove(path);
  EXPECT_FALSE(load_pool_cache(path.string())) << "missing file";

  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    const auto at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return t.replace(at, from.size(), to);
  };
  EXPECT_FALSE(parse_pool_cache(with("\"decimals0\":6", "\"decimals0\":300"))) << "decimals 300 (was stored as 44)";
  EXPECT_FALSE(parse_pool_cache(with("\"fee\":3000", "\"fee\":1000000"))) << "fee 100%";
  EXPECT_FALSE(parse_pool_cache(with("\"fee\":3000", "\"fee\":4294970296"))) << "fee 2^32 + 3000 (was stored as 3000)";
  EXPECT_FALSE(parse_pool_cache(with("\"tickSpacing\":10", "\"tickSpacing\":0"))) << "V3 spacing 0";
  EXPECT_FALSE(parse_pool_cache(with("\"tickSpacing\":10", "\"tickSpacing\":4294967306"))) << "spacing 2^32 + 10";
  EXPECT_FALSE(parse_pool_cache(with("\"tickSpacing\":0", "\"tickSpacing\":60"))) << "V2 with a spacing";
  EXPECT_FALSE(parse_pool_cache(with("\"schema\":\"torq-pool-cache/1\"", "\"schema\":\"torq-pool-cache/2\"")));
  EXPECT_FALSE(parse_pool_cache(text.substr(0, text.size() / 2))) << "truncated";
}

TEST(PoolList, ShouldNameThePoolWhoseParametersNoPoolHas) {
  const std::string tok = R"({"address":"0x)" + std::string(40, '1') + R"(","decimals":6,"symbol":"A"},{"address":"0x)" +
                          std::string(40, '2') + R"(","decimals":18,"symbol":"B"})";
  auto list = [&](const std::string& pool_fields, const std::string& tokens) {
    return R"({"chainId":137,"tokens":[)" + tokens + R"(],"pools":[{"address":"0x)" + std::string(40, '3') +
           R"(","token0":"0x)" + std::string(40, '1') + R"(","token1":"0x)" + std::string(40, '2') + R"(",)" + pool_fields + "}]}";
  };
  auto error_of = [&](const std::string& text) -> std::string {
    const auto p = temp_file("list.json", text);
    try {
      (void)load_pool_list(p.string());
    } catch (const std::runtime_error& e) {
      std::filesystem::remove(p);
      return e.what();
    }
    std::filesystem::remove(p);
    return "";
  };
  EXPECT_EQ(error_of(list(R"("venue":"uniswap-v3","fee":500,"tickSpacing":10)", tok)), "");
  EXPECT_EQ(error_of(list(R"("venue":"quickswap","fee":3000,"tickSpacing":null)", tok)), "");
  EXPECT_EQ(error_of(list(R"("venue":"quickswap","fee":3000)", tok)), "");
  EXPECT_NE(error_of(list(R"("venue":"uniswap-v3","fee":500)", tok)).find("tickSpacing missing"), std::string::npos);
  EXPECT_NE(error_of(list(R"("venue":"uniswap-v3","fee":500,"tickSpacing":0)", tok)).find("tickSpacing 0 is not 1..16383"),
            std::string::npos);
  EXPECT_NE(error_of(list(R"("venue":"uniswap-v3","fee":500,"tickSpacing":4294967356)", tok)).find("is not 1..16383"),
            std::string::npos);
  EXPECT_NE(error_of(list(R"("venue":"quickswap","fee":3000,"tickSpacing":60)", tok)).find("a V2 pool has no tickSpacing"),
            std::string::npos);
  EXPECT_NE(error_of(list(R"("venue":"quickswap","fee":4294970296)", tok)).find("fee 4294970296 ppm"), std::string::npos);
  const std::string bad_tok = R"({"address":"0x)" + std::string(40, '1') + R"(","decimals":300,"symbol":"A"})";
  const std::string e = error_of(list(R"("venue":"quickswap","fee":3000)", bad_tok));
  EXPECT_NE(e.find("decimals 300 is not 0..255"), std::string::npos) << e;
  EXPECT_NE(e.find("0x" + std::string(40, '1')), std::string::npos) << e;
  // Algebra (QuickSwap V3): snapshot_pools cannot read it, so the list is refused, naming the pool.
  const std::string algebra = error_of(list(R"("venue":"quickswap-v3","fee":500,"tickSpacing":60)", tok));
  EXPECT_NE(algebra.find("Algebra"), std::string::npos) << algebra;
  EXPECT_NE(algebra.find("0x" + std::string(40, '3')), std::string::npos) << algebra;
}

// Discovery never registers an Algebra pool (from a factory log or from the pool cache).
TEST(PoolList, ShouldNeverRegisterADiscoveredAlgebraPool) {
  protocol::InstrumentRegistry reg;
  PoolMeta m;
  m.venue = protocol::Venue::QuickSwapV3;
  m.address[19] = 3;
  m.token0[19] = 1;
  m.token1[19] = 2;
  m.decimals0 = m.decimals1 = 18;
  m.fee_ppm = 500;
  m.tick_spacing = 60;
  PoolMeta u = m;
  u.venue = protocol::Venue::UniswapV3;
  u.address[19] = 4;
  const auto ids = register_discovered({m, u}, reg, protocol::Chain::Polygon);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_FALSE(ids[0].valid());
  EXPECT_TRUE(ids[1].valid());
  EXPECT_FALSE(reg.find(protocol::Chain::Polygon, m.address).has_value());
  FactoryConfig f;
  f.venue = protocol::Venue::QuickSwapV3;
  f.address[19] = 9;
  const std::string log = R"({"address":"0x)" + std::string(38, '0') + R"(09","topics":[")" +
                          to_hex_bytes(topics::kV3PoolCreated) + R"(","0x)" + std::string(62, '0') + R"(01","0x)" +
                          std::string(62, '0') + R"(02","0x)" + std::string(58, '0') + R"(0001f4"],"data":"0x)" +
                          std::string(62, '0') + "3c" + std::string(62, '0') + R"(03","blockNumber":"0x10"})";
  EXPECT_FALSE(parse_creation_log(log, std::span<const FactoryConfig>(&f, 1)).has_value());
  f.venue = protocol::Venue::UniswapV3;
  EXPECT_TRUE(parse_creation_log(log, std::span<const FactoryConfig>(&f, 1)).has_value()) << "the same log of a Uniswap V3 factory";
}

// Audit: ws://[::1]:8545 became host "[::1]:8545", port 80.
TEST(Endpoint, ShouldParseBracketedIpv6Hosts) {
  auto e = parse_endpoint("ws://[::1]:8545/rpc");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, "8545");
  EXPECT_EQ(e->target, "/rpc");
  EXPECT_TRUE(e->websocket);
  EXPECT_TRUE(is_loopback_host(e->host));
  e = parse_endpoint("https://[2001:db8::5]");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->host, "2001:db8::5");
  EXPECT_EQ(e->port, "443");
  EXPECT_FALSE(parse_endpoint("http://[::1:8545").has_value()) << "unclosed bracket";
  EXPECT_FALSE(parse_endpoint("http://[::1]x").has_value());
  EXPECT_FALSE(parse_endpoint("http://[::1]:").has_value());
  e = parse_endpoint("http://127.0.0.1:8545");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, "8545");
}
