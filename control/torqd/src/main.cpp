// torqd: the Torq daemon. Parses options, builds the pipeline, runs until SIGTERM/SIGINT
// (ordered drain, audit flush, exit 0); SIGHUP reloads the reloadable settings of --config.
// Signals are blocked in every thread and taken synchronously by the main thread (sigtimedwait),
// so no work happens in a signal handler.
#include <signal.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>

#include "torq/ops/aggregate.hpp"
#include "torq/ops/config.hpp"
#include "torq/torqd/operator_feed.hpp"
#include "torq/torqd/options.hpp"
#include "torq/torqd/pipeline.hpp"
#include "torq/torqd/replay.hpp"

namespace {

// SIGHUP: runs reload() and logs what it did, or why the settings stay as they are.
template <class F>
void on_sighup(F&& reload) {
  try {
    std::fprintf(stderr, "torqd: SIGHUP: %s\n", reload().c_str());
  } catch (const torq::ops::ConfigError& e) {
    std::fprintf(stderr, "torqd: SIGHUP: reload refused, settings unchanged:\n%s\n", torq::ops::format_issues(e).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torqd: SIGHUP: reload refused: %s\n", e.what());
  }
}

// torqd --role dashboard alone: no pipeline; the operator surface of the role processes listed in
// [dashboard] upstreams, merged (torq/ops/aggregate.hpp). SIGHUP reloads and forwards the reload.
int run_standalone_dashboard(const torq::torqd::Options& opt, sigset_t& set) {
  std::unique_ptr<torq::ops::DashboardAggregator> dash;
  try {
    auto cfg = std::make_shared<const torq::ops::TorqConfig>(torq::ops::load_config_file(opt.config_file));
    const std::uint32_t poll_ms = cfg->dashboard.poll_ms;
    dash = std::make_unique<torq::ops::DashboardAggregator>(cfg, opt.config_file, opt.api_port);
    std::fprintf(stderr, "torqd: operator API on port %u (standalone dashboard over %zu upstream(s), polled every %u ms)\n",
                 static_cast<unsigned>(dash->port()), cfg->dashboard.upstreams.size(), static_cast<unsigned>(poll_ms));
  } catch (const torq::ops::ConfigError& e) {
    std::fprintf(stderr, "torqd: configuration errors:\n%s\n", torq::ops::format_issues(e).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torqd: start-up failed: %s\n", e.what());
    return 1;
  }
  std::printf("{\"event\":\"ready\",\"role\":\"dashboard\",\"pid\":%d}\n", static_cast<int>(::getpid()));
  std::fflush(stdout);
  for (;;) {
    timespec timeout{0, 100'000'000};
    const int sig = sigtimedwait(&set, nullptr, &timeout);
    try {
      dash->tick();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "torqd: dashboard: %s\n", e.what());
    }
    if (sig == SIGTERM || sig == SIGINT) break;
    if (sig == SIGHUP) on_sighup([&] { return dash->reload_from_file(); });
  }
  std::fprintf(stderr, "torqd: stopping the dashboard\n");
  dash->stop();
  std::printf("{\"event\":\"summary\",\"role\":\"dashboard\"}\n");
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace torq::torqd;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // inherited by every thread created below

  ParsedArgs args;
  try {
    args = parse_args(argc, argv);
  } catch (const torq::ops::ConfigError& e) {
    std::fprintf(stderr, "torqd: configuration errors:\n%s\n", torq::ops::format_issues(e).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torqd: %s\n", e.what());
    return 2;
  }
  if (args.help_requested) {
    std::fputs(args.help_text.c_str(), stdout);
    return 0;
  }
  const Options& opt = args.options;
  if (!opt.replay_file.empty()) {  // docs/record-replay.md: no node, no key, dry-run executor
    try {
      ReplayOptions ro;
      ro.file = opt.replay_file;
      ro.out_file = opt.replay_out;
      ro.pace = opt.replay_recorded_speed ? torq::control::NodeTap::Pace::Recorded : torq::control::NodeTap::Pace::Max;
      const ReplayResult r = replay(ro);
      std::printf("%s\n", r.summary_json().c_str());
      std::fflush(stdout);
      return r.identical() ? 0 : 3;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "torqd: replay failed: %s\n", e.what());
      return 1;
    }
  }
  if (dashboard_only(opt.roles)) return run_standalone_dashboard(opt, set);
  std::unique_ptr<Pipeline> pipeline;
  try {
    pipeline = std::make_unique<Pipeline>(opt);
    pipeline->start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torqd: start-up failed: %s\n", e.what());
    return 1;
  }
  std::unique_ptr<OperatorFeed> feed;
  try {
    // A distributed process serves the operator surface when it runs the dashboard role, or its
    // own part of it with --api-port or [api] serve_own (for a standalone dashboard to aggregate).
    const bool serve = opt.roles.monolith() || (opt.roles.bits & RoleSet::bit(Role::dashboard)) != 0 || opt.api_port >= 0 ||
                       opt.api_serve_own;
    feed = std::make_unique<OperatorFeed>(*pipeline, opt.config_file, serve, opt.api_port);
    if (feed->active()) std::fprintf(stderr, "torqd: operator API on port %u\n", static_cast<unsigned>(feed->port()));
    else std::fprintf(stderr, "torqd: %s\n", feed->why_inactive().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torqd: operator API failed to start: %s\n", e.what());
    pipeline->shutdown();
    return 1;
  }
  std::printf("{\"event\":\"ready\",\"role\":\"%s\",\"sender\":\"%s\",\"pid\":%d}\n", to_string(opt.roles).c_str(),
              pipeline->sender_address().c_str(), static_cast<int>(::getpid()));
  std::fflush(stdout);

  for (;;) {
    timespec timeout{0, 200'000'000};
    const int sig = sigtimedwait(&set, nullptr, &timeout);
    try {
      feed->tick();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "torqd: operator feed: %s\n", e.what());
    }
    if (sig == SIGTERM || sig == SIGINT) break;
    if (sig == SIGHUP) {
      if (opt.config_file.empty()) {
        std::fprintf(stderr, "torqd: SIGHUP: no --config file, nothing to reload\n");
        continue;
      }
      on_sighup([&] { return feed->reload_from_file(); });
    }
  }
  std::fprintf(stderr, "torqd: stopping: intake, drain, receipts, audit flush\n");
  feed->stop();
  pipeline->shutdown();
  const std::string summary = pipeline->summary_json();
  std::printf("%s\n", summary.c_str());
  std::fflush(stdout);
  if (!opt.stats_file.empty()) {
    std::ofstream f(opt.stats_file);
    f << summary << "\n";
  }
  return 0;
}
