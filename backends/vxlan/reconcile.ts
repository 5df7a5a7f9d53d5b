// The reconcile pass (better than the reference, spec README item 5): compare the entries we want
// with what the kernel has, put back what is missing or changed, and remove entries of ours that no
// lease wants any more. "Ours" is narrow on purpose: permanent neighbours and self permanent FDB
// entries on our device, routes out of our device into the flannel network, and (with DirectRouting)
// gatewayed routes of exactly one subnet's size into the network that our daemon's protocol made.
import type { FdbEntry, Native, Neigh, Route } from '../../native/types.js';
import { NUD_PERMANENT, RTPROT_BOOT, RT_TABLE_MAIN } from '../../native/types.js';
import { type Entry, entryKey, sameEntry } from './entries.js';
import { familyOfIP } from '../../common/ip.js';

export interface KernelView {
  neighs: Neigh[];
  fdb: FdbEntry[];
  routes: Route[];
}

export interface OwnedScope {
  family: 4 | 6;
  /** Our device. */
  ifindex: number;
  /** Prefix length of the flannel network, and of each host's subnet in it. */
  networkPrefixLen: number;
  subnetLen: number;
  /** Our own subnet, never a peer's. */
  ownSubnet: string;
  directRouting: boolean;
  /** True when `ip` lies inside `network`. */
  inNetwork(ip: string): boolean;
}

export interface Diff {
  /** Wanted entries the kernel lacks or has with other content, in install order. */
  missing: Entry[];
  /** Entries of ours that nothing wants. */
  stale: Entry[];
}

const ORDER = { neigh: 0, fdb: 1, route: 2 } as const;

/** Pure: which entries to add and which to delete. */
export function diffEntries(wanted: readonly Entry[], kernel: KernelView, scope: OwnedScope): Diff {
  const have = new Map<string, Entry>();
  for (const e of ownedEntries(kernel, scope)) have.set(entryKey(e), e);
  const wantedKeys = new Set(wanted.map(entryKey));
  const missing = wanted.filter((w) => {
    const h = have.get(entryKey(w));
    return !h || !sameEntry(h, w);
  });
  missing.sort((a, b) => ORDER[a.kind] - ORDER[b.kind]);
  const stale = [...have.values()].filter((h) => !wantedKeys.has(entryKey(h)));
  return { missing, stale };
}

/** The kernel's entries that this backend owns, as Entry values. */
export function ownedEntries(kernel: KernelView, scope: OwnedScope): Entry[] {
  return [...eachOwnedEntry(kernel, scope)];
}

/** The same one at a time, so that a caller can pause between chunks (the full pass over 15000 entries). */
export function* eachOwnedEntry(kernel: KernelView, scope: OwnedScope): Generator<Entry> {
  for (const n of kernel.neighs) {
    if (n.ifindex === scope.ifindex && n.family === scope.family && n.state & NUD_PERMANENT && n.mac) {
      yield { kind: 'neigh', ifindex: n.ifindex, ip: n.ip, mac: n.mac };
    }
  }
  for (const f of kernel.fdb) {
    if (f.ifindex === scope.ifindex && f.self && f.state & NUD_PERMANENT && f.dst && f.mac !== '00:00:00:00:00:00' && familyOfIP(f.dst) === scope.family) {
      yield { kind: 'fdb', ifindex: f.ifindex, mac: f.mac, dst: f.dst };
    }
  }
  for (const r of kernel.routes) {
    const e = ownedRoute(r, scope);
    if (e) yield e;
  }
}

function ownedRoute(r: Route, scope: OwnedScope): Entry | null {
  if (r.family !== scope.family || r.table !== RT_TABLE_MAIN || !r.gateway || r.dst === scope.ownSubnet) return null;
  const [ip, len] = r.dst.split('/') as [string, string];
  if (Number(len) < scope.networkPrefixLen || !scope.inNetwork(ip)) return null;
  if (r.ifindex === scope.ifindex) return { kind: 'route', dst: r.dst, gateway: r.gateway, ifindex: r.ifindex, onlink: r.onlink };
  if (scope.directRouting && Number(len) === scope.subnetLen && r.protocol === RTPROT_BOOT) {
    return { kind: 'route', dst: r.dst, gateway: r.gateway, ifindex: 0, onlink: false };
  }
  return null;
}

/** Reads what the kernel has for one family of our device. */
export async function readKernel(native: Native, ifindex: number, family: 4 | 6): Promise<KernelView> {
  const [neighs, fdb, routes] = await Promise.all([
    native.neighList({ ifindex, family }),
    native.fdbList({ ifindex }),
    native.routeList({ family, table: RT_TABLE_MAIN }),
  ]);
  return { neighs, fdb, routes };
}
