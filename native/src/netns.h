// Entering a network namespace for the span of one operation, on the calling thread only.
//
// setns(CLONE_NEWNET) changes the namespace of the calling thread, not of the process; a netlink
// socket keeps the namespace it was created in for its whole life. So the addon creates its sockets
// (and opens /proc/sys files) while the calling thread is briefly inside the target namespace, then
// returns the thread to where it was.
#pragma once
#include <string>

namespace flannel {

class NetnsGuard {
 public:
  // An empty path means "stay where we are". On failure err() is the errno and syscall() names the call.
  explicit NetnsGuard(const std::string& path);
  ~NetnsGuard();
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  int err() const { return err_; }
  const char* syscall() const { return syscall_; }

 private:
  int orig_ = -1;
  int err_ = 0;
  const char* syscall_ = "";
};

}  // namespace flannel
