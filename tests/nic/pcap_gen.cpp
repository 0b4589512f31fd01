// nic_pcap_gen — writes a pcap capture of a Protocol V2 feed (Ethernet/IPv4/UDP), for net_pcap
// replays: `nic_pcap_gen --out feed.pcap [--count N] [--source S] [--port P] [--syncs K]
// [--drop-mod M --drop-rem R] [--corrupt-every C] [--vlan V]`. Prints a JSON summary.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "torq/nic/pcap.hpp"

int main(int argc, char** argv) {
  using namespace torq::nic;
  std::string out;
  FeedSpec spec;
  spec.endpoints.src_mac = {0x02, 0, 0, 0, 0, 1};
  spec.endpoints.dst_mac = {0x02, 0, 0, 0, 0, 2};
  spec.endpoints.src_ip = ipv4(10, 0, 0, 1);
  spec.endpoints.dst_ip = ipv4(10, 0, 0, 2);
  spec.endpoints.src_port = 40000;
  spec.endpoints.dst_port = 9000;
  unsigned long drop_mod = 0, drop_rem = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const unsigned long v = std::strtoul(argv[i + 1], nullptr, 10);
    if (k == "--out") out = argv[i + 1];
    else if (k == "--count") spec.count = v;
    else if (k == "--source") spec.source = static_cast<std::uint8_t>(v);
    else if (k == "--port") spec.endpoints.dst_port = static_cast<std::uint16_t>(v);
    else if (k == "--syncs") spec.syncs_per_frame = static_cast<std::uint32_t>(v);
    else if (k == "--drop-mod") drop_mod = v;
    else if (k == "--drop-rem") drop_rem = v;
    else if (k == "--corrupt-every") spec.corrupt_every = v;
    else if (k == "--vlan") spec.endpoints.vlan = static_cast<std::uint16_t>(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (out.empty()) {
    std::fprintf(stderr, "usage: nic_pcap_gen --out FILE [--count N] [--source S] [--port P] [--syncs K] "
                         "[--drop-mod M --drop-rem R] [--corrupt-every C] [--vlan V]\n");
    return 2;
  }
  if (drop_mod != 0) spec.keep = [=](std::uint64_t s) { return s % drop_mod != drop_rem; };
  try {
    const FeedPackets p = make_feed_packets(spec);
    write_pcap(out, p.packets);
    std::printf("{\"file\":\"%s\",\"packets\":%zu,\"valid\":%zu,\"corrupted\":%zu}\n", out.c_str(), p.packets.size(),
                p.valid, p.corrupted);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nic_pcap_gen: %s\n", e.what());
    return 1;
  }
  return 0;
}
