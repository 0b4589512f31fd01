// tests/e2e/e2e_harness.hpp — helpers for torqd tests on the local chain fixture: processes
// (spawn, wait with a limit), the fixture (chain/fixture.mjs) + TorqArbitrage deployed through
// tests/e2e/chain_tool.mjs, a JSON-RPC client (control::ChainClient), the operator API, and the
// audit log read back by record type. Header-only, test code: allocates freely, not thread-safe
// (one test thread), throws nothing on purpose (failures are gtest failures).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "torq/control/chain_client.hpp"
#include "torq/ops/client.hpp"
#include "torq/risk/audit_log.hpp"
#include "torq/torqd/hex.hpp"

extern char** environ;

namespace torq::e2e {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Runs a shell command; its stdout. A non-zero exit is a test failure.
inline std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  if (st != 0) ADD_FAILURE() << "command failed (" << st << "): " << cmd << "\n" << out;
  return out;
}

inline pid_t spawn(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

// Waits for a process; the exit code, -signal when killed, or -1000 on timeout (then killed).
inline int wait_exit(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int st = 0;
    const pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      return -1000;
    }
    std::this_thread::sleep_for(20ms);
  }
}

// A top-level field of a JSON document as text (strings unquoted, other values minified).
inline std::string json_field(const std::string& json, const char* key) {
  simdjson::dom::parser p;
  simdjson::dom::element e;
  if (p.parse(json).get(e) != simdjson::SUCCESS) return {};
  simdjson::dom::element v;
  if (e[key].get(v) != simdjson::SUCCESS) return {};
  std::string_view s;
  if (v.get(s) == simdjson::SUCCESS) return std::string(s);
  return simdjson::minify(v);
}

// The source tree (TORQ_SOURCE_DIR overrides the configured one).
inline std::string source_dir() {
  const char* e = std::getenv("TORQ_SOURCE_DIR");
  return e != nullptr ? e : TORQ_E2E_SOURCE_DIR;
}

inline std::string hex_of(const std::uint8_t* d, std::size_t n) { return torqd::to_hex(d, n); }

// Test-side JSON-RPC: the control library's ChainClient; the result text ("" on error).
class Rpc {
 public:
  explicit Rpc(const std::string& http) : c_({control::EndpointConfig{http, "", 0, 0, 20}}) {}
  std::string call(const std::string& method, const std::string& params, bool expect_ok = true) {
    auto r = c_.call(method, params);
    if (expect_ok) {
      EXPECT_FALSE(r.error) << method << ": " << r.error.message;
    }
    last_error_ = r.error ? r.error.message : std::string();
    return r.error ? std::string() : r.json;
  }
  const std::string& last_error() const { return last_error_; }

 private:
  control::ChainClient c_;
  std::string last_error_;
};

// The audit log read back by record type (up to the first bad record; a torn tail is normal
// while torqd is writing).
struct AuditDump {
  std::vector<protocol::ArbitrageSignal> signals;
  std::vector<risk::AuditDecision> decisions;
  std::vector<risk::AuditTransaction> txs;
  std::vector<protocol::ExecutionReport> receipts;
  std::vector<risk::AuditNonce> nonces;
  risk::ReadStatus status = risk::ReadStatus::End;
};
inline AuditDump read_audit(const fs::path& path) {
  AuditDump d;
  if (!fs::exists(path)) return d;
  risk::AuditReader reader(path.string());
  risk::AuditRecordView v;
  while ((d.status = reader.next(v)) == risk::ReadStatus::Record) {
    protocol::ArbitrageSignal sig;
    risk::AuditDecision dec;
    risk::AuditTransaction t;
    protocol::ExecutionReport rep;
    risk::AuditNonce n;
    if (v.as(sig)) d.signals.push_back(sig);
    if (v.as(dec)) d.decisions.push_back(dec);
    if (v.as(t)) d.txs.push_back(t);
    if (v.as(rep)) d.receipts.push_back(rep);
    if (v.as(n)) d.nonces.push_back(n);
  }
  return d;
}

struct TorqdRun {
  int exit_code = 0;
  std::string out, err, summary;  // summary: the last stdout line with "event":"summary"
  std::string audit_bytes;        // the audit log file as written
};

// One fixture (anvil + venues + TorqArbitrage) per test suite; every test starts from the same
// EVM snapshot with automining on.
class ChainSuite : public ::testing::Test {
 protected:
  static void start_chain(const std::string& tag) {
    dir_ = fs::temp_directory_path() / ("torq-" + tag + "-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    manifest_ = (dir_ / "manifest.json").string();
    std::vector<std::string> args = {"node", src() + "/chain/fixture.mjs", "--out", manifest_};
    // A fixture that can restart its node (SIGUSR1 stop, SIGUSR2 start from the state file).
    restartable_ = read_file(src() + "/chain/fixture.mjs").find("--state-file") != std::string::npos;
    if (restartable_) args.insert(args.end(), {"--state-file", (dir_ / "chain.state").string()});
    fixture_pid_ = spawn(args, dir_ / "fixture.out", dir_ / "fixture.err");
    for (int i = 0; i < 600 && !fs::exists(manifest_); ++i) std::this_thread::sleep_for(100ms);
    std::this_thread::sleep_for(300ms);
    if (!fs::exists(manifest_)) return;
    const std::string dep =
        run("node " + src() + "/tests/e2e/chain_tool.mjs deploy --manifest " + manifest_ + " --key-out " + (dir_ / "executor.key").string());
    contract_ = json_field(dep, "contract");
    owner_ = json_field(dep, "owner");
    simdjson::dom::parser p;
    simdjson::dom::element m;
    if (p.load(manifest_).get(m) == simdjson::SUCCESS) {
      std::string_view http;
      if (m["rpc"]["http"].get(http) == simdjson::SUCCESS) http_ = std::string(http);
    }
    Rpc rpc(http_);
    base_snapshot_ = std::string(torqd::unquote(rpc.call("evm_snapshot", "[]")));
  }
  static void stop_chain() {
    if (fixture_pid_ > 0) {
      ::kill(fixture_pid_, SIGTERM);
      (void)wait_exit(fixture_pid_, 20s);
    }
    std::error_code ec;
    if (!dir_.empty() && !std::getenv("TORQ_E2E_KEEP")) fs::remove_all(dir_, ec);
  }
  static std::string src() { return source_dir(); }

  void SetUp() override {
    ASSERT_TRUE(fs::exists(manifest_)) << "fixture did not start: " << read_file(dir_ / "fixture.err");
    ASSERT_FALSE(contract_.empty()) << "TorqArbitrage not deployed";
    Rpc rpc(http_);
    ASSERT_EQ(rpc.call("evm_revert", "[\"" + base_snapshot_ + "\"]"), "true");
    base_snapshot_ = std::string(torqd::unquote(rpc.call("evm_snapshot", "[]")));
    (void)rpc.call("evm_setAutomine", "[true]");
  }
  void TearDown() override {
    Rpc rpc(http_);
    (void)rpc.call("evm_setAutomine", "[true]", false);  // not part of the EVM snapshot
    for (const pid_t pid : running_) {
      ::kill(pid, SIGTERM);
      (void)wait_exit(pid, 40s);
    }
    running_.clear();
  }

  fs::path audit_path(const std::string& name) const { return dir_ / (name + ".audit"); }

  // Node restart through the fixture: anvil stopped (its chain dumped), then started again on the
  // same port from the dump (the transaction pool is not kept). Waits for the fixture's
  // {"event":"node-stopped"} / {"event":"node-started"} line; false on timeout.
  static bool node_signal(int sig, const char* event, std::size_t occurrences, std::chrono::seconds limit) {
    ::kill(fixture_pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string out = read_file(dir_ / "fixture.out");
      std::size_t n = 0;
      for (auto at = out.find(event); at != std::string::npos; at = out.find(event, at + 1)) ++n;
      if (n >= occurrences) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // with_manifest false: the pool list must come from the config's [[pools]].
  pid_t start_torqd(const std::string& name, const std::vector<std::string>& extra, bool with_manifest = true) {
    std::vector<std::string> args = {TORQD_PATH, "--key-file", (dir_ / "executor.key").string(),
                                     "--contract", contract_, "--audit", audit_path(name).string()};
    if (with_manifest) args.insert(args.begin() + 1, {"--manifest", manifest_});
    args.insert(args.end(), extra.begin(), extra.end());
    const pid_t pid = spawn(args, dir_ / (name + ".out"), dir_ / (name + ".err"));
    running_.push_back(pid);
    for (int i = 0; i < 600; ++i) {
      if (read_file(dir_ / (name + ".out")).find("\"event\":\"ready\"") != std::string::npos) return pid;
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        running_.erase(std::remove(running_.begin(), running_.end(), pid), running_.end());
        ADD_FAILURE() << "torqd exited during start-up: " << read_file(dir_ / (name + ".err"));
        return -1;
      }
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "torqd not ready after 30 s: " << read_file(dir_ / (name + ".err"));
    return pid;
  }
  TorqdRun stop_torqd(const std::string& name, pid_t pid) {
    TorqdRun r;
    ::kill(pid, SIGTERM);
    r.exit_code = wait_exit(pid, 40s);
    running_.erase(std::remove(running_.begin(), running_.end(), pid), running_.end());
    r.out = read_file(dir_ / (name + ".out"));
    r.err = read_file(dir_ / (name + ".err"));
    r.audit_bytes = read_file(audit_path(name));
    std::istringstream lines(r.out);
    for (std::string l; std::getline(lines, l);)
      if (l.find("\"event\":\"summary\"") != std::string::npos) r.summary = l;
    return r;
  }
  std::string tool(const std::string& args) {
    return run("node " + src() + "/tests/e2e/chain_tool.mjs " + args + " --manifest " + manifest_);
  }
  static std::uint64_t num(const std::string& summary, const char* key) {
    const std::string v = json_field(summary, key);
    return v.empty() ? 0 : std::stoull(v);
  }

  // A torqd config over the manifest: the operator API on an ephemeral port plus `extra` lines
  // ([risk] keys replace the defaults given here when `risk` is set).
  fs::path write_config(const std::string& name, const std::string& risk = "", const std::string& extra = "") {
    const fs::path cfg = dir_ / (name + ".toml");
    {
      std::ofstream(dir_ / "api.token") << "e2e-operator-token-0123456789\n";
      fs::permissions(dir_ / "api.token", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    }
    std::ofstream f(cfg);
    f << "include_manifest = \"" << manifest_ << "\"\n[chain]\nname = \"local\"\nchain_id = 137\n"
      << "[strategy]\nmin_profit_usd = \"0.01\"\n"
      << "[risk]\n"
      << (risk.empty() ? "max_notional_usd = \"20000\"\nmax_in_flight = 1\ndaily_loss_usd = \"1000\"\nmax_drawdown_usd = \"2000\"\n"
                         "breaker_reverts = 3\nmax_gas_price_gwei = 1000\nkill_switch = false\n"
                       : risk)
      << "[key]\nfile = \"" << (dir_ / "executor.key").string() << "\"\n[mode]\nmode = \"monolith\"\n"
      << "[api]\nbind = \"127.0.0.1\"\nport = 0\ntoken_file = \"" << (dir_ / "api.token").string() << "\"\n"
      << "audit_file = \"" << (dir_ / (name + "-operator-audit.jsonl")).string() << "\"\n"
      << extra;
    return cfg;
  }
  int api_port(const std::string& name) {
    const std::string err = read_file(dir_ / (name + ".err"));
    const auto at = err.find("operator API on port ");
    return at == std::string::npos ? 0 : std::atoi(err.c_str() + at + 21);
  }
  std::string api(int port, const std::string& method, const std::string& target, const std::string& body = "") {
    const auto r = ops::http_request("http://127.0.0.1:" + std::to_string(port), method, target, "e2e-operator-token-0123456789", body);
    EXPECT_EQ(r.error, ops::ClientError::none) << r.message;
    EXPECT_LT(r.status, 300U) << method << " " << target << ": " << r.body;
    return r.body;
  }

  // Polls the audit log until `done(dump)` holds or `limit` passes; the last dump.
  template <class Pred>
  AuditDump wait_audit(const std::string& name, Pred done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    AuditDump d = read_audit(audit_path(name));
    while (!done(d) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      d = read_audit(audit_path(name));
    }
    return d;
  }

  static inline fs::path dir_;
  static inline std::string manifest_, contract_, owner_, http_, base_snapshot_;
  static inline pid_t fixture_pid_ = -1;
  static inline bool restartable_ = false;
  std::vector<pid_t> running_;
};

}  // namespace torq::e2e
