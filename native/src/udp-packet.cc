#include "udp-packet.h"

#include <cstring>

namespace flannel::udp {

uint64_t CsumAdd(uint64_t sum, const uint8_t* data, size_t len) {
  // 32-bit big-endian words into a 64-bit accumulator: no carry is lost before the fold.
  while (len >= 4) {
    sum += Load32(data);
    data += 4;
    len -= 4;
  }
  if (len >= 2) {
    sum += Load16(data);
    data += 2;
    len -= 2;
  }
  if (len) sum += static_cast<uint64_t>(data[0]) << 8;
  return sum;
}

uint16_t CsumFold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

uint64_t PseudoHeaderSum(const uint8_t* ip_header, uint8_t proto, uint32_t l4_len) {
  uint64_t sum = CsumAdd(0, ip_header + 12, 8);
  return sum + proto + l4_len;
}

PacketCheck CheckIPv4(const uint8_t* pkt, size_t len) {
  if (len < kIPv4HeaderMin || (pkt[0] >> 4) != 4) return PacketCheck::kMalformed;
  size_t hl = HeaderLen(pkt);
  size_t total = TotalLen(pkt);
  if (hl < kIPv4HeaderMin || total < hl || total > len) return PacketCheck::kMalformed;
  return PacketCheck::kOk;
}

int DecrementTTL(uint8_t* pkt) {
  uint8_t ttl = pkt[8];
  if (ttl <= 1) return 0;
  // The TTL is the high byte of the 16-bit word (TTL, protocol): HC' = ~(~HC + ~m + m').
  uint16_t old_word = Load16(pkt + 8);
  pkt[8] = static_cast<uint8_t>(ttl - 1);
  uint16_t new_word = Load16(pkt + 8);
  uint64_t sum = static_cast<uint16_t>(~Load16(pkt + 10));
  sum += static_cast<uint16_t>(~old_word);
  sum += new_word;
  Store16(pkt + 10, static_cast<uint16_t>(~CsumFold(sum)));
  return ttl - 1;
}

size_t BuildNetUnreachable(const uint8_t* pkt, size_t len, uint32_t local_addr, uint8_t* out) {
  if (CheckIPv4(pkt, len) != PacketCheck::kOk) return 0;
  if (pkt[9] == kProtoICMP || IsNonFirstFragment(pkt)) return 0;
  size_t quoted = HeaderLen(pkt) + 8;
  if (quoted > TotalLen(pkt)) quoted = TotalLen(pkt);
  size_t total = 20 + 8 + quoted;
  std::memset(out, 0, 28);
  out[0] = 0x45;
  Store16(out + 2, static_cast<uint16_t>(total));
  out[8] = 8;  // TTL 8, as the reference's proxy
  out[9] = kProtoICMP;
  Store32(out + 12, local_addr);
  std::memcpy(out + 16, pkt + 12, 4);  // back to the sender
  Store16(out + 10, Checksum(out, 20));
  uint8_t* icmp = out + 20;
  icmp[0] = 3;  // destination unreachable
  icmp[1] = 0;  // net unreachable
  std::memcpy(icmp + 8, pkt, quoted);
  Store16(icmp + 2, Checksum(icmp, 8 + quoted));
  return total;
}

}  // namespace flannel::udp
