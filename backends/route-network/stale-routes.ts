// Which kernel routes a route-only backend may delete although no lease asks about them: the routes of
// leases that went away while flanneld was down (the reference leaves those until reboot, more-facts §8).
// The reference's routes carry no marker, so ours do: every route a RouteKeeper installs has the route
// protocol FLANNEL_ROUTE_PROTOCOL (`ip route` shows `proto 157`). A route is stale when it
// - is in the main table, goes via a gateway out of the external interface, into the flannel network
//   (a destination inside Network / IPv6Network, no shorter than it),
// - carries our protocol, and
// - sits in no slot (destination, table, metric) that a lease wants: those the keeper installs or replaces.
// The same routes without our protocol (an administrator's, or the reference daemon's `proto boot`) are
// never deleted; they are reported once, so an operator can remove what an earlier daemon left.
import type { Route } from '../../native/types.js';
import { RT_TABLE_MAIN } from '../../native/types.js';
import { IP4Net, IP6Net, IPParseError, parseIP4, parseIP6 } from '../../common/ip.js';
import { slotKey } from './route-match.js';

/** rtm_protocol of the routes flannel-ts installs: unassigned in iproute2's rt_protos, used by no other daemon we know. */
export const FLANNEL_ROUTE_PROTOCOL = 157;

export interface OwnedScope {
  /** The external interface: only routes out of it are considered. */
  ifindex: number;
  /** The flannel networks in use (Network, IPv6Network). */
  networks: ReadonlyArray<IP4Net | IP6Net>;
}

export interface StaleVerdict {
  /** Ours and wanted by no lease: to delete. */
  stale: Route[];
  /** In the scope, wanted by no lease, but without our protocol: left alone. */
  foreign: Route[];
}

/** Pure, linear in the number of routes. `wantedSlots` holds slotKey() of every wanted route. */
export function findStaleRoutes(kernel: readonly Route[], wantedSlots: ReadonlySet<string>, scope: OwnedScope, protocol = FLANNEL_ROUTE_PROTOCOL): StaleVerdict {
  const out: StaleVerdict = { stale: [], foreign: [] };
  for (const r of kernel) {
    if (r.table !== RT_TABLE_MAIN || r.ifindex !== scope.ifindex || r.gateway === null) continue;
    if (!intoNetwork(r.dst, scope.networks) || wantedSlots.has(slotKey(r))) continue;
    (r.protocol === protocol ? out.stale : out.foreign).push(r);
  }
  return out;
}

function intoNetwork(dst: string, networks: ReadonlyArray<IP4Net | IP6Net>): boolean {
  try {
    const slash = dst.indexOf('/');
    const len = Number(dst.slice(slash + 1));
    const v6 = dst.includes(':');
    const ip = v6 ? parseIP6(dst.slice(0, slash)) : parseIP4(dst.slice(0, slash));
    return networks.some((n) =>
      n instanceof IP6Net ? v6 && len >= n.prefixLen && n.contains(ip as bigint) : !v6 && len >= n.prefixLen && n.contains(ip as number),
    );
  } catch (e) {
    if (e instanceof IPParseError) return false;
    throw e;
  }
}
