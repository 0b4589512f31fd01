// tests/ring/ring_peer.cpp — helper process for the two-process ring tests.
//   ring_peer produce <segment> <total>   attach as producer (taking over from a dead one) and
//                                         publish frames seq = published_records() .. total-1
//   ring_peer hang <segment>              attach as producer, heartbeat once, then sleep forever
// Exit codes: 0 done, 2 usage, 3 attach failed, 4 segment/ring error.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>

#include "frame_pattern.hpp"
#include "torq/ring/shm_segment.hpp"

using namespace torq::ring;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: ring_peer produce <segment> <total> | hang <segment>\n");
    return 2;
  }
  const std::string mode = argv[1];
  ShmRing ring;
  try {
    ring = ShmRing::attach(argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ring_peer: %s\n", e.what());
    return 4;
  }
  auto p = SpscProducer::attach(ring.region);
  if (!p.ok()) {
    std::fprintf(stderr, "ring_peer: attach producer: %s\n", to_string(p.error));
    return 3;
  }
  SpscProducer& prod = p.value;
  if (mode == "hang") {
    for (;;) ::pause();
  }
  if (mode != "produce" || argc < 4) return 2;
  const std::uint64_t total = std::strtoull(argv[3], nullptr, 10);
  std::uint64_t seq = prod.published_records();  // resume exactly after the last committed record
  std::uint64_t spins = 0;
  while (seq < total) {
    const std::uint32_t size = torq::ring::test::frame_size(seq, 8, 200);
    auto span = prod.try_claim(size);
    if (span.empty()) {
      if ((++spins & 1023) == 0) {
        prod.heartbeat();
        std::this_thread::yield();
      }
      continue;
    }
    torq::ring::test::fill_frame(span, seq);
    prod.commit();
    ++seq;
    if ((seq & 255) == 0) prod.heartbeat();
  }
  return 0;
}
