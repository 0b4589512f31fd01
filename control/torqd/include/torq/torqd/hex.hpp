// torq/torqd/hex.hpp — the few hex text helpers torqd's control-side code and tests need on top
// of the control library's (control::to_hex_quantity, to_hex_bytes, abi_words): JSON-RPC
// quantities and byte strings parsed back, and a JSON string result unquoted.
//
// Pure functions, thread-safe. parse_hex_u64/unquote are noexcept and allocation-free;
// parse_hex_bytes and to_hex allocate (control plane only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace torq::torqd {

// "0x1a" → 26; nullopt for anything else (no prefix, non-hex digit, more than 16 digits).
[[nodiscard]] std::optional<std::uint64_t> parse_hex_u64(std::string_view s) noexcept;
// "0x…" (or bare hex) → bytes; nullopt on odd length or a non-hex digit.
[[nodiscard]] std::optional<std::vector<std::uint8_t>> parse_hex_bytes(std::string_view s);
// Strips the quotes of a JSON string result ("\"0x12\"" → "0x12"); the text itself otherwise.
[[nodiscard]] std::string_view unquote(std::string_view json) noexcept;
// "0x" + lowercase hex.
[[nodiscard]] std::string to_hex(const std::uint8_t* data, std::size_t size);

}  // namespace torq::torqd
