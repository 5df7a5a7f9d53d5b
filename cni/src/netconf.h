// The flannel plugin's network config (stdin), read by one validator. Field names match as Go's
// encoding/json matches them in the reference (case-insensitively, the last duplicate wins), and a
// JSON null leaves a field at its default, as it does there.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "json.h"

namespace cni {

extern const char kDefaultSubnetFile[];
extern const char kDefaultDataDir[];

struct NetConf {
  /** "" when the config has none. */
  std::string cniVersion;
  std::string name;
  std::string subnetFile;
  std::string dataDir;
  /** The delegate options; checked for ADD: no `name`, no `ipam`, a string `type` if any. */
  std::optional<Value> delegate;
  std::optional<Value> ipam;
  /** `ipam.routes`, re-encoded as the reference does (ADD only). */
  std::vector<Value> ipamRoutes;
  std::optional<Value> runtimeConfig;
};

/** Decodes stdin; code 6 when it is not a JSON object. */
Value decodeNetConf(const std::string& stdinText);
/** The config's cniVersion ("" when none), checked first as libcni's skel does; code 6 when not a string. */
std::string peekVersion(const Value& o);
/**
 * Validates a decoded config; code 7 naming the field and value when a field is bad. The checks of
 * the delegate's keys and of ipam.routes are ADD's only, as in the reference: a DEL after an ADD that
 * failed on them must still succeed, or the runtime could never tear the sandbox down.
 */
NetConf validateNetConf(const Value& o, bool forAdd);

/** libcni's rule for names (network names, container IDs). */
bool isValidName(const std::string& name);

/** The message of a field that failed: netconf field "f" must be <expected>, got <value as JSON>. */
std::string fieldMessage(const std::string& field, const std::string& expected, const Value* value);

}  // namespace cni
