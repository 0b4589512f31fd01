// Text conversions for U256 / I256 (see torq/num/uint256.hpp). parse_* and to_chars_* do not
// allocate; to_string / to_hex allocate the returned std::string.
#include "torq/num/uint256.hpp"

namespace torq::num {
namespace {

constexpr std::uint64_t kTen19 = 10000000000000000000ULL;  // largest power of ten below 2^64

constexpr std::uint64_t kPow10[20] = {1ULL,
                                      10ULL,
                                      100ULL,
                                      1000ULL,
                                      10000ULL,
                                      100000ULL,
                                      1000000ULL,
                                      10000000ULL,
                                      100000000ULL,
                                      1000000000ULL,
                                      10000000000ULL,
                                      100000000000ULL,
                                      1000000000000ULL,
                                      10000000000000ULL,
                                      100000000000000ULL,
                                      1000000000000000ULL,
                                      10000000000000000ULL,
                                      100000000000000000ULL,
                                      1000000000000000000ULL,
                                      10000000000000000000ULL};

// Division by the constant 10^19 with a precomputed reciprocal (Moller & Granlund, "Improved
// division by invariant integers", 2011, algorithm 4): two multiplications instead of a divq.
// 10^19 > 2^63, so the divisor is already normalised.
constexpr std::uint64_t kTen19Inv = static_cast<std::uint64_t>(~static_cast<u128>(0) / kTen19);  // - 2^64 implied
static_assert(kTen19 >> 63 == 1);

// (u1:u0) / 10^19 for u1 < 10^19; remainder to rem.
inline std::uint64_t div_by_ten19(std::uint64_t u1, std::uint64_t u0, std::uint64_t& rem) noexcept {
  u128 q = static_cast<u128>(kTen19Inv) * u1;
  q += (static_cast<u128>(u1) << 64) | u0;
  std::uint64_t q1 = static_cast<std::uint64_t>(q >> 64) + 1;
  const std::uint64_t q0 = static_cast<std::uint64_t>(q);
  std::uint64_t r = u0 - q1 * kTen19;
  if (r > q0) {
    --q1;
    r += kTen19;
  }
  if (r >= kTen19) [[unlikely]] {
    ++q1;
    r -= kTen19;
  }
  rem = r;
  return q1;
}

// v = v * mul + add; true on overflow (v then holds garbage and must be discarded).
inline bool mul_add_u64(U256& v, std::uint64_t mul, std::uint64_t add) noexcept {
  std::uint64_t carry = add;
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const u128 t = static_cast<u128>(v.limb[i]) * mul + carry;
    v.limb[i] = static_cast<std::uint64_t>(t);
    carry = static_cast<std::uint64_t>(t >> 64);
  }
  return carry != 0;
}

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<U256> parse_hex_digits(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  std::size_t i = 0;
  while (i < s.size() && s[i] == '0') ++i;  // leading zeros never overflow
  if (s.size() - i > 64) {
    for (std::size_t k = i; k < s.size(); ++k)
      if (hex_value(s[k]) < 0) return std::nullopt;
    return std::nullopt;  // too many significant digits
  }
  U256 v = U256::zero();
  unsigned nibble = 0;
  for (std::size_t k = s.size(); k-- > 0;) {
    const int d = hex_value(s[k]);
    if (d < 0) return std::nullopt;
    if (k >= i) {
      v.limb[nibble / 16] |= static_cast<std::uint64_t>(d) << (4 * (nibble % 16));
      ++nibble;
    }
  }
  return v;
}

std::optional<U256> parse_dec_digits(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  U256 v = U256::zero();
  std::size_t k = 0;
  while (k < s.size()) {
    const std::size_t take = s.size() - k < 19 ? s.size() - k : 19;
    std::uint64_t chunk = 0;
    for (std::size_t j = 0; j < take; ++j) {
      const char c = s[k + j];
      if (c < '0' || c > '9') return std::nullopt;
      chunk = chunk * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (mul_add_u64(v, kPow10[take], chunk)) {
      // Overflow; still reject junk later in the string the same way (result is empty anyway).
      return std::nullopt;
    }
    k += take;
  }
  return v;
}

}  // namespace

std::optional<U256> parse_u256(std::string_view s) noexcept {
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return parse_hex_digits(s.substr(2));
  return parse_dec_digits(s);
}

std::optional<I256> parse_i256(std::string_view s) noexcept {
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  const std::optional<U256> mag = parse_u256(s);
  if (!mag) return std::nullopt;
  const U256 limit = U256::pow2(255);
  if (negative) {
    if (*mag > limit) return std::nullopt;
    return I256::from_bits(U256::zero() - *mag);
  }
  if (*mag >= limit) return std::nullopt;
  return I256::from_bits(*mag);
}

char* to_chars_dec(char* first, char* last, const U256& v) noexcept {
  // Split into base-10^19 chunks (at most 5 for 78 digits) with 64-bit divisions.
  std::uint64_t chunks[5];
  int nchunks = 0;
  U256 x = v;
  do {
    const int m = detail::significant_limbs(x.limb, 4);
    std::uint64_t r = 0;
    for (int i = m - 1; i >= 0; --i) x.limb[i] = div_by_ten19(r, x.limb[i], r);
    chunks[nchunks++] = r;
  } while (!x.is_zero());
  char buf[80];
  char* p = buf + sizeof(buf);
  for (int c = 0; c < nchunks; ++c) {
    std::uint64_t chunk = chunks[c];
    if (c + 1 < nchunks) {
      for (int d = 0; d < 19; ++d) {
        *--p = static_cast<char>('0' + chunk % 10);
        chunk /= 10;
      }
    } else {
      do {
        *--p = static_cast<char>('0' + chunk % 10);
        chunk /= 10;
      } while (chunk != 0);
    }
  }
  const std::size_t len = static_cast<std::size_t>(buf + sizeof(buf) - p);
  if (first == nullptr || last < first || static_cast<std::size_t>(last - first) < len) return nullptr;
  for (std::size_t i = 0; i < len; ++i) first[i] = p[i];
  return first + len;
}

char* to_chars_dec(char* first, char* last, const I256& v) noexcept {
  if (!v.is_negative()) return to_chars_dec(first, last, v.bits());
  if (first == nullptr || last <= first) return nullptr;
  *first = '-';
  return to_chars_dec(first + 1, last, v.abs());
}

char* to_chars_hex(char* first, char* last, const U256& v) noexcept {
  static constexpr char kDigits[] = "0123456789abcdef";
  const unsigned bits = v.bit_length();
  const unsigned ndigits = bits == 0 ? 1 : (bits + 3) / 4;
  const std::size_t len = 2 + ndigits;
  if (first == nullptr || last < first || static_cast<std::size_t>(last - first) < len) return nullptr;
  first[0] = '0';
  first[1] = 'x';
  for (unsigned i = 0; i < ndigits; ++i) {
    const unsigned nib = ndigits - 1 - i;
    first[2 + i] = kDigits[(v.limb[nib / 16] >> (4 * (nib % 16))) & 0xF];
  }
  return first + len;
}

std::string to_string(const U256& v) {
  char buf[80];
  char* end = to_chars_dec(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

std::string to_string(const I256& v) {
  char buf[80];
  char* end = to_chars_dec(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

std::string to_hex(const U256& v) {
  char buf[80];
  char* end = to_chars_hex(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

std::optional<U256> U256::parse(std::string_view s) noexcept { return parse_u256(s); }
std::string U256::to_string() const { return torq::num::to_string(*this); }
std::string U256::to_hex() const { return torq::num::to_hex(*this); }
std::optional<I256> I256::parse(std::string_view s) noexcept { return parse_i256(s); }
std::string I256::to_string() const { return torq::num::to_string(*this); }

}  // namespace torq::num
