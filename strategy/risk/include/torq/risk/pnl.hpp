// torq/risk/pnl.hpp — realized P&L per trade, cumulative / peak / drawdown / daily, positions.
//
// Owns: PnlTracker. Every trade's realized P&L is computed from its ExecutionReport in exact
// integer arithmetic:
//   profit_usd = value(realized_profit raw units of the input token)   (floor, exact)
//   gas_usd    = value(gas_used * effective_gas_price wei of the native token)  (floor, exact)
//   net_usd    = profit_usd - gas_usd
// where value(x) = num::from_token_amount(x, decimals, price per whole token) and a negative
// amount x is valued as floor(x * price / 10^decimals) too (i.e. rounded toward -inf, never
// flattering a loss). Cumulative P&L sums net_usd; peak is the running maximum of cumulative
// (starting at 0); drawdown = peak - cumulative; daily P&L sums net_usd over the current UTC day
// of the injected clock and restarts at 0 on the first trade of a new day.
// Positions: a signed raw balance per token (I256), moved by realized profit (input token) and
// gas (native token, when configured), or set from node balance queries.
// Thread-safety: single-threaded (the executor thread); snapshot() returns a copy that the owner
// hands to RiskGates::update_pnl(). Allocation: the per-token tables are allocated once by the
// constructor (start-up, may throw); every other call is noexcept and allocation-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>

#include "torq/num/uint256.hpp"
#include "torq/num/usd_fixed.hpp"
#include "torq/protocol/instrument_id.hpp"
#include "torq/protocol/tlv_types.hpp"
#include "torq/risk/clock.hpp"

namespace torq::risk {

using num::I256;
using num::U256;
using num::UsdFixedPoint8;
using protocol::InstrumentId;

// What RiskGates needs from P&L: trivially copyable, 40 bytes.
struct PnlSnapshot {
  UsdFixedPoint8 cumulative;
  UsdFixedPoint8 peak;
  UsdFixedPoint8 drawdown;  // peak - cumulative, >= 0
  UsdFixedPoint8 daily;     // realized over `day`
  std::uint64_t day;        // UTC day number the daily figure belongs to
};
static_assert(sizeof(PnlSnapshot) == 40 && std::is_trivially_copyable_v<PnlSnapshot>);

struct TradePnl {
  UsdFixedPoint8 profit_usd;    // value of the realized token profit (may be negative)
  UsdFixedPoint8 gas_usd;       // value of gas_used * effective_gas_price (>= 0)
  UsdFixedPoint8 net_usd;       // profit_usd - gas_usd
  UsdFixedPoint8 expected_usd;  // what the signal expected (net, after gas)
  UsdFixedPoint8 slippage_usd;  // net_usd - expected_usd
};

enum class PnlError : std::uint8_t {
  ok = 0,
  unknown_token,  // input token has no configured price (or index beyond capacity)
  overflow,       // a value does not fit UsdFixedPoint8 (state left unchanged)
};

// USD value of a signed raw amount: floor(x * price / 10^decimals); empty when it does not fit.
[[nodiscard]] std::optional<UsdFixedPoint8> value_signed(const I256& amount, unsigned decimals,
                                                         UsdFixedPoint8 price) noexcept;

class PnlTracker {
 public:
  struct Config {
    std::size_t max_tokens = 1024;        // capacity of the per-token tables (InstrumentId index)
    unsigned native_decimals = 18;        // gas token (POL/MATIC, ETH)
    UsdFixedPoint8 native_price{0};       // USD per whole native token
    InstrumentId native_token{};          // optional: whose balance gas is debited from
    Clock clock{};
  };

  explicit PnlTracker(const Config& cfg);  // allocates the tables; throws std::invalid_argument

  // Configuration (start-up or control plane on the same thread).
  bool set_token(InstrumentId token, unsigned decimals, UsdFixedPoint8 price_per_whole_token) noexcept;
  void set_native_price(UsdFixedPoint8 price) noexcept { native_price_ = price; }

  // Books a finished trade (Included or Reverted; reverted trades have realized_profit 0 and
  // still pay gas). `input_token` is tokens[0] of the signal. On error nothing changes.
  [[nodiscard]] PnlError on_execution(const protocol::ExecutionReport& report, InstrumentId input_token,
                                      TradePnl& out) noexcept;
  // The same with explicit numbers (used by on_execution; handy for replays).
  [[nodiscard]] PnlError book(InstrumentId input_token, const I256& realized_profit, std::uint64_t gas_used,
                              const U256& effective_gas_price, UsdFixedPoint8 expected_usd, TradePnl& out) noexcept;

  [[nodiscard]] PnlSnapshot snapshot() const noexcept;
  [[nodiscard]] UsdFixedPoint8 cumulative() const noexcept { return cumulative_; }
  [[nodiscard]] UsdFixedPoint8 peak() const noexcept { return peak_; }
  [[nodiscard]] UsdFixedPoint8 drawdown() const noexcept { return UsdFixedPoint8{peak_.raw - cumulative_.raw}; }
  // Daily P&L for the clock's current UTC day (0 when no trade has been booked today).
  [[nodiscard]] UsdFixedPoint8 daily() const noexcept;
  [[nodiscard]] std::uint64_t trades() const noexcept { return trades_; }

  // Positions (raw units). Unknown/out-of-range tokens read as 0 and refuse writes.
  [[nodiscard]] I256 balance(InstrumentId token) const noexcept;
  bool set_balance(InstrumentId token, const I256& raw) noexcept;
  bool add_balance(InstrumentId token, const I256& delta) noexcept;

 private:
  struct TokenPrice {
    UsdFixedPoint8 price;
    std::uint32_t decimals;
    bool configured;
  };
  [[nodiscard]] bool in_range(InstrumentId t) const noexcept {
    return t.kind() == protocol::InstrumentKind::Token && t.index() < max_tokens_;
  }

  std::size_t max_tokens_;
  unsigned native_decimals_;
  UsdFixedPoint8 native_price_;
  InstrumentId native_token_;
  Clock clock_;
  std::unique_ptr<TokenPrice[]> prices_;
  std::unique_ptr<I256[]> balances_;
  UsdFixedPoint8 cumulative_{0};
  UsdFixedPoint8 peak_{0};
  UsdFixedPoint8 daily_{0};
  std::uint64_t day_ = 0;
  std::uint64_t trades_ = 0;
};

}  // namespace torq::risk
