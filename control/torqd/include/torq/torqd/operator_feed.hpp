// torq/torqd/operator_feed.hpp — connects the pipeline to the operator surface (torq::ops):
// starts the HTTP/JSON API + dashboard + /metrics server (ops::ApiServer) when the configuration
// has an [api] section whose token file exists, copies the pipeline's counters into the
// OperatorState every tick, and applies the operator's commands (kill, resume, reload, risk set)
// to the pipeline.
//
// Control-plane code: allocates; tick() is called by torqd's main thread (never a hot core).
// Not thread-safe (one owner thread); the ApiServer runs its own thread.
#pragma once

#include <memory>
#include <string>

#include "torq/torqd/pipeline.hpp"

namespace torq::torqd {

class OperatorFeed {
 public:
  // Starts the API server when `config_file` is set and its [api] token file exists; otherwise
  // inactive (active() false, `why_inactive()` says why). Throws on a bind failure.
  OperatorFeed(Pipeline& pipeline, const std::string& config_file);
  ~OperatorFeed();
  OperatorFeed(const OperatorFeed&) = delete;
  OperatorFeed& operator=(const OperatorFeed&) = delete;

  void tick();  // publish counters, apply queued commands
  void stop();
  [[nodiscard]] bool active() const noexcept;
  [[nodiscard]] const std::string& why_inactive() const noexcept { return why_; }
  [[nodiscard]] std::uint16_t port() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::string why_;
};

}  // namespace torq::torqd
