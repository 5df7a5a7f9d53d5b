// JSON.parse, as V8 does it: the same accepted text, and error messages naming the same thing at the
// same position (in UTF-16 units, as JavaScript counts), so the plugin's error details read as the
// TypeScript plugin's did.
#include <string>
#include <unordered_map>

#include "json.h"
#include "text.h"

namespace cni {

namespace {

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
    for (;;) {
      if (eos()) fail("Unterminated string");
      unsigned char c = static_cast<unsigned char>(cur());
      if (c == '"') {
        i_++;
        if (pendingHigh) appendUtf8(out, pendingHigh);
        return out;
      }
      if (c < 0x20) fail("Bad control character in string literal");
      if (c == '\\') {
        escape(out, pendingHigh);
        continue;
      }
      if (pendingHigh) appendUtf8(out, pendingHigh), pendingHigh = 0;
      out.push_back(static_cast<char>(c));
      i_++;
    }
  }

  /** One escape sequence; a surrogate pair written as two \u escapes becomes one code point. */
  void escape(std::string& out, char32_t& pendingHigh) {
    i_++;
    if (eos()) throw JsonSyntaxError{"Unexpected end of JSON input"};
    char32_t cp = 0;
    switch (cur()) {
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
          return;
        }
        if (pendingHigh) appendUtf8(out, pendingHigh);
        pendingHigh = 0;
        if (u >= 0xD800 && u <= 0xDBFF) pendingHigh = u;
        else appendUtf8(out, u);
        return;
      }
      default:
        fail("Bad escaped character");
    }
    if (pendingHigh) appendUtf8(out, pendingHigh);
    pendingHigh = 0;
    appendUtf8(out, cp);
    i_++;
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

}  // namespace

Value parseJson(const std::string& text) { return Parser(text).parseTop(); }

}  // namespace cni
