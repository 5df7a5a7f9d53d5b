// The flannel CNI plugin (install it as /opt/cni/bin/flannel). One invocation, from environment and
// stdin to what goes on stdout and the exit code, as libcni's skel does it: check the environment,
// the config's version, then run the command. Every failure becomes one CNI error JSON on stdout
// and exit code 1.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>

#include "commands.h"
#include "errors.h"
#include "files.h"
#include "text.h"
#include "version.h"

namespace cni {
namespace {

/** A variable as Node's process.env gave it: "" when unset. */
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? sanitizeUtf8(v) : "";
}

std::vector<std::string> splitPath(const std::string& p) {
  std::vector<std::string> out;
  for (const std::string& d : split(p, ':')) {
    if (!d.empty()) out.push_back(d);
  }
  return out;
}

/** The command in CNI_COMMAND; code 4 when it is missing or unknown. */
std::string readCommand() {
  std::string cmd = env("CNI_COMMAND");
  if (cmd.empty()) throw CniError(kInvalidEnvironment, "required env variables [CNI_COMMAND] missing");
  for (const char* known : {"ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"}) {
    if (cmd == known) return cmd;
  }
  throw CniError(kInvalidEnvironment, "unknown CNI_COMMAND: " + cmd);
}

void checkInterfaceName(const std::string& ifName) {
  auto bad = [&](const std::string& why) { throw CniError(kInvalidEnvironment, why, "CNI_IFNAME=\"" + ifName + "\""); };
  const size_t kIfNameSize = 16;
  if (utf16Length(ifName) > kIfNameSize - 1) bad("interface name is too long");
  if (ifName == "." || ifName == "..") bad("interface name is . or ..");
  for (char32_t c : codePoints(ifName)) {
    if (c == '/' || c == ':' || isJsSpace(c)) bad("interface name contains / or : or whitespace characters");
  }
}

/** The arguments of ADD, DEL or CHECK; code 4 naming every missing variable, or the bad value. */
CniArgs readArgs(const std::string& command) {
  std::vector<std::string> required = {"CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"};
  if (command != "DEL") required.insert(required.begin() + 1, "CNI_NETNS");
  std::vector<std::string> missing;
  for (const std::string& k : required) {
    if (env(k.c_str()).empty()) missing.push_back(k);
  }
  if (!missing.empty()) throw CniError(kInvalidEnvironment, "required env variables [" + joinStrings(missing, ",") + "] missing");
  CniArgs args{command, env("CNI_CONTAINERID"), splitPath(env("CNI_PATH"))};
  if (!isValidName(args.containerId)) {
    throw CniError(kInvalidEnvironment, "invalid characters in containerID", "CNI_CONTAINERID=\"" + args.containerId + "\"");
  }
  checkInterfaceName(env("CNI_IFNAME"));
  return args;
}

/** CNI_PATH split on ':' (GC's only variable); code 4 when it is missing. */
std::vector<std::string> readPath() {
  std::vector<std::string> path = splitPath(env("CNI_PATH"));
  if (path.empty()) throw CniError(kInvalidEnvironment, "required env variables [CNI_PATH] missing");
  return path;
}

std::string readStdin() {
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw CniError(kIOFailure, "error reading from stdin", fsErrorMessage(errno, "read"));
    if (n == 0) return sanitizeUtf8(text);
    text.append(buf, static_cast<size_t>(n));
  }
}

void needVersion(const std::string& version, const std::string& min, const std::string& command) {
  if (!versionAtLeast(version, min)) {
    throw CniError(kIncompatibleVersion, "config version does not allow " + command, "cniVersion is \"" + version + "\"");
  }
}

std::string dispatch(std::string& version) {
  std::string command = readCommand();
  if (command == "VERSION") return versionInfo() + "\n";
  bool lifecycle = command == "STATUS" || command == "GC";
  CniArgs args;
  if (!lifecycle) args = readArgs(command);
  std::vector<std::string> cniPath = command == "GC" ? readPath() : std::vector<std::string>{};
  Value raw = decodeNetConf(readStdin());
  const Value* versions = raw.get("cniVersions");
  std::string chosen = chooseVersion(peekVersion(raw), versions);
  checkSupported(chosen);
  version = chosen;  // from here on, errors carry the config's version
  NetConf conf = validateNetConf(raw, command == "ADD");
  // A version chosen from cniVersions is the one the delegate gets; no version at all stays none.
  if (conf.cniVersion.empty() && versions != nullptr && !versions->isNull()) conf.cniVersion = version;
  if (lifecycle) {
    needVersion(version, "1.1.0", command);
    if (command == "STATUS") cmdStatus(conf);
    else cmdGc(conf, validAttachments(raw), cniPath);
    return "";
  }
  if (command == "ADD") return cmdAdd(args, conf);
  if (command == "DEL") cmdDel(args, conf);
  // CHECK does nothing more, as in the reference. Delegating it is not an option: Debian's bridge
  // (1.1.1) CHECK rejects a healthy flannel pod, because host-local's routes have no gateway in the
  // result while the kernel route has one ("Expected Route {Dst:10.244.0.0/16 GW:<nil>} not found").
  else needVersion(version, "0.4.0", "CHECK");
  return "";
}

/**
 * Node opened /dev/null on a closed stdin, stdout or stderr before the TypeScript plugin ran; so
 * does this, so that a pipe made for the delegate never lands on fd 0-2.
 */
void openStdio() {
  for (int fd = 0; fd <= 2; fd++) {
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      int n = ::open("/dev/null", O_RDWR);
      if (n >= 0 && n != fd) {
        ::dup2(n, fd);
        ::close(n);
      }
    }
  }
}

}  // namespace
}  // namespace cni

int main() {
  using namespace cni;
  openStdio();
  // A runtime that closed our stdout gets nothing either way; EPIPE beats dying of SIGPIPE. The
  // delegate gets SIGPIPE back at its default (exec-plugin.cc).
  std::signal(SIGPIPE, SIG_IGN);
  std::string version = kCurrentVersion;
  try {
    writeAll(1, dispatch(version));
    return 0;
  } catch (const CniError& e) {
    Value err = Value::makeObject();
    err.set("cniVersion", Value::makeString(version));
    err.set("code", Value::makeNumber(e.code));
    err.set("msg", Value::makeString(e.msg));
    err.set("details", Value::makeString(e.details));
    writeAll(1, stringify(err) + "\n");
    return 1;
  } catch (const std::exception& e) {
    writeAll(1, "{\"cniVersion\":" + quote(version) + ",\"code\":999,\"msg\":" + quote(e.what()) + ",\"details\":\"\"}\n");
    return 1;
  }
}
