// torq/ring/shm_segment.hpp — named or fd-passed shared-memory segments that hold rings.
//
// Owns: ShmSegment, an RAII MAP_SHARED mapping of a POSIX shared-memory object (shm_open,
// /dev/shm/<name>), of a hugetlbfs file (<hugetlbfs mount>/<name>, when hugepages are asked for
// and the host has a mounted, stocked hugetlbfs), or of a memfd (anonymous; shared by passing or
// inheriting the fd). And ShmRing: a segment plus the ring formatted in it.
// Thread-safety: a ShmSegment/ShmRing is owned by one thread at a time (move-only); the mapped
// memory is shared under the ring's own single-producer/single-consumer protocol.
// Allocation: start-up only. create()/attach() make syscalls, allocate the name, and throw
// std::system_error (errno + what was attempted) on failure; accessors are noexcept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "torq/ring/spsc_ring.hpp"

namespace torq::ring {

class ShmSegment {
 public:
  ShmSegment() noexcept = default;
  ~ShmSegment();
  ShmSegment(ShmSegment&& o) noexcept;
  ShmSegment& operator=(ShmSegment&& o) noexcept;
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;

  // Creates a new named segment of at least `bytes` (O_EXCL: fails with EEXIST if the name is
  // taken; remove() a leftover first). `name` is a plain file name ("torq-md-ring"), no slash.
  // hugepages: try a hugetlbfs file first (size rounded up to the hugepage size); when none is
  // mounted or stocked, fall back to /dev/shm with a transparent-hugepage hint (hugepages() false).
  static ShmSegment create(std::string_view name, std::size_t bytes, bool hugepages = false);
  // Maps an existing named segment (looked up in /dev/shm, then in the hugetlbfs mount).
  static ShmSegment attach(std::string_view name);
  // Anonymous segment (memfd_create, MFD_HUGETLB first when asked). Share it by passing fd().
  static ShmSegment create_anonymous(std::size_t bytes, bool hugepages = false);
  // Maps the segment behind an inherited/received fd (size from fstat). Takes ownership of fd.
  static ShmSegment from_fd(int fd);
  // Removes a name (shm_unlink and the hugetlbfs file). Mappings stay valid. False if absent.
  static bool remove(std::string_view name) noexcept;

  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] bool hugepages() const noexcept { return huge_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] explicit operator bool() const noexcept { return data_ != nullptr; }

 private:
  // A mapped segment (data, size) behind fd, owning both.
  ShmSegment(void* data, std::size_t size, int fd, bool huge, std::string name) noexcept
      : data_(data), size_(size), fd_(fd), huge_(huge), name_(std::move(name)) {}
  void release() noexcept;
  static ShmSegment map_fd(int fd, std::size_t bytes, bool huge, std::string name);
  // Sizes a hugetlbfs file or MFD_HUGETLB memfd to `bytes` rounded up to the hugepage size and
  // maps it (taking fd). An empty segment when the hugepages are not there: fd is then still the
  // caller's, to close before falling back to normal pages.
  static ShmSegment map_huge(int fd, std::size_t bytes, std::string name);

  void* data_ = nullptr;
  std::size_t size_ = 0;
  int fd_ = -1;
  bool huge_ = false;
  std::string name_;
};

// A ring in a shared-memory segment. create() formats; attach() opens and validates.
struct ShmRing {
  ShmSegment segment;
  RingRegion region;

  // Throws std::system_error (segment) or std::runtime_error (ring format) on failure.
  static ShmRing create(std::string_view name, std::uint64_t capacity, bool hugepages = false);
  static ShmRing attach(std::string_view name);
  static ShmRing from_segment(ShmSegment seg);  // opens an existing ring in seg
};

}  // namespace torq::ring
