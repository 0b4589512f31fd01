// The test vectors in docs/protocol.md are exactly what the builder produces, and they parse
// to the documented result. Fails if the document and the code drift apart.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "vectors.hpp"

namespace torq::protocol {
namespace {

// Reads blocks of the form:  <!-- vector: NAME -->  followed by a ```hex fenced block.
std::map<std::string, std::string> read_doc_vectors() {
  const char* root = std::getenv("TORQ_SOURCE_DIR");
  std::ifstream in(std::string(root ? root : ".") + "/docs/protocol.md");
  std::map<std::string, std::string> out;
  std::string line;
  std::string current;
  bool in_block = false;
  while (std::getline(in, line)) {
    const std::string tag = "<!-- vector: ";
    if (line.rfind(tag, 0) == 0) {
      current = line.substr(tag.size(), line.find(" -->") - tag.size());
      continue;
    }
    if (!current.empty() && line == "```hex") { in_block = true; continue; }
    if (in_block && line == "```") { in_block = false; current.clear(); continue; }
    if (in_block) {
      for (char c : line) {
        if (std::isxdigit(static_cast<unsigned char>(c))) out[current].push_back(static_cast<char>(std::tolower(c)));
      }
    }
  }
  return out;
}

std::vector<std::byte> from_hex(const std::string& hex) {
  std::vector<std::byte> b;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) b.push_back(static_cast<std::byte>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return b;
}

TEST(ProtocolVectors, ShouldMatchTheDocumentByteForByte) {
  const auto doc = read_doc_vectors();
  const auto vecs = testvec::all_vectors();
  ASSERT_EQ(doc.size(), vecs.size()) << "docs/protocol.md must publish every vector";
  for (const auto& v : vecs) {
    const auto it = doc.find(v.name);
    ASSERT_NE(it, doc.end()) << v.name;
    EXPECT_EQ(it->second, testvec::to_hex(v.bytes)) << v.name;
    const auto parsed = parse_frame(from_hex(it->second));
    EXPECT_EQ(parsed.error, v.expected) << v.name << ": " << to_string(parsed.error);
  }
}

TEST(ProtocolVectors, ShouldDecodeDocumentedValues) {
  const auto vecs = testvec::all_vectors();
  const auto sync = parse_frame(vecs[1].bytes);
  ASSERT_TRUE(sync.ok());
  const auto s = tlv_as<V2Sync>(*sync.view.tlvs().begin());
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->ctx.block_number, 65'000'000u);
  EXPECT_EQ(s->reserve1.limb[0], 3'000'000'000ull);
  EXPECT_EQ(InstrumentId(s->ctx.pool).venue(), Venue::QuickSwapV2);
  const auto err = parse_frame(vecs[3].bytes);
  ASSERT_TRUE(err.ok());
  const auto tlv = *err.view.tlvs().begin();
  EXPECT_TRUE(tlv.extended);
  EXPECT_EQ(tlv.value.size(), sizeof(ErrorHead) + 300);
}

}  // namespace
}  // namespace torq::protocol
