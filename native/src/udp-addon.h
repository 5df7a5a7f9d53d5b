// Registration of the udp backend's part of the addon (udp-addon.cc, udp-addon-test.cc).
#pragma once
#include <napi.h>

namespace flannel {

// UdpLoop and UdpRouteTable.
Napi::Object InitUdp(Napi::Env env, Napi::Object exports);
// udpTest*: the packet functions on buffers, for unit tests.
void InitUdpTestFunctions(Napi::Env env, Napi::Object exports);

}  // namespace flannel
