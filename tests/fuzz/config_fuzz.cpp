// libFuzzer target: arbitrary bytes as a torqd TOML configuration. The loader must either return
// a config or throw ConfigError with at least one issue naming a key; nothing else (no crash, no
// other exception, no UB). The environment is a fixed in-memory map so runs are reproducible.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "torq/ops/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  torq::ops::LoadOptions opt;
  opt.getenv = [](const std::string& name) -> std::optional<std::string> {
    if (name == "POLYGON_WSS_URL") return std::string("wss://fuzz.example/ws");
    if (name == "POLYGON_HTTPS_URL") return std::string("https://fuzz.example");
    return std::nullopt;
  };
  opt.base_dir = "/nonexistent-torq-fuzz";  // include_manifest never reads a real file
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto cfg = torq::ops::parse_config(text, "fuzz.toml", opt);
    // A config that loads must diff cleanly against itself.
    if (!torq::ops::diff_reloadable(cfg, cfg).allowed()) std::abort();
  } catch (const torq::ops::ConfigError& e) {
    if (e.issues().empty() || e.issues()[0].key.empty()) std::abort();
  }
  return 0;
}
