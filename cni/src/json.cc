#include "json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "text.h"

namespace cni {

Value Value::makeString(const std::string& s) {
  Value v;
  v.kind = Kind::String;
  v.text = s;
  return v;
}

Value Value::makeNumber(const std::string& text) {
  Value v;
  v.kind = Kind::Number;
  v.text = text;
  return v;
}

Value Value::makeBool(bool b) {
  Value v;
  v.kind = Kind::Bool;
  v.boolean = b;
  return v;
}

Value Value::makeObject() {
  Value v;
  v.kind = Kind::Object;
  return v;
}

Value Value::makeArray() {
  Value v;
  v.kind = Kind::Array;
  return v;
}

const Value* Value::get(const std::string& key) const {
  for (const auto& m : members) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

void Value::set(const std::string& key, Value v) {
  for (auto& m : members) {
    if (m.first == key) {
      m.second = std::move(v);
      return;
    }
  }
  members.emplace_back(key, std::move(v));
}

namespace {

const char kHex[] = "0123456789abcdef";

/** An array index key ("0", "42"): JavaScript lists those first, in numeric order. */
bool indexKey(const std::string& k, uint64_t& n) {
  if (k.empty() || k.size() > 10 || (k.size() > 1 && k[0] == '0')) return false;
  n = 0;
  for (char c : k) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n < 4294967295ULL;
}

std::vector<size_t> jsOrder(const Value& o) {
  std::vector<std::pair<uint64_t, size_t>> indices;
  std::vector<size_t> rest;
  for (size_t i = 0; i < o.members.size(); i++) {
    uint64_t n;
    if (indexKey(o.members[i].first, n)) indices.emplace_back(n, i);
    else rest.push_back(i);
  }
  std::sort(indices.begin(), indices.end());
  std::vector<size_t> out;
  for (const auto& p : indices) out.push_back(p.second);
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

/** JavaScript's sort order of strings: by UTF-16 code units. */
std::vector<char16_t> utf16Units(const std::string& s) {
  std::vector<char16_t> out;
  for (char32_t cp : codePoints(s)) {
    if (cp >= 0x10000) {
      out.push_back(static_cast<char16_t>(0xD800 + ((cp - 0x10000) >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + ((cp - 0x10000) & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

void write(std::string& out, const Value& v, bool sorted);

/**
 * A number as JavaScript (and Go's encoder, for a float64) prints it: the shortest digits that read
 * back as the same double, "1.0" as "1", "1e3" as "1000", -0 as "0", and null when out of range.
 */
std::string jsNumber(const std::string& text) {
  double d = std::strtod(text.c_str(), nullptr);
  if (!std::isfinite(d)) return "null";
  if (d == 0) return "0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // "-1.2345e+03"
  std::string sign;
  if (sci[0] == '-') sign = "-", sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  int k = static_cast<int>(digits.size());
  int n = std::stoi(sci.substr(e + 1)) + 1;  // the decimal point sits after n digits
  std::string out;
  if (k <= n && n <= 21) out = digits + std::string(static_cast<size_t>(n - k), '0');
  else if (0 < n && n <= 21) out = digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
  else if (-6 < n && n <= 0) out = "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  else {
    out = digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
  }
  return sign + out;
}

void writeObject(std::string& out, const Value& v, bool sorted) {
  std::vector<size_t> order;
  if (sorted) {
    std::vector<std::pair<std::vector<char16_t>, size_t>> keys;
    for (size_t i = 0; i < v.members.size(); i++) keys.emplace_back(utf16Units(v.members[i].first), i);
    std::sort(keys.begin(), keys.end());
    for (const auto& k : keys) order.push_back(k.second);
  } else {
    order = jsOrder(v);
  }
  out.push_back('{');
  bool first = true;
  for (size_t i : order) {
    if (!first) out.push_back(',');
    first = false;
    out += quote(v.members[i].first);
    out.push_back(':');
    write(out, v.members[i].second, sorted);
  }
  out.push_back('}');
}

void write(std::string& out, const Value& v, bool sorted) {
  switch (v.kind) {
    case Value::Kind::Null: out += "null"; break;
    case Value::Kind::Bool: out += v.boolean ? "true" : "false"; break;
    case Value::Kind::Number: out += jsNumber(v.text); break;
    case Value::Kind::String: out += quote(v.text); break;
    case Value::Kind::Array:
      out.push_back('[');
      for (size_t i = 0; i < v.items.size(); i++) {
        if (i > 0) out.push_back(',');
        write(out, v.items[i], sorted);
      }
      out.push_back(']');
      break;
    case Value::Kind::Object: writeObject(out, v, sorted); break;
  }
}

}  // namespace

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    // A lone surrogate (WTF-8: ED A0..BF xx) is escaped, as the well-formed JSON.stringify does.
    if (c == 0xED && i + 2 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xE0) == 0xA0) {
      unsigned u = 0xD000 | ((static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6) | (static_cast<unsigned char>(s[i + 2]) & 0x3F);
      out += "\\u";
      for (int k = 12; k >= 0; k -= 4) out.push_back(kHex[(u >> k) & 0xF]);
      i += 2;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string stringify(const Value& v) {
  std::string out;
  write(out, v, false);
  return out;
}

std::string renderSorted(const Value& v) {
  std::string out;
  write(out, v, true);
  return out;
}

}  // namespace cni
