// Remote hosts as the backend sees them: from a lease, per address family, the subnet, the public IP,
// the VTEP MAC and whether DirectRouting applies; and the kernel entries that serve each of them.
import type { Native } from '../../native/types.js';
import { formatIP4, formatIP6 } from '../../common/ip.js';
import type { Lease } from '../../subnet-lease/lease.js';
import type { Entry } from './entries.js';
import { decodeLeaseData } from './lease-data.js';

export type Family = 4 | 6;

export interface PeerFamily {
  family: Family;
  /** "10.244.2.0/24" */
  subnet: string;
  /** The subnet's network address, which is also the remote device's own address. */
  subnetIP: string;
  publicIP: string;
  vtepMac: string;
  /** DirectRouting chose a plain route via the public IP for this peer. */
  direct: boolean;
}

export interface Peer {
  /** The lease's subnet key, e.g. "10.244.2.0/24" (or the v6 subnet for a v6-only lease). */
  key: string;
  lease: Lease;
  families: PeerFamily[];
}


/**
 * The families of `lease` this host can serve (those in `families` for which the lease carries data),
 * with `direct` still false; or a reason why the lease cannot be used at all.
 */
export function peerFamilies(lease: Lease, families: readonly Family[]): PeerFamily[] | string {
  if (lease.attrs.backendType !== 'vxlan') return `type=${JSON.stringify(lease.attrs.backendType ?? '')}`;
  const out: PeerFamily[] = [];
  if (families.includes(4) && lease.attrs.backendData !== undefined && lease.attrs.publicIP !== 0) {
    const data = decodeLeaseData(lease.attrs.backendData);
    if (typeof data === 'string') return data;
    const ip = formatIP4(lease.subnet.ip);
    out.push({ family: 4, subnet: lease.subnet.toString(), subnetIP: ip, publicIP: formatIP4(lease.attrs.publicIP), vtepMac: data.vtepMac, direct: false });
  }
  const v6 = lease.ipv6Subnet;
  if (families.includes(6) && v6 && lease.attrs.backendV6Data !== undefined && lease.attrs.publicIPv6 !== null) {
    const data = decodeLeaseData(lease.attrs.backendV6Data);
    if (typeof data === 'string') return data.replace('BackendData', 'BackendV6Data');
    out.push({ family: 6, subnet: v6.toString(), subnetIP: formatIP6(v6.ip), publicIP: formatIP6(lease.attrs.publicIPv6), vtepMac: data.vtepMac, direct: false });
  }
  if (out.length === 0) return 'it carries no data for the address families in use';
  return out;
}

/**
 * The reference's DirectRouting test for many public IPs in one batched lookup: `ip route get <IP>`
 * gives exactly one route, and it has no gateway (the peer is on our link). A failed lookup means
 * "not direct".
 */
export async function directReachability(native: Native, publicIPs: Iterable<string>): Promise<Map<string, boolean>> {
  const ips = [...new Set(publicIPs)];
  const answers = ips.length === 0 ? [] : await native.routeGetMany(ips);
  return new Map(ips.map((ip, i) => {
    const a = answers[i];
    return [ip, Array.isArray(a) && a.length === 1 && a[0]!.gateway === null];
  }));
}

/** The group key of one peer family: the lease's subnet of that family, and the family. */
export function groupKey(pf: PeerFamily): string {
  return `${pf.family} ${pf.subnet}`;
}

/**
 * The entries for one peer family, in the order they must be installed: without DirectRouting a
 * permanent neighbour (remote .0 → VTEP MAC), the FDB entry (VTEP MAC → public IP) and the onlink
 * route via the remote .0; with it, only a route via the public IP.
 */
export function peerEntries(pf: PeerFamily, ifindex: number): Entry[] {
  if (pf.direct) return [{ kind: 'route', dst: pf.subnet, gateway: pf.publicIP, ifindex: 0, onlink: false }];
  return [
    { kind: 'neigh', ifindex, ip: pf.subnetIP, mac: pf.vtepMac },
    { kind: 'fdb', ifindex, mac: pf.vtepMac, dst: pf.publicIP },
    { kind: 'route', dst: pf.subnet, gateway: pf.subnetIP, ifindex, onlink: true },
  ];
}
