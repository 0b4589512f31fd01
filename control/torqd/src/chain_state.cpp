#include "torq/torqd/chain_state.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include "torq/protocol/frame.hpp"
#include "torq/protocol/tlv_types.hpp"

namespace torq::torqd {

namespace {

constexpr std::int32_t kMinTick = -887272;
constexpr std::int32_t kMaxTick = 887272;

std::string word_hex(std::uint64_t low, bool negative) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(64, negative ? 'f' : '0');
  for (int i = 0; i < 16; ++i) s[63 - i] = kDigits[(low >> (4 * i)) & 15];
  return s;
}

std::int64_t low_signed(const num::U256& w) noexcept { return static_cast<std::int64_t>(w.limb[0]); }

__int128 low_i128(const num::U256& w) noexcept {
  return static_cast<__int128>((static_cast<unsigned __int128>(w.limb[1]) << 64) | w.limb[0]);
}

std::int32_t floor_div(std::int32_t a, std::int32_t b) noexcept {
  std::int32_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::vector<std::byte> build_frame(std::uint8_t type, std::span<const std::byte> value, std::uint8_t source,
                                   std::uint64_t sequence) {
  std::vector<std::byte> buf(protocol::kHeaderSize + 8 + value.size() + 64);
  protocol::FrameBuilder b(buf, protocol::RelayDomain::MarketData, source);
  if (!b.add_raw(type, value)) throw std::runtime_error("chain state: cannot build a snapshot frame");
  const auto f = b.finish(sequence, 0);
  if (f.empty()) throw std::runtime_error("chain state: cannot finish a snapshot frame");
  return {f.begin(), f.end()};
}

template <class T>
std::span<const std::byte> bytes_of(const T& v) {
  return {reinterpret_cast<const std::byte*>(&v), sizeof(T)};
}

std::vector<std::uint8_t> result_bytes(const RpcResult& r, const std::string& what) {
  if (!r.ok) throw std::runtime_error("chain state: " + what + ": " + r.error);
  auto b = parse_hex_bytes(unquote(r.json));
  if (!b) throw std::runtime_error("chain state: " + what + ": result is not hex: " + r.json);
  return *b;
}

num::U256 word_or_throw(const std::vector<std::uint8_t>& d, std::size_t i, const std::string& what) {
  auto w = abi_word(d, i);
  if (!w) throw std::runtime_error("chain state: " + what + ": short return data");
  return *w;
}

}  // namespace

std::string call_data(std::uint32_t selector) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int i = 7; i >= 0; --i) s += kDigits[(selector >> (4 * i)) & 15];
  return s;
}

std::string call_data(std::uint32_t selector, std::int64_t signed_arg) {
  return call_data(selector) + word_hex(static_cast<std::uint64_t>(signed_arg), signed_arg < 0);
}

std::vector<std::int32_t> ticks_of_word(std::int32_t word, const num::U256& bits, std::int32_t spacing) {
  std::vector<std::int32_t> out;
  for (int limb = 0; limb < 4; ++limb) {
    std::uint64_t v = bits.limb[limb];
    while (v != 0) {
      const int b = __builtin_ctzll(v) + 64 * limb;
      v &= v - 1;
      out.push_back((word * 256 + b) * spacing);
    }
  }
  return out;
}

ChainSnapshot load_pool_state(JsonRpc& rpc, const protocol::InstrumentRegistry& registry, std::uint64_t block,
                              std::uint8_t source) {
  ChainSnapshot snap;
  snap.block = block;
  const std::string tag = "\"" + quantity(block) + "\"";
  auto eth_call = [&](const protocol::Address& to, const std::string& data) {
    return RpcRequest{"eth_call", "[{\"to\":\"" + protocol::format_address(to) + "\",\"data\":\"" + data + "\"}," + tag + "]"};
  };

  // Pass 1: state calls for every pool (V2: 1, V3: 2) and the tickBitmap words of V3 pools.
  struct Plan {
    std::size_t first = 0;  // index of the first state call
    std::size_t words_first = 0;
    std::int32_t word_min = 0;
    std::int32_t word_max = -1;
  };
  std::vector<RpcRequest> reqs;
  std::vector<Plan> plans(registry.pool_count());
  for (std::size_t i = 0; i < registry.pool_count(); ++i) {
    const protocol::PoolInfo* p = registry.pool(registry.pool_id(i));
    Plan& pl = plans[i];
    pl.first = reqs.size();
    if (protocol::venue_protocol(p->venue) == protocol::PoolProtocol::UniswapV2) {
      reqs.push_back(eth_call(p->address, call_data(kGetReserves)));
    } else if (protocol::venue_protocol(p->venue) == protocol::PoolProtocol::UniswapV3) {
      reqs.push_back(eth_call(p->address, call_data(kSlot0)));
      reqs.push_back(eth_call(p->address, call_data(kLiquidity)));
      if (p->tick_spacing <= 0) throw std::runtime_error("chain state: V3 pool without tick spacing: " + protocol::format_address(p->address));
      pl.word_min = floor_div(floor_div(kMinTick, p->tick_spacing), 256);
      pl.word_max = floor_div(floor_div(kMaxTick, p->tick_spacing), 256);
      pl.words_first = reqs.size();
      for (std::int32_t w = pl.word_min; w <= pl.word_max; ++w) reqs.push_back(eth_call(p->address, call_data(kTickBitmap, w)));
    } else {
      throw std::runtime_error("chain state: pool " + protocol::format_address(p->address) + " has an unsupported protocol");
    }
  }
  const std::vector<RpcResult> res = rpc.batch(reqs);
  snap.calls += reqs.size();

  // Pass 2: ticks(t) for every initialized tick.
  std::vector<std::vector<std::int32_t>> ticks(registry.pool_count());
  std::vector<RpcRequest> tick_reqs;
  std::vector<std::size_t> tick_first(registry.pool_count(), 0);
  for (std::size_t i = 0; i < registry.pool_count(); ++i) {
    const protocol::PoolInfo* p = registry.pool(registry.pool_id(i));
    const Plan& pl = plans[i];
    tick_first[i] = tick_reqs.size();
    for (std::int32_t w = pl.word_min; w <= pl.word_max; ++w) {
      const auto d = result_bytes(res[pl.words_first + static_cast<std::size_t>(w - pl.word_min)],
                                  "tickBitmap of " + protocol::format_address(p->address));
      for (std::int32_t t : ticks_of_word(w, word_or_throw(d, 0, "tickBitmap"), p->tick_spacing)) {
        ticks[i].push_back(t);
        tick_reqs.push_back(eth_call(p->address, call_data(kTicks, t)));
      }
    }
  }
  const std::vector<RpcResult> tick_res = rpc.batch(tick_reqs);
  snap.calls += tick_reqs.size();

  std::uint64_t seq = 1;
  for (std::size_t i = 0; i < registry.pool_count(); ++i) {
    const protocol::InstrumentId id = registry.pool_id(i);
    const protocol::PoolInfo* p = registry.pool(id);
    const std::string name = protocol::format_address(p->address);
    protocol::PoolStateSnapshot s{};
    s.pool = id.raw();
    s.block_number = block;
    s.state_version = 0;
    s.fee_ppm = p->fee_ppm;
    s.tick_spacing = p->tick_spacing;
    s.reserve0 = num::U256::zero();
    s.reserve1 = num::U256::zero();
    s.sqrt_price_x96 = num::U256::zero();
    s.liquidity = protocol::Uint128Le{0, 0};
    if (protocol::venue_protocol(p->venue) == protocol::PoolProtocol::UniswapV2) {
      const auto d = result_bytes(res[plans[i].first], "getReserves of " + name);
      s.kind = static_cast<std::uint8_t>(protocol::PoolKind::V2);
      s.reserve0 = word_or_throw(d, 0, "getReserves");
      s.reserve1 = word_or_throw(d, 1, "getReserves");
      ++snap.v2_pools;
      snap.frames.push_back(build_frame(static_cast<std::uint8_t>(protocol::TlvType::PoolStateSnapshot), bytes_of(s), source, seq++));
      continue;
    }
    const auto d0 = result_bytes(res[plans[i].first], "slot0 of " + name);
    const auto d1 = result_bytes(res[plans[i].first + 1], "liquidity of " + name);
    s.kind = static_cast<std::uint8_t>(protocol::PoolKind::V3);
    s.sqrt_price_x96 = word_or_throw(d0, 0, "slot0");
    s.tick = static_cast<std::int32_t>(low_signed(word_or_throw(d0, 1, "slot0")));
    const num::U256 liq = word_or_throw(d1, 0, "liquidity");
    s.liquidity = protocol::Uint128Le{liq.limb[0], liq.limb[1]};
    ++snap.v3_pools;
    snap.frames.push_back(build_frame(static_cast<std::uint8_t>(protocol::TlvType::PoolStateSnapshot), bytes_of(s), source, seq++));

    std::vector<protocol::V3TickEntry> entries;
    for (std::size_t k = 0; k < ticks[i].size(); ++k) {
      const auto d = result_bytes(tick_res[tick_first[i] + k], "ticks of " + name);
      const num::U256 gross = word_or_throw(d, 0, "ticks");
      if (gross.limb[0] == 0 && gross.limb[1] == 0) continue;  // bit set but tick cleared (cannot happen; skip)
      protocol::V3TickEntry e{};
      e.tick = ticks[i][k];
      e.liquidity_net = protocol::Int128Le::from(low_i128(word_or_throw(d, 1, "ticks")));
      e.liquidity_gross = protocol::Uint128Le{gross.limb[0], gross.limb[1]};
      entries.push_back(e);
    }
    snap.v3_ticks += entries.size();
    protocol::V3TicksSnapshotHead head{};
    head.pool = id.raw();
    head.block_number = block;
    head.count = static_cast<std::uint32_t>(entries.size());
    std::vector<std::byte> value(sizeof head + entries.size() * sizeof(protocol::V3TickEntry));
    std::memcpy(value.data(), &head, sizeof head);
    if (!entries.empty()) std::memcpy(value.data() + sizeof head, entries.data(), entries.size() * sizeof(protocol::V3TickEntry));
    snap.frames.push_back(build_frame(static_cast<std::uint8_t>(protocol::TlvType::V3TicksSnapshot), value, source, seq++));
  }
  return snap;
}

}  // namespace torq::torqd
