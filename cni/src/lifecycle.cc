// STATUS and GC (CNI 1.1.0).
#include <cerrno>
#include <memory>
#include <optional>

#include "commands.h"
#include "delegate.h"
#include "errors.h"
#include "files.h"
#include "subnet-env.h"
#include "text.h"

namespace cni {

const char kGcIfName[] = "eth0";

void cmdStatus(const NetConf& conf) {
  try {
    loadSubnetEnv(conf.subnetFile);
  } catch (const CniError& e) {
    throw CniError(kPluginNotAvailable, "flannel is not ready: " + conf.subnetFile + " is missing or invalid", e.msg);
  }
}

std::set<std::string> validAttachments(const Value& raw) {
  const Value* list = raw.get("cni.dev/valid-attachments");
  auto bad = [&](const std::string& what) {
    throw CniError(kInvalidNetworkConfig, "invalid cni.dev/valid-attachments: " + what, "netconf field \"cni.dev/valid-attachments\" is " + stringify(*list));
  };
  std::set<std::string> ids;
  if (list == nullptr || list->isNull()) return ids;
  if (list->kind != Value::Kind::Array) bad("not a list");
  for (const Value& a : list->items) {
    const Value* id = a.isObject() ? a.get("containerID") : nullptr;
    if (id == nullptr || !id->isString()) bad("an entry without a string \"containerID\"");
    ids.insert(id->text);
  }
  return ids;
}

namespace {

/** The saved configs' container IDs (file names; no dot files, as container IDs never start with '.'). */
std::vector<std::string> savedIds(const std::string& dataDir) {
  std::vector<std::string> names;
  FsResult r = listFiles(dataDir, names);
  if (r.err == ENOENT) return {};
  if (!r.ok()) throw CniError(kIOFailure, "failed to list saved delegate configs in " + dataDir, r.message());
  std::vector<std::string> ids;
  for (const std::string& n : names) {
    if (n[0] != '.') ids.push_back(n);
  }
  return ids;
}

void gcOne(const std::string& dataDir, const std::string& id, const std::vector<std::string>& cniPath) {
  std::optional<std::string> saved = readDelegateConfig(dataDir, id);
  if (!saved) return;
  std::optional<std::string> type = savedType(*saved);
  if (type) {
    EnvChanges env = {{"CNI_CONTAINERID", id}, {"CNI_IFNAME", std::string(kGcIfName)}, {"CNI_NETNS", std::nullopt}, {"CNI_ARGS", std::nullopt}};
    execDelegate({*type, "DEL", *saved, cniPath, env});
  }
  removeFile(pathJoin(dataDir, id));
}

}  // namespace

void cmdGc(const NetConf& conf, const std::set<std::string>& keep, const std::vector<std::string>& cniPath) {
  std::unique_ptr<CniError> first;
  for (const std::string& id : savedIds(conf.dataDir)) {
    if (keep.count(id)) continue;
    try {
      gcOne(conf.dataDir, id, cniPath);
    } catch (const CniError& e) {
      writeAll(2, "GC of " + conf.dataDir + "/" + id + " failed: " + e.message() + "\n");
      if (!first) first = std::make_unique<CniError>(e);
    }
  }
  if (first) throw *first;
}

}  // namespace cni
