// LogDecoder implementation: one simdjson On-Demand pass over each message (see log_decoder.hpp).
#include "torq/control/log_decoder.hpp"

#include <algorithm>
#include <new>

#include "torq/control/hex.hpp"
#include "torq/control/reorg_tracker.hpp"
#include "torq/strategy/tick_math.hpp"

namespace torq::control {

namespace od = simdjson::ondemand;
using protocol::TlvType;
using num::I256;
using num::U256;

namespace topics {
namespace {
constexpr Bytes32 make(std::string_view hex64) noexcept {
  Bytes32 b{};
  for (std::size_t i = 0; i < 32; ++i)
    b[i] = static_cast<std::uint8_t>((hex::nibble(hex64[2 * i]) << 4) | hex::nibble(hex64[2 * i + 1]));
  return b;
}
}  // namespace
const Bytes32 kV2Sync = make("1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1");
const Bytes32 kV2Swap = make("d78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822");
const Bytes32 kV2Mint = make("4c209b5fc8ad50758f13e2e1088ba56a560dff690a1c6fef26394f4c03821c4f");
const Bytes32 kV2Burn = make("dccd412f0b1252819cb1fd330b93224ca42612892bb3f4f789976e6d81936496");
const Bytes32 kV3Swap = make("c42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67");
const Bytes32 kV3Mint = make("7a53080ba414158be7ec69b987b5fb7d07dee101fe85488f0853ae16239d0bde");
const Bytes32 kV3Burn = make("0c396cd989a39f4459b5fa1aed6a9a8dcdbc45908acfd67e028cd568da98982c");
const Bytes32 kV3Initialize = make("98636036cb66a9c19a37435efc1e90142190214e8abeb821bdba3f2990dd4c95");
}  // namespace topics

bool v3_tick_matches_price(const protocol::U256& sqrt_price_x96, std::int32_t tick) noexcept {
  if (tick < strategy::kMinTick || tick >= strategy::kMaxTick) return false;
  const auto lo = strategy::get_sqrt_ratio_at_tick(tick);
  const auto hi = strategy::get_sqrt_ratio_at_tick(tick + 1);
  return lo && hi && *lo <= sqrt_price_x96 && sqrt_price_x96 <= *hi;
}

const char* to_string(DecodeError e) noexcept {
  switch (e) {
    case DecodeError::Ok: return "ok";
    case DecodeError::TooLarge: return "message too large";
    case DecodeError::BadJson: return "malformed JSON";
    case DecodeError::NotANotification: return "not a subscription notification or response";
    case DecodeError::MissingField: return "required field missing";
    case DecodeError::BadHex: return "bad hex field";
    case DecodeError::UnknownTopic: return "unknown topic0";
    case DecodeError::UnknownPool: return "unknown pool address";
    case DecodeError::PoolKindMismatch: return "event does not match the pool's protocol";
    case DecodeError::BadAbiData: return "ABI data out of range or of the wrong size";
    case DecodeError::PendingLog: return "pending log (null block fields)";
    case DecodeError::RpcError: return "JSON-RPC error response";
    case DecodeError::kCount: break;
  }
  return "unknown";
}

struct LogDecoder::Fields {
  std::string_view address, data, block_hash, block_number, tx_index, log_index;
  std::array<std::string_view, 4> topic{};
  std::uint32_t topic_count = 0;
  bool topics_present = false;
  bool removed = false;
  bool pending = false;
  std::string_view hash, parent_hash, number, timestamp, base_fee, gas_used, gas_limit;
};

LogDecoder::LogDecoder(const protocol::InstrumentRegistry& registry, protocol::Chain chain,
                       std::size_t max_message)
    : registry_(registry), chain_(chain) {
  capacity_ = max_message;
  buf_ = std::make_unique<char[]>(capacity_ + simdjson::SIMDJSON_PADDING);
  if (parser_.allocate(capacity_) != simdjson::SUCCESS) throw std::bad_alloc();
}

std::uint64_t LogDecoder::total_errors() const noexcept {
  std::uint64_t n = 0;
  for (auto v : errors_) n += v;
  return n;
}

bool LogDecoder::load(std::string_view json) noexcept {
  if (json.size() > capacity_) return false;
  std::memcpy(buf_.get(), json.data(), json.size());
  std::memset(buf_.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);
  return true;
}

DecodeError LogDecoder::scan_object(od::object obj, Fields& f) noexcept {
  for (auto fr : obj) {
    od::field field;
    if (std::move(fr).get(field) != simdjson::SUCCESS) return DecodeError::BadJson;
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return DecodeError::BadJson;
    od::value v = field.value();
    std::string_view* target = nullptr;
    switch (key.size()) {
      case 4:
        if (key == "data") target = &f.data;
        else if (key == "hash") target = &f.hash;
        break;
      case 6:
        if (key == "topics") {
          od::array arr;
          if (v.get_array().get(arr) != simdjson::SUCCESS) return DecodeError::BadJson;
          f.topics_present = true;
          for (auto t : arr) {
            std::string_view s;
            if (t.get_string().get(s) != simdjson::SUCCESS) return DecodeError::BadJson;
            if (f.topic_count < f.topic.size()) f.topic[f.topic_count] = s;
            ++f.topic_count;
          }
          continue;
        }
        if (key == "number") target = &f.number;
        break;
      case 7:
        if (key == "address") target = &f.address;
        else if (key == "gasUsed") target = &f.gas_used;
        else if (key == "removed") {
          if (v.get_bool().get(f.removed) != simdjson::SUCCESS) return DecodeError::BadJson;
          continue;
        }
        break;
      case 8:
        if (key == "logIndex") target = &f.log_index;
        else if (key == "gasLimit") target = &f.gas_limit;
        break;
      case 9:
        if (key == "blockHash") target = &f.block_hash;
        else if (key == "timestamp") target = &f.timestamp;
        break;
      case 10:
        if (key == "parentHash") target = &f.parent_hash;
        break;
      case 11:
        if (key == "blockNumber") target = &f.block_number;
        break;
      default:
        if (key == "transactionIndex") target = &f.tx_index;
        else if (key == "baseFeePerGas") target = &f.base_fee;
        break;
    }
    if (target == nullptr) continue;  // unconsumed values are skipped by the iterator
    od::json_type type;
    if (v.type().get(type) != simdjson::SUCCESS) return DecodeError::BadJson;
    if (type == od::json_type::null) {
      f.pending = true;
      continue;
    }
    if (v.get_string().get(*target) != simdjson::SUCCESS) return DecodeError::BadJson;
  }
  return DecodeError::Ok;
}

namespace {

[[nodiscard]] bool fits_bits(const U256& v, unsigned bits) noexcept { return v.bit_length() <= bits; }

// A 32-byte ABI word holding an int24: sign-extended over all 256 bits.
[[nodiscard]] bool word_to_int24(const U256& w, std::int32_t& out) noexcept {
  const auto v = I256::from_bits(w).to_i64();
  if (!v || *v < -(1 << 23) || *v >= (1 << 23)) return false;
  out = static_cast<std::int32_t>(*v);
  return true;
}

[[nodiscard]] bool topic_word(std::string_view topic, U256& out) noexcept {
  return topic.size() == 66 && hex::has_prefix(topic) && hex::parse_word(topic.data() + 2, out);
}

}  // namespace

DecodeError LogDecoder::finish_log(const Fields& f) noexcept {
  if (f.pending) return count(DecodeError::PendingLog);
  if (f.address.empty() || !f.topics_present || f.data.empty() || f.block_hash.empty() || f.block_number.empty() ||
      f.tx_index.empty() || f.log_index.empty())
    return count(DecodeError::MissingField);
  LogEvent& e = log_;
  if (!hex::parse_fixed(f.address, e.address) || !hex::parse_fixed(f.block_hash, e.block_hash))
    return count(DecodeError::BadHex);
  const auto block = hex::parse_quantity(f.block_number);
  const auto txi = hex::parse_quantity(f.tx_index);
  const auto logi = hex::parse_quantity(f.log_index);
  if (!block || !txi || !logi) return count(DecodeError::BadHex);
  if (*txi > UINT32_MAX || *logi > UINT32_MAX) return count(DecodeError::BadAbiData);
  if (*block > kMaxBlockNumber) return count(DecodeError::BadAbiData);  // no chain is that long
  if (f.topic_count == 0 || f.topic_count > 4) return count(DecodeError::BadAbiData);
  std::array<std::uint8_t, 32> t0;
  if (!hex::parse_fixed(f.topic[0], t0)) return count(DecodeError::BadHex);

  TlvType type;
  std::uint32_t want_topics, want_words;
  bool v3;
  if (t0 == topics::kV2Sync) type = TlvType::V2Sync, want_topics = 1, want_words = 2, v3 = false;
  else if (t0 == topics::kV2Swap) type = TlvType::V2Swap, want_topics = 3, want_words = 4, v3 = false;
  else if (t0 == topics::kV2Mint) type = TlvType::V2Mint, want_topics = 2, want_words = 2, v3 = false;
  else if (t0 == topics::kV2Burn) type = TlvType::V2Burn, want_topics = 3, want_words = 2, v3 = false;
  else if (t0 == topics::kV3Swap) type = TlvType::V3Swap, want_topics = 3, want_words = 5, v3 = true;
  else if (t0 == topics::kV3Mint) type = TlvType::V3Mint, want_topics = 4, want_words = 4, v3 = true;
  else if (t0 == topics::kV3Burn) type = TlvType::V3Burn, want_topics = 4, want_words = 3, v3 = true;
  else if (t0 == topics::kV3Initialize) type = TlvType::V3Initialize, want_topics = 1, want_words = 2, v3 = true;
  else return count(DecodeError::UnknownTopic);

  const auto id = registry_.find(chain_, e.address);
  if (!id) return count(DecodeError::UnknownPool);
  const protocol::PoolInfo* pool = registry_.pool(*id);
  if (pool == nullptr) return count(DecodeError::UnknownPool);
  const protocol::PoolProtocol proto = protocol::venue_protocol(pool->venue);
  const bool pool_v3 = proto == protocol::PoolProtocol::UniswapV3 || proto == protocol::PoolProtocol::AlgebraV3;
  if (pool_v3 != v3 || proto == protocol::PoolProtocol::None) return count(DecodeError::PoolKindMismatch);

  if (f.topic_count != want_topics || f.data.size() != 2 + 64 * std::size_t{want_words} || !hex::has_prefix(f.data))
    return count(DecodeError::BadAbiData);
  std::array<U256, 5> w;
  for (std::uint32_t i = 0; i < want_words; ++i)
    if (!hex::parse_word(f.data.data() + 2 + 64 * i, w[i])) return count(DecodeError::BadHex);

  protocol::EventContext ctx{};
  ctx.pool = id->raw();
  ctx.block_number = *block;
  std::memcpy(&ctx.block_hash_prefix, e.block_hash.data(), sizeof ctx.block_hash_prefix);
  ctx.tx_index = static_cast<std::uint32_t>(*txi);
  ctx.log_index = static_cast<std::uint32_t>(*logi);

  auto store = [&e](const auto& v) noexcept {
    using T = std::remove_cvref_t<decltype(v)>;
    static_assert(sizeof(T) <= LogEvent::kMaxValue);
    std::memcpy(e.value.data(), &v, sizeof(T));
    e.value_size = static_cast<std::uint8_t>(sizeof(T));
    e.type = T::kType;
  };
  switch (type) {
    case TlvType::V2Sync: {
      if (!fits_bits(w[0], 112) || !fits_bits(w[1], 112)) return count(DecodeError::BadAbiData);
      store(protocol::V2Sync{ctx, w[0], w[1]});
      break;
    }
    case TlvType::V2Swap: store(protocol::V2Swap{ctx, w[0], w[1], w[2], w[3]}); break;
    case TlvType::V2Mint: store(protocol::V2Mint{ctx, w[0], w[1]}); break;
    case TlvType::V2Burn: store(protocol::V2Burn{ctx, w[0], w[1]}); break;
    case TlvType::V3Swap: {
      protocol::V3Swap s{};
      s.ctx = ctx;
      s.amount0 = I256::from_bits(w[0]);
      s.amount1 = I256::from_bits(w[1]);
      if (!w[2].fits_u160() || !w[3].fits_u128() || !word_to_int24(w[4], s.tick)) return count(DecodeError::BadAbiData);
      if (!v3_tick_matches_price(w[2], s.tick)) return count(DecodeError::BadAbiData);
      s.sqrt_price_x96 = w[2];
      s.liquidity = protocol::Uint128Le::from(w[3].low_u128());
      store(s);
      break;
    }
    case TlvType::V3Mint:
    case TlvType::V3Burn: {
      U256 lower, upper;
      if (!topic_word(f.topic[2], lower) || !topic_word(f.topic[3], upper)) return count(DecodeError::BadHex);
      const std::size_t base = type == TlvType::V3Mint ? 1 : 0;  // Mint's data starts with `sender`
      protocol::V3Mint m{};
      m.ctx = ctx;
      if (!word_to_int24(lower, m.tick_lower) || !word_to_int24(upper, m.tick_upper) || !w[base].fits_u128())
        return count(DecodeError::BadAbiData);
      m.liquidity = protocol::Uint128Le::from(w[base].low_u128());
      m.amount0 = w[base + 1];
      m.amount1 = w[base + 2];
      if (type == TlvType::V3Mint) {
        store(m);
      } else {
        protocol::V3Burn b{m.ctx, m.tick_lower, m.tick_upper, m.liquidity, m.amount0, m.amount1};
        store(b);
      }
      break;
    }
    case TlvType::V3Initialize: {
      protocol::V3Initialize in{};
      in.ctx = ctx;
      if (!w[0].fits_u160() || !word_to_int24(w[1], in.tick) || !v3_tick_matches_price(w[0], in.tick))
        return count(DecodeError::BadAbiData);
      in.sqrt_price_x96 = w[0];
      store(in);
      break;
    }
    default: return count(DecodeError::UnknownTopic);
  }
  e.removed = f.removed;
  ++logs_decoded_;
  return DecodeError::Ok;
}

DecodeError LogDecoder::finish_head(const Fields& f) noexcept {
  if (f.hash.empty() || f.parent_hash.empty() || f.number.empty() || f.timestamp.empty())
    return count(f.pending ? DecodeError::PendingLog : DecodeError::MissingField);
  protocol::BlockHeader h{};
  if (!hex::parse_fixed(f.hash, h.hash) || !hex::parse_fixed(f.parent_hash, h.parent_hash))
    return count(DecodeError::BadHex);
  const auto number = hex::parse_quantity(f.number);
  const auto ts = hex::parse_quantity(f.timestamp);
  if (!number || !ts) return count(DecodeError::BadHex);
  if (*number > kMaxBlockNumber) return count(DecodeError::BadAbiData);  // no chain is that long
  h.number = *number;
  h.timestamp_s = *ts;
  if (!f.gas_used.empty()) {
    const auto g = hex::parse_quantity(f.gas_used);
    if (!g) return count(DecodeError::BadHex);
    h.gas_used = *g;
  }
  if (!f.gas_limit.empty()) {
    const auto g = hex::parse_quantity(f.gas_limit);
    if (!g) return count(DecodeError::BadHex);
    h.gas_limit = *g;
  }
  h.base_fee_per_gas = U256::zero();
  if (!f.base_fee.empty()) {
    if (!hex::has_prefix(f.base_fee)) return count(DecodeError::BadHex);
    const auto fee = num::parse_u256(f.base_fee);
    if (!fee) return count(DecodeError::BadHex);
    h.base_fee_per_gas = *fee;
  }
  head_ = h;
  ++heads_decoded_;
  return DecodeError::Ok;
}

DecodeError LogDecoder::read_rpc_error(od::value v) noexcept {
  rpc_error_code_ = 0;
  rpc_error_len_ = 0;
  od::object obj;
  if (v.get_object().get(obj) != simdjson::SUCCESS) return count(DecodeError::BadJson);
  for (auto fr : obj) {
    od::field field;
    std::string_view key;
    if (std::move(fr).get(field) != simdjson::SUCCESS || field.unescaped_key().get(key) != simdjson::SUCCESS)
      return count(DecodeError::BadJson);
    if (key == "code") {
      if (field.value().get_int64().get(rpc_error_code_) != simdjson::SUCCESS) return count(DecodeError::BadJson);
    } else if (key == "message") {
      std::string_view msg;
      if (field.value().get_string().get(msg) != simdjson::SUCCESS) return count(DecodeError::BadJson);
      rpc_error_len_ = std::min(msg.size(), rpc_error_message_.size());
      std::memcpy(rpc_error_message_.data(), msg.data(), rpc_error_len_);
    }
  }
  return count(DecodeError::RpcError);
}

DecodeError LogDecoder::decode_message(std::string_view json, MessageKind& kind) noexcept {
  kind = MessageKind::None;
  if (!load(json)) return count(DecodeError::TooLarge);
  od::document doc;
  od::object obj;
  if (parser_.iterate(buf_.get(), json.size(), capacity_ + simdjson::SIMDJSON_PADDING).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(obj) != simdjson::SUCCESS)
    return count(DecodeError::BadJson);
  bool notification = false, has_id = false, has_result = false, has_error = false;
  Fields f;
  for (auto fr : obj) {
    od::field field;
    std::string_view key;
    if (std::move(fr).get(field) != simdjson::SUCCESS || field.unescaped_key().get(key) != simdjson::SUCCESS)
      return count(DecodeError::BadJson);
    if (key == "method") {
      std::string_view m;
      if (field.value().get_string().get(m) != simdjson::SUCCESS) return count(DecodeError::BadJson);
      notification = m == "eth_subscription";
    } else if (key == "params") {
      od::object params;
      if (field.value().get_object().get(params) != simdjson::SUCCESS) return count(DecodeError::BadJson);
      for (auto pr : params) {
        od::field pf;
        std::string_view pkey;
        if (std::move(pr).get(pf) != simdjson::SUCCESS || pf.unescaped_key().get(pkey) != simdjson::SUCCESS)
          return count(DecodeError::BadJson);
        if (pkey != "result") continue;
        od::object result;
        if (pf.value().get_object().get(result) != simdjson::SUCCESS) return count(DecodeError::BadJson);
        if (const DecodeError e = scan_object(result, f); e != DecodeError::Ok) return count(e);
        has_result = true;
      }
    } else if (key == "id") {
      has_id = true;
    } else if (key == "error") {
      // An error answer (e.g. to eth_subscribe): code and message kept, RpcError counted.
      if (const DecodeError e = read_rpc_error(field.value()); e != DecodeError::RpcError) return e;
      has_error = true;
    }
  }
  if (notification && has_result) {
    if (f.topics_present) {
      const DecodeError e = finish_log(f);
      if (e == DecodeError::Ok) kind = MessageKind::Log;
      return e;
    }
    if (!f.parent_hash.empty() || !f.hash.empty()) {
      const DecodeError e = finish_head(f);
      if (e == DecodeError::Ok) kind = MessageKind::NewHead;
      return e;
    }
    return count(DecodeError::NotANotification);
  }
  if (has_id && !notification) {
    if (has_error) return DecodeError::RpcError;  // counted by read_rpc_error
    kind = MessageKind::Response;
    return DecodeError::Ok;
  }
  return count(DecodeError::NotANotification);
}

DecodeError LogDecoder::decode_log(std::string_view json) noexcept {
  if (!load(json)) return count(DecodeError::TooLarge);
  od::document doc;
  od::object obj;
  if (parser_.iterate(buf_.get(), json.size(), capacity_ + simdjson::SIMDJSON_PADDING).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(obj) != simdjson::SUCCESS)
    return count(DecodeError::BadJson);
  Fields f;
  if (const DecodeError e = scan_object(obj, f); e != DecodeError::Ok) return count(e);
  return finish_log(f);
}

DecodeError LogDecoder::decode_log_array_impl(std::string_view json, Callback cb, void* ctx) noexcept {
  if (json.size() > capacity_) {
    // Control-plane growth for large backfill responses (never for notifications).
    const std::size_t cap = std::max(json.size(), capacity_ * 2);
    std::unique_ptr<char[]> bigger(new (std::nothrow) char[cap + simdjson::SIMDJSON_PADDING]);
    if (!bigger) return count(DecodeError::TooLarge);
    buf_ = std::move(bigger);
    capacity_ = cap;
  }
  if (!load(json)) return count(DecodeError::TooLarge);
  od::document doc;
  od::object obj;
  if (parser_.iterate(buf_.get(), json.size(), capacity_ + simdjson::SIMDJSON_PADDING).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(obj) != simdjson::SUCCESS)
    return count(DecodeError::BadJson);
  bool saw_result = false;
  for (auto fr : obj) {
    od::field field;
    std::string_view key;
    if (std::move(fr).get(field) != simdjson::SUCCESS || field.unescaped_key().get(key) != simdjson::SUCCESS)
      return count(DecodeError::BadJson);
    if (key == "error") return read_rpc_error(field.value());
    if (key != "result") continue;
    od::array arr;
    if (field.value().get_array().get(arr) != simdjson::SUCCESS) return count(DecodeError::BadJson);
    saw_result = true;
    for (auto el : arr) {
      od::object o;
      if (el.get_object().get(o) != simdjson::SUCCESS) return count(DecodeError::BadJson);
      Fields f;
      if (const DecodeError e = scan_object(o, f); e != DecodeError::Ok) return count(e);
      if (finish_log(f) == DecodeError::Ok) cb(ctx, log_);
    }
  }
  if (!saw_result) return count(DecodeError::NotANotification);
  return DecodeError::Ok;
}

}  // namespace torq::control
