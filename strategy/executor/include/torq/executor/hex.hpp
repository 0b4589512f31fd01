// torq/executor/hex.hpp — hex text <-> bytes for transactions, hashes and addresses.
//
// `encode_hex` / `decode_hex` work on caller buffers: noexcept, no allocation. `to_hex` and
// `from_hex` return std::string / std::vector and allocate (control plane, tests). All functions
// are stateless and thread-safe. Never pass private key bytes here: key.hpp has no accessor that
// would let a formatter see them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace torq::executor {

// Writes 2 * in.size() lower-case hex digits (no prefix). Returns the number of chars written,
// 0 when `out` is too small (and `in` non-empty).
[[nodiscard]] std::size_t encode_hex(std::span<const std::uint8_t> in, std::span<char> out) noexcept;

// Parses an optional "0x"/"0X" prefix and an even number of hex digits into `out`.
// Returns the byte count, or nullopt on a bad digit, odd length or a too small `out`.
[[nodiscard]] std::optional<std::size_t> decode_hex(std::string_view text, std::span<std::uint8_t> out) noexcept;

// "0x" + lower-case hex.
[[nodiscard]] std::string to_hex(std::span<const std::uint8_t> in);
[[nodiscard]] std::optional<std::vector<std::uint8_t>> from_hex(std::string_view text);

}  // namespace torq::executor
