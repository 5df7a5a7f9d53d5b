// The delegate: the config handed to it (bridge + host-local by default), built exactly as the
// reference builds it, and running it as libcni's invoke package does: found by name in CNI_PATH,
// started with this process's environment and CNI_COMMAND set, the config on stdin. Its stderr is
// copied to ours; a failure comes back as the error JSON it printed, or one made from its stderr.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "json.h"
#include "netconf.h"
#include "subnet-env.h"

namespace cni {

/** The version to write into the delegate's config for a config of `version` (1.1.0 goes as 1.0.0). */
std::string delegateVersion(const std::string& version);

/**
 * The delegate config for ADD. Only `name`, `cniVersion`, `runtimeConfig` and `ipam` of the plugin's
 * own config reach the delegate; `args`, `capabilities` and `prevResult` do not, as in the reference.
 */
Value buildDelegateConfig(const NetConf& n, const SubnetEnv& se);

/** Environment changes for the delegate: a value sets the variable, nullopt removes it. */
using EnvChanges = std::map<std::string, std::optional<std::string>>;

struct DelegateCall {
  std::string plugin;
  /** "ADD", "DEL" or "CHECK". */
  std::string command;
  std::string config;
  std::vector<std::string> cniPath;
  EnvChanges env;
};

/** Runs the delegate and returns its stdout; throws the delegate's own CniError when it fails. */
std::string execDelegate(const DelegateCall& call);

}  // namespace cni
