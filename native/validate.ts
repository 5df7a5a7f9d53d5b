// Argument checks made in TypeScript, before anything crosses into C++: each throws a
// NativeArgumentError naming the operation and the bad value.
import { isIPv4, isIPv6 } from 'node:net';
import { NativeArgumentError } from './errors.js';
import type { Family } from './types.js';

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IFNAME_RE = /^[^\s/:]{1,15}$/;

export function checkIP(ctx: string, field: string, ip: unknown): Family {
  if (typeof ip === 'string' && isIPv4(ip)) return 4;
  if (typeof ip === 'string' && isIPv6(ip) && !ip.includes('%')) return 6;
  throw new NativeArgumentError(ctx, `${field} must be an IPv4 or IPv6 address, got ${JSON.stringify(ip)}`);
}

export function checkCIDR(ctx: string, field: string, cidr: unknown): { family: Family; ip: string; prefixLen: number } {
  const text = typeof cidr === 'string' ? cidr : '';
  const slash = text.indexOf('/');
  const ip = text.slice(0, slash);
  const len = text.slice(slash + 1);
  const family = slash > 0 && (isIPv4(ip) ? 4 : isIPv6(ip) ? 6 : 0);
  if (!family || !/^\d{1,3}$/.test(len) || Number(len) > (family === 4 ? 32 : 128)) {
    throw new NativeArgumentError(ctx, `${field} must be a CIDR like 10.244.1.0/24, got ${JSON.stringify(cidr)}`);
  }
  return { family, ip, prefixLen: Number(len) };
}

export function checkMAC(ctx: string, field: string, mac: unknown): string {
  if (typeof mac === 'string' && MAC_RE.test(mac.toLowerCase())) return mac.toLowerCase();
  throw new NativeArgumentError(ctx, `${field} must be a MAC like 0a:1b:2c:3d:4e:5f, got ${JSON.stringify(mac)}`);
}

export function checkInt(ctx: string, field: string, v: unknown, min: number, max: number): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
  throw new NativeArgumentError(ctx, `${field} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
}

export function checkIndex(ctx: string, v: unknown): number {
  return checkInt(ctx, 'ifindex', v, 1, 0x7fffffff);
}

export function checkIfName(ctx: string, name: unknown): string {
  if (typeof name === 'string' && IFNAME_RE.test(name) && name !== '.' && name !== '..') return name;
  throw new NativeArgumentError(ctx, `link name must be 1-15 characters without space, '/' or ':', got ${JSON.stringify(name)}`);
}

export function checkSysctlKey(ctx: string, key: unknown): string {
  if (typeof key === 'string' && /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(key) && !key.split('/').includes('..')) return key;
  throw new NativeArgumentError(ctx, `sysctl key must be a path under /proc/sys like net/ipv4/ip_forward, got ${JSON.stringify(key)}`);
}

export function checkFamily(ctx: string, f: unknown): Family | undefined {
  if (f === undefined || f === 4 || f === 6) return f;
  throw new NativeArgumentError(ctx, `family must be 4 or 6, got ${JSON.stringify(f)}`);
}
