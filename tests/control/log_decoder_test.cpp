// LogDecoder and EventPublisher against JSON captured from anvil (chain/fixture.mjs + driver,
// tests/control/tools/capture.mjs): every notification as the node sent it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "torq/control/event_publisher.hpp"
#include "torq/control/log_decoder.hpp"
#include "torq/strategy/tick_math.hpp"
#include "torq/control/pool_list.hpp"

using namespace torq;
using namespace torq::control;
using protocol::TlvType;

namespace {

std::string data_path(const std::string& name) {
  const char* src = std::getenv("TORQ_SOURCE_DIR");
  return std::string(src ? src : ".") + "/tests/control/data/" + name;
}
std::string read_file(const std::string& name) {
  std::ifstream in(data_path(name));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
std::vector<std::string> read_lines(const std::string& name) {
  std::ifstream in(data_path(name));
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}
// The 64-hex-digit ABI word i of a log's data, taken from the raw text (independent of the decoder).
num::U256 word_of(const std::string& json, int i) {
  const auto pos = json.find("\"data\":\"0x");
  return *num::parse_u256("0x" + json.substr(pos + 10 + 64 * static_cast<std::size_t>(i), 64));
}
std::uint64_t quantity_of(const std::string& json, const std::string& key) {
  const auto pos = json.find("\"" + key + "\":\"0x");
  return std::stoull(json.substr(pos + key.size() + 6, 16), nullptr, 16);
}
std::string first_with(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& l : lines)
    if (l.find(needle) != std::string::npos) return l;
  return {};
}
void replace_once(std::string& s, const std::string& from, const std::string& to) {
  const auto p = s.find(from);
  ASSERT_NE(p, std::string::npos) << from;
  s.replace(p, from.size(), to);
}

const std::string kSync = "0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1";
const std::string kV3Swap = "0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67";
const std::string kV3Mint = "0x7a53080ba414158be7ec69b987b5fb7d07dee101fe85488f0853ae16239d0bde";

class LogDecoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    list_ = load_pool_list(data_path("anvil_manifest.json"));
    ids_ = register_pools(list_, registry_, protocol::Chain::Polygon);
    lines_ = read_lines("anvil_ws_messages.jsonl");
    ASSERT_GT(lines_.size(), 100u);
  }
  PoolList list_;
  protocol::InstrumentRegistry registry_;
  std::vector<protocol::InstrumentId> ids_;
  std::vector<std::string> lines_;
};

TEST_F(LogDecoderTest, ShouldDecodeEveryCapturedPoolEventAndCountForeignTopics) {
  LogDecoder dec(registry_, protocol::Chain::Polygon);
  std::size_t logs = 0, heads = 0, responses = 0, unknown_topic = 0, expected_logs = 0;
  for (const auto& l : lines_) {
    const bool is_pool_event = l.find("\"topics\"") != std::string::npos &&
                               (l.find("\"topics\":[\"0x1c411e9a") != std::string::npos ||
                                l.find("\"topics\":[\"0xd78ad95f") != std::string::npos ||
                                l.find("\"topics\":[\"0x4c209b5f") != std::string::npos ||
                                l.find("\"topics\":[\"0xdccd412f") != std::string::npos ||
                                l.find("\"topics\":[\"0xc42079f9") != std::string::npos ||
                                l.find("\"topics\":[\"0x7a53080b") != std::string::npos ||
                                l.find("\"topics\":[\"0x0c396cd9") != std::string::npos);
    expected_logs += is_pool_event;
    MessageKind kind;
    const DecodeError e = dec.decode_message(l, kind);
    if (e == DecodeError::UnknownTopic) ++unknown_topic;
    else ASSERT_EQ(e, DecodeError::Ok) << to_string(e) << " in " << l.substr(0, 200);
    logs += kind == MessageKind::Log;
    heads += kind == MessageKind::NewHead;
    responses += kind == MessageKind::Response;
    if (kind == MessageKind::Log) {
      const auto ctx = dec.log().ctx();
      EXPECT_EQ(ctx.block_number, quantity_of(l, "blockNumber"));
      EXPECT_EQ(ctx.log_index, quantity_of(l, "logIndex"));
      EXPECT_EQ(ctx.tx_index, quantity_of(l, "transactionIndex"));
      const auto pool = registry_.pool(protocol::InstrumentId(ctx.pool));
      ASSERT_NE(pool, nullptr);
      EXPECT_NE(l.find(protocol::format_address(pool->address)), std::string::npos);
      EXPECT_FALSE(dec.log().removed);
    }
  }
  EXPECT_EQ(logs, expected_logs);
  EXPECT_GT(logs, 200u);
  EXPECT_EQ(unknown_topic, 300u - expected_logs);  // LP Transfer, V3 Collect: counted, not decoded
  EXPECT_EQ(dec.errors(DecodeError::UnknownTopic), unknown_topic);
  EXPECT_EQ(heads, 30u);
  EXPECT_EQ(responses, 2u);
}

TEST_F(LogDecoderTest, ShouldCarryV2SyncReservesAndContextExactly) {
  LogDecoder dec(registry_, protocol::Chain::Polygon);
  const std::string l = first_with(lines_, "\"topics\":[\"" + kSync);
  MessageKind kind;
  ASSERT_EQ(dec.decode_message(l, kind), DecodeError::Ok);
  ASSERT_EQ(kind, MessageKind::Log);
  ASSERT_EQ(dec.log().type, TlvType::V2Sync);
  const auto s = dec.log().as<protocol::V2Sync>();
  EXPECT_EQ(s.reserve0, word_of(l, 0));
  EXPECT_EQ(s.reserve1, word_of(l, 1));
  const auto hpos = l.find("\"blockHash\":\"0x");
  std::uint64_t prefix_be = std::stoull(l.substr(hpos + 15, 16), nullptr, 16);
  EXPECT_EQ(s.ctx.block_hash_prefix, __builtin_bswap64(prefix_be));  // raw copy of hash[0..8]
}

TEST_F(LogDecoderTest, ShouldDecodeV3SwapSignedAmountsPriceLiquidityAndTick) {
  LogDecoder dec(registry_, protocol::Chain::Polygon);
  const std::string l = first_with(lines_, "\"topics\":[\"" + kV3Swap);
  MessageKind kind;
  ASSERT_EQ(dec.decode_message(l, kind), DecodeError::Ok);
  ASSERT_EQ(dec.log().type, TlvType::V3Swap);
  const auto s = dec.log().as<protocol::V3Swap>();
  EXPECT_EQ(s.amount0.bits(), word_of(l, 0));
  EXPECT_EQ(s.amount1.bits(), word_of(l, 1));
  EXPECT_NE(s.amount0.is_negative(), s.amount1.is_negative());  // one side in, the other out
  EXPECT_EQ(s.sqrt_price_x96, word_of(l, 2));
  EXPECT_EQ(num::U256::from_u128(s.liquidity.value()), word_of(l, 3));
  EXPECT_EQ(num::I256(s.tick).bits(), word_of(l, 4));
}

TEST_F(LogDecoderTest, ShouldReadV3MintTicksFromIndexedTopics) {
  LogDecoder dec(registry_, protocol::Chain::Polygon);
  const std::string l = first_with(lines_, "\"topics\":[\"" + kV3Mint);
  MessageKind kind;
  ASSERT_EQ(dec.decode_message(l, kind), DecodeError::Ok);
  ASSERT_EQ(dec.log().type, TlvType::V3Mint);
  const auto m = dec.log().as<protocol::V3Mint>();
  EXPECT_LT(m.tick_lower, m.tick_upper);
  EXPECT_EQ(num::U256::from_u128(m.liquidity.value()), word_of(l, 1));  // word 0 is `sender`
  EXPECT_EQ(m.amount0, word_of(l, 2));
  EXPECT_EQ(m.amount1, word_of(l, 3));
}

TEST_F(LogDecoderTest, ShouldFlagRemovedLogsFromAReorg) {
  LogDecoder dec(registry_, protocol::Chain::Polygon);
  std::string l = first_with(lines_, "\"topics\":[\"" + kSync);
  MessageKind kind;
  ASSERT_EQ(dec.decode_message(l, kind), DecodeError::Ok);
  const auto live = dec.log().ctx();
  replace_once(l, "\"removed\":false", "\"removed\":true");
  ASSERT_EQ(dec.decode_message(l, kind), DecodeError::Ok);
  EXPECT_TRUE(dec.log().removed);
  EXPECT_EQ(dec.log().ctx(), live);
}

TEST_F(LogDecoderTest, ShouldDecodeNewHeadIntoBlockHeader) {
  LogDecoder dec(registry_, protocol::Chain::Polygon);
  const std::string l = first_with(lines_, "\"parentHash\"");
  MessageKind kind;
  ASSERT_EQ(dec.decode_message(l, kind), DecodeError::Ok);
  ASSERT_EQ(kind, MessageKind::NewHead);
  EXPECT_EQ(dec.head().number, quantity_of(l, "number"));
  EXPECT_EQ(dec.head().timestamp_s, quantity_of(l, "timestamp"));
  EXPECT_EQ(dec.head().gas_limit, quantity_of(l, "gasLimit"));
  EXPECT_EQ(dec.head().base_fee_per_gas, num::U256(quantity_of(l, "baseFeePerGas")));
  EXPECT_EQ(dec.head().hash[0], std::stoul(l.substr(l.find("\"hash\":\"0x") + 10, 2), nullptr, 16));
}

TEST_F(LogDecoderTest, ShouldRejectLogsOfUnregisteredPools) {
  protocol::InstrumentRegistry empty;
  LogDecoder dec(empty, protocol::Chain::Polygon);
  MessageKind kind;
  EXPECT_EQ(dec.decode_message(first_with(lines_, "\"topics\":[\"" + kSync), kind), DecodeError::UnknownPool);
  EXPECT_EQ(kind, MessageKind::None);
  EXPECT_EQ(dec.errors(DecodeError::UnknownPool), 1u);
}

TEST_F(LogDecoderTest, ShouldRejectV3EventFromAPoolRegisteredAsV2) {
  // Register every manifest pool as a V2 venue: a V3 Swap then cannot be a valid event.
  PoolList all_v2 = list_;
  for (auto& p : all_v2.pools) p.venue = protocol::Venue::QuickSwapV2, p.tick_spacing = 0;
  protocol::InstrumentRegistry reg;
  (void)register_pools(all_v2, reg, protocol::Chain::Polygon);
  LogDecoder dec(reg, protocol::Chain::Polygon);
  MessageKind kind;
  EXPECT_EQ(dec.decode_message(first_with(lines_, "\"topics\":[\"" + kV3Swap), kind), DecodeError::PoolKindMismatch);
}

TEST_F(LogDecoderTest, ShouldReturnErrorCodesForMalformedInputWithoutCrashing) {
  LogDecoder dec(registry_, protocol::Chain::Polygon, 4096);
  const std::string good = first_with(lines_, "\"topics\":[\"" + kSync);
  MessageKind kind;
  EXPECT_EQ(dec.decode_message(good.substr(0, good.size() / 2), kind), DecodeError::BadJson);
  EXPECT_EQ(dec.decode_message("", kind), DecodeError::BadJson);
  EXPECT_EQ(dec.decode_message("[1,2,3]", kind), DecodeError::BadJson);
  EXPECT_EQ(dec.decode_message("{\"jsonrpc\":\"2.0\"}", kind), DecodeError::NotANotification);
  EXPECT_EQ(dec.decode_message(std::string(5000, ' '), kind), DecodeError::TooLarge);

  std::string wrong_type = good;
  replace_once(wrong_type, "\"logIndex\":\"", "\"logIndex\":7,\"x\":\"");
  EXPECT_EQ(dec.decode_message(wrong_type, kind), DecodeError::BadJson);

  std::string pending = good;
  const auto p = pending.find("\"blockNumber\":\"");
  pending.replace(p, pending.find('"', p + 15) + 1 - p, "\"blockNumber\":null");
  EXPECT_EQ(dec.decode_message(pending, kind), DecodeError::PendingLog);

  std::string short_data = good;
  replace_once(short_data, "\"data\":\"0x", "\"data\":\"0x" + std::string(0, '0'));
  short_data.erase(short_data.find("\"data\":\"0x") + 10, 64);  // one word missing
  EXPECT_EQ(dec.decode_message(short_data, kind), DecodeError::BadAbiData);

  std::string bad_hex = good;
  bad_hex[bad_hex.find("\"data\":\"0x") + 12] = 'g';
  EXPECT_EQ(dec.decode_message(bad_hex, kind), DecodeError::BadHex);

  std::string no_hash = good;
  replace_once(no_hash, "\"blockHash\"", "\"blockHashX\"");
  EXPECT_EQ(dec.decode_message(no_hash, kind), DecodeError::MissingField);
  EXPECT_EQ(dec.total_errors(), 10u);
  // The decoder is still usable after every kind of error.
  EXPECT_EQ(dec.decode_message(good, kind), DecodeError::Ok);
}

TEST_F(LogDecoderTest, ShouldRejectValuesOutsideTheirSolidityTypes) {
  LogDecoder dec(registry_, protocol::Chain::Polygon);
  MessageKind kind;
  std::string sync = first_with(lines_, "\"topics\":[\"" + kSync);
  sync.replace(sync.find("\"data\":\"0x") + 10, 1, "1");  // reserve0 >= 2^252: not a uint112
  EXPECT_EQ(dec.decode_message(sync, kind), DecodeError::BadAbiData);
  std::string swap = first_with(lines_, "\"topics\":[\"" + kV3Swap);
  const auto tick_word = swap.find("\"data\":\"0x") + 10 + 64 * 4;
  swap.replace(tick_word, 64, std::string(58, '0') + "800000");  // 2^23: outside int24
  EXPECT_EQ(dec.decode_message(swap, kind), DecodeError::BadAbiData);
}

// A V3 Swap's tick must be the tick its sqrtPrice lies in (the search prices from sqrtPrice and
// crosses ticks from `tick`): a node's inconsistent pair is refused, the pool's own boundary case
// (price exactly on tick t + 1 after a swap towards token1, tick t) is accepted.
TEST_F(LogDecoderTest, ShouldRejectAV3SwapWhoseTickIsNotTheTickOfItsPrice) {
  LogDecoder dec(registry_, protocol::Chain::Polygon);
  MessageKind kind;
  const std::string l = first_with(lines_, "\"topics\":[\"" + kV3Swap);
  ASSERT_EQ(dec.decode_message(l, kind), DecodeError::Ok);
  const std::int32_t t = dec.log().as<protocol::V3Swap>().tick;
  const auto data = l.find("\"data\":\"0x") + 10;
  const auto word = [](const num::U256& v) {
    const std::string h = v.to_hex().substr(2);
    return std::string(64 - h.size(), '0') + h;
  };
  const auto with = [&](int i, const num::U256& v) {
    std::string m = l;
    m.replace(data + 64 * static_cast<std::size_t>(i), 64, word(v));
    return m;
  };
  EXPECT_EQ(dec.decode_message(with(4, num::I256(t + 2).bits()), kind), DecodeError::BadAbiData) << "tick two above its price";
  EXPECT_EQ(dec.decode_message(with(4, num::I256(t - 1).bits()), kind), DecodeError::BadAbiData) << "tick one below its price";
  const num::U256 upper = *strategy::get_sqrt_ratio_at_tick(t + 1);
  EXPECT_EQ(dec.decode_message(with(2, upper), kind), DecodeError::Ok) << "price on tick t + 1 with tick t";
  EXPECT_EQ(dec.decode_message(with(2, upper + num::U256(1)), kind), DecodeError::BadAbiData);
  EXPECT_EQ(dec.decode_message(with(2, *strategy::get_sqrt_ratio_at_tick(t)), kind), DecodeError::Ok);
  EXPECT_EQ(dec.decode_message(with(2, num::U256(0)), kind), DecodeError::BadAbiData) << "price 0";
  // The function itself at the ends of TickMath's domain.
  EXPECT_TRUE(v3_tick_matches_price(strategy::kMinSqrtRatio, strategy::kMinTick));
  EXPECT_TRUE(v3_tick_matches_price(strategy::kMaxSqrtRatio - num::U256(1), strategy::kMaxTick - 1));
  EXPECT_FALSE(v3_tick_matches_price(strategy::kMaxSqrtRatio, strategy::kMaxTick));
  EXPECT_FALSE(v3_tick_matches_price(strategy::kMinSqrtRatio, strategy::kMinTick - 1));
}

TEST_F(LogDecoderTest, ShouldDecodeEthGetLogsResultIncludingV3Initialize) {
  LogDecoder dec(registry_, protocol::Chain::Polygon, 1024);  // smaller than the response: grows
  std::vector<LogEvent> got;
  ASSERT_EQ(dec.decode_log_array(read_file("anvil_eth_getLogs.json"), [&](const LogEvent& e) { got.push_back(e); }),
            DecodeError::Ok);
  EXPECT_GT(got.size(), 3u);
  for (std::size_t i = 1; i < got.size(); ++i) {  // node order: block, then log index
    const auto a = got[i - 1].ctx(), b = got[i].ctx();
    EXPECT_TRUE(a.block_number < b.block_number || (a.block_number == b.block_number && a.log_index < b.log_index));
  }
  std::vector<LogEvent> init;
  ASSERT_EQ(dec.decode_log_array(read_file("anvil_eth_getLogs_initialize.json"), [&](const LogEvent& e) { init.push_back(e); }),
            DecodeError::Ok);
  ASSERT_EQ(init.size(), 6u);  // one per V3 pool of the fixture
  for (const auto& e : init) {
    ASSERT_EQ(e.type, TlvType::V3Initialize);
    const auto v = e.as<protocol::V3Initialize>();
    EXPECT_TRUE(v.sqrt_price_x96.fits_u160());
    EXPECT_FALSE(v.sqrt_price_x96.is_zero());
  }
}

TEST_F(LogDecoderTest, ShouldReportRpcErrorOfAFailedGetLogs) {
  LogDecoder dec(registry_, protocol::Chain::Polygon);
  const std::string err =
      R"({"jsonrpc":"2.0","id":4,"error":{"code":-32005,"message":"query returned more than 10000 results"}})";
  EXPECT_EQ(dec.decode_log_array(err, [](const LogEvent&) {}), DecodeError::RpcError);
  EXPECT_EQ(dec.rpc_error_code(), -32005);
  EXPECT_EQ(dec.rpc_error_message(), "query returned more than 10000 results");
}

// Audit: an error answer to eth_subscribe was returned as an ordinary Response (and dropped).
TEST_F(LogDecoderTest, ShouldReportRpcErrorOfAFailedSubscribe) {
  LogDecoder dec(registry_, protocol::Chain::Polygon);
  MessageKind kind = MessageKind::None;
  EXPECT_EQ(dec.decode_message(R"({"jsonrpc":"2.0","id":2,"error":{"code":-32005,"message":"filter too large"}})", kind),
            DecodeError::RpcError);
  EXPECT_EQ(kind, MessageKind::None);
  EXPECT_EQ(dec.rpc_error_code(), -32005);
  EXPECT_EQ(dec.rpc_error_message(), "filter too large");
  EXPECT_EQ(dec.errors(DecodeError::RpcError), 1u);
  EXPECT_EQ(dec.decode_message(R"({"jsonrpc":"2.0","id":1,"result":"0xabc"})", kind), DecodeError::Ok);
  EXPECT_EQ(kind, MessageKind::Response);
}

// Audit: block numbers near 2^64 from a hostile node hung the session's loops.
TEST_F(LogDecoderTest, ShouldRefuseBlockNumbersAbove2To63) {
  LogDecoder dec(registry_, protocol::Chain::Polygon);
  std::string l = first_with(lines_, "\"topics\":[\"" + kSync);
  const auto p = l.find("\"blockNumber\":\"");
  ASSERT_NE(p, std::string::npos);
  const auto q = l.find('"', p + 15);
  l.replace(p + 15, q - (p + 15), "0x8000000000000000");
  MessageKind kind;
  EXPECT_EQ(dec.decode_message(l, kind), DecodeError::BadAbiData);
  l.replace(p + 15, 18, "0x7fffffffffffffff");
  EXPECT_EQ(dec.decode_message(l, kind), DecodeError::Ok);
  const std::string head_ok =
      R"({"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":{"number":"0x7fffffffffffffff","hash":"0x)" +
      std::string(64, '1') + R"(","parentHash":"0x)" + std::string(64, '2') + R"(","timestamp":"0x1"}}})";
  EXPECT_EQ(dec.decode_message(head_ok, kind), DecodeError::Ok);
  EXPECT_EQ(kind, MessageKind::NewHead);
  std::string head_bad = head_ok;
  head_bad.replace(head_bad.find("0x7fff"), 18, "0xffffffffffffffff");
  EXPECT_EQ(dec.decode_message(head_bad, kind), DecodeError::BadAbiData);
}

struct RecordingSink {
  std::vector<std::vector<std::byte>> frames;
  bool accept = true;
  bool operator()(std::span<const std::byte> f) noexcept {
    if (!accept) return false;
    frames.emplace_back(f.begin(), f.end());
    return true;
  }
};

TEST_F(LogDecoderTest, ShouldPublishDecodedEventAsValidProtocolV2Frame) {
  LogDecoder dec(registry_, protocol::Chain::Polygon);
  MessageKind kind;
  ASSERT_EQ(dec.decode_message(first_with(lines_, "\"topics\":[\"" + kV3Swap), kind), DecodeError::Ok);
  RecordingSink sink;
  EventPublisher<RecordingSink> pub(sink, 7);
  ASSERT_TRUE(pub.publish(dec.log()));
  ASSERT_EQ(sink.frames.size(), 1u);
  const auto r = protocol::parse_frame(sink.frames[0]);
  ASSERT_TRUE(r.ok()) << protocol::to_string(r.error);
  EXPECT_EQ(r.view.domain(), protocol::RelayDomain::MarketData);
  EXPECT_EQ(r.view.header.source, 7);
  ASSERT_EQ(r.view.tlv_count, 1u);
  const auto v = protocol::tlv_as<protocol::V3Swap>(*r.view.tlvs().begin());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, dec.log().as<protocol::V3Swap>());
}

TEST_F(LogDecoderTest, ShouldCountDroppedFramesAndLeaveASequenceGapWhenSinkRefuses) {
  LogDecoder dec(registry_, protocol::Chain::Polygon);
  MessageKind kind;
  ASSERT_EQ(dec.decode_message(first_with(lines_, "\"topics\":[\"" + kSync), kind), DecodeError::Ok);
  RecordingSink sink;
  EventPublisher<RecordingSink> pub(sink, 1);
  ASSERT_TRUE(pub.publish(dec.log()));
  sink.accept = false;
  EXPECT_FALSE(pub.publish(dec.log()));
  sink.accept = true;
  ASSERT_TRUE(pub.publish(dec.log()));
  EXPECT_EQ(pub.dropped(), 1u);
  EXPECT_EQ(pub.published(), 2u);
  const auto a = protocol::parse_frame(sink.frames[0]), b = protocol::parse_frame(sink.frames[1]);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(b.view.header.sequence - a.view.header.sequence, 2u);
}

}  // namespace
