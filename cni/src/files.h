// The file operations the plugin needs, reporting errno; the callers word the errors as Node's fs
// did for the TypeScript plugin ("EACCES: permission denied, open '/x'").
#pragma once
#include <string>
#include <vector>

namespace cni {

/** A failed call: errno and the syscall Node names in its message. err 0 is success. */
struct FsResult {
  int err = 0;
  std::string syscall;
  std::string path;
  bool ok() const { return err == 0; }
  std::string message() const;
};

/** The whole file (readFileSync). */
FsResult readWholeFile(const std::string& path, std::string& out);
/** mkdir -p with `mode` for what it creates (mkdirSync recursive). */
FsResult makeDirs(const std::string& dir, unsigned mode);
/** Creates or truncates `path` (mode for a new file), writes `data` and fsyncs. */
FsResult writeFileSynced(const std::string& path, const std::string& data, unsigned mode);
/** Removes a file; a missing one is fine (rmSync force). */
void removeFile(const std::string& path);
/** Whether `path` is a regular file, following symlinks (statSync().isFile()). */
bool isRegularFile(const std::string& path);
/** The names of the regular files in `dir` (not following symlinks), in directory order. */
FsResult listFiles(const std::string& dir, std::vector<std::string>& names);

}  // namespace cni

namespace cni {

/** Writes all of `data` to `fd` (stdout, stderr); a failure is ignored, as there is no one to tell. */
void writeAll(int fd, const std::string& data);

}  // namespace cni
