// torq/torqd/links.hpp — torqd's network links: a udp:// market-data or signal link between
// processes or hosts, bridged to the in-process rings that the pinned loops poll. The stages never
// see a socket: the collector, strategy and executor keep reading and writing SPSC rings, and one
// bridge thread per link direction moves frames between a ring and the network.
//
// Owns:
//   LinkEgress — the publishing side. Drains a local ring and sends each frame as one UDP datagram
//     to every line (A, and B when configured: both carry every frame), through kernel sockets or,
//     with [nic] tx_device (backend dpdk), through a DPDK port (EAL from [nic.eal], Ethernet/IPv4/
//     UDP headers written by torq::nic, same wire format). Frames are renumbered
//     under the link's own source and sequence (1, 2, 3, …: the collector numbers market-data and
//     snapshot frames separately, and a lossy link needs one sequence per source to find gaps),
//     re-sealed with CRC32C (an in-process frame may skip the checksum, a network frame never
//     does), and preceded by a Heartbeat that is repeated every heartbeat interval. The heartbeat's
//     epoch is the start time in ms, so a restarted publisher is recognised and its new numbering
//     accepted instead of being dropped as stale. A full socket buffer or DPDK transmit queue is
//     back pressure: the frame is retried, never dropped by the sender while it runs; after the
//     stop request a queue that stays full for kStopGiveUpNs (a NIC that never drains) has its
//     frames abandoned and counted, so that the process can stop.
//   LinkIngress — the receiving side. Runs nic::NicReceiver (kernel UDP sockets, or DPDK ports
//     when [nic] backend = "dpdk"), whose RxPipeline validates every frame (magic, sizes, CRC32C),
//     sequences it per source (gaps counted) or arbitrates lines A/B, and hands each data frame to
//     the local ring; heartbeats stop here. A full local ring drops the frame and counts it: the
//     receive loop never blocks on its consumer.
//   nic_config_for() — the receiver configuration of a link: [nic] when given, otherwise kernel
//     sockets built from the udp:// strings (multicast joined on the interface named by ?iface=).
//   The back channel (optional: mode.links.market_data_requests, the source's request address):
//   - Resends. The receiver holds a hole open in its reorder buffer (nic::LineArbiter, used even
//     with one line when the back channel is on) and sends a ResendRequest frame (Protocol V2
//     type 105: source, first missing sequence, count) at once, again every resend_retry_ns while
//     the hole stays open. The LinkEgress keeps the last history_frames frames it sent (sealed,
//     up to kHistorySlotBytes each) and sends the asked-for ones again on every line, byte for
//     byte (same sequence, same checksum), within a resend budget (ResendLimits: 4096 frames,
//     refilled at 100 000 a second); what it no longer holds is counted and left to the snapshot
//     fallback.
//     A heartbeat's last_sequence exposes a lost tail (frames with nothing after them yet).
//   - Snapshots. A receiver cannot get the snapshots its source published before it joined, nor
//     a frame the source no longer holds. The LinkIngress sends a SnapshotRequest frame when it
//     starts (until the first data frame arrives, once a second) and whenever its gap count grows
//     (a hole that outlived the reorder timeout; at most once a second); the LinkEgress calls its
//     on_request hook (torqd: NodeSession::request_resnapshot(), every pool snapshotted again at
//     the head) at most once per request_interval however many receivers ask.
// Thread-safety: each bridge is driven by one thread (run()); stats() may be read from any thread
// (relaxed atomics the loop refreshes at least every 256 idle polls and at exit).
// Allocation: constructors and the back-channel set-up only (sockets, buffers, EAL, mbuf pools, the
// resend history; they throw on failure); the run loops are allocation-free, one syscall per
// datagram (egress, resends included) or per recvmmsg burst (kernel ingress), plus one request
// poll every 20 us (egress) and one datagram per resend or snapshot request (ingress).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "torq/mycelium/heartbeat.hpp"
#include "torq/mycelium/socket_transport.hpp"
#include "torq/nic/config.hpp"
#include "torq/nic/receiver.hpp"
#include "torq/ops/config.hpp"
#include "torq/protocol/tlv_types.hpp"
#include "torq/ring/spsc_ring.hpp"
#include "torq/torqd/options.hpp"

namespace torq::torqd {

[[nodiscard]] inline bool is_udp_link(const std::string& link) noexcept { return link.rfind("udp://", 0) == 0; }

// The receiver of a udp:// link (A, and B when non-empty). With [nic] present its settings win
// (backend, EAL, lines, arbitration, poll core); `pin_cpu` is used when [nic] names no poll core.
// Throws std::invalid_argument naming the bad link or key.
[[nodiscard]] nic::NicConfig nic_config_for(const ops::NicConfig& nic, const std::string& link_a,
                                            const std::string& link_b, int pin_cpu);

struct LinkEgressStats {
  std::atomic<std::uint64_t> frames{0};       // frames sent (on every line)
  std::atomic<std::uint64_t> datagrams{0};    // datagrams sent, all lines, heartbeats included
  std::atomic<std::uint64_t> heartbeats{0};
  std::atomic<std::uint64_t> would_block{0};  // sends retried because a socket buffer was full
  std::atomic<std::uint64_t> abandoned{0};    // sends given up after the stop request: the line's queue stayed full
  std::atomic<std::uint64_t> oversize{0};     // ring records that are not one valid frame (dropped)
  std::atomic<std::uint64_t> largest{0};      // largest frame sent, bytes
  std::atomic<std::uint64_t> requests{0};     // valid snapshot requests received
  std::atomic<std::uint64_t> requests_acted{0};  // ... passed to on_request (rate-limited)
  std::atomic<std::uint64_t> resend_requests{0};     // valid resend requests received
  std::atomic<std::uint64_t> frames_resent{0};       // frames sent again from the history
  std::atomic<std::uint64_t> resend_unavailable{0};  // asked for, but not (or no longer) in the history
  std::atomic<std::uint64_t> resend_refused{0};      // asked for beyond the resend budget
};

// What a LinkEgress keeps and spends for resends (listen_for_requests).
struct ResendLimits {
  std::uint32_t history_frames = 8192;  // frames kept (a power of two; 0: none, every resend is unavailable)
  std::uint64_t burst = 4096;           // resend budget: frames at once ...
  std::uint64_t per_second = 100'000;   // ... refilled at this rate (> 0)
};

// Called by the egress thread for an accepted snapshot request (keep it short: it runs between sends).
struct SnapshotRequestHook {
  void (*fn)(void* ctx) noexcept = nullptr;
  void* ctx = nullptr;
};

class LinkEgress {
 public:
  static constexpr std::size_t kHistorySlotBytes = 1536;  // larger frames are not kept (a udp:// MTU frame is 1472)
  static constexpr std::uint32_t kMaxResendCount = 1024;  // frames one request may ask for

  // `links`: one udp:// string per line. `source`: the link's Protocol V2 source id. `nic`: a
  // [nic] section whose tx_device sends through DPDK (nullptr or no tx_device: kernel sockets).
  LinkEgress(std::string name, const std::vector<std::string>& links, std::uint8_t source, ring::SpscConsumer& in,
             const ops::NicConfig* nic = nullptr, std::uint64_t heartbeat_interval_ns = 100'000'000);
  ~LinkEgress();
  LinkEgress(const LinkEgress&) = delete;
  LinkEgress& operator=(const LinkEgress&) = delete;

  // Sends until `stop` is set and the ring is empty (so a drain before shutdown loses nothing).
  // Pinned to `cpu` when >= 0. `idle` applies when the ring is empty. A line that refuses a send
  // is retried; after `stop`, once it has refused for kStopGiveUpNs (a NIC that never drains its
  // transmit queue), its refused frames are abandoned and counted (stats().abandoned).
  static constexpr std::uint64_t kStopGiveUpNs = 200'000'000;
  void run(const std::atomic<bool>& stop, int cpu, IdleKind idle) noexcept;
  // One pass: sends what the ring holds (up to `max` frames) and a heartbeat when due. Returns
  // the frames sent. (run() calls it; tests drive it directly.)
  std::size_t pump(std::uint64_t now_ns, std::size_t max = 64) noexcept;
  // Listens on `request_link` (udp://, bound here) for snapshot requests, passed to `hook` at
  // most once per `min_interval_ns`, and for resend requests, served from a history of the last
  // `limits.history_frames` frames sent within the limits' budget. Start-up (allocates the
  // history); throws on a bad link, bad limits or bind failure.
  void listen_for_requests(const std::string& request_link, SnapshotRequestHook hook,
                           std::uint64_t min_interval_ns = 2'000'000'000, ResendLimits limits = {});

  [[nodiscard]] const LinkEgressStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] std::uint32_t epoch() const noexcept { return seq_.epoch(); }
  // "kernel udp, 1 line" / "dpdk 0000:3b:00.0, 2 lines".
  [[nodiscard]] std::string describe() const;

 private:
  void send_all(std::span<const std::byte> frame) noexcept;
  // A line refused the frame (counted): true once it is abandoned (after the stop request and
  // kStopGiveUpNs of refusals; counted). sent(): a line took it.
  [[nodiscard]] bool refused_send_abandoned() noexcept;
  void sent() noexcept;
  template <class Idle>
  void loop(const std::atomic<bool>& stop, Idle& idle) noexcept;

  void poll_requests(std::uint64_t now_ns) noexcept;
  void resend(const protocol::ResendRequest& q, std::uint64_t now_ns) noexcept;
  void keep(std::uint64_t sequence, std::span<const std::byte> frame) noexcept;

  struct Dpdk;
  // The last frames sent, by sequence (slot = sequence & mask): sealed bytes, ready to resend.
  struct History {
    std::unique_ptr<std::byte[]> bytes;            // frames × kHistorySlotBytes
    std::unique_ptr<std::uint64_t[]> sequence;     // 0: empty (sequences start at 1)
    std::unique_ptr<std::uint32_t[]> size;
    std::uint64_t mask = 0;
  };

  std::string name_;
  std::vector<mycelium::UdpPublisher> lines_;
  std::unique_ptr<Dpdk> dpdk_;
  std::unique_ptr<mycelium::UdpSubscriber> requests_;
  SnapshotRequestHook hook_{};
  std::uint64_t request_interval_ns_ = 0;
  std::uint64_t last_request_ns_ = 0;
  bool acted_once_ = false;
  bool pending_request_ = false;
  std::uint32_t pumps_ = 0;
  std::uint64_t last_request_poll_ns_ = 0;
  History history_;
  ResendLimits limits_{};
  std::uint64_t resend_budget_ = 0;  // refilled on the first request
  std::uint64_t budget_at_ns_ = 0;
  ring::SpscConsumer& in_;
  mycelium::Sequencer seq_;
  std::unique_ptr<std::byte[]> buf_;
  const std::atomic<bool>* stop_ = nullptr;  // run()'s stop flag (nullptr: pump() driven directly)
  std::uint64_t refused_since_ns_ = 0;       // first refusal after the stop request (0: none pending)
  bool abandoning_ = false;                  // a line gave up after the stop request
  LinkEgressStats stats_;
};

// Pushes received data frames into a local ring (the RxPipeline's sink).
struct RingPushSink {
  ring::SpscProducer* out = nullptr;
  std::uint64_t delivered = 0;
  std::uint64_t ring_full = 0;
  std::uint64_t heartbeats = 0;
  bool on_frame(std::span<const std::byte> frame) noexcept;
};

struct LinkIngressStats {
  std::atomic<std::uint64_t> delivered{0};    // data frames into the local ring
  std::atomic<std::uint64_t> ring_full{0};    // dropped: the local ring was full
  std::atomic<std::uint64_t> heartbeats{0};
  std::atomic<std::uint64_t> gaps{0};         // holes in a source's sequence (events)
  std::atomic<std::uint64_t> missing{0};      // frames in those holes (lost on every line)
  std::atomic<std::uint64_t> duplicates{0};   // dropped copies (the other line's, or resent)
  std::atomic<std::uint64_t> restarts{0};     // publisher restarts seen (new heartbeat epoch)
  std::atomic<std::uint64_t> bad_packets{0};  // Ethernet/IP/UDP checks failed (DPDK)
  std::atomic<std::uint64_t> bad_frames{0};   // Protocol V2 validation failed
  std::atomic<std::uint64_t> datagrams{0};    // UDP payloads received
  std::atomic<std::uint64_t> requests_sent{0};  // snapshot requests sent to the source
  std::atomic<std::uint64_t> resend_requests_sent{0};  // resend requests sent to the source
  std::atomic<std::uint64_t> late{0};         // frames that filled a hole (a resend, or the other line late)
};

class LinkIngress {
 public:
  static constexpr std::uint64_t kMaxResendAhead = 8192;  // frames past expected this side asks a resend of

  LinkIngress(std::string name, const nic::NicConfig& cfg, ring::SpscProducer& out);
  LinkIngress(const LinkIngress&) = delete;
  LinkIngress& operator=(const LinkIngress&) = delete;

  // Polls until `stop`; pinned to the config's poll_cpu when set (false if that failed: not run).
  bool run(const std::atomic<bool>& stop, IdleKind idle) noexcept;
  // One poll of every line (tests): returns datagrams/packets received; refreshes stats() and
  // sends a snapshot request when one is due.
  std::size_t poll_once() noexcept;
  // Sends requests about `source` to the link source's `request_link` (udp://): snapshots on
  // joining and on gaps, resends of the frames in an open hole when the receiver has a reorder
  // buffer (cfg.arbitrate; see the header comment). Start-up; throws on a bad link.
  void request_from(const std::string& request_link, std::uint8_t source,
                    std::uint64_t resend_retry_ns = 500'000);

  [[nodiscard]] const LinkIngressStats& stats() const noexcept { return stats_; }
  // "kernel udp, 1 line" / "dpdk, 2 lines, A/B arbitration" (+ why DPDK was not used).
  [[nodiscard]] std::string describe() const;
  [[nodiscard]] nic::Backend backend() const noexcept { return rx_->backend(); }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  void publish_stats() noexcept;
  void maybe_request(std::uint64_t now_ns) noexcept;
  void maybe_resend(std::uint64_t now_ns) noexcept;
  template <class Idle>
  void loop(const std::atomic<bool>& stop, Idle& idle) noexcept;

  std::string name_;
  nic::NicConfig cfg_;
  std::unique_ptr<mycelium::UdpPublisher> request_pub_;
  std::uint8_t request_source_ = 0;
  std::uint64_t last_request_ns_ = 0;
  std::uint64_t requested_at_gaps_ = 0;  // gaps + local ring drops at the last request
  std::uint64_t request_seq_ = 0;
  bool requested_ = false;
  std::uint64_t resend_retry_ns_ = 0;
  std::uint64_t resend_asked_end_ = 0;  // one past the highest sequence asked about
  std::uint64_t resend_at_ns_ = 0;      // when every open hole was last asked about
  std::uint64_t resend_restarts_ = 0;   // source restarts seen (the numbering starts again)
  RingPushSink sink_;
  std::unique_ptr<nic::NicReceiver<RingPushSink>> rx_;
  LinkIngressStats stats_;
};

}  // namespace torq::torqd
