// torq/risk/seqlock.hpp — a single-writer-at-a-time sequence lock for small trivially copyable values.
//
// Owns: Seqlock<T>. Readers never block and never write shared memory: they retry while a store
// is in progress (odd sequence) or when the sequence moved during the copy, so a reader never sees
// a torn value. The value is kept as an array of std::atomic<uint64_t> words copied with relaxed
// atomic loads/stores and ordered by fences (Boehm, "Can seqlocks get along with programming
// language memory models?"), so there is no data race and no UB, even under sanitizers.
// Thread-safety: load() from any number of threads; store() from one thread at a time (callers
// that may store concurrently serialise themselves, e.g. with a mutex on the control plane).
// Allocation: none. Cost of load(): sizeof(T)/8 relaxed loads + 2 loads of the sequence.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace torq::risk {

template <class T>
class Seqlock {
  static_assert(std::is_trivially_copyable_v<T>, "Seqlock holds trivially copyable values");
  static constexpr std::size_t kWords = (sizeof(T) + 7) / 8;

 public:
  Seqlock() noexcept { store(T{}); }
  explicit Seqlock(const T& v) noexcept { store(v); }
  Seqlock(const Seqlock&) = delete;
  Seqlock& operator=(const Seqlock&) = delete;

  // Never blocks a writer; spins only while a store is in progress.
  [[nodiscard]] T load() const noexcept {
    std::array<std::uint64_t, kWords> buf;
    for (;;) {
      const std::uint64_t s1 = seq_.load(std::memory_order_acquire);
      if (s1 & 1U) [[unlikely]] {
        __builtin_ia32_pause();
        continue;
      }
      for (std::size_t i = 0; i < kWords; ++i) buf[i] = words_[i].load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (seq_.load(std::memory_order_relaxed) == s1) [[likely]] break;
    }
    T out;
    std::memcpy(static_cast<void*>(&out), buf.data(), sizeof(T));
    return out;
  }

  void store(const T& v) noexcept {
    std::array<std::uint64_t, kWords> buf{};
    std::memcpy(buf.data(), &v, sizeof(T));
    const std::uint64_t s = seq_.load(std::memory_order_relaxed);
    seq_.store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    for (std::size_t i = 0; i < kWords; ++i) words_[i].store(buf[i], std::memory_order_relaxed);
    seq_.store(s + 2, std::memory_order_release);
  }

  // Number of completed stores (monitoring).
  [[nodiscard]] std::uint64_t version() const noexcept { return seq_.load(std::memory_order_acquire) / 2; }

 private:
  std::atomic<std::uint64_t> seq_{0};
  std::array<std::atomic<std::uint64_t>, kWords> words_{};
};

}  // namespace torq::risk
