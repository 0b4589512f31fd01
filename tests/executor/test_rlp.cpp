// RLP encoder and decoder: the canonical vectors of the Ethereum test suite (RLPTests/rlptest.json,
// written here from the spec) and rejection of non-canonical and truncated input.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "torq/executor/hex.hpp"
#include "torq/executor/rlp.hpp"

using namespace torq::executor;
using torq::num::U256;

namespace {

std::span<const std::uint8_t> str(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

template <typename F>
std::string enc(F&& f, std::size_t cap = 4096) {
  std::vector<std::uint8_t> buf(cap);
  RlpWriter w(buf);
  f(w);
  EXPECT_TRUE(w.ok()) << to_string(w.error());
  return to_hex(w.encoded()).substr(2);
}

std::vector<std::uint8_t> bytes(std::string_view h) { return *from_hex(h); }

RlpError decode_exact(std::string_view h) {
  const auto b = bytes(h);
  RlpItem it;
  return rlp_decode_exact(b, it);
}

// Decodes an item tree and re-encodes it (used to prove decode(encode(x)) == x on vectors).
void reencode(const RlpItem& item, RlpWriter& w) {
  if (!item.is_list) {
    w.bytes(item.payload);
    return;
  }
  w.begin_list();
  RlpListReader r(item.payload);
  while (!r.done()) {
    RlpItem child;
    ASSERT_EQ(r.next(child), RlpError::Ok);
    reencode(child, w);
  }
  w.end_list();
}

}  // namespace

TEST(Rlp, ShouldEncodeStringsLikeTheEthereumTestSuite) {
  EXPECT_EQ(enc([](RlpWriter& w) { w.bytes(str("")); }), "80");
  EXPECT_EQ(enc([](RlpWriter& w) { w.bytes(str("d")); }), "64");
  EXPECT_EQ(enc([](RlpWriter& w) { w.bytes(str("dog")); }), "83646f67");
  EXPECT_EQ(enc([](RlpWriter& w) { w.bytes(bytes("00")); }), "00");
  EXPECT_EQ(enc([](RlpWriter& w) { w.bytes(bytes("7f")); }), "7f");
  EXPECT_EQ(enc([](RlpWriter& w) { w.bytes(bytes("80")); }), "8180");
  const std::string s55(55, 'a');
  EXPECT_EQ(enc([&](RlpWriter& w) { w.bytes(str(s55)); }).substr(0, 2), "b7");
  const std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";  // 56 bytes
  ASSERT_EQ(lorem.size(), 56u);
  EXPECT_EQ(enc([&](RlpWriter& w) { w.bytes(str(lorem)); }), "b838" + to_hex(str(lorem)).substr(2));
  const std::string k1(1024, 'x');
  EXPECT_EQ(enc([&](RlpWriter& w) { w.bytes(str(k1)); }).substr(0, 6), "b90400");
}

TEST(Rlp, ShouldEncodeIntegersMinimallyBigEndian) {
  EXPECT_EQ(enc([](RlpWriter& w) { w.uint(std::uint64_t{0}); }), "80");
  EXPECT_EQ(enc([](RlpWriter& w) { w.uint(std::uint64_t{1}); }), "01");
  EXPECT_EQ(enc([](RlpWriter& w) { w.uint(std::uint64_t{15}); }), "0f");
  EXPECT_EQ(enc([](RlpWriter& w) { w.uint(std::uint64_t{127}); }), "7f");
  EXPECT_EQ(enc([](RlpWriter& w) { w.uint(std::uint64_t{128}); }), "8180");
  EXPECT_EQ(enc([](RlpWriter& w) { w.uint(std::uint64_t{1024}); }), "820400");
  EXPECT_EQ(enc([](RlpWriter& w) { w.uint(std::uint64_t{0xffffff}); }), "83ffffff");
  EXPECT_EQ(enc([](RlpWriter& w) { w.uint(~std::uint64_t{0}); }), "88ffffffffffffffff");
  EXPECT_EQ(enc([](RlpWriter& w) { w.uint(U256::zero()); }), "80");
  EXPECT_EQ(enc([](RlpWriter& w) { w.uint(U256::from_limbs(1024, 0, 0, 0)); }), "820400");
  // 2^255: a full 32-byte integer, header 0xa0
  EXPECT_EQ(enc([](RlpWriter& w) { w.uint(U256::pow2(255)); }), "a08" + std::string(63, '0'));
}

TEST(Rlp, ShouldEncodeListsLikeTheEthereumTestSuite) {
  EXPECT_EQ(enc([](RlpWriter& w) { w.begin_list(); w.end_list(); }), "c0");
  EXPECT_EQ(enc([](RlpWriter& w) {
              w.begin_list();
              w.bytes(str("cat"));
              w.bytes(str("dog"));
              w.end_list();
            }),
            "c88363617483646f67");
  // Set theoretic representation of three: [ [], [[]], [ [], [[]] ] ]
  EXPECT_EQ(enc([](RlpWriter& w) {
              w.begin_list();
              w.begin_list(); w.end_list();
              w.begin_list(); w.begin_list(); w.end_list(); w.end_list();
              w.begin_list();
              w.begin_list(); w.end_list();
              w.begin_list(); w.begin_list(); w.end_list(); w.end_list();
              w.end_list();
              w.end_list();
            }),
            "c7c0c1c0c3c0c1c0");
  // rlptest "longList1": four times ["asdf","qwer","zxcv"] -> payload 64 bytes, header f840.
  const std::string inner = "cf84617364668471776572847a786376";
  EXPECT_EQ(enc([](RlpWriter& w) {
              w.begin_list();
              for (int i = 0; i < 4; ++i) {
                w.begin_list();
                w.bytes(str("asdf"));
                w.bytes(str("qwer"));
                w.bytes(str("zxcv"));
                w.end_list();
              }
              w.end_list();
            }),
            "f840" + inner + inner + inner + inner);
  // Mixed: ["zw", [4], 1] -> c6827a77c10401 (rlptest "multiList")
  EXPECT_EQ(enc([](RlpWriter& w) {
              w.begin_list();
              w.bytes(str("zw"));
              w.begin_list(); w.uint(std::uint64_t{4}); w.end_list();
              w.uint(std::uint64_t{1});
              w.end_list();
            }),
            "c6827a77c10401");
}

TEST(Rlp, ShouldDecodeAndReencodeEveryVectorToTheSameBytes) {
  const std::string lorem = to_hex(str("Lorem ipsum dolor sit amet, consectetur adipisicing elit")).substr(2);
  const std::string inner = "cf84617364668471776572847a786376";
  for (const std::string& v : {std::string("80"), std::string("83646f67"), std::string("c0"),
                              std::string("c88363617483646f67"), std::string("c7c0c1c0c3c0c1c0"),
                              "b838" + lorem, "f840" + inner + inner + inner + inner, std::string("820400"),
                              std::string("c6827a77c10401")}) {
    const auto in = bytes(v);
    RlpItem item;
    ASSERT_EQ(rlp_decode_exact(in, item), RlpError::Ok) << v;
    std::vector<std::uint8_t> buf(in.size() + 16);
    RlpWriter w(buf);
    reencode(item, w);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(to_hex(w.encoded()).substr(2), v);
  }
}

TEST(Rlp, ShouldDecodeIntegersAndRejectNonCanonicalOnes) {
  auto dec = [](std::string_view h, U256& out) {
    const auto b = bytes(h);
    RlpItem it;
    EXPECT_EQ(rlp_decode_exact(b, it), RlpError::Ok);
    return rlp_decode_uint(it, out);
  };
  U256 v;
  ASSERT_EQ(dec("820400", v), RlpError::Ok);
  EXPECT_EQ(v, U256::from_limbs(1024, 0, 0, 0));
  ASSERT_EQ(dec("80", v), RlpError::Ok);
  EXPECT_EQ(v, U256::zero());
  EXPECT_EQ(dec("00", v), RlpError::IntegerLeadingZero);      // zero must be 0x80
  EXPECT_EQ(dec("820001", v), RlpError::IntegerLeadingZero);  // leading zero byte
  EXPECT_EQ(dec("a1" + std::string(66, '1'), v), RlpError::IntegerTooLarge);  // 33 bytes
  EXPECT_EQ(dec("c0", v), RlpError::NotAString);
  std::uint64_t small = 0;
  const auto nine = bytes("89010000000000000000");
  RlpItem it;
  ASSERT_EQ(rlp_decode_exact(nine, it), RlpError::Ok);
  EXPECT_EQ(rlp_decode_uint(it, small), RlpError::IntegerTooLarge);
}

TEST(Rlp, ShouldRejectNonCanonicalEncodings) {
  EXPECT_EQ(decode_exact("8100"), RlpError::NonCanonicalSingleByte);
  EXPECT_EQ(decode_exact("817f"), RlpError::NonCanonicalSingleByte);
  EXPECT_EQ(decode_exact("b803646f67"), RlpError::NonCanonicalLength);  // long form for 3 bytes
  EXPECT_EQ(decode_exact("b90038" + std::string(112, '6')), RlpError::NonCanonicalLength);  // leading 0
  EXPECT_EQ(decode_exact("f800"), RlpError::NonCanonicalLength);
  EXPECT_EQ(decode_exact("f803c0c0c0"), RlpError::NonCanonicalLength);
}

TEST(Rlp, ShouldRejectTruncatedInputWithoutReadingPastIt) {
  EXPECT_EQ(decode_exact(""), RlpError::Truncated);
  EXPECT_EQ(decode_exact("83646f"), RlpError::Truncated);
  EXPECT_EQ(decode_exact("c88363617483646f"), RlpError::Truncated);
  EXPECT_EQ(decode_exact("b8"), RlpError::Truncated);
  EXPECT_EQ(decode_exact("b9ff"), RlpError::Truncated);
  EXPECT_EQ(decode_exact("bfffffffffffffffff"), RlpError::Truncated);  // 2^64-1 length: no overflow
  EXPECT_EQ(decode_exact("ffffffffffffffffff"), RlpError::Truncated);
  EXPECT_EQ(decode_exact("b838" + std::string(110, '6')), RlpError::Truncated);  // 55 of 56 bytes
  EXPECT_EQ(decode_exact("83646f6701"), RlpError::TrailingBytes);
  // A list whose item runs past the end of the list payload.
  const auto bad = bytes("c383646f67");  // list of 3 bytes holding a 4-byte item
  RlpItem list;
  ASSERT_EQ(rlp_decode_item(bad, list), RlpError::Ok);
  RlpListReader r(list.payload);
  RlpItem child;
  EXPECT_EQ(r.next(child), RlpError::Truncated);
}

TEST(Rlp, ShouldReportBufferTooSmallInsteadOfWritingPastTheBuffer) {
  std::vector<std::uint8_t> buf(8, 0xee);
  RlpWriter w{std::span(buf).first(4)};
  w.bytes(str("dogs"));  // needs 5
  EXPECT_EQ(w.error(), RlpError::BufferTooSmall);
  w.bytes(str("a"));  // sticky: no-op
  EXPECT_EQ(w.error(), RlpError::BufferTooSmall);
  EXPECT_EQ(buf[4], 0xee);
  // A list header that no longer fits once the payload is in.
  std::vector<std::uint8_t> b2(4);
  RlpWriter w2(b2);
  w2.begin_list();
  w2.bytes(str("dog"));  // 4 bytes, fills the buffer; header needs one more
  w2.end_list();
  EXPECT_EQ(w2.error(), RlpError::BufferTooSmall);
}

TEST(Rlp, ShouldReportUnbalancedAndTooDeepLists) {
  std::vector<std::uint8_t> buf(64);
  RlpWriter a(buf);
  a.begin_list();
  EXPECT_EQ(a.error(), RlpError::UnbalancedList);
  RlpWriter b(buf);
  b.end_list();
  EXPECT_EQ(b.error(), RlpError::UnbalancedList);
  RlpWriter c(buf);
  for (std::size_t i = 0; i <= RlpWriter::kMaxDepth; ++i) c.begin_list();
  EXPECT_EQ(c.error(), RlpError::TooDeep);
}
