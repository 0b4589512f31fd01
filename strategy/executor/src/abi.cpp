#include "torq/executor/abi.hpp"

#include <cstring>

namespace torq::executor {

const char* to_string(AbiError e) noexcept {
  switch (e) {
    case AbiError::Ok: return "ok";
    case AbiError::BufferTooSmall: return "buffer too small";
    case AbiError::BadSlot: return "slot outside the tuple head";
    case AbiError::OutOfBounds: return "offset or length out of bounds";
    case AbiError::BadPadding: return "bad padding";
    case AbiError::ValueTooLarge: return "value too large for the type";
  }
  return "unknown";
}

namespace {
constexpr std::size_t padded(std::size_t n) noexcept { return (n + 31) / 32 * 32; }

void put_u64(std::uint8_t* w, std::uint64_t v) noexcept {
  std::memset(w, 0, 24);
  for (int i = 0; i < 8; ++i) w[24 + i] = static_cast<std::uint8_t>(v >> (8 * (7 - i)));
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// Writer

std::size_t AbiWriter::alloc(std::size_t bytes) noexcept {
  if (err_ != AbiError::Ok) return kFail;
  if (buf_.size() - end_ < bytes) {
    fail(AbiError::BufferTooSmall);
    return kFail;
  }
  const std::size_t at = end_;
  if (bytes != 0) std::memset(buf_.data() + at, 0, bytes);
  end_ += bytes;
  return at;
}

AbiTuple AbiWriter::call(const Selector& sel, std::size_t head_words) noexcept {
  const std::size_t at = alloc(4);
  if (at == kFail) return {};
  std::memcpy(buf_.data() + at, sel.data(), 4);
  return encode(head_words);
}

AbiTuple AbiWriter::encode(std::size_t head_words) noexcept {
  if (head_words > buf_.size() / 32) {
    fail(AbiError::BufferTooSmall);
    return {};
  }
  const std::size_t at = alloc(32 * head_words);
  if (at == kFail) return {};
  return AbiTuple(this, at, head_words);
}

std::uint8_t* AbiTuple::word(std::size_t slot) noexcept {
  if (w_ == nullptr || w_->err_ != AbiError::Ok) return nullptr;
  if (slot >= words_) {
    w_->fail(AbiError::BadSlot);
    return nullptr;
  }
  return w_->buf_.data() + base_ + 32 * slot;
}

void AbiTuple::offset_to(std::size_t slot, std::size_t target) noexcept {
  if (std::uint8_t* w = word(slot)) put_u64(w, target - base_);
}

void AbiTuple::uint(std::size_t slot, const num::U256& v) noexcept {
  if (std::uint8_t* w = word(slot)) num::to_be_bytes(v, std::span<std::uint8_t, 32>(w, 32));
}
void AbiTuple::uint(std::size_t slot, std::uint64_t v) noexcept {
  if (std::uint8_t* w = word(slot)) put_u64(w, v);
}
void AbiTuple::sint(std::size_t slot, std::int64_t v) noexcept {
  if (std::uint8_t* w = word(slot)) {
    put_u64(w, static_cast<std::uint64_t>(v));
    if (v < 0) std::memset(w, 0xff, 24);
  }
}
void AbiTuple::sint(std::size_t slot, const num::I256& v) noexcept {
  if (std::uint8_t* w = word(slot)) num::to_be_bytes(v.bits(), std::span<std::uint8_t, 32>(w, 32));
}
void AbiTuple::address(std::size_t slot, const protocol::Address& a) noexcept {
  if (std::uint8_t* w = word(slot)) {
    std::memset(w, 0, 12);
    std::memcpy(w + 12, a.data(), 20);
  }
}
void AbiTuple::boolean(std::size_t slot, bool b) noexcept { uint(slot, std::uint64_t{b ? 1U : 0U}); }
void AbiTuple::bytes32(std::size_t slot, std::span<const std::uint8_t, 32> b) noexcept {
  if (std::uint8_t* w = word(slot)) std::memcpy(w, b.data(), 32);
}

void AbiTuple::bytes(std::size_t slot, std::span<const std::uint8_t> b) noexcept {
  if (word(slot) == nullptr) return;
  if (b.size() > w_->buf_.size()) {
    w_->fail(AbiError::BufferTooSmall);
    return;
  }
  const std::size_t at = w_->alloc(32 + padded(b.size()));
  if (at == AbiWriter::kFail) return;
  offset_to(slot, at);
  put_u64(w_->buf_.data() + at, b.size());
  if (!b.empty()) std::memcpy(w_->buf_.data() + at + 32, b.data(), b.size());
}
void AbiTuple::string(std::size_t slot, std::string_view s) noexcept {
  bytes(slot, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

AbiTuple AbiTuple::tuple(std::size_t slot, std::size_t head_words) noexcept {
  if (word(slot) == nullptr) return {};
  if (head_words > w_->buf_.size() / 32) {
    w_->fail(AbiError::BufferTooSmall);
    return {};
  }
  const std::size_t at = w_->alloc(32 * head_words);
  if (at == AbiWriter::kFail) return {};
  offset_to(slot, at);
  return AbiTuple(w_, at, head_words);
}

AbiTuple AbiTuple::inline_tuple(std::size_t first_slot) noexcept {
  if (word(first_slot) == nullptr) return {};
  return AbiTuple(w_, base_ + 32 * first_slot, words_ - first_slot);
}

AbiTuple AbiTuple::array(std::size_t slot, std::size_t count, std::size_t elem_words) noexcept {
  if (word(slot) == nullptr) return {};
  const std::size_t max_words = w_->buf_.size() / 32;
  if (elem_words != 0 && count > max_words / elem_words) {
    w_->fail(AbiError::BufferTooSmall);
    return {};
  }
  const std::size_t at = w_->alloc(32 * (1 + count * elem_words));
  if (at == AbiWriter::kFail) return {};
  offset_to(slot, at);
  put_u64(w_->buf_.data() + at, count);
  return AbiTuple(w_, at + 32, count * elem_words);
}

// ---------------------------------------------------------------------------------------------
// Reader

const std::uint8_t* AbiReader::word(std::size_t slot) const noexcept {
  if (base_ > data_.size()) return nullptr;
  const std::size_t room = (data_.size() - base_) / 32;
  if (slot >= room) return nullptr;
  return data_.data() + base_ + 32 * slot;
}

namespace {
bool all_equal(const std::uint8_t* p, std::size_t n, std::uint8_t v) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != v) return false;
  }
  return true;
}
// A 32-byte word as a size_t, if its value is small enough to be a plausible offset/length.
bool small_value(const std::uint8_t* w, std::size_t& out) noexcept {
  if (!all_equal(w, 24, 0)) return false;
  std::uint64_t v = 0;
  for (int i = 24; i < 32; ++i) v = (v << 8) | w[i];
  if (v > (std::uint64_t{1} << 40)) return false;
  out = static_cast<std::size_t>(v);
  return true;
}
}  // namespace

AbiError AbiReader::uint(std::size_t slot, num::U256& out) const noexcept {
  const std::uint8_t* w = word(slot);
  if (w == nullptr) return AbiError::OutOfBounds;
  out = num::from_be_bytes(std::span<const std::uint8_t, 32>(w, 32));
  return AbiError::Ok;
}

AbiError AbiReader::uint(std::size_t slot, std::uint64_t& out) const noexcept {
  const std::uint8_t* w = word(slot);
  if (w == nullptr) return AbiError::OutOfBounds;
  if (!all_equal(w, 24, 0)) return AbiError::ValueTooLarge;
  std::uint64_t v = 0;
  for (int i = 24; i < 32; ++i) v = (v << 8) | w[i];
  out = v;
  return AbiError::Ok;
}

AbiError AbiReader::sint(std::size_t slot, unsigned bits, std::int64_t& out) const noexcept {
  const std::uint8_t* w = word(slot);
  if (w == nullptr) return AbiError::OutOfBounds;
  if (bits < 8 || bits > 64 || bits % 8 != 0) return AbiError::ValueTooLarge;
  std::uint64_t v = 0;
  for (int i = 24; i < 32; ++i) v = (v << 8) | w[i];
  const bool neg = bits == 64 ? (v >> 63) != 0 : ((v >> (bits - 1)) & 1U) != 0;
  const std::uint8_t fill = neg ? 0xff : 0x00;
  if (!all_equal(w, 24, fill)) return AbiError::BadPadding;
  if (bits < 64) {
    const std::uint64_t high_mask = ~std::uint64_t{0} << bits;
    if ((v & high_mask) != (neg ? high_mask : 0)) return AbiError::BadPadding;
  }
  out = static_cast<std::int64_t>(v);
  return AbiError::Ok;
}

AbiError AbiReader::address(std::size_t slot, protocol::Address& out) const noexcept {
  const std::uint8_t* w = word(slot);
  if (w == nullptr) return AbiError::OutOfBounds;
  if (!all_equal(w, 12, 0)) return AbiError::BadPadding;
  std::memcpy(out.data(), w + 12, 20);
  return AbiError::Ok;
}

AbiError AbiReader::boolean(std::size_t slot, bool& out) const noexcept {
  const std::uint8_t* w = word(slot);
  if (w == nullptr) return AbiError::OutOfBounds;
  if (!all_equal(w, 31, 0) || w[31] > 1) return AbiError::BadPadding;
  out = w[31] == 1;
  return AbiError::Ok;
}

AbiError AbiReader::follow(std::size_t slot, std::size_t& pos) const noexcept {
  const std::uint8_t* w = word(slot);
  if (w == nullptr) return AbiError::OutOfBounds;
  std::size_t off = 0;
  if (!small_value(w, off)) return AbiError::OutOfBounds;
  if (off > data_.size() - base_) return AbiError::OutOfBounds;
  pos = base_ + off;
  return AbiError::Ok;
}

AbiError AbiReader::bytes(std::size_t slot, std::span<const std::uint8_t>& out) const noexcept {
  std::size_t pos = 0;
  if (const AbiError e = follow(slot, pos); e != AbiError::Ok) return e;
  if (data_.size() - pos < 32) return AbiError::OutOfBounds;
  std::size_t len = 0;
  if (!small_value(data_.data() + pos, len)) return AbiError::OutOfBounds;
  const std::size_t room = data_.size() - pos - 32;
  if (len > room) return AbiError::OutOfBounds;
  out = data_.subspan(pos + 32, len);
  return AbiError::Ok;
}

AbiError AbiReader::string(std::size_t slot, std::string_view& out) const noexcept {
  std::span<const std::uint8_t> b;
  if (const AbiError e = bytes(slot, b); e != AbiError::Ok) return e;
  out = std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
  return AbiError::Ok;
}

AbiError AbiReader::tuple(std::size_t slot, AbiReader& out) const noexcept {
  std::size_t pos = 0;
  if (const AbiError e = follow(slot, pos); e != AbiError::Ok) return e;
  out = AbiReader(data_);
  out.base_ = pos;
  return AbiError::Ok;
}

AbiError AbiReader::array(std::size_t slot, std::size_t elem_words, std::size_t& count,
                          AbiReader& elems) const noexcept {
  std::size_t pos = 0;
  if (const AbiError e = follow(slot, pos); e != AbiError::Ok) return e;
  if (data_.size() - pos < 32) return AbiError::OutOfBounds;
  std::size_t n = 0;
  if (!small_value(data_.data() + pos, n)) return AbiError::OutOfBounds;
  const std::size_t room_words = (data_.size() - pos - 32) / 32;
  if (elem_words != 0 && n > room_words / elem_words) return AbiError::OutOfBounds;
  count = n;
  elems = AbiReader(data_);
  elems.base_ = pos + 32;
  return AbiError::Ok;
}

// ---------------------------------------------------------------------------------------------

RevertReason decode_revert(std::span<const std::uint8_t> data) noexcept {
  RevertReason r;
  if (data.empty()) return r;
  if (data.size() < 4) {
    r.kind = RevertKind::Malformed;
    return r;
  }
  std::memcpy(r.selector.data(), data.data(), 4);
  r.args = data.subspan(4);
  const AbiReader body(r.args);
  if (r.selector == kErrorStringSelector) {
    r.kind = body.string(0, r.message) == AbiError::Ok ? RevertKind::ErrorString : RevertKind::Malformed;
  } else if (r.selector == kPanicSelector) {
    r.kind = body.uint(0, r.panic_code) == AbiError::Ok ? RevertKind::Panic : RevertKind::Malformed;
  } else {
    r.kind = RevertKind::Custom;
  }
  return r;
}

std::size_t encode_execute_call(std::span<std::uint8_t> out, std::span<const std::uint8_t> path,
                                const num::U256& amount_in, const num::U256& min_profit) noexcept {
  AbiWriter w(out);
  AbiTuple args = w.call(kExecuteSelector, 3);
  args.bytes(0, path);
  args.uint(1, amount_in);
  args.uint(2, min_profit);
  return w.ok() ? w.size() : 0;
}

}  // namespace torq::executor
