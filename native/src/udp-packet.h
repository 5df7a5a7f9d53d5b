// Pure IPv4 packet work for the udp backend's packet loop: Internet checksums, the TTL step with an
// incremental checksum patch (RFC 1624), the ICMP "net unreachable" answer the reference sends back
// into the TUN, and the header checks both directions need. No system calls, no state: unit-tested
// through the addon's test entry points.
#pragma once
#include <cstddef>
#include <cstdint>

namespace flannel::udp {

constexpr size_t kIPv4HeaderMin = 20;
constexpr uint8_t kProtoICMP = 1;
constexpr uint8_t kProtoTCP = 6;
constexpr uint8_t kProtoUDP = 17;

inline uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t Load32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 | p[3];
}
inline void Store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void Store32(uint8_t* p, uint32_t v) {
  Store16(p, static_cast<uint16_t>(v >> 16));
  Store16(p + 2, static_cast<uint16_t>(v));
}

// One's-complement sum of `len` bytes (big-endian 16-bit words, an odd last byte padded with zero),
// added to `sum`; not folded. Chain calls, then Fold.
uint64_t CsumAdd(uint64_t sum, const uint8_t* data, size_t len);
// Folds a running sum to 16 bits (not complemented).
uint16_t CsumFold(uint64_t sum);
// The checksum field value for `len` bytes: ~fold(sum).
inline uint16_t Checksum(const uint8_t* data, size_t len) { return static_cast<uint16_t>(~CsumFold(CsumAdd(0, data, len))); }
// Sum of the IPv4 pseudo header (addresses in network order as on the wire, protocol, L4 length).
uint64_t PseudoHeaderSum(const uint8_t* ip_header, uint8_t proto, uint32_t l4_len);

enum class PacketCheck { kOk, kMalformed };
// A packet the loop may forward: IPv4, header length >= 20 and within the buffer, total length
// within the buffer and covering the header. `len` may exceed the total length (it is trimmed).
PacketCheck CheckIPv4(const uint8_t* pkt, size_t len);
inline size_t HeaderLen(const uint8_t* pkt) { return static_cast<size_t>(pkt[0] & 0x0f) * 4; }
inline size_t TotalLen(const uint8_t* pkt) { return Load16(pkt + 2); }
inline uint32_t SrcAddr(const uint8_t* pkt) { return Load32(pkt + 12); }
inline uint32_t DstAddr(const uint8_t* pkt) { return Load32(pkt + 16); }
// Fragment offset != 0: a later fragment (no transport header of its own).
inline bool IsNonFirstFragment(const uint8_t* pkt) { return (Load16(pkt + 6) & 0x1fff) != 0; }

// Decrements the TTL and patches the header checksum incrementally (RFC 1624, eqn. 3). Returns the
// new TTL; 0 means the packet must be dropped (its TTL was 0 or 1), and then it is left unchanged.
int DecrementTTL(uint8_t* pkt);

// Size of the ICMP answer: IP header (20) + ICMP header (8) + the offending header + 8 bytes.
constexpr size_t kIcmpUnreachableMax = 20 + 8 + 60 + 8;
// Builds the reference's "net unreachable" (type 3 code 0, TTL 8, source `local_addr` (host
// order), destination the offending packet's source) into `out` (kIcmpUnreachableMax bytes).
// Returns its length, or 0 when none is due: ICMP packets and non-first fragments get none.
size_t BuildNetUnreachable(const uint8_t* pkt, size_t len, uint32_t local_addr, uint8_t* out);

}  // namespace flannel::udp
