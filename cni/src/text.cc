#include "text.h"

#include <cerrno>
#include <cstring>

namespace cni {

namespace {

bool cont(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

std::string sanitizeUtf8(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      i++;
      continue;
    }
    // WHATWG decoding: the bounds of the second byte depend on the first; a bad byte ends the
    // maximal subpart, which becomes one U+FFFD, and is looked at again as a new start.
    size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      out += "\xEF\xBF\xBD";
      i++;
      continue;
    }
    size_t j = i + 1;
    size_t got = 0;
    while (got < need && j < n) {
      unsigned char d = s[j];
      if (got == 0 ? (d < lo || d > hi) : !cont(d)) break;
      j++;
      got++;
    }
    if (got == need) out.append(in, i, j - i);
    else out += "\xEF\xBF\xBD";
    i = j;
  }
  return out;
}

std::vector<char32_t> codePoints(const std::string& str) {
  std::vector<char32_t> out;
  const auto* s = reinterpret_cast<const unsigned char*>(str.data());
  size_t n = str.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    char32_t cp;
    size_t len;
    if (c < 0x80) cp = c, len = 1;
    else if (c < 0xE0) cp = c & 0x1F, len = 2;
    else if (c < 0xF0) cp = c & 0x0F, len = 3;
    else cp = c & 0x07, len = 4;
    for (size_t k = 1; k < len && i + k < n; k++) cp = (cp << 6) | (s[i + k] & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

void appendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

namespace {

size_t seqLen(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

}  // namespace

size_t utf16Length(const std::string& s) {
  size_t units = 0;
  for (size_t i = 0; i < s.size(); i += seqLen(static_cast<unsigned char>(s[i]))) {
    units += seqLen(static_cast<unsigned char>(s[i])) == 4 ? 2 : 1;
  }
  return units;
}

size_t utf16Offset(const std::string& s, size_t units) {
  size_t i = 0;
  size_t u = 0;
  while (i < s.size() && u < units) {
    size_t len = seqLen(static_cast<unsigned char>(s[i]));
    u += len == 4 ? 2 : 1;
    i += len;
  }
  return i > s.size() ? s.size() : i;
}

std::string utf16Slice(const std::string& s, size_t start, size_t end) {
  std::string out;
  size_t u = 0;
  for (size_t i = 0; i < s.size() && u < end;) {
    size_t len = seqLen(static_cast<unsigned char>(s[i]));
    if (len == 4) {
      char32_t cp = codePoints(s.substr(i, 4)).at(0) - 0x10000;
      char32_t high = 0xD800 + (cp >> 10), low = 0xDC00 + (cp & 0x3FF);
      bool first = u >= start, second = u + 1 >= start && u + 1 < end;
      if (first && second) out.append(s, i, 4);
      else if (first) appendUtf8(out, high);  // WTF-8: JSON output escapes it as \udXXX
      else if (second) appendUtf8(out, low);
      u += 2;
    } else {
      if (u >= start) out.append(s, i, len);
      u += 1;
    }
    i += len;
  }
  return out;
}

bool isJsSpace(char32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0xA0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000: case 0xFEFF:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

std::string jsTrim(const std::string& s) {
  std::vector<char32_t> cps = codePoints(s);
  size_t a = 0, b = cps.size();
  while (a < b && isJsSpace(cps[a])) a++;
  while (b > a && isJsSpace(cps[b - 1])) b--;
  std::string out;
  for (size_t i = a; i < b; i++) appendUtf8(out, cps[i]);
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    if (p == std::string::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
}

std::string joinStrings(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); i++) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

namespace {

std::string normalize(const std::string& path) {
  if (path.empty()) return ".";
  bool absolute = path[0] == '/';
  bool trailing = path.back() == '/';
  std::vector<std::string> parts;
  for (const std::string& p : split(path, '/')) {
    if (p.empty() || p == ".") continue;
    if (p == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
      else if (!absolute) parts.push_back("..");
      continue;
    }
    parts.push_back(p);
  }
  std::string out = joinStrings(parts, "/");
  if (out.empty()) {
    if (absolute) return "/";
    out = ".";
  }
  if (trailing) out += "/";
  return absolute ? "/" + out : out;
}

}  // namespace

std::string pathJoin(const std::string& a, const std::string& b) {
  std::string joined = a;
  if (!b.empty()) joined = a.empty() ? b : a + "/" + b;
  return normalize(joined);
}

std::string errnoName(int err) {
  switch (err) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF) E(ECHILD)
    E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR)
    E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS)
    E(EMLINK) E(EPIPE) E(ENAMETOOLONG) E(ENOTEMPTY) E(ELOOP) E(ENOBUFS) E(EDQUOT) E(ENOSYS)
#undef E
    default:
      return "Unknown system error " + std::to_string(-err);
  }
}

namespace {

/** libuv's wording, which Node puts in its messages; strerror's, lowercased, for the rest. */
std::string uvMessage(int err) {
  switch (err) {
    case EACCES: return "permission denied";
    case EAGAIN: return "resource temporarily unavailable";
    case EBADF: return "bad file descriptor";
    case EBUSY: return "resource busy or locked";
    case EEXIST: return "file already exists";
    case EIO: return "i/o error";
    case EISDIR: return "illegal operation on a directory";
    case ELOOP: return "too many symbolic links encountered";
    case EMFILE: return "too many open files";
    case ENAMETOOLONG: return "name too long";
    case ENOENT: return "no such file or directory";
    case ENOSPC: return "no space left on device";
    case ENOTDIR: return "not a directory";
    case ENOTEMPTY: return "directory not empty";
    case EPERM: return "operation not permitted";
    case EROFS: return "read-only file system";
    case ETXTBSY: return "text file is busy";
    case EDQUOT: return "disk quota exceeded";
    default: {
      std::string m = std::strerror(err);
      for (char& c : m) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      return m;
    }
  }
}

}  // namespace

std::string fsErrorMessage(int err, const std::string& syscall, const std::string& path) {
  std::string m = errnoName(err) + ": " + uvMessage(err) + ", " + syscall;
  if (!path.empty()) m += " '" + path + "'";
  return m;
}

}  // namespace cni
