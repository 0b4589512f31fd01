#include "torq/executor/rlp.hpp"

#include <cstring>

namespace torq::executor {

const char* to_string(RlpError e) noexcept {
  switch (e) {
    case RlpError::Ok: return "ok";
    case RlpError::BufferTooSmall: return "buffer too small";
    case RlpError::TooDeep: return "lists nested too deep";
    case RlpError::UnbalancedList: return "unbalanced list";
    case RlpError::Truncated: return "truncated input";
    case RlpError::NonCanonicalSingleByte: return "non-canonical single byte";
    case RlpError::NonCanonicalLength: return "non-canonical length";
    case RlpError::TrailingBytes: return "trailing bytes";
    case RlpError::NotAList: return "expected a list";
    case RlpError::NotAString: return "expected a string";
    case RlpError::IntegerTooLarge: return "integer too large";
    case RlpError::IntegerLeadingZero: return "integer with leading zero";
    case RlpError::WrongItemCount: return "wrong item count";
  }
  return "unknown";
}

namespace {
std::size_t be_len(std::uint64_t v) noexcept {
  std::size_t n = 0;
  while (v != 0) {
    ++n;
    v >>= 8;
  }
  return n;
}
}  // namespace

bool RlpWriter::reserve(std::size_t n) noexcept {
  if (err_ != RlpError::Ok) return false;
  if (buf_.size() - pos_ < n) {
    err_ = RlpError::BufferTooSmall;
    return false;
  }
  return true;
}

void RlpWriter::header(std::uint8_t short_base, std::size_t len) noexcept {
  // short_base: 0x80 for strings, 0xc0 for lists; the long base is short_base + 55.
  if (len < 56) {
    buf_[pos_++] = static_cast<std::uint8_t>(short_base + len);
    return;
  }
  const std::size_t ll = be_len(len);
  buf_[pos_++] = static_cast<std::uint8_t>(short_base + 55 + ll);
  for (std::size_t i = ll; i-- > 0;) buf_[pos_++] = static_cast<std::uint8_t>(len >> (8 * i));
}

void RlpWriter::bytes(std::span<const std::uint8_t> s) noexcept {
  if (s.size() == 1 && s[0] < 0x80) {
    if (!reserve(1)) return;
    buf_[pos_++] = s[0];
    return;
  }
  if (!reserve(rlp_header_size(s.size()) + s.size())) return;
  header(0x80, s.size());
  if (!s.empty()) std::memcpy(buf_.data() + pos_, s.data(), s.size());
  pos_ += s.size();
}

void RlpWriter::uint(std::uint64_t v) noexcept {
  std::uint8_t be[8];
  const std::size_t n = be_len(v);
  for (std::size_t i = 0; i < n; ++i) be[i] = static_cast<std::uint8_t>(v >> (8 * (n - 1 - i)));
  bytes(std::span<const std::uint8_t>(be, n));
}

void RlpWriter::uint(const num::U256& v) noexcept {
  const num::Bytes32 be = num::to_be_bytes(v);
  std::size_t skip = 0;
  while (skip < 32 && be[skip] == 0) ++skip;
  bytes(std::span<const std::uint8_t>(be.data() + skip, 32 - skip));
}

void RlpWriter::raw(std::span<const std::uint8_t> encoded) noexcept {
  if (!reserve(encoded.size())) return;
  if (!encoded.empty()) std::memcpy(buf_.data() + pos_, encoded.data(), encoded.size());
  pos_ += encoded.size();
}

void RlpWriter::begin_list() noexcept {
  if (err_ != RlpError::Ok) return;
  if (depth_ == kMaxDepth) {
    err_ = RlpError::TooDeep;
    return;
  }
  open_[depth_++] = pos_;
}

void RlpWriter::end_list() noexcept {
  if (err_ != RlpError::Ok) return;
  if (depth_ == 0) {
    err_ = RlpError::UnbalancedList;
    return;
  }
  const std::size_t start = open_[--depth_];
  const std::size_t len = pos_ - start;
  const std::size_t h = rlp_header_size(len);
  if (!reserve(h)) return;
  if (len != 0) std::memmove(buf_.data() + start + h, buf_.data() + start, len);
  pos_ = start;
  header(0xc0, len);
  pos_ = start + h + len;
}

RlpError rlp_decode_item(std::span<const std::uint8_t> in, RlpItem& out) noexcept {
  if (in.empty()) return RlpError::Truncated;
  const std::uint8_t b = in[0];
  const std::size_t avail = in.size() - 1;
  std::size_t hdr = 1;
  std::size_t len = 0;
  bool list = false;
  if (b < 0x80) {
    out = RlpItem{false, in.first(1), 1};
    return RlpError::Ok;
  }
  if (b <= 0xb7) {
    len = b - 0x80u;
    if (len > avail) return RlpError::Truncated;
    if (len == 1 && in[1] < 0x80) return RlpError::NonCanonicalSingleByte;
  } else if (b <= 0xbf || (b >= 0xf8)) {
    list = b >= 0xf8;
    const std::size_t ll = list ? b - 0xf7u : b - 0xb7u;  // 1..8
    if (ll > avail) return RlpError::Truncated;
    if (in[1] == 0) return RlpError::NonCanonicalLength;
    std::uint64_t l = 0;
    for (std::size_t i = 0; i < ll; ++i) l = (l << 8) | in[1 + i];
    if (l < 56) return RlpError::NonCanonicalLength;
    hdr = 1 + ll;
    if (l > avail - ll) return RlpError::Truncated;
    len = static_cast<std::size_t>(l);
  } else {  // 0xc0..0xf7
    list = true;
    len = b - 0xc0u;
    if (len > avail) return RlpError::Truncated;
  }
  out = RlpItem{list, in.subspan(hdr, len), hdr + len};
  return RlpError::Ok;
}

RlpError rlp_decode_exact(std::span<const std::uint8_t> in, RlpItem& out) noexcept {
  const RlpError e = rlp_decode_item(in, out);
  if (e != RlpError::Ok) return e;
  return out.encoded_size == in.size() ? RlpError::Ok : RlpError::TrailingBytes;
}

RlpError RlpListReader::next(RlpItem& out) noexcept {
  const RlpError e = rlp_decode_item(rest_, out);
  if (e != RlpError::Ok) return e;
  rest_ = rest_.subspan(out.encoded_size);
  return RlpError::Ok;
}

RlpError rlp_decode_uint(const RlpItem& item, num::U256& out) noexcept {
  if (item.is_list) return RlpError::NotAString;
  const auto p = item.payload;
  if (p.size() > 32) return RlpError::IntegerTooLarge;
  if (!p.empty() && p[0] == 0) return RlpError::IntegerLeadingZero;
  num::Bytes32 be{};
  if (!p.empty()) std::memcpy(be.data() + (32 - p.size()), p.data(), p.size());
  out = num::from_be_bytes(be);
  return RlpError::Ok;
}

RlpError rlp_decode_uint(const RlpItem& item, std::uint64_t& out) noexcept {
  if (item.is_list) return RlpError::NotAString;
  const auto p = item.payload;
  if (p.size() > 8) return RlpError::IntegerTooLarge;
  if (!p.empty() && p[0] == 0) return RlpError::IntegerLeadingZero;
  std::uint64_t v = 0;
  for (std::uint8_t b : p) v = (v << 8) | b;
  out = v;
  return RlpError::Ok;
}

}  // namespace torq::executor
