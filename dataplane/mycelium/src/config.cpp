// Transport configuration strings. See config.hpp.
#include "torq/mycelium/config.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <stdexcept>

namespace torq::mycelium {
namespace {

[[noreturn]] void fail(std::string_view text, const std::string& why) {
  throw std::invalid_argument("transport config '" + std::string(text) + "': " + why);
}

std::uint64_t to_u64(std::string_view text, std::string_view key, std::string_view v) {
  std::uint64_t out = 0;
  const auto* end = v.data() + v.size();
  const auto r = std::from_chars(v.data(), end, out);
  if (v.empty() || r.ec != std::errc{} || r.ptr != end) {
    fail(text, "value of '" + std::string(key) + "' is not an unsigned integer: '" + std::string(v) + "'");
  }
  return out;
}

bool to_bool(std::string_view text, std::string_view key, std::string_view v) {
  if (v == "1" || v == "true" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "no") return false;
  fail(text, "value of '" + std::string(key) + "' is not a boolean (0/1): '" + std::string(v) + "'");
}

int to_int(std::string_view text, std::string_view key, std::string_view v, std::uint64_t lo, std::uint64_t hi) {
  const std::uint64_t x = to_u64(text, key, v);
  if (x < lo || x > hi) {
    fail(text, "value of '" + std::string(key) + "' out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return static_cast<int>(x);
}

void apply_query(std::string_view text, std::string_view query, TransportConfig& c) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) fail(text, "query item '" + std::string(item) + "' has no '='");
    const std::string_view k = item.substr(0, eq);
    const std::string_view v = item.substr(eq + 1);
    const bool ring = c.kind == TransportKind::inproc || c.kind == TransportKind::shm;
    const bool sock = c.kind == TransportKind::uds || c.kind == TransportKind::udp;
    if (k == "capacity" && ring) {
      c.capacity = to_u64(text, k, v);
      if (c.capacity < 256 || (c.capacity & (c.capacity - 1)) != 0) fail(text, "capacity must be a power of two >= 256");
    } else if (k == "hugepages" && c.kind == TransportKind::shm) {
      c.hugepages = to_bool(text, k, v);
    } else if (k == "unlink" && c.kind == TransportKind::shm) {
      c.unlink_on_close = to_bool(text, k, v);
    } else if (k == "sndbuf" && sock) {
      c.sndbuf = to_int(text, k, v, 0, 1u << 30);
    } else if (k == "rcvbuf" && sock) {
      c.rcvbuf = to_int(text, k, v, 0, 1u << 30);
    } else if (k == "iface" && c.kind == TransportKind::udp) {
      if (v.empty() || v.size() > 15) fail(text, "iface must be an interface name of 1..15 characters");
      c.interface = std::string(v);
    } else if (k == "ttl" && c.kind == TransportKind::udp) {
      c.ttl = to_int(text, k, v, 0, 255);
    } else if (k == "loop" && c.kind == TransportKind::udp) {
      c.multicast_loop = to_bool(text, k, v);
    } else if (k == "batch" && c.kind == TransportKind::udp) {
      c.batch = to_int(text, k, v, 1, 256);
    } else {
      fail(text, "unknown option '" + std::string(k) + "' for " + mycelium::to_string(c.kind));
    }
  }
}

}  // namespace

const char* to_string(TransportKind k) noexcept {
  switch (k) {
    case TransportKind::inproc: return "inproc";
    case TransportKind::shm: return "shm";
    case TransportKind::uds: return "uds";
    case TransportKind::udp: return "udp";
  }
  return "unknown";
}

const char* to_string(PublishResult r) noexcept {
  switch (r) {
    case PublishResult::ok: return "ok";
    case PublishResult::would_block: return "would_block";
    case PublishResult::not_connected: return "not_connected";
    case PublishResult::too_large: return "too_large";
    case PublishResult::error: return "error";
  }
  return "unknown";
}

bool TransportConfig::multicast() const noexcept {
  if (kind != TransportKind::udp) return false;
  in_addr a{};
  if (::inet_pton(AF_INET, address.c_str(), &a) != 1) return false;
  return (ntohl(a.s_addr) >> 28) == 0xE;
}

std::string TransportConfig::to_string() const {
  std::string s;
  std::string q;
  auto add = [&q](const std::string& item) { q += (q.empty() ? "?" : "&") + item; };
  switch (kind) {
    case TransportKind::inproc:
      s = "inproc:" + name;
      if (capacity != kDefaultRingCapacity) add("capacity=" + std::to_string(capacity));
      break;
    case TransportKind::shm:
      s = "shm:/" + name;
      if (capacity != kDefaultRingCapacity) add("capacity=" + std::to_string(capacity));
      if (hugepages) add("hugepages=1");
      if (unlink_on_close) add("unlink=1");
      break;
    case TransportKind::uds:
      s = "uds:" + name;
      break;
    case TransportKind::udp:
      s = "udp://" + address + ":" + std::to_string(port);
      if (!interface.empty()) add("iface=" + interface);
      if (ttl != 1) add("ttl=" + std::to_string(ttl));
      if (!multicast_loop) add("loop=0");
      if (batch != kDefaultUdpBatch) add("batch=" + std::to_string(batch));
      break;
  }
  if (kind == TransportKind::uds || kind == TransportKind::udp) {
    if (sndbuf != 0) add("sndbuf=" + std::to_string(sndbuf));
    if (rcvbuf != 0) add("rcvbuf=" + std::to_string(rcvbuf));
  }
  return s + q;
}

TransportConfig parse_transport_config(std::string_view text) {
  TransportConfig c;
  std::string_view rest;
  std::string_view query;
  const auto qpos = text.find('?');
  const std::string_view head = text.substr(0, qpos);
  if (qpos != std::string_view::npos) query = text.substr(qpos + 1);

  if (head.starts_with("inproc:")) {
    c.kind = TransportKind::inproc;
    rest = head.substr(7);
    if (rest.empty()) fail(text, "inproc needs a name (inproc:<name>)");
    c.name = std::string(rest);
  } else if (head.starts_with("shm:")) {
    c.kind = TransportKind::shm;
    rest = head.substr(4);
    while (rest.starts_with('/')) rest.remove_prefix(1);
    if (rest.empty() || rest.find('/') != std::string_view::npos || rest.size() > 200) {
      fail(text, "shm needs a plain segment name (shm:/<name>, no further '/')");
    }
    c.name = std::string(rest);
  } else if (head.starts_with("uds:")) {
    c.kind = TransportKind::uds;
    rest = head.substr(4);
    if (rest.empty()) fail(text, "uds needs a socket path (uds:/run/torq.sock)");
    if (rest.size() >= 108) fail(text, "uds path longer than 107 bytes (sockaddr_un limit)");
    c.name = std::string(rest);
  } else if (head.starts_with("udp://")) {
    c.kind = TransportKind::udp;
    rest = head.substr(6);
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) fail(text, "udp needs host:port (udp://127.0.0.1:9000)");
    c.address = std::string(rest.substr(0, colon));
    in_addr a{};
    if (::inet_pton(AF_INET, c.address.c_str(), &a) != 1) fail(text, "'" + c.address + "' is not a dotted IPv4 address");
    c.port = static_cast<std::uint16_t>(to_int(text, "port", rest.substr(colon + 1), 0, 65535));
  } else {
    fail(text, "unknown scheme (expected inproc:, shm:, uds: or udp://)");
  }
  apply_query(text, query, c);
  return c;
}

}  // namespace torq::mycelium
