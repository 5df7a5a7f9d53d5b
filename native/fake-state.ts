// The in-memory kernel behind FakeNative: links, addresses, routes, neighbours and FDB entries, with
// the kernel's rules and error codes for the operations flannel uses (checked against the real kernel
// by the contract suite in test/native).
import { bytesToIP, familyOfIP, inNetwork, ipToBytes, maskBytes } from '../common/ip.js';
import { nativeError } from './errors.js';
import type { NFdb, NNeigh, NRoute } from './ops.js';
import type { Addr, FdbEntry, Link, Neigh, Route } from './types.js';
import { NUD_PERMANENT, RTN_BLACKHOLE, RTN_UNICAST, RTPROT_BOOT, RTPROT_KERNEL, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN } from './types.js';

/** Entries in insertion order, found by key in O(1) (several per key: routes of different metrics). */
class Keyed<T> {
  private readonly m = new Map<string, T[]>();
  constructor(readonly key: (x: T) => string) {}
  all(): T[] {
    const out: T[] = [];
    for (const b of this.m.values()) for (const x of b) out.push(x);
    return out;
  }
  reset(items: readonly T[]): void {
    this.m.clear();
    for (const x of items) this.bucket(this.key(x)).push(x);
  }
  bucket(k: string): T[] {
    let b = this.m.get(k);
    if (!b) this.m.set(k, (b = []));
    return b;
  }
  find(k: string): readonly T[] {
    return this.m.get(k) ?? [];
  }
  remove(k: string, x: T): void {
    const b = this.m.get(k);
    if (!b) return;
    b.splice(b.indexOf(x), 1);
    if (b.length === 0) this.m.delete(k);
  }
}

const routeKey = (family: number, table: number, dst: string): string => `${family} ${table} ${dst}`;

export class FakeState {
  links = new Map<number, Link>();
  addrs: Addr[] = [];
  nextIndex = 1;
  // Indexed, so that a test of N peers costs O(N) here too (complexity checks run on this fake).
  private readonly routeT = new Keyed<Route>((r) => routeKey(r.family, r.table, r.dst));
  private readonly neighT = new Keyed<Neigh>((n) => `${n.ifindex} ${n.ip}`);
  private readonly fdbT = new Keyed<FdbEntry>((f) => `${f.ifindex} ${f.mac}`);

  /** Copies of the lists; assigning replaces the contents (tests use that to lose entries silently). */
  get routes(): Route[] {
    return this.routeT.all();
  }
  set routes(v: Route[]) {
    this.routeT.reset(v);
  }
  get neighs(): Neigh[] {
    return this.neighT.all();
  }
  set neighs(v: Neigh[]) {
    this.neighT.reset(v);
  }
  get fdb(): FdbEntry[] {
    return this.fdbT.all();
  }
  set fdb(v: FdbEntry[]) {
    this.fdbT.reset(v);
  }

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
      if (r.family !== familyOfIP(ip) || r.table !== RT_TABLE_MAIN) continue;
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
      protocol: r.protocol ?? RTPROT_BOOT,
      type: blackhole ? RTN_BLACKHOLE : RTN_UNICAST,
      metric: r.metric ?? 0,
      prefsrc: null,
    };
    const b = this.routeT.bucket(this.routeT.key(route));
    const i = b.findIndex((x) => x.metric === route.metric);
    if (i >= 0) b[i] = route;
    else b.push(route);
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
    const k = routeKey(r.family, r.table, dst);
    const hit = this.routeT.find(k).find(
      (x) =>
        (r.gateway === null || x.gateway === r.gateway) &&
        (!r.ifindex || x.ifindex === r.ifindex) &&
        (r.scope === null || x.scope === r.scope) &&
        (r.metric === null || x.metric === r.metric) &&
        (!r.protocol || x.protocol === r.protocol) &&
        (r.type === null || x.type === (r.type === 'blackhole' ? RTN_BLACKHOLE : RTN_UNICAST)),
    );
    if (!hit) throw nativeError('ESRCH', 'RTM_DELROUTE', ctx);
    this.routeT.remove(k, hit);
    return hit;
  }

  neighReplace(n: NNeigh, ctx: string): Neigh {
    this.link(n.ifindex, ctx, 'RTM_NEWNEIGH');
    const entry: Neigh = { ifindex: n.ifindex, family: n.family, ip: n.ip, mac: n.mac, state: NUD_PERMANENT, flags: 0 };
    const b = this.neighT.bucket(this.neighT.key(entry));
    b[0] = entry;
    return entry;
  }

  neighDelete(n: NNeigh, ctx: string): Neigh {
    this.link(n.ifindex, ctx, 'RTM_DELNEIGH');
    const k = `${n.ifindex} ${n.ip}`;
    const hit = this.neighT.find(k)[0];
    if (!hit) throw nativeError('ENOENT', 'RTM_DELNEIGH', ctx);
    this.neighT.remove(k, hit);
    return hit;
  }

  fdbReplace(f: NFdb, ctx: string): FdbEntry {
    const link = this.link(f.ifindex, ctx, 'RTM_NEWNEIGH');
    if (link.kind !== 'vxlan') throw nativeError('EOPNOTSUPP', 'RTM_NEWNEIGH', ctx);
    const entry: FdbEntry = { ifindex: f.ifindex, mac: f.mac, dst: f.dst, self: true, state: NUD_PERMANENT, vni: null };
    const b = this.fdbT.bucket(this.fdbT.key(entry));
    b[0] = entry;
    return entry;
  }

  /** The entry removed, or null for the no-op case. */
  fdbDelete(f: NFdb, ctx: string): FdbEntry | null {
    this.link(f.ifindex, ctx, 'RTM_DELNEIGH');
    const k = `${f.ifindex} ${f.mac}`;
    const hit = this.fdbT.find(k)[0];
    if (!hit) throw nativeError('ENOENT', 'RTM_DELNEIGH', ctx);
    // Like vxlan_fdb_delete: a known MAC with another dst is a successful no-op.
    if (f.dst !== null && hit.dst !== f.dst) return null;
    this.fdbT.remove(k, hit);
    return hit;
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
