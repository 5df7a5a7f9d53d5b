// subnet.env as the flannel CNI plugin reads it: FLANNEL_NETWORK and FLANNEL_IPV6_NETWORK may be
// comma lists (deduplicated), the subnets are masked to their network, FLANNEL_IPMASQ is true only
// when literally "true", unknown keys are ignored. The file is flanneld's; a missing one means
// flanneld has not started on this node yet, which is worth a retry.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace cni {

struct SubnetEnv {
  std::vector<std::string> networks;
  /** FLANNEL_SUBNET masked: 10.244.1.1/24 gives 10.244.1.0/24. */
  std::optional<std::string> subnet;
  std::vector<std::string> ipv6Networks;
  std::optional<std::string> ipv6Subnet;
  /** FLANNEL_MTU as decimal text. */
  std::string mtu;
  bool ipMasq = false;
};

/** Reads and parses the file; code 11 when it does not exist, 5 when it cannot be read, 7 when invalid. */
SubnetEnv loadSubnetEnv(const std::string& path);

}  // namespace cni
