// InstrumentId: the compact 64-bit identity of a token or pool used on the hot path, and the
// registry that maps (chain, 20-byte address) to ids and back.
//
//   bit 63..60  kind     InstrumentKind (1 token, 2 pool)
//   bit 59..52  chain    Chain code (registry of supported chains, not the raw chain id)
//   bit 51..44  venue    Venue code (0 for tokens)
//   bit 43..0   index    dense per-registry index: tokens and pools are numbered 0,1,2,... in
//                        the order they were registered, so ids double as flat-array indices
//
// The encoding is bijective: `InstrumentId::make(kind, chain, venue, index)` and the accessors
// invert each other for every valid field value, and `InstrumentRegistry::entry(id)` gives back
// the registered address/metadata for exactly the ids it issued.
//
// InstrumentId and the enums are trivially copyable values (thread-safe by copy, no allocation).
// InstrumentRegistry is control-plane state: registration allocates and is not thread-safe;
// after start-up, concurrent const lookups (`entry`, `find`) are safe and do not allocate.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace torq::protocol {

using Address = std::array<std::uint8_t, 20>;

// Uniswap-V3-family pool parameters a deployed pool can have: UniswapV3Factory requires
// 0 < tickSpacing < 16384 (enableFeeAmount) and fee < 1 000 000; TickMath bounds every tick by
// |tick| <= 887 272. Values outside come from a damaged file or a hostile node, never from a pool.
inline constexpr std::int32_t kV3MaxTickSpacing = 16383;
inline constexpr std::int32_t kV3MaxTick = 887272;
inline constexpr std::uint32_t kFeeDenominatorPpm = 1'000'000;  // fees are below this

enum class InstrumentKind : std::uint8_t { Invalid = 0, Token = 1, Pool = 2 };

// Supported chains. The code is what InstrumentId stores; chain_id() is the EVM chain id.
enum class Chain : std::uint8_t { Invalid = 0, Ethereum = 1, Polygon = 2, Base = 3, Arbitrum = 4 };

// AMM family of a pool: decides which math the strategy applies.
enum class PoolProtocol : std::uint8_t { None = 0, UniswapV2 = 1, UniswapV3 = 2, AlgebraV3 = 3 };

// Venues (protocol + deployment). Fee rules differ per fork, so every venue names its protocol.
enum class Venue : std::uint8_t {
  None = 0,
  UniswapV2 = 1,
  QuickSwapV2 = 2,
  SushiSwapV2 = 3,
  UniswapV3 = 4,
  QuickSwapV3 = 5,  // Algebra, dynamic fee: not Uniswap V3 math for fees
  SushiSwapV3 = 6,
};

[[nodiscard]] std::optional<std::uint64_t> chain_id(Chain c) noexcept;
[[nodiscard]] std::optional<Chain> chain_from_id(std::uint64_t evm_chain_id) noexcept;
[[nodiscard]] PoolProtocol venue_protocol(Venue v) noexcept;
// Whether a pool of `venue` can have these parameters: a pool venue, fee_ppm below 1 000 000,
// tick_spacing 1..kV3MaxTickSpacing for a V3-family venue and 0 for a V2 one. The registry,
// the pool cache and the pool list all apply this rule (wide types: callers check raw values).
[[nodiscard]] bool valid_pool_params(Venue venue, std::uint64_t fee_ppm, std::int64_t tick_spacing) noexcept;
[[nodiscard]] std::string_view venue_name(Venue v) noexcept;
[[nodiscard]] std::optional<Venue> venue_from_name(std::string_view name) noexcept;

class InstrumentId {
 public:
  static constexpr std::uint64_t kIndexBits = 44;
  static constexpr std::uint64_t kMaxIndex = (std::uint64_t{1} << kIndexBits) - 1;

  constexpr InstrumentId() noexcept = default;
  constexpr explicit InstrumentId(std::uint64_t raw) noexcept : raw_(raw) {}

  // Returns an invalid id (raw 0) when a field is out of range.
  [[nodiscard]] static constexpr InstrumentId make(InstrumentKind kind, Chain chain, Venue venue,
                                                   std::uint64_t index) noexcept {
    const auto k = static_cast<std::uint64_t>(kind);
    if (k == 0 || k > 15 || chain == Chain::Invalid || index > kMaxIndex) return InstrumentId{};
    if ((kind == InstrumentKind::Token) != (venue == Venue::None)) return InstrumentId{};
    return InstrumentId{(k << 60) | (std::uint64_t{static_cast<std::uint8_t>(chain)} << 52) |
                        (std::uint64_t{static_cast<std::uint8_t>(venue)} << 44) | index};
  }

  [[nodiscard]] constexpr std::uint64_t raw() const noexcept { return raw_; }
  [[nodiscard]] constexpr InstrumentKind kind() const noexcept {
    return static_cast<InstrumentKind>(raw_ >> 60);
  }
  [[nodiscard]] constexpr Chain chain() const noexcept { return static_cast<Chain>((raw_ >> 52) & 0xFF); }
  [[nodiscard]] constexpr Venue venue() const noexcept { return static_cast<Venue>((raw_ >> 44) & 0xFF); }
  [[nodiscard]] constexpr std::uint64_t index() const noexcept { return raw_ & kMaxIndex; }
  [[nodiscard]] constexpr bool valid() const noexcept { return raw_ != 0; }

  friend constexpr bool operator==(InstrumentId, InstrumentId) noexcept = default;
  friend constexpr auto operator<=>(InstrumentId, InstrumentId) noexcept = default;

 private:
  std::uint64_t raw_ = 0;
};
static_assert(sizeof(InstrumentId) == 8);

struct TokenInfo {
  Chain chain;
  Address address;
  std::uint8_t decimals;
  std::string symbol;
};

struct PoolInfo {
  Chain chain;
  Venue venue;
  Address address;
  InstrumentId token0;
  InstrumentId token1;
  std::uint32_t fee_ppm;      // fee in millionths (3000 = 0.30%); dynamic-fee pools: last known
  std::int32_t tick_spacing;  // V3 only, 0 for V2
};

// Parses "0x" + 40 hex digits (either case); nullopt otherwise.
[[nodiscard]] std::optional<Address> parse_address(std::string_view text) noexcept;
// Lower-case 0x-prefixed hex.
[[nodiscard]] std::string format_address(const Address& a);

class InstrumentRegistry {
 public:
  // Registers a token (or returns the existing id for the same chain+address).
  // Returns nullopt for an invalid chain or when the index space is exhausted.
  [[nodiscard]] std::optional<InstrumentId> add_token(Chain chain, const Address& address,
                                                      std::uint8_t decimals, std::string symbol);
  // Registers a pool; both tokens must already be registered on the same chain and venue must be a
  // pool venue; fee_ppm < 1 000 000; tick_spacing 1..kV3MaxTickSpacing for a V3-family venue and 0
  // for a V2 one. Re-registering the same chain+address returns the existing id.
  [[nodiscard]] std::optional<InstrumentId> add_pool(Venue venue, const Address& address,
                                                     InstrumentId token0, InstrumentId token1,
                                                     std::uint32_t fee_ppm, std::int32_t tick_spacing);

  [[nodiscard]] std::optional<InstrumentId> find(Chain chain, const Address& address) const noexcept;
  // nullptr for ids this registry did not issue.
  [[nodiscard]] const TokenInfo* token(InstrumentId id) const noexcept;
  [[nodiscard]] const PoolInfo* pool(InstrumentId id) const noexcept;

  [[nodiscard]] std::size_t token_count() const noexcept { return tokens_.size(); }
  [[nodiscard]] std::size_t pool_count() const noexcept { return pools_.size(); }
  [[nodiscard]] InstrumentId token_id(std::size_t index) const noexcept;
  [[nodiscard]] InstrumentId pool_id(std::size_t index) const noexcept;

 private:
  struct Key {
    Chain chain;
    Address address;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept;
  };
  std::vector<TokenInfo> tokens_;
  std::vector<PoolInfo> pools_;
  std::vector<InstrumentId> token_ids_;
  std::vector<InstrumentId> pool_ids_;
  std::unordered_map<Key, InstrumentId, KeyHash> by_address_;
};

}  // namespace torq::protocol
