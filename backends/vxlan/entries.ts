// The kernel entries the backend owns, as plain values with a key each: a permanent neighbour, a
// self permanent FDB entry, a route. Keys say which entries replace one another in the kernel
// (a neighbour per IP and device, an FDB entry per MAC and device, a route per destination).
import type { Op } from '../../native/types.js';

export type Entry =
  | { kind: 'neigh'; ifindex: number; ip: string; mac: string }
  | { kind: 'fdb'; ifindex: number; mac: string; dst: string }
  /** `ifindex` 0 with `onlink` false is a DirectRouting route (`via <public IP>`, no device). */
  | { kind: 'route'; dst: string; gateway: string; ifindex: number; onlink: boolean };

export const neighKey = (ifindex: number, ip: string): string => `neigh ${ifindex} ${ip}`;
export const fdbKey = (ifindex: number, mac: string): string => `fdb ${ifindex} ${mac}`;
export const routeKey = (dst: string): string => `route ${dst}`;

export function entryKey(e: Entry): string {
  if (e.kind === 'neigh') return neighKey(e.ifindex, e.ip);
  if (e.kind === 'fdb') return fdbKey(e.ifindex, e.mac);
  return routeKey(e.dst);
}

/** The address family an entry serves. */
export function entryFamily(e: Entry): 4 | 6 {
  const ip = e.kind === 'fdb' ? e.dst : e.kind === 'neigh' ? e.ip : e.dst;
  return ip.includes(':') ? 6 : 4;
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
