// Turns the registry's snapshots and change batches into what backends want: batches of added/removed
// remote leases. A snapshot (first, or after a compaction) is diffed against what was known, so a
// consumer sees every change exactly once. Our own subnet is filtered out.
import { encodeLeaseAttrs, isSameLease, subnetKey, type Lease, type LeaseEvent, type SubnetPair } from './lease.js';
import type { RegistryWatchItem } from './store.js';

/** Yields one batch for the initial state (possibly empty), then one per non-empty change. */
export async function* watchRemoteLeases(
  items: AsyncIterable<RegistryWatchItem>,
  ownSubnet: () => SubnetPair | null,
): AsyncGenerator<LeaseEvent[]> {
  const known = new Map<string, Lease>();
  let first = true;
  for await (const item of items) {
    const batch = item.kind === 'snapshot' ? reset(known, item.leases) : update(known, item.events);
    const own = ownSubnet();
    const visible = own ? batch.filter((e) => !isSameLease(e.lease, own)) : batch;
    if (visible.length > 0 || first) yield visible;
    first = false;
  }
}

function keyOf(lease: Lease): string {
  return subnetKey(lease.subnet, lease.ipv6Subnet);
}

function changed(a: Lease, b: Lease): boolean {
  return encodeLeaseAttrs(a.attrs) !== encodeLeaseAttrs(b.attrs);
}

function reset(known: Map<string, Lease>, leases: readonly Lease[]): LeaseEvent[] {
  const events: LeaseEvent[] = [];
  const next = new Map(leases.map((l) => [keyOf(l), l] as const));
  for (const [key, lease] of known) {
    if (!next.has(key)) events.push({ type: 'removed', lease });
  }
  for (const [key, lease] of next) {
    const old = known.get(key);
    if (!old || changed(old, lease)) events.push({ type: 'added', lease });
  }
  known.clear();
  for (const [key, lease] of next) known.set(key, lease);
  return events;
}

function update(known: Map<string, Lease>, events: readonly LeaseEvent[]): LeaseEvent[] {
  const out: LeaseEvent[] = [];
  for (const event of events) {
    const key = keyOf(event.lease);
    if (event.type === 'added') {
      known.set(key, event.lease);
      out.push(event);
    } else {
      // A delete carries only the key; hand on the last attributes we knew (the backend needs the VTEP MAC).
      const last = known.get(key);
      known.delete(key);
      out.push({ type: 'removed', lease: last ?? event.lease });
    }
  }
  return out;
}
