// IPAM routes as the reference re-encodes them: it decodes the input `ipam.routes` into CNI's Route
// type and encodes that again, so only its fields survive (dst, gw, mtu, advmss, priority, table,
// scope), zero values of the plain ints are dropped, and addresses come out in Go's canonical form.
// `dst` keeps its host bits ("10.96.0.5/12" stays so), as CNI's own CIDR type does.
import { formatIP4, formatIP6, parseIP4, parseIP6 } from '../common/ip.js';

export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

/** A field that failed; the validator turns it into a message naming the field and the value. */
export class FieldError extends Error {
  override readonly name = 'FieldError';
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly value: unknown,
  ) {
    super(`netconf field "${field}" must be ${expected}, got ${JSON.stringify(value) ?? String(value)}`);
  }
}

/** Go's net.IP String() of an address; throws when `text` is not an IPv4 or IPv6 address. */
export function canonicalIP(text: string): string {
  return text.includes(':') ? formatIP6(parseIP6(text)) : formatIP4(parseIP4(text));
}

/** "a/len" with the address canonical and the host bits kept; throws when not a CIDR. */
export function canonicalCIDR(text: string): string {
  const slash = text.indexOf('/');
  const len = text.slice(slash + 1);
  const ip = canonicalIP(text.slice(0, slash < 0 ? text.length : slash));
  const max = ip.includes(':') ? 128 : 32;
  if (slash < 0 || !/^\d{1,3}$/.test(len) || Number(len) > max) throw new Error(`invalid CIDR address "${text}"`);
  return `${ip}/${Number(len)}`;
}

/** Validates `ipam.routes` (absent or null: none) and returns them re-encoded as the reference does. */
export function parseRoutes(value: unknown, field = 'ipam.routes'): Route[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new FieldError(field, 'a list of routes', value);
  return value.map((r, i) => parseRoute(r, `${field}[${i}]`));
}

function parseRoute(value: unknown, field: string): Route {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FieldError(field, 'an object with "dst"', value);
  }
  const r = value as Record<string, unknown>;
  const route: Route = { dst: address(r['dst'], `${field}.dst`, 'a CIDR such as "10.96.0.0/12"', canonicalCIDR) };
  if (r['gw'] !== undefined && r['gw'] !== null && r['gw'] !== '') {
    route.gw = address(r['gw'], `${field}.gw`, 'an IP address', canonicalIP);
  }
  for (const key of ['mtu', 'advmss', 'priority'] as const) {
    const n = integer(r[key], `${field}.${key}`);
    if (n !== undefined && n !== 0) route[key] = n;
  }
  for (const key of ['table', 'scope'] as const) {
    const n = integer(r[key], `${field}.${key}`);
    if (n !== undefined) route[key] = n;
  }
  return route;
}

function address(value: unknown, field: string, expected: string, canon: (s: string) => string): string {
  if (typeof value !== 'string') throw new FieldError(field, expected, value);
  try {
    return canon(value);
  } catch {
    throw new FieldError(field, expected, value);
  }
}

function integer(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new FieldError(field, 'an integer', value);
  return value;
}
