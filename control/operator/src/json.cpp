// JSON value, strict parser and writer (see torq/ops/json.hpp).
#include "torq/ops/json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace torq::ops::json {

std::optional<std::int64_t> Value::as_int() const noexcept {
  if (type_ != Type::number) return std::nullopt;
  std::int64_t v = 0;
  const char* b = text_.data();
  const char* e = b + text_.size();
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc{} || p != e) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> Value::as_uint() const noexcept {
  if (type_ != Type::number || text_.empty() || text_[0] == '-') return std::nullopt;
  std::uint64_t v = 0;
  const char* b = text_.data();
  const char* e = b + text_.size();
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc{} || p != e) return std::nullopt;
  return v;
}

double Value::as_double() const noexcept {
  if (type_ != Type::number) return 0.0;
  return std::strtod(text_.c_str(), nullptr);
}

const Value* Value::find(std::string_view key) const noexcept {
  if (type_ != Type::object) return nullptr;
  for (const auto& [k, v] : members_) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Value::set(std::string key, Value v) {
  type_ = Type::object;
  for (auto& [k, old] : members_) {
    if (k == key) { old = std::move(v); return; }
  }
  members_.emplace_back(std::move(key), std::move(v));
}

namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  Parser(std::string_view s, ParseError* err) : s_(s), err_(err) {}

  std::optional<Value> document() {
    skip_ws();
    auto v = value(0);
    if (!v) return std::nullopt;
    skip_ws();
    if (pos_ != s_.size()) return fail("trailing characters after the document");
    return v;
  }

 private:
  std::nullopt_t fail(const char* msg) {
    if (err_ && !failed_) { err_->offset = pos_; err_->message = msg; }
    failed_ = true;
    return std::nullopt;
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool lit(std::string_view w) {
    if (s_.substr(pos_, w.size()) == w) { pos_ += w.size(); return true; }
    return false;
  }

  std::optional<Value> value(int depth) {
    if (depth >= kMaxDepth) return fail("nesting deeper than 64 levels");
    if (pos_ >= s_.size()) return fail("unexpected end of input");
    const char c = s_[pos_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') {
      auto s = string();
      if (!s) return std::nullopt;
      return Value::make_string(std::move(*s));
    }
    if (c == 't') { if (lit("true")) return Value::make_bool(true); return fail("invalid literal"); }
    if (c == 'f') { if (lit("false")) return Value::make_bool(false); return fail("invalid literal"); }
    if (c == 'n') { if (lit("null")) return Value::make_null(); return fail("invalid literal"); }
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    return fail("unexpected character");
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  std::optional<Value> number() {
    const std::size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || !digit(s_[pos_])) return fail("invalid number");
    if (s_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < s_.size() && digit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (pos_ >= s_.size() || !digit(s_[pos_])) return fail("invalid number fraction");
      while (pos_ < s_.size() && digit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (pos_ >= s_.size() || !digit(s_[pos_])) return fail("invalid number exponent");
      while (pos_ < s_.size() && digit(s_[pos_])) ++pos_;
    }
    return Value::make_number(std::string(s_.substr(start, pos_ - start)));
  }

  static void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::optional<std::uint32_t> hex4() {
    if (s_.size() - pos_ < 4) return std::nullopt;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else return std::nullopt;
    }
    return v;
  }

  std::optional<std::string> string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) { fail("unterminated string"); return std::nullopt; }
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') { ++pos_; return out; }
      if (c < 0x20) { fail("control character in string"); return std::nullopt; }
      if (c != '\\') { out += static_cast<char>(c); ++pos_; continue; }
      ++pos_;
      if (pos_ >= s_.size()) { fail("unterminated escape"); return std::nullopt; }
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          auto hi = hex4();
          if (!hi) { fail("invalid \\u escape"); return std::nullopt; }
          std::uint32_t cp = *hi;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!lit("\\u")) { fail("unpaired surrogate"); return std::nullopt; }
            auto lo = hex4();
            if (!lo || *lo < 0xDC00 || *lo > 0xDFFF) { fail("invalid surrogate pair"); return std::nullopt; }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (*lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("unpaired surrogate");
            return std::nullopt;
          }
          put_utf8(out, cp);
          break;
        }
        default: fail("invalid escape"); return std::nullopt;
      }
    }
  }

  std::optional<Value> array(int depth) {
    ++pos_;
    Value arr = Value::make_array();
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') { ++pos_; return arr; }
    while (true) {
      skip_ws();
      auto v = value(depth + 1);
      if (!v) return std::nullopt;
      arr.push_back(std::move(*v));
      skip_ws();
      if (pos_ >= s_.size()) return fail("unterminated array");
      if (s_[pos_] == ',') { ++pos_; continue; }
      if (s_[pos_] == ']') { ++pos_; return arr; }
      return fail("expected ',' or ']'");
    }
  }

  std::optional<Value> object(int depth) {
    ++pos_;
    Value obj = Value::make_object();
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') { ++pos_; return obj; }
    while (true) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a string key");
      auto k = string();
      if (!k) return std::nullopt;
      if (obj.find(*k) != nullptr) return fail("duplicate key");
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':'");
      ++pos_;
      skip_ws();
      auto v = value(depth + 1);
      if (!v) return std::nullopt;
      obj.set(std::move(*k), std::move(*v));
      skip_ws();
      if (pos_ >= s_.size()) return fail("unterminated object");
      if (s_[pos_] == ',') { ++pos_; continue; }
      if (s_[pos_] == '}') { ++pos_; return obj; }
      return fail("expected ',' or '}'");
    }
  }

  std::string_view s_;
  ParseError* err_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

void dump_into(std::string& out, const Value& v) {
  switch (v.type()) {
    case Type::null: out += "null"; break;
    case Type::boolean: out += v.as_bool() ? "true" : "false"; break;
    case Type::number: out += v.text(); break;
    case Type::string: append_quoted(out, v.text()); break;
    case Type::array: {
      out += '[';
      bool first = true;
      for (const auto& i : v.items()) {
        if (!first) out += ',';
        first = false;
        dump_into(out, i);
      }
      out += ']';
      break;
    }
    case Type::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, m] : v.members()) {
        if (!first) out += ',';
        first = false;
        append_quoted(out, k);
        out += ':';
        dump_into(out, m);
      }
      out += '}';
      break;
    }
  }
}

}  // namespace

std::optional<Value> parse(std::string_view text, ParseError* error) {
  Parser p(text, error);
  return p.document();
}

std::string dump(const Value& v) {
  std::string out;
  dump_into(out, v);
  return out;
}

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte (no overlongs, no surrogates)
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) { n = 3; lo = 0xA0; }
  else if (c >= 0xE1 && c <= 0xEC) n = 3;
  else if (c == 0xED) { n = 3; hi = 0x9F; }
  else if (c >= 0xEE && c <= 0xEF) n = 3;
  else if (c == 0xF0) { n = 4; lo = 0x90; }
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) { n = 4; hi = 0x8F; }
  else return 0;
  if (s.size() - i < n) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  return n;
}

std::size_t utf8_prefix_length(std::string_view s, std::size_t max_bytes) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t n = std::max<std::size_t>(1, utf8_sequence_length(s, i));  // an invalid byte stands alone
    if (i + n > max_bytes) break;
    i += n;
  }
  return i;
}

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        // Not UTF-8: U+FFFD, written as its UTF-8 bytes (not "\ufffd"), so that the output is
        // exactly what a string holding U+FFFD gives (encode(decode(x)) is stable).
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void Writer::sep() {
  if (after_key_) { after_key_ = false; return; }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
}

Writer& Writer::begin_object() { sep(); out_ += '{'; first_.push_back(true); return *this; }
Writer& Writer::end_object() { out_ += '}'; first_.pop_back(); return *this; }
Writer& Writer::begin_array() { sep(); out_ += '['; first_.push_back(true); return *this; }
Writer& Writer::end_array() { out_ += ']'; first_.pop_back(); return *this; }
Writer& Writer::key(std::string_view k) {
  sep();
  append_quoted(out_, k);
  out_ += ':';
  after_key_ = true;
  return *this;
}
Writer& Writer::str(std::string_view s) { sep(); append_quoted(out_, s); return *this; }
Writer& Writer::raw_number(std::string_view d) { sep(); out_ += d; return *this; }
Writer& Writer::num(std::int64_t v) { sep(); out_ += std::to_string(v); return *this; }
Writer& Writer::num(std::uint64_t v) { sep(); out_ += std::to_string(v); return *this; }
Writer& Writer::num(double v) {
  sep();
  if (!std::isfinite(v)) { out_ += "null"; return *this; }
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, ec == std::errc{} ? static_cast<std::size_t>(p - buf) : 0);
  return *this;
}
Writer& Writer::boolean(bool b) { sep(); out_ += b ? "true" : "false"; return *this; }
Writer& Writer::null() { sep(); out_ += "null"; return *this; }
Writer& Writer::raw(std::string_view j) { sep(); out_ += j; return *this; }

}  // namespace torq::ops::json
