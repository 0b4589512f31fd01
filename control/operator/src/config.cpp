// TOML configuration loader and validator (see torq/ops/config.hpp and docs/operator.md).
#include "torq/ops/config.hpp"

#include <stdexcept>

namespace torq::ops::detail {
// Thrown in place of toml++'s internal assertions (see below); the loader turns it into a syntax issue.
struct TomlInternalError : std::logic_error {
  using std::logic_error::logic_error;
};
[[noreturn]] void toml_internal_error(const char* what) { throw TomlInternalError(what); }
}  // namespace torq::ops::detail

// toml++ 3.3's parser has internal assertions that malformed input can reach (found by fuzz_config:
// "a = [}" fails `!is_value_terminator(*cp)` in parse_value, "[[@okens]]" one in parse_table_header).
// In a release build they become __builtin_assume / __builtin_unreachable, i.e. undefined behaviour,
// and with assertions on they abort. This is the only translation unit that includes toml++, so we
// compile it with every assertion and "unreachable" turned into an exception the loader reports as a
// syntax error. Config parsing is start-up / control-plane code, where throwing is allowed.
#pragma push_macro("NDEBUG")
#undef NDEBUG
#define TOML_ASSERT(expr) ((expr) ? static_cast<void>(0) : ::torq::ops::detail::toml_internal_error(#expr))
#include <toml++/impl/preprocessor.h>
#undef TOML_UNREACHABLE
#define TOML_UNREACHABLE ::torq::ops::detail::toml_internal_error("unreachable")
#include <toml++/toml.h>
#pragma pop_macro("NDEBUG")

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "torq/ops/json.hpp"

namespace torq::ops {

std::string_view to_string(EndpointScheme s) noexcept {
  switch (s) {
    case EndpointScheme::ws: return "ws";
    case EndpointScheme::wss: return "wss";
    case EndpointScheme::http: return "http";
    case EndpointScheme::https: return "https";
  }
  return "?";
}
std::string_view to_string(VenueKind k) noexcept {
  switch (k) {
    case VenueKind::v2: return "v2";
    case VenueKind::v3: return "v3";
    case VenueKind::algebra: return "algebra";
  }
  return "?";
}
std::string_view to_string(DeployMode m) noexcept {
  return m == DeployMode::monolith ? "monolith" : "distributed";
}
std::string_view to_string(Role r) noexcept {
  switch (r) {
    case Role::collector: return "collector";
    case Role::strategy: return "strategy";
    case Role::executor: return "executor";
    case Role::dashboard: return "dashboard";
  }
  return "?";
}
std::string_view to_string(NicBackend b) noexcept { return b == NicBackend::dpdk ? "dpdk" : "kernel"; }
std::optional<Role> parse_role(std::string_view s) noexcept {
  if (s == "collector") return Role::collector;
  if (s == "strategy") return Role::strategy;
  if (s == "executor") return Role::executor;
  if (s == "dashboard") return Role::dashboard;
  return std::nullopt;
}

namespace {

std::string join_issues(const std::string& source, const std::vector<ConfigIssue>& issues) {
  std::string out;
  for (const auto& i : issues) {
    if (!out.empty()) out += '\n';
    out += source;
    out += ':';
    out += std::to_string(i.line);
    out += ": ";
    out += i.key;
    out += ": ";
    out += i.message;
  }
  return out;
}

}  // namespace

ConfigError::ConfigError(std::string source, std::vector<ConfigIssue> issues)
    : std::runtime_error(join_issues(source, issues)), source_(std::move(source)), issues_(std::move(issues)) {}

std::string format_issues(const ConfigError& e) { return e.what(); }

namespace {

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

bool is_address(std::string_view s) {
  if (s.size() != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
  return std::all_of(s.begin() + 2, s.end(), is_hex);
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

bool is_ipv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t j = i;
    unsigned v = 0;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])) && j - i < 4) v = v * 10 + static_cast<unsigned>(s[j++] - '0');
    if (j == i || j - i > 3 || v > 255) return false;
    ++parts;
    if (j == s.size()) break;
    if (s[j] != '.') return false;
    i = j + 1;
  }
  return parts == 4;
}

class Loader {
 public:
  Loader(std::string source, const LoadOptions& opt) : source_(std::move(source)), opt_(opt) {}

  // toml++ 3.3 reaches __builtin_unreachable() (undefined behaviour) on some non-ASCII code points
  // in bare positions (found by fuzz_config, e.g. "key  \xC3\x9F"). TOML only allows non-ASCII
  // inside strings and comments anyway, so refuse it elsewhere before the parser sees it.
  bool ascii_outside_strings(std::string_view t) {
    std::uint32_t line = 1;
    std::size_t i = 0;
    bool line_start = true;  // only whitespace so far on this line
    auto starts = [&](std::string_view w) { return t.substr(i, w.size()) == w; };
    auto key_start = [](char k) {
      return std::isalnum(static_cast<unsigned char>(k)) != 0 || k == '_' || k == '-' || k == '"' || k == '\'';
    };
    while (i < t.size()) {
      const char c = t[i];
      if (c == '\n') { ++line; ++i; line_start = true; continue; }
      if (line_start && c == '[') {
        // toml++ 3.3 asserts (and without assertions has undefined behaviour) when a table header
        // or one of its dotted parts does not start with a key (found by fuzz_config: "[[@okens]]").
        std::size_t j = i + 1;
        if (j < t.size() && t[j] == '[') ++j;
        for (;;) {
          while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
          if (j >= t.size() || !key_start(t[j])) {
            issue("(syntax)", line, "table header must name a key");
            return false;
          }
          if (t[j] == '"' || t[j] == '\'') break;  // quoted keys: leave the rest to the parser
          while (j < t.size() && key_start(t[j]) && t[j] != '"' && t[j] != '\'') ++j;
          while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
          if (j < t.size() && t[j] == '.') {
            ++j;
            continue;
          }
          break;
        }
      }
      if (c != ' ' && c != '\t' && c != '\r') line_start = false;
      if (c == '#') {
        while (i < t.size() && t[i] != '\n') ++i;
        continue;
      }
      if (starts(R"(""")") || starts("'''")) {
        const std::string_view close = t.substr(i, 3);
        i += 3;
        while (i < t.size() && !starts(close)) {
          if (t[i] == '\n') ++line;
          if (close[0] == '"' && t[i] == '\\') ++i;
          ++i;
        }
        i += 3;
        continue;
      }
      if (c == '"' || c == '\'') {
        ++i;
        while (i < t.size() && t[i] != c && t[i] != '\n') {
          if (c == '"' && t[i] == '\\') ++i;
          ++i;
        }
        ++i;
        continue;
      }
      if (static_cast<unsigned char>(c) >= 0x80) {
        issue("(syntax)", line, "non-ASCII character outside a string or comment");
        return false;
      }
      ++i;
    }
    return true;
  }

  // The heuristic scan above gives friendly messages but does not tokenize exactly like toml++
  // (fuzz_config: `address = 0"x…\xC6\x9E…"` is a bare value to toml++, a string to the scan), and
  // toml++ 3.3's Unicode tables reach __builtin_unreachable() for most code points in
  // U+00A1..U+049A wherever it asks "is this whitespace?" (bare positions, and the whitespace a
  // line-ending backslash skips in a multi-line string). So when the text has any non-ASCII byte,
  // first parse a copy with every such byte replaced by '~': pure ASCII is safe, and '~' is legal
  // only inside strings and comments. If the copy parses, every non-ASCII byte of the original
  // sits in a string or comment (the parser's state is identical up to the first one, and by
  // induction after each), where toml++ only compares code points against ASCII delimiters, except
  // right after a line-ending backslash, which is refused separately.
  bool non_ascii_only_in_strings(std::string_view text) {
    std::string ascii(text);
    bool any = false;
    for (char& ch : ascii) {
      if (static_cast<unsigned char>(ch) >= 0x80) {
        ch = '~';
        any = true;
      }
    }
    if (!any) return true;
    auto line_has_non_ascii = [&](std::uint32_t line) {
      std::uint32_t l = 1;
      for (char ch : text) {
        if (ch == '\n') ++l;
        else if (l == line && static_cast<unsigned char>(ch) >= 0x80) return true;
        if (l > line) break;
      }
      return false;
    };
    try {
      (void)toml::parse(ascii, source_);
    } catch (const toml::parse_error& e) {
      const std::uint32_t line = e.source().begin.line;
      issue("(syntax)", line,
            line_has_non_ascii(line) ? std::string("non-ASCII character outside a string or comment")
                                     : std::string(e.description()));
      return false;
    } catch (const detail::TomlInternalError& e) {
      issue("(syntax)", 0, std::string("malformed TOML rejected by the parser (") + e.what() + ")");
      return false;
    }
    // A backslash, optional blanks, a line break, then blanks/line breaks and a non-ASCII byte.
    std::uint32_t line = 1;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') ++line;
      if (text[i] != '\\') continue;
      std::size_t j = i + 1;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) ++j;
      if (j >= text.size() || text[j] != '\n') continue;
      std::uint32_t at = line;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n')) {
        if (text[j] == '\n') ++at;
        ++j;
      }
      if (j < text.size() && static_cast<unsigned char>(text[j]) >= 0x80) {
        issue("(syntax)", at, "non-ASCII character right after a line-ending backslash");
        return false;
      }
    }
    return true;
  }

  TorqConfig run(std::string_view text) {
    if (!ascii_outside_strings(text) || !non_ascii_only_in_strings(text)) throw ConfigError(source_, std::move(issues_));
    toml::table root;
    try {
      root = toml::parse(text, source_);
    } catch (const toml::parse_error& e) {
      issue("(syntax)", e.source().begin.line, std::string(e.description()));
      throw ConfigError(source_, std::move(issues_));
    } catch (const detail::TomlInternalError& e) {
      issue("(syntax)", 0, std::string("malformed TOML rejected by the parser (") + e.what() + ")");
      throw ConfigError(source_, std::move(issues_));
    }
    TorqConfig cfg;
    cfg.source = source_;
    check_keys(root, "", {"include_manifest", "chain", "endpoints", "tokens", "venues", "pools", "strategy",
                          "risk", "key", "executor", "cores", "mode", "nic", "api", "dashboard", "metrics", "alerts"});
    std::uint32_t manifest_line = 0;
    if (auto m = string_at(root, "include_manifest", "include_manifest", false, &manifest_line)) {
      cfg.manifest = resolve(*m);
    }
    chain(root, cfg);
    endpoints(root, cfg);
    tokens(root, cfg);
    venues(root, cfg);
    pools(root, cfg);
    if (!cfg.manifest.empty()) manifest(cfg, manifest_line);
    strategy(root, cfg);
    risk(root, cfg);
    key(root, cfg);
    executor(root, cfg);
    cores(root, cfg);
    mode(root, cfg);
    nic(root, cfg);
    api(root, cfg);
    dashboard(root, cfg);
    metrics(root, cfg);
    alerts(root, cfg);
    cross_checks(cfg);
    if (!issues_.empty()) throw ConfigError(source_, std::move(issues_));
    return cfg;
  }

 private:
  void issue(std::string key, std::uint32_t line, std::string msg) {
    issues_.push_back(ConfigIssue{std::move(key), line, std::move(msg)});
  }
  static std::uint32_t line_of(const toml::node& n) { return n.source().begin.line; }
  // A key as TOML would write it: bare when it can be, otherwise quoted (so an empty or odd key
  // from the file, e.g. `'' = 0`, still names something in the issue; found by fuzz_config).
  static std::string key_text(std::string_view k) {
    const bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
    });
    if (bare) return std::string(k);
    std::string q = "\"";
    for (char c : k) {
      if (c == '"' || c == '\\') q += '\\';
      q += c;
    }
    q += '"';
    return q;
  }
  static std::string join(std::string_view path, std::string_view k) {
    if (path.empty()) return key_text(k);
    std::string o(path);
    o += '.';
    o += key_text(k);
    return o;
  }
  std::string resolve(const std::string& p) const {
    if (p.empty()) return p;
    std::filesystem::path fp(p);
    if (fp.is_relative() && !opt_.base_dir.empty()) fp = opt_.base_dir / fp;
    return fp.lexically_normal().string();
  }

  void check_keys(const toml::table& t, std::string_view path, std::initializer_list<std::string_view> allowed) {
    for (const auto& [k, v] : t) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end()) {
        std::string msg = "unknown key (allowed here: ";
        bool first = true;
        for (auto a : allowed) {
          if (!first) msg += ", ";
          first = false;
          msg += a;
        }
        msg += ')';
        issue(join(path, k.str()), k.source().begin.line ? k.source().begin.line : line_of(v), msg);
      }
    }
  }

  std::optional<std::string> getenv(const std::string& name) const {
    if (opt_.getenv) return opt_.getenv(name);
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  }

  // ${NAME} and ${NAME:-default}; "$$" is a literal '$'.
  std::optional<std::string> expand(const std::string& in, const std::string& key, std::uint32_t line) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] != '$') { out += in[i]; continue; }
      if (i + 1 < in.size() && in[i + 1] == '$') { out += '$'; ++i; continue; }
      if (i + 1 >= in.size() || in[i + 1] != '{') { out += '$'; continue; }
      const auto close = in.find('}', i + 2);
      if (close == std::string::npos) {
        issue(key, line, "unterminated ${ in value");
        return std::nullopt;
      }
      std::string body = in.substr(i + 2, close - i - 2);
      std::optional<std::string> def;
      if (auto d = body.find(":-"); d != std::string::npos) {
        def = body.substr(d + 2);
        body.resize(d);
      }
      const bool valid_name = !body.empty() && std::all_of(body.begin(), body.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      });
      if (!valid_name) {
        issue(key, line, "invalid environment variable name in ${" + body + "}");
        return std::nullopt;
      }
      auto v = getenv(body);
      if (!v || v->empty()) {
        if (!def) {
          issue(key, line, "environment variable " + body + " is not set (referenced as ${" + body + "})");
          return std::nullopt;
        }
        v = def;
      }
      out += *v;
      i = close;
    }
    return out;
  }

  const toml::node* node_at(const toml::table& t, std::string_view k, const std::string& full, bool required,
                            std::uint32_t parent_line) {
    const toml::node* n = t.get(k);
    if (n == nullptr && required) issue(full, parent_line, "required key is missing");
    return n;
  }

  std::optional<std::string> string_at(const toml::table& t, std::string_view k, const std::string& full, bool required,
                                       std::uint32_t* line_out = nullptr) {
    const toml::node* n = node_at(t, k, full, required, line_of(t));
    if (n == nullptr) return std::nullopt;
    if (line_out) *line_out = line_of(*n);
    const auto* s = n->as_string();
    if (s == nullptr) {
      issue(full, line_of(*n), "expected a string");
      return std::nullopt;
    }
    return expand(s->get(), full, line_of(*n));
  }

  std::optional<std::int64_t> int_at(const toml::table& t, std::string_view k, const std::string& full, bool required,
                                     std::int64_t lo, std::int64_t hi) {
    const toml::node* n = node_at(t, k, full, required, line_of(t));
    if (n == nullptr) return std::nullopt;
    const auto* i = n->as_integer();
    if (i == nullptr) {
      issue(full, line_of(*n), "expected an integer");
      return std::nullopt;
    }
    const std::int64_t v = i->get();
    if (v < lo || v > hi) {
      issue(full, line_of(*n), "value " + std::to_string(v) + " out of range [" + std::to_string(lo) + ", " +
                                   std::to_string(hi) + "]");
      return std::nullopt;
    }
    return v;
  }

  template <class T>
  void set_uint(const toml::table& t, std::string_view k, const std::string& path, bool required, T& out,
                std::int64_t lo, std::int64_t hi) {
    if (auto v = int_at(t, k, join(path, k), required, lo, hi)) out = static_cast<T>(*v);
  }

  std::optional<bool> bool_at(const toml::table& t, std::string_view k, const std::string& full) {
    const toml::node* n = t.get(k);
    if (n == nullptr) return std::nullopt;
    const auto* b = n->as_boolean();
    if (b == nullptr) {
      issue(full, line_of(*n), "expected true or false");
      return std::nullopt;
    }
    return b->get();
  }

  // USD: a decimal string ("12.5") or an integer; floats refused (inexact).
  std::optional<UsdFixedPoint8> usd_node(const toml::node& n, const std::string& full, bool allow_negative = false) {
    std::optional<UsdFixedPoint8> v;
    if (const auto* s = n.as_string()) {
      auto e = expand(s->get(), full, line_of(n));
      if (!e) return std::nullopt;
      v = num::parse_usd(*e);
      if (!v) {
        issue(full, line_of(n), "\"" + *e + "\" is not a USD amount (decimal with at most 8 fraction digits, e.g. \"0.25\")");
        return std::nullopt;
      }
    } else if (const auto* i = n.as_integer()) {
      v = UsdFixedPoint8::from_usd(i->get());
      if (!v) {
        issue(full, line_of(n), "USD amount out of range");
        return std::nullopt;
      }
    } else if (n.is_floating_point()) {
      issue(full, line_of(n), "floating-point USD amounts are inexact: write it as a decimal string, e.g. \"0.25\"");
      return std::nullopt;
    } else {
      issue(full, line_of(n), "expected a USD amount as a decimal string");
      return std::nullopt;
    }
    if (!allow_negative && v->is_negative()) {
      issue(full, line_of(n), "must not be negative");
      return std::nullopt;
    }
    return v;
  }
  void set_usd(const toml::table& t, std::string_view k, const std::string& path, bool required, UsdFixedPoint8& out) {
    const std::string full = join(path, k);
    const toml::node* n = node_at(t, k, full, required, line_of(t));
    if (n == nullptr) return;
    if (auto v = usd_node(*n, full)) out = *v;
  }

  const toml::table* section(const toml::table& root, std::string_view k, bool required) {
    const toml::node* n = root.get(k);
    if (n == nullptr) {
      if (required) issue(std::string(k), 0, "required section [" + std::string(k) + "] is missing");
      return nullptr;
    }
    const auto* t = n->as_table();
    if (t == nullptr) issue(std::string(k), line_of(*n), "expected a table [" + std::string(k) + "]");
    return t;
  }

  // Array of tables; calls f(table, "name[i]") for each.
  template <class F>
  void each_table(const toml::table& root, std::string_view k, F&& f) {
    const toml::node* n = root.get(k);
    if (n == nullptr) return;
    const auto* arr = n->as_array();
    if (arr == nullptr) {
      issue(std::string(k), line_of(*n), "expected an array of tables [[" + std::string(k) + "]]");
      return;
    }
    std::size_t i = 0;
    for (const auto& el : *arr) {
      const std::string path = std::string(k) + "[" + std::to_string(i++) + "]";
      const auto* t = el.as_table();
      if (t == nullptr) {
        issue(path, line_of(el), "expected a table");
        continue;
      }
      f(*t, path);
    }
  }

  void chain(const toml::table& root, TorqConfig& cfg) {
    const auto* t = section(root, "chain", true);
    if (t == nullptr) return;
    check_keys(*t, "chain", {"name", "chain_id", "native_token"});
    if (auto v = string_at(*t, "native_token", "chain.native_token", false)) {
      if (v->empty()) issue("chain.native_token", line_of(*t->get("native_token")), "must not be empty (leave it out for WMATIC/WPOL/POL)");
      cfg.chain.native_token = *v;
    }
    if (auto v = string_at(*t, "name", "chain.name", true)) {
      if (v->empty()) issue("chain.name", line_of(*t->get("name")), "must not be empty");
      cfg.chain.name = *v;
    }
    // chain_id may come from the manifest
    set_uint(*t, "chain_id", "chain", cfg.manifest.empty(), cfg.chain.chain_id, 1, INT64_MAX);
  }

  std::optional<EndpointScheme> scheme_of(std::string_view url) {
    if (url.rfind("wss://", 0) == 0) return EndpointScheme::wss;
    if (url.rfind("ws://", 0) == 0) return EndpointScheme::ws;
    if (url.rfind("https://", 0) == 0) return EndpointScheme::https;
    if (url.rfind("http://", 0) == 0) return EndpointScheme::http;
    return std::nullopt;
  }

  void endpoints(const toml::table& root, TorqConfig& cfg) {
    each_table(root, "endpoints", [&](const toml::table& t, const std::string& path) {
      check_keys(t, path, {"url", "requests_per_second", "priority"});
      EndpointConfig e;
      if (auto u = string_at(t, "url", path + ".url", true)) {
        auto s = scheme_of(*u);
        const auto hostpart = s ? u->substr(u->find("://") + 3) : std::string();
        if (!s) {
          issue(path + ".url", line_of(*t.get("url")), "URL must start with ws://, wss://, http:// or https://");
        } else if (hostpart.empty() || hostpart[0] == '/' || hostpart[0] == ':') {
          issue(path + ".url", line_of(*t.get("url")), "URL has no host");
        } else {
          e.scheme = *s;
          e.url = *u;
        }
      }
      set_uint(t, "requests_per_second", path, false, e.requests_per_second, 1, 100000);
      set_uint(t, "priority", path, false, e.priority, 0, 1000);
      cfg.endpoints.push_back(std::move(e));
    });
  }

  void tokens(const toml::table& root, TorqConfig& cfg) {
    each_table(root, "tokens", [&](const toml::table& t, const std::string& path) {
      check_keys(t, path, {"symbol", "address", "decimals", "usd_reference"});
      TokenConfig tk;
      if (auto s = string_at(t, "symbol", path + ".symbol", true)) {
        if (s->empty() || s->size() > 16) issue(path + ".symbol", line_of(*t.get("symbol")), "symbol must be 1-16 characters");
        tk.symbol = *s;
      }
      if (auto a = string_at(t, "address", path + ".address", true)) {
        if (!is_address(*a)) issue(path + ".address", line_of(*t.get("address")), "expected 0x followed by 40 hex digits");
        tk.address = *a;
      }
      set_uint(t, "decimals", path, true, tk.decimals, 0, 36);
      set_usd(t, "usd_reference", path, false, tk.usd_reference);
      cfg.tokens.push_back(std::move(tk));
    });
  }

  std::optional<VenueKind> venue_kind(std::string_view s) {
    if (s == "v2") return VenueKind::v2;
    if (s == "v3") return VenueKind::v3;
    if (s == "algebra") return VenueKind::algebra;
    return std::nullopt;
  }

  void venues(const toml::table& root, TorqConfig& cfg) {
    each_table(root, "venues", [&](const toml::table& t, const std::string& path) {
      check_keys(t, path, {"name", "kind", "factory", "fee"});
      VenueConfig v;
      if (auto s = string_at(t, "name", path + ".name", true)) {
        if (s->empty()) issue(path + ".name", line_of(*t.get("name")), "must not be empty");
        v.name = *s;
      }
      if (auto s = string_at(t, "kind", path + ".kind", true)) {
        if (auto k = venue_kind(*s)) v.kind = *k;
        else issue(path + ".kind", line_of(*t.get("kind")), "\"" + *s + "\" is not a venue kind (v2, v3 or algebra)");
      }
      if (auto a = string_at(t, "factory", path + ".factory", true)) {
        if (!is_address(*a)) issue(path + ".factory", line_of(*t.get("factory")), "expected 0x followed by 40 hex digits");
        v.factory = *a;
      }
      set_uint(t, "fee", path, false, v.fee_ppm, 0, 999'999);
      if (v.kind == VenueKind::v2 && t.get("fee") == nullptr)
        issue(path + ".fee", line_of(t), "v2 venues need their constant fee in ppm (e.g. 3000 for 0.3%)");
      cfg.venues.push_back(std::move(v));
    });
  }

  void pools(const toml::table& root, TorqConfig& cfg) {
    each_table(root, "pools", [&](const toml::table& t, const std::string& path) {
      check_keys(t, path, {"venue", "address"});
      PoolConfig p;
      if (auto s = string_at(t, "venue", path + ".venue", true)) p.venue = *s;
      if (auto a = string_at(t, "address", path + ".address", true)) {
        if (!is_address(*a)) issue(path + ".address", line_of(*t.get("address")), "expected 0x followed by 40 hex digits");
        p.address = *a;
      }
      cfg.pools.push_back(std::move(p));
    });
  }

  void manifest(TorqConfig& cfg, std::uint32_t line) {
    const std::string key = "include_manifest";
    std::ifstream in(cfg.manifest, std::ios::binary);
    if (!in) {
      issue(key, line, "cannot read manifest file " + cfg.manifest);
      return;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    json::ParseError perr;
    auto doc = json::parse(ss.str(), &perr);
    if (!doc || !doc->is_object()) {
      issue(key, line, "manifest " + cfg.manifest + " is not valid JSON (offset " + std::to_string(perr.offset) + ": " +
                           perr.message + ")");
      return;
    }
    auto bad = [&](const std::string& what) { issue(key, line, "manifest " + cfg.manifest + ": " + what); };
    const auto* schema = doc->find("schema");
    if (schema == nullptr || !schema->is_string() || schema->text() != "torq-local-chain/1") {
      bad("schema is not \"torq-local-chain/1\"");
      return;
    }
    if (const auto* id = doc->find("chainId"); id && id->as_uint()) {
      if (cfg.chain.chain_id == 0) cfg.chain.chain_id = *id->as_uint();
      else if (cfg.chain.chain_id != *id->as_uint())
        bad("chainId " + id->text() + " differs from chain.chain_id " + std::to_string(cfg.chain.chain_id));
    } else {
      bad("chainId missing");
    }
    if (cfg.endpoints.empty()) {
      if (const auto* rpc = doc->find("rpc"); rpc && rpc->is_object()) {
        std::uint32_t prio = 0;
        for (const char* k : {"ws", "http"}) {
          const auto* u = rpc->find(k);
          if (u == nullptr || !u->is_string()) continue;
          auto s = scheme_of(u->text());
          if (!s) { bad(std::string("rpc.") + k + " is not a URL"); continue; }
          cfg.endpoints.push_back(EndpointConfig{u->text(), *s, 1000, prio++});
        }
      }
    }
    auto str = [](const json::Value& o, std::string_view k) -> std::string {
      const auto* v = o.find(k);
      return v && v->is_string() ? v->text() : std::string();
    };
    if (const auto* ts = doc->find("tokens"); ts && ts->is_array()) {
      std::size_t i = 0;
      for (const auto& t : ts->items()) {
        const std::string at = "tokens[" + std::to_string(i++) + "]";
        TokenConfig tk;
        tk.symbol = str(t, "symbol");
        tk.address = str(t, "address");
        const auto* d = t.find("decimals");
        const auto* p = t.find("usdPrice");
        auto usd = p && p->is_number() ? num::parse_usd(p->text()) : std::nullopt;
        if (tk.symbol.empty() || !is_address(tk.address) || !d || !d->as_uint() || *d->as_uint() > 36 || !usd) {
          bad(at + " needs symbol, address, decimals (0-36) and a decimal usdPrice");
          continue;
        }
        tk.decimals = static_cast<std::uint8_t>(*d->as_uint());
        tk.usd_reference = *usd;
        cfg.tokens.push_back(std::move(tk));
      }
    }
    if (const auto* vs = doc->find("venues"); vs && vs->is_array()) {
      std::size_t i = 0;
      for (const auto& v : vs->items()) {
        const std::string at = "venues[" + std::to_string(i++) + "]";
        VenueConfig vc;
        vc.name = str(v, "name");
        vc.factory = str(v, "factory");
        auto k = venue_kind(str(v, "kind"));
        if (vc.name.empty() || !is_address(vc.factory) || !k) {
          bad(at + " needs name, kind (v2, v3, algebra) and factory");
          continue;
        }
        vc.kind = *k;
        if (const auto* fr = v.find("feeRule"); fr && fr->is_object()) {
          if (const auto* f = fr->find("fee"); f && f->as_uint()) vc.fee_ppm = static_cast<std::uint32_t>(*f->as_uint());
        }
        cfg.venues.push_back(std::move(vc));
      }
    }
    if (const auto* ps = doc->find("pools"); ps && ps->is_array()) {
      std::size_t i = 0;
      for (const auto& p : ps->items()) {
        const std::string at = "pools[" + std::to_string(i++) + "]";
        PoolConfig pc{str(p, "venue"), str(p, "address")};
        if (pc.venue.empty() || !is_address(pc.address)) {
          bad(at + " needs venue and address");
          continue;
        }
        cfg.pools.push_back(std::move(pc));
      }
    }
    if (cfg.chain.name.empty()) cfg.chain.name = "local";
    manifest_keys_file_ = str(*doc, "keysFile");
  }

  void strategy(const toml::table& root, TorqConfig& cfg) {
    const auto* t = section(root, "strategy", true);
    if (t == nullptr) return;
    check_keys(*t, "strategy", {"min_profit_usd", "gas_units_2hop", "gas_units_3hop", "gas_limit_headroom_pct", "priority_fee_gwei",
                                  "reference_pools"});
    auto& s = cfg.strategy;
    set_usd(*t, "min_profit_usd", "strategy", true, s.min_profit_usd);
    set_uint(*t, "gas_units_2hop", "strategy", false, s.gas_units_2hop, 21'000, 30'000'000);
    set_uint(*t, "gas_units_3hop", "strategy", false, s.gas_units_3hop, 21'000, 30'000'000);
    set_uint(*t, "gas_limit_headroom_pct", "strategy", false, s.gas_limit_headroom_pct, 0, 400);
    set_uint(*t, "priority_fee_gwei", "strategy", false, s.priority_fee_gwei, 0, 100'000);
    each_string(*t, "reference_pools", "strategy.reference_pools", "expected an array of pool addresses",
                [&](std::string e, const std::string& k, std::uint32_t line) {
                  if (!is_address(e)) issue(k, line, "expected 0x followed by 40 hex digits");
                  else s.reference_pools.push_back(std::move(e));
                });
    if (cfg.chain.chain_id == 137 && s.priority_fee_gwei < 25) {
      const toml::node* n = t->get("priority_fee_gwei");
      issue("strategy.priority_fee_gwei", n ? line_of(*n) : line_of(*t),
            "Polygon (chain 137) nodes reject priority fees below 25 gwei");
    }
  }

  void risk(const toml::table& root, TorqConfig& cfg) {
    const auto* t = section(root, "risk", true);
    if (t == nullptr) return;
    check_keys(*t, "risk", {"max_notional_usd", "per_token_exposure_usd", "max_in_flight", "daily_loss_usd",
                            "max_drawdown_usd", "breaker_reverts", "breaker_cooldown_s", "stale_blocks",
                            "max_gas_price_gwei", "kill_switch"});
    auto& r = cfg.risk;
    set_usd(*t, "max_notional_usd", "risk", true, r.max_notional_usd);
    set_usd(*t, "daily_loss_usd", "risk", true, r.daily_loss_usd);
    set_usd(*t, "max_drawdown_usd", "risk", true, r.max_drawdown_usd);
    set_uint(*t, "max_in_flight", "risk", true, r.max_in_flight, 1, 64);  // torqd's order slots
    set_uint(*t, "breaker_reverts", "risk", true, r.breaker_reverts, 1, 1000);
    set_uint(*t, "breaker_cooldown_s", "risk", false, r.breaker_cooldown_s, 0, 86400 * 7);
    set_uint(*t, "stale_blocks", "risk", false, r.stale_blocks, 0, 1000);
    set_uint(*t, "max_gas_price_gwei", "risk", true, r.max_gas_price_gwei, 1, 1'000'000);
    if (auto b = bool_at(*t, "kill_switch", "risk.kill_switch")) r.kill_switch = *b;
    if (r.max_notional_usd.is_zero() && t->get("max_notional_usd"))
      issue("risk.max_notional_usd", line_of(*t->get("max_notional_usd")), "must be greater than 0");
    if (const toml::node* n = t->get("per_token_exposure_usd")) {
      const auto* pt = n->as_table();
      if (pt == nullptr) {
        issue("risk.per_token_exposure_usd", line_of(*n), "expected a table of SYMBOL = \"usd\"");
      } else {
        for (const auto& [k, v] : *pt) {
          const std::string full = "risk.per_token_exposure_usd." + std::string(k.str());
          if (auto u = usd_node(v, full)) r.per_token_exposure_usd[std::string(k.str())] = *u;
          exposure_lines_[std::string(k.str())] = line_of(v);
        }
      }
    }
  }

  void key(const toml::table& root, TorqConfig& cfg) {
    const auto* t = section(root, "key", true);
    if (t == nullptr) return;
    check_keys(*t, "key", {"file", "env", "manifest_role"});
    std::optional<std::string> file, env, role;
    file = string_at(*t, "file", "key.file", false);
    if (const toml::node* n = t->get("env")) {
      if (const auto* s = n->as_string()) {
        env = s->get();  // the NAME of the variable, never expanded here (the key stays out of the config)
        const bool ok = !env->empty() && std::all_of(env->begin(), env->end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        });
        if (!ok) {
          issue("key.env", line_of(*n), "expected an environment variable name such as TORQ_SIGNER_KEY");
        } else if (env->size() >= 64 && std::all_of(env->begin() + (env->rfind("0x", 0) == 0 ? 2 : 0), env->end(), is_hex)) {
          issue("key.env", line_of(*n), "this looks like a private key: give the NAME of the variable that holds it");
        }
      } else {
        issue("key.env", line_of(*n), "expected a string");
      }
    }
    role = string_at(*t, "manifest_role", "key.manifest_role", false);
    const int count = (file ? 1 : 0) + (env ? 1 : 0) + (role ? 1 : 0);
    if (count != 1) {
      issue("key", line_of(*t), "set exactly one of key.file, key.env or key.manifest_role");
      return;
    }
    if (file) {
      if (file->size() >= 64 && std::all_of(file->begin() + (file->rfind("0x", 0) == 0 ? 2 : 0), file->end(), is_hex))
        issue("key.file", line_of(*t->get("file")), "this looks like a private key: name a file holding it instead");
      cfg.key.file = resolve(*file);
    }
    if (env) cfg.key.env = *env;
    if (role) {
      if (cfg.manifest.empty()) {
        issue("key.manifest_role", line_of(*t->get("manifest_role")), "needs include_manifest");
      } else if (manifest_keys_file_.empty()) {
        issue("key.manifest_role", line_of(*t->get("manifest_role")), "the manifest has no keysFile");
      } else {
        cfg.key.file = manifest_keys_file_ + "#" + *role;  // keys file + role, read by the executor
      }
    }
  }

  void executor(const toml::table& root, TorqConfig& cfg) {
    const auto* t = section(root, "executor", false);
    if (t == nullptr) return;
    check_keys(*t, "executor", {"contract", "audit_file"});
    if (auto c = string_at(*t, "contract", "executor.contract", false)) {
      if (!c->empty() && !is_address(*c)) issue("executor.contract", line_of(*t->get("contract")), "expected a 0x-prefixed 20-byte address");
      cfg.executor.contract = *c;
    }
    if (auto f = string_at(*t, "audit_file", "executor.audit_file", false)) cfg.executor.audit_file = resolve(*f);
  }

  void cores(const toml::table& root, TorqConfig& cfg) {
    const auto* t = section(root, "cores", false);
    if (t == nullptr) return;
    check_keys(*t, "cores", {"collector", "strategy", "executor"});
    set_uint(*t, "collector", "cores", false, cfg.cores.collector, -1, 4095);
    set_uint(*t, "strategy", "cores", false, cfg.cores.strategy, -1, 4095);
    set_uint(*t, "executor", "cores", false, cfg.cores.executor, -1, 4095);
    const int ids[] = {cfg.cores.collector, cfg.cores.strategy, cfg.cores.executor};
    const char* names[] = {"collector", "strategy", "executor"};
    for (int i = 0; i < 3; ++i)
      for (int j = i + 1; j < 3; ++j)
        if (ids[i] >= 0 && ids[i] == ids[j]) {
          const toml::node* n = t->get(names[j]);
          issue(std::string("cores.") + names[j], n ? line_of(*n) : line_of(*t),
                std::string("shares cpu ") + std::to_string(ids[j]) + " with cores." + names[i] +
                    " (each busy-polling component needs its own core)");
        }
  }

  void mode(const toml::table& root, TorqConfig& cfg) {
    const auto* t = section(root, "mode", false);
    if (t == nullptr) return;
    check_keys(*t, "mode", {"mode", "roles", "links", "resend"});
    if (auto m = string_at(*t, "mode", "mode.mode", false)) {
      if (*m == "monolith") cfg.mode.mode = DeployMode::monolith;
      else if (*m == "distributed") cfg.mode.mode = DeployMode::distributed;
      else issue("mode.mode", line_of(*t->get("mode")), "\"" + *m + "\" is not monolith or distributed");
    }
    if (const toml::node* n = t->get("roles")) {
      const auto* arr = n->as_array();
      if (arr == nullptr) {
        issue("mode.roles", line_of(*n), "expected an array of roles");
      } else {
        std::size_t i = 0;
        for (const auto& el : *arr) {
          const std::string k = "mode.roles[" + std::to_string(i++) + "]";
          const auto* s = el.as_string();
          auto r = s ? parse_role(s->get()) : std::nullopt;
          if (!r) { issue(k, line_of(el), "expected one of collector, strategy, executor, dashboard"); continue; }
          if (std::find(cfg.mode.roles.begin(), cfg.mode.roles.end(), *r) != cfg.mode.roles.end()) {
            issue(k, line_of(el), "role listed twice");
            continue;
          }
          cfg.mode.roles.push_back(*r);
        }
      }
    }
    if (const toml::node* n = t->get("links")) {
      const auto* lt = n->as_table();
      if (lt == nullptr) {
        issue("mode.links", line_of(*n), "expected a table of link = \"transport\"");
      } else {
        check_keys(*lt, "mode.links", {"market_data", "market_data_b", "market_data_requests", "signals", "execution", "telemetry"});
        for (const auto& [k, v] : *lt) {
          const std::string full = "mode.links." + std::string(k.str());
          const auto* s = v.as_string();
          if (s == nullptr) { issue(full, line_of(v), "expected a transport string"); continue; }
          auto e = expand(s->get(), full, line_of(v));
          if (!e) continue;
          const bool known = e->rfind("inproc:", 0) == 0 || e->rfind("shm:/", 0) == 0 || e->rfind("uds:", 0) == 0 ||
                             e->rfind("udp://", 0) == 0;
          if (!known) {
            issue(full, line_of(v), "\"" + *e + "\" is not a transport (inproc:NAME, shm:/NAME, uds:PATH, udp://IP:PORT)");
            continue;
          }
          if (cfg.mode.mode == DeployMode::distributed && e->rfind("inproc:", 0) == 0) {
            issue(full, line_of(v), "inproc: rings cannot join separate processes in distributed mode");
            continue;
          }
          cfg.mode.links[std::string(k.str())] = *e;
        }
      }
    }
    if (const auto q = cfg.mode.links.find("market_data_requests"); q != cfg.mode.links.end()) {
      const auto a = cfg.mode.links.find("market_data");
      if (q->second.rfind("udp://", 0) != 0 || a == cfg.mode.links.end() || a->second.rfind("udp://", 0) != 0)
        issue("mode.links.market_data_requests", line_of(*t),
              "snapshot requests are the back channel of a udp:// market_data link: both must be udp://");
    }
    if (const toml::node* rn = t->get("resend")) {
      const auto* r = rn->as_table();
      ResendConfig& rc = cfg.mode.resend;
      if (r == nullptr) {
        issue("mode.resend", line_of(*rn), "expected a table [mode.resend]");
      } else {
        rc.present = true;
        check_keys(*r, "mode.resend", {"history_frames", "burst", "per_second", "retry_us"});
        set_uint(*r, "history_frames", "mode.resend", false, rc.history_frames, 0, 65536);
        if (const toml::node* h = r->get("history_frames"); h && rc.history_frames != 0 && !std::has_single_bit(rc.history_frames))
          issue("mode.resend.history_frames", line_of(*h), "must be 0 (no resends) or a power of two");
        set_uint(*r, "burst", "mode.resend", false, rc.burst, 1, 1'000'000);
        set_uint(*r, "per_second", "mode.resend", false, rc.per_second, 1, 100'000'000);
        set_uint(*r, "retry_us", "mode.resend", false, rc.retry_us, 50, 1'000'000);
        if (!cfg.mode.links.count("market_data_requests"))
          issue("mode.resend", line_of(*rn), "resends travel on the back channel: set mode.links.market_data_requests");
      }
    }
    if (const auto b = cfg.mode.links.find("market_data_b"); b != cfg.mode.links.end()) {
      const auto a = cfg.mode.links.find("market_data");
      if (b->second.rfind("udp://", 0) != 0 || a == cfg.mode.links.end() || a->second.rfind("udp://", 0) != 0)
        issue("mode.links.market_data_b", line_of(*t),
              "line B of the market data is a second udp:// feed: market_data must be udp:// as well");
    }
    if (cfg.mode.mode == DeployMode::distributed) {
      if (cfg.mode.roles.empty()) issue("mode.roles", line_of(*t), "distributed mode needs the roles this process runs");
      for (const char* l : {"market_data", "signals"})
        if (!cfg.mode.links.count(l))
          issue(std::string("mode.links.") + l, line_of(*t), "distributed mode needs a transport for this link");
    } else if (!cfg.mode.roles.empty()) {
      issue("mode.roles", line_of(*t->get("roles")), "roles apply to distributed mode only (monolith runs all)");
    }
  }

  // "a.b.c.d:port" (port 1..65535).
  static bool is_ipv4_port(std::string_view s) {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos || !is_ipv4(s.substr(0, colon))) return false;
    const std::string_view p = s.substr(colon + 1);
    if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    const int v = std::stoi(std::string(p));
    return v >= 1 && v <= 65535;
  }

  // Array of strings, each ${VAR}-expanded: f(value, "full[i]", line) for every element that is a
  // string and expands; the others are issues.
  template <class F>
  void each_string(const toml::table& t, std::string_view k, const std::string& full, std::string_view not_array, F&& f) {
    const toml::node* n = t.get(k);
    if (n == nullptr) return;
    const auto* arr = n->as_array();
    if (arr == nullptr) {
      issue(full, line_of(*n), std::string(not_array));
      return;
    }
    std::size_t i = 0;
    for (const auto& el : *arr) {
      const std::string ki = full + "[" + std::to_string(i++) + "]";
      const auto* s = el.as_string();
      if (s == nullptr) { issue(ki, line_of(el), "expected a string"); continue; }
      if (auto e = expand(s->get(), ki, line_of(el))) f(std::move(*e), ki, line_of(el));
    }
  }

  std::vector<std::string> strings_at(const toml::table& t, std::string_view k, const std::string& full) {
    std::vector<std::string> out;
    each_string(t, k, full, "expected an array of strings", [&](std::string v, const std::string&, std::uint32_t) { out.push_back(std::move(v)); });
    return out;
  }

  void nic(const toml::table& root, TorqConfig& cfg) {
    const auto* t = section(root, "nic", false);
    if (t == nullptr) return;
    NicConfig& n = cfg.nic;
    n.present = true;
    check_keys(*t, "nic", {"backend", "poll_core", "burst", "arbitrate", "arbiter_window", "arbiter_timeout_us",
                           "verify_udp_checksum", "mbufs", "eal", "lines", "tx_device", "tx_queue", "tx_src_ip",
                           "tx_src_port", "tx_dst_mac"});
    if (auto b = string_at(*t, "backend", "nic.backend", false)) {
      if (*b == "kernel") n.backend = NicBackend::kernel;
      else if (*b == "dpdk") n.backend = NicBackend::dpdk;
      else issue("nic.backend", line_of(*t->get("backend")), "\"" + *b + "\" is not kernel or dpdk");
    }
    set_uint(*t, "poll_core", "nic", false, n.poll_core, -1, 4095);
    set_uint(*t, "burst", "nic", false, n.burst, 1, 64);
    if (auto b = bool_at(*t, "arbitrate", "nic.arbitrate")) n.arbitrate = *b;
    set_uint(*t, "arbiter_window", "nic", false, n.arbiter_window, 2, 4096);
    if (const toml::node* w = t->get("arbiter_window"); w && !std::has_single_bit(n.arbiter_window))
      issue("nic.arbiter_window", line_of(*w), "must be a power of two");
    set_uint(*t, "arbiter_timeout_us", "nic", false, n.arbiter_timeout_us, 1, 10'000'000);
    if (auto b = bool_at(*t, "verify_udp_checksum", "nic.verify_udp_checksum")) n.verify_udp_checksum = *b;
    set_uint(*t, "mbufs", "nic", false, n.mbufs, 1023, 1'048'575);
    if (const toml::node* en = t->get("eal")) {
      const auto* e = en->as_table();
      if (e == nullptr) {
        issue("nic.eal", line_of(*en), "expected a table [nic.eal]");
      } else {
        check_keys(*e, "nic.eal", {"cores", "memory_mb", "hugepages", "allow_pci", "vdevs", "driver_paths", "file_prefix", "log_level"});
        if (auto c = string_at(*e, "cores", "nic.eal.cores", false)) {
          const bool ok = !c->empty() && std::all_of(c->begin(), c->end(), [](char ch) { return (ch >= '0' && ch <= '9') || ch == ',' || ch == '-'; });
          if (!ok) issue("nic.eal.cores", line_of(*e->get("cores")), "expected a core list such as \"2\", \"2-3\" or \"2,4\"");
          n.eal_cores = *c;
        }
        set_uint(*e, "memory_mb", "nic.eal", false, n.eal_memory_mb, 0, 1'048'576);
        if (auto h = string_at(*e, "hugepages", "nic.eal.hugepages", false)) {
          if (*h != "auto" && *h != "require" && *h != "none")
            issue("nic.eal.hugepages", line_of(*e->get("hugepages")), "\"" + *h + "\" is not auto, require or none");
          n.hugepages = *h;
        }
        n.allow_pci = strings_at(*e, "allow_pci", "nic.eal.allow_pci");
        n.vdevs = strings_at(*e, "vdevs", "nic.eal.vdevs");
        for (const auto& d : strings_at(*e, "driver_paths", "nic.eal.driver_paths")) n.driver_paths.push_back(resolve(d));
        if (auto f = string_at(*e, "file_prefix", "nic.eal.file_prefix", false)) n.file_prefix = *f;
        if (auto l = string_at(*e, "log_level", "nic.eal.log_level", false)) n.log_level = *l;
      }
    }
    each_table(*t, "lines", [&](const toml::table& l, const std::string& path0) {
      const std::string path = "nic." + path0;
      check_keys(l, path, {"name", "address", "interface_ip", "dpdk_device", "queue"});
      NicLineConfig line;
      line.name = std::string(1, static_cast<char>('A' + n.lines.size()));
      if (auto s = string_at(l, "name", path + ".name", false)) line.name = *s;
      if (auto s = string_at(l, "address", path + ".address", true)) {
        if (!is_ipv4_port(*s)) issue(path + ".address", line_of(*l.get("address")), "expected a.b.c.d:port");
        line.address = *s;
      }
      if (auto s = string_at(l, "interface_ip", path + ".interface_ip", false)) {
        if (!is_ipv4(*s)) issue(path + ".interface_ip", line_of(*l.get("interface_ip")), "expected an IPv4 address");
        line.interface_ip = *s;
      }
      if (auto s = string_at(l, "dpdk_device", path + ".dpdk_device", false)) line.dpdk_device = *s;
      set_uint(l, "queue", path, false, line.queue, 0, 1023);
      if (n.backend == NicBackend::dpdk && line.dpdk_device.empty())
        issue(path + ".dpdk_device", line_of(l), "backend dpdk: each line names the port device it arrives on");
      n.lines.push_back(std::move(line));
    });
    if (auto d = string_at(*t, "tx_device", "nic.tx_device", false)) n.tx_device = *d;
    set_uint(*t, "tx_queue", "nic", false, n.tx_queue, 0, 1023);
    set_uint(*t, "tx_src_port", "nic", false, n.tx_src_port, 1, 65535);
    if (auto ip = string_at(*t, "tx_src_ip", "nic.tx_src_ip", false)) {
      if (!is_ipv4(*ip)) issue("nic.tx_src_ip", line_of(*t->get("tx_src_ip")), "expected an IPv4 address");
      n.tx_src_ip = *ip;
    }
    if (auto m = string_at(*t, "tx_dst_mac", "nic.tx_dst_mac", false)) {
      const bool ok = m->size() == 17 && std::all_of(m->begin(), m->end(), [](char c) { return is_hex(c) || c == ':'; }) &&
                      (*m)[2] == ':' && (*m)[5] == ':' && (*m)[8] == ':' && (*m)[11] == ':' && (*m)[14] == ':';
      if (!ok) issue("nic.tx_dst_mac", line_of(*t->get("tx_dst_mac")), "expected a MAC address such as 02:00:00:00:00:01");
      n.tx_dst_mac = *m;
    }
    if (!n.tx_device.empty()) {
      if (n.backend != NicBackend::dpdk) issue("nic.tx_device", line_of(*t->get("tx_device")), "sending through a port needs backend = \"dpdk\"");
      if (n.tx_src_ip.empty()) issue("nic.tx_src_ip", line_of(*t), "tx_device needs the source IPv4 address of the packets");
    }
    if (n.lines.empty() && n.tx_device.empty())
      issue("nic.lines", line_of(*t), "at least one [[nic.lines]] (receiving the market-data lines) or tx_device (sending them)");
    if (n.lines.size() > 4) issue("nic.lines", line_of(*t), "at most 4 lines");
    if (n.arbitrate && n.lines.size() < 2) issue("nic.arbitrate", line_of(*t), "arbitration merges two or more lines");
    const auto md = cfg.mode.links.find("market_data");
    if (cfg.mode.mode != DeployMode::distributed || md == cfg.mode.links.end() || md->second.rfind("udp://", 0) != 0)
      issue("nic", line_of(*t), "[nic] receives a udp:// market_data link: it needs [mode] mode = \"distributed\" and mode.links.market_data = \"udp://...\"");
    if (n.backend != NicBackend::dpdk) {
      const bool eal = t->get("eal") != nullptr;
      if (eal) issue("nic.eal", line_of(*t->get("eal")), "only with backend = \"dpdk\"");
    }
  }

  void api(const toml::table& root, TorqConfig& cfg) {
    const auto* t = section(root, "api", true);
    if (t == nullptr) return;
    check_keys(*t, "api", {"bind", "port", "token_file", "audit_file", "web_root", "serve_own", "max_connections"});
    if (auto b = bool_at(*t, "serve_own", "api.serve_own")) cfg.api.serve_own = *b;
    if (auto b = string_at(*t, "bind", "api.bind", false)) {
      if (!is_ipv4(*b)) issue("api.bind", line_of(*t->get("bind")), "expected an IPv4 address such as 127.0.0.1");
      cfg.api.bind = *b;
    }
    set_uint(*t, "port", "api", false, cfg.api.port, 0, 65535);
    set_uint(*t, "max_connections", "api", false, cfg.api.max_connections, 1, 4096);
    if (auto f = string_at(*t, "token_file", "api.token_file", true)) cfg.api.token_file = resolve(*f);
    if (auto f = string_at(*t, "audit_file", "api.audit_file", false)) cfg.api.audit_file = resolve(*f);
    if (auto f = string_at(*t, "web_root", "api.web_root", false)) cfg.api.web_root = resolve(*f);
  }

  void dashboard(const toml::table& root, TorqConfig& cfg) {
    const auto* t = section(root, "dashboard", false);
    if (t == nullptr) return;
    check_keys(*t, "dashboard", {"upstreams", "poll_ms", "upstream_token_file"});
    auto& ups = cfg.dashboard.upstreams;
    each_string(*t, "upstreams", "dashboard.upstreams", "expected an array of \"http://host:port\" URLs",
                [&](std::string e, const std::string& k, std::uint32_t line) {
                  if (e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0)
                    issue(k, line, "expected an http:// or https:// URL of a role process's operator API");
                  else if (std::find(ups.begin(), ups.end(), e) != ups.end()) issue(k, line, "upstream listed twice");
                  else ups.push_back(std::move(e));
                });
    set_uint(*t, "poll_ms", "dashboard", false, cfg.dashboard.poll_ms, 50, 60'000);
    if (auto f = string_at(*t, "upstream_token_file", "dashboard.upstream_token_file", false)) cfg.dashboard.upstream_token_file = resolve(*f);
  }

  void metrics(const toml::table& root, TorqConfig& cfg) {
    const auto* t = section(root, "metrics", false);
    if (t == nullptr) return;
    check_keys(*t, "metrics", {"require_token", "snapshot_interval_ms", "opportunities_kept", "trades_kept"});
    if (auto b = bool_at(*t, "require_token", "metrics.require_token")) cfg.metrics.require_token = *b;
    set_uint(*t, "snapshot_interval_ms", "metrics", false, cfg.metrics.snapshot_interval_ms, 50, 60'000);
    set_uint(*t, "opportunities_kept", "metrics", false, cfg.metrics.opportunities_kept, 1, 100'000);
    set_uint(*t, "trades_kept", "metrics", false, cfg.metrics.trades_kept, 1, 100'000);
  }

  void alerts(const toml::table& root, TorqConfig& cfg) {
    const auto* t = section(root, "alerts", false);
    if (t == nullptr) return;
    check_keys(*t, "alerts", {"block_lag_blocks", "no_events_s", "breaker_tripped", "drawdown_usd", "ring_fill_pct", "webhook_url"});
    auto& a = cfg.alerts;
    set_uint(*t, "block_lag_blocks", "alerts", false, a.block_lag_blocks, 0, 1'000'000);
    set_uint(*t, "no_events_s", "alerts", false, a.no_events_s, 0, 86'400);
    if (auto b = bool_at(*t, "breaker_tripped", "alerts.breaker_tripped")) a.breaker_tripped = *b;
    set_usd(*t, "drawdown_usd", "alerts", false, a.drawdown_usd);
    set_uint(*t, "ring_fill_pct", "alerts", false, a.ring_fill_pct, 0, 100);
    if (auto w = string_at(*t, "webhook_url", "alerts.webhook_url", false)) {
      if (!w->empty() && w->rfind("http://", 0) != 0 && w->rfind("https://", 0) != 0)
        issue("alerts.webhook_url", line_of(*t->get("webhook_url")), "expected an http:// or https:// URL");
      a.webhook_url = *w;
    }
  }

  void cross_checks(TorqConfig& cfg) {
    if (cfg.endpoints.empty()) issue("endpoints", 0, "at least one [[endpoints]] entry (or include_manifest) is required");
    if (!cfg.chain.native_token.empty() && !cfg.tokens.empty() &&
        std::none_of(cfg.tokens.begin(), cfg.tokens.end(), [&](const TokenConfig& t) { return t.symbol == cfg.chain.native_token; }))
      issue("chain.native_token", 0, "\"" + cfg.chain.native_token + "\" is not the symbol of any [[tokens]] entry");
    if (cfg.tokens.empty()) issue("tokens", 0, "at least one [[tokens]] entry (or include_manifest) is required");
    if (cfg.venues.empty()) issue("venues", 0, "at least one [[venues]] entry (or include_manifest) is required");
    std::set<std::string> syms, addrs, venues, pools;
    for (std::size_t i = 0; i < cfg.tokens.size(); ++i) {
      if (!syms.insert(cfg.tokens[i].symbol).second)
        issue("tokens[" + std::to_string(i) + "].symbol", 0, "duplicate token symbol " + cfg.tokens[i].symbol);
      if (!addrs.insert(lower(cfg.tokens[i].address)).second)
        issue("tokens[" + std::to_string(i) + "].address", 0, "duplicate token address " + cfg.tokens[i].address);
    }
    for (std::size_t i = 0; i < cfg.venues.size(); ++i)
      if (!venues.insert(cfg.venues[i].name).second)
        issue("venues[" + std::to_string(i) + "].name", 0, "duplicate venue " + cfg.venues[i].name);
    for (std::size_t i = 0; i < cfg.pools.size(); ++i) {
      if (!venues.count(cfg.pools[i].venue))
        issue("pools[" + std::to_string(i) + "].venue", 0, "unknown venue \"" + cfg.pools[i].venue + "\"");
      if (!pools.insert(lower(cfg.pools[i].address)).second)
        issue("pools[" + std::to_string(i) + "].address", 0, "duplicate pool " + cfg.pools[i].address);
    }
    for (const auto& [sym, usd] : cfg.risk.per_token_exposure_usd)
      if (!syms.count(sym))
        issue("risk.per_token_exposure_usd." + sym, exposure_lines_[sym], "no token with symbol " + sym);
    if (cfg.risk.max_gas_price_gwei < cfg.strategy.priority_fee_gwei)
      issue("risk.max_gas_price_gwei", 0, "is below strategy.priority_fee_gwei");
  }

  std::string source_;
  const LoadOptions& opt_;
  std::vector<ConfigIssue> issues_;
  std::string manifest_keys_file_;
  std::map<std::string, std::uint32_t> exposure_lines_;
};

}  // namespace

TorqConfig parse_config(std::string_view toml_text, std::string_view source_name, const LoadOptions& options) {
  Loader l(std::string(source_name), options);
  return l.run(toml_text);
}

TorqConfig load_config_file(const std::filesystem::path& path, const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path.string(), {ConfigIssue{"(file)", 0, "cannot open the configuration file"}});
  std::stringstream ss;
  ss << in.rdbuf();
  LoadOptions o = options;
  if (o.base_dir.empty()) o.base_dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  return parse_config(ss.str(), path.string(), o);
}

ReloadDiff diff_reloadable(const TorqConfig& a, const TorqConfig& b) {
  ReloadDiff d;
  auto structural = [&](bool same, const char* name) { if (!same) d.structural.emplace_back(name); };
  structural(a.chain == b.chain, "chain");
  structural(a.manifest == b.manifest, "include_manifest");
  structural(a.endpoints == b.endpoints, "endpoints");
  structural(a.tokens == b.tokens, "tokens");
  structural(a.venues == b.venues, "venues");
  structural(a.pools == b.pools, "pools");
  structural(a.key == b.key, "key");
  structural(a.cores == b.cores, "cores");
  structural(a.mode == b.mode, "mode");
  structural(a.executor == b.executor, "executor");
  structural(a.nic == b.nic, "nic");
  structural(a.api == b.api, "api");
  structural(a.dashboard == b.dashboard, "dashboard");
  structural(a.strategy.reference_pools == b.strategy.reference_pools, "strategy.reference_pools");
  auto changed = [&](bool same, const char* name) { if (!same) d.reloadable.emplace_back(name); };
#define TORQ_CMP(sec, f) changed(a.sec.f == b.sec.f, #sec "." #f)
  TORQ_CMP(strategy, min_profit_usd);
  TORQ_CMP(strategy, gas_units_2hop);
  TORQ_CMP(strategy, gas_units_3hop);
  TORQ_CMP(strategy, gas_limit_headroom_pct);
  TORQ_CMP(strategy, priority_fee_gwei);
  TORQ_CMP(risk, max_notional_usd);
  TORQ_CMP(risk, per_token_exposure_usd);
  TORQ_CMP(risk, max_in_flight);
  TORQ_CMP(risk, daily_loss_usd);
  TORQ_CMP(risk, max_drawdown_usd);
  TORQ_CMP(risk, breaker_reverts);
  TORQ_CMP(risk, breaker_cooldown_s);
  TORQ_CMP(risk, stale_blocks);
  TORQ_CMP(risk, max_gas_price_gwei);
  TORQ_CMP(risk, kill_switch);
  TORQ_CMP(metrics, require_token);
  TORQ_CMP(metrics, snapshot_interval_ms);
  TORQ_CMP(metrics, opportunities_kept);
  TORQ_CMP(metrics, trades_kept);
  TORQ_CMP(alerts, block_lag_blocks);
  TORQ_CMP(alerts, no_events_s);
  TORQ_CMP(alerts, breaker_tripped);
  TORQ_CMP(alerts, drawdown_usd);
  TORQ_CMP(alerts, ring_fill_pct);
  TORQ_CMP(alerts, webhook_url);
#undef TORQ_CMP
  return d;
}

const std::vector<std::string_view>& risk_setting_keys() {
  static const std::vector<std::string_view> keys = {
      "max_notional_usd", "daily_loss_usd",     "max_drawdown_usd",   "max_in_flight", "breaker_reverts",
      "breaker_cooldown_s", "stale_blocks",     "max_gas_price_gwei", "kill_switch"};
  return keys;
}

std::optional<std::string> apply_risk_setting(RiskConfig& r, std::string_view key, std::string_view value) {
  auto usd = [&](UsdFixedPoint8& out, bool positive) -> std::optional<std::string> {
    auto v = num::parse_usd(value);
    if (!v) return "\"" + std::string(value) + "\" is not a USD amount (decimal, at most 8 fraction digits)";
    if (v->is_negative() || (positive && v->is_zero())) return std::string(key) + " must be greater than 0";
    out = *v;
    return std::nullopt;
  };
  auto uint = [&](auto& out, std::uint64_t lo, std::uint64_t hi) -> std::optional<std::string> {
    std::uint64_t v = 0;
    if (value.empty() || value.size() > 19 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return "\"" + std::string(value) + "\" is not a non-negative integer";
    for (char c : value) v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v < lo || v > hi) return std::string(key) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    out = static_cast<std::remove_reference_t<decltype(out)>>(v);
    return std::nullopt;
  };
  if (key == "max_notional_usd") return usd(r.max_notional_usd, true);
  if (key == "daily_loss_usd") return usd(r.daily_loss_usd, false);
  if (key == "max_drawdown_usd") return usd(r.max_drawdown_usd, false);
  if (key == "max_in_flight") return uint(r.max_in_flight, 1, 64);
  if (key == "breaker_reverts") return uint(r.breaker_reverts, 1, 1000);
  if (key == "breaker_cooldown_s") return uint(r.breaker_cooldown_s, 0, 86400 * 7);
  if (key == "stale_blocks") return uint(r.stale_blocks, 0, 1000);
  if (key == "max_gas_price_gwei") return uint(r.max_gas_price_gwei, 1, 1'000'000);
  if (key == "kill_switch") {
    if (value == "true") { r.kill_switch = true; return std::nullopt; }
    if (value == "false") { r.kill_switch = false; return std::nullopt; }
    return std::string("kill_switch must be true or false");
  }
  constexpr std::string_view prefix = "per_token_exposure_usd.";
  if (key.rfind(prefix, 0) == 0) {
    const std::string sym(key.substr(prefix.size()));
    auto it = r.per_token_exposure_usd.find(sym);
    if (it == r.per_token_exposure_usd.end()) return "no exposure limit is configured for token \"" + sym + "\"";
    return usd(it->second, false);
  }
  return "unknown risk key \"" + std::string(key) + "\"";
}

}  // namespace torq::ops
