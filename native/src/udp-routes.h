// The udp backend's route table: remote subnet -> peer (public IP, port), and the set of peers whose
// datagrams are accepted. Leases of one network all have the same prefix length, so the table keeps
// one hash map per prefix length in use and a lookup costs one probe per length (one, in practice):
// O(1), where the reference scans a list. Not thread-safe by itself: the loop guards it.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace flannel::udp {

struct NextHop {
  uint32_t ip = 0;  // host order
  uint16_t port = 0;
};

class RouteTable {
 public:
  // Adds or replaces the route for net/len (net is masked here). Returns true when it was new.
  bool Set(uint32_t net, int len, NextHop hop);
  // Removes the route for net/len; false when there was none.
  bool Delete(uint32_t net, int len);
  // The longest matching route for `dst` (host order), or nullptr.
  const NextHop* Lookup(uint32_t dst) const;
  // Whether `ip` (host order) is the next hop of some route: the peers we accept datagrams from.
  bool IsPeer(uint32_t ip) const { return peers_.count(ip) != 0; }
  size_t size() const { return size_; }

 private:
  static uint32_t Mask(int len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
  void Unref(uint32_t peer);

  std::array<std::unordered_map<uint32_t, NextHop>, 33> by_len_;
  // Prefix lengths in use, longest first; a lookup probes only these.
  std::array<int, 33> lens_{};
  int nlens_ = 0;
  std::unordered_map<uint32_t, uint32_t> peers_;  // peer IP -> number of routes through it
  size_t size_ = 0;
};

}  // namespace flannel::udp
