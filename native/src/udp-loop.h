// The udp backend's packet loop (fact sheet §5.3, wire-compatible with the reference's proxy): a TUN
// device and a UDP socket, and worker threads that move packets between them, never on the
// JavaScript thread. Per queue, one thread reads the TUN and sends datagrams to the peer that owns
// the destination subnet (tun->udp), another receives datagrams from known peers and writes their
// payload, the raw inner IP packet, into the TUN (udp->tun). Both move packets in batches
// (recvmmsg/sendmmsg, UDP GSO/GRO, TUN TSO), look routes up in a hash (RouteTable), and count what
// they move and what they drop, by reason. Nothing here logs.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "udp-routes.h"

namespace flannel::udp {

enum Counter : int {
  kTxPackets,         // inner packets sent to peers (tun->udp)
  kTxBytes,
  kRxPackets,         // inner packets written into the TUN (udp->tun)
  kRxBytes,
  kDropNoRoute,       // tun->udp: no lease covers the destination
  kDropUnknownSource, // udp->tun: the datagram's source is no peer's public IP
  kDropTtl,           // TTL would reach 0
  kDropMalformed,     // not a whole IPv4 packet
  kDropSendError,     // sendmmsg failed for the packet
  kDropTunError,      // the TUN write failed
  kIcmpSent,          // net unreachable answers written into the TUN
  kTunReads,          // system calls, to show the batching
  kTunWrites,
  kUdpSends,
  kUdpRecvs,
  kDropSourceOutsideSubnet,  // udp->tun: the inner source is not in a subnet of the peer that sent it
  kCounterCount,
};

struct LoopConfig {
  std::string netns;         // namespace path; empty: the caller's
  std::string tun_name;      // e.g. "flannel%d"
  uint32_t bind_addr = 0;    // host order
  uint16_t port = 8285;
  uint32_t local_addr = 0;   // the TUN's address: source of the ICMP answers
  int queues = 1;
  bool offload = true;       // IFF_VNET_HDR + TSO, UDP GSO/GRO, each where the kernel allows
  int socket_buffer = 8 << 20;
};

// What the kernel granted.
struct LoopFeatures {
  bool vnet_hdr = false;
  bool tso = false;
  bool gso = false;
  bool gro = false;
  int queues = 1;
};

struct SetupError {
  int err = 0;
  const char* syscall = "";
  std::string context;
};

// State every worker shares. Routes are read under a shared lock held for a batch at a time.
struct Shared {
  RouteTable routes;
  std::shared_mutex mu;
  std::atomic<uint32_t> local_addr{0};
  std::atomic<uint64_t> counters[kCounterCount] = {};
  std::atomic<bool> gso{false};
  int stop_fd = -1;
  bool vnet = false;
};

class Loop {
 public:
  // Opens the TUN queue(s) and UDP socket(s) inside cfg.netns and starts the workers. On failure
  // returns nullptr and fills *err; nothing is left open.
  static std::unique_ptr<Loop> Open(const LoopConfig& cfg, SetupError* err);
  ~Loop() { Stop(); }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  const std::string& name() const { return name_; }
  const LoopFeatures& features() const { return features_; }
  bool SetRoute(uint32_t net, int len, NextHop hop);
  bool DeleteRoute(uint32_t net, int len);
  void SetLocalAddr(uint32_t addr) { shared_.local_addr.store(addr, std::memory_order_relaxed); }
  void ReadCounters(uint64_t out[kCounterCount]) const;
  // CPU time the worker threads have used so far (user + system).
  double CpuSeconds() const;
  // Wakes and joins the workers, then closes every descriptor (the TUN device disappears with its
  // last queue). Idempotent.
  void Stop();
  bool stopped() const { return stopped_; }

 private:
  Loop() = default;
  bool Setup(const LoopConfig& cfg, SetupError* err);
  void Spawn(int queue);

  std::string name_;
  LoopFeatures features_;
  Shared shared_;
  std::vector<int> tun_fds_;
  std::vector<int> udp_fds_;
  std::vector<std::thread> threads_;
  std::unique_ptr<std::atomic<double>[]> cpu_;  // final CPU seconds per thread, set as it exits
  bool stopped_ = false;
};

// The worker bodies (udp-tx.cc, udp-rx.cc). Each returns when shared->stop_fd becomes readable.
void RunTx(Shared* shared, int tun_fd, int udp_fd);
void RunRx(Shared* shared, int udp_fd, int tun_fd);

// Adds a batch of locally counted values to the shared counters.
void Publish(Shared* shared, uint64_t* local);

}  // namespace flannel::udp
