#include "torq/executor/nonce_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace torq::executor {

// Everything both sides touch lives in the wiped-on-fork mapping, including the cached copies of
// the other side's index: a child process starts with head == tail == 0 and caches of 0.
struct NoncePool::Shared {
  alignas(64) std::atomic<std::uint64_t> tail{0};  // written by the producer
  std::uint64_t head_cache = 0;                    // producer's copy of head
  alignas(64) std::atomic<std::uint64_t> head{0};  // written by the consumer
  std::uint64_t tail_cache = 0;                    // consumer's copy of tail
  std::atomic<std::uint32_t> consumer_busy{0};     // the consumer side is taken
};
NoncePool::NoncePool(std::size_t capacity) {
  static_assert(offsetof(Shared, head) - offsetof(Shared, tail) >= 64, "indices on separate cache lines");
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
  if (capacity < 2 || capacity > (std::size_t{1} << 20) || (capacity & (capacity - 1)) != 0) {
    throw std::invalid_argument("nonce pool: capacity " + std::to_string(capacity) +
                                " is not a power of two in [2, 1048576]");
  }
  mask_ = capacity - 1;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t slots_off = (sizeof(Shared) + 63) / 64 * 64;
  map_bytes_ = (slots_off + capacity * sizeof(PrecomputedNonce) + page - 1) / page * page;
  void* p = ::mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    throw std::runtime_error(std::string("nonce pool: mmap of ") + std::to_string(map_bytes_) +
                             " bytes failed: " + std::strerror(errno));
  }
  if (::madvise(p, map_bytes_, MADV_WIPEONFORK) != 0) {
    const int e = errno;
    ::munmap(p, map_bytes_);
    throw std::runtime_error(std::string("nonce pool: madvise(MADV_WIPEONFORK) failed (Linux >= 4.14 needed; "
                                         "use the RFC 6979 signer): ") +
                             std::strerror(e));
  }
  dontdump_ = ::madvise(p, map_bytes_, MADV_DONTDUMP) == 0;
  locked_ = ::mlock(p, map_bytes_) == 0;
  sh_ = new (p) Shared();
  slots_ = reinterpret_cast<PrecomputedNonce*>(static_cast<std::byte*>(p) + slots_off);
}

NoncePool::~NoncePool() {
  if (sh_ == nullptr) return;
  void* p = sh_;
  sh_->~Shared();
  explicit_bzero(p, map_bytes_);
  if (locked_) ::munlock(p, map_bytes_);
  ::munmap(p, map_bytes_);
}

bool NoncePool::try_push(const PrecomputedNonce& n) noexcept {
  const std::uint64_t t = sh_->tail.load(std::memory_order_relaxed);
  if (t - sh_->head_cache > mask_) {
    sh_->head_cache = sh_->head.load(std::memory_order_acquire);  // the consumer's wipe happened before
    if (t - sh_->head_cache > mask_) return false;
  }
  std::memcpy(&slots_[t & mask_], &n, sizeof n);
  sh_->tail.store(t + 1, std::memory_order_release);
  return true;
}

PopResult NoncePool::try_pop(PrecomputedNonce& out) noexcept {
  if (sh_->consumer_busy.exchange(1, std::memory_order_acquire) != 0) return PopResult::Busy;
  const std::uint64_t h = sh_->head.load(std::memory_order_relaxed);
  if (h == sh_->tail_cache) {
    sh_->tail_cache = sh_->tail.load(std::memory_order_acquire);
    if (h == sh_->tail_cache) {
      sh_->consumer_busy.store(0, std::memory_order_release);
      return PopResult::Empty;
    }
  }
  PrecomputedNonce* slot = &slots_[h & mask_];
  std::memcpy(&out, slot, sizeof out);
  explicit_bzero(slot, sizeof *slot);
  sh_->head.store(h + 1, std::memory_order_release);  // the slot is the producer's again
  sh_->consumer_busy.store(0, std::memory_order_release);
  return PopResult::Ok;
}

std::size_t NoncePool::size() const noexcept {
  const std::uint64_t h = sh_->head.load(std::memory_order_acquire);
  const std::uint64_t t = sh_->tail.load(std::memory_order_acquire);
  return t >= h ? static_cast<std::size_t>(t - h) : 0;
}

}  // namespace torq::executor
