// torq/ops/json.hpp — a small JSON value, parser and writer for the operator surface.
//
// Owns `torq::ops::json::Value` (null, bool, number, string, array, object) with a strict RFC 8259
// parser and a compact writer. Numbers keep their source text, so decimal amounts (USD, wei) round
// trip exactly and never pass through a double. Objects keep insertion order (duplicate keys are a
// parse error). Used off the hot path only: the local-chain manifest, API request bodies, torqctl
// reading API responses, tests. Nesting is limited to 64 levels (deeper input is an error, never a
// stack overflow). Thread-safety: plain value types; parse() and the writer share no state.
// Allocates (std::string, std::vector) freely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace torq::ops::json {

enum class Type : std::uint8_t { null, boolean, number, string, array, object };

class Value {
 public:
  Value() = default;
  static Value make_null() { return Value{}; }
  static Value make_bool(bool b) { Value v; v.type_ = Type::boolean; v.bool_ = b; return v; }
  static Value make_number(std::string text) { Value v; v.type_ = Type::number; v.text_ = std::move(text); return v; }
  static Value make_string(std::string s) { Value v; v.type_ = Type::string; v.text_ = std::move(s); return v; }
  static Value make_array() { Value v; v.type_ = Type::array; return v; }
  static Value make_object() { Value v; v.type_ = Type::object; return v; }

  [[nodiscard]] Type type() const noexcept { return type_; }
  [[nodiscard]] bool is_null() const noexcept { return type_ == Type::null; }
  [[nodiscard]] bool is_bool() const noexcept { return type_ == Type::boolean; }
  [[nodiscard]] bool is_number() const noexcept { return type_ == Type::number; }
  [[nodiscard]] bool is_string() const noexcept { return type_ == Type::string; }
  [[nodiscard]] bool is_array() const noexcept { return type_ == Type::array; }
  [[nodiscard]] bool is_object() const noexcept { return type_ == Type::object; }

  [[nodiscard]] bool as_bool() const noexcept { return bool_; }
  // Number source text (e.g. "-12.5e3") or string contents (unescaped).
  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  // Exact integer value of a number written without fraction/exponent; empty otherwise.
  [[nodiscard]] std::optional<std::int64_t> as_int() const noexcept;
  [[nodiscard]] std::optional<std::uint64_t> as_uint() const noexcept;
  // Approximate value of a number (display only; never for money).
  [[nodiscard]] double as_double() const noexcept;

  [[nodiscard]] const std::vector<Value>& items() const noexcept { return items_; }
  [[nodiscard]] std::vector<Value>& items() noexcept { return items_; }
  [[nodiscard]] const std::vector<std::pair<std::string, Value>>& members() const noexcept { return members_; }
  // Object member by key, nullptr when absent or not an object.
  [[nodiscard]] const Value* find(std::string_view key) const noexcept;

  void push_back(Value v) { items_.push_back(std::move(v)); }
  void set(std::string key, Value v);  // replaces an existing member

 private:
  Type type_ = Type::null;
  bool bool_ = false;
  std::string text_;
  std::vector<Value> items_;
  std::vector<std::pair<std::string, Value>> members_;
};

struct ParseError {
  std::size_t offset = 0;   // byte offset of the problem
  std::string message;
};

// Parses exactly one JSON document (surrounding whitespace allowed). On failure returns nullopt
// and fills *error when given.
[[nodiscard]] std::optional<Value> parse(std::string_view text, ParseError* error = nullptr);

// Compact serialization (numbers written as their text; strings escaped, non-ASCII kept as UTF-8).
[[nodiscard]] std::string dump(const Value& v);
// Appends s as a JSON string literal (with quotes) to out. Valid UTF-8 is kept as is; a byte that
// does not start a well-formed sequence (stray continuation, overlong form, surrogate, truncated
// sequence, above U+10FFFF) is written as U+FFFD in UTF-8 (EF BF BD, not the "\ufffd" escape: a
// string that holds U+FFFD writes the same bytes, so encode(decode(x)) is stable), so the output is
// always valid JSON text.
void append_quoted(std::string& out, std::string_view s);

// Length of the well-formed UTF-8 sequence that starts at s[i] (1 for ASCII), 0 when the bytes
// there are not one. Requires i < s.size().
[[nodiscard]] std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;
// The longest prefix of s of at most max_bytes that does not end inside a UTF-8 sequence (an
// invalid byte counts as one character): where to cut s so that no character is split. O(max_bytes).
[[nodiscard]] std::size_t utf8_prefix_length(std::string_view s, std::size_t max_bytes) noexcept;

// Streaming writer for building responses without a Value tree. The caller keeps the structure
// balanced; commas are inserted automatically.
class Writer {
 public:
  Writer& begin_object();
  Writer& end_object();
  Writer& begin_array();
  Writer& end_array();
  Writer& key(std::string_view k);
  Writer& str(std::string_view s);
  Writer& raw_number(std::string_view digits);  // caller guarantees valid JSON number text
  Writer& num(std::int64_t v);
  Writer& num(std::uint64_t v);
  Writer& num(std::uint32_t v) { return num(static_cast<std::uint64_t>(v)); }
  Writer& num(int v) { return num(static_cast<std::int64_t>(v)); }
  Writer& num(double v);  // finite only (non-finite written as null)
  Writer& boolean(bool b);
  Writer& null();
  Writer& raw(std::string_view json);  // an already-serialized value

  [[nodiscard]] const std::string& str() const noexcept { return out_; }
  [[nodiscard]] std::string take() { return std::move(out_); }

 private:
  void sep();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace torq::ops::json
