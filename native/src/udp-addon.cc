// The udp packet loop as seen from JavaScript: `UdpLoop` (commands: setRoute, deleteRoute,
// setLocalAddr, stop; readings: counters, cpuSeconds, features) and small test entry points for the
// packet functions. Addresses are uint32 numbers in host order; arguments are validated in
// TypeScript (native/udp.ts) before they get here. Commands take a lock shared with the workers for
// the length of a table update; nothing here waits on I/O.
#include <napi.h>

#include <memory>

#include "errors.h"
#include "udp-addon.h"
#include "udp-loop.h"

namespace flannel {

namespace {

using udp::Loop;

uint32_t U32(const Napi::Value& v) { return v.As<Napi::Number>().Uint32Value(); }
int I32(const Napi::Value& v) { return v.As<Napi::Number>().Int32Value(); }

class UdpLoopWrap : public Napi::ObjectWrap<UdpLoopWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UdpLoop",
                       {InstanceMethod("name", &UdpLoopWrap::Name), InstanceMethod("features", &UdpLoopWrap::Features),
                        InstanceMethod("setRoute", &UdpLoopWrap::SetRoute), InstanceMethod("deleteRoute", &UdpLoopWrap::DeleteRoute),
                        InstanceMethod("setLocalAddr", &UdpLoopWrap::SetLocalAddr), InstanceMethod("counters", &UdpLoopWrap::Counters),
                        InstanceMethod("cpuSeconds", &UdpLoopWrap::CpuSeconds), InstanceMethod("stop", &UdpLoopWrap::Stop)});
  }

  // new UdpLoop(netns, tunName, bindAddr, port, localAddr, queues, offload, socketBuffer)
  explicit UdpLoopWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpLoopWrap>(info) {
    udp::LoopConfig cfg;
    cfg.netns = info[0].As<Napi::String>().Utf8Value();
    cfg.tun_name = info[1].As<Napi::String>().Utf8Value();
    cfg.bind_addr = U32(info[2]);
    cfg.port = static_cast<uint16_t>(U32(info[3]));
    cfg.local_addr = U32(info[4]);
    cfg.queues = I32(info[5]);
    cfg.offload = info[6].As<Napi::Boolean>().Value();
    cfg.socket_buffer = I32(info[7]);
    udp::SetupError err;
    loop_ = Loop::Open(cfg, &err);
    if (!loop_) throw ErrnoError(info.Env(), err.err, err.syscall, err.context);
  }

 private:
  Loop& L(const Napi::CallbackInfo& info) {
    if (!loop_ || loop_->stopped()) throw ErrnoError(info.Env(), EBADF, "udp loop", "the loop is stopped");
    return *loop_;
  }
  Napi::Value Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), loop_->name()); }
  Napi::Value Features(const Napi::CallbackInfo& info) {
    const auto& f = loop_->features();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("vnetHdr", f.vnet_hdr);
    o.Set("tso", f.tso);
    o.Set("gso", f.gso);
    o.Set("gro", f.gro);
    o.Set("queues", f.queues);
    return o;
  }
  // setRoute(net, len, nextHop, port): true when the route is new.
  Napi::Value SetRoute(const Napi::CallbackInfo& info) {
    udp::NextHop hop{U32(info[2]), static_cast<uint16_t>(U32(info[3]))};
    return Napi::Boolean::New(info.Env(), L(info).SetRoute(U32(info[0]), I32(info[1]), hop));
  }
  Napi::Value DeleteRoute(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), L(info).DeleteRoute(U32(info[0]), I32(info[1])));
  }
  Napi::Value SetLocalAddr(const Napi::CallbackInfo& info) {
    L(info).SetLocalAddr(U32(info[0]));
    return info.Env().Undefined();
  }
  // counters(): numbers in the order of udp::Counter.
  Napi::Value Counters(const Napi::CallbackInfo& info) {
    uint64_t v[udp::kCounterCount];
    loop_->ReadCounters(v);
    Napi::Array a = Napi::Array::New(info.Env(), udp::kCounterCount);
    for (uint32_t i = 0; i < udp::kCounterCount; ++i) a.Set(i, Napi::Number::New(info.Env(), static_cast<double>(v[i])));
    return a;
  }
  Napi::Value CpuSeconds(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), loop_->CpuSeconds()); }
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    loop_->Stop();
    return info.Env().Undefined();
  }

  std::unique_ptr<Loop> loop_;
};

// A bare route table, for unit tests of set/delete/lookup.
class RouteTableWrap : public Napi::ObjectWrap<RouteTableWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UdpRouteTable",
                       {InstanceMethod("set", &RouteTableWrap::Set), InstanceMethod("delete", &RouteTableWrap::Delete),
                        InstanceMethod("lookup", &RouteTableWrap::Lookup), InstanceMethod("isPeer", &RouteTableWrap::IsPeer),
                        InstanceMethod("size", &RouteTableWrap::Size)});
  }
  explicit RouteTableWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RouteTableWrap>(info) {}

 private:
  Napi::Value Set(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), t_.Set(U32(info[0]), I32(info[1]), {U32(info[2]), static_cast<uint16_t>(U32(info[3]))}));
  }
  Napi::Value Delete(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), t_.Delete(U32(info[0]), I32(info[1]))); }
  // lookup(dst): [nextHop, port] or null.
  Napi::Value Lookup(const Napi::CallbackInfo& info) {
    const udp::NextHop* h = t_.Lookup(U32(info[0]));
    if (!h) return info.Env().Null();
    Napi::Array a = Napi::Array::New(info.Env(), 2);
    a.Set(0u, Napi::Number::New(info.Env(), h->ip));
    a.Set(1u, Napi::Number::New(info.Env(), h->port));
    return a;
  }
  Napi::Value IsPeer(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), t_.IsPeer(U32(info[0]))); }
  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(t_.size())); }

  udp::RouteTable t_;
};

}  // namespace

Napi::Object InitUdp(Napi::Env env, Napi::Object exports) {
  exports.Set("UdpLoop", UdpLoopWrap::Define(env));
  exports.Set("UdpRouteTable", RouteTableWrap::Define(env));
  InitUdpTestFunctions(env, exports);
  return exports;
}

}  // namespace flannel
