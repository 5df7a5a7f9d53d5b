// NlMonitor: a NETLINK_ROUTE socket bound to multicast groups, read by its own thread, which hands
// each datagram to JavaScript through a thread-safe function. It never keeps the event loop alive.
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "errors.h"
#include "nl-socket.h"
#include "reader-thread.h"

namespace flannel {

namespace {

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
    try {
      reader_.Start(env, info[2].As<Napi::Function>(), "flannel-nl-monitor", [this] { Loop(); });
    } catch (...) {
      close(fd_);
      fd_ = -1;
      throw;
    }
  }
  ~NlMonitor() override { Stop(); }

 private:
  // Drains every datagram that is ready into one buffer (each padded to 4 bytes, so the messages
  // stay aligned) and hands that to JavaScript in one call: a burst of thousands of notifications,
  // such as the echo of our own batched writes, costs a few calls instead of one each.
  void Loop() {
    std::vector<uint8_t> buf(256 * 1024);
    while (reader_.WaitReadable(fd_)) {
      auto* d = NewBatch();
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
      if (d->err != 0 && !d->bytes.empty()) {
        // Deliver what arrived before the loss, then the loss itself.
        auto* loss = NewBatch();
        loss->err = d->err;
        d->err = 0;
        reader_.Deliver(d);
        d = loss;
      }
      reader_.Deliver(d);
    }
  }
  static constexpr size_t kMaxBatch = 1 << 20;

  static ReadBatch* NewBatch() {
    auto* b = new ReadBatch();
    b->syscall = "recvmsg";
    b->context = "netlink monitor";
    return b;
  }

  void Stop() {
    reader_.Stop();
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    Stop();
    return info.Env().Undefined();
  }

  int fd_ = -1;
  ReaderThread reader_;
};

}  // namespace

Napi::Object InitNlMonitor(Napi::Env env, Napi::Object exports) {
  exports.Set("NlMonitor", NlMonitor::Define(env));
  return exports;
}

}  // namespace flannel
