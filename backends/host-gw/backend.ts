// host-gw (fact sheet §5.2): no device and no encapsulation. Every host routes each other host's pod
// subnet straight at that host's public IP on the external interface:
//     <remote subnet> via <remote PublicIP> dev <ext iface>        (IPv6 likewise with PublicIPv6)
// one route per remote lease and family, in the main table, so the kernel forwards pod traffic as plain
// IP. That is only correct when every host is directly reachable on the same L2 segment, and when the
// address in our lease is the one on the interface (no NAT), which is why:
// - construction fails, as in the reference, when the public IP differs from the interface address;
// - a remote host whose public IP the kernel reaches through a gateway (or another device, or not at
//   all) gets no route and a warning naming it. The reference installs the route anyway, and the kernel
//   either refuses it or black-holes the traffic; here the host is asked about again at every check.
// Routes are kept by the shared route-network base: replace a differing route, skip an identical one,
// delete with the lease, and a check every 10 s that puts back what went missing. Unlike the reference,
// our routes carry a marker (route protocol 157), so routes of leases that vanished while flanneld was
// down are deleted at start-up and by the check; unmarked routes are never deleted (stale-routes.ts).
import type { Backend, BackendContext, ExternalInterface, Network } from '../backend.js';
import type { Native, RouteSpec } from '../../native/types.js';
import type { NetworkConfig } from '../../subnet-lease/config.js';
import { formatIP4, formatIP6, type IP4Net, type IP6Net } from '../../common/ip.js';
import type { Lease } from '../../subnet-lease/lease.js';
import { RouteNetwork } from '../route-network/route-network.js';
import type { LeaseRoutes } from '../route-network/route-keeper.js';
import { directReachability } from './reachability.js';

export const BACKEND_TYPE = 'host-gw';

/** The reference's words, kept exactly. */
export const NAT_REFUSAL =
  "your PublicIP differs from interface IP, meaning that probably you're on a NAT, which is not supported by host-gw backend";

export class HostGwError extends Error {
  override readonly name = 'HostGwError';
}

export interface HostGwOptions {
  /** How often routes are compared with the kernel; 10 s unless a test wants it faster. */
  checkIntervalMs?: number;
}

/** Throws HostGwError (before any lease is taken) when the public IP is not the interface's address. */
export function createHostGwBackend(ctx: BackendContext, native: Native, opts: HostGwOptions = {}): Backend {
  if (ctx.extIface.extAddr !== ctx.extIface.ifaceAddr) throw new HostGwError(NAT_REFUSAL);
  return {
    /** Acquires our lease (no device to create); rejects with the abort reason when `signal` aborts. */
    async registerNetwork(config: NetworkConfig, signal: AbortSignal): Promise<Network> {
      const ext = ctx.extIface;
      if (config.enableIPv6 && ext.extV6Addr === null) {
        throw new HostGwError(`IPv6 is enabled in the network config, but interface ${ext.name} has no global IPv6 address`);
      }
      const publicIPv6 = config.enableIPv6 ? ext.extV6Addr : null;
      const lease = await ctx.store.acquireLease({ publicIP: ext.extAddr, publicIPv6, backendType: BACKEND_TYPE }, signal);
      return new RouteNetwork({
        backendType: BACKEND_TYPE,
        lease,
        mtu: ext.mtu,
        store: ctx.store,
        native,
        logger: ctx.logger,
        routesFor: (remote) => hostGwRoutes(native, ext, config, remote),
        linkName: (i) => (i === ext.index ? ext.name : `#${i}`),
        owned: { ifindex: ext.index, networks: ownedNetworks(config) },
        checkIntervalMs: opts.checkIntervalMs,
      });
    },
  };
}

/** The networks our routes go into: Network and IPv6Network, as enabled. */
function ownedNetworks(config: NetworkConfig): Array<IP4Net | IP6Net> {
  const out: Array<IP4Net | IP6Net> = [];
  if (config.enableIPv4 && config.network) out.push(config.network);
  if (config.enableIPv6 && config.ipv6Network) out.push(config.ipv6Network);
  return out;
}

/** `<subnet> via <public IP> dev <ext>` per family in use, each only when the public IP is on-link. */
export async function hostGwRoutes(native: Native, ext: ExternalInterface, config: NetworkConfig, lease: Lease): Promise<LeaseRoutes> {
  const out: LeaseRoutes = { routes: [], withheld: [] };
  const candidates: Array<{ dst: string; gateway: string | null; family: string }> = [];
  if (config.enableIPv4) {
    const ip = lease.attrs.publicIP;
    candidates.push({ dst: lease.subnet.toString(), gateway: ip === 0 ? null : formatIP4(ip), family: 'PublicIP' });
  }
  if (config.enableIPv6 && lease.ipv6Subnet) {
    const ip = lease.attrs.publicIPv6;
    candidates.push({ dst: lease.ipv6Subnet.toString(), gateway: ip === null ? null : formatIP6(ip), family: 'PublicIPv6' });
  }
  for (const c of candidates) {
    const problem = c.gateway === null ? `its lease has no ${c.family}` : await directReachability(native, ext, c.gateway);
    if (problem !== null || c.gateway === null) out.withheld.push(`${problem}, so no route to ${c.dst} is installed`);
    else out.routes.push({ dst: c.dst, gateway: c.gateway, ifindex: ext.index } satisfies RouteSpec);
  }
  return out;
}
