// The kernel entries the backend owns, as plain values with a key each: a permanent neighbour, a
// self permanent FDB entry, a route. Keys say which entries replace one another in the kernel
// (a neighbour per IP and device, an FDB entry per MAC and device, a route per destination).
import type { Op } from '../../native/types.js';

export type Entry =
  | { kind: 'neigh'; ifindex: number; ip: string; mac: string }
  | { kind: 'fdb'; ifindex: number; mac: string; dst: string }
  /** `ifindex` 0 with `onlink` false is a DirectRouting route (`via <public IP>`, no device). */
  | { kind: 'route'; dst: string; gateway: string; ifindex: number; onlink: boolean };

export function entryKey(e: Entry): string {
  if (e.kind === 'neigh') return `neigh ${e.ifindex} ${e.ip}`;
  if (e.kind === 'fdb') return `fdb ${e.ifindex} ${e.mac}`;
  return `route ${e.dst}`;
}

/** Same key and same content: nothing to do. */
export function sameEntry(a: Entry, b: Entry): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function replaceOp(e: Entry): Op {
  if (e.kind === 'neigh') return { op: 'neigh.replace', neigh: { ifindex: e.ifindex, ip: e.ip, mac: e.mac } };
  if (e.kind === 'fdb') return { op: 'fdb.replace', fdb: { ifindex: e.ifindex, mac: e.mac, dst: e.dst } };
  return { op: 'route.replace', route: routeSpec(e) };
}

export function deleteOp(e: Entry): Op {
  if (e.kind === 'neigh') return { op: 'neigh.delete', neigh: { ifindex: e.ifindex, ip: e.ip } };
  if (e.kind === 'fdb') return { op: 'fdb.delete', fdb: { ifindex: e.ifindex, mac: e.mac, dst: e.dst } };
  return { op: 'route.delete', route: routeSpec(e) };
}

function routeSpec(e: Extract<Entry, { kind: 'route' }>): { dst: string; gateway: string; ifindex?: number; onlink?: boolean } {
  return e.ifindex ? { dst: e.dst, gateway: e.gateway, ifindex: e.ifindex, onlink: e.onlink } : { dst: e.dst, gateway: e.gateway };
}

/** Words for logs, in `ip`/`bridge` terms. */
export function describeEntry(e: Entry, devName: string): string {
  if (e.kind === 'neigh') return `neigh ${e.ip} lladdr ${e.mac} dev ${devName}`;
  if (e.kind === 'fdb') return `fdb ${e.mac} dst ${e.dst} dev ${devName}`;
  return e.ifindex ? `route ${e.dst} via ${e.gateway} dev ${devName} onlink` : `route ${e.dst} via ${e.gateway}`;
}

/** Counts how many wanted entries share each key, so an entry still wanted by another peer is never deleted. */
export class KeyCount {
  private readonly counts = new Map<string, number>();
  add(entries: readonly Entry[]): void {
    for (const e of entries) {
      const k = entryKey(e);
      this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    }
  }
  remove(entries: readonly Entry[]): void {
    for (const e of entries) {
      const k = entryKey(e);
      const n = (this.counts.get(k) ?? 0) - 1;
      if (n > 0) this.counts.set(k, n);
      else this.counts.delete(k);
    }
  }
  has(e: Entry): boolean {
    return this.counts.has(entryKey(e));
  }
  clear(): void {
    this.counts.clear();
  }
}
