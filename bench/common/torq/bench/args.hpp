// torq/bench/args.hpp — command-line reading shared by the latency-harness benchmarks (header-only).
//
// Owns: ArgReader, a loop over argv that the benchmark's main() drives option by option. Every
// value is checked where it is read: a number must be all digits and inside the range the caller
// names, a choice one of the listed words, so a typo ("--sizing closedform", "--events 1e6") stops
// the run with a message instead of silently measuring something else (or aborting on an uncaught
// std::stoul). `--help`/`-h` prints the usage on stdout and exits 0; a bad or unknown argument
// prints the reason and the usage on stderr and exits 64 (EX_USAGE, as torq-jitter does).
// Thread-safety: single-threaded start-up code. Allocation: allocates (start-up only); exits the
// process on bad usage, which only start-up code may do.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace torq::bench {

inline constexpr int kExitUsage = 64;

// A whole string of decimal digits as an unsigned integer; nullopt for anything else (empty, sign,
// spaces, trailing characters, overflow).
[[nodiscard]] inline std::optional<std::uint64_t> parse_decimal_u64(std::string_view v) noexcept {
  std::uint64_t x = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size()) return std::nullopt;
  return x;
}

class ArgReader {
 public:
  // `usage` is the whole usage text (one or more lines, no trailing newline needed).
  ArgReader(int argc, char** argv, std::string_view usage) noexcept : argc_(argc), argv_(argv), usage_(usage) {}

  // Moves to the next option; false when none is left. Handles --help / -h itself.
  [[nodiscard]] bool next() {
    if (++i_ >= argc_) return false;
    opt_ = argv_[i_];
    if (opt_ == "--help" || opt_ == "-h") {
      std::printf("%.*s\n", static_cast<int>(usage_.size()), usage_.data());
      std::exit(0);
    }
    return true;
  }

  [[nodiscard]] bool is(std::string_view name) const noexcept { return opt_ == name; }

  // The current option's value as an unsigned integer in [lo, hi] (decimal digits only).
  [[nodiscard]] std::uint64_t u64(std::uint64_t lo = 0, std::uint64_t hi = UINT64_MAX) {
    return parse_u64(value(), lo, hi, "an integer");
  }

  // The current option's value as a comma-separated list of integers, each in [lo, hi].
  [[nodiscard]] std::vector<std::uint64_t> u64_list(std::uint64_t lo = 0, std::uint64_t hi = UINT64_MAX) {
    return split(value(), [&](std::string_view item) {
      return parse_u64(item, lo, hi, "a comma-separated list of integers");
    });
  }

  // The current option's value, any non-empty string.
  [[nodiscard]] std::string str() {
    const std::string_view v = value();
    if (v.empty()) fail("needs a non-empty value");
    return std::string(v);
  }

  // The current option's value, which must be one of `allowed`.
  [[nodiscard]] std::string choice(std::initializer_list<std::string_view> allowed) {
    return pick(value(), allowed, "one of");
  }

  // The current option's value as a comma-separated list, each item one of `allowed`.
  [[nodiscard]] std::vector<std::string> choice_list(std::initializer_list<std::string_view> allowed) {
    return split(value(), [&](std::string_view item) { return pick(item, allowed, "a comma-separated list of"); });
  }

  // Environment variable `name` as an unsigned integer in [lo, hi], `dflt` when it is not set; a bad
  // value is a usage error like a bad option.
  [[nodiscard]] std::uint64_t env_u64(const char* name, std::uint64_t dflt, std::uint64_t lo = 0,
                                      std::uint64_t hi = UINT64_MAX) const {
    const char* v = std::getenv(name);
    if (v == nullptr) return dflt;
    const std::optional<std::uint64_t> x = parse_decimal_u64(v);
    if (!x || *x < lo || *x > hi) bad(std::string(name) + " " + range_error("an integer", lo, hi, v));
    return *x;
  }

  // The current option's value was read but fails a check of the caller's own ("must be a power of two").
  [[noreturn]] void invalid(const std::string& why) const { fail(why); }

  // The current option is not one this program knows.
  [[noreturn]] void unknown() const { bad("unknown argument '" + std::string(opt_) + "'"); }

 private:
  std::uint64_t parse_u64(std::string_view v, std::uint64_t lo, std::uint64_t hi, const char* what) const {
    const std::optional<std::uint64_t> x = parse_decimal_u64(v);
    if (!x || *x < lo || *x > hi) fail(range_error(what, lo, hi, v));
    return *x;
  }
  static std::string range_error(const char* what, std::uint64_t lo, std::uint64_t hi, std::string_view v) {
    return std::string("needs ") + what + " in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
           std::string(v) + "'";
  }
  std::string pick(std::string_view v, std::initializer_list<std::string_view> allowed, const char* what) const {
    std::string list;
    for (const std::string_view a : allowed) {
      if (v == a) return std::string(v);
      list += list.empty() ? "" : "|";
      list += a;
    }
    fail(std::string("is ") + what + " " + list + ", got '" + std::string(v) + "'");
  }
  // Each comma-separated item of v (an empty item too, which the parse rejects) through parse.
  template <class Parse>
  static std::vector<std::invoke_result_t<Parse&, std::string_view>> split(std::string_view v, Parse parse) {
    std::vector<std::invoke_result_t<Parse&, std::string_view>> out;
    for (std::size_t pos = 0; pos <= v.size();) {
      const std::size_t comma = std::min(v.find(',', pos), v.size());
      out.push_back(parse(v.substr(pos, comma - pos)));
      pos = comma + 1;
    }
    return out;
  }
  std::string_view value() {
    if (i_ + 1 >= argc_) fail("needs a value");
    return argv_[++i_];
  }
  [[noreturn]] void fail(const std::string& why) const { bad(std::string(opt_) + " " + why); }
  [[noreturn]] void bad(const std::string& why) const {
    const std::string_view prog = argc_ > 0 ? std::string_view(argv_[0]) : std::string_view("bench");
    const std::size_t slash = prog.rfind('/');
    const std::string_view base = slash == std::string_view::npos ? prog : prog.substr(slash + 1);
    std::fprintf(stderr, "%.*s: %s\n%.*s\n", static_cast<int>(base.size()), base.data(), why.c_str(),
                 static_cast<int>(usage_.size()), usage_.data());
    std::exit(kExitUsage);
  }

  int argc_;
  char** argv_;
  std::string_view usage_;
  int i_ = 0;
  std::string_view opt_;
};

}  // namespace torq::bench
