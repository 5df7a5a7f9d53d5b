// NlMonitor: a NETLINK_ROUTE socket bound to multicast groups, read by its own thread, which hands
// each datagram to JavaScript through a thread-safe function. It never keeps the event loop alive.
#include <linux/netlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>
#include <vector>

#include "errors.h"
#include "nl-socket.h"

namespace flannel {

namespace {

struct Datagram {
  std::vector<uint8_t> bytes;
  int err = 0;
};

void Deliver(Napi::Env env, Napi::Function cb, Datagram* d) {
  if (env != nullptr && cb != nullptr) {
    if (d->err != 0) {
      cb.Call({ErrnoError(env, d->err, "recvmsg", "netlink monitor").Value(), env.Null()});
    } else {
      cb.Call({env.Null(), Napi::Buffer<uint8_t>::Copy(env, d->bytes.data(), d->bytes.size())});
    }
  }
  delete d;
}

class NlMonitor : public Napi::ObjectWrap<NlMonitor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NlMonitor", {InstanceMethod("close", &NlMonitor::CloseJs)});
  }

  // new NlMonitor(netnsPath: string, groups: number, cb: (err, buf) => void)
  explicit NlMonitor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NlMonitor>(info) {
    Napi::Env env = info.Env();
    std::string netns = info[0].As<Napi::String>().Utf8Value();
    uint32_t groups = info[1].As<Napi::Number>().Uint32Value();
    int err = 0;
    const char* syscall = "";
    fd_ = OpenRouteSocket(netns, groups, &err, &syscall);
    if (fd_ < 0) throw ErrnoError(env, err, syscall, "opening a netlink monitor socket");
    stop_ = eventfd(0, EFD_CLOEXEC);
    if (stop_ < 0) {
      int e = errno;
      close(fd_);
      throw ErrnoError(env, e, "eventfd", "netlink monitor");
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "flannel-nl-monitor", 0, 1);
    tsfn_.Unref(env);
    thread_ = std::thread([this] { Loop(); });
  }
  ~NlMonitor() override { Stop(); }

 private:
  // Drains every datagram that is ready into one buffer (each padded to 4 bytes, so the messages
  // stay aligned) and hands that to JavaScript in one call: a burst of thousands of notifications,
  // such as the echo of our own batched writes, costs a few calls instead of one each.
  void Loop() {
    std::vector<uint8_t> buf(256 * 1024);
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_, POLLIN, 0}};
    for (;;) {
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) return;
      auto* d = new Datagram();
      while (d->bytes.size() < kMaxBatch) {
        ssize_t n = recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno != EAGAIN) d->err = errno;  // ENOBUFS: events were lost; the reader must resynchronise.
          break;
        }
        d->bytes.insert(d->bytes.end(), buf.begin(), buf.begin() + n);
        d->bytes.resize((d->bytes.size() + 3) & ~static_cast<size_t>(3), 0);
      }
      if (d->err == 0 && d->bytes.empty()) {
        delete d;
        continue;
      }
      if (d->err != 0 && !d->bytes.empty()) {
        // Deliver what arrived before the loss, then the loss itself.
        auto* loss = new Datagram();
        loss->err = d->err;
        d->err = 0;
        if (tsfn_.NonBlockingCall(d, Deliver) != napi_ok) delete d;
        d = loss;
      }
      if (tsfn_.NonBlockingCall(d, Deliver) != napi_ok) delete d;
    }
  }
  static constexpr size_t kMaxBatch = 1 << 20;

  void Stop() {
    if (stop_ < 0) return;
    uint64_t one = 1;
    if (write(stop_, &one, sizeof one) < 0) { /* the thread still wakes on close below */ }
    if (thread_.joinable()) thread_.join();
    tsfn_.Release();
    close(stop_);
    close(fd_);
    stop_ = fd_ = -1;
  }
  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    Stop();
    return info.Env().Undefined();
  }

  int fd_ = -1;
  int stop_ = -1;
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
};

}  // namespace

Napi::Object InitNlMonitor(Napi::Env env, Napi::Object exports) {
  exports.Set("NlMonitor", NlMonitor::Define(env));
  return exports;
}

}  // namespace flannel
