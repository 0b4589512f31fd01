// torq/mycelium/types.hpp — result codes and counters shared by every Mycelium transport.
//
// Owns: PublishResult (what try_publish reports), TransportKind, and the per-endpoint counter
// blocks PublisherStats / SubscriberStats. Every transport endpoint keeps one of these by value
// and updates it with plain (non-atomic) increments from its owning thread; monitors read a copy
// through stats() from that same thread, or accept torn reads.
// Thread-safety: plain values, copied between threads by the owner. Allocation: none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace torq::mycelium {

enum class TransportKind : std::uint8_t {
  inproc = 1,  // process-local SPSC ring (torq::ring::LocalRing), found by name in this process
  shm,         // SPSC ring in a POSIX shared-memory segment, across processes on one host
  uds,         // Unix domain stream socket (subscriber listens, publisher connects)
  udp,         // UDP/IPv4 datagrams, unicast or multicast, kernel sockets
};
[[nodiscard]] const char* to_string(TransportKind k) noexcept;

// Outcome of try_publish. Only `ok` means the frame was taken; every other value means the
// frame was NOT sent and the caller still owns the decision (retry, drop and count, ...).
enum class PublishResult : std::uint8_t {
  ok = 0,
  would_block,    // back pressure: ring full / socket buffer full / output buffer busy. Retry later.
  not_connected,  // UDS: no subscriber connected (yet); the frame was not sent. Retry later.
  too_large,      // frame empty or larger than this transport can ever carry. Never retry.
  error,          // the link failed (peer gone, socket error); counted, endpoint may reconnect.
};
[[nodiscard]] const char* to_string(PublishResult r) noexcept;

struct PublisherStats {
  std::uint64_t published = 0;       // frames accepted (ok)
  std::uint64_t would_block = 0;     // try_publish calls refused for back pressure
  std::uint64_t not_connected = 0;   // refused because no peer was connected
  std::uint64_t too_large = 0;       // refused: empty / oversize frames
  std::uint64_t errors = 0;          // socket errors (send failures other than EAGAIN)
  std::uint64_t reconnects = 0;      // UDS: connections (re)established
};
static_assert(std::is_trivially_copyable_v<PublisherStats>);
static_assert(sizeof(PublisherStats) == 48);

struct SubscriberStats {
  std::uint64_t received = 0;     // frames delivered to the handler
  std::uint64_t malformed = 0;    // frames/datagrams rejected by protocol::parse_frame and dropped
  std::uint64_t truncated = 0;    // UDP: datagrams larger than the receive buffer (MSG_TRUNC), dropped
  std::uint64_t desyncs = 0;      // UDS: stream lost frame alignment (bad header): connection dropped
  std::uint64_t disconnects = 0;  // UDS: peer closed or errored
  std::uint64_t accepts = 0;      // UDS: connections accepted
  std::uint64_t errors = 0;       // socket errors other than EAGAIN
  std::uint64_t polls = 0;        // poll() calls (for idle-ratio monitoring)
  std::uint64_t kernel_drops = 0; // UDP: datagrams the kernel dropped for a full socket buffer (SO_RXQ_OVFL)
};
static_assert(std::is_trivially_copyable_v<SubscriberStats>);
static_assert(sizeof(SubscriberStats) == 72);

}  // namespace torq::mycelium
