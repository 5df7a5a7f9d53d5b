// The flannel-ts native addon: raw rtnetlink sockets (requests encoded in TypeScript) inside a chosen
// network namespace, a multicast monitor, and /proc/sys writes inside a namespace. Nothing here logs;
// failures come back as errors carrying errno, code and syscall.
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <napi.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "errors.h"
#include "netns.h"
#include "nl-socket.h"
#include "udp-addon.h"

namespace flannel {

namespace {

// writeSysctl(netnsPath: string, key: string, value: string): void. `key` is relative to /proc/sys
// (e.g. "net/ipv6/conf/flannel-v6.1/accept_ra"); validated by the caller.
Napi::Value WriteSysctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns = info[0].As<Napi::String>().Utf8Value();
  std::string path = "/proc/sys/" + info[1].As<Napi::String>().Utf8Value();
  std::string value = info[2].As<Napi::String>().Utf8Value();
  int fd;
  {
    NetnsGuard guard(netns);
    if (guard.err() != 0) throw ErrnoError(env, guard.err(), guard.syscall(), netns);
    fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  }
  if (fd < 0) throw ErrnoError(env, errno, "open", path);
  ssize_t n = write(fd, value.data(), value.size());
  int err = errno;
  close(fd);
  if (n < 0) throw ErrnoError(env, err, "write", path);
  return env.Undefined();
}

// txChecksum(netnsPath: string, ifname: string, set: -1 | 0 | 1): boolean. Reads (and with 0/1 first
// sets) the device's transmit checksum offload with the legacy SIOCETHTOOL ETHTOOL_GTXCSUM/STXCSUM
// ioctls, as `ethtool -K <dev> tx off|on` and Calico do; answers the state read back afterwards.
Napi::Value TxChecksum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns = info[0].As<Napi::String>().Utf8Value();
  std::string ifname = info[1].As<Napi::String>().Utf8Value();
  int set = info[2].As<Napi::Number>().Int32Value();
  int fd;
  {
    NetnsGuard guard(netns);
    if (guard.err() != 0) throw ErrnoError(env, guard.err(), guard.syscall(), netns);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  }
  if (fd < 0) throw ErrnoError(env, errno, "socket", ifname);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  ethtool_value ev{};
  ifr.ifr_data = reinterpret_cast<char*>(&ev);
  auto call = [&](uint32_t cmd, uint32_t data) {
    ev.cmd = cmd;
    ev.data = data;
    return ioctl(fd, SIOCETHTOOL, &ifr);
  };
  if (call(ETHTOOL_GTXCSUM, 0) < 0 || (set >= 0 && (ev.data != 0) != (set != 0) && (call(ETHTOOL_STXCSUM, set) < 0 || call(ETHTOOL_GTXCSUM, 0) < 0))) {
    int err = errno;
    close(fd);
    throw ErrnoError(env, err, "ioctl", ifname);
  }
  close(fd);
  return Napi::Boolean::New(env, ev.data != 0);
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitNlSocket(env, exports);
  InitNlMonitor(env, exports);
  InitIcmp(env, exports);
  InitUdp(env, exports);
  exports.Set("writeSysctl", Napi::Function::New(env, WriteSysctl));
  exports.Set("txChecksum", Napi::Function::New(env, TxChecksum));
  return exports;
}

}  // namespace flannel

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return flannel::Init(env, exports); }

NODE_API_MODULE(flannel_native, InitAddon)
