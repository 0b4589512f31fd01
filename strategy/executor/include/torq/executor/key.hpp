// torq/executor/key.hpp — the executor's secp256k1 private key, loaded once at start-up.
//
// Owns `PrivateKey`: 32 secret bytes read from a file that only its owner can read (mode 0600
// or 0400, owned by the effective user, a regular file, not a symlink — anything else is
// refused with a `KeyError` naming the file and the problem) or from an environment variable.
// The file holds 64 hex digits, optionally 0x-prefixed, surrounded by optional whitespace.
//
// The key bytes are never formatted: there is no accessor that returns them; the only code that
// reads them is `Signer` (friend, signer.hpp). Streaming a key (`operator<<`, which gtest and
// loggers use) and `redacted()` print the fixed text "PrivateKey(<redacted>)"; error messages
// never quote the file or variable content. Bytes are wiped with explicit_bzero when a key is
// destroyed or moved from, and every temporary buffer holding key text is wiped too.
//
// Loading allocates and throws (start-up only). A loaded key is immutable and may be read by
// several threads at once. Move-only. protect_process_secrets() keeps the key and what is derived
// from it out of core dumps and away from other processes of the same user.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <string_view>

namespace torq::executor {

class KeyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PrivateKey {
 public:
  // Throws KeyError: missing file, not a regular file, symlink, group/other permission bits set,
  // owned by another user, content not 64 hex digits, or not a valid secp256k1 secret key.
  [[nodiscard]] static PrivateKey from_file(const std::filesystem::path& path);
  // Throws KeyError when the variable is unset or its value is not a valid key. The variable's
  // value is wiped in place and the variable unset in either case (no copy stays in the
  // environment, /proc/<pid>/environ or a child process).
  [[nodiscard]] static PrivateKey from_env(const char* variable);
  // From text (tests and tools); same validation, throws KeyError.
  [[nodiscard]] static PrivateKey from_hex(std::string_view hex);
  // For a process that does not sign: wipes the variable's value in place and unsets it, so that
  // a key the environment carries (a shared systemd EnvironmentFile) is not kept in memory,
  // /proc/<pid>/environ or a child's environment. Returns whether it was set. Never prints it.
  static bool discard_env(const char* variable) noexcept;

  PrivateKey(PrivateKey&& other) noexcept;
  PrivateKey& operator=(PrivateKey&& other) noexcept;
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  ~PrivateKey();

  [[nodiscard]] static std::string redacted() { return "PrivateKey(<redacted>)"; }
  friend std::ostream& operator<<(std::ostream& os, const PrivateKey& key);

 private:
  friend class Signer;
  PrivateKey() noexcept = default;
  static PrivateKey parse(std::string_view text, const std::string& origin);
  void wipe() noexcept;

  std::array<std::uint8_t, 32> bytes_{};
};

// Start-up hardening for a process that will hold a key (call before loading it): no core file
// (RLIMIT_CORE 0, soft and hard) and not dumpable (prctl PR_SET_DUMPABLE 0: no core either, and
// other processes of the same user can neither ptrace it nor read its memory, maps or environ
// through /proc). Covers everything derived from the key too (precomputed nonces, signing
// buffers). Throws KeyError when either call fails. Makes syscalls; start-up only.
void protect_process_secrets();

}  // namespace torq::executor
