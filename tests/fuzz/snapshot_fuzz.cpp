// libFuzzer target: arbitrary bytes as the body of GET /api/snapshot, which a standalone dashboard
// reads from every role process it aggregates (torq/ops/snapshot_codec.hpp). The decoder must
// return a snapshot or refuse with a message; a snapshot it accepts must encode back to text that
// decodes to the same encoding, and must render (API views, Prometheus) and merge without a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "torq/ops/aggregate.hpp"
#include "torq/ops/render.hpp"
#include "torq/ops/snapshot_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string err;
  const auto s = torq::ops::decode_snapshot(text, &err);
  if (!s) {
    if (err.empty()) std::abort();
    return 0;
  }
  const std::string once = torq::ops::encode_snapshot(*s);
  const auto again = torq::ops::decode_snapshot(once, &err);
  if (!again || torq::ops::encode_snapshot(*again) != once) std::abort();
  (void)torq::ops::render_status(*s);
  (void)torq::ops::render_latency(*s);
  (void)torq::ops::render_prometheus(*s);
  std::vector<torq::ops::UpstreamView> ups(2);
  ups[0].snapshot = *s;
  ups[1].snapshot = *again;
  (void)torq::ops::render_dashboard(torq::ops::merge_snapshots(ups, 1), 2);
  return 0;
}
