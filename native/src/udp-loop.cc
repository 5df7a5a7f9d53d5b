#include "udp-loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>

#include "netns.h"

namespace flannel::udp {

namespace {

bool Fail(SetupError* e, const char* syscall, std::string context) {
  e->err = errno;
  e->syscall = syscall;
  e->context = std::move(context);
  return false;
}

// One TUN queue. The first call asks for `name` ("flannel%d": the kernel picks the number) and
// learns the real name; later queues attach to it (IFF_MULTI_QUEUE).
int OpenTun(std::string* name, bool vnet, bool multi, SetupError* e) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Fail(e, "open", "/dev/net/tun"), -1;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name->c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = static_cast<short>(IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0) | (multi ? IFF_MULTI_QUEUE : 0));
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    Fail(e, "ioctl", "TUNSETIFF " + *name);
    close(fd);
    return -1;
  }
  *name = ifr.ifr_name;
  return fd;
}

void SetBuffer(int fd, int force_opt, int opt, int bytes) {
  // SO_*BUFFORCE passes net.core.[rw]mem_max (we run as root); the plain option is the fallback.
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) < 0) setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

int OpenUdp(const LoopConfig& cfg, bool reuseport, bool* gro, SetupError* e) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail(e, "socket", "UDP socket"), -1;
  int one = 1;
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  SetBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, cfg.socket_buffer);
  SetBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, cfg.socket_buffer);
  *gro = cfg.offload && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof one) == 0;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(cfg.port);
  sa.sin_addr.s_addr = htonl(cfg.bind_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    char ip[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
    Fail(e, "bind", std::string("UDP ") + ip + ":" + std::to_string(cfg.port));
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::unique_ptr<Loop> Loop::Open(const LoopConfig& cfg, SetupError* err) {
  std::unique_ptr<Loop> loop(new Loop());
  bool ok;
  {
    NetnsGuard guard(cfg.netns);
    if (guard.err() != 0) {
      errno = guard.err();
      Fail(err, guard.syscall(), cfg.netns);
      return nullptr;
    }
    ok = loop->Setup(cfg, err);
  }
  if (!ok) return nullptr;  // the destructor closes what Setup opened
  for (int q = 0; q < loop->features_.queues; ++q) loop->Spawn(q);
  return loop;
}

bool Loop::Setup(const LoopConfig& cfg, SetupError* err) {
  const int queues = cfg.queues < 1 ? 1 : cfg.queues;
  features_.queues = queues;
  features_.vnet_hdr = cfg.offload;
  shared_.vnet = cfg.offload;
  shared_.local_addr = cfg.local_addr;
  name_ = cfg.tun_name;
  for (int q = 0; q < queues; ++q) {
    int fd = OpenTun(&name_, cfg.offload, queues > 1, err);
    if (fd < 0) return false;
    tun_fds_.push_back(fd);
    if (cfg.offload && q == 0) {
      unsigned int off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN;
      features_.tso = ioctl(fd, TUNSETOFFLOAD, off) == 0;
    }
  }
  for (int q = 0; q < queues; ++q) {
    bool gro = false;
    int fd = OpenUdp(cfg, queues > 1, &gro, err);
    if (fd < 0) return false;
    udp_fds_.push_back(fd);
    features_.gro = q == 0 ? gro : features_.gro && gro;
  }
  // UDP GSO needs no option on the socket; a send that the kernel refuses turns it off (udp-tx.cc).
  features_.gso = cfg.offload;
  shared_.gso = cfg.offload;
  shared_.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (shared_.stop_fd < 0) return Fail(err, "eventfd", "udp loop stop");
  cpu_.reset(new std::atomic<double>[2 * static_cast<size_t>(queues)]);
  for (int i = 0; i < 2 * queues; ++i) cpu_[i] = -1;
  return true;
}

static double ThreadCpu(clockid_t id) {
  timespec ts{};
  if (clock_gettime(id, &ts) < 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void Loop::Spawn(int q) {
  Shared* s = &shared_;
  std::atomic<double>* cpu = cpu_.get();
  int tun = tun_fds_[static_cast<size_t>(q)], udp = udp_fds_[static_cast<size_t>(q)];
  threads_.emplace_back([=] {
    pthread_setname_np(pthread_self(), "flannel-udp-tx");
    RunTx(s, tun, udp);
    cpu[2 * q] = ThreadCpu(CLOCK_THREAD_CPUTIME_ID);
  });
  threads_.emplace_back([=] {
    pthread_setname_np(pthread_self(), "flannel-udp-rx");
    RunRx(s, udp, tun);
    cpu[2 * q + 1] = ThreadCpu(CLOCK_THREAD_CPUTIME_ID);
  });
}

bool Loop::SetRoute(uint32_t net, int len, NextHop hop) {
  std::unique_lock<std::shared_mutex> lock(shared_.mu);
  return shared_.routes.Set(net, len, hop);
}

bool Loop::DeleteRoute(uint32_t net, int len) {
  std::unique_lock<std::shared_mutex> lock(shared_.mu);
  return shared_.routes.Delete(net, len);
}

void Loop::ReadCounters(uint64_t out[kCounterCount]) const {
  for (int i = 0; i < kCounterCount; ++i) out[i] = shared_.counters[i].load(std::memory_order_relaxed);
}

double Loop::CpuSeconds() const {
  double total = 0;
  for (size_t i = 0; i < threads_.size(); ++i) {
    double done = cpu_[i].load();
    if (done >= 0) {
      total += done;
      continue;
    }
    clockid_t id;
    // A thread that has not stored its final figure is still running (or about to be joined).
    if (!stopped_ && pthread_getcpuclockid(const_cast<std::thread&>(threads_[i]).native_handle(), &id) == 0) total += ThreadCpu(id);
  }
  return total;
}

void Loop::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (shared_.stop_fd >= 0) {
    uint64_t one = 1;
    if (write(shared_.stop_fd, &one, sizeof one) < 0) { /* the workers poll it: an eventfd write cannot fail here */ }
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  for (int fd : tun_fds_) close(fd);
  for (int fd : udp_fds_) close(fd);
  tun_fds_.clear();
  udp_fds_.clear();
  if (shared_.stop_fd >= 0) close(shared_.stop_fd);
  shared_.stop_fd = -1;
}

void Publish(Shared* shared, uint64_t* local) {
  for (int i = 0; i < kCounterCount; ++i) {
    if (local[i]) shared->counters[i].fetch_add(local[i], std::memory_order_relaxed);
    local[i] = 0;
  }
}

}  // namespace flannel::udp
