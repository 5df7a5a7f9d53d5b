// The log lines of a batch of peer changes, the same for every backend: one info line per peer for
// small batches; for large ones (a start-up with thousands of leases) debug lines and one info summary.

import type { Logger } from '../common/log.js';

const VERBOSE_PEER_LOG_LIMIT = 20;

export interface PeerChanges {
  /** One text per added or updated peer ("10.244.2.0/24 at 198.18.0.2 …"); a peer may have several. */
  added: readonly string[];
  removed: readonly string[];
  /** Peers added or updated, and removed (they may differ from the number of lines). */
  addedPeers: number;
  removedPeers: number;
  /** Peers in all after the batch. */
  total: number;
}

export function logPeerChanges(log: Logger, c: PeerChanges): void {
  const n = c.addedPeers + c.removedPeers;
  const each = n <= VERBOSE_PEER_LOG_LIMIT ? log.info.bind(log) : log.debug.bind(log);
  for (const a of c.added) each(`peer added: ${a}`);
  for (const r of c.removed) each(`peer removed: ${r}`);
  if (n > VERBOSE_PEER_LOG_LIMIT) log.info(`peers: ${c.addedPeers} added or updated, ${c.removedPeers} removed; ${c.total} in all`);
}
