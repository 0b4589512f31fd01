// nic_pcap_gen — writes a pcap capture of a Protocol V2 feed (Ethernet/IPv4/UDP), for net_pcap
// replays: `nic_pcap_gen --out feed.pcap [--count N] [--source S] [--port P] [--syncs K]
// [--drop-mod M --drop-rem R] [--corrupt-every C] [--vlan V]`. Prints a JSON summary.
// Exit status: 0 written; 2 bad arguments (unknown option, missing or non-numeric value, value
// out of range, --drop-rem without --drop-mod or not below it; the message names the option);
// 1 the capture could not be written. Tested by tests/nic/pcap_gen_test.cpp.
#include <cerrno>
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
  bool have_drop_rem = false;
  for (int i = 1; i < argc; i += 2) {
    const std::string k = argv[i];
    const bool known = k == "--out" || k == "--count" || k == "--source" || k == "--port" || k == "--syncs" ||
                       k == "--drop-mod" || k == "--drop-rem" || k == "--corrupt-every" || k == "--vlan";
    if (!known) {
      std::fprintf(stderr, "nic_pcap_gen: unknown option %s\n", k.c_str());
      return 2;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "nic_pcap_gen: %s needs a value\n", k.c_str());
      return 2;
    }
    if (k == "--out") {
      out = argv[i + 1];
      continue;
    }
    // Every other option takes an unsigned decimal number within its range.
    const char* text = argv[i + 1];
    char* end = nullptr;
    errno = 0;
    const unsigned long v = std::strtoul(text, &end, 10);
    const unsigned long max = k == "--source" ? 255UL
                              : k == "--port" ? 65535UL
                              : k == "--vlan" ? 4094UL
                              : k == "--syncs" ? 65535UL
                                               : 100'000'000UL;
    if (*text < '0' || *text > '9' || *end != '\0' || errno == ERANGE || v > max) {
      std::fprintf(stderr, "nic_pcap_gen: %s needs a number 0..%lu, got '%s'\n", k.c_str(), max, text);
      return 2;
    }
    if (k == "--count") spec.count = v;
    else if (k == "--source") spec.source = static_cast<std::uint8_t>(v);
    else if (k == "--port") spec.endpoints.dst_port = static_cast<std::uint16_t>(v);
    else if (k == "--syncs") spec.syncs_per_frame = static_cast<std::uint32_t>(v);
    else if (k == "--drop-mod") drop_mod = v;
    else if (k == "--drop-rem") {
      drop_rem = v;
      have_drop_rem = true;
    }
    else if (k == "--corrupt-every") spec.corrupt_every = v;
    else if (k == "--vlan") spec.endpoints.vlan = static_cast<std::uint16_t>(v);
  }
  if (have_drop_rem && drop_rem >= drop_mod) {
    std::fprintf(stderr, "nic_pcap_gen: --drop-rem %lu needs --drop-mod above it (got %lu): nothing would be dropped\n",
                 drop_rem, drop_mod);
    return 2;
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
