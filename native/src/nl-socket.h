// NlSocket: one netlink socket (NETLINK_ROUTE, or NETLINK_GENERIC when asked), created inside a given
// network namespace, that sends buffers of ready-made netlink requests and hands back the kernel's
// answers. The requests are encoded in TypeScript (native/netlink/); this class only moves bytes, off
// the JavaScript thread.
#pragma once
#include <napi.h>

namespace flannel {

Napi::Object InitNlSocket(Napi::Env env, Napi::Object exports);
Napi::Object InitNlMonitor(Napi::Env env, Napi::Object exports);
// icmp.cc: the raw ICMP socket of the peer probes.
Napi::Object InitIcmp(Napi::Env env, Napi::Object exports);

// Opens a netlink socket of `protocol` (NETLINK_ROUTE unless given; NETLINK_GENERIC for WireGuard)
// inside `netns` (empty: the calling thread's namespace) bound to the multicast `groups`. Returns the
// fd, or -1 with `err`/`syscall` set.
int OpenRouteSocket(const std::string& netns, uint32_t groups, int* err, const char** syscall,
                    int protocol = 0 /* NETLINK_ROUTE */);

}  // namespace flannel
