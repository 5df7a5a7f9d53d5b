// The entries the vxlan backend wants in the kernel for a set of leases, computed the way the running
// network computes them (peerFamilies, the DirectRouting test, peerEntries), for readers outside the
// running daemon such as `flanneld diagnose`. It writes nothing.
import type { Native } from '../../native/types.js';
import type { Lease } from '../../subnet-lease/lease.js';
import type { Entry } from './entries.js';
import { type Family, type PeerFamily, directReachability, peerEntries, peerFamilies, peerKey } from './peers.js';

/** One wanted entry and the lease it serves. */
export interface WantedEntry {
  entry: Entry;
  lease: Lease;
}

export interface WantedEntries {
  entries: WantedEntry[];
  /** Leases the backend would skip, with the reason it would log. */
  ignored: Array<{ lease: Lease; why: string }>;
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
  const out: WantedEntries = { entries: [], ignored: [] };
  const ownKey = peerKey(own);
  const usable: Array<{ lease: Lease; fams: PeerFamily[] }> = [];
  for (const lease of leases) {
    if (peerKey(lease) === ownKey) continue;
    const fams = peerFamilies(lease, devices.map((d) => d.family));
    if (typeof fams === 'string') out.ignored.push({ lease, why: fams });
    else usable.push({ lease, fams });
  }
  const direct = directRouting ? await directReachability(native, usable.flatMap((u) => u.fams.map((pf) => pf.publicIP))) : new Map<string, boolean>();
  for (const { lease, fams } of usable) {
    for (const pf of fams) {
      pf.direct = direct.get(pf.publicIP) === true;
      const dev = devices.find((d) => d.family === pf.family);
      if (dev) out.entries.push(...peerEntries(pf, dev.ifindex).map((entry) => ({ entry, lease })));
    }
  }
  return out;
}
