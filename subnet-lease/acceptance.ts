// The one acceptance rule for another host's lease, checked where leases enter flanneld and before any
// backend sees them (issue 12). This file holds the checks on one lease alone; `acceptor.ts` adds the
// checks against the other leases (overlaps, older wins). Pure: no I/O, no clock.
import type { NetworkConfig } from './config.js';
import { IP4Net, IP6Net, formatIP4, formatIP6, parseIP4, parseIP6 } from '../common/ip.js';
import { hasIPv4, type Lease, type LeaseAttrs } from './lease.js';

/** The `reason` label of flannel_leases_rejected_total. */
export type RejectReason =
  | 'host_bits'
  | 'subnet_len'
  | 'outside_network'
  | 'overlaps_own'
  | 'overlaps_lease'
  | 'public_ip'
  | 'backend_type'
  | 'backend_data';

export interface Rejection {
  reason: RejectReason;
  /** The lease field at fault, as written in the store (`key`, `PublicIP`, `BackendData.VtepMAC`, …). */
  field: string;
  why: string;
  /** overlaps_lease: the key of the accepted lease in the way. */
  blocker?: string;
}

/** The backend's check of its own data in a lease: a reason when unusable, null when fine. */
export type LeaseDataValidator = (attrs: LeaseAttrs, lease: Lease) => string | null;

export interface AcceptRules {
  network: IP4Net | null;
  ipv6Network: IP6Net | null;
  /** Every key must have exactly this prefix length (etcd mode); null accepts any (kube: the podCIDR). */
  subnetLen: number | null;
  ipv6SubnetLen: number | null;
  backendType: string;
  validateLeaseData: LeaseDataValidator | null;
}

/** What we are: our subnets and public addresses (a lease may claim none of them). */
export interface OwnIdentity {
  subnet: IP4Net | null;
  ipv6Subnet: IP6Net | null;
  publicIP: number;
  publicIPv6: bigint | null;
}

/** The rules for a network config; `subnetLen` is enforced only when the store allocates by it (etcd). */
export function rulesFor(cfg: NetworkConfig, exactLen: boolean, validate: LeaseDataValidator | null): AcceptRules {
  return {
    network: cfg.enableIPv4 ? cfg.network : null,
    ipv6Network: cfg.enableIPv6 ? cfg.ipv6Network : null,
    subnetLen: exactLen ? cfg.subnetLen : null,
    ipv6SubnetLen: exactLen ? cfg.ipv6SubnetLen : null,
    backendType: cfg.backendType,
    validateLeaseData: validate,
  };
}

const reject = (reason: RejectReason, field: string, why: string): Rejection => ({ reason, field, why });

/** The checks on one lease alone, in the order the issue lists them; null when it passes them all. */
export function checkLease(lease: Lease, rules: AcceptRules, own: OwnIdentity): Rejection | null {
  return checkKey(lease, rules) ?? checkOwnOverlap(lease, own) ?? checkPublicIPs(lease, rules, own) ?? checkBackend(lease, rules);
}

/** The key's address parts as written, before IP4Net/IP6Net masked them. */
function writtenAddresses(key: string): { v4: number | null; v6: bigint | null } {
  const m = /(\d+\.\d+\.\d+\.\d+)-\d+(?:&([a-f\d:]+)-\d+)?$/i.exec(key);
  if (!m) return { v4: null, v6: null };
  try {
    return { v4: parseIP4(m[1]!), v6: m[2] === undefined ? null : parseIP6(m[2]) };
  } catch {
    return { v4: null, v6: null };
  }
}

function checkKey(lease: Lease, rules: AcceptRules): Rejection | null {
  const written = lease.key === undefined ? { v4: null, v6: null } : writtenAddresses(lease.key);
  if (written.v4 !== null && written.v4 !== lease.subnet.ip) {
    return reject('host_bits', 'key', `${formatIP4(written.v4)}/${lease.subnet.prefixLen} has host bits set (the network address is ${formatIP4(lease.subnet.ip)})`);
  }
  if (written.v6 !== null && lease.ipv6Subnet && written.v6 !== lease.ipv6Subnet.ip) {
    return reject('host_bits', 'key', `${formatIP6(written.v6)}/${lease.ipv6Subnet.prefixLen} has host bits set (the network address is ${formatIP6(lease.ipv6Subnet.ip)})`);
  }
  return checkFamily(lease.subnet, rules.network, rules.subnetLen, 'subnet') ?? checkV6(lease, rules);
}

function checkV6(lease: Lease, rules: AcceptRules): Rejection | null {
  if (!lease.ipv6Subnet) {
    return rules.ipv6Network && !rules.network ? reject('outside_network', 'key', 'has no IPv6 subnet, and the network is IPv6-only') : null;
  }
  if (!rules.ipv6Network) return null; // an IPv6 part we do not use is ignored, as the reference does
  return checkFamily(lease.ipv6Subnet, rules.ipv6Network, rules.ipv6SubnetLen, 'IPv6 subnet');
}

function checkFamily<N extends IP4Net | IP6Net>(subnet: N, network: N | null, len: number | null, what: string): Rejection | null {
  if (!network) return null;
  if (len !== null && subnet.prefixLen !== len) {
    return reject('subnet_len', 'key', `${what} ${subnet.toString()} is not a /${len} (SubnetLen of the network config)`);
  }
  const inside = subnet.prefixLen >= network.prefixLen && (network as IP4Net).contains(subnet.ip as never);
  if (!inside) return reject('outside_network', 'key', `${what} ${subnet.toString()} is outside the Network ${network.toString()}`);
  return null;
}

function checkOwnOverlap(lease: Lease, own: OwnIdentity): Rejection | null {
  if (own.subnet && hasIPv4(lease) && own.subnet.overlaps(lease.subnet)) {
    return reject('overlaps_own', 'key', `${lease.subnet.toString()} overlaps our own subnet ${own.subnet.toString()}`);
  }
  if (own.ipv6Subnet && lease.ipv6Subnet && own.ipv6Subnet.overlaps(lease.ipv6Subnet)) {
    return reject('overlaps_own', 'key', `${lease.ipv6Subnet.toString()} overlaps our own subnet ${own.ipv6Subnet.toString()}`);
  }
  return null;
}

function checkPublicIPs(lease: Lease, rules: AcceptRules, own: OwnIdentity): Rejection | null {
  const { publicIP, publicIPv6 } = lease.attrs;
  if (rules.network) {
    const why = ip4Problem(publicIP, own.publicIP);
    if (why) return reject('public_ip', 'PublicIP', `${formatIP4(publicIP)} ${why}`);
  }
  if (rules.ipv6Network && lease.ipv6Subnet) {
    if (publicIPv6 === null) return reject('public_ip', 'PublicIPv6', 'is missing for a lease with an IPv6 subnet');
    const why = ip6Problem(publicIPv6, own.publicIPv6);
    if (why) return reject('public_ip', 'PublicIPv6', `${formatIP6(publicIPv6)} ${why}`);
  }
  return null;
}

function ip4Problem(ip: number, ownIP: number): string | null {
  if (ip === 0) return 'is unspecified';
  if (ip >>> 24 === 127) return 'is a loopback address';
  if (ip >>> 28 === 0xe) return 'is a multicast address';
  if (ip === 0xffffffff) return 'is the broadcast address';
  if (ip === ownIP) return 'is our own address';
  return null;
}

function ip6Problem(ip: bigint, ownIP: bigint | null): string | null {
  if (ip === 0n) return 'is unspecified';
  if (ip === 1n) return 'is a loopback address';
  if (ip >> 120n === 0xffn) return 'is a multicast address';
  if (ownIP !== null && ip === ownIP) return 'is our own address';
  return null;
}

const NO_TYPE_WRITTEN = new Set(['udp', 'alloc']);

function checkBackend(lease: Lease, rules: AcceptRules): Rejection | null {
  const type = lease.attrs.backendType ?? '';
  // The udp and alloc backends write no BackendType (as the reference's); the others write their own.
  const sameType = type.toLowerCase() === rules.backendType || (type === '' && NO_TYPE_WRITTEN.has(rules.backendType));
  if (!sameType) return reject('backend_type', 'BackendType', `${JSON.stringify(type)} is not ours (${JSON.stringify(rules.backendType)})`);
  const why = rules.validateLeaseData?.(lease.attrs, lease) ?? null;
  if (why) {
    const field = /^(BackendV6Data|BackendData)(\.\w+)?/.exec(why)?.[0] ?? 'BackendData';
    return reject('backend_data', field, why);
  }
  return null;
}
