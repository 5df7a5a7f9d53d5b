// Errors leave C++ as JS Error objects carrying `errno` (number), `code` (the errno name, e.g. EEXIST)
// and `syscall`; the TypeScript layer turns them into NativeError.
#pragma once
#include <napi.h>

#include <cstring>
#include <string>

namespace flannel {

inline Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& context) {
  const char* name = strerrorname_np(err);
  std::string msg = std::string(syscall) + " failed: " + (name ? name : "E?") + " (" + std::strerror(err) + ")";
  if (!context.empty()) msg += ": " + context;
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

}  // namespace flannel
