// IPv4 and IPv6 addresses and networks, parsed and formatted as common/ip.ts does it for the daemon
// (Go's net package: no leading zeros in IPv4 octets, RFC 5952 IPv6 text).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace cni {

using IP6 = std::array<uint16_t, 8>;

std::optional<uint32_t> parseIP4(const std::string& text);
std::string formatIP4(uint32_t ip);
std::optional<IP6> parseIP6(const std::string& text);
std::string formatIP6(const IP6& ip);

/** "a.b.c.d/len" masked to its network, as text ("10.244.1.1/24" gives "10.244.1.0/24"). */
std::optional<std::string> parseIP4Net(const std::string& text);
std::optional<std::string> parseIP6Net(const std::string& text);

/** Go's net.IP String() of an address of either family. */
std::optional<std::string> canonicalIP(const std::string& text);
/** "a/len" with the address canonical and its host bits kept. */
std::optional<std::string> canonicalCIDR(const std::string& text);

/** Whether `s` is 1..max ASCII digits. */
bool allDigits(const std::string& s, size_t max);

}  // namespace cni
