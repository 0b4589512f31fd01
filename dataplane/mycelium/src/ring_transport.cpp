// Ring-backed transports: the inproc name registry and shm attach-or-create. See ring_transport.hpp.
#include "torq/mycelium/ring_transport.hpp"

#include <cerrno>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace torq::mycelium {
namespace {

std::mutex g_registry_mutex;
std::map<std::string, std::weak_ptr<ring::LocalRing>, std::less<>>& registry() {
  static std::map<std::string, std::weak_ptr<ring::LocalRing>, std::less<>> r;
  return r;
}

InprocStorage inproc_ring(const TransportConfig& cfg) {
  std::lock_guard lock(g_registry_mutex);
  auto& r = registry();
  if (auto it = r.find(cfg.name); it != r.end()) {
    if (auto live = it->second.lock()) return live;
  }
  auto ring = std::make_shared<ring::LocalRing>(ring::LocalRing::create(cfg.capacity));
  r[cfg.name] = ring;
  return ring;
}

[[noreturn]] void side_taken(const TransportConfig& cfg, const char* side, ring::RingError e) {
  throw std::runtime_error("mycelium " + cfg.to_string() + ": cannot attach " + side + ": " + ring::to_string(e));
}

// Attach to an existing segment or create it. Two processes may race: O_EXCL makes one creator;
// a segment seen before its creator formatted it is retried for up to ~2 s.
ShmStorage shm_ring(const TransportConfig& cfg) {
  std::string last_error;
  for (int attempt = 0; attempt < 2000; ++attempt) {
    try {
      return ShmStorage(ring::ShmRing::attach(cfg.name), false);
    } catch (const std::system_error& e) {
      last_error = e.what();
      if (e.code().value() == ENOENT) {
        try {
          return ShmStorage(ring::ShmRing::create(cfg.name, cfg.capacity, cfg.hugepages), cfg.unlink_on_close);
        } catch (const std::system_error& ce) {
          if (ce.code().value() != EEXIST) throw;
          last_error = ce.what();
        }
      }
    } catch (const std::runtime_error& e) {  // exists but not formatted yet
      last_error = e.what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  throw std::runtime_error("mycelium " + cfg.to_string() + ": shm ring not usable: " + last_error);
}

}  // namespace

InprocPublisher open_inproc_publisher(const TransportConfig& cfg) {
  auto storage = inproc_ring(cfg);
  auto p = ring::SpscProducer::attach(storage->region());
  if (!p) side_taken(cfg, "producer", p.error);
  return InprocPublisher(std::move(storage), std::move(p.value));
}

InprocSubscriber open_inproc_subscriber(const TransportConfig& cfg) {
  auto storage = inproc_ring(cfg);
  auto c = ring::SpscConsumer::attach(storage->region());
  if (!c) side_taken(cfg, "consumer", c.error);
  return InprocSubscriber(std::move(storage), std::move(c.value));
}

ShmPublisher open_shm_publisher(const TransportConfig& cfg) {
  auto storage = shm_ring(cfg);
  auto p = ring::SpscProducer::attach(storage.region());
  if (!p) side_taken(cfg, "producer", p.error);
  return ShmPublisher(std::move(storage), std::move(p.value));
}

ShmSubscriber open_shm_subscriber(const TransportConfig& cfg) {
  auto storage = shm_ring(cfg);
  auto c = ring::SpscConsumer::attach(storage.region());
  if (!c) side_taken(cfg, "consumer", c.error);
  return ShmSubscriber(std::move(storage), std::move(c.value));
}

}  // namespace torq::mycelium
