// Leases as the reference stores them: the subnet key `A.B.C.D-LEN[&v6-LEN6]` and the LeaseAttrs JSON
// `{"PublicIP":…,"PublicIPv6":…,"BackendType":…,"BackendData":…,"BackendV6Data":…}`, byte for byte.
import { getField } from '../common/json.js';
import { IP4Net, IP6Net, IPParseError, formatIP4, formatIP6, parseIP4, parseIP6 } from '../common/ip.js';

export interface LeaseAttrs {
  /** IPv4 address other hosts reach us on; 0 ("0.0.0.0") when unset. */
  publicIP: number;
  publicIPv6: bigint | null;
  /** Omitted from the JSON when empty (the udp backend writes none). */
  backendType?: string;
  /** Opaque to everyone but the backend that wrote it. */
  backendData?: unknown;
  backendV6Data?: unknown;
}

export interface Lease {
  /**
   * The IPv4 subnet; `NO_IPV4` (0.0.0.0/0) in an IPv6-only lease, as the reference writes it (key
   * `0.0.0.0-0&<v6>-<len>`). Test it with `hasIPv4`, never by comparing subnets.
   */
  subnet: IP4Net;
  ipv6Subnet: IP6Net | null;
  attrs: LeaseAttrs;
  /** A reservation is a key written without an etcd lease: it never expires. */
  reservation: boolean;
  /** When the lease runs out, if known (always known for our own lease; unset for reservations). */
  expiration?: Date;
  /** The store key as written (etcd: the full key), when the lease came from a store; its host bits are checked. */
  key?: string;
  /** etcd: the key's create_revision, the lease's age for "the older one wins" (subnet-lease/acceptor.ts). */
  createRevision?: number;
  /** kube: the Node's metadata.creationTimestamp, the same age. */
  createdAt?: Date;
}

export type LeaseEvent = { type: 'added'; lease: Lease } | { type: 'removed'; lease: Lease };

export class LeaseParseError extends Error {
  override readonly name = 'LeaseParseError';
}

/** The IPv4 subnet of an IPv6-only lease: Go's zero IPNet, written `0.0.0.0-0` in the etcd key. */
export const NO_IPV4 = new IP4Net(0, 0);

/** Whether the lease has an IPv4 subnet (a real one is never a /0: SubnetLen >= Network prefix + 2). */
export function hasIPv4(l: Pick<Lease, 'subnet'>): boolean {
  return l.subnet.prefixLen !== 0;
}

/** The subnets that identify a lease: the IPv4 one, or the IPv6 one in an IPv6-only lease. */
export type SubnetPair = Pick<Lease, 'subnet' | 'ipv6Subnet'>;

/**
 * Whether `l` is the lease of the subnets `own` (the own-lease filter of every watch): compared on the
 * IPv4 subnet, or on the IPv6 subnet when `own` is IPv6-only (every v6-only lease has 0.0.0.0/0).
 */
export function isSameLease(l: SubnetPair, own: SubnetPair): boolean {
  if (hasIPv4(own)) return l.subnet.equals(own.subnet);
  return !hasIPv4(l) && own.ipv6Subnet !== null && l.ipv6Subnet !== null && l.ipv6Subnet.equals(own.ipv6Subnet);
}

/**
 * The key of a lease among others of the same network (a backend's peer map): its IPv4 subnet, or its
 * IPv6 subnet in an IPv6-only lease (every one of those has 0.0.0.0/0).
 */
export function leaseKey(l: SubnetPair): string {
  return !hasIPv4(l) && l.ipv6Subnet ? l.ipv6Subnet.toString() : l.subnet.toString();
}

/** The lease's subnets as text: `10.244.1.0/24`, `10.244.1.0/24 fd00::/64` or (IPv6-only) `fd00::/64`. */
export function describeSubnets(l: SubnetPair): string {
  if (!hasIPv4(l)) return l.ipv6Subnet ? l.ipv6Subnet.toString() : l.subnet.toString();
  return l.ipv6Subnet ? `${l.subnet} ${l.ipv6Subnet}` : l.subnet.toString();
}

const KEY_RE = /(\d+\.\d+.\d+.\d+)-(\d+)(?:&([a-f\d:]+)-(\d+))?$/;

/** The key suffix under `<prefix>/subnets/`: `10.5.52.0-24` or `10.5.52.0-24&2001:cafe:42:1::-64`. */
export function subnetKey(subnet: IP4Net, ipv6Subnet: IP6Net | null): string {
  const v4 = `${formatIP4(subnet.ip)}-${subnet.prefixLen}`;
  return ipv6Subnet ? `${v4}&${formatIP6(ipv6Subnet.ip)}-${ipv6Subnet.prefixLen}` : v4;
}

/** Parses a subnet key (or a full etcd key ending in one) with the reference's suffix-anchored regex. */
export function parseSubnetKey(key: string): { subnet: IP4Net; ipv6Subnet: IP6Net | null } {
  const m = KEY_RE.exec(key);
  if (!m) throw new LeaseParseError(`subnet key ${JSON.stringify(key)} does not match A.B.C.D-LEN[&IPv6-LEN]`);
  try {
    const subnet = new IP4Net(parseIP4(m[1]!), Number(m[2]));
    const ipv6Subnet = m[3] === undefined ? null : new IP6Net(parseIP6(m[3]), Number(m[4]));
    return { subnet, ipv6Subnet };
  } catch (e) {
    if (e instanceof IPParseError) throw new LeaseParseError(`subnet key ${JSON.stringify(key)}: ${e.message}`);
    throw e;
  }
}

/** Serialises attrs exactly as Go's json.Marshal(LeaseAttrs) does (field order, omitempty, compact). */
export function encodeLeaseAttrs(attrs: LeaseAttrs): string {
  const out: Record<string, unknown> = {
    PublicIP: formatIP4(attrs.publicIP),
    PublicIPv6: attrs.publicIPv6 === null ? null : formatIP6(attrs.publicIPv6),
  };
  if (attrs.backendType) out.BackendType = attrs.backendType;
  if (!isEmptyRaw(attrs.backendData)) out.BackendData = attrs.backendData;
  if (!isEmptyRaw(attrs.backendV6Data)) out.BackendV6Data = attrs.backendV6Data;
  return goJSON(out);
}

/** Go's encoder escapes <, > and & inside strings; JSON.stringify does not. */
function goJSON(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function isEmptyRaw(v: unknown): boolean {
  return v === undefined;
}

/** Parses a lease value (keys case-insensitive, like Go). Throws LeaseParseError naming the field. */
export function decodeLeaseAttrs(text: string): LeaseAttrs {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new LeaseParseError(`lease value is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new LeaseParseError(`lease value is not a JSON object: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const obj = raw as Record<string, unknown>;
  const attrs: LeaseAttrs = {
    publicIP: decodeIP(obj, 'PublicIP', parseIP4) ?? 0,
    publicIPv6: decodeIP(obj, 'PublicIPv6', parseIP6),
  };
  const bt = getField(obj, 'BackendType');
  if (bt !== undefined && bt !== null && typeof bt !== 'string') {
    throw new LeaseParseError(`lease field BackendType must be a string, got ${JSON.stringify(bt)}`);
  }
  if (bt) attrs.backendType = bt;
  const bd = getField(obj, 'BackendData');
  if (bd !== undefined && bd !== null) attrs.backendData = bd;
  const bd6 = getField(obj, 'BackendV6Data');
  if (bd6 !== undefined && bd6 !== null) attrs.backendV6Data = bd6;
  return attrs;
}

function decodeIP<T>(obj: Record<string, unknown>, field: string, parse: (s: string) => T): T | null {
  const v = getField(obj, field);
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new LeaseParseError(`lease field ${field} must be a string, got ${JSON.stringify(v)}`);
  try {
    return parse(v);
  } catch (e) {
    if (e instanceof IPParseError) throw new LeaseParseError(`lease field ${field}: ${e.message}`);
    throw e;
  }
}

export function sameSubnets(a: Pick<Lease, 'subnet' | 'ipv6Subnet'>, b: Pick<Lease, 'subnet' | 'ipv6Subnet'>): boolean {
  return a.subnet.equals(b.subnet) && (a.ipv6Subnet === null ? b.ipv6Subnet === null : a.ipv6Subnet.equals(b.ipv6Subnet));
}

/** The address other hosts reach a lease's host on: its PublicIP, or (IPv6-only) its PublicIPv6; null when unset. */
export function publicAddress(lease: Lease): string | null {
  if (hasIPv4(lease)) return formatIP4(lease.attrs.publicIP);
  return lease.attrs.publicIPv6 === null ? null : formatIP6(lease.attrs.publicIPv6);
}

export function describeLease(lease: Lease): string {
  if (!hasIPv4(lease)) {
    const ip6 = lease.attrs.publicIPv6 === null ? 'none' : formatIP6(lease.attrs.publicIPv6);
    return `${describeSubnets(lease)} (IPv6-only, public IPv6 ${ip6})`;
  }
  return `${describeSubnets(lease)} (public IP ${formatIP4(lease.attrs.publicIP)})`;
}
