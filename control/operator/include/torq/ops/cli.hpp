// torq/ops/cli.hpp — integer options of the product's CLI11 command lines (torqd, torqctl).
//
// Owns: decimal(), a CLI11 validator that accepts an integer only as plain base-10 digits (a
// leading '-' only where negatives are allowed, no leading zero but "0" itself), and
// integer_in(), which adds it and the allowed range to an option. CLI11 alone reads "010" as 8,
// "0x10" as 16, " 5" and "+5" as 5, and "-1" into an unsigned option as 2^64-1; the TOML config
// refuses every one of those, so with these checks a flag means what the same key in the file
// means, and its range is the file's range (a `--priority-fee-gwei -1` used to become a tip of
// 1.8e19 gwei).
// Thread-safety: start-up code only. Allocation: allocates (validators hold std::function).
#pragma once

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace torq::ops::cli {

// Plain decimal: [-]digits, no sign otherwise, no spaces, no base prefix, no leading zero.
[[nodiscard]] inline CLI::Validator decimal(bool allow_negative) {
  return CLI::Validator(
      [allow_negative](std::string& s) -> std::string {
        std::string_view d = s;
        if (allow_negative && !d.empty() && d.front() == '-') d.remove_prefix(1);
        const bool digits = !d.empty() && std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits) return "'" + s + "' is not a decimal integer";
        if (d.size() > 1 && d.front() == '0') return "'" + s + "' has a leading zero (octal is not read here)";
        return {};
      },
      "", "decimal");  // no text of its own in --help: the type and range say it
}

// `opt` (an integer option) takes plain decimals in [lo, hi] only; returns `opt` for chaining.
template <class T>
CLI::Option* integer_in(CLI::Option* opt, T lo, T hi) {
  opt->check(decimal(lo < T{0}));
  opt->check(CLI::Range(lo, hi));
  return opt;
}

}  // namespace torq::ops::cli
