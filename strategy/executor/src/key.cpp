#include "torq/executor/key.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <secp256k1.h>

namespace torq::executor {
namespace {

int nibble(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Wipes a buffer when it goes out of scope, whatever path leaves it.
struct Wiper {
  void* p;
  std::size_t n;
  ~Wiper() { explicit_bzero(p, n); }
};

bool is_hex(char c) noexcept { return nibble(c) >= 0; }

// True when `name` (a file path or a variable name that goes into error messages) holds a run of
// 64 or more hex digits: most likely the key itself, given where its name belongs. Such a name is
// not repeated in any message.
bool looks_like_key(std::string_view name) noexcept {
  std::size_t run = 0;
  for (const char c : name) {
    run = is_hex(c) ? run + 1 : 0;
    if (run >= 64) return true;
  }
  return false;
}

std::string mode_text(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

}  // namespace

PrivateKey PrivateKey::parse(std::string_view text, const std::string& origin) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  if (text.size() != 64) {
    throw KeyError(origin + ": expected a private key of 64 hex digits (optionally 0x-prefixed), got " +
                   std::to_string(text.size()) + " characters");
  }
  PrivateKey key;
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = nibble(text[2 * i]);
    const int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) throw KeyError(origin + ": private key contains a character that is not a hex digit");
    key.bytes_[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  if (secp256k1_ec_seckey_verify(secp256k1_context_static, key.bytes_.data()) != 1) {
    throw KeyError(origin + ": not a valid secp256k1 private key (zero or not below the group order)");
  }
  return key;
}

PrivateKey PrivateKey::from_hex(std::string_view hex) { return parse(hex, "private key"); }

PrivateKey PrivateKey::from_env(const char* variable) {
  const std::string origin = looks_like_key(variable)
                                 ? std::string("environment variable (name not shown: it looks like a private key; give the "
                                               "NAME of the variable that holds the key)")
                                 : std::string("environment variable ") + variable;
  const char* v = std::getenv(variable);
  if (v == nullptr) throw KeyError(origin + " is not set");
  // Whatever the outcome, the text leaves the environment: wiped in place (also the copy that
  // /proc/<pid>/environ and a core dump show) and unset, so no child process inherits it.
  struct Wipe {
    const char* name;
    ~Wipe() { (void)discard_env(name); }
  } wipe{variable};
  return parse(v, origin);
}

bool PrivateKey::discard_env(const char* variable) noexcept {
  char* v = std::getenv(variable);
  if (v == nullptr) return false;
  ::explicit_bzero(v, std::strlen(v));
  ::unsetenv(variable);
  return true;
}

void protect_process_secrets() {
  const rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0)
    throw KeyError(std::string("cannot disable core dumps (setrlimit RLIMIT_CORE 0): ") + std::strerror(errno));
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    throw KeyError(std::string("cannot make the process non-dumpable (prctl PR_SET_DUMPABLE 0): ") + std::strerror(errno));
}

PrivateKey PrivateKey::from_file(const std::filesystem::path& path) {
  const std::string origin = looks_like_key(path.native())
                                 ? std::string("private key file (path not shown: it looks like a private key; give the "
                                               "path of a file that holds the key)")
                                 : "private key file " + path.string();
  // O_NONBLOCK: a FIFO would otherwise block open() until some writer appears; reads of a
  // regular file ignore it, and anything else is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ELOOP) throw KeyError(origin + ": is a symbolic link; refusing (point to the file itself)");
    throw KeyError(origin + ": cannot open: " + std::strerror(err));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw KeyError(origin + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw KeyError(origin + ": not a regular file");
  if ((st.st_mode & 077) != 0 || (st.st_mode & S_IRUSR) == 0) {
    throw KeyError(origin + ": mode is " + mode_text(st.st_mode) +
                   "; a private key file must be readable by its owner only (chmod 600)");
  }
  if (st.st_uid != ::geteuid()) {
    throw KeyError(origin + ": owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
                   std::to_string(::geteuid()) + ")");
  }
  char buf[256];
  const Wiper wipe_buf{buf, sizeof buf};
  std::size_t n = 0;
  while (n < sizeof buf) {
    const ssize_t r = ::read(fd, buf + n, sizeof buf - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw KeyError(origin + ": read failed: " + std::strerror(errno));
    }
    if (r == 0) break;
    n += static_cast<std::size_t>(r);
  }
  if (n == sizeof buf) throw KeyError(origin + ": too large to be a private key file");
  return parse(std::string_view(buf, n), origin);
}

PrivateKey::PrivateKey(PrivateKey&& other) noexcept : bytes_(other.bytes_) { other.wipe(); }

PrivateKey& PrivateKey::operator=(PrivateKey&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    other.wipe();
  }
  return *this;
}

PrivateKey::~PrivateKey() { wipe(); }

void PrivateKey::wipe() noexcept { explicit_bzero(bytes_.data(), bytes_.size()); }

std::ostream& operator<<(std::ostream& os, const PrivateKey&) { return os << PrivateKey::redacted(); }

}  // namespace torq::executor
