#include "json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <unordered_map>

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

// The parser follows V8's JsonParser closely enough that its error messages name the same thing at
// the same position (in UTF-16 units, as JavaScript counts).
class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  Value parseTop() {
    skipSpace();
    Value v = parseValue();
    skipSpace();
    if (i_ < s_.size()) fail("Unexpected non-whitespace character after JSON");
    return v;
  }

 private:
  const std::string& s_;
  size_t i_ = 0;
  size_t depth_ = 0;

  /** Keeps the recursion (here, in copies, output and destructors) well inside the default stack. */
  void enter() {
    if (++depth_ > kMaxJsonDepth) fail("Nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }

  bool eos() const { return i_ >= s_.size(); }
  char cur() const { return s_[i_]; }

  void skipSpace() {
    while (!eos() && (cur() == ' ' || cur() == '\t' || cur() == '\n' || cur() == '\r')) i_++;
  }

  [[noreturn]] void fail(const std::string& what) const { failAt(what, i_); }

  [[noreturn]] void failAt(const std::string& what, size_t at) const {
    throw JsonSyntaxError{what + " in JSON at position " + std::to_string(utf16Length(s_.substr(0, at)))};
  }

  /** V8's message for an unexpected token at the cursor. */
  [[noreturn]] void unexpected() const {
    if (eos()) throw JsonSyntaxError{"Unexpected end of JSON input"};
    char c = cur();
    if (c == '"') fail("Unexpected string");
    if (c == '-' || (c >= '0' && c <= '9')) fail("Unexpected number");
    if (s_ == "NaN" || s_ == "Infinity" || s_ == "undefined" || s_ == "[object Object]") {
      throw JsonSyntaxError{"\"" + s_ + "\" is not valid JSON"};
    }
    size_t len = 1;
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x80) len = u < 0xE0 ? 2 : u < 0xF0 ? 3 : 4;
    std::string token = s_.substr(i_, len);
    const size_t kContext = 10;
    size_t length = utf16Length(s_);
    size_t pos = utf16Length(s_.substr(0, i_));
    std::string m = "Unexpected token '" + token + "', ";
    if (length <= 2 * kContext + 1) m += "\"" + s_ + "\"";
    else if (pos < kContext) m += "\"" + utf16Slice(s_, 0, pos + kContext) + "\"...";
    else if (pos < length - kContext) m += "...\"" + utf16Slice(s_, pos - kContext, pos + kContext) + "\"...";
    else m += "...\"" + utf16Slice(s_, pos - kContext, length) + "\"";
    throw JsonSyntaxError{m + " is not valid JSON"};
  }

  Value parseValue() {
    if (eos()) unexpected();
    switch (cur()) {
      case '{': return parseObject();
      case '[': return parseArray();
      case '"': return Value::makeString(parseString());
      case 't': literal("true"); return Value::makeBool(true);
      case 'f': literal("false"); return Value::makeBool(false);
      case 'n': literal("null"); return Value();
      default:
        if (cur() == '-' || (cur() >= '0' && cur() <= '9')) return parseNumber();
        unexpected();
    }
  }

  void literal(const char* word) {
    for (const char* p = word; *p; p++, i_++) {
      if (eos() || cur() != *p) unexpected();
    }
  }

  bool digit() const { return !eos() && cur() >= '0' && cur() <= '9'; }

  Value parseNumber() {
    size_t start = i_;
    if (cur() == '-') {
      i_++;
      if (!digit()) fail("No number after minus sign");
    }
    if (cur() == '0') {
      i_++;
      if (digit()) unexpected();
    } else {
      while (digit()) i_++;
    }
    if (!eos() && cur() == '.') {
      i_++;
      if (!digit()) fail("Unterminated fractional number");
      while (digit()) i_++;
    }
    if (!eos() && (cur() == 'e' || cur() == 'E')) {
      i_++;
      if (!eos() && (cur() == '+' || cur() == '-')) i_++;
      if (!digit()) fail("Exponent part is missing a number");
      while (digit()) i_++;
    }
    return Value::makeNumber(s_.substr(start, i_ - start));
  }

  int hexDigit() {
    if (eos()) fail("Bad Unicode escape");
    char c = cur();
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    fail("Bad Unicode escape");
  }

  char32_t unicodeEscape() {
    char32_t u = 0;
    for (int k = 0; k < 4; k++, i_++) u = (u << 4) | static_cast<char32_t>(hexDigit());
    return u;
  }

  std::string parseString() {
    i_++;  // the opening quote
    std::string out;
    char32_t pendingHigh = 0;  // a \uD8xx waiting for its \uDCxx
    auto flushHigh = [&] {
      if (pendingHigh) appendUtf8(out, pendingHigh);
      pendingHigh = 0;
    };
    for (;;) {
      if (eos()) fail("Unterminated string");
      unsigned char c = static_cast<unsigned char>(cur());
      if (c == '"') {
        i_++;
        flushHigh();
        return out;
      }
      if (c < 0x20) fail("Bad control character in string literal");
      if (c != '\\') {
        flushHigh();
        out.push_back(static_cast<char>(c));
        i_++;
        continue;
      }
      i_++;
      if (eos()) throw JsonSyntaxError{"Unexpected end of JSON input"};
      char e = cur();
      char32_t cp = 0;
      switch (e) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u': {
          i_++;
          char32_t u = unicodeEscape();
          if (u >= 0xDC00 && u <= 0xDFFF && pendingHigh) {
            appendUtf8(out, 0x10000 + ((pendingHigh - 0xD800) << 10) + (u - 0xDC00));
            pendingHigh = 0;
          } else {
            flushHigh();
            if (u >= 0xD800 && u <= 0xDBFF) pendingHigh = u;
            else appendUtf8(out, u);
          }
          continue;
        }
        default:
          fail("Bad escaped character");
      }
      flushHigh();
      appendUtf8(out, cp);
      i_++;
    }
  }

  Value parseObject() {
    enter();
    i_++;
    Value o = Value::makeObject();
    skipSpace();
    if (!eos() && cur() == '}') {
      i_++;
      depth_--;
      return o;
    }
    if (eos() || cur() != '"') fail("Expected property name or '}'");
    bool first = true;
    std::unordered_map<std::string, size_t> index;  // a duplicate key keeps its place, takes the last value
    for (;;) {
      std::string key = parseString();
      skipSpace();
      if (eos() || cur() != ':') {
        if (first) fail("Expected ':' after property name");
        unexpected();
      }
      i_++;
      skipSpace();
      Value v = parseValue();
      auto found = index.find(key);
      if (found != index.end()) {
        o.members[found->second].second = std::move(v);
      } else {
        index.emplace(key, o.members.size());
        o.members.emplace_back(std::move(key), std::move(v));
      }
      skipSpace();
      if (!eos() && cur() == '}') {
        i_++;
        depth_--;
        return o;
      }
      if (eos() || cur() != ',') fail("Expected ',' or '}' after property value");
      i_++;
      skipSpace();
      if (eos() || cur() != '"') fail("Expected double-quoted property name");
      first = false;
    }
  }

  Value parseArray() {
    enter();
    i_++;
    Value a = Value::makeArray();
    skipSpace();
    if (!eos() && cur() == ']') {
      i_++;
      depth_--;
      return a;
    }
    for (;;) {
      skipSpace();
      a.items.push_back(parseValue());
      skipSpace();
      if (!eos() && cur() == ']') {
        i_++;
        depth_--;
        return a;
      }
      if (eos() || cur() != ',') fail("Expected ',' or ']' after array element");
      i_++;
    }
  }
};

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

Value parseJson(const std::string& text) { return Parser(text).parseTop(); }

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
