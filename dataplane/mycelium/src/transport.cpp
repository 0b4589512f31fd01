// Publisher/Subscriber factories. See transport.hpp.
#include "torq/mycelium/transport.hpp"

#include <stdexcept>

namespace torq::mycelium {

Publisher Publisher::open(const TransportConfig& cfg) {
  switch (cfg.kind) {
    case TransportKind::inproc: return Publisher(Variant(open_inproc_publisher(cfg)), cfg.kind);
    case TransportKind::shm: return Publisher(Variant(open_shm_publisher(cfg)), cfg.kind);
    case TransportKind::uds: return Publisher(Variant(open_uds_publisher(cfg)), cfg.kind);
    case TransportKind::udp: return Publisher(Variant(open_udp_publisher(cfg)), cfg.kind);
  }
  throw std::invalid_argument("mycelium: unknown transport kind");
}

Subscriber Subscriber::open(const TransportConfig& cfg) {
  switch (cfg.kind) {
    case TransportKind::inproc: return Subscriber(Variant(open_inproc_subscriber(cfg)), cfg.kind);
    case TransportKind::shm: return Subscriber(Variant(open_shm_subscriber(cfg)), cfg.kind);
    case TransportKind::uds: return Subscriber(Variant(open_uds_subscriber(cfg)), cfg.kind);
    case TransportKind::udp: return Subscriber(Variant(open_udp_subscriber(cfg)), cfg.kind);
  }
  throw std::invalid_argument("mycelium: unknown transport kind");
}

}  // namespace torq::mycelium
