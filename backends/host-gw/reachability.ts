// Is a remote host's public IP on-link on our external interface? host-gw's route `via <public IP> dev
// <ext>` only works then; otherwise the kernel refuses it (ENETUNREACH) or, worse, a stale route sends
// pod traffic to a router that knows nothing of pod subnets. Asked with the kernel's own lookup (`ip
// route get`), so whatever the underlay's routing says is what counts.
import type { ExternalInterface } from '../backend.js';
import type { Native, Route } from '../../native/types.js';
import { formatIP4, formatIP6 } from '../../common/ip.js';
import { canonical } from '../route-network/route-match.js';

const RTN_UNICAST = 1;
const RTN_LOCAL = 2;

/** Lookup answers that mean "no usable route", as opposed to a failing native layer. */
const NO_ROUTE = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'EINVAL', 'EACCES', 'EPERM']);

/**
 * null when `ip` is directly reachable out of `ext`; else why not, in words naming the address.
 * Rejects only when the native layer itself fails.
 */
export async function directReachability(native: Native, ext: ExternalInterface, ip: string): Promise<string | null> {
  if (isOwnAddress(ext, ip)) return `its public IP ${ip} is an address of this host`;
  let routes: Route[];
  try {
    routes = await native.routeGet(ip);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NO_ROUTE.has(code)) return `its public IP ${ip} is unreachable from this host (route lookup: ${code})`;
    throw e;
  }
  const r = routes[0];
  if (!r) return `its public IP ${ip} is unreachable from this host (no route)`;
  if (r.type === RTN_LOCAL) return `its public IP ${ip} is an address of this host`;
  if (r.type !== RTN_UNICAST) return `its public IP ${ip} has a non-unicast route (type ${r.type}) on this host`;
  if (r.gateway) {
    return (
      `its public IP ${ip} is not directly reachable on ${ext.name} (the kernel routes it via gateway ${r.gateway}); ` +
      'host-gw needs every host on one L2 segment (vxlan works across routers)'
    );
  }
  if (r.ifindex !== ext.index) return `its public IP ${ip} is reached through another interface (#${r.ifindex}), not ${ext.name}`;
  return null;
}

/** The external interface's own addresses (the kernel's lookup also catches every other local one). */
function isOwnAddress(ext: ExternalInterface, ip: string): boolean {
  const own = [formatIP4(ext.ifaceAddr), ext.ifaceV6Addr === null ? null : formatIP6(ext.ifaceV6Addr)];
  return own.includes(canonical(ip));
}
