// IPv4 packets built and checked in TypeScript, independently of the C++ under test.
import { isIPv4 } from 'node:net';

export function ipBytes(ip: string): Buffer {
  if (!isIPv4(ip)) throw new Error(`not IPv4: ${ip}`);
  return Buffer.from(ip.split('.').map(Number));
}

export function ipText(b: Buffer, at: number): string {
  return [...b.subarray(at, at + 4)].join('.');
}

/** The Internet checksum of `b` (one's complement of the one's-complement sum). */
export function inetChecksum(b: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

export interface IPv4Options {
  src: string;
  dst: string;
  proto: number;
  payload: Buffer;
  ttl?: number;
  id?: number;
  /** The 16-bit flags + fragment offset field (default DF). */
  frag?: number;
  tos?: number;
  /** IP options (a multiple of 4 bytes). */
  options?: Buffer;
}

export function ipv4(o: IPv4Options): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const hl = 20 + opts.length;
  const h = Buffer.alloc(hl);
  h[0] = 0x40 | (hl / 4);
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(hl + o.payload.length, 2);
  h.writeUInt16BE(o.id ?? 1, 4);
  h.writeUInt16BE(o.frag ?? 0x4000, 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  ipBytes(o.src).copy(h, 12);
  ipBytes(o.dst).copy(h, 16);
  opts.copy(h, 20);
  h.writeUInt16BE(inetChecksum(h), 10);
  return Buffer.concat([h, o.payload]);
}

function pseudoSum(src: string, dst: string, proto: number, len: number): number {
  const p = Buffer.alloc(12);
  ipBytes(src).copy(p, 0);
  ipBytes(dst).copy(p, 4);
  p[9] = proto;
  p.writeUInt16BE(len, 10);
  let sum = 0;
  for (let i = 0; i < 12; i += 2) sum += p.readUInt16BE(i);
  return sum;
}

export interface TcpOptions {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  seq: number;
  ack?: number;
  /** TCP flags byte (default ACK). */
  flags?: number;
  window?: number;
  options?: Buffer;
  payload: Buffer;
  ttl?: number;
  id?: number;
}

export const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 };

/** A TCP/IPv4 packet with both checksums right. */
export function tcp4(o: TcpOptions): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const t = Buffer.alloc(20 + opts.length);
  t.writeUInt16BE(o.sport ?? 40000, 0);
  t.writeUInt16BE(o.dport ?? 5201, 2);
  t.writeUInt32BE(o.seq >>> 0, 4);
  t.writeUInt32BE((o.ack ?? 1000) >>> 0, 8);
  t[12] = (t.length / 4) << 4;
  t[13] = o.flags ?? TCP.ACK;
  t.writeUInt16BE(o.window ?? 502, 14);
  opts.copy(t, 20);
  const seg = Buffer.concat([t, o.payload]);
  seg.writeUInt16BE(inetChecksum(seg, pseudoSum(o.src, o.dst, 6, seg.length)), 16);
  return ipv4({ src: o.src, dst: o.dst, proto: 6, payload: seg, ttl: o.ttl, id: o.id });
}

/** True when the IPv4 header checksum and (for TCP, UDP, ICMP) the transport checksum verify. */
export function checksumsOk(p: Buffer): boolean {
  const hl = (p[0]! & 15) * 4;
  if (inetChecksum(p.subarray(0, hl)) !== 0) return false;
  const l4 = p.subarray(hl, p.readUInt16BE(2));
  if (p[9] === 1) return inetChecksum(l4) === 0;
  if (p[9] === 6 || p[9] === 17) return inetChecksum(l4, pseudoSum(ipText(p, 12), ipText(p, 16), p[9]!, l4.length)) === 0;
  return true;
}

export function pattern(n: number, seed = 0): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 255;
  return b;
}
