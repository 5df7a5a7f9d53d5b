// The in-memory kernel behind FakeNative: links, addresses, routes, neighbours and FDB entries, with
// the kernel's rules and error codes for the operations flannel uses (checked against the real kernel
// by the contract suite in test/native).
import { bytesToIP, familyOf, inNetwork, ipToBytes, maskBytes } from './addr.js';
import { nativeError } from './errors.js';
import type { NFdb, NNeigh, NRoute } from './ops.js';
import type { Addr, FdbEntry, Link, Neigh, Route } from './types.js';
import { NUD_PERMANENT, RTN_BLACKHOLE, RTN_UNICAST, RTPROT_BOOT, RTPROT_KERNEL, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN } from './types.js';

export class FakeState {
  links = new Map<number, Link>();
  addrs: Addr[] = [];
  routes: Route[] = [];
  neighs: Neigh[] = [];
  fdb: FdbEntry[] = [];
  nextIndex = 1;

  link(index: number, ctx: string, syscall: string): Link {
    const l = this.links.get(index);
    if (!l) throw nativeError('ENODEV', syscall, ctx);
    return l;
  }

  /** Routes the kernel derives from addresses on up links (proto kernel scope link). */
  connectedRoutes(): Route[] {
    return this.addrs
      .filter((a) => this.links.get(a.ifindex)?.up && a.prefixLen < (a.family === 4 ? 32 : 128) && a.scope !== RT_SCOPE_LINK)
      .map((a) => ({
        family: a.family,
        dst: `${networkOf(a.address, a.prefixLen)}/${a.prefixLen}`,
        gateway: null,
        ifindex: a.ifindex,
        onlink: false,
        scope: RT_SCOPE_LINK,
        table: RT_TABLE_MAIN,
        protocol: RTPROT_KERNEL,
        type: RTN_UNICAST,
        metric: 0,
        prefsrc: a.family === 4 ? a.address : null,
      }));
  }

  allRoutes(): Route[] {
    return [...this.connectedRoutes(), ...this.routes];
  }

  /** Longest-prefix match in the main table, then the lowest metric, like a FIB lookup. */
  lookup(ip: string): Route | null {
    let best: Route | null = null;
    for (const r of this.allRoutes()) {
      if (r.family !== familyOf(ip) || r.table !== RT_TABLE_MAIN) continue;
      const [net, len] = splitCidr(r.dst);
      if (!inNetwork(ip, net, len)) continue;
      const bestLen = best ? splitCidr(best.dst)[1] : -1;
      if (len > bestLen || (len === bestLen && r.metric < best!.metric)) best = r;
    }
    return best;
  }

  /**
   * Like the kernel's fib_table_insert with NLM_F_REPLACE: the route with the same dst, table and
   * metric is overwritten whatever its type. (The kernel would also overwrite a connected route of the
   * same dst and metric 0; the fake derives those from addresses and does not model that.)
   */
  routeReplace(r: NRoute, ctx: string): Route {
    const blackhole = r.type === 'blackhole';
    const ifindex = blackhole ? 0 : this.resolveNexthop(r, ctx);
    const route: Route = {
      family: r.family,
      dst: `${r.dst}/${r.dstLen}`,
      gateway: r.gateway,
      ifindex,
      onlink: r.onlink,
      scope: r.scope ?? RT_SCOPE_UNIVERSE,
      table: r.table,
      protocol: RTPROT_BOOT,
      type: blackhole ? RTN_BLACKHOLE : RTN_UNICAST,
      metric: r.metric ?? 0,
      prefsrc: null,
    };
    const i = this.routes.findIndex((x) => x.dst === route.dst && x.table === route.table && x.metric === route.metric && x.family === r.family);
    if (i >= 0) this.routes[i] = route;
    else this.routes.push(route);
    return route;
  }

  private resolveNexthop(r: NRoute, ctx: string): number {
    const syscall = 'RTM_NEWROUTE';
    if (r.ifindex) {
      const link = this.link(r.ifindex, ctx, syscall);
      if (r.onlink && !link.up) throw nativeError('ENETDOWN', syscall, ctx, 'Nexthop device is not up');
    }
    if (!r.gateway || r.onlink) return r.ifindex;
    const via = this.connectedRoutes().find((c) => c.family === r.family && inNetwork(r.gateway!, ...splitCidr(c.dst)));
    if (!via || (r.ifindex && via.ifindex !== r.ifindex)) throw nativeError('ENETUNREACH', syscall, ctx, 'Nexthop has invalid gateway');
    return via.ifindex;
  }

  routeDelete(r: NRoute, ctx: string): Route {
    const dst = `${r.dst}/${r.dstLen}`;
    const i = this.routes.findIndex(
      (x) =>
        x.family === r.family &&
        x.dst === dst &&
        x.table === r.table &&
        (r.gateway === null || x.gateway === r.gateway) &&
        (!r.ifindex || x.ifindex === r.ifindex) &&
        (r.scope === null || x.scope === r.scope) &&
        (r.metric === null || x.metric === r.metric) &&
        (r.type === null || x.type === (r.type === 'blackhole' ? RTN_BLACKHOLE : RTN_UNICAST)),
    );
    if (i < 0) throw nativeError('ESRCH', 'RTM_DELROUTE', ctx);
    return this.routes.splice(i, 1)[0]!;
  }

  neighReplace(n: NNeigh, ctx: string): Neigh {
    this.link(n.ifindex, ctx, 'RTM_NEWNEIGH');
    const entry: Neigh = { ifindex: n.ifindex, family: n.family, ip: n.ip, mac: n.mac, state: NUD_PERMANENT, flags: 0 };
    const i = this.neighs.findIndex((x) => x.ifindex === n.ifindex && x.ip === n.ip);
    if (i >= 0) this.neighs[i] = entry;
    else this.neighs.push(entry);
    return entry;
  }

  neighDelete(n: NNeigh, ctx: string): Neigh {
    this.link(n.ifindex, ctx, 'RTM_DELNEIGH');
    const i = this.neighs.findIndex((x) => x.ifindex === n.ifindex && x.ip === n.ip);
    if (i < 0) throw nativeError('ENOENT', 'RTM_DELNEIGH', ctx);
    return this.neighs.splice(i, 1)[0]!;
  }

  fdbReplace(f: NFdb, ctx: string): FdbEntry {
    const link = this.link(f.ifindex, ctx, 'RTM_NEWNEIGH');
    if (link.kind !== 'vxlan') throw nativeError('EOPNOTSUPP', 'RTM_NEWNEIGH', ctx);
    const entry: FdbEntry = { ifindex: f.ifindex, mac: f.mac, dst: f.dst, self: true, state: NUD_PERMANENT, vni: null };
    const i = this.fdb.findIndex((x) => x.ifindex === f.ifindex && x.mac === f.mac);
    if (i >= 0) this.fdb[i] = entry;
    else this.fdb.push(entry);
    return entry;
  }

  /** The entry removed, or null for the no-op case. */
  fdbDelete(f: NFdb, ctx: string): FdbEntry | null {
    this.link(f.ifindex, ctx, 'RTM_DELNEIGH');
    const i = this.fdb.findIndex((x) => x.ifindex === f.ifindex && x.mac === f.mac);
    if (i < 0) throw nativeError('ENOENT', 'RTM_DELNEIGH', ctx);
    // Like vxlan_fdb_delete: a known MAC with another dst is a successful no-op.
    if (f.dst === null || this.fdb[i]!.dst === f.dst) return this.fdb.splice(i, 1)[0]!;
    return null;
  }

  /** A link going down loses its neighbours (even permanent ones) and its routes; FDB entries stay. */
  linkDown(index: number): void {
    this.neighs = this.neighs.filter((n) => n.ifindex !== index);
    this.routes = this.routes.filter((r) => r.ifindex !== index);
  }

  /** What the kernel drops with a link: its addresses, neighbours, FDB and every route out of it. */
  removeLink(index: number): void {
    this.links.delete(index);
    this.addrs = this.addrs.filter((a) => a.ifindex !== index);
    this.neighs = this.neighs.filter((n) => n.ifindex !== index);
    this.fdb = this.fdb.filter((f) => f.ifindex !== index);
    this.routes = this.routes.filter((r) => r.ifindex !== index);
  }
}

export function splitCidr(cidr: string): [string, number] {
  const slash = cidr.indexOf('/');
  return [cidr.slice(0, slash), Number(cidr.slice(slash + 1))];
}

function networkOf(ip: string, len: number): string {
  return bytesToIP(maskBytes(ipToBytes(ip), len));
}
