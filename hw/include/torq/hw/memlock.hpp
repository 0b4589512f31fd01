// torq/hw/memlock.hpp — keep the process's memory resident (no page faults, no swap-out).
//
// Owns: lock_all_memory() (mlockall), unlock_all_memory(), the RLIMIT_MEMLOCK query, and
// prefault helpers that touch every page of a range or of the calling thread's stack.
// Thread-safety: mlockall affects the whole process; call it once at start-up from one thread.
// prefault()/prefault_stack() act only on the given range / the calling thread and may run
// concurrently. Allocation: MemlockResult carries a std::string message (start-up only);
// prefault helpers never allocate and are noexcept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace torq::hw {

struct MemlockResult {
  bool ok = false;
  int error = 0;          // errno of the failing call (0 on success)
  std::string message;    // human-readable: what failed, strerror text and a hint
  [[nodiscard]] explicit operator bool() const noexcept { return ok; }
};

// mlockall(MCL_CURRENT | (future ? MCL_FUTURE : 0)). On failure returns the errno and a message
// naming the call, strerror(errno) and the likely fix (CAP_IPC_LOCK / `ulimit -l`). Refuses
// (ENOTSUP) under AddressSanitizer, whose terabytes of shadow mappings cannot be locked.
[[nodiscard]] MemlockResult lock_all_memory(bool future = true);

// munlockall().
[[nodiscard]] MemlockResult unlock_all_memory();

// RLIMIT_MEMLOCK soft limit in bytes; std::nullopt when unlimited.
[[nodiscard]] std::optional<std::uint64_t> memlock_limit() noexcept;

// Touches every page in [p, p + bytes): writes (a volatile read-modify-write of one byte per page,
// value unchanged) when `write`, else reads. Safe on memory shared with other threads only if
// they are not writing the touched bytes at the same time.
void prefault(void* p, std::size_t bytes, bool write = true) noexcept;

// Touches `bytes` of the calling thread's stack below the current frame so that later deep calls
// do not fault. Keep `bytes` well under the thread's stack size (default 8 MiB main, less for
// std::thread); 256 KiB is a reasonable value.
void prefault_stack(std::size_t bytes = 256 * 1024) noexcept;

}  // namespace torq::hw
