// IcmpSocket: ICMP echo for the peer probes (issue 16). One raw socket per address family, opened in
// the process's network namespace; requests leave with Don't Fragment set and the kernel's path-MTU
// cache ignored (IP_PMTUDISC_PROBE), so that a full-size probe tests the path itself. A thread reads
// the replies, keeps only echo replies carrying our identifier, and hands them to JavaScript in
// batches through a thread-safe function; it never keeps the event loop alive.
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "errors.h"
#include "reader-thread.h"

namespace flannel {

namespace {

// One reply as handed to JavaScript: seq (u16 LE), family (4 or 6), pad, 16 address bytes, then the
// ICMP payload length (u32 LE). 24 bytes each.
constexpr size_t kRecord = 24;

uint16_t Checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

class IcmpSocket : public Napi::ObjectWrap<IcmpSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "IcmpSocket", {InstanceMethod("send", &IcmpSocket::Send), InstanceMethod("close", &IcmpSocket::CloseJs)});
  }

  // new IcmpSocket(family: 4 | 6, ident: number, cb: (err, replies: Buffer) => void)
  explicit IcmpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IcmpSocket>(info) {
    Napi::Env env = info.Env();
    family_ = info[0].As<Napi::Number>().Int32Value() == 6 ? 6 : 4;
    ident_ = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
    fd_ = family_ == 4 ? socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP) : socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd_ < 0) throw ErrnoError(env, errno, "socket", family_ == 4 ? "raw ICMP socket" : "raw ICMPv6 socket");
    int probe = family_ == 4 ? IP_PMTUDISC_PROBE : IPV6_PMTUDISC_PROBE;
    int one = 1;
    bool ok = family_ == 4 ? setsockopt(fd_, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe) == 0
                           : setsockopt(fd_, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe, sizeof probe) == 0 &&
                                 setsockopt(fd_, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof one) == 0;
    if (ok && family_ == 6) {
      icmp6_filter filter;
      ICMP6_FILTER_SETBLOCKALL(&filter);
      ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
      ok = setsockopt(fd_, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) == 0;
    }
    try {
      if (!ok) throw ErrnoError(env, errno, "setsockopt", "icmp probe socket");
      reader_.Start(env, info[2].As<Napi::Function>(), "flannel-icmp", [this] { Loop(); });
    } catch (...) {
      close(fd_);
      fd_ = -1;
      throw;
    }
  }
  ~IcmpSocket() override { Stop(); }

 private:
  // send(address: string, seq: number, size: number): one echo request whose IP packet is `size`
  // bytes long (header included). Throws the errno (EMSGSIZE when `size` exceeds the route's MTU).
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string addr = info[0].As<Napi::String>().Utf8Value();
    uint16_t seq = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
    size_t size = info[2].As<Napi::Number>().Uint32Value();
    size_t ipHeader = family_ == 4 ? 20 : 40;
    if (size < ipHeader + 8 || size > 65535) throw Napi::RangeError::New(env, "probe size out of range: " + std::to_string(size));
    std::vector<uint8_t> pkt(size - ipHeader, 0);
    pkt[0] = family_ == 4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
    pkt[4] = ident_ >> 8;
    pkt[5] = ident_ & 0xff;
    pkt[6] = seq >> 8;
    pkt[7] = seq & 0xff;
    for (size_t i = 8; i < pkt.size(); i++) pkt[i] = static_cast<uint8_t>(i);
    ssize_t n;
    if (family_ == 4) {
      uint16_t sum = Checksum(pkt.data(), pkt.size());
      pkt[2] = sum >> 8;
      pkt[3] = sum & 0xff;
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) throw Napi::TypeError::New(env, "not an IPv4 address: " + addr);
      n = sendto(fd_, pkt.data(), pkt.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    } else {
      sockaddr_in6 sa{};  // the kernel fills in the ICMPv6 checksum on raw ICMPv6 sockets
      sa.sin6_family = AF_INET6;
      if (inet_pton(AF_INET6, addr.c_str(), &sa.sin6_addr) != 1) throw Napi::TypeError::New(env, "not an IPv6 address: " + addr);
      n = sendto(fd_, pkt.data(), pkt.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }
    if (n < 0) throw ErrnoError(env, errno, "sendto", addr);
    return env.Undefined();
  }

  void Loop() {
    constexpr size_t kBuf = 70000;
    std::unique_ptr<uint8_t[]> buf(new uint8_t[kBuf]);  // not zero-filled: untouched pages stay out of RSS
    while (reader_.WaitReadable(fd_)) {
      auto* r = new ReadBatch();
      r->syscall = "recv";
      r->context = "icmp probe socket";
      for (int i = 0; i < 256; i++) {
        sockaddr_storage from{};
        socklen_t fromLen = sizeof from;
        ssize_t n = recvfrom(fd_, buf.get(), kBuf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromLen);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno != EAGAIN) r->err = errno;
          break;
        }
        Keep(buf.get(), static_cast<size_t>(n), from, r);
      }
      reader_.Deliver(r);
    }
  }

  // Appends a record when `p` is an echo reply with our identifier (IPv4 raw sockets see the IP header).
  void Keep(const uint8_t* p, size_t n, const sockaddr_storage& from, ReadBatch* r) const {
    if (family_ == 4) {
      if (n < 20) return;
      size_t ihl = (p[0] & 0x0f) * 4u;
      if (n < ihl + 8) return;
      p += ihl;
      n -= ihl;
      if (p[0] != ICMP_ECHOREPLY) return;
    } else if (n < 8 || p[0] != ICMP6_ECHO_REPLY) {
      return;
    }
    if ((p[4] << 8 | p[5]) != ident_) return;
    uint8_t rec[kRecord] = {};
    rec[0] = p[7];
    rec[1] = p[6];
    rec[2] = family_;
    if (family_ == 4) {
      std::memcpy(rec + 4, &reinterpret_cast<const sockaddr_in&>(from).sin_addr, 4);
    } else {
      std::memcpy(rec + 4, &reinterpret_cast<const sockaddr_in6&>(from).sin6_addr, 16);
    }
    uint32_t len = static_cast<uint32_t>(n);
    std::memcpy(rec + 20, &len, 4);
    r->bytes.insert(r->bytes.end(), rec, rec + kRecord);
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

  int family_ = 4;
  uint16_t ident_ = 0;
  int fd_ = -1;
  ReaderThread reader_;
};

}  // namespace

Napi::Object InitIcmp(Napi::Env env, Napi::Object exports) {
  exports.Set("IcmpSocket", IcmpSocket::Define(env));
  return exports;
}

}  // namespace flannel
