// Capture files and feed generation. See pcap.hpp.
#include "torq/nic/pcap.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "torq/protocol/frame.hpp"

namespace torq::nic {
namespace {

struct GlobalHeader {
  std::uint32_t magic;
  std::uint16_t major;
  std::uint16_t minor;
  std::int32_t thiszone;
  std::uint32_t sigfigs;
  std::uint32_t snaplen;
  std::uint32_t linktype;
};
static_assert(sizeof(GlobalHeader) == 24);
struct RecordHeader {
  std::uint32_t ts_sec;
  std::uint32_t ts_usec;
  std::uint32_t incl_len;
  std::uint32_t orig_len;
};
static_assert(sizeof(RecordHeader) == 16);

[[noreturn]] void io_error(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " '" + path + "': " + std::strerror(errno));
}

std::uint32_t swap32(std::uint32_t v) { return __builtin_bswap32(v); }

}  // namespace

PcapWriter::PcapWriter(const std::string& path, std::uint32_t snaplen) : snaplen_(snaplen) {
  f_ = std::fopen(path.c_str(), "wb");
  if (f_ == nullptr) io_error("cannot create capture", path);
  const GlobalHeader g{kPcapMagic, 2, 4, 0, 0, snaplen, kLinkTypeEthernet};
  if (std::fwrite(&g, sizeof g, 1, f_) != 1) {
    std::fclose(f_);
    f_ = nullptr;
    io_error("cannot write capture", path);
  }
}

PcapWriter::~PcapWriter() {
  if (f_ != nullptr) std::fclose(f_);
}

void PcapWriter::write(std::span<const std::byte> packet, std::uint64_t timestamp_ns) {
  if (f_ == nullptr) throw std::runtime_error("PcapWriter: closed");
  const auto incl = static_cast<std::uint32_t>(std::min<std::size_t>(packet.size(), snaplen_));
  const RecordHeader r{static_cast<std::uint32_t>(timestamp_ns / 1'000'000'000ULL),
                       static_cast<std::uint32_t>((timestamp_ns % 1'000'000'000ULL) / 1000), incl,
                       static_cast<std::uint32_t>(packet.size())};
  if (std::fwrite(&r, sizeof r, 1, f_) != 1 || (incl != 0 && std::fwrite(packet.data(), incl, 1, f_) != 1)) {
    throw std::runtime_error("PcapWriter: write failed");
  }
  ++packets_;
}

void PcapWriter::close() {
  if (f_ == nullptr) return;
  const int rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0) throw std::runtime_error("PcapWriter: close failed");
}

std::vector<PcapPacket> read_pcap(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) io_error("cannot open capture", path);
  std::vector<PcapPacket> out;
  GlobalHeader g{};
  if (std::fread(&g, sizeof g, 1, f) != 1) {
    std::fclose(f);
    throw std::runtime_error("capture '" + path + "': no global header");
  }
  bool swapped = false;
  bool nanos = false;
  if (g.magic == kPcapMagic) {
  } else if (g.magic == swap32(kPcapMagic)) {
    swapped = true;
  } else if (g.magic == 0xA1B23C4Du) {
    nanos = true;
  } else if (g.magic == swap32(0xA1B23C4Du)) {
    nanos = swapped = true;
  } else {
    std::fclose(f);
    throw std::runtime_error("capture '" + path + "': not a pcap file");
  }
  RecordHeader r{};
  while (std::fread(&r, sizeof r, 1, f) == 1) {
    if (swapped) {
      r.ts_sec = swap32(r.ts_sec);
      r.ts_usec = swap32(r.ts_usec);
      r.incl_len = swap32(r.incl_len);
      r.orig_len = swap32(r.orig_len);
    }
    if (r.incl_len > 262144) {
      std::fclose(f);
      throw std::runtime_error("capture '" + path + "': record too large");
    }
    PcapPacket p;
    p.timestamp_ns = std::uint64_t{r.ts_sec} * 1'000'000'000ULL + std::uint64_t{r.ts_usec} * (nanos ? 1 : 1000);
    p.original_size = r.orig_len;
    p.bytes.resize(r.incl_len);
    if (r.incl_len != 0 && std::fread(p.bytes.data(), r.incl_len, 1, f) != 1) {
      std::fclose(f);
      throw std::runtime_error("capture '" + path + "': truncated record");
    }
    out.push_back(std::move(p));
  }
  std::fclose(f);
  return out;
}

std::vector<std::byte> make_feed_frame(std::uint8_t source, std::uint64_t seq, std::uint32_t syncs,
                                       std::uint64_t timestamp_ns) {
  std::vector<std::byte> buf(protocol::kMaxFrameSize);
  protocol::FrameBuilder b(buf, protocol::RelayDomain::MarketData, source);
  for (std::uint32_t i = 0; i < syncs; ++i) {
    protocol::V2Sync s{};
    s.ctx.pool = 0x2020200000000000ULL + source;
    s.ctx.block_number = seq;
    s.ctx.tx_index = i;
    s.reserve0 = protocol::U256(seq);
    s.reserve1 = protocol::U256(seq * 3 + i);
    if (!b.add(s)) throw std::runtime_error("make_feed_frame: frame too large");
  }
  const auto f = b.finish(seq, timestamp_ns != 0 ? timestamp_ns : 1'764'000'000'000'000'000ULL + seq);
  if (f.empty()) throw std::runtime_error("make_feed_frame: builder failed");
  buf.resize(f.size());
  return buf;
}

FeedPackets make_feed_packets(const FeedSpec& spec) {
  FeedPackets out;
  std::uint16_t ip_id = 1;
  std::size_t kind = 0;
  std::vector<std::byte> pkt(65600);
  auto build = [&](std::span<const std::byte> payload, const UdpEndpoints& ep) {
    const std::size_t n = build_udp_packet(pkt, ep, payload, ip_id++);
    if (n == 0) throw std::runtime_error("make_feed_packets: packet too large");
    return std::vector<std::byte>(pkt.begin(), pkt.begin() + static_cast<std::ptrdiff_t>(n));
  };
  const std::size_t ip_off = kEthHeaderSize + (spec.endpoints.vlan != kNoVlan ? kVlanTagSize : 0);
  for (std::size_t i = 0; i < spec.count; ++i) {
    const std::uint64_t seq = spec.first_sequence + i;
    if (spec.keep && !spec.keep(seq)) continue;
    const std::vector<std::byte> frame = make_feed_frame(spec.source, seq, spec.syncs_per_frame);
    out.packets.push_back(build(frame, spec.endpoints));
    ++out.valid;
    if (spec.corrupt_every == 0 || out.valid % spec.corrupt_every != 0) continue;
    // One corrupted packet, built from a copy of this frame.
    const auto c = static_cast<Corruption>(kind % kCorruptionKinds);
    ++kind;
    std::vector<std::byte> bad_frame = frame;
    UdpEndpoints ep = spec.endpoints;
    if (c == Corruption::BadFrameChecksum) bad_frame[bad_frame.size() - 1] ^= std::byte{0x5A};
    if (c == Corruption::BadMagic) bad_frame[0] ^= std::byte{0x01};
    if (c == Corruption::WrongPort) ep.dst_port = static_cast<std::uint16_t>(ep.dst_port + 1);
    std::vector<std::byte> p = build(bad_frame, ep);
    if (c == Corruption::BadIpChecksum) p[ip_off + 10] ^= std::byte{0x40};
    if (c == Corruption::Truncated) p.resize(p.size() - bad_frame.size() / 2);
    if (c == Corruption::IpFragment) {
      p[ip_off + 6] |= std::byte{0x20};  // MF, then fix the header checksum so only the flag is wrong
      p[ip_off + 10] = std::byte{0};
      p[ip_off + 11] = std::byte{0};
      const std::uint16_t sum = ipv4_header_checksum(std::span<const std::byte>(p).subspan(ip_off, kIpv4MinHeaderSize));
      p[ip_off + 10] = static_cast<std::byte>(sum >> 8);
      p[ip_off + 11] = static_cast<std::byte>(sum);
    }
    if (c == Corruption::NotIpv4) {
      p[ip_off - 2] = std::byte{0x08};
      p[ip_off - 1] = std::byte{0x06};
    }
    out.packets.push_back(std::move(p));
    ++out.corrupted;
    ++out.by_kind[static_cast<std::size_t>(c)];
  }
  return out;
}

std::size_t write_pcap(const std::string& path, const std::vector<std::vector<std::byte>>& packets,
                       std::uint64_t start_time_ns, std::uint64_t spacing_ns) {
  PcapWriter w(path);
  std::uint64_t t = start_time_ns;
  for (const auto& p : packets) {
    w.write(p, t);
    t += spacing_ns;
  }
  w.close();
  return packets.size();
}

}  // namespace torq::nic
