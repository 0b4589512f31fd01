// Prints the Protocol V2 test vectors as the markdown that docs/protocol.md embeds, and with
// --corpus DIR also writes each valid vector as a seed file for the frame-reader fuzzer.
#include <cstdio>
#include <fstream>
#include <string>

#include "vectors.hpp"

int main(int argc, char** argv) {
  using namespace torq::protocol;
  const auto vecs = testvec::all_vectors();
  if (argc == 3 && std::string(argv[1]) == "--corpus") {
    for (const auto& v : vecs) {
      std::ofstream out(std::string(argv[2]) + "/" + v.name + ".bin", std::ios::binary);
      out.write(reinterpret_cast<const char*>(v.bytes.data()), static_cast<std::streamsize>(v.bytes.size()));
    }
    return 0;
  }
  for (const auto& v : vecs) {
    std::printf("### %s\n\n%s. %zu bytes; parse result: `%s`.\n\n<!-- vector: %s -->\n```hex\n", v.name.c_str(),
                v.description.c_str(), v.bytes.size(), to_string(v.expected), v.name.c_str());
    const std::string hex = testvec::to_hex(v.bytes);
    for (std::size_t i = 0; i < hex.size(); i += 64) std::printf("%s\n", hex.substr(i, 64).c_str());
    std::printf("```\n\n");
  }
  return 0;
}
