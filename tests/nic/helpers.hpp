// Test helpers for tests/nic: a collecting sink and frame inspection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "torq/protocol/frame.hpp"

namespace torq::nic::test {

// Records (source, sequence) of every delivered frame and checks each is intact.
struct CollectSink {
  struct Item {
    std::uint8_t source;
    std::uint64_t seq;
  };
  std::vector<Item> items;
  std::size_t corrupt = 0;
  void on_frame(std::span<const std::byte> f) {
    const auto r = protocol::parse_frame(f);
    if (!r.ok() || r.view.size() != f.size()) {
      ++corrupt;
      return;
    }
    items.push_back({r.view.header.source, r.view.header.sequence});
  }
  // True if the delivered sequences of `source` are exactly first..first+count-1, in order.
  [[nodiscard]] bool exactly_in_order(std::uint8_t source, std::uint64_t first, std::size_t count) const {
    std::uint64_t want = first;
    std::size_t n = 0;
    for (const auto& i : items) {
      if (i.source != source) continue;
      if (i.seq != want) return false;
      ++want;
      ++n;
    }
    return n == count;
  }
};

}  // namespace torq::nic::test
