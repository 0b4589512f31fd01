// torq/mycelium/transport.hpp — the one publisher/subscriber API, chosen once from configuration.
//
// Owns: Publisher and Subscriber, each a closed sum (std::variant) of the concrete endpoints
// (inproc ring, shm ring, UDS, UDP) opened from a TransportConfig or its string form, and
// run_consumer(), the polling loop templated on the handler and the idle strategy.
// Static dispatch: every concrete endpoint has the same members (try_publish(frame) ->
// PublishResult; poll(handler, max_burst) -> count; stats()). Hot loops call visit() once at
// start-up and then run against the concrete type, so the per-message path has no virtual call
// and no variant switch (run_consumer(Subscriber&, ...) does exactly that). Publisher::try_publish
// and Subscriber::poll on the wrapper are a convenience that costs one switch per call.
// Thread-safety: as the concrete endpoint (one thread at a time). Allocation: open() only (throws
// std::invalid_argument for a bad string, std::system_error/std::runtime_error if the transport
// cannot be opened); everything else is noexcept and allocation-free.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <variant>

#include "torq/mycelium/config.hpp"
#include "torq/mycelium/idle.hpp"
#include "torq/mycelium/ring_transport.hpp"
#include "torq/mycelium/socket_transport.hpp"
#include "torq/mycelium/types.hpp"

namespace torq::mycelium {

class Publisher {
 public:
  using Variant = std::variant<InprocPublisher, ShmPublisher, UdsPublisher, UdpPublisher>;

  [[nodiscard]] static Publisher open(const TransportConfig& cfg);
  [[nodiscard]] static Publisher open(std::string_view config) { return open(parse_transport_config(config)); }

  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit(std::forward<F>(f), v_);
  }
  [[nodiscard]] PublishResult try_publish(std::span<const std::byte> frame) noexcept {
    return std::visit([frame](auto& p) noexcept { return p.try_publish(frame); }, v_);
  }
  [[nodiscard]] bool flush() noexcept {
    return std::visit([](auto& p) noexcept { return p.flush(); }, v_);
  }
  [[nodiscard]] PublisherStats stats() const noexcept {
    return std::visit([](const auto& p) noexcept { return p.stats(); }, v_);
  }
  [[nodiscard]] TransportKind kind() const noexcept { return kind_; }
  [[nodiscard]] bool reliable() const noexcept { return kind_ != TransportKind::udp; }

 private:
  Publisher(Variant v, TransportKind k) noexcept : v_(std::move(v)), kind_(k) {}
  Variant v_;
  TransportKind kind_;
};

class Subscriber {
 public:
  using Variant = std::variant<InprocSubscriber, ShmSubscriber, UdsSubscriber, UdpSubscriber>;

  [[nodiscard]] static Subscriber open(const TransportConfig& cfg);
  [[nodiscard]] static Subscriber open(std::string_view config) { return open(parse_transport_config(config)); }

  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit(std::forward<F>(f), v_);
  }
  template <class Handler>
  [[nodiscard]] std::size_t poll(Handler&& handler, std::size_t max_burst) noexcept {
    return std::visit([&](auto& s) noexcept { return s.poll(handler, max_burst); }, v_);
  }
  [[nodiscard]] SubscriberStats stats() const noexcept {
    return std::visit([](const auto& s) noexcept { return s.stats(); }, v_);
  }
  [[nodiscard]] TransportKind kind() const noexcept { return kind_; }

 private:
  Subscriber(Variant v, TransportKind k) noexcept : v_(std::move(v)), kind_(k) {}
  Variant v_;
  TransportKind kind_;
};

// Polls `sub` until `stop` is set, calling handler(std::span<const std::byte>) per frame and
// idle.idle(count) after every poll. Returns the number of frames handled. Sub is a concrete
// endpoint (or anything with the same poll()).
template <class Sub, class Handler, class Idle>
std::uint64_t run_consumer(Sub& sub, Handler&& handler, Idle& idle, const std::atomic<bool>& stop,
                           std::size_t max_burst = 64) noexcept {
  std::uint64_t total = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    const std::size_t n = sub.poll(handler, max_burst);
    total += n;
    idle.idle(n);
  }
  return total;
}

// The wrapper: dispatches once, then loops on the concrete type.
template <class Handler, class Idle>
std::uint64_t run_consumer(Subscriber& sub, Handler&& handler, Idle& idle, const std::atomic<bool>& stop,
                           std::size_t max_burst = 64) noexcept {
  return sub.visit([&](auto& concrete) noexcept { return run_consumer(concrete, handler, idle, stop, max_burst); });
}

}  // namespace torq::mycelium
