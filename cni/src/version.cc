#include "version.h"

#include <algorithm>
#include <array>
#include <vector>

#include "errors.h"
#include "ip.h"
#include "text.h"

namespace cni {

const char kCurrentVersion[] = "1.1.0";

namespace {

const std::vector<std::string> kSupported = {"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};

std::string quotedSupported() {
  std::vector<std::string> q;
  for (const std::string& v : kSupported) q.push_back("\"" + v + "\"");
  return "[" + joinStrings(q, " ") + "]";
}

std::array<long, 3> parseVersion(const std::string& v) {
  std::vector<std::string> parts = split(v, '.');
  std::array<long, 3> out{};
  bool ok = parts.size() == 3;
  for (size_t i = 0; ok && i < 3; i++) {
    ok = allDigits(parts[i], 15);
    if (ok) out[i] = std::stol(parts[i]);
  }
  if (!ok) throw CniError(kDecodingFailure, "invalid CNI version", "\"" + v + "\" is not of the form X.Y.Z");
  return out;
}

}  // namespace

std::string chooseVersion(const std::string& cniVersion, const Value* cniVersions) {
  if (!cniVersion.empty() || cniVersions == nullptr || cniVersions->isNull()) return cniVersion.empty() ? "0.1.0" : cniVersion;
  bool strings = cniVersions->kind == Value::Kind::Array &&
                 std::all_of(cniVersions->items.begin(), cniVersions->items.end(), [](const Value& v) { return v.isString(); });
  if (!strings) {
    throw CniError(kDecodingFailure, "invalid cniVersions", "netconf field \"cniVersions\" is " + stringify(*cniVersions) + ", not a list of strings");
  }
  std::string best;
  for (const std::string& v : kSupported) {
    for (const Value& w : cniVersions->items) {
      if (w.text == v) best = v;
    }
  }
  if (best.empty()) {
    throw CniError(kIncompatibleVersion, "incompatible CNI versions", "cniVersions is " + stringify(*cniVersions) + ", plugin supports " + quotedSupported());
  }
  return best;
}

void checkSupported(const std::string& version) {
  if (std::find(kSupported.begin(), kSupported.end(), version) != kSupported.end()) return;
  throw CniError(kIncompatibleVersion, "incompatible CNI versions", "config is \"" + version + "\", plugin supports " + quotedSupported());
}

bool versionAtLeast(const std::string& a, const std::string& b) { return parseVersion(a) >= parseVersion(b); }

std::string versionInfo() {
  Value info = Value::makeObject();
  info.set("cniVersion", Value::makeString(kCurrentVersion));
  Value list = Value::makeArray();
  for (const std::string& v : kSupported) list.items.push_back(Value::makeString(v));
  info.set("supportedVersions", list);
  return stringify(info);
}

}  // namespace cni
