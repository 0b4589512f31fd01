#include "torq/torqd/links.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "torq/hw/affinity.hpp"
#include "torq/mycelium/config.hpp"
#include "torq/mycelium/idle.hpp"
#include "torq/nic/dpdk.hpp"
#include "torq/nic/packet.hpp"
#include "torq/protocol/frame.hpp"
#include "torq/protocol/tlv_types.hpp"

namespace torq::torqd {

namespace {

std::uint64_t mono_ns() noexcept { return nic::monotonic_ns(); }

// The IPv4 address of interface `name` (multicast joins name the interface by address).
std::uint32_t interface_address(const std::string& name, const std::string& link) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) throw std::runtime_error("link " + link + ": getifaddrs failed");
  std::uint32_t out = 0;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET || name != i->ifa_name) continue;
    out = ntohl(reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr);
    break;
  }
  ::freeifaddrs(list);
  if (out == 0) throw std::invalid_argument("link " + link + ": interface '" + name + "' has no IPv4 address");
  return out;
}

nic::LineConfig kernel_line(const std::string& link, const char* name) {
  const mycelium::TransportConfig t = mycelium::parse_transport_config(link);
  if (t.kind != mycelium::TransportKind::udp) throw std::invalid_argument("link " + link + ": not udp://");
  nic::LineConfig l;
  l.name = name;
  l.dst_ip = t.multicast() ? nic::parse_ipv4(t.address) : 0;  // unicast: bind every address
  l.dst_port = t.port;
  if (t.multicast() && !t.interface.empty()) l.interface_ip = interface_address(t.interface, link);
  if (t.rcvbuf > 0) l.kernel_rcvbuf = static_cast<std::uint32_t>(t.rcvbuf);
  return l;
}

void split_address(const std::string& text, std::uint32_t& ip, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("nic line address '" + text + "': expected a.b.c.d:port");
  ip = nic::parse_ipv4(text.substr(0, colon));
  port = static_cast<std::uint16_t>(std::stoul(text.substr(colon + 1)));
}

// The EAL command line of a [nic] section (shared by the receiver and the DPDK sender).
nic::EalOptions eal_options_of(const ops::NicConfig& n, int poll_cpu) {
  nic::EalOptions e;
  e.cores = !n.eal_cores.empty() ? n.eal_cores : std::to_string(poll_cpu >= 0 ? poll_cpu : 0);
  e.memory_mb = n.eal_memory_mb;
  e.hugepages = n.hugepages == "require" ? nic::Hugepages::require
                : n.hugepages == "none"  ? nic::Hugepages::none
                                         : nic::Hugepages::auto_detect;
  e.allow_pci = n.allow_pci;
  e.vdevs = n.vdevs;
  e.driver_paths = n.driver_paths;
  e.file_prefix = !n.file_prefix.empty() ? n.file_prefix : "torqd-" + std::to_string(::getpid());
  e.log_level = n.log_level;
  return e;
}

nic::MacAddress parse_mac(const std::string& text) {
  nic::MacAddress m{};
  unsigned v[6];
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
    throw std::invalid_argument("nic.tx_dst_mac: '" + text + "' is not a MAC address");
  for (int i = 0; i < 6; ++i) m[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v[i]);
  return m;
}

}  // namespace

nic::NicConfig nic_config_for(const ops::NicConfig& n, const std::string& link_a, const std::string& link_b, int pin_cpu) {
  nic::NicConfig c;
  c.lines.clear();
  if (!n.present || n.lines.empty()) {  // no [nic] receive lines: kernel sockets from the links
    c.backend = nic::Backend::kernel;
    c.lines.push_back(kernel_line(link_a, "A"));
    if (!link_b.empty()) {
      c.lines.push_back(kernel_line(link_b, "B"));
      c.arbitrate = true;
    }
    c.poll_cpu = pin_cpu;
    return c;
  }
  c.backend = n.backend == ops::NicBackend::dpdk ? nic::Backend::dpdk : nic::Backend::kernel;
  c.poll_cpu = n.poll_core >= 0 ? n.poll_core : pin_cpu;
  c.burst = static_cast<std::uint16_t>(n.burst);
  c.arbitrate = n.arbitrate;
  c.arbiter.window = n.arbiter_window;
  c.arbiter.timeout_ns = std::uint64_t{n.arbiter_timeout_us} * 1000;
  c.verify_udp_checksum = n.verify_udp_checksum;
  c.mbufs.mbufs = n.mbufs;
  c.eal = eal_options_of(n, c.poll_cpu);
  for (const ops::NicLineConfig& l : n.lines) {
    nic::LineConfig line;
    line.name = l.name;
    split_address(l.address, line.dst_ip, line.dst_port);
    // Kernel: a unicast address is bound as given (it must be local); multicast is joined.
    if (!l.interface_ip.empty()) line.interface_ip = nic::parse_ipv4(l.interface_ip);
    line.dpdk_device = l.dpdk_device;
    line.dpdk_queue = l.queue;
    c.lines.push_back(line);
  }
  return c;
}

// ---------------------------------------------------------------- egress

struct LinkEgress::Dpdk {
  std::string device;
  std::unique_ptr<nic::dpdk::MbufPools> pools;
  std::unique_ptr<nic::dpdk::Port> port;
  std::vector<nic::dpdk::Publisher> lines;
};

LinkEgress::~LinkEgress() = default;

LinkEgress::LinkEgress(std::string name, const std::vector<std::string>& links, std::uint8_t source,
                       ring::SpscConsumer& in, const ops::NicConfig* nic, std::uint64_t heartbeat_interval_ns)
    : name_(std::move(name)),
      in_(in),
      seq_(source,
           static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count()),
           heartbeat_interval_ns),
      buf_(std::make_unique<std::byte[]>(protocol::kMaxFrameSize)) {
  if (links.empty()) throw std::invalid_argument("link " + name_ + ": no udp:// line");
  const bool dpdk = nic != nullptr && nic->present && !nic->tx_device.empty();
  if (dpdk) {
    if (!nic::dpdk::available()) throw std::runtime_error("link " + name_ + ": [nic] tx_device needs DPDK, which this build lacks");
    dpdk_ = std::make_unique<Dpdk>();
    dpdk_->device = nic->tx_device;
    if (!nic::dpdk::eal_initialized())
      nic::dpdk::eal_init(nic::eal_arguments(eal_options_of(*nic, nic->poll_core), nic::hugepages_available()));
    nic::dpdk::MbufPoolConfig mc;
    mc.mbufs = nic->mbufs;
    dpdk_->pools = std::make_unique<nic::dpdk::MbufPools>(mc, "torqtx");
    nic::dpdk::PortConfig pc;
    pc.device = nic->tx_device;
    pc.tx_queues = static_cast<std::uint16_t>(nic->tx_queue + 1);
    dpdk_->port = std::make_unique<nic::dpdk::Port>(pc, *dpdk_->pools);
    (void)dpdk_->port->wait_link_up(1000);
  }
  for (const std::string& l : links) {
    const mycelium::TransportConfig t = mycelium::parse_transport_config(l);
    if (t.kind != mycelium::TransportKind::udp) throw std::invalid_argument("link " + name_ + ": '" + l + "' is not udp://");
    if (!dpdk) {
      lines_.push_back(mycelium::open_udp_publisher(t));
      continue;
    }
    nic::UdpEndpoints ep;
    ep.src_mac = dpdk_->port->mac();
    ep.src_ip = nic::parse_ipv4(nic->tx_src_ip);
    ep.src_port = nic->tx_src_port;
    ep.dst_ip = nic::parse_ipv4(t.address);
    ep.dst_port = t.port;
    if (t.multicast()) {
      ep.dst_mac = nic::multicast_mac(ep.dst_ip);
      ep.ttl = static_cast<std::uint8_t>(t.ttl);
    } else {
      if (nic->tx_dst_mac.empty()) throw std::invalid_argument("link " + l + ": a unicast destination through DPDK needs [nic] tx_dst_mac (the next hop)");
      ep.dst_mac = parse_mac(nic->tx_dst_mac);
    }
    dpdk_->lines.emplace_back(*dpdk_->port, nic->tx_queue, ep);
  }
}

std::string LinkEgress::describe() const {
  const std::size_t n = dpdk_ ? dpdk_->lines.size() : lines_.size();
  return (dpdk_ ? "dpdk " + dpdk_->device : std::string("kernel udp")) + ", " + std::to_string(n) + (n == 1 ? " line" : " lines");
}

// A refused send is retried: back pressure, the sender is not lossy. Only after the stop request
// does it end: a line whose queue stays full for kStopGiveUpNs (a NIC that never drains its TX
// ring: link down, no cable) has that frame and every later refused one abandoned (counted), so
// that run() returns and the process can stop. The receiver sees them as lost.
// Counts the refusal; true when the frame is abandoned on this line (counted too).
bool LinkEgress::refused_send_abandoned() noexcept {
  stats_.would_block.fetch_add(1, std::memory_order_relaxed);
  if (stop_ == nullptr || !stop_->load(std::memory_order_relaxed)) return false;
  if (!abandoning_) {
    const std::uint64_t now = mono_ns();
    if (refused_since_ns_ == 0) refused_since_ns_ = now;
    if (now - refused_since_ns_ < kStopGiveUpNs) return false;
    abandoning_ = true;
  }
  stats_.abandoned.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void LinkEgress::sent() noexcept {
  stats_.datagrams.fetch_add(1, std::memory_order_relaxed);
  refused_since_ns_ = 0;
}

void LinkEgress::send_all(std::span<const std::byte> frame) noexcept {
  if (dpdk_) {
    for (nic::dpdk::Publisher& p : dpdk_->lines) {
      for (std::uint32_t tries = 0;; ++tries) {
        const mycelium::PublishResult r = p.try_publish(frame);
        if (r == mycelium::PublishResult::ok) {
          sent();
          break;
        }
        if (r != mycelium::PublishResult::would_block) break;  // too large for one mbuf: counted by the publisher
        if (refused_send_abandoned()) break;
        if (tries > 64) std::this_thread::sleep_for(std::chrono::microseconds(5));  // tx ring full: let the NIC drain it
        else mycelium::cpu_relax();
      }
    }
    return;
  }
  for (mycelium::UdpPublisher& p : lines_) {
    for (;;) {
      const mycelium::PublishResult r = p.try_publish(frame);
      if (r == mycelium::PublishResult::ok) {
        sent();
        break;
      }
      if (r != mycelium::PublishResult::would_block) break;  // socket error: counted by the publisher, the receiver sees a gap
      if (refused_send_abandoned()) break;
      // Back pressure from the kernel: retry (the link is lossy, the sender is not).
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }
}

void LinkEgress::listen_for_requests(const std::string& request_link, SnapshotRequestHook hook, std::uint64_t min_interval_ns,
                                     ResendLimits limits) {
  const std::uint32_t history_frames = limits.history_frames;
  const mycelium::TransportConfig t = mycelium::parse_transport_config(request_link);
  if (t.kind != mycelium::TransportKind::udp)
    throw std::invalid_argument("link " + name_ + ": requests need a udp:// address, not '" + request_link + "'");
  if (history_frames != 0 && !std::has_single_bit(history_frames))
    throw std::invalid_argument("link " + name_ + ": the resend history must hold a power of two frames, not " +
                                std::to_string(history_frames));
  if (limits.per_second == 0 || limits.per_second > 1'000'000'000)
    throw std::invalid_argument("link " + name_ + ": the resend rate must be 1 .. 1e9 frames a second");
  requests_ = std::make_unique<mycelium::UdpSubscriber>(mycelium::open_udp_subscriber(t));
  limits_ = limits;
  hook_ = hook;
  request_interval_ns_ = min_interval_ns;
  if (history_frames != 0) {
    history_.bytes = std::make_unique<std::byte[]>(std::size_t{history_frames} * kHistorySlotBytes);
    history_.sequence = std::make_unique<std::uint64_t[]>(history_frames);  // zero: empty
    history_.size = std::make_unique<std::uint32_t[]>(history_frames);
    history_.mask = history_frames - 1;
  }
}

void LinkEgress::keep(std::uint64_t sequence, std::span<const std::byte> frame) noexcept {
  if (!history_.bytes || frame.size() > kHistorySlotBytes) return;  // not kept: a resend finds an older sequence there
  const std::size_t slot = sequence & history_.mask;
  std::memcpy(history_.bytes.get() + slot * kHistorySlotBytes, frame.data(), frame.size());
  history_.size[slot] = static_cast<std::uint32_t>(frame.size());
  history_.sequence[slot] = sequence;
}

void LinkEgress::resend(const protocol::ResendRequest& q, std::uint64_t now_ns) noexcept {
  stats_.resend_requests.fetch_add(1, std::memory_order_relaxed);
  // The budget refills at limits_.per_second up to limits_.burst: a receiver that asks too much
  // (or a hostile one) cannot keep the link busy with old frames.
  const std::uint64_t ns_per_frame = 1'000'000'000 / limits_.per_second;
  // The part of a frame's time not yet earned carries over (budget_at_ns_ moves by whole frames),
  // so requests every 1.5 frame-times refill at the configured rate, not one frame per request.
  if (const std::uint64_t refill = (now_ns - budget_at_ns_) / ns_per_frame; refill != 0) {
    if (resend_budget_ + std::min(refill, limits_.burst) >= limits_.burst) {
      resend_budget_ = limits_.burst;  // full: nothing carries over
      budget_at_ns_ = now_ns;
    } else {
      resend_budget_ += refill;
      budget_at_ns_ += refill * ns_per_frame;
    }
  }
  const std::uint32_t count = std::min(q.count, kMaxResendCount);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint64_t seq = q.from_sequence + i;
    const std::size_t slot = seq & history_.mask;
    if (seq == 0 || !history_.bytes || history_.sequence[slot] != seq) {
      stats_.resend_unavailable.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (resend_budget_ == 0) {
      stats_.resend_refused.fetch_add(count - i, std::memory_order_relaxed);
      return;
    }
    --resend_budget_;
    send_all(std::span<const std::byte>(history_.bytes.get() + slot * kHistorySlotBytes, history_.size[slot]));
    stats_.frames_resent.fetch_add(1, std::memory_order_relaxed);
  }
}

void LinkEgress::poll_requests(std::uint64_t now_ns) noexcept {
  (void)requests_->poll(
      [&](std::span<const std::byte> f) noexcept {
        const auto r = protocol::parse_frame(f, protocol::ParseOptions{.verify_checksum = true, .require_checksum = true});
        if (!r.ok()) return;
        // kMaxResendCount bounds a request frame, not each of its TLVs: a datagram holds ~2 500
        // ResendRequests, which would otherwise cost millions of history lookups on this thread.
        std::uint32_t left = kMaxResendCount;
        for (const auto& tlv : r.view.tlvs()) {
          if (const auto rq = protocol::tlv_as<protocol::ResendRequest>(tlv); rq && rq->source == seq_.source()) {
            if (left == 0) continue;
            protocol::ResendRequest q = *rq;
            q.count = std::min(q.count, left);
            left -= q.count;
            resend(q, now_ns);
            continue;
          }
          const auto q = protocol::tlv_as<protocol::SnapshotRequest>(tlv);
          if (!q || q->source != seq_.source()) continue;
          stats_.requests.fetch_add(1, std::memory_order_relaxed);
          pending_request_ = true;
        }
      },
      8);
  // However many receivers ask, the source re-snapshots at most once per interval; a request
  // that arrives inside the interval is served when it ends.
  if (pending_request_ && (!acted_once_ || now_ns - last_request_ns_ >= request_interval_ns_)) {
    pending_request_ = false;
    acted_once_ = true;
    last_request_ns_ = now_ns;
    stats_.requests_acted.fetch_add(1, std::memory_order_relaxed);
    if (hook_.fn != nullptr) hook_.fn(hook_.ctx);
  }
}

std::size_t LinkEgress::pump(std::uint64_t now_ns, std::size_t max) noexcept {
  // Requests (one recv syscall): every 20 us, and every 256th pass (a test's fixed clock). A
  // resend waits at most that long to start; a frame arriving during the syscall waits < 1 us.
  if (requests_ && ((++pumps_ & 255) == 0 || now_ns - last_request_poll_ns_ >= 20'000)) {
    last_request_poll_ns_ = now_ns;
    poll_requests(now_ns);
  }
  if (seq_.heartbeat_due(now_ns)) {
    const auto hb = seq_.build_heartbeat(std::span<std::byte>(buf_.get(), protocol::kMaxFrameSize), now_ns);
    if (!hb.empty()) {
      send_all(hb);
      stats_.heartbeats.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return in_.consume_burst(
      [&](std::span<const std::byte> f) noexcept {
        if (f.size() < protocol::kHeaderSize || f.size() > protocol::kMaxFrameSize) {
          stats_.oversize.fetch_add(1, std::memory_order_relaxed);
          return;
        }
        // Renumber under the link's source and re-seal (checksum always on across a network).
        protocol::FrameHeader h;
        std::memcpy(&h, f.data(), sizeof h);
        if (h.payload_size != f.size() - protocol::kHeaderSize) {  // not one frame: sent, it would
          stats_.oversize.fetch_add(1, std::memory_order_relaxed);   // take a sequence no resend fills
          return;
        }
        std::memcpy(buf_.get(), f.data(), f.size());
        h.source = seq_.source();
        h.sequence = seq_.next_sequence();
        h.flags = static_cast<std::uint8_t>(h.flags & ~protocol::frame_flags::kNoChecksum);
        h.checksum = 0;
        std::memcpy(buf_.get(), &h, sizeof h);
        const std::span<const std::byte> frame(buf_.get(), f.size());
        h.checksum = protocol::frame_checksum(frame.first(protocol::kHeaderSize), frame.subspan(protocol::kHeaderSize));
        std::memcpy(buf_.get(), &h, sizeof h);
        keep(h.sequence, frame);
        send_all(frame);
        stats_.frames.fetch_add(1, std::memory_order_relaxed);
        if (f.size() > stats_.largest.load(std::memory_order_relaxed)) stats_.largest.store(f.size(), std::memory_order_relaxed);
      },
      max);
}

template <class Idle>
void LinkEgress::loop(const std::atomic<bool>& stop, Idle& idle) noexcept {
  for (;;) {
    const bool stopping = stop.load(std::memory_order_acquire);
    const std::size_t n = pump(mono_ns());
    if (n == 0 && stopping) break;  // drained after the stop request
    idle.idle(n);
  }
}

void LinkEgress::run(const std::atomic<bool>& stop, int cpu, IdleKind idle) noexcept {
  stop_ = &stop;
  if (cpu >= 0) (void)hw::pin_current_thread(cpu);
  with_idle(idle, [&](auto& i) { loop(stop, i); });
}

// ---------------------------------------------------------------- ingress

bool RingPushSink::on_frame(std::span<const std::byte> frame) noexcept {
  // Heartbeats end at the link: System domain, first TLV a Heartbeat.
  if (frame.size() > protocol::kHeaderSize &&
      static_cast<std::uint8_t>(frame[4]) == static_cast<std::uint8_t>(protocol::RelayDomain::System) &&
      static_cast<std::uint8_t>(frame[protocol::kHeaderSize]) == static_cast<std::uint8_t>(protocol::TlvType::Heartbeat)) {
    ++heartbeats;
    return true;
  }
  if (out->try_publish(frame) != ring::PublishResult::ok) {
    ++ring_full;
    return false;
  }
  ++delivered;
  return true;
}

LinkIngress::LinkIngress(std::string name, const nic::NicConfig& cfg, ring::SpscProducer& out)
    : name_(std::move(name)), cfg_(cfg) {
  sink_.out = &out;
  rx_ = std::make_unique<nic::NicReceiver<RingPushSink>>(cfg_, sink_);
}

void LinkIngress::publish_stats() noexcept {
  constexpr auto R = std::memory_order_relaxed;
  const auto& p = rx_->pipeline();
  const nic::RxCounters c = p.counters();
  stats_.delivered.store(sink_.delivered, R);
  stats_.ring_full.store(sink_.ring_full, R);
  stats_.heartbeats.store(sink_.heartbeats, R);
  stats_.bad_packets.store(c.bad_packets(), R);
  stats_.bad_frames.store(c.bad_frames(), R);
  stats_.datagrams.store(c.datagrams, R);
  if (const auto* a = p.arbiter()) {
    stats_.gaps.store(a->counters().gaps, R);
    stats_.missing.store(a->counters().missing, R);
    stats_.duplicates.store(a->counters().duplicates, R);
    stats_.late.store(a->counters().late, R);
    stats_.restarts.store(a->counters().restarts, R);
  } else if (const auto* t = p.tracker()) {
    const auto tot = t->totals();
    stats_.gaps.store(tot.gaps, R);
    stats_.missing.store(tot.missing, R);
    stats_.duplicates.store(p.tracker_drops().duplicates + p.tracker_drops().stale, R);
    stats_.restarts.store(tot.restarts, R);
  }
}

void LinkIngress::request_from(const std::string& request_link, std::uint8_t source, std::uint64_t resend_retry_ns) {
  const mycelium::TransportConfig t = mycelium::parse_transport_config(request_link);
  if (t.kind != mycelium::TransportKind::udp)
    throw std::invalid_argument("link " + name_ + ": requests need a udp:// address, not '" + request_link + "'");
  request_pub_ = std::make_unique<mycelium::UdpPublisher>(mycelium::open_udp_publisher(t));
  request_source_ = source;
  resend_retry_ns_ = resend_retry_ns;
}

void LinkIngress::maybe_resend(std::uint64_t now_ns) noexcept {
  const auto* a = rx_->pipeline().arbiter();
  if (!request_pub_ || a == nullptr || !a->has_holes()) return;
  // A hole not asked about yet is asked about at once; every open hole again once the retry
  // interval has passed (a lost request or resend); the arbiter's timeout ends the waiting.
  if (a->counters().restarts != resend_restarts_) {  // a restarted source numbers from 1 again
    resend_restarts_ = a->counters().restarts;
    resend_asked_end_ = 0;
  }
  const bool retry = now_ns - resend_at_ns_ >= resend_retry_ns_;
  std::uint64_t asked_end = resend_asked_end_;
  a->holes([&](std::uint8_t source, std::uint64_t from, std::uint64_t count, std::uint64_t) noexcept {
    if (source != request_source_ || count == 0) return;
    // Nothing further than a source's history ahead of expected (a hole that long is a snapshot's
    // job; and a buggy heartbeat's last_sequence cannot make this side ask forever).
    const std::uint64_t limit = a->expected(source) + kMaxResendAhead;
    if (from >= limit) return;
    std::uint64_t end = std::min(from + count, limit);
    if (!retry) {
      if (end <= resend_asked_end_) return;
      from = std::max(from, resend_asked_end_);
    }
    end = std::min(end, from + LinkEgress::kMaxResendCount);
    std::array<std::byte, 128> buf{};
    protocol::FrameBuilder b(buf, protocol::RelayDomain::System, request_source_, 0);
    protocol::ResendRequest q{};
    q.timestamp_ns = now_ns;
    q.from_sequence = from;
    q.count = static_cast<std::uint32_t>(end - from);
    q.source = request_source_;
    if (!b.add(q)) return;
    const auto f = b.finish(++request_seq_, now_ns);
    if (!f.empty() && request_pub_->try_publish(f) == mycelium::PublishResult::ok)
      stats_.resend_requests_sent.fetch_add(1, std::memory_order_relaxed);
    asked_end = std::max(asked_end, end);
  });
  resend_asked_end_ = asked_end;
  if (retry) resend_at_ns_ = now_ns;
}

void LinkIngress::maybe_request(std::uint64_t now_ns) noexcept {
  if (!request_pub_) return;
  constexpr std::uint64_t kRepeatNs = 1'000'000'000;
  // Frames lost on the way (gaps) and frames this side dropped because its ring was full are the
  // same to the book behind it: events it never saw, so both ask for snapshots.
  const std::uint64_t gaps = stats_.gaps.load(std::memory_order_relaxed) + sink_.ring_full;
  const bool may = !requested_ || now_ns - last_request_ns_ >= kRepeatNs;
  protocol::SnapshotRequestReason reason{};
  if (sink_.delivered == 0 && may) reason = protocol::SnapshotRequestReason::Join;  // nothing yet: ask (again)
  else if (gaps > requested_at_gaps_ && may) reason = protocol::SnapshotRequestReason::Gap;
  else return;
  std::array<std::byte, 128> buf{};
  protocol::FrameBuilder b(buf, protocol::RelayDomain::System, request_source_, 0);
  protocol::SnapshotRequest q{};
  q.timestamp_ns = now_ns;
  q.gaps = gaps;
  q.source = request_source_;
  q.reason = static_cast<std::uint8_t>(reason);
  if (!b.add(q)) return;
  const auto f = b.finish(++request_seq_, now_ns);
  if (!f.empty() && request_pub_->try_publish(f) == mycelium::PublishResult::ok)
    stats_.requests_sent.fetch_add(1, std::memory_order_relaxed);
  requested_ = true;
  last_request_ns_ = now_ns;
  requested_at_gaps_ = gaps;
}

std::size_t LinkIngress::poll_once() noexcept {
  const std::uint64_t now = mono_ns();
  const std::size_t n = rx_->poll(now);
  maybe_resend(now);
  rx_->pipeline().expire(now);
  publish_stats();
  maybe_request(now);
  return n;
}

template <class Idle>
void LinkIngress::loop(const std::atomic<bool>& stop, Idle& idle) noexcept {
  std::uint32_t polls = 0;
  std::uint64_t housekeeping_ns = mono_ns();
  maybe_request(housekeeping_ns);  // joining: ask for snapshots right away
  while (!stop.load(std::memory_order_acquire)) {
    const std::uint64_t now = mono_ns();
    const std::size_t n = rx_->poll(now);
    if (n != 0) maybe_resend(now);  // a new hole is asked about at once
    // Every 256 polls, and at least every 100 us when an idle strategy makes the polls slow (so a
    // hole's retries and timeout keep their pace).
    if ((++polls & 255) == 0 || now - housekeeping_ns >= 100'000) {
      housekeeping_ns = now;
      maybe_resend(now);  // retries
      rx_->pipeline().expire(now);
      publish_stats();
      maybe_request(now);
    }
    idle.idle(n);
  }
  rx_->pipeline().flush();
  publish_stats();
}

bool LinkIngress::run(const std::atomic<bool>& stop, IdleKind idle) noexcept {
  if (cfg_.poll_cpu >= 0 && !hw::pin_current_thread(cfg_.poll_cpu)) return false;
  with_idle(idle, [&](auto& i) { loop(stop, i); });
  return true;
}

std::string LinkIngress::describe() const {
  std::string s = rx_->backend() == nic::Backend::dpdk ? "dpdk" : "kernel udp";
  s += ", " + std::to_string(cfg_.lines.size()) + (cfg_.lines.size() == 1 ? " line" : " lines");
  if (cfg_.arbitrate) s += ", A/B arbitration";
  if (!rx_->backend_reason().empty()) s += " (" + rx_->backend_reason() + ")";
  return s;
}

}  // namespace torq::torqd
