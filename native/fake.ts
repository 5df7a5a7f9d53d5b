// FakeNative: the Native interface on an in-memory kernel (fake-state.ts), for unit tests of backends.
// Same validation, same error codes and the same batching contract as the kernel binding; the contract
// suite in test/native runs against both. Test-only extras: `addTestLink` (an underlay NIC), `faults`
// (make chosen ops fail), `sysctls`, and counters of apply calls.
import { randomBytes } from 'node:crypto';
import { bytesToMac } from './mac.js';
import { canonicalIP } from '../common/ip.js';
import { NativeBase } from './base.js';
import { type NativeError, nativeError } from './errors.js';
import { FakeState } from './fake-state.js';
import { type NOp, describeOp, normalizeOp } from './ops.js';
import type { Addr, AddrSpec, EntryEvent, FdbEntry, Family, Link, LinkChange, LinkEvent, Native, Neigh, Op, Route, VxlanLinkSpec } from './types.js';
import { RTN_BLACKHOLE, RT_SCOPE_LINK, RT_TABLE_MAIN } from './types.js';
import { checkCIDR, checkIP, checkIfName, checkIndex, checkInt, checkMAC, checkSysctlKey } from './validate.js';

/** Returns an errno name to make `op` fail with, or null to let it through. */
export type FaultRule = (op: Op) => string | null;

export class FakeNative extends NativeBase implements Native {
  readonly state = new FakeState();
  readonly sysctls = new Map<string, string>();
  faults: FaultRule[] = [];
  applyCalls = 0;
  opsApplied = 0;
  private readonly listeners = new Set<(e: LinkEvent) => void>();
  private readonly entryListeners = new Set<(e: EntryEvent) => void>();
  private closed = false;

  constructor() {
    super();
    this.addTestLink({ name: 'lo', mtu: 65536, mac: '00:00:00:00:00:00', up: true });
  }

  /** Adds a link the way a NIC or veth would appear (test set-up only; no validation). */
  addTestLink(l: { name: string; kind?: string | null; mtu?: number; mac?: string; up?: boolean }): Link {
    const link: Link = { index: this.state.nextIndex++, name: l.name, kind: l.kind ?? null, mtu: l.mtu ?? 1500, mac: l.mac ?? randomMac(), up: l.up ?? true };
    this.state.links.set(link.index, link);
    return { ...link };
  }

  private check(op: string): void {
    if (this.closed) throw nativeError('EBADF', 'sendmsg', `${op}: the native handle is closed`);
  }

  private emit(e: LinkEvent): void {
    for (const l of [...this.listeners]) setImmediate(() => this.listeners.has(l) && l(e));
  }

  private byName(name: string): Link | undefined {
    return [...this.state.links.values()].find((l) => l.name === name);
  }

  async linkGet(name: string): Promise<Link | null> {
    this.check('link get');
    const l = this.byName(checkIfName('link get', name));
    return l ? clone(l) : null;
  }

  async linkList(): Promise<Link[]> {
    this.check('link list');
    return [...this.state.links.values()].map(clone);
  }

  async linkAddVxlan(spec: VxlanLinkSpec): Promise<Link> {
    const ctx = `link add ${spec?.name} type vxlan id ${spec?.vni}`;
    this.check(ctx);
    const name = checkIfName('link add vxlan', spec.name);
    const vni = checkInt(ctx, 'vni', spec.vni, 0, 0xffffff);
    const port = spec.port ? checkInt(ctx, 'port', spec.port, 0, 65535) : 8472;
    const local = spec.local === undefined ? null : (checkIP(ctx, 'local', spec.local), canonicalIP(spec.local));
    if (spec.link !== undefined) this.state.link(checkIndex(ctx, spec.link), ctx, 'RTM_NEWLINK');
    if (this.byName(name)) throw nativeError('EEXIST', 'RTM_NEWLINK', ctx);
    const clash = [...this.state.links.values()].some((l) => l.vxlan && l.vxlan.vni === vni && l.vxlan.port === port && l.vxlan.local === local);
    if (clash) throw nativeError('EEXIST', 'RTM_NEWLINK', ctx, 'A VXLAN device with the specified VNI already exists');
    const link = this.addTestLink({
      name,
      kind: 'vxlan',
      mtu: spec.mtu === undefined ? 1500 : checkInt(ctx, 'mtu', spec.mtu, 68, 65535),
      mac: spec.mac === undefined ? randomMac() : checkMAC(ctx, 'mac', spec.mac),
      up: false,
    });
    const stored = this.state.links.get(link.index)!;
    stored.vxlan = { vni, link: spec.link ?? 0, local, group: null, port, ttl: 0, tos: 0, learning: spec.learning === true, proxy: false, rsc: false, l2miss: false, l3miss: false, gbp: spec.gbp === true, udp6ZeroCsumTx: false, udp6ZeroCsumRx: false };
    return clone(stored);
  }

  async linkDelete(index: number): Promise<void> {
    const ctx = `link delete #${index}`;
    this.check(ctx);
    const link = clone(this.state.link(checkIndex('link delete', index), ctx, 'RTM_DELLINK'));
    this.state.removeLink(index);
    this.emit({ type: 'deleted', link });
  }

  async linkSet(index: number, change: LinkChange): Promise<void> {
    const ctx = `link set #${index}`;
    this.check(ctx);
    const link = this.state.link(checkIndex('link set', index), ctx, 'RTM_NEWLINK');
    const mtu = change.mtu === undefined ? undefined : checkInt('link set', 'mtu', change.mtu, 68, 65535);
    const mac = change.mac === undefined ? undefined : checkMAC('link set', 'mac', change.mac);
    if (mtu !== undefined) link.mtu = mtu;
    if (mac !== undefined) link.mac = mac;
    if (change.up === false && link.up) this.state.linkDown(index);
    if (change.up !== undefined) link.up = change.up === true;
    this.emit({ type: 'changed', link: clone(link) });
  }

  async addrList(filter: { ifindex?: number; family?: Family } = {}): Promise<Addr[]> {
    this.check('addr list');
    return this.state.addrs.filter((a) => (!filter.ifindex || a.ifindex === filter.ifindex) && (!filter.family || a.family === filter.family)).map((a) => ({ ...a }));
  }

  async addrAdd(addr: AddrSpec): Promise<void> {
    const { ctx, family, ip } = this.addrArgs('addr add', addr);
    this.state.link(addr.ifindex, ctx, 'RTM_NEWADDR');
    if (this.findAddr(addr.ifindex, ip, addr.prefixLen) >= 0) throw nativeError('EEXIST', 'RTM_NEWADDR', ctx);
    const scope = family === 6 && ip.startsWith('fe80:') ? RT_SCOPE_LINK : 0;
    this.state.addrs.push({ ifindex: addr.ifindex, family, address: ip, prefixLen: addr.prefixLen, scope });
  }

  async addrDelete(addr: AddrSpec): Promise<void> {
    const { ctx, ip } = this.addrArgs('addr delete', addr);
    this.state.link(addr.ifindex, ctx, 'RTM_DELADDR');
    const i = this.findAddr(addr.ifindex, ip, addr.prefixLen);
    if (i < 0) throw nativeError('EADDRNOTAVAIL', 'RTM_DELADDR', ctx);
    this.state.addrs.splice(i, 1);
  }

  private addrArgs(verb: string, addr: AddrSpec): { ctx: string; family: Family; ip: string } {
    this.check(verb);
    checkIndex(verb, addr.ifindex);
    const { family, ip } = checkCIDR(verb, 'address', `${addr.address}/${addr.prefixLen}`);
    return { ctx: `${verb} ${ip}/${addr.prefixLen} dev #${addr.ifindex}`, family, ip: canonicalIP(ip) };
  }

  private findAddr(ifindex: number, ip: string, prefixLen: number): number {
    return this.state.addrs.findIndex((a) => a.ifindex === ifindex && a.address === ip && a.prefixLen === prefixLen);
  }

  async routeList(filter: { family?: Family; table?: number; ifindex?: number } = {}): Promise<Route[]> {
    this.check('route list');
    const table = filter.table ?? RT_TABLE_MAIN;
    return this.state
      .allRoutes()
      .filter((r) => r.table === table && (!filter.family || r.family === filter.family) && (!filter.ifindex || r.ifindex === filter.ifindex))
      .map((r) => ({ ...r }));
  }

  async routeGet(dst: string): Promise<Route[]> {
    this.check('route get');
    const family = checkIP('route get', 'dst', dst);
    const ip = canonicalIP(dst);
    const r = this.state.lookup(ip);
    if (!r) throw nativeError('ENETUNREACH', 'RTM_GETROUTE', `route get ${dst}`);
    // The kernel answers a lookup that ends in a blackhole route with EINVAL.
    if (r.type === RTN_BLACKHOLE) throw nativeError('EINVAL', 'RTM_GETROUTE', `route get ${dst}`);
    const src = this.state.addrs.find((a) => a.ifindex === r.ifindex && a.family === family)?.address ?? null;
    return [{ ...r, dst: `${ip}/${family === 4 ? 32 : 128}`, scope: 0, protocol: 0, onlink: false, prefsrc: src }];
  }

  async neighList(filter: { ifindex?: number; family?: Family } = {}): Promise<Neigh[]> {
    this.check('neigh list');
    return this.state.neighs.filter((n) => (!filter.ifindex || n.ifindex === filter.ifindex) && (!filter.family || n.family === filter.family)).map((n) => ({ ...n }));
  }

  async fdbList(filter: { ifindex?: number } = {}): Promise<FdbEntry[]> {
    this.check('fdb list');
    return this.state.fdb.filter((f) => !filter.ifindex || f.ifindex === filter.ifindex).map((f) => ({ ...f }));
  }

  async apply(ops: readonly Op[]): Promise<Array<NativeError | null>> {
    this.check(`apply ${ops.length} ops`);
    this.applyCalls++;
    const events: EntryEvent[] = [];
    const results = ops.map((op) => {
      try {
        const n = normalizeOp(op);
        const fault = this.faults.map((rule) => rule(op)).find((c) => c !== null);
        if (fault) throw nativeError(fault, 'fault injection', describeOp(n));
        const e = this.execute(n);
        if (e) events.push(e);
        this.opsApplied++;
        return null;
      } catch (e) {
        return e as NativeError;
      }
    });
    this.emitEntries(events);
    return results;
  }

  /** Applies one op to the state; the notification the kernel would send for it, if any. */
  private execute(op: NOp): EntryEvent | null {
    const ctx = describeOp(op);
    const deleted = op.del;
    if (op.kind === 'route') {
      const route = { ...(op.del ? this.state.routeDelete(op.route, ctx) : this.state.routeReplace(op.route, ctx)) };
      return { type: 'route', deleted, route };
    }
    if (op.kind === 'neigh') {
      const neigh = { ...(op.del ? this.state.neighDelete(op.neigh, ctx) : this.state.neighReplace(op.neigh, ctx)) };
      return { type: 'neigh', deleted, neigh };
    }
    const fdb = op.del ? this.state.fdbDelete(op.fdb, ctx) : this.state.fdbReplace(op.fdb, ctx);
    return fdb && { type: 'fdb', deleted, fdb: { ...fdb } };
  }

  /** Delivers one apply's notifications later, in order, as the kernel's monitor socket would. */
  private emitEntries(events: readonly EntryEvent[]): void {
    if (events.length === 0) return;
    for (const l of [...this.entryListeners]) setImmediate(() => events.forEach((e) => this.entryListeners.has(l) && l(e)));
  }

  /** Test-only: tell entry watchers that notifications were lost, as a full monitor socket does. */
  overflowEntries(): void {
    this.emitEntries([{ type: 'overflow' }]);
  }

  watchEntries(listener: (event: EntryEvent) => void): () => void {
    this.check('watch entries');
    const own = (e: EntryEvent): void => listener(e);
    this.entryListeners.add(own);
    return () => void this.entryListeners.delete(own);
  }

  watchLinks(listener: (event: LinkEvent) => void): () => void {
    this.check('watch links');
    const own = (e: LinkEvent): void => listener(e);
    this.listeners.add(own);
    return () => void this.listeners.delete(own);
  }

  async writeSysctl(key: string, value: string): Promise<void> {
    this.check('write sysctl');
    const k = checkSysctlKey('write sysctl', key);
    const dev = /^net\/ipv[46]\/conf\/([^/]+)\//.exec(k)?.[1];
    if (dev && dev !== 'all' && dev !== 'default' && !this.byName(dev)) throw nativeError('ENOENT', 'open', `writing ${value} to /proc/sys/${k}`);
    this.sysctls.set(k, String(value));
  }

  /** Transmit checksum offload per link index; a link not listed has it on (the kernel's default), so a recreated device starts on again. */
  readonly txChecksum = new Map<number, boolean>();

  async txChecksumOffload(ifname: string, on?: boolean): Promise<boolean> {
    this.check('tx checksum offload');
    const name = checkIfName('tx checksum offload', ifname);
    const link = this.byName(name);
    if (!link) throw nativeError('ENODEV', 'ioctl', `reading the tx checksum offload of ${name}`);
    if (on !== undefined) this.txChecksum.set(link.index, on);
    return this.txChecksum.get(link.index) ?? true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.entryListeners.clear();
  }
}

function clone(l: Link): Link {
  return { ...l, ...(l.vxlan ? { vxlan: { ...l.vxlan } } : {}) };
}

function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return bytesToMac(b);
}
