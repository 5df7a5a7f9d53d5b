// Test entry points: the packet loop's pure functions on Buffers, so unit tests check the exact bytes
// the loop would send (TTL step, ICMP answer, TSO segmentation, TCP coalescing) without a TUN.
#include <napi.h>

#include <cstring>
#include <vector>

#include "udp-addon.h"
#include "udp-offload.h"
#include "udp-packet.h"

namespace flannel {

namespace {

using Bytes = Napi::Buffer<uint8_t>;

// udpTestDecrementTTL(packet): the new TTL (0: drop); the packet is changed in place.
Napi::Value DecrementTTL(const Napi::CallbackInfo& info) {
  Bytes b = info[0].As<Bytes>();
  if (b.Length() < udp::kIPv4HeaderMin) return Napi::Number::New(info.Env(), -1);
  return Napi::Number::New(info.Env(), udp::DecrementTTL(b.Data()));
}

// udpTestNetUnreachable(packet, localAddr): the ICMP answer, or null when none is due.
Napi::Value NetUnreachable(const Napi::CallbackInfo& info) {
  Bytes b = info[0].As<Bytes>();
  uint8_t out[udp::kIcmpUnreachableMax];
  size_t n = udp::BuildNetUnreachable(b.Data(), b.Length(), info[1].As<Napi::Number>().Uint32Value(), out);
  if (n == 0) return info.Env().Null();
  return Bytes::Copy(info.Env(), out, n);
}

// udpTestChecksum(bytes): the Internet checksum field value over the bytes.
Napi::Value Checksum(const Napi::CallbackInfo& info) {
  Bytes b = info[0].As<Bytes>();
  return Napi::Number::New(info.Env(), udp::Checksum(b.Data(), b.Length()));
}

// udpTestSegment(superPacket, gsoSize): the wire packets, or null when it cannot be cut.
Napi::Value Segment(const Napi::CallbackInfo& info) {
  Bytes b = info[0].As<Bytes>();
  udp::virtio_net_hdr h{};
  h.gso_type = udp::VIRTIO_NET_HDR_GSO_TCPV4;
  h.gso_size = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
  std::vector<uint8_t> out(2 * udp::kMaxPacket + 64 * 128);
  size_t seg = 0;
  size_t n = udp::SegmentTcp4(h, b.Data(), b.Length(), out.data(), out.size(), &seg);
  if (n == 0) return info.Env().Null();
  Napi::Array a = Napi::Array::New(info.Env());
  uint32_t k = 0;
  for (size_t off = 0; off < n; off += seg) a.Set(k++, Bytes::Copy(info.Env(), out.data() + off, n - off < seg ? n - off : seg));
  return a;
}

class Capture : public udp::Sink {
 public:
  explicit Capture(Napi::Env env) : env_(env), out_(Napi::Array::New(env)) {}
  bool Write(const iovec* iov, int iovcnt, size_t packets) override {
    udp::virtio_net_hdr h{};
    std::memcpy(&h, iov[0].iov_base, sizeof h);
    std::vector<uint8_t> bytes;
    for (int i = 1; i < iovcnt; ++i) {
      const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
      bytes.insert(bytes.end(), p, p + iov[i].iov_len);
    }
    Napi::Object o = Napi::Object::New(env_);
    o.Set("flags", h.flags);
    o.Set("gsoType", h.gso_type);
    o.Set("hdrLen", h.hdr_len);
    o.Set("gsoSize", h.gso_size);
    o.Set("csumStart", h.csum_start);
    o.Set("csumOffset", h.csum_offset);
    o.Set("packets", static_cast<double>(packets));
    o.Set("packet", Bytes::Copy(env_, bytes.data(), bytes.size()));
    out_.Set(out_.Length(), o);
    return true;
  }
  Napi::Array result() const { return out_; }

 private:
  Napi::Env env_;
  Napi::Array out_;
};

// udpTestCoalesce(packets[]): what the udp->tun side writes for these packets, in order.
Napi::Value Coalesce(const Napi::CallbackInfo& info) {
  Napi::Array in = info[0].As<Napi::Array>();
  std::vector<std::vector<uint8_t>> copies;
  for (uint32_t i = 0; i < in.Length(); ++i) {
    Bytes b = in.Get(i).As<Bytes>();
    copies.emplace_back(b.Data(), b.Data() + b.Length());
  }
  Capture sink(info.Env());
  udp::Coalescer c(&sink);
  for (auto& p : copies) c.Add(p.data(), p.size());
  c.Flush();
  return sink.result();
}

}  // namespace

void InitUdpTestFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("udpTestDecrementTTL", Napi::Function::New(env, DecrementTTL));
  exports.Set("udpTestNetUnreachable", Napi::Function::New(env, NetUnreachable));
  exports.Set("udpTestChecksum", Napi::Function::New(env, Checksum));
  exports.Set("udpTestSegment", Napi::Function::New(env, Segment));
  exports.Set("udpTestCoalesce", Napi::Function::New(env, Coalesce));
}

}  // namespace flannel
