// The host-gw check for `flanneld diagnose`: the routes the backend would install (hostGwRoutes) against
// the main table, and gatewayed subnet routes out of the external interface that no lease wants.
import type { Route, RouteSpec } from '../../native/types.js';
import { RT_TABLE_MAIN } from '../../native/types.js';
import { parseIP4, parseIP6 } from '../../common/ip.js';
import { isSameLease, type Lease } from '../../subnet-lease/lease.js';
import { BACKEND_TYPE as HOST_GW, hostGwRoutes } from './backend.js';
import { canonical, describeRoute, routeState, sameSlot } from '../route-network/route-match.js';
import { FLANNEL_ROUTE_PROTOCOL } from '../route-network/stale-routes.js';
import { type CheckInput, type Finding, leaseRef } from '../module.js';

export async function checkHostGw(input: CheckInput): Promise<Finding[]> {
  const ext = await input.ext();
  const out: Finding[] = [];
  const wanted: RouteSpec[] = [];
  const kernel = await mainRoutes(input);
  const name = (i: number): string => (i === ext.index ? ext.name : `#${i}`);
  for (const lease of input.leases) {
    if (isSameLease(lease, input.own)) continue;
    if ((lease.attrs.backendType ?? '') !== HOST_GW) {
      out.push({ kind: 'note', text: `lease ${lease.subnet} is of backend type ${lease.attrs.backendType || '(none)'}; host-gw ignores it` });
      continue;
    }
    const routes = await hostGwRoutes(input.native, ext, input.config, lease);
    for (const why of routes.withheld) out.push({ kind: 'note', text: `lease ${lease.subnet}: ${why}` });
    for (const r of routes.routes) {
      wanted.push(r);
      out.push(...routeFinding(r, kernel, lease, name));
    }
  }
  for (const r of kernel) {
    // A route in a wanted route's slot is already named above ("… instead").
    if (isHostGwRoute(r, input, ext.index) && !wanted.some((w) => sameSlot(r, w))) {
      out.push({ kind: 'stale', text: `route ${describeRoute(r, name)} (no lease wants it; ${whose(r)})` });
    }
  }
  return out;
}

/** Whether the running daemon removes a stale route (it carries our marker) or leaves it to the operator. */
function whose(r: Route): string {
  if (r.protocol === FLANNEL_ROUTE_PROTOCOL) return `proto ${FLANNEL_ROUTE_PROTOCOL}: made by flannel-ts, which deletes it at start-up and at every route check`;
  return `proto ${r.protocol}: not made by flannel-ts, which leaves it; delete it by hand if an earlier flanneld left it`;
}

function routeFinding(want: RouteSpec, kernel: readonly Route[], lease: Lease, name: (i: number) => string): Finding[] {
  const state = routeState(want, kernel);
  if (state.kind === 'present') return [];
  const instead = state.kind === 'conflict' ? `; the kernel has ${describeRoute(state.existing, name)} instead` : '';
  return [{ kind: 'missing', text: `route ${describeRoute(want, name)} ${leaseRef(lease)}${instead}` }];
}

async function mainRoutes(input: CheckInput): Promise<Route[]> {
  const v4 = input.config.enableIPv4 ? await input.native.routeList({ family: 4, table: RT_TABLE_MAIN }) : [];
  const v6 = input.config.enableIPv6 ? await input.native.routeList({ family: 6, table: RT_TABLE_MAIN }) : [];
  return [...v4, ...v6];
}

/** A route host-gw would have made: one subnet of the Network, via a gateway, out of the external interface, not ours. */
function isHostGwRoute(r: Route, input: CheckInput, extIndex: number): boolean {
  const { config, own } = input;
  if (!r.gateway || r.ifindex !== extIndex || r.table !== RT_TABLE_MAIN) return false;
  const [ip, len] = r.dst.split('/') as [string, string];
  if (r.family === 4) {
    return !!config.network && Number(len) === config.subnetLen && config.network.contains(parseIP4(ip)) && canonical(r.dst) !== own.subnet.toString();
  }
  const net6 = config.ipv6Network;
  return !!net6 && Number(len) === config.ipv6SubnetLen && net6.contains(parseIP6(ip)) && canonical(r.dst) !== own.ipv6Subnet?.toString();
}
