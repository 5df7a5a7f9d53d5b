#include "udp-routes.h"

namespace flannel::udp {

bool RouteTable::Set(uint32_t net, int len, NextHop hop) {
  net &= Mask(len);
  auto& map = by_len_[len];
  auto it = map.find(net);
  if (it != map.end()) {
    if (it->second.ip != hop.ip) {
      Unref(it->second.ip);
      ++peers_[hop.ip];
    }
    it->second = hop;
    return false;
  }
  if (map.empty()) {
    int i = nlens_++;
    while (i > 0 && lens_[i - 1] < len) {
      lens_[i] = lens_[i - 1];
      --i;
    }
    lens_[i] = len;
  }
  map.emplace(net, hop);
  ++peers_[hop.ip];
  ++size_;
  return true;
}

bool RouteTable::Delete(uint32_t net, int len) {
  net &= Mask(len);
  auto& map = by_len_[len];
  auto it = map.find(net);
  if (it == map.end()) return false;
  Unref(it->second.ip);
  map.erase(it);
  --size_;
  if (map.empty()) {
    int k = 0;
    for (int i = 0; i < nlens_; ++i) {
      if (lens_[i] != len) lens_[k++] = lens_[i];
    }
    nlens_ = k;
  }
  return true;
}

const NextHop* RouteTable::Lookup(uint32_t dst) const {
  for (int i = 0; i < nlens_; ++i) {
    int len = lens_[i];
    const auto& map = by_len_[len];
    auto it = map.find(dst & Mask(len));
    if (it != map.end()) return &it->second;
  }
  return nullptr;
}

void RouteTable::Unref(uint32_t peer) {
  auto it = peers_.find(peer);
  if (it != peers_.end() && --it->second == 0) peers_.erase(it);
}

}  // namespace flannel::udp
