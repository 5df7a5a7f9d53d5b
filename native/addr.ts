// IP and MAC text <-> bytes for netlink attributes, and network masking. Self-contained: the native
// layer depends on nothing above it.
import { isIPv4 } from 'node:net';
import type { Family } from './types.js';

export function ipToBytes(ip: string): Buffer {
  return isIPv4(ip) ? Buffer.from(ip.split('.').map(Number)) : ip6ToBytes(ip);
}

function ip6ToBytes(ip: string): Buffer {
  const out = Buffer.alloc(16);
  let text = ip;
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4tail) {
    const [a, b, c, d] = v4tail[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export function bytesToIP(b: Buffer): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j > i ? j : i + 1;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Canonical text of an address (v6 compressed as the kernel tools print it). */
export function canonicalIP(ip: string): string {
  return bytesToIP(ipToBytes(ip));
}

export function maskBytes(b: Buffer, prefixLen: number): Buffer {
  const out = Buffer.from(b);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, prefixLen - i * 8));
    out[i]! &= (0xff << (8 - bits)) & 0xff;
  }
  return out;
}

/** True when `ip` lies in `net`/`prefixLen` (same family assumed). */
export function inNetwork(ip: string, net: string, prefixLen: number): boolean {
  return maskBytes(ipToBytes(ip), prefixLen).equals(maskBytes(ipToBytes(net), prefixLen));
}

export function familyOf(ip: string): Family {
  return isIPv4(ip) ? 4 : 6;
}

export function macToBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((x) => parseInt(x, 16)));
}

export function bytesToMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
