// torqd hex text helpers (torq/torqd/hex.hpp): thin names over the control and executor
// libraries' parsers and formatters, which own the hex logic.
#include "torq/torqd/hex.hpp"

#include <span>

#include "torq/control/hex.hpp"
#include "torq/executor/hex.hpp"

namespace torq::torqd {

std::optional<std::uint64_t> parse_hex_u64(std::string_view s) noexcept { return control::hex::parse_quantity(s); }

std::optional<std::vector<std::uint8_t>> parse_hex_bytes(std::string_view s) { return executor::from_hex(s); }

std::string_view unquote(std::string_view json) noexcept {
  if (json.size() >= 2 && json.front() == '"' && json.back() == '"') return json.substr(1, json.size() - 2);
  return json;
}

std::string to_hex(const std::uint8_t* data, std::size_t size) {
  return executor::to_hex(std::span<const std::uint8_t>(data, size));
}

}  // namespace torq::torqd
