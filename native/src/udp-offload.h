// TUN offloads for the udp backend's packet loop (IFF_VNET_HDR). Each packet crossing the TUN carries
// a virtio_net_hdr. With TUN_F_TSO4 the kernel hands us TCP super-packets of up to 64 KiB in one read;
// Segmenter cuts them into the MTU-sized IPv4 packets the wire carries (a reference peer must see
// exactly what its own TUN would have given it). The other way, Coalescer joins consecutive segments
// of one TCP flow back into one super-packet per TUN write, so the kernel sees one skb instead of
// forty. Nothing here makes system calls except through the Sink it is given.
#pragma once
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

namespace flannel::udp {

// struct virtio_net_hdr of <linux/virtio_net.h> (which C++ cannot include: it has a member called
// `class`), in the host's byte order as the TUN uses it without TUNSETVNETBE/LE.
struct virtio_net_hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
constexpr uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
constexpr uint8_t VIRTIO_NET_HDR_GSO_NONE = 0;
constexpr uint8_t VIRTIO_NET_HDR_GSO_TCPV4 = 1;
constexpr uint8_t VIRTIO_NET_HDR_GSO_ECN = 0x80;
constexpr size_t kVnetHdrLen = sizeof(virtio_net_hdr);
static_assert(kVnetHdrLen == 10, "virtio_net_hdr is 10 bytes");
constexpr size_t kMaxPacket = 65535;

// Completes a checksum the kernel left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM): the field at
// csum_start + csum_offset holds the pseudo-header sum. Returns false when the offsets do not fit.
bool CompleteChecksum(const virtio_net_hdr& h, uint8_t* pkt, size_t len);

// Writes the TCP/IPv4 segments of `pkt` (a TSO super-packet, gso_size = MSS) one after the other into
// `out`: every segment is header + MSS bytes except the last, with its own total length, IP ID,
// sequence number, flags and both checksums. Returns the bytes written and sets *seg_len to the
// size of a full segment; 0 when the packet is not a TCP/IPv4 packet we can cut or `cap` is short.
size_t SegmentTcp4(const virtio_net_hdr& h, const uint8_t* pkt, size_t len, uint8_t* out, size_t cap, size_t* seg_len);

// Where the coalescer's output goes: one call per TUN write (iov[0] is the virtio_net_hdr).
class Sink {
 public:
  virtual ~Sink() = default;
  // Returns false when the write failed; `packets` is how many wire packets it carries.
  virtual bool Write(const iovec* iov, int iovcnt, size_t packets) = 0;
};

// Joins consecutive TCP/IPv4 segments of one flow (same addresses, ports, ACK, window and options,
// contiguous sequence numbers, equal payload sizes with a shorter one only last, no SYN/FIN/RST/URG)
// into one GSO packet. Anything else passes through alone. The packets must stay valid until Flush.
class Coalescer {
 public:
  static constexpr int kMaxSegments = 64;
  explicit Coalescer(Sink* sink) : sink_(sink) {}
  // `pkt` is a checked IPv4 packet trimmed to its total length.
  void Add(uint8_t* pkt, size_t len);
  // Writes the group in progress, if any.
  void Flush();

 private:
  bool CanJoin(const uint8_t* pkt, size_t len) const;
  void Start(uint8_t* pkt, size_t len);

  Sink* sink_;
  uint8_t* first_ = nullptr;
  size_t hdr_len_ = 0;   // IP + TCP header of the group
  size_t ip_len_ = 0;    // IP header
  size_t mss_ = 0;       // payload size of every segment but the last
  size_t total_ = 0;     // header + all payloads
  uint32_t next_seq_ = 0;
  bool closed_ = false;  // a short segment or PSH ended the group
  uint8_t last_flags_ = 0;
  int count_ = 0;
  iovec payload_[kMaxSegments];
};

}  // namespace flannel::udp
