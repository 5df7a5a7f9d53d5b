// The reference's lease acquisition decision (tryAcquireLease), as a pure function over the current
// leases so that it can be tested without a store: reuse the lease that carries our public IP, else
// take back the subnet of our previous run (from subnet.env) if it is free, else pick at random among
// up to 100 free subnets.
//
// IPv6-only (EnableIPv4 false) keeps the reference's key format, `0.0.0.0-0&<v6>-<len>` with PublicIP
// 0.0.0.0, but fixes what makes it unworkable there: the lease is found again by its PublicIPv6 (the
// reference matches on PublicIP, which every v6-only host writes as 0.0.0.0, so all hosts shared the
// first host's subnet), and the IPv6 subnet alone is allocated.
import type { NetworkConfig } from './config.js';
import { IP4Net, IP6Net, formatIP4 } from '../common/ip.js';
import { NO_IPV4, hasIPv4, type Lease } from './lease.js';

export interface AllocationInput {
  config: NetworkConfig;
  leases: readonly Lease[];
  publicIP: number;
  /** Our public IPv6 address: what finds our lease again in an IPv6-only network. */
  publicIPv6?: bigint | null;
  previousSubnet: IP4Net | null;
  previousIPv6Subnet: IP6Net | null;
  /** Uniform in [0, 1); injectable for tests. */
  random: () => number;
}

export type Allocation =
  /** Rewrite this existing lease (ours from an earlier run, or a reservation for our IP). */
  | { kind: 'reuse'; lease: Lease; stale: Lease[] }
  /** Create a new key with these subnets. */
  | { kind: 'create'; subnet: IP4Net; ipv6Subnet: IP6Net | null; stale: Lease[]; from: 'previous' | 'random' }
  | { kind: 'exhausted'; family: 'IPv4' | 'IPv6'; stale: Lease[] };

const MAX_CANDIDATES = 100;

/** Whether a subnet pair still fits the config (range and prefix length), as isSubnetConfigCompat. */
export function fitsConfig(config: NetworkConfig, subnet: IP4Net, ipv6Subnet: IP6Net | null): boolean {
  if (!config.enableIPv4) return !hasIPv4({ subnet }) && fitsV6(config, ipv6Subnet);
  if (subnet.ip < config.subnetMin || subnet.ip > config.subnetMax || subnet.prefixLen !== config.subnetLen) {
    return false;
  }
  if (!config.enableIPv6) return ipv6Subnet === null;
  return fitsV6(config, ipv6Subnet);
}

function fitsV6(config: NetworkConfig, ipv6Subnet: IP6Net | null): boolean {
  if (ipv6Subnet === null) return false;
  return (
    ipv6Subnet.ip >= config.ipv6SubnetMin &&
    ipv6Subnet.ip <= config.ipv6SubnetMax &&
    ipv6Subnet.prefixLen === config.ipv6SubnetLen
  );
}

/**
 * Why the previous run's subnets (from subnet.env) cannot be taken back under `config`, or null when
 * they fit: outside the Network, another prefix length, outside SubnetMin..SubnetMax, or the IPv6 part.
 */
export function previousSubnetProblem(config: NetworkConfig, subnet: IP4Net | null, ipv6Subnet: IP6Net | null): string | null {
  if (!config.enableIPv4) {
    if (ipv6Subnet === null) return 'it has no IPv6 subnet (FLANNEL_IPV6_SUBNET), and the network is IPv6-only';
    return fitsV6(config, ipv6Subnet) ? null : `the IPv6 subnet ${ipv6Subnet} does not fit IPv6Network/IPv6SubnetLen/IPv6SubnetMin/IPv6SubnetMax`;
  }
  if (subnet === null) return 'it has no IPv4 subnet (FLANNEL_SUBNET)';
  const net = config.network;
  if (net && !(subnet.prefixLen >= net.prefixLen && net.contains(subnet.ip))) return `${subnet} is outside the Network ${net}`;
  if (subnet.prefixLen !== config.subnetLen) return `${subnet} is not a /${config.subnetLen} (SubnetLen)`;
  if (subnet.ip < config.subnetMin) return `${subnet} is below SubnetMin ${formatIP4(config.subnetMin)}`;
  if (subnet.ip > config.subnetMax) return `${subnet} is past SubnetMax ${formatIP4(config.subnetMax)}`;
  if (!config.enableIPv6 || fitsConfig(config, subnet, ipv6Subnet)) return null;
  if (ipv6Subnet === null) return 'it has no IPv6 subnet (FLANNEL_IPV6_SUBNET), and IPv6 is enabled';
  return `the IPv6 subnet ${ipv6Subnet} does not fit IPv6Network/IPv6SubnetLen/IPv6SubnetMin/IPv6SubnetMax`;
}

/**
 * Decides how to get our lease. Leases carrying our public IP that no longer fit the config are
 * returned as `stale` (the caller deletes them, as the reference does).
 */
export function allocate(input: AllocationInput): Allocation {
  const { config, leases } = input;
  const stale: Lease[] = [];
  for (const lease of leases) {
    if (!isOurs(lease, input)) continue;
    if (fitsConfig(config, lease.subnet, lease.ipv6Subnet)) return { kind: 'reuse', lease, stale };
    stale.push(lease);
  }
  const live = leases.filter((l) => !stale.includes(l));
  const prev = previousSubnets(input, live);
  if (prev) return { kind: 'create', ...prev, stale, from: 'previous' };

  const subnet = config.enableIPv4 ? pickFree4(config, live, input.random) : NO_IPV4;
  if (!subnet) return { kind: 'exhausted', family: 'IPv4', stale };
  let ipv6Subnet: IP6Net | null = null;
  if (config.enableIPv6) {
    ipv6Subnet = pickFree6(config, live, input.random);
    if (!ipv6Subnet) return { kind: 'exhausted', family: 'IPv6', stale };
  }
  return { kind: 'create', subnet, ipv6Subnet, stale, from: 'random' };
}

/** Whether a lease carries our public address: PublicIP, or PublicIPv6 in an IPv6-only network. */
function isOurs(lease: Lease, input: AllocationInput): boolean {
  if (input.config.enableIPv4) return input.publicIP !== 0 && lease.attrs.publicIP === input.publicIP;
  const ours = input.publicIPv6 ?? null;
  return ours !== null && !hasIPv4(lease) && lease.attrs.publicIPv6 === ours;
}

function previousSubnets(input: AllocationInput, live: readonly Lease[]): { subnet: IP4Net; ipv6Subnet: IP6Net | null } | null {
  const subnet = input.config.enableIPv4 ? input.previousSubnet : NO_IPV4;
  if (!subnet) return null;
  const ipv6Subnet = input.config.enableIPv6 ? input.previousIPv6Subnet : null;
  if (!input.config.enableIPv4 && !ipv6Subnet) return null;
  if (hasIPv4({ subnet }) && live.some((l) => hasIPv4(l) && l.subnet.overlaps(subnet))) return null;
  if (ipv6Subnet && live.some((l) => l.ipv6Subnet?.overlaps(ipv6Subnet))) return null;
  if (!fitsConfig(input.config, subnet, ipv6Subnet)) return null;
  return { subnet, ipv6Subnet };
}

function pickFree4(config: NetworkConfig, live: readonly Lease[], random: () => number): IP4Net | null {
  const size = 2 ** (32 - config.subnetLen);
  // Same-length leases are the common case: a set lookup keeps the scan linear in large clusters.
  const v4 = live.filter(hasIPv4); // an IPv6-only lease's 0.0.0.0/0 takes no IPv4 space
  const sameLen = new Set(v4.filter((l) => l.subnet.prefixLen === config.subnetLen).map((l) => l.subnet.ip));
  const otherLen = v4.filter((l) => l.subnet.prefixLen !== config.subnetLen).map((l) => l.subnet);
  const free: IP4Net[] = [];
  for (let ip = config.subnetMin; ip <= config.subnetMax && free.length < MAX_CANDIDATES; ip += size) {
    if (sameLen.has(ip)) continue;
    const candidate = new IP4Net(ip, config.subnetLen);
    if (!otherLen.some((t) => t.overlaps(candidate))) free.push(candidate);
  }
  return pick(free, random);
}

function pickFree6(config: NetworkConfig, live: readonly Lease[], random: () => number): IP6Net | null {
  const size = 1n << BigInt(128 - config.ipv6SubnetLen);
  const taken = live.flatMap((l) => (l.ipv6Subnet ? [l.ipv6Subnet] : []));
  const free: IP6Net[] = [];
  for (let ip = config.ipv6SubnetMin; ip <= config.ipv6SubnetMax && free.length < MAX_CANDIDATES; ip += size) {
    const candidate = new IP6Net(ip, config.ipv6SubnetLen);
    if (!taken.some((t) => t.overlaps(candidate))) free.push(candidate);
  }
  return pick(free, random);
}

function pick<T>(xs: T[], random: () => number): T | null {
  if (xs.length === 0) return null;
  return xs[Math.min(xs.length - 1, Math.floor(random() * xs.length))]!;
}
