#include "files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "text.h"

namespace cni {

std::string FsResult::message() const { return fsErrorMessage(err, syscall, path); }

namespace {

FsResult failed(const char* syscall, const std::string& path = "") { return FsResult{errno, syscall, path}; }

}  // namespace

FsResult readWholeFile(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failed("open", path);
  out.clear();
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      FsResult r = failed("read");
      ::close(fd);
      return r;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  out = sanitizeUtf8(out);
  return {};
}

FsResult makeDirs(const std::string& dir, unsigned mode) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return FsResult{EEXIST, "mkdir", dir};
  }
  if (errno != ENOENT) return failed("mkdir", dir);
  size_t slash = dir.find_last_of('/');
  while (slash != std::string::npos && slash > 0 && dir[slash - 1] == '/') slash--;
  if (slash != std::string::npos && slash > 0) {
    FsResult parent = makeDirs(dir.substr(0, slash), mode);
    if (!parent.ok()) return FsResult{parent.err, "mkdir", dir};
  }
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) return failed("mkdir", dir);
  return {};
}

FsResult writeFileSynced(const std::string& path, const std::string& data, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return failed("open", path);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      FsResult r = failed("write");
      ::close(fd);
      return r;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    FsResult r = failed("fsync");
    ::close(fd);
    return r;
  }
  ::close(fd);
  return {};
}

void removeFile(const std::string& path) { ::unlink(path.c_str()); }

bool isRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

FsResult listFiles(const std::string& dir, std::vector<std::string>& names) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return failed("scandir", dir);
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool regular = e->d_type == DT_REG;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      regular = ::lstat(pathJoin(dir, name).c_str(), &st) == 0 && S_ISREG(st.st_mode);
    }
    if (regular) names.push_back(name);
  }
  ::closedir(d);
  return {};
}

}  // namespace cni

namespace cni {

void writeAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace cni
