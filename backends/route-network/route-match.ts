// Comparing the routes a backend wants with the routes the kernel has. Addresses are compared by value,
// not by text, so "fd00::1" and "fd00:0:0::1" are the same gateway. A route is ours when destination,
// gateway, device, table and metric agree (the reference compares destination, gateway and device), and
// the protocol when the wanted route names one (our marker, stale-routes.ts). Scope and flags are not
// compared. A route that matches in all but the protocol is `unmarked`: the keeper takes it over.
import type { Route, RouteSpec } from '../../native/types.js';
import { RT_TABLE_MAIN } from '../../native/types.js';
import { IPParseError, formatIP4, formatIP6, parseIP4, parseIP6 } from '../../common/ip.js';

/** What the kernel holds for a wanted route. */
export type RouteState =
  | { kind: 'present' }
  | { kind: 'missing' }
  /** The same route without our protocol (made by hand, or by the reference daemon): rewritten with it. */
  | { kind: 'unmarked'; existing: Route }
  /** Another route to the same destination (other gateway or device) would be overwritten by ours. */
  | { kind: 'conflict'; existing: Route };

/** Canonical text of an address or a CIDR; the input unchanged when it is neither. */
export function canonical(text: string): string {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const suffix = slash < 0 ? '' : text.slice(slash);
  try {
    return (addr.includes(':') ? formatIP6(parseIP6(addr)) : formatIP4(parseIP4(addr))) + suffix;
  } catch (e) {
    if (e instanceof IPParseError) return text;
    throw e;
  }
}

function sameAddr(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return canonical(a) === canonical(b);
}

/** The kernel's metric for an IPv6 route added with none (IP6_RT_PRIO_USER); IPv4 keeps 0. */
const IPV6_DEFAULT_METRIC = 1024;

/**
 * The slot `replace` overwrites, as text: destination, table and metric. An IPv6 route asked for with
 * metric 0 (or none) is listed by the kernel with metric 1024, so both count as 1024.
 */
export function slotKey(r: Pick<RouteSpec, 'dst' | 'table' | 'metric'>): string {
  const metric = r.metric ?? 0;
  const effective = metric === 0 && r.dst.includes(':') ? IPV6_DEFAULT_METRIC : metric;
  return `${canonical(r.dst)} table ${r.table ?? RT_TABLE_MAIN} metric ${effective}`;
}

/** Both are in the slot `replace` overwrites: same destination, table and metric. */
export function sameSlot(a: Pick<RouteSpec, 'dst' | 'table' | 'metric'>, b: Pick<RouteSpec, 'dst' | 'table' | 'metric'>): boolean {
  return slotKey(a) === slotKey(b);
}

/** `have` is the route `want` describes (in its slot, with its gateway and device), whatever its protocol. */
function sameNexthop(have: Route, want: RouteSpec): boolean {
  return sameSlot(have, want) && sameAddr(have.gateway, want.gateway) && have.ifindex === (want.ifindex ?? have.ifindex);
}

/** `have` is exactly the route `want` describes, with its protocol when `want` names one. */
export function sameRoute(have: Route, want: RouteSpec): boolean {
  return sameNexthop(have, want) && (want.protocol === undefined || have.protocol === want.protocol);
}

export function routeState(want: RouteSpec, kernel: readonly Route[]): RouteState {
  const slot = kernel.filter((r) => sameSlot(r, want));
  if (slot.some((r) => sameRoute(r, want))) return { kind: 'present' };
  const unmarked = slot.find((r) => sameNexthop(r, want));
  if (unmarked) return { kind: 'unmarked', existing: unmarked };
  const existing = slot[0];
  return existing ? { kind: 'conflict', existing } : { kind: 'missing' };
}

/** `10.244.2.0/24 via 198.18.0.2 dev eth0`, in `ip route` words. */
export function describeRoute(r: RouteSpec | Route, linkName: (ifindex: number) => string): string {
  const via = r.gateway ? ` via ${r.gateway}` : '';
  const dev = r.ifindex ? ` dev ${linkName(r.ifindex)}` : '';
  const metric = r.metric ? ` metric ${r.metric}` : '';
  return `${r.dst}${via}${dev}${metric}`;
}
