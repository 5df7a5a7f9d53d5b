#include "ip.h"

#include <utility>
#include <vector>

#include "text.h"

namespace cni {

bool allDigits(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::optional<uint32_t> parseIP4(const std::string& text) {
  std::vector<std::string> parts = split(text, '.');
  if (parts.size() != 4) return std::nullopt;
  uint32_t ip = 0;
  for (const std::string& p : parts) {
    if (!allDigits(p, 3) || (p.size() > 1 && p[0] == '0')) return std::nullopt;
    int octet = std::stoi(p);
    if (octet > 255) return std::nullopt;
    ip = ip << 8 | static_cast<uint32_t>(octet);
  }
  return ip;
}

std::string formatIP4(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." + std::to_string((ip >> 8) & 255) + "." +
         std::to_string(ip & 255);
}

namespace {

bool hexGroup(const std::string& p, uint16_t& out) {
  if (p.empty() || p.size() > 4) return false;
  unsigned v = 0;
  for (char c : p) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return false;
    v = v << 4 | static_cast<unsigned>(d);
  }
  out = static_cast<uint16_t>(v);
  return true;
}

/** The groups of one side of "::"; an IPv4 tail counts as two. */
bool groups(const std::string& s, std::vector<uint16_t>& out) {
  if (s.empty()) return true;
  std::vector<std::string> parts = split(s, ':');
  for (size_t i = 0; i < parts.size(); i++) {
    const std::string& p = parts[i];
    uint16_t g;
    if (i == parts.size() - 1 && p.find('.') != std::string::npos) {
      std::optional<uint32_t> v4 = parseIP4(p);
      if (!v4) return false;
      out.push_back(static_cast<uint16_t>(*v4 >> 16));
      out.push_back(static_cast<uint16_t>(*v4 & 0xffff));
    } else if (hexGroup(p, g)) {
      out.push_back(g);
    } else {
      return false;
    }
  }
  return true;
}

IP6 mask6(IP6 ip, unsigned len) {
  for (unsigned g = 0; g < 8; g++) {
    unsigned keep = len >= (g + 1) * 16 ? 16 : len <= g * 16 ? 0 : len - g * 16;
    ip[g] = keep == 0 ? 0 : static_cast<uint16_t>(ip[g] & (0xffffu << (16 - keep)));
  }
  return ip;
}

}  // namespace

std::optional<IP6> parseIP6(const std::string& text) {
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
    if (!ok) return std::nullopt;
  }
  std::vector<std::string> halves;
  size_t start = 0;
  for (;;) {
    size_t p = text.find("::", start);
    if (p == std::string::npos) break;
    halves.push_back(text.substr(start, p - start));
    start = p + 2;
  }
  halves.push_back(text.substr(start));
  if (halves.size() > 2) return std::nullopt;
  std::vector<uint16_t> head, tail;
  if (!groups(halves[0], head)) return std::nullopt;
  if (halves.size() == 2 && !groups(halves[1], tail)) return std::nullopt;
  long fill = 8 - static_cast<long>(head.size()) - static_cast<long>(tail.size());
  if (halves.size() == 2 ? fill < 1 : fill != 0) return std::nullopt;
  IP6 ip{};
  size_t k = 0;
  for (uint16_t g : head) ip[k++] = g;
  k += static_cast<size_t>(fill);
  for (uint16_t g : tail) ip[k++] = g;
  return ip;
}

std::string formatIP6(const IP6& g) {
  int bestStart = -1, bestLen = 1;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      i++;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) j++;
    if (j - i > bestLen) bestStart = i, bestLen = j - i;
    i = j;
  }
  auto hex = [&](int from, int to) {
    std::string out;
    static const char digits[] = "0123456789abcdef";
    for (int i = from; i < to; i++) {
      if (i > from) out.push_back(':');
      std::string h;
      unsigned v = g[i];
      do {
        h.insert(h.begin(), digits[v & 0xF]);
        v >>= 4;
      } while (v);
      out += h;
    }
    return out;
  };
  if (bestStart < 0) return hex(0, 8);
  return hex(0, bestStart) + "::" + hex(bestStart + bestLen, 8);
}

namespace {

// "ADDR/LEN" split at the slash, LEN at most `maxLen` (and as many digits); nullopt when malformed.
std::optional<std::pair<std::string, unsigned>> splitCIDR(const std::string& text, unsigned maxLen) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string len = text.substr(slash + 1);
  if (!allDigits(len, std::to_string(maxLen).size())) return std::nullopt;
  unsigned n = static_cast<unsigned>(std::stoi(len));
  if (n > maxLen) return std::nullopt;
  return std::make_pair(text.substr(0, slash), n);
}

}  // namespace

std::optional<std::string> parseIP4Net(const std::string& text) {
  auto cidr = splitCIDR(text, 32);
  if (!cidr) return std::nullopt;
  std::optional<uint32_t> ip = parseIP4(cidr->first);
  if (!ip) return std::nullopt;
  unsigned n = cidr->second;
  uint32_t mask = n == 0 ? 0 : 0xffffffffu << (32 - n);
  return formatIP4(*ip & mask) + "/" + std::to_string(n);
}

std::optional<std::string> parseIP6Net(const std::string& text) {
  auto cidr = splitCIDR(text, 128);
  if (!cidr) return std::nullopt;
  std::optional<IP6> ip = parseIP6(cidr->first);
  if (!ip) return std::nullopt;
  return formatIP6(mask6(*ip, cidr->second)) + "/" + std::to_string(cidr->second);
}

std::optional<std::string> canonicalIP(const std::string& text) {
  if (text.find(':') != std::string::npos) {
    std::optional<IP6> ip = parseIP6(text);
    if (!ip) return std::nullopt;
    return formatIP6(*ip);
  }
  std::optional<uint32_t> ip = parseIP4(text);
  if (!ip) return std::nullopt;
  return formatIP4(*ip);
}

std::optional<std::string> canonicalCIDR(const std::string& text) {
  size_t slash = text.find('/');
  std::optional<std::string> ip = canonicalIP(slash == std::string::npos ? text : text.substr(0, slash));
  if (!ip || slash == std::string::npos) return std::nullopt;
  std::string len = text.substr(slash + 1);
  unsigned max = ip->find(':') != std::string::npos ? 128 : 32;
  if (!allDigits(len, 3) || static_cast<unsigned>(std::stoi(len)) > max) return std::nullopt;
  return *ip + "/" + std::to_string(std::stoi(len));
}

}  // namespace cni
