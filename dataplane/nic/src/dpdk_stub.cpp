// Built instead of dpdk.cpp when libdpdk is not found: the DPDK backend reports itself absent and
// every constructor throws, so torqd falls back to kernel UDP at start-up. See dpdk.hpp.
#include <stdexcept>

#include "torq/nic/dpdk.hpp"

namespace torq::nic::dpdk {
namespace {
[[noreturn]] void absent() { throw std::runtime_error("DPDK support not built (libdpdk not found at configure time)"); }
}  // namespace

bool available() noexcept { return false; }
void eal_init(const std::vector<std::string>&) { absent(); }
bool eal_initialized() noexcept { return false; }
void eal_cleanup() noexcept {}
unsigned numa_nodes() noexcept { return 0; }
MbufPools::MbufPools(const MbufPoolConfig&, const std::string&) { absent(); }
MbufPools::~MbufPools() = default;
void* MbufPools::pool(int) const noexcept { return nullptr; }
std::uint32_t MbufPools::available(int) const noexcept { return 0; }
Port::Port(const PortConfig&, const MbufPools&) { absent(); }
Port::Port(Port&&) noexcept {}
Port::~Port() = default;
void Port::close() noexcept {}
std::uint16_t Port::rx_burst(std::uint16_t, std::span<RxPacket>) noexcept { return 0; }
void Port::release(std::span<const RxPacket>) noexcept {}
std::uint16_t Port::tx_frames(std::uint16_t, const UdpEndpoints&, std::span<const std::span<const std::byte>>,
                              std::uint16_t&) noexcept {
  return 0;
}
LinkStatus Port::link() const noexcept { return {}; }
bool Port::wait_link_up(std::uint32_t) const noexcept { return false; }
PortStats Port::stats() const noexcept { return {}; }

}  // namespace torq::nic::dpdk
