// torq/nic/pcap.hpp — classic libpcap capture files (microsecond, Ethernet link type) and a
// generator of Protocol V2 feeds as Ethernet/IPv4/UDP packets, for tests, the capture tool
// (nic_pcap_gen) and benchmarks that replay a feed through DPDK's net_pcap.
//
// Owns: PcapWriter (streams records to a file), read_pcap() (whole file into memory),
// FeedSpec / make_feed_packets() (valid frames of one source, with optional losses and injected
// corrupted packets of every kind the receiver must count and drop), write_pcap().
// Thread-safety: a PcapWriter is used by one thread; the functions are reentrant.
// Allocation: yes, everything here is start-up / tooling code and may throw std::runtime_error
// (I/O) — never use it on a poll loop.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "torq/nic/packet.hpp"

namespace torq::nic {

inline constexpr std::uint32_t kPcapMagic = 0xA1B2C3D4u;  // microsecond timestamps, native order
inline constexpr std::uint32_t kLinkTypeEthernet = 1;

class PcapWriter {
 public:
  // Creates (truncates) `path` and writes the global header. Throws std::runtime_error.
  explicit PcapWriter(const std::string& path, std::uint32_t snaplen = 65535);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Appends one packet with the given timestamp. Throws std::runtime_error on I/O failure.
  void write(std::span<const std::byte> packet, std::uint64_t timestamp_ns);
  // Flushes and closes (the destructor does it too, without throwing).
  void close();
  [[nodiscard]] std::size_t packets() const noexcept { return packets_; }

 private:
  std::FILE* f_ = nullptr;
  std::uint32_t snaplen_;
  std::size_t packets_ = 0;
};

struct PcapPacket {
  std::uint64_t timestamp_ns = 0;
  std::uint32_t original_size = 0;
  std::vector<std::byte> bytes;  // captured bytes
};

// Reads every record of a classic pcap file (either byte order). Throws std::runtime_error.
[[nodiscard]] std::vector<PcapPacket> read_pcap(const std::string& path);

// Kinds of corrupted packets make_feed_packets() can inject (one of each, in this order, cycling).
enum class Corruption : std::uint8_t {
  BadFrameChecksum,  // a payload byte flipped after the CRC32C was computed
  BadMagic,          // Protocol V2 magic wrong
  BadIpChecksum,     // IPv4 header checksum wrong
  WrongPort,         // UDP destination port not the feed's
  Truncated,         // packet cut inside the Protocol V2 frame (UDP/IP lengths then overrun)
  IpFragment,        // MF flag set
  NotIpv4,           // ethertype ARP
};
inline constexpr std::size_t kCorruptionKinds = 7;

struct FeedSpec {
  std::uint8_t source = 1;
  std::uint64_t first_sequence = 1;
  std::size_t count = 1000;              // frames (sequences first_sequence .. first_sequence+count-1)
  std::uint32_t syncs_per_frame = 1;     // V2Sync records per frame (1: 130-byte frames)
  UdpEndpoints endpoints{};
  // Frames whose sequence this returns false for are left out (a lossy line). Empty: keep all.
  std::function<bool(std::uint64_t)> keep;
  // After every corrupt_every-th valid packet, insert one corrupted packet (0: none).
  std::size_t corrupt_every = 0;
  std::uint64_t start_time_ns = 1'764'000'000'000'000'000ULL;
  std::uint64_t spacing_ns = 1000;       // capture timestamp step
};

struct FeedPackets {
  std::vector<std::vector<std::byte>> packets;     // in wire order
  std::size_t valid = 0;                           // valid frame packets
  std::size_t corrupted = 0;                       // injected bad packets
  std::array<std::size_t, kCorruptionKinds> by_kind{};
};

// Builds one market-data frame of `source` with sequence `seq` (V2Sync records whose block
// number is seq, so receivers can check contents) into a new buffer.
[[nodiscard]] std::vector<std::byte> make_feed_frame(std::uint8_t source, std::uint64_t seq,
                                                     std::uint32_t syncs = 1, std::uint64_t timestamp_ns = 0);
[[nodiscard]] FeedPackets make_feed_packets(const FeedSpec& spec);
// Writes packets to a capture file, spec.spacing_ns apart. Returns the number written.
std::size_t write_pcap(const std::string& path, const std::vector<std::vector<std::byte>>& packets,
                       std::uint64_t start_time_ns = 1'764'000'000'000'000'000ULL, std::uint64_t spacing_ns = 1000);

}  // namespace torq::nic
