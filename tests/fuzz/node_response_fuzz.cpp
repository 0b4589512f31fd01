// libFuzzer target: what the control plane reads from a node's answers and from its pool cache,
// on arbitrary bytes: parse_block_header, parse_receipt, parse_fee_history, parse_creation_log
// (a V2 and a V3 factory), parse_pool_cache, abi_words and the strict word decoders
// (abi_word.hpp). Besides "no crash, no UB" (sanitizers), checks:
//   - an accepted creation log describes a pool a registry accepts: fee below 100 %, tick spacing
//     1..16383 for the V3 factory and 0 for the V2 one;
//   - an accepted pool cache holds only such pools, and what format_pool_cache writes for it is
//     read back and written again byte for byte (the file the session saves always loads);
//   - a word accepted as intN / uintN / address re-encodes to the same 256-bit word, and a word
//     accepted as a tick or a tick spacing is within TickMath's / the factory's bounds.
// Seeds (tests/fuzz/corpus/node_response): a header, a receipt, a fee history, creation logs of
// both factories, a pool cache, and eth_call answers.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "torq/control/abi_word.hpp"
#include "torq/control/chain_client.hpp"
#include "torq/control/pool_sync.hpp"

using namespace torq;
namespace wabi = torq::control::abi;

namespace {

protocol::Address fill(std::uint8_t b) {
  protocol::Address a{};
  a.fill(b);
  return a;
}

const control::FactoryConfig kFactories[] = {
    {protocol::Venue::QuickSwapV2, fill(0x11), 0, 3000},
    {protocol::Venue::UniswapV3, fill(0x22), 0, 0},
};

bool pool_params_ok(const control::PoolMeta& m) {
  return protocol::valid_pool_params(m.venue, m.fee_ppm, m.tick_spacing);
}

num::U256 sign_extend(std::int64_t v) {
  const std::uint64_t f = v < 0 ? ~std::uint64_t{0} : 0;
  return num::U256::from_limbs(static_cast<std::uint64_t>(v), f, f, f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  (void)control::parse_block_header(text);
  (void)control::parse_receipt(text, std::array<std::uint8_t, 32>{});
  (void)control::parse_fee_history(text);

  if (const auto m = control::parse_creation_log(text, kFactories)) {
    if (!pool_params_ok(*m)) std::abort();
    if (m->venue != kFactories[0].venue && m->venue != kFactories[1].venue) std::abort();
  }

  if (const auto c = control::parse_pool_cache(text)) {
    for (const auto& p : c->pools)
      if (!pool_params_ok(p)) std::abort();
    const std::string once = control::format_pool_cache(*c);
    const auto back = control::parse_pool_cache(once);
    if (!back || back->pools.size() != c->pools.size()) std::abort();
    if (control::format_pool_cache(*back) != once) std::abort();
  }

  if (const auto words = control::abi_words(text)) {
    for (const num::U256& w : *words) {
      for (unsigned bits : {8u, 24u, 64u})
        if (const auto v = wabi::as_int(w, bits); v && sign_extend(*v) != w) std::abort();
      for (unsigned bits : {24u, 64u})
        if (const auto v = wabi::as_uint(w, bits); v && num::U256(*v) != w) std::abort();
      if (const auto a = wabi::as_address(w)) {
        std::array<std::uint8_t, 32> be{};
        std::copy(a->begin(), a->end(), be.begin() + 12);
        if (wabi::from_be_bytes(be) != w) std::abort();
      }
      if (const auto t = wabi::as_tick(w); t && (*t < -protocol::kV3MaxTick || *t > protocol::kV3MaxTick)) std::abort();
      if (const auto s = wabi::as_tick_spacing(w); s && (*s < 1 || *s > protocol::kV3MaxTickSpacing)) std::abort();
    }
  }
  return 0;
}
