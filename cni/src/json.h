// A small JSON value, parser and serializer. Numbers keep their source text and objects keep their
// key order. The parser accepts exactly what JSON.parse accepts and its errors read as V8's do;
// stringify is JSON.stringify's compact form, renderSorted the sorted-keys form of the saved delegate
// config. Both print a number as JavaScript and Go print a double ("1.0" as "1"), so the saved config
// is byte-for-byte what the TypeScript plugin and the reference plugin wrote.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace cni {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  /** A number's source text, or a string (UTF-8; a lone surrogate from \uD800 kept as WTF-8). */
  std::string text;
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> members;

  static Value makeString(const std::string& s);
  static Value makeNumber(const std::string& text);
  static Value makeBool(bool b);
  static Value makeObject();
  static Value makeArray();

  bool isObject() const { return kind == Kind::Object; }
  bool isString() const { return kind == Kind::String; }
  bool isNull() const { return kind == Kind::Null; }
  /** The member `key` (exact match), or nullptr. After parsing, a duplicate key holds its last value. */
  const Value* get(const std::string& key) const;
  bool has(const std::string& key) const { return get(key) != nullptr; }
  /** Replaces the value of `key` in place, or appends it. */
  void set(const std::string& key, Value v);
};

struct JsonSyntaxError {
  std::string message;
};

/** Objects and arrays nest at most this deep; V8 has no such limit, but no CNI config comes near it. */
constexpr size_t kMaxJsonDepth = 1000;

/** JSON.parse; throws JsonSyntaxError with V8's message (or one naming kMaxJsonDepth). `text` must be valid UTF-8. */
Value parseJson(const std::string& text);

/** JSON.stringify(value): compact, keys in JavaScript's property order. */
std::string stringify(const Value& v);
/** JSON.stringify of a string. */
std::string quote(const std::string& s);
/** Compact JSON with every object's keys sorted (as Go writes maps). */
std::string renderSorted(const Value& v);

}  // namespace cni
