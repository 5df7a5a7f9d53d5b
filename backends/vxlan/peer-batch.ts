// Turning a batch of leases into peers (DirectRouting decided for the whole batch in one lookup), and
// the log lines of a batch.
import type { Native } from '../../native/types.js';
import type { Lease } from '../../subnet-lease/lease.js';
import type { Logger } from '../../subnet-lease/log.js';
import { type Family, type Peer, directReachability, peerFamilies, peerKey } from './peers.js';

const VERBOSE_PEER_LOG_LIMIT = 20;

/** Leases as peers by subnet key; null (with a warning) for a lease this backend cannot use. */
export async function toPeers(native: Native, leases: readonly Lease[], families: readonly Family[], directRouting: boolean, log: Logger): Promise<Map<string, Peer | null>> {
  const out = new Map<string, Peer | null>();
  for (const lease of leases) {
    const fams = peerFamilies(lease, families);
    if (typeof fams !== 'string') {
      out.set(peerKey(lease), { key: peerKey(lease), lease, families: fams });
      continue;
    }
    const v6 = lease.ipv6Subnet ? ` v6Subnet(${lease.ipv6Subnet})` : '';
    log.warn(`ignoring non-usable lease v4Subnet(${lease.subnet})${v6}: ${fams}`);
    out.set(peerKey(lease), null);
  }
  if (!directRouting) return out;
  const pfs = [...out.values()].flatMap((p) => p?.families ?? []);
  const direct = await directReachability(native, pfs.map((pf) => pf.publicIP));
  for (const pf of pfs) pf.direct = direct.get(pf.publicIP) === true;
  return out;
}

/** One line per peer for small batches; a summary (and debug lines) for large ones. */
export function logPeers(log: Logger, added: readonly Peer[], removed: readonly Peer[], total: number): void {
  const each = added.length + removed.length <= VERBOSE_PEER_LOG_LIMIT ? log.info.bind(log) : log.debug.bind(log);
  for (const p of added) {
    for (const pf of p.families) each(`peer added: ${pf.subnet} at ${pf.publicIP}${pf.direct ? ' (direct route)' : ` VTEP MAC ${pf.vtepMac}`}`);
  }
  for (const p of removed) each(`peer removed: ${p.key}`);
  if (added.length + removed.length > VERBOSE_PEER_LOG_LIMIT) log.info(`peers: ${added.length} added or updated, ${removed.length} removed; ${total} in all`);
}
