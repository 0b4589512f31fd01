// libFuzzer target: control::RecordReader on arbitrary bytes (a recording copied from a crashed
// or hostile host). Besides "no crash, no UB" (sanitizers), checks the reader's contract: every
// record it returns lies inside the input, the stop offset is within the input, and re-serialising
// the header and the returned records reproduces the input up to the stop offset byte for byte.
// Seeds (tests/fuzz/corpus/recording): small recordings written by RecordWriter (docs/record-replay.md).
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "torq/control/recording.hpp"

using namespace torq::control;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(size);
  if (size != 0) std::memcpy(bytes.data(), data, size);
  try {
    const RecordReader r = RecordReader::from_bytes(bytes, "fuzz");
    if (r.stop_offset() > size) std::abort();
    std::vector<std::byte> again;
    append_header(again, r.header());
    for (const auto& v : r.records()) append_record(again, v);
    if (again.size() != r.stop_offset()) std::abort();
    if (std::memcmp(again.data(), data, again.size()) != 0) std::abort();
  } catch (const std::runtime_error&) {
    // a damaged header is refused: fine
  }
  return 0;
}
