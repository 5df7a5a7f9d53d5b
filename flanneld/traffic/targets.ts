// From the network config and our lease to what the traffic manager needs per family, and from the
// old subnet.env to the previous network/subnet per family.
import type { NetworkConfig } from '../../subnet-lease/config.js';
import type { Lease } from '../../subnet-lease/lease.js';
import type { PreviousSubnets } from '../subnet-env.js';
import type { FamilyTarget } from './manager.js';
import type { IpFamily } from './rules.js';

/** One target per family in use: the flannel Network and our lease's subnet in it. */
export function trafficTargets(config: NetworkConfig, lease: Lease): FamilyTarget[] {
  const out: FamilyTarget[] = [];
  if (config.enableIPv4 && config.network) out.push({ family: 4, network: config.network.toString(), podCidr: lease.subnet.toString() });
  if (config.enableIPv6 && config.ipv6Network && lease.ipv6Subnet) {
    out.push({ family: 6, network: config.ipv6Network.toString(), podCidr: lease.ipv6Subnet.toString() });
  }
  return out;
}

/** The families the old subnet.env had, with their network and subnet (network address form). */
export function previousTargets(prev: PreviousSubnets | null): Map<IpFamily, { network: string | null; subnet: string | null }> {
  const out = new Map<IpFamily, { network: string | null; subnet: string | null }>();
  if (!prev) return out;
  if (prev.network || prev.subnet) out.set(4, { network: prev.network?.toString() ?? null, subnet: prev.subnet?.toString() ?? null });
  if (prev.ipv6Network || prev.ipv6Subnet) out.set(6, { network: prev.ipv6Network?.toString() ?? null, subnet: prev.ipv6Subnet?.toString() ?? null });
  return out;
}
