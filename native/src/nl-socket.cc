#include "nl-socket.h"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_set>
#include <vector>

#include "errors.h"
#include "netns.h"

namespace flannel {

namespace {

// One sendmsg carries at most this much, so that the ACKs of one chunk always fit the receive buffer.
constexpr size_t kChunkBytes = 128 * 1024;
constexpr size_t kChunkMsgs = 512;
constexpr size_t kRecvBytes = 256 * 1024;
constexpr int kSndBuf = 1 << 20;
constexpr int kRcvBuf = 8 << 20;

void SetBuf(int fd, int force_opt, int opt, int size) {
  if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof size) < 0) {
    setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);
  }
}

struct Outcome {
  std::vector<uint8_t> out;
  int err = 0;
  const char* syscall = "";
};

bool SendChunk(int fd, const uint8_t* p, size_t len, Outcome& o) {
  for (;;) {
    ssize_t n = send(fd, p, len, 0);
    if (n >= 0) return true;
    if (errno == EINTR) continue;
    o.err = errno;
    o.syscall = "sendmsg";
    return false;
  }
}

// Keeps every answer except plain ACKs (error 0): the caller only needs data and failures.
void Collect(const uint8_t* buf, size_t n, std::unordered_set<uint32_t>& pending, Outcome& o) {
  size_t off = 0;
  while (off + sizeof(nlmsghdr) <= n) {
    auto* h = reinterpret_cast<const nlmsghdr*>(buf + off);
    if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > n - off) break;
    off += NLMSG_ALIGN(h->nlmsg_len);
    if (pending.count(h->nlmsg_seq) == 0) continue;
    bool final = h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE;
    bool plain_ack = h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) &&
                     *reinterpret_cast<const int*>(NLMSG_DATA(h)) == 0;
    if (!plain_ack) {
      auto* p = reinterpret_cast<const uint8_t*>(h);
      o.out.insert(o.out.end(), p, p + NLMSG_ALIGN(h->nlmsg_len));
    }
    if (final) pending.erase(h->nlmsg_seq);
  }
}

bool AwaitAnswers(int fd, std::unordered_set<uint32_t>& pending, std::vector<uint8_t>& rbuf, Outcome& o) {
  while (!pending.empty()) {
    ssize_t n = recv(fd, rbuf.data(), rbuf.size(), MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      o.err = errno;
      o.syscall = "recvmsg";
      return false;
    }
    if (static_cast<size_t>(n) > rbuf.size()) {
      o.err = EMSGSIZE;
      o.syscall = "recvmsg";
      return false;
    }
    Collect(rbuf.data(), static_cast<size_t>(n), pending, o);
  }
  return true;
}

// Sends every request in `data` (a sequence of nlmsghdr, each with a unique seq and NLM_F_ACK or
// NLM_F_DUMP) in chunks, and waits for the final answer (ERROR or DONE) to each.
void Transact(int fd, const uint8_t* data, size_t len, Outcome& o) {
  std::vector<uint8_t> rbuf(kRecvBytes);
  size_t off = 0;
  while (off < len) {
    size_t start = off;
    std::unordered_set<uint32_t> pending;
    while (off < len && pending.size() < kChunkMsgs && off - start < kChunkBytes) {
      auto* h = reinterpret_cast<const nlmsghdr*>(data + off);
      if (len - off < sizeof(nlmsghdr) || h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > len - off) {
        o.err = EINVAL;
        o.syscall = "nlmsg";
        return;
      }
      pending.insert(h->nlmsg_seq);
      off += NLMSG_ALIGN(h->nlmsg_len);
    }
    if (!SendChunk(fd, data + start, off - start, o)) return;
    if (!AwaitAnswers(fd, pending, rbuf, o)) return;
  }
}

class NlSocket;

class TransactWorker : public Napi::AsyncWorker {
 public:
  TransactWorker(Napi::Env env, int fd, Napi::Buffer<uint8_t> req)
      : Napi::AsyncWorker(env), fd_(fd), deferred_(Napi::Promise::Deferred::New(env)),
        data_(req.Data()), len_(req.Length()) {
    ref_ = Napi::Persistent(req.As<Napi::Object>());
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { Transact(fd_, data_, len_, outcome_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (outcome_.err != 0) {
      deferred_.Reject(ErrnoError(env, outcome_.err, outcome_.syscall, "netlink request").Value());
      return;
    }
    deferred_.Resolve(Napi::Buffer<uint8_t>::Copy(env, outcome_.out.data(), outcome_.out.size()));
  }

 private:
  int fd_;
  Napi::Promise::Deferred deferred_;
  const uint8_t* data_;
  size_t len_;
  Napi::ObjectReference ref_;
  Outcome outcome_;
};

class NlSocket : public Napi::ObjectWrap<NlSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NlSocket",
                       {InstanceMethod("transact", &NlSocket::TransactJs),
                        InstanceMethod("portid", &NlSocket::PortidJs),
                        InstanceMethod("close", &NlSocket::CloseJs)});
  }

  // new NlSocket(netnsPath: string, protocol?: number) — "" means the calling thread's namespace;
  // the protocol defaults to NETLINK_ROUTE.
  explicit NlSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NlSocket>(info) {
    std::string netns = info[0].As<Napi::String>().Utf8Value();
    int protocol = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : NETLINK_ROUTE;
    int err = 0;
    const char* syscall = "";
    fd_ = OpenRouteSocket(netns, 0, &err, &syscall, protocol);
    if (fd_ < 0) throw ErrnoError(info.Env(), err, syscall, "opening a netlink socket in " + (netns.empty() ? std::string("the current namespace") : netns));
  }
  ~NlSocket() override {
    if (fd_ >= 0) close(fd_);
  }

 private:
  // transact(requests: Buffer): Promise<Buffer>. The caller keeps one transact in flight at a time.
  Napi::Value TransactJs(const Napi::CallbackInfo& info) {
    if (fd_ < 0) throw ErrnoError(info.Env(), EBADF, "sendmsg", "netlink socket is closed");
    auto* w = new TransactWorker(info.Env(), fd_, info[0].As<Napi::Buffer<uint8_t>>());
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }
  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    return info.Env().Undefined();
  }
  // portid(): number — the address the kernel gave this socket, which it writes as nlmsg_pid into the
  // notifications of changes this socket made (0 once closed).
  Napi::Value PortidJs(const Napi::CallbackInfo& info) {
    sockaddr_nl sa{};
    socklen_t len = sizeof sa;
    if (fd_ < 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) < 0) return Napi::Number::New(info.Env(), 0);
    return Napi::Number::New(info.Env(), sa.nl_pid);
  }
  int fd_ = -1;
};

}  // namespace

int OpenRouteSocket(const std::string& netns, uint32_t groups, int* err, const char** syscall, int protocol) {
  NetnsGuard guard(netns);
  if (guard.err() != 0) {
    *err = guard.err();
    *syscall = guard.syscall();
    return -1;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) {
    *err = errno;
    *syscall = "socket";
    return -1;
  }
  SetBuf(fd, SO_SNDBUFFORCE, SO_SNDBUF, kSndBuf);
  SetBuf(fd, SO_RCVBUFFORCE, SO_RCVBUF, kRcvBuf);
  int one = 1;
  // Short ACKs (no copy of our request), error strings from the kernel, and filtered dumps.
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  timeval tv{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = groups;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    *err = errno;
    *syscall = "bind";
    close(fd);
    return -1;
  }
  return fd;
}

Napi::Object InitNlSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("NlSocket", NlSocket::Define(env));
  return exports;
}

}  // namespace flannel
