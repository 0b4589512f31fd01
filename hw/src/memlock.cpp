// Implementation of torq/hw/memlock.hpp.
#include "torq/hw/memlock.hpp"

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TORQ_HW_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TORQ_HW_ASAN 1
#endif

namespace torq::hw {
namespace {

MemlockResult failure(const char* call, int err, const char* hint) {
  MemlockResult r;
  r.ok = false;
  r.error = err;
  r.message = std::string(call) + " failed: " + std::strerror(err) + " (errno " + std::to_string(err) + ")";
  if (hint != nullptr && *hint != '\0') r.message += std::string("; ") + hint;
  return r;
}

std::size_t page_size() noexcept {
  const long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? static_cast<std::size_t>(p) : 4096;
}

}  // namespace

MemlockResult lock_all_memory(bool future) {
#ifdef TORQ_HW_ASAN
  (void)future;
  return failure("mlockall", ENOTSUP, "not supported under AddressSanitizer (its shadow memory cannot be locked)");
#else
  const int flags = MCL_CURRENT | (future ? MCL_FUTURE : 0);
  if (mlockall(flags) != 0) {
    const int err = errno;
    const char* hint = "";
    if (err == ENOMEM || err == EAGAIN)
      hint = "RLIMIT_MEMLOCK is too low: raise it (ulimit -l unlimited, LimitMEMLOCK= in systemd) or grant CAP_IPC_LOCK";
    else if (err == EPERM)
      hint = "the process lacks CAP_IPC_LOCK and RLIMIT_MEMLOCK is 0";
    return failure(future ? "mlockall(MCL_CURRENT|MCL_FUTURE)" : "mlockall(MCL_CURRENT)", err, hint);
  }
  MemlockResult r;
  r.ok = true;
  r.message = "all current" + std::string(future ? " and future" : "") + " pages locked";
  return r;
#endif
}

MemlockResult unlock_all_memory() {
  if (munlockall() != 0) return failure("munlockall", errno, "");
  MemlockResult r;
  r.ok = true;
  r.message = "memory unlocked";
  return r;
}

std::optional<std::uint64_t> memlock_limit() noexcept {
  rlimit rl{};
  if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return static_cast<std::uint64_t>(rl.rlim_cur);
}

void prefault(void* p, std::size_t bytes, bool write) noexcept {
  if (p == nullptr || bytes == 0) return;
  const std::size_t ps = page_size();
  auto* base = static_cast<volatile unsigned char*>(p);
  for (std::size_t off = 0; off < bytes; off += ps) {
    if (write) {
      base[off] = base[off];
    } else {
      (void)base[off];
    }
  }
  // The last byte's page, when bytes is not a multiple of the page size and p is unaligned.
  if (write) {
    base[bytes - 1] = base[bytes - 1];
  } else {
    (void)base[bytes - 1];
  }
}

void prefault_stack(std::size_t bytes) noexcept {
  if (bytes == 0) return;
  auto* stack = static_cast<volatile unsigned char*>(__builtin_alloca(bytes));
  const std::size_t ps = page_size();
  for (std::size_t off = 0; off < bytes; off += ps) stack[off] = 0;
  stack[bytes - 1] = 0;
}

}  // namespace torq::hw
