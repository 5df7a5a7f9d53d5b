// Which address of an interface flanneld uses (fact sheet §1a): global unicast or link-local, not
// deprecated; global before link-local, then permanent before dynamic, then non-temporary before
// temporary; otherwise the kernel's order. IPv6 flags come from /proc/net/if_inet6; the Native
// address dump carries no IFA_FLAGS, so IPv4 addresses count as permanent and never deprecated.
import { readFile } from 'node:fs/promises';
import type { Addr } from '../native/types.js';
import { parseIP4, parseIP6 } from '../common/ip.js';

export const IFA_F_TEMPORARY = 0x01;
export const IFA_F_DEPRECATED = 0x20;
export const IFA_F_PERMANENT = 0x80;

/** An address with its IFA_F_* flags. */
export interface FlaggedAddr extends Addr {
  flags: number;
}

/** Go's net.IP.IsGlobalUnicast, for text addresses. */
export function isGlobalUnicast(ip: string): boolean {
  if (ip.includes(':')) {
    const n = parseIP6(ip);
    const top = Number(n >> 112n);
    if (n === 0n || n === 1n) return false;
    if ((top & 0xff00) === 0xff00) return false; // multicast
    if ((top & 0xffc0) === 0xfe80) return false; // link-local
    return true;
  }
  const n = parseIP4(ip);
  if (n === 0 || n === 0xffffffff) return false;
  const a = n >>> 24;
  if (a === 127 || a >= 224) return false; // loopback, multicast and class E broadcast
  return (n >>> 16) !== 0xa9fe; // 169.254/16
}

export function isLinkLocalUnicast(ip: string): boolean {
  if (ip.includes(':')) return (Number(parseIP6(ip) >> 112n) & 0xffc0) === 0xfe80;
  return parseIP4(ip) >>> 16 === 0xa9fe;
}

/** The usable addresses in preference order (first = the one flanneld takes). */
export function preferredAddrs(addrs: readonly FlaggedAddr[]): FlaggedAddr[] {
  const usable = addrs.filter((a) => (isGlobalUnicast(a.address) || isLinkLocalUnicast(a.address)) && !(a.flags & IFA_F_DEPRECATED));
  const rank = (a: FlaggedAddr): number =>
    (isGlobalUnicast(a.address) ? 0 : 4) + (a.flags & IFA_F_PERMANENT ? 0 : 2) + (a.flags & IFA_F_TEMPORARY ? 1 : 0);
  return usable.map((a, i) => ({ a, i })).sort((x, y) => rank(x.a) - rank(y.a) || x.i - y.i).map((x) => x.a);
}

/** IPv6 flags per "ifindex/address" from /proc/net/if_inet6 of the current namespace. */
export async function readInet6Flags(path = '/proc/net/if_inet6'): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return out; // IPv6 disabled
  }
  for (const line of text.split('\n')) {
    const [hex, index, , , flags] = line.trim().split(/\s+/);
    if (!hex || hex.length !== 32 || !index || !flags) continue;
    out.set(`${parseInt(index, 16)}/${BigInt(`0x${hex}`)}`, parseInt(flags, 16));
  }
  return out;
}

/** `addrs` with flags: IPv6 from /proc/net/if_inet6, IPv4 as permanent. */
export function withFlags(addrs: readonly Addr[], inet6: ReadonlyMap<string, number>): FlaggedAddr[] {
  return addrs.map((a) => ({
    ...a,
    flags: a.family === 6 ? (inet6.get(`${a.ifindex}/${parseIP6(a.address)}`) ?? IFA_F_PERMANENT) : IFA_F_PERMANENT,
  }));
}
