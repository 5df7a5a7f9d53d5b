// A thread that reads one file descriptor for a JavaScript object (the netlink monitor, the ICMP probe
// socket): it waits on that fd and on a stop eventfd, and hands what it read to JavaScript in batches
// through a thread-safe function that never keeps the event loop alive.
#pragma once
#include <napi.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "errors.h"

namespace flannel {

// What one wake-up read: bytes for JavaScript, or the errno that interrupted the reading (`syscall`
// and `context` name it in the JavaScript error).
struct ReadBatch {
  std::vector<uint8_t> bytes;
  int err = 0;
  const char* syscall = "";
  const char* context = "";
};

class ReaderThread {
 public:
  ReaderThread() = default;
  ReaderThread(const ReaderThread&) = delete;
  ReaderThread& operator=(const ReaderThread&) = delete;
  ~ReaderThread() { Stop(); }

  // Starts `loop` on its own thread; `cb(err, buffer)` receives each batch. Throws a JS error when the
  // stop eventfd cannot be made.
  void Start(Napi::Env env, const Napi::Function& cb, const char* name, std::function<void()> loop) {
    stop_ = eventfd(0, EFD_CLOEXEC);
    if (stop_ < 0) throw ErrnoError(env, errno, "eventfd", name);
    tsfn_ = Napi::ThreadSafeFunction::New(env, cb, name, 0, 1);
    tsfn_.Unref(env);
    thread_ = std::thread(std::move(loop));
  }

  // On the thread: blocks until `fd` is readable (true) or Stop() was called (false).
  bool WaitReadable(int fd) const {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_, POLLIN, 0}};
    while (poll(fds, 2, -1) < 0) {
      if (errno != EINTR) return false;
    }
    return fds[1].revents == 0;
  }

  // On the thread: hands `b` to JavaScript, which frees it; an empty batch without error is dropped.
  void Deliver(ReadBatch* b) {
    if ((b->err == 0 && b->bytes.empty()) || tsfn_.NonBlockingCall(b, Call) != napi_ok) delete b;
  }

  // Wakes the thread, joins it and releases the function. Safe to call twice.
  void Stop() {
    if (stop_ < 0) return;
    uint64_t one = 1;
    if (write(stop_, &one, sizeof one) < 0) { /* the thread still wakes on close below */ }
    if (thread_.joinable()) thread_.join();
    tsfn_.Release();
    close(stop_);
    stop_ = -1;
  }

 private:
  static void Call(Napi::Env env, Napi::Function cb, ReadBatch* b) {
    if (env != nullptr && cb != nullptr) {
      if (b->err != 0) {
        cb.Call({ErrnoError(env, b->err, b->syscall, b->context).Value(), env.Null()});
      } else {
        cb.Call({env.Null(), Napi::Buffer<uint8_t>::Copy(env, b->bytes.data(), b->bytes.size())});
      }
    }
    delete b;
  }

  int stop_ = -1;
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
};

}  // namespace flannel
