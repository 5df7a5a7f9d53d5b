// The flannel-ts native addon: raw rtnetlink sockets (requests encoded in TypeScript) inside a chosen
// network namespace, a multicast monitor, and /proc/sys writes inside a namespace. Nothing here logs;
// failures come back as errors carrying errno, code and syscall.
#include <fcntl.h>
#include <napi.h>
#include <unistd.h>

#include <cerrno>

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

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitNlSocket(env, exports);
  InitNlMonitor(env, exports);
  InitUdp(env, exports);
  exports.Set("writeSysctl", Napi::Function::New(env, WriteSysctl));
  return exports;
}

}  // namespace flannel

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return flannel::Init(env, exports); }

NODE_API_MODULE(flannel_native, InitAddon)
