// ADD and DEL, and the saved delegate config: <dataDir>/<containerID> from ADD until DEL, so DEL
// hands the delegate exactly what ADD did even when subnet.env changed in between. Same place and
// modes as the reference (directory 0700, file 0600, fsync), so either implementation can DEL the
// other's pods. The container ID has passed the CNI name check (no '/', no leading '.').
#include "commands.h"

#include <cerrno>
#include <optional>

#include "delegate.h"
#include "errors.h"
#include "files.h"
#include "subnet-env.h"
#include "text.h"

namespace cni {

namespace {

void saveDelegateConfig(const std::string& dataDir, const std::string& id, const std::string& config) {
  std::string path = pathJoin(dataDir, id);
  FsResult r = makeDirs(dataDir, 0700);
  if (r.ok()) r = writeFileSynced(path, config, 0600);
  if (!r.ok()) throw CniError(kIOFailure, "failed to save the delegate config to " + path, r.message());
}

/** A 1.0.0 result of a delegate that ran a 1.1.0 config (same format) is given back as 1.1.0. */
std::string relabel(const Value& result, const std::string& version, const std::string& stdoutText) {
  if (version != "1.1.0" || !result.isObject()) return stdoutText;
  const Value* v = result.get("cniVersion");
  if (v == nullptr || !v->isString() || v->text != delegateVersion(version)) return stdoutText;
  Value r = result;
  r.set("cniVersion", Value::makeString(version));
  return stringify(r) + "\n";
}

}  // namespace

std::optional<std::string> readDelegateConfig(const std::string& dataDir, const std::string& id) {
  std::string path = pathJoin(dataDir, id);
  std::string text;
  FsResult r = readWholeFile(path, text);
  if (r.err == ENOENT) return std::nullopt;
  if (!r.ok()) throw CniError(kIOFailure, "failed to read the saved delegate config " + path, r.message());
  return text;
}

std::optional<std::string> savedType(const std::string& saved) {
  try {
    Value o = parseJson(saved);
    const Value* type = o.isObject() ? o.get("type") : nullptr;
    if (type != nullptr && type->isString()) return type->text;
  } catch (const JsonSyntaxError&) {
  }
  return std::nullopt;
}

std::string cmdAdd(const CniArgs& args, const NetConf& conf) {
  SubnetEnv se = loadSubnetEnv(conf.subnetFile);
  Value delegate = buildDelegateConfig(conf, se);
  std::string config = renderSorted(delegate);
  std::string type = delegate.get("type")->text;
  writeAll(2, "delegateAdd: netconf sent to delegate plugin:\n" + config + "\n");
  saveDelegateConfig(conf.dataDir, args.containerId, config);
  std::string out = execDelegate({type, "ADD", config, args.path, {}});
  Value result;
  try {
    result = parseJson(out);
  } catch (const JsonSyntaxError&) {
    throw CniError(kInternal, "failed to delegate add: " + type + " printed a result that is not JSON", utf16Slice(out, 0, 500));
  }
  return relabel(result, conf.cniVersion, out);
}

void cmdDel(const CniArgs& args, const NetConf& conf) {
  std::optional<std::string> saved = readDelegateConfig(conf.dataDir, args.containerId);
  if (!saved) return;
  std::optional<std::string> type = savedType(*saved);
  if (!type) {
    // As the reference: the pod's veth stays on the bridge until the node reboots.
    writeAll(2, "failed to parse netconf " + conf.dataDir + "/" + args.containerId + ": not a JSON object with a string \"type\"\n");
    return;
  }
  execDelegate({*type, "DEL", *saved, args.path, {}});
  removeFile(pathJoin(conf.dataDir, args.containerId));
}

}  // namespace cni
