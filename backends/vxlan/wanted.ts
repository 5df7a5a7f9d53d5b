// The entries the vxlan backend wants in the kernel for a set of leases, for readers outside the running
// daemon such as `flanneld diagnose`: the same toPeers and peerGroups the running network calls. It
// writes nothing.
import type { Native } from '../../native/types.js';
import { leaseKey, type Lease } from '../../subnet-lease/lease.js';
import type { Entry } from './entries.js';
import type { Family } from './peers.js';
import { type PeerBatch, peerGroups, toPeers } from './peer-batch.js';

/** One wanted entry and the lease it serves. */
export interface WantedEntry {
  entry: Entry;
  lease: Lease;
}

export interface WantedEntries {
  entries: WantedEntry[];
  /** Leases the backend would skip, with the reason it would log. */
  ignored: PeerBatch['ignored'];
}

/**
 * The entries for every lease in `leases` except `own` (matched by subnet key, as the network does),
 * on the devices given per family. With `directRouting` each peer is asked about with `ip route get`
 * (read-only). Rejects only when the native layer fails in a way the backend would not tolerate.
 */
export async function wantedEntries(
  native: Native,
  leases: readonly Lease[],
  own: Lease,
  devices: ReadonlyArray<{ family: Family; ifindex: number }>,
  directRouting: boolean,
): Promise<WantedEntries> {
  const others = leases.filter((l) => leaseKey(l) !== leaseKey(own));
  const batch = await toPeers(native, others, devices.map((d) => d.family), directRouting);
  const entries = [...batch.peers.values()].flatMap((p) => peerGroups(p, devices).flatMap((g) => g.entries.map((entry) => ({ entry, lease: p.lease }))));
  return { entries, ignored: batch.ignored };
}
