#include "subnet-env.h"

#include <algorithm>
#include <cerrno>
#include <map>

#include "errors.h"
#include "files.h"
#include "ip.h"
#include "text.h"

namespace cni {

namespace {

const char kLoadFailed[] = "failed to load flannel 'subnet.env' file";

bool keyStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool keyChar(char c) { return keyStart(c) || (c >= '0' && c <= '9') || c == '.'; }

/** The regex /^(KEY)\s*[=:]\s*(.*)$/ of flanneld's parseEnvFile on `s`; `.` matches no line terminator. */
bool matchAssignment(const std::vector<char32_t>& s, size_t from, std::string& key, std::string& value) {
  size_t i = from;
  if (i >= s.size() || s[i] > 0x7F || !keyStart(static_cast<char>(s[i]))) return false;
  std::string k;
  while (i < s.size() && s[i] <= 0x7F && keyChar(static_cast<char>(s[i]))) k.push_back(static_cast<char>(s[i++]));
  while (i < s.size() && isJsSpace(s[i])) i++;
  if (i >= s.size() || (s[i] != '=' && s[i] != ':')) return false;
  i++;
  while (i < s.size() && isJsSpace(s[i])) i++;
  std::string v;
  for (; i < s.size(); i++) {
    if (s[i] == '\n' || s[i] == '\r' || s[i] == 0x2028 || s[i] == 0x2029) return false;
    appendUtf8(v, s[i]);
  }
  key = k;
  value = v;
  return true;
}

/** value.replace(/\s+#.*$/, '').trim() */
std::string stripComment(const std::string& value) {
  std::vector<char32_t> cps = codePoints(value);
  size_t end = cps.size();
  for (size_t i = 0; i < cps.size(); i++) {
    if (!isJsSpace(cps[i])) continue;
    size_t j = i;
    while (j < cps.size() && isJsSpace(cps[j])) j++;
    if (j < cps.size() && cps[j] == '#') {
      end = i;
      break;
    }
  }
  std::string out;
  for (size_t i = 0; i < end; i++) appendUtf8(out, cps[i]);
  return jsTrim(out);
}

/** KEY=value lines, `#` comments, optional quotes and `export`, as flanneld's parseEnvFile reads them. */
std::map<std::string, std::string> parseEnvFile(const std::string& text) {
  std::map<std::string, std::string> out;
  for (std::string raw : split(text, '\n')) {
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    std::string line = jsTrim(raw);
    if (line.empty() || line[0] == '#') continue;
    std::vector<char32_t> cps = codePoints(line);
    std::string key, value;
    bool matched = false;
    if (line.compare(0, 6, "export") == 0 && cps.size() > 6 && isJsSpace(cps[6])) {
      size_t i = 6;
      while (i < cps.size() && isJsSpace(cps[i])) i++;
      matched = matchAssignment(cps, i, key, value);
    }
    if (!matched && !matchAssignment(cps, 0, key, value)) continue;
    size_t n = value.size();
    bool quoted = n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n - 1] == value[0];
    out[key] = quoted ? value.substr(1, n - 2) : stripComment(value);
  }
  return out;
}

class Parser {
 public:
  Parser(const std::string& text, const std::string& path) : env_(parseEnvFile(text)), path_(path) {}

  SubnetEnv parse() {
    SubnetEnv se;
    se.networks = list("FLANNEL_NETWORK", parseIP4Net, "a list of IPv4 CIDRs");
    se.subnet = one("FLANNEL_SUBNET", parseIP4Net, "an IPv4 CIDR");
    se.ipv6Networks = list("FLANNEL_IPV6_NETWORK", parseIP6Net, "a list of IPv6 CIDRs");
    se.ipv6Subnet = one("FLANNEL_IPV6_SUBNET", parseIP6Net, "an IPv6 CIDR");
    std::optional<std::string> mtu = one("FLANNEL_MTU", parseUint32, "an unsigned integer");
    auto masq = env_.find("FLANNEL_IPMASQ");
    std::vector<std::string> missing;
    if (se.networks.empty() && se.ipv6Networks.empty()) missing.insert(missing.end(), {"FLANNEL_NETWORK", "FLANNEL_IPV6_NETWORK"});
    if (!se.subnet && !se.ipv6Subnet) missing.insert(missing.end(), {"FLANNEL_SUBNET", "FLANNEL_IPV6_SUBNET"});
    if (!mtu) missing.push_back("FLANNEL_MTU");
    if (masq == env_.end()) missing.push_back("FLANNEL_IPMASQ");
    if (!missing.empty()) throw CniError(kInvalidNetworkConfig, path_ + " is missing " + joinStrings(missing, ", "));
    se.mtu = *mtu;
    se.ipMasq = masq->second == "true";
    return se;
  }

 private:
  using Parse = std::optional<std::string> (*)(const std::string&);
  std::map<std::string, std::string> env_;
  std::string path_;

  [[noreturn]] void bad(const std::string& key, const std::string& expected) const {
    throw CniError(kInvalidNetworkConfig, std::string(kLoadFailed) + ": " + key + "=\"" + env_.at(key) + "\" in " + path_ + " is not " + expected);
  }

  std::vector<std::string> list(const std::string& key, Parse parseItem, const std::string& what) const {
    std::vector<std::string> out;
    auto it = env_.find(key);
    if (it == env_.end()) return out;
    for (const std::string& item : split(it->second, ',')) {
      std::optional<std::string> n = parseItem(item);
      if (!n) bad(key, what);
      if (std::find(out.begin(), out.end(), *n) == out.end()) out.push_back(*n);
    }
    return out;
  }

  std::optional<std::string> one(const std::string& key, Parse parseItem, const std::string& what) const {
    auto it = env_.find(key);
    if (it == env_.end()) return std::nullopt;
    std::optional<std::string> v = parseItem(it->second);
    if (!v) bad(key, what);
    return v;
  }

  static std::optional<std::string> parseUint32(const std::string& text) {
    if (!allDigits(text, text.size() ? text.size() : 1)) return std::nullopt;
    size_t i = 0;
    while (i + 1 < text.size() && text[i] == '0') i++;
    std::string digits = text.substr(i);
    if (digits.size() > 10 || (digits.size() == 10 && digits > "4294967295")) return std::nullopt;
    return digits;
  }
};

}  // namespace

SubnetEnv loadSubnetEnv(const std::string& path) {
  std::string text;
  FsResult r = readWholeFile(path, text);
  int err = r.err;
  if (err == ENOENT) {
    throw CniError(kTryAgainLater,
                   std::string(kLoadFailed) + ": " + path + " is missing. Check that flanneld is running on this node (the flannel pod log for this node).",
                   "open " + path + ": no such file or directory");
  }
  if (err != 0) throw CniError(kIOFailure, std::string(kLoadFailed) + ": cannot read " + path, r.message());
  return Parser(text, path).parse();
}

}  // namespace cni
