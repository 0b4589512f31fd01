// PrivateKey loading (file mode 0600 only, env var) and the guarantee that no string our code
// produces — errors, redacted formatting, hex of every transaction artefact — contains the key.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "ethers_cases.hpp"
#include "torq/executor/hex.hpp"
#include "torq/executor/key.hpp"
#include "torq/executor/tx.hpp"

using namespace torq::executor;
using namespace torq::executor::test;
namespace fs = std::filesystem;

namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// True when `text` contains the key, in either case, or any 16-hex-digit window of it.
bool leaks_key(const std::string& text) {
  const std::string k = kAnvilKey0;
  const std::string lo = [&] {
    std::string s = text;
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  }();
  for (std::size_t i = 0; i + 16 <= k.size(); ++i) {
    if (lo.find(k.substr(i, 16)) != std::string::npos) return true;
  }
  return false;
}

class KeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("torq-key-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& content, mode_t mode) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << content;
    ::chmod(p.c_str(), mode);
    return p;
  }
  std::string load_error(const fs::path& p) {
    try {
      (void)PrivateKey::from_file(p);
    } catch (const KeyError& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
  Signer signer_;
};

}  // namespace

TEST_F(KeyFile, ShouldLoadAKeyFromAFileWithMode0600) {
  const auto p = write("k", std::string("0x") + kAnvilKey0 + "\n", 0600);
  const PrivateKey k = PrivateKey::from_file(p);
  EXPECT_EQ(torq::protocol::format_address(signer_.address_of(k)), kAnvilAddress0);
  const auto p2 = write("k2", std::string("  ") + upper(kAnvilKey0) + "  \r\n", 0400);
  EXPECT_EQ(signer_.address_of(PrivateKey::from_file(p2)), signer_.address_of(k));
}

TEST_F(KeyFile, ShouldRefuseAKeyFileWithMode0644) {
  const auto p = write("k", kAnvilKey0, 0644);
  const std::string err = load_error(p);
  EXPECT_NE(err.find("mode is 0644"), std::string::npos) << err;
  EXPECT_NE(err.find("chmod 600"), std::string::npos) << err;
  EXPECT_NE(err.find(p.string()), std::string::npos) << err;
  EXPECT_FALSE(leaks_key(err));
}

TEST_F(KeyFile, ShouldRefuseGroupReadableSymlinkedMissingAndDirectoryKeyFiles) {
  EXPECT_NE(load_error(write("g", kAnvilKey0, 0640)).find("mode is 0640"), std::string::npos);
  EXPECT_NE(load_error(write("o", kAnvilKey0, 0604)).find("mode is 0604"), std::string::npos);
  const auto target = write("t", kAnvilKey0, 0600);
  fs::create_symlink(target, dir_ / "link");
  EXPECT_NE(load_error(dir_ / "link").find("symbolic link"), std::string::npos);
  EXPECT_NE(load_error(dir_ / "missing").find("cannot open"), std::string::npos);
  fs::create_directory(dir_ / "d");
  ::chmod((dir_ / "d").c_str(), 0700);
  EXPECT_NE(load_error(dir_ / "d").find("not a regular file"), std::string::npos);
}

TEST_F(KeyFile, ShouldRefuseANamedPipeWithoutWaitingForAWriter) {
  const fs::path p = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
  auto err = std::async(std::launch::async, [&] { return load_error(p); });
  const bool done = err.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (!done) {
    // The loader sits in open() waiting for a writer: be one for a moment so that it returns.
    const int fd = ::open(p.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
  }
  EXPECT_TRUE(done) << "from_file blocked on a FIFO instead of refusing it";
  EXPECT_NE(err.get().find("not a regular file"), std::string::npos);
}

TEST_F(KeyFile, ShouldRefuseMalformedOrInvalidKeysWithoutQuotingThem) {
  const std::string k = kAnvilKey0;
  const std::vector<std::string> bad = {
      k.substr(0, 63),                   // too short
      k + "0",                           // too long
      k.substr(0, 63) + "g",             // not hex
      std::string(64, '0'),              // zero is not a valid secret key
      "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",  // == group order
      "{\"privateKey\": \"0x" + k + "\"}",  // JSON is not accepted
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    const std::string err = load_error(write("b" + std::to_string(i), bad[i], 0600));
    EXPECT_FALSE(err.empty()) << i;
    EXPECT_FALSE(leaks_key(err)) << err;
  }
}

TEST(KeyEnv, ShouldLoadFromAnEnvironmentVariableAndNameItWhenMissing) {
  ::setenv("TORQ_TEST_EXECUTOR_KEY", kAnvilKey0, 1);
  Signer signer;
  const char* text = std::getenv("TORQ_TEST_EXECUTOR_KEY");
  ASSERT_NE(text, nullptr);
  const std::size_t len = std::strlen(text);
  const PrivateKey k = PrivateKey::from_env("TORQ_TEST_EXECUTOR_KEY");
  EXPECT_EQ(torq::protocol::format_address(signer.address_of(k)), kAnvilAddress0);
  // The key text left the environment: unset, and its bytes wiped where they were.
  EXPECT_EQ(std::getenv("TORQ_TEST_EXECUTOR_KEY"), nullptr);
  EXPECT_EQ(std::string(len, '\0'), std::string(text, len)) << "the key text is still in memory";
  ::setenv("TORQ_TEST_EXECUTOR_KEY", (std::string(kAnvilKey0) + "zz").c_str(), 1);
  try {
    (void)PrivateKey::from_env("TORQ_TEST_EXECUTOR_KEY");
    ADD_FAILURE() << "invalid key accepted";
  } catch (const KeyError& e) {
    EXPECT_NE(std::string(e.what()).find("TORQ_TEST_EXECUTOR_KEY"), std::string::npos);
    EXPECT_FALSE(leaks_key(e.what()));
  }
  ::unsetenv("TORQ_TEST_EXECUTOR_KEY");
  EXPECT_THROW((void)PrivateKey::from_env("TORQ_TEST_EXECUTOR_KEY"), KeyError);
}

// A process that does not sign drops a key its environment carries: wiped in place and unset.
TEST(KeyEnv, ShouldWipeAndUnsetAKeyVariableWhenDiscarded) {
  ::setenv("TORQ_TEST_DISCARDED_KEY", kAnvilKey0, 1);
  const char* text = std::getenv("TORQ_TEST_DISCARDED_KEY");
  ASSERT_NE(text, nullptr);
  const std::size_t len = std::strlen(text);
  EXPECT_TRUE(PrivateKey::discard_env("TORQ_TEST_DISCARDED_KEY"));
  EXPECT_EQ(std::getenv("TORQ_TEST_DISCARDED_KEY"), nullptr);
  EXPECT_EQ(std::string(len, '\0'), std::string(text, len)) << "the key text is still in memory";
  EXPECT_FALSE(PrivateKey::discard_env("TORQ_TEST_DISCARDED_KEY"));
}

// In a child (the settings are per process and not reversible for an unprivileged one): no core
// file limit, not dumpable.
TEST(KeyProcess, ShouldDisableCoreDumpsAndMakeTheProcessNonDumpable) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::prctl(PR_GET_DUMPABLE) != 1) ::_exit(10);  // a test process starts dumpable
    try {
      protect_process_secrets();
    } catch (...) {
      ::_exit(11);
    }
    rlimit core{};
    if (::getrlimit(RLIMIT_CORE, &core) != 0 || core.rlim_cur != 0 || core.rlim_max != 0) ::_exit(12);
    if (::prctl(PR_GET_DUMPABLE) != 0) ::_exit(13);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 not dumpable at start, 11 threw, 12 core limit, 13 still dumpable";
}

// The key written where its file's path or its variable's NAME belongs (`--key-file 0x…`,
// `--key-env …`, `[key] env = "…"`): the error names neither, so the key stays out of the log.
TEST_F(KeyFile, ShouldNotQuoteAKeyGivenInPlaceOfTheFileOrVariableName) {
  const std::string k = kAnvilKey0;
  for (const std::string& name : {k, "0x" + k, upper(k), (dir_ / k).string()}) {
    const std::string err = load_error(name);
    EXPECT_FALSE(err.empty()) << "a key file named like a key was accepted";
    EXPECT_FALSE(leaks_key(err)) << err;
  }
  for (const std::string& name : {k, "0x" + k}) {
    try {
      (void)PrivateKey::from_env(name.c_str());
      ADD_FAILURE() << "a variable that is not set was accepted";
    } catch (const KeyError& e) {
      EXPECT_FALSE(leaks_key(e.what())) << e.what();
      EXPECT_NE(std::string(e.what()).find("NAME"), std::string::npos) << e.what();
    }
  }
  // An ordinary path or name is still named in full.
  EXPECT_NE(load_error(dir_ / "missing").find((dir_ / "missing").string()), std::string::npos);
}

TEST(KeyRedaction, ShouldNeverFormatTheKeyInAnyStringWeProduce) {
  Signer signer;
  PrivateKey key = PrivateKey::from_hex(kAnvilKey0);
  std::vector<std::string> produced;
  std::ostringstream os;
  os << key;
  produced.push_back(os.str());
  produced.push_back(PrivateKey::redacted());
  produced.push_back(::testing::PrintToString(key));  // what gtest/log helpers would print
  produced.push_back(torq::protocol::format_address(signer.address_of(key)));
  for (const TxCase& c : tx_cases()) {
    std::vector<std::uint8_t> buf(2048);
    SignedTx s;
    ASSERT_EQ(sign_tx(signer, key, c.tx, buf, s), TxError::Ok);
    produced.push_back(to_hex(std::span(buf).first(s.size)));
    produced.push_back(to_hex(s.hash));
    produced.push_back(to_hex(s.signing_hash));
    produced.push_back(to_hex(s.signature.r) + to_hex(s.signature.s));
    produced.push_back(to_string(TxError::Ok));
  }
  for (const auto& s : produced) EXPECT_FALSE(leaks_key(s)) << s;
  EXPECT_EQ(produced[0], "PrivateKey(<redacted>)");
  EXPECT_EQ(produced[2], "PrivateKey(<redacted>)");
  // Sanity: the detector itself finds the key when it is there.
  EXPECT_TRUE(leaks_key(std::string("x") + upper(kAnvilKey0)));
}

TEST(KeyRedaction, ShouldWipeTheKeyWhenMovedFrom) {
  Signer signer;
  PrivateKey a = PrivateKey::from_hex(kAnvilKey0);
  const PrivateKey b = std::move(a);
  EXPECT_EQ(torq::protocol::format_address(signer.address_of(b)), kAnvilAddress0);
  // A wiped (all-zero) key is not a valid secret: address_of reports the zero address.
  EXPECT_EQ(signer.address_of(a), torq::protocol::Address{});  // NOLINT(bugprone-use-after-move)
}
