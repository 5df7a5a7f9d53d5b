#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace flannel {

NetnsGuard::NetnsGuard(const std::string& path) {
  if (path.empty()) return;
  orig_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (orig_ < 0) {
    err_ = errno;
    syscall_ = "open";
    return;
  }
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    err_ = errno;
    syscall_ = "open";
    close(orig_);
    orig_ = -1;
    return;
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    err_ = errno;
    syscall_ = "setns";
    close(orig_);
    orig_ = -1;
  }
  close(target);
}

NetnsGuard::~NetnsGuard() {
  if (orig_ < 0) return;
  // A thread that cannot return to its own namespace would silently program the wrong kernel
  // state from then on; there is no safe way to continue.
  if (setns(orig_, CLONE_NEWNET) < 0) std::abort();
  close(orig_);
}

}  // namespace flannel
