// Corpus replayer: a main() for fuzz targets when libFuzzer is not available (gcc builds).
// Runs LLVMFuzzerTestOneInput once per file given on the command line (directories are walked),
// so every checked-in corpus input and past crash stays a regression test in every build.
// Arguments starting with '-' (libFuzzer flags such as -runs=0) are ignored.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
int run_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot open %s\n", p.c_str());
    return 1;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  int failures = 0;
  std::size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    std::filesystem::path arg(argv[i]);
    if (std::filesystem::is_directory(arg)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(arg)) {
        if (e.is_regular_file()) { failures += run_file(e.path()); ++runs; }
      }
    } else {
      failures += run_file(arg);
      ++runs;
    }
  }
  std::printf("replay: %zu inputs, %d unreadable\n", runs, failures);
  return failures == 0 ? 0 : 1;
}
