// Text helpers that make the plugin's strings behave as the Node.js plugin's did: input bytes are
// decoded as Node decodes UTF-8 (invalid sequences become U+FFFD), lengths and slices count UTF-16
// code units as JavaScript strings do, and paths are joined as node:path joins them.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace cni {

/** Valid UTF-8, every invalid sequence replaced by U+FFFD as Node's TextDecoder does. */
std::string sanitizeUtf8(const std::string& bytes);

/** The code points of valid UTF-8 (or WTF-8 with lone surrogates). */
std::vector<char32_t> codePoints(const std::string& s);
void appendUtf8(std::string& out, char32_t cp);

/** JavaScript's String length: UTF-16 code units. */
size_t utf16Length(const std::string& s);
/** The byte offset of UTF-16 unit `units`, as slice(0, units) would end (a pair is not split). */
size_t utf16Offset(const std::string& s, size_t units);
/** String.prototype.slice(start, end) in UTF-16 units; a split pair keeps its half as a lone surrogate. */
std::string utf16Slice(const std::string& s, size_t start, size_t end);

/** What JavaScript's \s and String.prototype.trim() count as white space. */
bool isJsSpace(char32_t cp);
std::string jsTrim(const std::string& s);

std::vector<std::string> split(const std::string& s, char sep);
std::string joinStrings(const std::vector<std::string>& parts, const std::string& sep);

/** node:path's posix join of two parts (normalized). */
std::string pathJoin(const std::string& a, const std::string& b);

/** Node's message of a failed fs call: "ENOENT: no such file or directory, open '/x'". */
std::string fsErrorMessage(int err, const std::string& syscall, const std::string& path = "");
/** The errno name ("ENOENT"); "Unknown system error" style fallback. */
std::string errnoName(int err);

}  // namespace cni
