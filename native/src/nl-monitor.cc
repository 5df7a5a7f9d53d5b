// NlMonitor: a NETLINK_ROUTE socket bound to multicast groups, read by its own thread, which hands
// each datagram to JavaScript through a thread-safe function. It never keeps the event loop alive.
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
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

  // new NlMonitor(netnsPath: string, groups: number, cb: (err, buf) => void, ignorePortid?: number):
  // with ignorePortid, the notifications of changes made by that socket (our own writer's echoes,
  // which carry its portid as nlmsg_pid) are dropped here, before they cost JavaScript any work.
  explicit NlMonitor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NlMonitor>(info) {
    Napi::Env env = info.Env();
    std::string netns = info[0].As<Napi::String>().Utf8Value();
    uint32_t groups = info[1].As<Napi::Number>().Uint32Value();
    if (info.Length() > 3 && info[3].IsNumber()) ignore_ = info[3].As<Napi::Number>().Uint32Value();
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
    // Not zero-filled: the pages a datagram never reaches stay out of the resident set (a zeroed
    // 256 KiB buffer per monitor thread was 0.5 MiB of an idle daemon's RSS).
    constexpr size_t kBuf = 256 * 1024;
    std::unique_ptr<uint8_t[]> buf(new uint8_t[kBuf]);
    while (reader_.WaitReadable(fd_)) {
      auto* d = NewBatch();
      while (d->bytes.size() < kMaxBatch) {
        ssize_t n = recv(fd_, buf.get(), kBuf, MSG_DONTWAIT);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno != EAGAIN) d->err = errno;  // ENOBUFS: events were lost; the reader must resynchronise.
          break;
        }
        Append(d->bytes, buf.get(), static_cast<size_t>(n));
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

  // Appends the messages of one datagram, each padded to 4 bytes, leaving out those sent on behalf of
  // the ignored portid (none when it is 0: the kernel's own notifications carry 0).
  void Append(std::vector<uint8_t>& out, const uint8_t* p, size_t n) const {
    size_t off = 0;
    while (off + sizeof(nlmsghdr) <= n) {
      auto* h = reinterpret_cast<const nlmsghdr*>(p + off);
      if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > n - off) break;
      if (ignore_ == 0 || h->nlmsg_pid != ignore_) {
        out.insert(out.end(), p + off, p + off + h->nlmsg_len);
        out.resize((out.size() + 3) & ~static_cast<size_t>(3), 0);
      }
      off += NLMSG_ALIGN(h->nlmsg_len);
    }
  }

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
  uint32_t ignore_ = 0;
  ReaderThread reader_;
};

}  // namespace

Napi::Object InitNlMonitor(Napi::Env env, Napi::Object exports) {
  exports.Set("NlMonitor", NlMonitor::Define(env));
  return exports;
}

}  // namespace flannel
