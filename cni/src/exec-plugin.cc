// Running the delegate as Node's spawnSync ran it for the TypeScript plugin: pipes for stdin, stdout
// and stderr, signals back at their defaults in the child, output capped at 64 MiB.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "delegate.h"
#include "errors.h"
#include "files.h"
#include "text.h"

extern char** environ;

namespace cni {

namespace {

const size_t kMaxBuffer = 64u << 20;

struct Outcome {
  int spawnError = 0;
  std::string stdoutText;
  std::string stderrText;
  int status = -1;
  int signal = 0;
};

/** The first regular file named `plugin` in `dirs`; a name with a '/' is refused. */
std::string findInPath(const std::string& plugin, const std::vector<std::string>& dirs) {
  if (plugin.empty()) throw CniError(kInvalidNetworkConfig, "no plugin name provided");
  if (plugin.find('/') != std::string::npos) throw CniError(kInvalidNetworkConfig, "invalid plugin name: " + plugin);
  for (const std::string& dir : dirs) {
    std::string path = pathJoin(dir, plugin);
    if (isRegularFile(path)) return path;
  }
  throw CniError(kInternal, "failed to find plugin \"" + plugin + "\" in path [" + joinStrings(dirs, " ") + "]");
}

std::vector<std::string> childEnv(const EnvChanges& changes) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; e++) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (changes.count(key) == 0) out.push_back(kv);
  }
  for (const auto& c : changes) {
    if (c.second) out.push_back(c.first + "=" + *c.second);
  }
  return out;
}

/** Feeds stdin and collects stdout and stderr until the child closes both. */
void pump(int in, int out, int err, const std::string& input, Outcome& o, pid_t pid) {
  size_t written = 0;
  if (input.empty()) ::close(in), in = -1;
  char buf[65536];
  bool killed = false;
  while (out >= 0 || err >= 0 || in >= 0) {
    struct pollfd fds[3] = {{in, POLLOUT, 0}, {out, POLLIN, 0}, {err, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (in >= 0 && fds[0].revents) {
      ssize_t n = ::write(in, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) ::close(in), in = -1;
    }
    int* ends[2] = {&out, &err};
    std::string* sinks[2] = {&o.stdoutText, &o.stderrText};
    for (int k = 0; k < 2; k++) {
      if (*ends[k] < 0 || fds[k + 1].revents == 0) continue;
      ssize_t n = ::read(*ends[k], buf, sizeof buf);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        ::close(*ends[k]);
        *ends[k] = -1;
        continue;
      }
      sinks[k]->append(buf, static_cast<size_t>(n));
      if (sinks[k]->size() > kMaxBuffer && !killed) {
        ::kill(pid, SIGTERM);
        killed = true;
        o.spawnError = ENOBUFS;
      }
    }
  }
}

Outcome spawnPlugin(const std::string& path, const std::string& input, const EnvChanges& changes) {
  Outcome o;
  int pin[2], pout[2], perr[2];
  if (::pipe2(pin, O_CLOEXEC) != 0 || ::pipe2(pout, O_CLOEXEC) != 0 || ::pipe2(perr, O_CLOEXEC) != 0) {
    o.spawnError = errno;
    return o;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
  posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
  posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<std::string> env = childEnv(changes);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string argv0 = path;
  char* argv[] = {argv0.data(), nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, path.c_str(), &fa, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(pin[0]);
  ::close(pout[1]);
  ::close(perr[1]);
  if (rc != 0) {
    ::close(pin[1]);
    ::close(pout[0]);
    ::close(perr[0]);
    o.spawnError = rc;
    return o;
  }
  ::fcntl(pin[1], F_SETFL, O_NONBLOCK);
  pump(pin[1], pout[0], perr[0], input, o, pid);
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(ws)) o.status = WEXITSTATUS(ws);
  if (WIFSIGNALED(ws)) o.signal = WTERMSIG(ws);
  o.stdoutText = sanitizeUtf8(o.stdoutText);
  o.stderrText = sanitizeUtf8(o.stderrText);
  return o;
}

bool blank(const std::string& s) { return jsTrim(s).empty(); }

/** The delegate's error JSON kept as it is (code, msg, details); anything else made into code 999. */
CniError delegateError(const Outcome& o) {
  std::string how = o.signal ? std::string("killed by SIG") + sigabbrev_np(o.signal) : "exit status " + std::to_string(o.status);
  if (blank(o.stdoutText)) {
    if (blank(o.stderrText)) return CniError(kInternal, "netplugin failed with no error message: " + how);
    return CniError(kInternal, "netplugin failed: " + quote(o.stderrText));
  }
  std::string why;
  try {
    Value e = parseJson(o.stdoutText);
    if (e.isNull()) {
      why = "Cannot read properties of null (reading 'code')";
    } else {
      const Value* code = e.isObject() ? e.get("code") : nullptr;
      const Value* msg = e.isObject() ? e.get("msg") : nullptr;
      const Value* details = e.isObject() ? e.get("details") : nullptr;
      return CniError(code && code->kind == Value::Kind::Number ? code->text : std::to_string(kInternal),
                      msg && msg->isString() ? msg->text : "", details && details->isString() ? details->text : "");
    }
  } catch (const JsonSyntaxError& err) {
    why = err.message;
  }
  return CniError(kInternal, "netplugin failed but error parsing its diagnostic message " + quote(o.stdoutText) + ": " + why);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}

}  // namespace

std::string execDelegate(const DelegateCall& call) {
  std::string path = findInPath(call.plugin, call.cniPath);
  EnvChanges env = call.env;
  env["CNI_COMMAND"] = call.command;
  Outcome o = spawnPlugin(path, call.config, env);
  writeAll(2, o.stderrText);
  if (o.spawnError != 0) {
    throw CniError(kInternal, "failed to delegate " + lower(call.command) + ": cannot run " + path, "spawnSync " + path + " " + errnoName(o.spawnError));
  }
  if (o.status != 0) throw delegateError(o);
  return o.stdoutText;
}

}  // namespace cni
