// The entries the vxlan backend wants for a batch of leases: leases become peers (DirectRouting decided
// for the whole batch in one lookup), peers become groups of entries on our devices. The running network
// and `flanneld diagnose` (wanted.ts) both go through here, so they cannot disagree. Also the log lines
// of a batch.
import type { Native } from '../../native/types.js';
import { leaseKey, type Lease } from '../../subnet-lease/lease.js';
import type { Logger } from '../../common/log.js';
import type { Group } from './owners.js';
import { logPeerChanges } from '../peer-log.js';
import { type Family, type Peer, directReachability, groupKey, peerEntries, peerFamilies } from './peers.js';

export interface PeerBatch {
  /** Usable leases as peers, by subnet key. */
  peers: Map<string, Peer>;
  /** Leases this backend cannot use, with why. */
  ignored: Array<{ lease: Lease; why: string }>;
}

/** Leases as peers by subnet key, and the ones this backend cannot use. Writes nothing, logs nothing. */
export async function toPeers(native: Native, leases: readonly Lease[], families: readonly Family[], directRouting: boolean): Promise<PeerBatch> {
  const out: PeerBatch = { peers: new Map(), ignored: [] };
  for (const lease of leases) {
    const fams = peerFamilies(lease, families);
    if (typeof fams === 'string') out.ignored.push({ lease, why: fams });
    else out.peers.set(leaseKey(lease), { key: leaseKey(lease), lease, families: fams });
  }
  if (!directRouting) return out;
  const pfs = [...out.peers.values()].flatMap((p) => p.families);
  const direct = await directReachability(native, pfs.map((pf) => pf.publicIP));
  for (const pf of pfs) pf.direct = direct.get(pf.publicIP) === true;
  return out;
}

/** A peer's groups: per family that we have a device for, its entries on that device. */
export function peerGroups(p: Peer, devices: ReadonlyArray<{ family: Family; ifindex: number }>): Group[] {
  return p.families.flatMap((pf) => {
    const dev = devices.find((x) => x.family === pf.family);
    return dev ? [{ key: groupKey(pf), entries: peerEntries(pf, dev.ifindex) }] : [];
  });
}

/** One warning per lease the backend cannot use. */
export function logIgnored(log: Logger, ignored: PeerBatch['ignored']): void {
  for (const { lease, why } of ignored) {
    const v6 = lease.ipv6Subnet ? ` v6Subnet(${lease.ipv6Subnet})` : '';
    log.warn(`ignoring non-usable lease v4Subnet(${lease.subnet})${v6}: ${why}`);
  }
}

/** The log lines of a batch (backends/peer-log.ts). */
export function logPeers(log: Logger, added: readonly Peer[], removed: readonly Peer[], total: number): void {
  logPeerChanges(log, {
    added: added.flatMap((p) => p.families.map((pf) => `${pf.subnet} at ${pf.publicIP}${pf.direct ? ' (direct route)' : ` VTEP MAC ${pf.vtepMac}`}`)),
    removed: removed.map((p) => p.key),
    addedPeers: added.length,
    removedPeers: removed.length,
    total,
  });
}
