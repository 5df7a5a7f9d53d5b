// Repair from the kernel's notifications: an event that deletes or changes an entry some lease wants
// names the kernel key to put back. Our own writes echo back too; they match what is wanted and name
// nothing. Entries nobody wants (added by hand) are left to the rare full pass.
import type { EntryEvent, FdbEntry, Neigh, Route } from '../../native/types.js';
import { NUD_PERMANENT, RT_TABLE_MAIN } from '../../native/types.js';
import { type Entry, fdbKey, neighKey, routeKey } from './entries.js';
import type { EntryOwners } from './owners.js';

/** The kernel key of a wanted entry that `ev` deleted or changed, or null. `ifindexes`: our devices. */
export function damagedKey(ev: EntryEvent, owners: EntryOwners, ifindexes: readonly number[]): string | null {
  if (ev.type === 'overflow') return null;
  if (ev.type === 'neigh') return neighDamage(ev.neigh, ev.deleted, owners, ifindexes);
  if (ev.type === 'fdb') return fdbDamage(ev.fdb, ev.deleted, owners, ifindexes);
  return routeDamage(ev.route, ev.deleted, owners);
}

function neighDamage(n: Neigh, deleted: boolean, owners: EntryOwners, ifindexes: readonly number[]): string | null {
  if (!ifindexes.includes(n.ifindex)) return null;
  const key = neighKey(n.ifindex, n.ip);
  const want = owners.get(key)?.entry;
  if (!want || want.kind !== 'neigh') return null;
  return deleted || !(n.state & NUD_PERMANENT) || n.mac !== want.mac ? key : null;
}

function fdbDamage(f: FdbEntry, deleted: boolean, owners: EntryOwners, ifindexes: readonly number[]): string | null {
  if (!f.self || !ifindexes.includes(f.ifindex)) return null;
  const key = fdbKey(f.ifindex, f.mac);
  const want = owners.get(key)?.entry;
  if (!want || want.kind !== 'fdb') return null;
  // A deletion of another remote of the same MAC leaves ours in place.
  if (deleted) return f.dst === null || f.dst === want.dst ? key : null;
  return f.dst !== want.dst ? key : null;
}

function routeDamage(r: Route, deleted: boolean, owners: EntryOwners): string | null {
  if (r.table !== RT_TABLE_MAIN || r.metric !== 0) return null;
  const key = routeKey(r.dst);
  const want = owners.get(key)?.entry;
  if (!want || want.kind !== 'route') return null;
  return deleted || !routeMatches(r, want) ? key : null;
}

function routeMatches(r: Route, want: Extract<Entry, { kind: 'route' }>): boolean {
  if (r.gateway !== want.gateway) return false;
  // A DirectRouting route names no device: the kernel picks the underlay.
  return want.ifindex === 0 || (r.ifindex === want.ifindex && r.onlink === want.onlink);
}
