// udp -> tun: receive datagrams in batches (recvmmsg; with UDP GRO one buffer holds a run of
// same-sized datagrams from one peer), drop those whose source is not a peer's public IP and the
// inner packets whose source lies outside the subnets that peer leases (so neither a peer nor anyone
// forging a peer's address can inject packets from other sources), and write each inner IP packet into the TUN, joining consecutive TCP segments of a flow into one TSO write
// when the TUN takes offloads.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

#include "udp-loop.h"
#include "udp-offload.h"
#include "udp-packet.h"

namespace flannel::udp {

namespace {

constexpr unsigned kBatch = 32;
constexpr size_t kBufLen = 65536;

class Rx : public Sink {
 public:
  Rx(Shared* s, int udp, int tun) : s_(s), udp_(udp), tun_(tun), bufs_(new uint8_t[kBatch * kBufLen]), coalescer_(this) {}
  void Run();
  bool Write(const iovec* iov, int iovcnt, size_t packets) override;

 private:
  int Receive();
  void Datagrams(uint8_t* buf, size_t len, size_t seg, uint32_t src);
  void Packet(uint8_t* pkt, size_t len, uint32_t peer);

  Shared* s_;
  int udp_, tun_;
  std::unique_ptr<uint8_t[]> bufs_;
  Coalescer coalescer_;
  mmsghdr mm_[kBatch];
  iovec iov_[kBatch];
  sockaddr_in names_[kBatch];
  alignas(cmsghdr) char ctl_[kBatch][CMSG_SPACE(sizeof(int))];
  uint64_t c_[kCounterCount] = {};
};

void Rx::Run() {
  pollfd fds[2] = {{udp_, POLLIN, 0}, {s_->stop_fd, POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    while (Receive() == static_cast<int>(kBatch)) {
    }
    Publish(s_, c_);
  }
}

int Rx::Receive() {
  for (unsigned i = 0; i < kBatch; ++i) {
    iov_[i] = {bufs_.get() + i * kBufLen, kBufLen};
    mm_[i].msg_hdr = msghdr{&names_[i], sizeof names_[i], &iov_[i], 1, ctl_[i], sizeof ctl_[i], 0};
  }
  int n = recvmmsg(udp_, mm_, kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return 0;
  ++c_[kUdpRecvs];
  std::shared_lock<std::shared_mutex> lock(s_->mu);
  for (int i = 0; i < n; ++i) {
    msghdr& h = mm_[i].msg_hdr;
    size_t len = mm_[i].msg_len, seg = len;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int v = 0;
        std::memcpy(&v, CMSG_DATA(c), sizeof v);
        if (v > 0) seg = static_cast<size_t>(v);
      }
    }
    Datagrams(static_cast<uint8_t*>(iov_[i].iov_base), len, seg, ntohl(names_[i].sin_addr.s_addr));
  }
  coalescer_.Flush();
  return n;
}

void Rx::Datagrams(uint8_t* buf, size_t len, size_t seg, uint32_t src) {
  if (seg == 0) return;
  if (!s_->routes.IsPeer(src)) {
    c_[kDropUnknownSource] += (len + seg - 1) / seg;
    return;
  }
  for (size_t off = 0; off < len; off += seg) Packet(buf + off, len - off < seg ? len - off : seg, src);
}

void Rx::Packet(uint8_t* pkt, size_t len, uint32_t peer) {
  if (CheckIPv4(pkt, len) != PacketCheck::kOk) return void(++c_[kDropMalformed]);
  // The inner source must lie in a subnet routed to the sending peer (its flannel0 address, the
  // subnet's .0, included): one lookup in the table the tx side already uses.
  const NextHop* owner = s_->routes.Lookup(SrcAddr(pkt));
  if (owner == nullptr || owner->ip != peer) return void(++c_[kDropSourceOutsideSubnet]);
  len = TotalLen(pkt);
  if (DecrementTTL(pkt) == 0) return void(++c_[kDropTtl]);
  if (s_->vnet) return coalescer_.Add(pkt, len);
  iovec iov[2] = {{nullptr, 0}, {pkt, len}};
  Write(iov, 2, 1);
}

bool Rx::Write(const iovec* iov, int iovcnt, size_t packets) {
  const iovec* v = s_->vnet ? iov : iov + 1;
  const int n = s_->vnet ? iovcnt : iovcnt - 1;
  ssize_t w;
  for (int attempt = 0;; ++attempt) {
    w = writev(tun_, v, n);
    ++c_[kTunWrites];
    if (w >= 0 || attempt == 1 || errno != EAGAIN) break;
    pollfd p = {tun_, POLLOUT, 0};
    poll(&p, 1, 100);
  }
  if (w < 0) {
    c_[kDropTunError] += packets;
    return false;
  }
  size_t bytes = 0;
  for (int i = 1; i < iovcnt; ++i) bytes += iov[i].iov_len;
  c_[kRxPackets] += packets;
  c_[kRxBytes] += bytes + iov[1].iov_len * (packets - 1);  // the header goes out once per packet
  return true;
}

}  // namespace

void RunRx(Shared* shared, int udp_fd, int tun_fd) {
  auto rx = std::make_unique<Rx>(shared, udp_fd, tun_fd);
  rx->Run();
}

}  // namespace flannel::udp
