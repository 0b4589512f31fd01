// libFuzzer target: the RLP decoder, the EIP-1559 transaction decoder and the ABI decoder on
// arbitrary bytes. Besides "no crash, no UB" (sanitizers) it checks round trips: any input the
// RLP decoder accepts re-encodes to exactly the same bytes (the decoder is canonical-only); any
// transaction the tx decoder accepts (with an empty access list) re-encodes to the input; ABI
// views handed out by the reader lie inside the input.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "torq/executor/abi.hpp"
#include "torq/executor/rlp.hpp"
#include "torq/executor/tx.hpp"

using namespace torq::executor;

namespace {

bool reencode(const RlpItem& item, RlpWriter& w, int depth) {
  if (!item.is_list) {
    w.bytes(item.payload);
    return true;
  }
  if (depth >= static_cast<int>(RlpWriter::kMaxDepth)) return false;
  w.begin_list();
  RlpListReader r(item.payload);
  while (!r.done()) {
    RlpItem child;
    if (r.next(child) != RlpError::Ok) return false;
    if (!reencode(child, w, depth + 1)) return false;
  }
  w.end_list();
  return true;
}

void check_inside(std::span<const std::uint8_t> in, std::span<const std::uint8_t> view) {
  if (view.empty()) return;
  if (view.data() < in.data() || view.data() + view.size() > in.data() + in.size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);

  // RLP: accepted => canonical => re-encodes identically.
  RlpItem item;
  if (rlp_decode_exact(in, item) == RlpError::Ok) {
    check_inside(in, item.payload);
    std::vector<std::uint8_t> out(size + 16);
    RlpWriter w(out);
    if (reencode(item, w, 0)) {
      if (!w.ok() || w.size() != size || std::memcmp(out.data(), data, size) != 0) std::abort();
    }
    torq::num::U256 u;
    (void)rlp_decode_uint(item, u);
  }

  // EIP-1559 transactions.
  {
    std::vector<std::uint8_t> scratch(size + 256);
    DecodedTx d;
    if (decode_signed_tx(in, scratch, d) == TxError::Ok) {
      check_inside(in, d.tx.data);
      if (d.access_list.size() == 1) {
        std::vector<std::uint8_t> out(max_signed_tx_size(d.tx.data.size()));
        const std::size_t n = encode_signed_tx(d.tx, d.signature, out);
        if (n != size || std::memcmp(out.data(), data, size) != 0) std::abort();
      }
    }
  }

  // ABI: revert data, then the input as a tuple of assorted types.
  const RevertReason rr = decode_revert(in);
  check_inside(in, rr.args);
  if (!rr.message.empty()) {
    check_inside(in, {reinterpret_cast<const std::uint8_t*>(rr.message.data()), rr.message.size()});
  }
  const AbiReader r(in);
  for (std::size_t slot = 0; slot < 4; ++slot) {
    std::span<const std::uint8_t> b;
    if (r.bytes(slot, b) == AbiError::Ok) check_inside(in, b);
    std::size_t count = 0;
    AbiReader elems;
    if (r.array(slot, 1, count, elems) == AbiError::Ok) {
      for (std::size_t i = 0; i < count && i < 8; ++i) {
        AbiReader t;
        if (elems.tuple(i, t) == AbiError::Ok) {
          torq::protocol::Address a{};
          (void)t.address(0, a);
          if (t.bytes(1, b) == AbiError::Ok) check_inside(in, b);
        }
      }
    }
    std::int64_t v = 0;
    (void)r.sint(slot, 24, v);
    bool flag = false;
    (void)r.boolean(slot, flag);
    torq::protocol::Address a{};
    (void)r.inline_tuple(slot).address(1, a);
  }
  return 0;
}
