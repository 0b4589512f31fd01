// libFuzzer target: the Protocol V2 frame reader on arbitrary bytes. Checks, besides "no crash,
// no UB" (sanitizers), that an accepted frame is internally consistent: TLV iteration visits
// exactly tlv_count records that exactly fill the payload, and every record converts only to
// its own type.
#include <cstdlib>
#include <span>

#include "torq/protocol/frame.hpp"

using namespace torq::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  for (bool verify : {true, false}) {
    ParseOptions opt;
    opt.verify_checksum = verify;
    const auto r = parse_frame(bytes, opt);
    if (!r.ok()) continue;
    if (r.view.size() > size || r.view.payload.size() != r.view.header.payload_size) std::abort();
    std::size_t count = 0;
    std::size_t used = 0;
    for (const auto& t : r.view.tlvs()) {
      ++count;
      used += t.value.size() + (t.extended ? kExtendedTlvHeader : kStandardTlvHeader);
      if (!is_valid_length(t.type, t.value.size())) std::abort();
      if (tlv_as<V2Sync>(t).has_value() != (t.type == static_cast<std::uint8_t>(TlvType::V2Sync))) std::abort();
      if (tlv_as<V3Swap>(t).has_value() != (t.type == static_cast<std::uint8_t>(TlvType::V3Swap))) std::abort();
      (void)tlv_as<ArbitrageSignal>(t);
      (void)tlv_head_as<V3TicksSnapshotHead>(t);
      (void)tlv_head_as<ErrorHead>(t);
    }
    if (count != r.view.tlv_count || used != r.view.payload.size()) std::abort();
  }
  return 0;
}
