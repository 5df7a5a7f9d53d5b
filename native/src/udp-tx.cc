// tun -> udp: read packets (TSO super-packets when offloads are on) from the TUN, route each by its
// destination, cut super-packets into wire-sized segments, and send them in as few system calls as
// the kernel allows: sendmmsg of messages that each carry a run of equal-sized datagrams to one peer
// as one UDP GSO send.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
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

constexpr size_t kArena = 2 << 20;
constexpr size_t kReadBuf = kVnetHdrLen + kMaxPacket;
constexpr size_t kMaxMsgs = 1024;
constexpr int kMaxReads = 64;          // TUN reads per batch
constexpr int kMaxGsoSegments = 64;    // the kernel's UDP_MAX_SEGMENTS
constexpr size_t kMaxGsoBytes = 65000; // stays under the 64 KiB IP datagram limit

struct OutMsg {
  sockaddr_in dst;
  size_t off, len, seg;
  int count;
  bool closed;  // a shorter datagram ended the run
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(uint16_t))];
};

class Tx {
 public:
  Tx(Shared* s, int tun, int udp) : s_(s), tun_(tun), udp_(udp), arena_(new uint8_t[kArena]), rbuf_(new uint8_t[kReadBuf]), msgs_(new OutMsg[kMaxMsgs]) {}
  void Run();

 private:
  bool ReadBatch();
  void Process(uint8_t* buf, size_t n);
  void Forward(const virtio_net_hdr& h, uint8_t* pkt, size_t len, const NextHop& hop);
  void Append(const NextHop& hop, size_t off, size_t len);
  void Unreachable(const uint8_t* pkt, size_t len);
  void Flush();
  void SendSingles(const OutMsg& m);

  Shared* s_;
  int tun_, udp_;
  std::unique_ptr<uint8_t[]> arena_, rbuf_;
  std::unique_ptr<OutMsg[]> msgs_;
  size_t used_ = 0;
  size_t nmsgs_ = 0;
  uint64_t c_[kCounterCount] = {};
};

void Tx::Run() {
  pollfd fds[2] = {{tun_, POLLIN, 0}, {s_->stop_fd, POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    // Drain the TUN, a batch at a time, so a burst costs one poll.
    while (ReadBatch()) {
    }
    Publish(s_, c_);
  }
}

// Returns true when the batch was full (more may be waiting).
bool Tx::ReadBatch() {
  int reads = 0;
  {
    std::shared_lock<std::shared_mutex> lock(s_->mu);
    for (; reads < kMaxReads; ++reads) {
      ssize_t n = read(tun_, rbuf_.get(), kReadBuf);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // EAGAIN: drained (or the device is going away)
      }
      ++c_[kTunReads];
      Process(rbuf_.get(), static_cast<size_t>(n));
    }
  }
  Flush();
  return reads == kMaxReads;
}

void Tx::Process(uint8_t* buf, size_t n) {
  virtio_net_hdr h{};
  if (s_->vnet) {
    if (n < kVnetHdrLen) return void(++c_[kDropMalformed]);
    std::memcpy(&h, buf, kVnetHdrLen);
    buf += kVnetHdrLen;
    n -= kVnetHdrLen;
  }
  if (CheckIPv4(buf, n) != PacketCheck::kOk) return void(++c_[kDropMalformed]);
  n = TotalLen(buf);
  const NextHop* hop = s_->routes.Lookup(DstAddr(buf));
  if (!hop) {
    ++c_[kDropNoRoute];
    return Unreachable(buf, n);
  }
  if (DecrementTTL(buf) == 0) return void(++c_[kDropTtl]);
  Forward(h, buf, n, *hop);
}

void Tx::Forward(const virtio_net_hdr& h, uint8_t* pkt, size_t len, const NextHop& hop) {
  const bool gso = h.gso_type != VIRTIO_NET_HDR_GSO_NONE;
  // Room for every segment: one message each at worst, and a copy of the header per segment.
  const size_t segs = gso && h.gso_size > 0 ? len / h.gso_size + 1 : 1;
  if (segs > kMaxMsgs) return void(++c_[kDropMalformed]);
  if (nmsgs_ + segs > kMaxMsgs || kArena - used_ < len + segs * 120) Flush();
  uint8_t* out = arena_.get() + used_;
  if (gso) {
    size_t seg = 0;
    size_t bytes = SegmentTcp4(h, pkt, len, out, kArena - used_, &seg);
    if (bytes == 0) return void(++c_[kDropMalformed]);
    for (size_t off = 0; off < bytes; off += seg) Append(hop, used_ + off, bytes - off < seg ? bytes - off : seg);
    used_ += bytes;
    return;
  }
  if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !CompleteChecksum(h, pkt, len)) return void(++c_[kDropMalformed]);
  std::memcpy(out, pkt, len);
  Append(hop, used_, len);
  used_ += len;
}

void Tx::Append(const NextHop& hop, size_t off, size_t len) {
  ++c_[kTxPackets];
  c_[kTxBytes] += len;
  if (nmsgs_ > 0 && s_->gso.load(std::memory_order_relaxed)) {
    OutMsg& m = msgs_[nmsgs_ - 1];
    if (!m.closed && m.dst.sin_addr.s_addr == htonl(hop.ip) && m.dst.sin_port == htons(hop.port) && len <= m.seg &&
        m.count < kMaxGsoSegments && m.len + len <= kMaxGsoBytes && m.off + m.len == off) {
      m.len += len;
      ++m.count;
      m.closed = len < m.seg;
      return;
    }
  }
  OutMsg& m = msgs_[nmsgs_++];
  m.dst = sockaddr_in{};
  m.dst.sin_family = AF_INET;
  m.dst.sin_addr.s_addr = htonl(hop.ip);
  m.dst.sin_port = htons(hop.port);
  m.off = off;
  m.len = m.seg = len;
  m.count = 1;
  m.closed = false;
}

void Tx::Unreachable(const uint8_t* pkt, size_t len) {
  uint8_t icmp[kIcmpUnreachableMax];
  size_t n = BuildNetUnreachable(pkt, len, s_->local_addr.load(std::memory_order_relaxed), icmp);
  if (n == 0) return;
  virtio_net_hdr h{};
  iovec iov[2] = {{&h, kVnetHdrLen}, {icmp, n}};
  ssize_t w = s_->vnet ? writev(tun_, iov, 2) : write(tun_, icmp, n);
  ++c_[kTunWrites];
  ++c_[w < 0 ? kDropTunError : kIcmpSent];
}

void Tx::Flush() {
  if (nmsgs_ == 0) return;
  static thread_local mmsghdr mm[kMaxMsgs];
  static thread_local iovec iov[kMaxMsgs];
  for (size_t i = 0; i < nmsgs_; ++i) {
    OutMsg& m = msgs_[i];
    iov[i] = {arena_.get() + m.off, m.len};
    mm[i].msg_hdr = msghdr{&m.dst, sizeof m.dst, &iov[i], 1, nullptr, 0, 0};
    if (m.count > 1) {
      mm[i].msg_hdr.msg_control = m.ctl;
      mm[i].msg_hdr.msg_controllen = sizeof m.ctl;
      cmsghdr* c = CMSG_FIRSTHDR(&mm[i].msg_hdr);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t seg = static_cast<uint16_t>(m.seg);
      std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
    }
  }
  size_t done = 0;
  while (done < nmsgs_) {
    int r = sendmmsg(udp_, mm + done, static_cast<unsigned>(nmsgs_ - done), 0);
    ++c_[kUdpSends];
    if (r > 0) {
      done += static_cast<size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    OutMsg& m = msgs_[done];
    c_[kTxPackets] -= static_cast<uint64_t>(m.count);
    c_[kTxBytes] -= m.len;
    if (m.count > 1 && (errno == EIO || errno == EINVAL)) {
      // The egress path cannot segment for us (no checksum offload): send datagrams one by one from now on.
      s_->gso = false;
      SendSingles(m);
    } else {
      c_[kDropSendError] += static_cast<uint64_t>(m.count);
    }
    ++done;
  }
  nmsgs_ = 0;
  used_ = 0;
}

void Tx::SendSingles(const OutMsg& m) {
  for (size_t off = 0; off < m.len; off += m.seg) {
    size_t len = m.len - off < m.seg ? m.len - off : m.seg;
    ++c_[kUdpSends];
    if (sendto(udp_, arena_.get() + m.off + off, len, 0, reinterpret_cast<const sockaddr*>(&m.dst), sizeof m.dst) < 0) {
      ++c_[kDropSendError];
      continue;
    }
    ++c_[kTxPackets];
    c_[kTxBytes] += len;
  }
}

}  // namespace

void RunTx(Shared* shared, int tun_fd, int udp_fd) {
  auto tx = std::make_unique<Tx>(shared, tun_fd, udp_fd);
  tx->Run();
}

}  // namespace flannel::udp
