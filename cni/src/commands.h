// The plugin's commands. ADD saves the rendered delegate config before it delegates, so a DEL after
// a failed or interrupted ADD still reaches the delegate and frees what it took. STATUS and GC are
// CNI 1.1.0's: STATUS answers whether this node can take pods (subnet.env is readable and valid);
// GC hands each saved config of an attachment the runtime no longer knows to the delegate as a DEL
// (Debian's plugins 1.1.1 predate GC), which frees the address in host-local, then removes it.
#pragma once
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "json.h"
#include "netconf.h"

namespace cni {

/** The CNI environment of ADD, DEL and CHECK. */
struct CniArgs {
  std::string command;
  std::string containerId;
  /** CNI_PATH split on ':' with empty entries dropped. */
  std::vector<std::string> path;
};

/** Returns the delegate's result (stdout) unchanged, or relabelled 1.1.0; throws CniError. */
std::string cmdAdd(const CniArgs& args, const NetConf& conf);
/** Succeeds when there is nothing saved for the container; removes the file once the delegate succeeded. */
void cmdDel(const CniArgs& args, const NetConf& conf);
/** Throws code 50 naming the file when subnet.env is missing, unreadable or invalid. */
void cmdStatus(const NetConf& conf);
/** Container IDs of `cni.dev/valid-attachments`; code 7 naming the field when it is malformed. */
std::set<std::string> validAttachments(const Value& raw);
/** Removes every saved config not in `keep` after its delegate DEL; the first failure is thrown after the rest ran. */
void cmdGc(const NetConf& conf, const std::set<std::string>& keep, const std::vector<std::string>& cniPath);

/** The saved config of a container, or nullopt when there is none; code 5 when it cannot be read. */
std::optional<std::string> readDelegateConfig(const std::string& dataDir, const std::string& id);
/** The saved config's delegate type, or nullopt when it is not a JSON object with a string "type". */
std::optional<std::string> savedType(const std::string& saved);

/** The interface name GC gives the delegate's DEL: the saved config does not keep it; runtimes use eth0. */
extern const char kGcIfName[];

}  // namespace cni
