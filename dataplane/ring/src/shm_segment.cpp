// ShmSegment / ShmRing: shm_open, hugetlbfs and memfd mappings (start-up code: may throw).
#include "torq/ring/shm_segment.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace torq::ring {
namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

void check_name(std::string_view name) {
  if (name.empty() || name.size() > 200 || name.find('/') != std::string_view::npos || name == "." || name == "..") {
    throw std::system_error(EINVAL, std::generic_category(),
                            "shm segment name must be a non-empty file name without '/': '" + std::string(name) + "'");
  }
}

// First hugetlbfs mount point from /proc/mounts ("" if none).
std::string hugetlbfs_mount() {
  std::ifstream in("/proc/mounts");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string dev, dir, type;
    if (ls >> dev >> dir >> type && type == "hugetlbfs") return dir;
  }
  return {};
}

std::size_t hugepage_size() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::size_t value = 0;
  std::string unit;
  while (in >> key >> value) {
    std::getline(in, unit);
    if (key == "Hugepagesize:") return value * 1024;
  }
  return 2u << 20;
}

std::size_t round_up(std::size_t v, std::size_t a) { return (v + a - 1) / a * a; }

}  // namespace

ShmSegment::~ShmSegment() { release(); }

ShmSegment::ShmSegment(ShmSegment&& o) noexcept { *this = std::move(o); }

ShmSegment& ShmSegment::operator=(ShmSegment&& o) noexcept {
  if (this != &o) {
    release();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    fd_ = std::exchange(o.fd_, -1);
    huge_ = std::exchange(o.huge_, false);
    name_ = std::move(o.name_);
  }
  return *this;
}

void ShmSegment::release() noexcept {
  if (data_ != nullptr) ::munmap(data_, size_);
  if (fd_ >= 0) ::close(fd_);
  data_ = nullptr;
  size_ = 0;
  fd_ = -1;
}

ShmSegment ShmSegment::map_fd(int fd, std::size_t bytes, bool huge, std::string name) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    ::close(fd);
    throw_errno(err, "mmap of shared segment '" + name + "' (" + std::to_string(bytes) + " bytes)");
  }
  if (!huge) (void)::madvise(p, bytes, MADV_HUGEPAGE);  // THP hint for shmem; harmless if refused
  return ShmSegment(p, bytes, fd, huge, std::move(name));
}

ShmSegment ShmSegment::map_huge(int fd, std::size_t bytes, std::string name) {
  const std::size_t sz = round_up(bytes, hugepage_size());
  if (::ftruncate(fd, static_cast<off_t>(sz)) != 0) return {};
  void* p = ::mmap(nullptr, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) return {};
  return ShmSegment(p, sz, fd, true, std::move(name));
}

ShmSegment ShmSegment::create(std::string_view name, std::size_t bytes, bool hugepages) {
  check_name(name);
  if (bytes == 0) throw_errno(EINVAL, "shm segment of 0 bytes");
  const std::string n(name);
  if (hugepages) {
    const std::string mount = hugetlbfs_mount();
    if (!mount.empty()) {
      const std::string path = mount + "/" + n;
      const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd >= 0) {
        if (ShmSegment s = map_huge(fd, bytes, n)) return s;
        ::close(fd);
        ::unlink(path.c_str());  // no hugepages in stock: fall back below
      } else if (errno == EEXIST) {
        throw_errno(EEXIST, "create hugetlbfs segment '" + path + "'");
      }
    }
  }
  const std::string shm_name = "/" + n;
  const int fd = ::shm_open(shm_name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw_errno(errno, "shm_open(O_CREAT|O_EXCL) '" + shm_name + "'");
  const std::size_t sz = round_up(bytes, static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
  if (::ftruncate(fd, static_cast<off_t>(sz)) != 0) {
    const int err = errno;
    ::close(fd);
    ::shm_unlink(shm_name.c_str());
    throw_errno(err, "ftruncate of shm segment '" + shm_name + "'");
  }
  return map_fd(fd, sz, false, n);
}

ShmSegment ShmSegment::attach(std::string_view name) {
  check_name(name);
  const std::string n(name);
  int fd = ::shm_open(("/" + n).c_str(), O_RDWR | O_CLOEXEC, 0);
  bool huge = false;
  if (fd < 0) {
    const int err = errno;
    const std::string mount = hugetlbfs_mount();
    if (!mount.empty()) fd = ::open((mount + "/" + n).c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw_errno(err, "attach to shm segment '" + n + "' (shm_open and hugetlbfs)");
    huge = true;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size <= 0) {
    const int err = errno != 0 ? errno : EINVAL;
    ::close(fd);
    throw_errno(err, "fstat of shm segment '" + n + "' (empty or unreadable)");
  }
  return map_fd(fd, static_cast<std::size_t>(st.st_size), huge, n);
}

ShmSegment ShmSegment::create_anonymous(std::size_t bytes, bool hugepages) {
  if (bytes == 0) throw_errno(EINVAL, "memfd segment of 0 bytes");
  if (hugepages) {
    const int fd = ::memfd_create("torq-ring", MFD_HUGETLB);  // inheritable on purpose (no CLOEXEC)
    if (fd >= 0) {
      if (ShmSegment s = map_huge(fd, bytes, {})) return s;
      ::close(fd);
    }
  }
  const int fd = ::memfd_create("torq-ring", 0);
  if (fd < 0) throw_errno(errno, "memfd_create");
  const std::size_t sz = round_up(bytes, static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
  if (::ftruncate(fd, static_cast<off_t>(sz)) != 0) {
    const int err = errno;
    ::close(fd);
    throw_errno(err, "ftruncate of memfd segment");
  }
  return map_fd(fd, sz, false, {});
}

ShmSegment ShmSegment::from_fd(int fd) {
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || st.st_size <= 0) {
    const int err = fd < 0 ? EBADF : (errno != 0 ? errno : EINVAL);
    if (fd >= 0) ::close(fd);
    throw_errno(err, "fstat of shared segment fd " + std::to_string(fd));
  }
  return map_fd(fd, static_cast<std::size_t>(st.st_size), false, {});
}

bool ShmSegment::remove(std::string_view name) noexcept {
  if (name.empty() || name.find('/') != std::string_view::npos) return false;
  try {
    const std::string n(name);
    bool removed = ::shm_unlink(("/" + n).c_str()) == 0;
    const std::string mount = hugetlbfs_mount();
    if (!mount.empty()) removed = (::unlink((mount + "/" + n).c_str()) == 0) || removed;
    return removed;
  } catch (...) {
    return false;
  }
}

ShmRing ShmRing::create(std::string_view name, std::uint64_t capacity, bool hugepages) {
  ShmRing r;
  r.segment = ShmSegment::create(name, RingRegion::bytes_for(capacity), hugepages);
  auto fr = RingRegion::format(r.segment.data(), r.segment.size(), capacity);
  if (!fr) {
    ShmSegment::remove(name);
    throw std::runtime_error(std::string("format ring in shm segment '") + std::string(name) + "': " + to_string(fr.error));
  }
  r.region = fr.value;
  return r;
}

ShmRing ShmRing::from_segment(ShmSegment seg) {
  ShmRing r;
  r.segment = std::move(seg);
  auto o = RingRegion::open(r.segment.data(), r.segment.size());
  if (!o) throw std::runtime_error("open ring in shm segment '" + r.segment.name() + "': " + to_string(o.error));
  r.region = o.value;
  return r;
}

ShmRing ShmRing::attach(std::string_view name) { return from_segment(ShmSegment::attach(name)); }

}  // namespace torq::ring
