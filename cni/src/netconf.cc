#include "netconf.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "errors.h"
#include "ip.h"
#include "text.h"

namespace cni {

const char kDefaultSubnetFile[] = "/run/flannel/subnet.env";
const char kDefaultDataDir[] = "/var/lib/cni/flannel";

namespace {

/** A field that failed; the caller turns it into a CniError with its own code. */
struct FieldError {
  std::string message;
};

[[noreturn]] void badField(const std::string& field, const std::string& expected, const Value* value) {
  throw FieldError{fieldMessage(field, expected, value)};
}

std::string asciiLower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}

/** The value of `name` matched as Go does: case-insensitively, the last match winning. */
const Value* field(const Value& o, const std::string& name) {
  const std::string folded = asciiLower(name);
  const Value* found = nullptr;
  for (const auto& m : o.members) {
    if (asciiLower(m.first) == folded) found = &m.second;
  }
  return found;
}

std::string str(const Value& o, const std::string& name, const std::string& dflt) {
  const Value* v = field(o, name);
  if (v == nullptr || v->isNull()) return dflt;
  if (!v->isString()) badField(name, "a string", v);
  return v->text;
}

std::string nonEmpty(const Value& o, const std::string& name, const std::string& dflt) {
  std::string v = str(o, name, dflt);
  if (v.empty()) {
    Value empty = Value::makeString("");
    badField(name, "a non-empty string (default " + dflt + ")", &empty);
  }
  return v;
}

std::optional<Value> obj(const Value& o, const std::string& name) {
  const Value* v = field(o, name);
  if (v == nullptr || v->isNull()) return std::nullopt;
  if (!v->isObject()) badField(name, "an object", v);
  return *v;
}

/** The reference's checks and messages for the `delegate` dictionary. */
std::optional<Value> delegateOptions(const Value& o) {
  std::optional<Value> d = obj(o, "delegate");
  if (!d) return d;
  auto refuse = [&](const std::string& msg, const std::string& key) {
    throw CniError(kInvalidNetworkConfig, msg, "netconf field \"delegate." + key + "\" is " + stringify(*d->get(key)));
  };
  if (d->has("type") && !d->get("type")->isString()) refuse("'delegate' dictionary, if present, must have (string) 'type' field", "type");
  if (d->has("name")) refuse("'delegate' dictionary must not have 'name' field, it'll be set by flannel", "name");
  if (d->has("ipam")) refuse("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel", "ipam");
  return d;
}

/** A JSON number that is a safe integer, as JSON.stringify would print it; nullopt when absent. */
std::optional<std::string> integer(const Value* v, const std::string& name) {
  if (v == nullptr || v->isNull()) return std::nullopt;
  if (v->kind != Value::Kind::Number) badField(name, "an integer", v);
  double d = std::strtod(v->text.c_str(), nullptr);
  if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9007199254740991.0) badField(name, "an integer", v);
  if (d == 0) return std::string("0");
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", d);
  return std::string(buf);
}

std::string address(const Value* v, const std::string& name, const std::string& expected, bool cidr) {
  if (v == nullptr || !v->isString()) badField(name, expected, v);
  std::optional<std::string> canon = cidr ? canonicalCIDR(v->text) : canonicalIP(v->text);
  if (!canon) badField(name, expected, v);
  return *canon;
}

/** One route as CNI's Route type re-encodes it: only its fields, zero plain ints dropped. */
Value parseRoute(const Value& r, const std::string& name) {
  if (!r.isObject()) badField(name, "an object with \"dst\"", &r);
  Value route = Value::makeObject();
  route.set("dst", Value::makeString(address(r.get("dst"), name + ".dst", "a CIDR such as \"10.96.0.0/12\"", true)));
  const Value* gw = r.get("gw");
  if (gw != nullptr && !gw->isNull() && !(gw->isString() && gw->text.empty())) {
    route.set("gw", Value::makeString(address(gw, name + ".gw", "an IP address", false)));
  }
  for (const char* key : {"mtu", "advmss", "priority"}) {
    std::optional<std::string> n = integer(r.get(key), name + "." + key);
    if (n && *n != "0") route.set(key, Value::makeNumber(*n));
  }
  for (const char* key : {"table", "scope"}) {
    std::optional<std::string> n = integer(r.get(key), name + "." + key);
    if (n) route.set(key, Value::makeNumber(*n));
  }
  return route;
}

std::vector<Value> parseRoutes(const Value& value) {
  std::vector<Value> out;
  if (value.isNull()) return out;
  if (value.kind != Value::Kind::Array) badField("ipam.routes", "a list of routes", &value);
  for (size_t i = 0; i < value.items.size(); i++) out.push_back(parseRoute(value.items[i], "ipam.routes[" + std::to_string(i) + "]"));
  return out;
}

NetConf validate(const Value& o, bool forAdd) {
  NetConf c;
  c.name = str(o, "name", "");
  if (c.name.empty()) throw CniError(kInvalidNetworkConfig, "missing network name", "netconf field \"name\" is required");
  if (!isValidName(c.name)) {
    throw CniError(kInvalidNetworkConfig, "invalid characters found in network name", "netconf field \"name\" is \"" + c.name + "\"");
  }
  c.ipam = obj(o, "ipam");
  c.cniVersion = str(o, "cniVersion", "");
  c.subnetFile = nonEmpty(o, "subnetFile", kDefaultSubnetFile);
  c.dataDir = nonEmpty(o, "dataDir", kDefaultDataDir);
  c.delegate = forAdd ? delegateOptions(o) : obj(o, "delegate");
  if (forAdd && c.ipam && c.ipam->has("routes")) c.ipamRoutes = parseRoutes(*c.ipam->get("routes"));
  c.runtimeConfig = obj(o, "runtimeConfig");
  return c;
}

}  // namespace

std::string fieldMessage(const std::string& name, const std::string& expected, const Value* value) {
  return "netconf field \"" + name + "\" must be " + expected + ", got " + (value ? stringify(*value) : "undefined");
}

bool isValidName(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
  }
  return true;
}

Value decodeNetConf(const std::string& stdinText) {
  Value raw;
  try {
    raw = parseJson(stdinText);
  } catch (const JsonSyntaxError& e) {
    throw CniError(kDecodingFailure, "failed to load netconf: stdin is not JSON", e.message);
  }
  if (!raw.isObject()) {
    throw CniError(kDecodingFailure, "failed to load netconf: stdin is not a JSON object", utf16Slice(stdinText, 0, 200));
  }
  return raw;
}

std::string peekVersion(const Value& o) {
  try {
    return str(o, "cniVersion", "");
  } catch (const FieldError& e) {
    throw CniError(kDecodingFailure, e.message);
  }
}

NetConf validateNetConf(const Value& o, bool forAdd) {
  try {
    return validate(o, forAdd);
  } catch (const FieldError& e) {
    throw CniError(kInvalidNetworkConfig, e.message);
  }
}

}  // namespace cni
