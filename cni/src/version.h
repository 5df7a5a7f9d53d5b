// CNI spec versions. The plugin hands the delegate's result through, so it supports what Debian's
// bridge and host-local support (their VERSION answer, up to 1.0.0), plus 1.1.0: its result format is
// 1.0.0's, so a 1.1.0 config is delegated as 1.0.0 and the result relabelled (delegateVersion).
#pragma once
#include <string>

#include "json.h"

namespace cni {

extern const char kCurrentVersion[];

/**
 * A config's version: `cniVersion`, or else the highest supported one of a conflist's `cniVersions`
 * (CNI 1.1.0), or else 0.1.0 as libcni decides. Code 1 when `cniVersions` names none we support.
 */
std::string chooseVersion(const std::string& cniVersion, const Value* cniVersions);
/** Throws code 1 (libcni's text) when the config's version is not one we support. */
void checkSupported(const std::string& version);
/** a >= b for dotted versions ("0.4.0", "1.0.0"); throws code 6 for a version that is not one. */
bool versionAtLeast(const std::string& a, const std::string& b);
/** The VERSION command's answer (JSON). */
std::string versionInfo();

}  // namespace cni
