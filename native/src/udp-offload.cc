#include "udp-offload.h"

#include <cstring>

#include "udp-packet.h"

namespace flannel::udp {

namespace {

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kUrg = 0x20, kCwr = 0x80;

size_t TcpHeaderLen(const uint8_t* tcp) { return static_cast<size_t>(tcp[12] >> 4) * 4; }

bool IsFragment(const uint8_t* pkt) { return (Load16(pkt + 6) & 0x3fff) != 0; }

void FixIPHeader(uint8_t* ip, size_t ip_len, size_t total, uint16_t id) {
  Store16(ip + 2, static_cast<uint16_t>(total));
  Store16(ip + 4, id);
  Store16(ip + 10, 0);
  Store16(ip + 10, Checksum(ip, ip_len));
}

}  // namespace

bool CompleteChecksum(const virtio_net_hdr& h, uint8_t* pkt, size_t len) {
  size_t start = h.csum_start, field = start + h.csum_offset;
  if (field + 2 > len || start >= len) return false;
  uint16_t v = static_cast<uint16_t>(~CsumFold(CsumAdd(0, pkt + start, len - start)));
  if (v == 0 && pkt[9] == kProtoUDP && h.csum_offset == 6) v = 0xffff;  // 0 means "no checksum" in UDP
  Store16(pkt + field, v);
  return true;
}

size_t SegmentTcp4(const virtio_net_hdr& h, const uint8_t* pkt, size_t len, uint8_t* out, size_t cap, size_t* seg_len) {
  if ((h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_TCPV4 || h.gso_size == 0) return 0;
  if (CheckIPv4(pkt, len) != PacketCheck::kOk || pkt[9] != kProtoTCP || IsFragment(pkt)) return 0;
  const size_t ip_len = HeaderLen(pkt), total = TotalLen(pkt);
  if (ip_len + 20 > total) return 0;
  const uint8_t* tcp = pkt + ip_len;
  const size_t hdr = ip_len + TcpHeaderLen(tcp);
  if (TcpHeaderLen(tcp) < 20 || hdr > total) return 0;
  const size_t mss = h.gso_size, payload = total - hdr;
  const size_t n = payload == 0 ? 1 : (payload + mss - 1) / mss;
  if (n * hdr + payload > cap) return 0;
  const uint16_t id = Load16(pkt + 4);
  const uint32_t seq = Load32(tcp + 4);
  const uint8_t flags = tcp[13];
  uint8_t* o = out;
  for (size_t i = 0; i < n; ++i) {
    const size_t seg = payload - i * mss < mss ? payload - i * mss : mss;
    std::memcpy(o, pkt, hdr);
    std::memcpy(o + hdr, pkt + hdr + i * mss, seg);
    FixIPHeader(o, ip_len, hdr + seg, static_cast<uint16_t>(id + i));
    uint8_t* t = o + ip_len;
    Store32(t + 4, seq + static_cast<uint32_t>(i * mss));
    uint8_t f = flags;
    if (i > 0) f &= static_cast<uint8_t>(~kCwr);
    if (i + 1 < n) f &= static_cast<uint8_t>(~(kFin | kPsh));
    t[13] = f;
    Store16(t + 16, 0);
    const size_t l4 = hdr - ip_len + seg;
    Store16(t + 16, static_cast<uint16_t>(~CsumFold(CsumAdd(PseudoHeaderSum(o, kProtoTCP, static_cast<uint32_t>(l4)), t, l4))));
    o += hdr + seg;
  }
  *seg_len = n == 1 ? hdr + payload : hdr + mss;
  return static_cast<size_t>(o - out);
}

bool Coalescer::CanJoin(const uint8_t* pkt, size_t len) const {
  if (count_ == 0 || closed_ || count_ >= kMaxSegments) return false;
  if (pkt[9] != kProtoTCP || HeaderLen(pkt) != ip_len_ || IsFragment(pkt) || len <= hdr_len_) return false;
  const uint8_t* a = first_;
  // ToS, TTL and DF equal; both addresses equal.
  if (pkt[1] != a[1] || pkt[8] != a[8] || (pkt[6] & 0x40) != (a[6] & 0x40) || std::memcmp(pkt + 12, a + 12, 8) != 0) return false;
  const uint8_t* t = pkt + ip_len_;
  const uint8_t* ta = a + ip_len_;
  if (TcpHeaderLen(t) != hdr_len_ - ip_len_) return false;
  // Ports, ACK number; data offset, flags (PSH aside) and window; options.
  if (std::memcmp(t, ta, 4) != 0 || std::memcmp(t + 8, ta + 8, 4) != 0) return false;
  if (t[12] != ta[12] || (t[13] & ~kPsh) != (ta[13] & ~kPsh) || std::memcmp(t + 14, ta + 14, 2) != 0) return false;
  if (std::memcmp(t + 20, ta + 20, hdr_len_ - ip_len_ - 20) != 0) return false;
  const size_t payload = len - hdr_len_;
  return Load32(t + 4) == next_seq_ && payload <= mss_ && total_ + payload <= kMaxPacket;
}

void Coalescer::Start(uint8_t* pkt, size_t len) {
  first_ = pkt;
  total_ = len;
  count_ = 1;
  ip_len_ = HeaderLen(pkt);
  const uint8_t* t = pkt + ip_len_;
  const bool tcp = pkt[9] == kProtoTCP && !IsFragment(pkt) && ip_len_ == 20 && len >= ip_len_ + 20 && ip_len_ + TcpHeaderLen(t) < len;
  closed_ = !tcp || (t[13] & (kSyn | kFin | kRst | kUrg | kPsh | kCwr)) != 0;
  if (closed_) return;
  hdr_len_ = ip_len_ + TcpHeaderLen(t);
  mss_ = len - hdr_len_;
  next_seq_ = Load32(t + 4) + static_cast<uint32_t>(mss_);
  last_flags_ = t[13];
  payload_[0] = {pkt + hdr_len_, mss_};
}

void Coalescer::Add(uint8_t* pkt, size_t len) {
  if (!CanJoin(pkt, len)) {
    Flush();
    Start(pkt, len);
    return;
  }
  const size_t payload = len - hdr_len_;
  payload_[count_++] = {pkt + hdr_len_, payload};
  total_ += payload;
  next_seq_ += static_cast<uint32_t>(payload);
  last_flags_ = pkt[ip_len_ + 13];
  if (payload < mss_ || (last_flags_ & kPsh)) closed_ = true;
}

void Coalescer::Flush() {
  if (count_ == 0) return;
  virtio_net_hdr h{};
  iovec iov[2 + kMaxSegments];
  iov[0] = {&h, kVnetHdrLen};
  int n = 2;
  if (count_ == 1) {
    iov[1] = {first_, total_};
  } else {
    uint8_t* t = first_ + ip_len_;
    FixIPHeader(first_, ip_len_, total_, Load16(first_ + 4));
    t[13] |= last_flags_ & kPsh;
    const uint32_t l4 = static_cast<uint32_t>(total_ - ip_len_);
    Store16(t + 16, CsumFold(PseudoHeaderSum(first_, kProtoTCP, l4)));  // partial: the kernel finishes it
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    h.hdr_len = static_cast<uint16_t>(hdr_len_);
    h.gso_size = static_cast<uint16_t>(mss_);
    h.csum_start = static_cast<uint16_t>(ip_len_);
    h.csum_offset = 16;
    iov[1] = {first_, hdr_len_};
    for (int i = 0; i < count_; ++i) iov[n++] = payload_[i];
  }
  sink_->Write(iov, n, static_cast<size_t>(count_));
  count_ = 0;
  first_ = nullptr;
}

}  // namespace flannel::udp
