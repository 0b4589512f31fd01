// ABI encoder compared byte for byte with ethers v6 AbiCoder (vectors in ethers_vectors.json,
// produced by ethers_vectors.mjs), and the bounds-checked decoder on good and hostile input.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ethers_cases.hpp"
#include "torq/executor/abi.hpp"
#include "torq/executor/hex.hpp"

using namespace torq::executor;
using namespace torq::executor::test;
using torq::num::U256;

namespace {

class AbiVsEthers : public ::testing::Test {
 protected:
  void SetUp() override { v_ = checked_in_vectors(); }
  std::string expected(const std::string& name) {
    const auto it = v_.abi.find(name);
    if (it == v_.abi.end()) ADD_FAILURE() << "no vector " << name;
    return it == v_.abi.end() ? "" : it->second;
  }
  EthersVectors v_;
  std::vector<std::uint8_t> buf_ = std::vector<std::uint8_t>(4096);
};

}  // namespace

TEST_F(AbiVsEthers, ShouldEncodeTheExecuteCallLikeEthersInterface) {
  const auto path = vector_path();
  const std::size_t n = encode_execute_call(buf_, path, u256("3000000000000000007"), u256("123456789"));
  ASSERT_EQ(n, execute_call_size(path.size()));
  EXPECT_EQ(to_hex(std::span(buf_).first(n)), expected("execute"));
  EXPECT_EQ(to_hex(kExecuteSelector), expected("execute").substr(0, 10));
  EXPECT_EQ(to_hex(selector("transfer(address,uint256)")), expected("selector_transfer"));
}

TEST_F(AbiVsEthers, ShouldEncodeStaticTypesWithSignExtensionAndPadding) {
  AbiWriter w(buf_);
  AbiTuple t = w.encode(6);
  t.address(0, addr("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"));
  t.uint(1, U256::max());
  t.sint(2, std::int64_t{-887272});  // int24 MIN_TICK
  t.sint(3, std::int64_t{887272});
  t.boolean(4, true);
  std::array<std::uint8_t, 32> b32;
  b32.fill(0xab);
  t.bytes32(5, b32);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(to_hex(w.encoded()), expected("static_mix"));
}

TEST_F(AbiVsEthers, ShouldEncodeDynamicBytesWithLengthAndZeroPadding) {
  AbiWriter w(buf_);
  AbiTuple t = w.encode(2);
  t.bytes(0, {});
  const std::vector<std::uint8_t> b33(33, 0x5a);
  t.bytes(1, b33);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(to_hex(w.encoded()), expected("bytes_empty_and_33"));
}

TEST_F(AbiVsEthers, ShouldEncodeArraysOfStaticStructsInline) {
  std::fill(buf_.begin(), buf_.end(), 0xee);  // the writer must zero what it allocates
  AbiWriter w(buf_);
  AbiTuple t = w.encode(2);
  AbiTuple hops = t.array(0, 2, 4);  // (address,bool,int24,uint24)[]
  AbiTuple h0 = hops.inline_tuple(0);
  h0.address(0, addr("0x5FbDB2315678afecb367f032d93F642f64180aa3"));
  h0.boolean(1, true);
  h0.sint(2, std::int64_t{-60});
  h0.uint(3, std::uint64_t{3000});
  AbiTuple h1 = hops.inline_tuple(4);
  h1.address(0, addr("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"));
  h1.boolean(1, false);
  h1.sint(2, std::int64_t{10});
  h1.uint(3, std::uint64_t{500});
  t.uint(1, std::uint64_t{77});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(to_hex(w.encoded()), expected("static_struct_array"));
}

TEST_F(AbiVsEthers, ShouldEncodeArraysOfDynamicStructsWithOffsets) {
  AbiWriter w(buf_);
  AbiTuple t = w.encode(2);
  AbiTuple arr = t.array(0, 2, 1);  // (address,bytes)[]: one offset word per element
  AbiTuple e0 = arr.tuple(0, 2);
  e0.address(0, addr("0x5FbDB2315678afecb367f032d93F642f64180aa3"));
  const std::uint8_t b0[] = {1, 2};
  e0.bytes(1, b0);
  AbiTuple e1 = arr.tuple(1, 2);
  e1.address(0, addr("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"));
  const std::vector<std::uint8_t> b1(40, 0xcd);
  e1.bytes(1, b1);
  t.string(1, "torq");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(to_hex(w.encoded()), expected("dynamic_struct_array"));
}

TEST_F(AbiVsEthers, ShouldDecodeWhatEthersEncodedForDynamicStructArrays) {
  const auto data = hexv(expected("dynamic_struct_array"));
  const AbiReader r(data);
  std::size_t count = 0;
  AbiReader elems;
  ASSERT_EQ(r.array(0, 1, count, elems), AbiError::Ok);
  ASSERT_EQ(count, 2u);
  AbiReader e1;
  ASSERT_EQ(elems.tuple(1, e1), AbiError::Ok);
  torq::protocol::Address a{};
  ASSERT_EQ(e1.address(0, a), AbiError::Ok);
  EXPECT_EQ(a, addr("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"));
  std::span<const std::uint8_t> b;
  ASSERT_EQ(e1.bytes(1, b), AbiError::Ok);
  EXPECT_EQ(std::vector<std::uint8_t>(b.begin(), b.end()), std::vector<std::uint8_t>(40, 0xcd));
  std::string_view s;
  ASSERT_EQ(r.string(1, s), AbiError::Ok);
  EXPECT_EQ(s, "torq");
}

TEST_F(AbiVsEthers, ShouldDecodeStaticStructArrayAndSignedTicks) {
  const auto data = hexv(expected("static_struct_array"));
  const AbiReader r(data);
  std::size_t count = 0;
  AbiReader hops;
  ASSERT_EQ(r.array(0, 4, count, hops), AbiError::Ok);
  ASSERT_EQ(count, 2u);
  std::int64_t tick = 0;
  ASSERT_EQ(hops.inline_tuple(0).sint(2, 24, tick), AbiError::Ok);
  EXPECT_EQ(tick, -60);
  ASSERT_EQ(hops.inline_tuple(4).sint(2, 24, tick), AbiError::Ok);
  EXPECT_EQ(tick, 10);
  bool zf1 = true;
  ASSERT_EQ(hops.inline_tuple(4).boolean(1, zf1), AbiError::Ok);
  EXPECT_FALSE(zf1);
  std::uint64_t min_profit = 0;
  ASSERT_EQ(r.uint(1, min_profit), AbiError::Ok);
  EXPECT_EQ(min_profit, 77u);
}

TEST_F(AbiVsEthers, ShouldDecodeErrorStringRevertReason) {
  std::vector<std::uint8_t> data(kErrorStringSelector.begin(), kErrorStringSelector.end());
  const auto body = hexv(expected("error_string"));
  data.insert(data.end(), body.begin(), body.end());
  const RevertReason rr = decode_revert(data);
  ASSERT_EQ(rr.kind, RevertKind::ErrorString);
  EXPECT_EQ(rr.message, "Too little profit");
}

TEST(AbiDecode, ShouldDecodePanicCustomAndEmptyReverts) {
  std::vector<std::uint8_t> buf(256);
  AbiWriter w(buf);
  AbiTuple t = w.call(kPanicSelector, 1);
  t.uint(0, std::uint64_t{0x11});
  ASSERT_TRUE(w.ok());
  const RevertReason p = decode_revert(w.encoded());
  ASSERT_EQ(p.kind, RevertKind::Panic);
  EXPECT_EQ(p.panic_code, U256::from_limbs(0x11, 0, 0, 0));

  const Selector custom = selector("TooLittleProfit(uint256,uint256)");
  AbiWriter w2(buf);
  AbiTuple t2 = w2.call(custom, 2);
  t2.uint(0, std::uint64_t{1});
  t2.uint(1, std::uint64_t{2});
  const RevertReason c = decode_revert(w2.encoded());
  ASSERT_EQ(c.kind, RevertKind::Custom);
  EXPECT_EQ(c.selector, custom);
  EXPECT_EQ(c.args.size(), 64u);

  EXPECT_EQ(decode_revert({}).kind, RevertKind::Empty);
  const std::uint8_t three[] = {0x08, 0xc3, 0x79};
  EXPECT_EQ(decode_revert(three).kind, RevertKind::Malformed);
  // Error(string) selector with a body whose string runs past the end.
  std::vector<std::uint8_t> bad(kErrorStringSelector.begin(), kErrorStringSelector.end());
  bad.resize(4 + 64, 0);
  bad[4 + 31] = 0x20;
  bad[4 + 63] = 0x50;  // length 80, no data
  EXPECT_EQ(decode_revert(bad).kind, RevertKind::Malformed);
}

TEST(AbiDecode, ShouldRejectOffsetsAndLengthsOutsideTheData) {
  std::vector<std::uint8_t> d(64, 0);
  const AbiReader r(d);
  std::span<const std::uint8_t> b;
  d[31] = 0x40;  // offset 64 == size: no room for the length word
  EXPECT_EQ(r.bytes(0, b), AbiError::OutOfBounds);
  d[31] = 0x20;
  d[63] = 0x01;  // length 1 at offset 32, but no data after it
  EXPECT_EQ(r.bytes(0, b), AbiError::OutOfBounds);
  d[0] = 0xff;  // offset with high bits set (would overflow a size_t)
  EXPECT_EQ(r.bytes(0, b), AbiError::OutOfBounds);
  EXPECT_EQ(r.bytes(2, b), AbiError::OutOfBounds);  // slot past the data
  d.assign(96, 0);
  d[31] = 0x20;
  d[63] = 0xff;  // array claims 255 elements in 1 word of room
  std::size_t count = 0;
  AbiReader elems;
  EXPECT_EQ(AbiReader(d).array(0, 1, count, elems), AbiError::OutOfBounds);
}

TEST(AbiDecode, ShouldRejectDirtyPaddingOfAddressBoolAndIntN) {
  std::vector<std::uint8_t> d(32, 0);
  const AbiReader r(d);
  torq::protocol::Address a{};
  bool flag = false;
  std::int64_t i = 0;
  d[0] = 1;
  EXPECT_EQ(r.address(0, a), AbiError::BadPadding);
  EXPECT_EQ(r.boolean(0, flag), AbiError::BadPadding);
  d[0] = 0;
  d[31] = 2;
  EXPECT_EQ(r.boolean(0, flag), AbiError::BadPadding);
  // int24 -1 must be all ff; ff..ff 00 7f ff ff (positive value in a negative-looking word) is not.
  std::fill(d.begin(), d.end(), 0xff);
  ASSERT_EQ(r.sint(0, 24, i), AbiError::Ok);
  EXPECT_EQ(i, -1);
  d[29] = 0x7f;
  EXPECT_EQ(r.sint(0, 24, i), AbiError::BadPadding);
  std::fill(d.begin(), d.end(), 0);
  d[28] = 0x01;  // 2^24 does not fit int24
  EXPECT_EQ(r.sint(0, 24, i), AbiError::BadPadding);
}

TEST(AbiEncode, ShouldFailCleanlyWhenTheBufferIsTooSmallOrTheSlotIsWrong) {
  std::vector<std::uint8_t> buf(4 + 3 * 32 + 32, 0xee);  // no room for the bytes data
  const std::vector<std::uint8_t> path(10, 1);
  EXPECT_EQ(encode_execute_call(std::span(buf).first(buf.size() - 32), path, U256::one(), U256::one()), 0u);
  std::vector<std::uint8_t> ok(256);
  AbiWriter w(ok);
  AbiTuple t = w.encode(1);
  t.uint(1, std::uint64_t{5});
  EXPECT_EQ(w.error(), AbiError::BadSlot);
  AbiWriter w2{std::span(ok).first(16)};
  (void)w2.call(kExecuteSelector, 3);
  EXPECT_EQ(w2.error(), AbiError::BufferTooSmall);
}
