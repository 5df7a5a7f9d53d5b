// IPv4 and IPv6 addresses and networks as plain values: IPv4 as an unsigned 32-bit number, IPv6 as a
// 128-bit bigint. Formatting follows Go's net package (RFC 5952 for IPv6), because subnet keys and
// lease JSON must be byte-identical to the reference daemon's. The last part converts address text to and
// from the bytes of netlink attributes (v6 compressed as the kernel tools print it), for the native layer.
import { isIPv4 } from 'node:net';

export class IPParseError extends Error {
  override readonly name = 'IPParseError';
}

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses a dotted-quad IPv4 address; throws IPParseError naming the value when it is not one. */
export function parseIP4(text: string): number {
  const m = V4_RE.exec(text);
  if (!m) throw new IPParseError(`invalid IPv4 address "${text}"`);
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    const octet = Number(part);
    // Go rejects leading zeros ("010") since 1.17; so do we.
    if (octet > 255 || (part.length > 1 && part.startsWith('0'))) {
      throw new IPParseError(`invalid IPv4 address "${text}"`);
    }
    n = n * 256 + octet;
  }
  return n;
}

export function formatIP4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const V6_MAX = (1n << 128n) - 1n;

/** Parses an IPv6 address (with optional embedded IPv4 tail); throws IPParseError when invalid. */
export function parseIP6(text: string): bigint {
  const bad = (): never => {
    throw new IPParseError(`invalid IPv6 address "${text}"`);
  };
  if (!/^[0-9a-fA-F:.]+$/.test(text)) bad();
  const halves = text.split('::');
  if (halves.length > 2) bad();
  const groups = (s: string): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    parts.forEach((p, i) => {
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIP4(p);
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        bad();
      }
    });
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) bad();
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Formats like Go's net.IP.String(): lowercase, longest run (>= 2) of zero groups compressed, leftmost on ties. */
export function formatIP6(n: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** An IPv4 network; `ip` is always masked to `prefixLen`. */
export class IP4Net {
  readonly ip: number;
  constructor(
    ip: number,
    readonly prefixLen: number,
  ) {
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) {
      throw new IPParseError(`invalid IPv4 prefix length ${prefixLen}`);
    }
    this.ip = (ip & mask4(prefixLen)) >>> 0;
  }
  /** Parses "a.b.c.d/len" and masks it, as Go's ParseCIDR does ("10.244.1.5/16" is 10.244.0.0/16). */
  static parse(text: string): IP4Net {
    const slash = text.indexOf('/');
    const len = text.slice(slash + 1);
    if (slash < 0 || !/^\d{1,2}$/.test(len)) throw new IPParseError(`invalid CIDR address "${text}"`);
    return new IP4Net(parseIP4(text.slice(0, slash)), Number(len));
  }
  get size(): number {
    return 2 ** (32 - this.prefixLen);
  }
  /** The address just past the network. */
  get end(): number {
    return this.ip + this.size;
  }
  contains(ip: number): boolean {
    return ip >= this.ip && ip < this.end;
  }
  overlaps(other: IP4Net): boolean {
    return this.ip < other.end && other.ip < this.end;
  }
  equals(other: IP4Net | null | undefined): boolean {
    return !!other && other.ip === this.ip && other.prefixLen === this.prefixLen;
  }
  toString(): string {
    return `${formatIP4(this.ip)}/${this.prefixLen}`;
  }
}

/** An IPv6 network; `ip` is always masked to `prefixLen`. */
export class IP6Net {
  readonly ip: bigint;
  constructor(
    ip: bigint,
    readonly prefixLen: number,
  ) {
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 128) {
      throw new IPParseError(`invalid IPv6 prefix length ${prefixLen}`);
    }
    this.ip = ip & mask6(prefixLen);
  }
  static parse(text: string): IP6Net {
    const slash = text.indexOf('/');
    const len = text.slice(slash + 1);
    if (slash < 0 || !/^\d{1,3}$/.test(len)) throw new IPParseError(`invalid CIDR address "${text}"`);
    return new IP6Net(parseIP6(text.slice(0, slash)), Number(len));
  }
  get size(): bigint {
    return 1n << BigInt(128 - this.prefixLen);
  }
  get end(): bigint {
    return this.ip + this.size;
  }
  contains(ip: bigint): boolean {
    return ip >= this.ip && ip < this.end;
  }
  overlaps(other: IP6Net): boolean {
    return this.ip < other.end && other.ip < this.end;
  }
  equals(other: IP6Net | null | undefined): boolean {
    return !!other && other.ip === this.ip && other.prefixLen === this.prefixLen;
  }
  toString(): string {
    return `${formatIP6(this.ip)}/${this.prefixLen}`;
  }
}

/** The netmask of an IPv4 prefix length, as an unsigned number. */
export function mask4(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

function mask6(len: number): bigint {
  return len === 0 ? 0n : (V6_MAX << BigInt(128 - len)) & V6_MAX;
}

// Address text <-> netlink bytes, and network masking on bytes.

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
  // node's isIPv4 takes only the canonical dotted quad (no leading zeros), which is its own text.
  return isIPv4(ip) ? ip : bytesToIP(ip6ToBytes(ip));
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

export function familyOfIP(ip: string): 4 | 6 {
  return isIPv4(ip) ? 4 : 6;
}
