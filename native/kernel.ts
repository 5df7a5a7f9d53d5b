// The Native interface on the real kernel: rtnetlink through the C++ addon, in the network namespace
// the handle was opened in (the process's own by default, so a daemon started with `ip netns exec`
// just works; tests pass the path of a namespace they made).
import { loadAddon, type RawAddon, type RawMonitor } from './addon.js';
import { canonicalIP } from '../common/ip.js';
import { NativeBase } from './base.js';
import { type NativeError, fromAddonError, nativeError } from './errors.js';
import * as C from './netlink/constants.js';
import { type RawMsg, decodeAddr, decodeFdb, decodeLink, decodeNeigh, decodeRoute, splitMessages } from './netlink/decode.js';
import * as E from './netlink/encode.js';
import { type Answer, Transport, answerError, openTransport, requestOne } from './netlink/transport.js';
import type { MsgWriter } from './netlink/writer.js';
import { type NOp, describeOp, normalizeOp } from './ops.js';
import type { Addr, AddrSpec, EntryEvent, FdbEntry, Family, Link, LinkChange, LinkEvent, Native, Neigh, Op, Route, VxlanLinkSpec } from './types.js';
import { RT_TABLE_MAIN } from './types.js';
import { checkCIDR, checkFamily, checkIP, checkIfName, checkIndex, checkInt, checkMAC, checkSysctlKey } from './validate.js';

export interface OpenOptions {
  /** A namespace name (looked up in /run/netns) or a path like /proc/<pid>/ns/net. Default: our own. */
  netns?: string;
}

/**
 * Opens a handle on the kernel. The sockets are created on the calling thread, which enters the
 * namespace (setns) only for that moment; every request then runs on libuv's thread pool. Throws
 * NativeError (ENOENT for a missing namespace, EPERM without CAP_NET_ADMIN/CAP_SYS_ADMIN). Each call
 * opens a new, independent handle.
 */
export function openNative(opts: OpenOptions = {}): Native {
  return new KernelNative(loadAddon(), netnsPath(opts.netns));
}

/** The path of namespace `netns` (a name in /run/netns, or a path); '' for our own. */
export function netnsPath(netns: string | undefined): string {
  if (!netns) return '';
  return netns.includes('/') ? netns : `/run/netns/${netns}`;
}

const DUMP_RETRIES = 5;

/** An rtnetlink socket in namespace path `netns` ('' for ours); NativeError when it cannot be opened. */
export function openRtnetlink(addon: RawAddon, netns: string): Transport {
  return openTransport(() => new addon.NlSocket(netns), `opening rtnetlink in ${netns || 'the current namespace'}`);
}

/** Looks link `name` up; null when there is none. */
export async function linkByName(t: Transport, name: string): Promise<Link | null> {
  try {
    const a = await requestOne(t, `link get ${name}`, 'RTM_GETLINK', (w, seq) => E.encodeLinkGet(w, name, seq));
    return a.msgs.map(decodeLink).find((l) => l !== null) ?? null;
  } catch (e) {
    if ((e as NativeError).code === 'ENODEV') return null;
    throw e;
  }
}

/** `ip link del` by index; rejects with the kernel's error, `ctx` naming the request. */
export async function deleteLink(t: Transport, index: number, ctx: string): Promise<void> {
  await requestOne(t, ctx, 'RTM_DELLINK', (w, seq) => E.encodeLinkDel(w, index, seq));
}

class KernelNative extends NativeBase implements Native {
  private readonly transport: Transport;
  private readonly monitors = new Set<RawMonitor>();

  constructor(
    private readonly addon: RawAddon,
    private readonly netns: string,
  ) {
    super();
    this.transport = openRtnetlink(addon, netns);
  }

  private single(ctx: string, syscall: string, build: (w: MsgWriter, seq: number) => void): Promise<Answer> {
    return requestOne(this.transport, ctx, syscall, build);
  }

  private async dump<T>(what: 'link' | 'addr' | 'route' | 'neigh' | 'fdb', f: E.DumpFilter, decode: (m: RawMsg) => T | null): Promise<T[]> {
    const ctx = `${what} dump`;
    for (let attempt = 1; ; attempt++) {
      const a = await this.single(ctx, 'RTM_GET', (w, seq) => E.encodeDump(w, what, seq, f));
      if (a.interrupted && attempt < DUMP_RETRIES) continue;
      return decodeYielding(a.msgs, decode);
    }
  }

  linkGet(name: string): Promise<Link | null> {
    return linkByName(this.transport, checkIfName('link get', name));
  }

  linkList(): Promise<Link[]> {
    return this.dump('link', {}, decodeLink);
  }

  async linkAddVxlan(spec: VxlanLinkSpec): Promise<Link> {
    const s = checkVxlanSpec(spec);
    const ctx = `link add ${s.name} type vxlan id ${s.vni}`;
    await this.single(ctx, 'RTM_NEWLINK', (w, seq) => E.encodeVxlanAdd(w, s, seq));
    const link = await this.linkGet(s.name);
    if (!link) throw nativeError('ENODEV', 'RTM_GETLINK', `${ctx}: the link vanished right after its creation`);
    return link;
  }

  async linkDelete(index: number): Promise<void> {
    const i = checkIndex('link delete', index);
    await deleteLink(this.transport, i, `link delete #${i}`);
  }

  async linkSet(index: number, change: LinkChange): Promise<void> {
    const i = checkIndex('link set', index);
    const ch: LinkChange = {};
    if (change.up !== undefined) ch.up = change.up === true;
    if (change.mtu !== undefined) ch.mtu = checkInt('link set', 'mtu', change.mtu, 68, 65535);
    if (change.mac !== undefined) ch.mac = checkMAC('link set', 'mac', change.mac);
    await this.single(`link set #${i} ${JSON.stringify(ch)}`, 'RTM_NEWLINK', (w, seq) => E.encodeLinkSet(w, i, ch, seq));
  }

  addrList(filter: { ifindex?: number; family?: Family } = {}): Promise<Addr[]> {
    const family = checkFamily('addr list', filter.family);
    const ifindex = filter.ifindex === undefined ? undefined : checkIndex('addr list', filter.ifindex);
    return this.dump('addr', { family, ifindex }, decodeAddr);
  }

  addrAdd(addr: AddrSpec): Promise<void> {
    return this.addr(false, addr);
  }

  addrDelete(addr: AddrSpec): Promise<void> {
    return this.addr(true, addr);
  }

  private async addr(del: boolean, addr: AddrSpec): Promise<void> {
    const verb = del ? 'addr delete' : 'addr add';
    const i = checkIndex(verb, addr.ifindex);
    const { family, ip } = checkCIDR(verb, 'address', `${addr.address}/${addr.prefixLen}`);
    const ctx = `${verb} ${ip}/${addr.prefixLen} dev #${i}`;
    await this.single(ctx, del ? 'RTM_DELADDR' : 'RTM_NEWADDR', (w, seq) => E.encodeAddr(w, del, family, i, canonicalIP(ip), addr.prefixLen, seq));
  }

  routeList(filter: { family?: Family; table?: number; ifindex?: number } = {}): Promise<Route[]> {
    const family = checkFamily('route list', filter.family);
    const table = filter.table === undefined ? RT_TABLE_MAIN : checkInt('route list', 'table', filter.table, 1, 0xffffffff);
    const ifindex = filter.ifindex === undefined ? undefined : checkIndex('route list', filter.ifindex);
    return this.dump('route', { family, table, ifindex }, decodeRoute);
  }

  async routeGet(dst: string): Promise<Route[]> {
    const family = checkIP('route get', 'dst', dst);
    const a = await this.single(`route get ${dst}`, 'RTM_GETROUTE', (w, seq) => E.encodeRouteGet(w, canonicalIP(dst), family, seq));
    return a.msgs.map(decodeRoute).filter((r): r is Route => r !== null);
  }

  override async routeGetMany(dsts: readonly string[]): Promise<Array<Route[] | NativeError>> {
    const out: Array<Route[] | NativeError> = [];
    const valid: Array<{ i: number; dst: string; family: Family }> = [];
    dsts.forEach((dst, i) => {
      try {
        const family = checkIP('route get', 'dst', dst);
        valid.push({ i, dst: canonicalIP(dst), family });
      } catch (e) {
        out[i] = e as NativeError;
      }
    });
    const answers = await this.transport.request(`route get ${valid.length} destinations`, (w, next) => {
      for (const v of valid) E.encodeRouteGet(w, v.dst, v.family, next());
    });
    answers.forEach((a, k) => {
      const v = valid[k]!;
      out[v.i] = answerError(a, 'RTM_GETROUTE', `route get ${v.dst}`) ?? a.msgs.map(decodeRoute).filter((r): r is Route => r !== null);
    });
    return out;
  }

  neighList(filter: { ifindex?: number; family?: Family } = {}): Promise<Neigh[]> {
    const family = checkFamily('neigh list', filter.family);
    const ifindex = filter.ifindex === undefined ? undefined : checkIndex('neigh list', filter.ifindex);
    return this.dump('neigh', { family, ifindex }, decodeNeigh);
  }

  fdbList(filter: { ifindex?: number } = {}): Promise<FdbEntry[]> {
    const ifindex = filter.ifindex === undefined ? undefined : checkIndex('fdb list', filter.ifindex);
    return this.dump('fdb', { ifindex }, decodeFdb);
  }

  async apply(ops: readonly Op[]): Promise<Array<NativeError | null>> {
    const results: Array<NativeError | null> = new Array<NativeError | null>(ops.length).fill(null);
    const valid: Array<{ i: number; op: NOp }> = [];
    ops.forEach((op, i) => {
      try {
        valid.push({ i, op: normalizeOp(op) });
      } catch (e) {
        results[i] = e as NativeError;
      }
    });
    const answers = await this.transport.request(`apply ${valid.length} ops`, (w, next) => {
      for (const v of valid) E.encodeOp(w, v.op, next());
    });
    answers.forEach((a, k) => {
      const { i, op } = valid[k]!;
      results[i] = answerError(a, opSyscall(op), describeOp(op));
    });
    return results;
  }

  watchLinks(listener: (event: LinkEvent) => void): () => void {
    return this.monitor(C.RTMGRP_LINK, 'watching links', (err, buf) => deliverLinkEvents(listener, err, buf));
  }

  watchEntries(listener: (event: EntryEvent) => void): () => void {
    const groups = C.RTMGRP_NEIGH | C.RTMGRP_IPV4_ROUTE | C.RTMGRP_IPV6_ROUTE;
    // The echoes of our own route and neighbour writes (a cold start with 5000 peers writes 15000
    // entries) carry our socket's portid and are dropped in the addon; FDB notifications name no
    // writer (the vxlan driver sends them with portid 0), so those all arrive.
    const own = this.transport.portid();
    return this.monitor(groups, 'watching neighbours and routes', (err, buf) => deliverEntryEvents(listener, err, buf), own);
  }

  private monitor(groups: number, ctx: string, cb: (err: Error | null, buf: Buffer | null) => void, ignorePortid = 0): () => void {
    let mon: RawMonitor | null = null;
    try {
      mon = new this.addon.NlMonitor(this.netns, groups, cb, ignorePortid);
    } catch (e) {
      throw fromAddonError(e, ctx);
    }
    this.monitors.add(mon);
    return () => {
      if (mon && this.monitors.delete(mon)) mon.close();
    };
  }

  async writeSysctl(key: string, value: string): Promise<void> {
    const k = checkSysctlKey('write sysctl', key);
    try {
      this.addon.writeSysctl(this.netns, k, String(value));
    } catch (e) {
      throw fromAddonError(e, `writing ${value} to /proc/sys/${k}`);
    }
  }

  async txChecksumOffload(ifname: string, on?: boolean): Promise<boolean> {
    const name = checkIfName('tx checksum offload', ifname);
    try {
      return this.addon.txChecksum(this.netns, name, on === undefined ? -1 : on ? 1 : 0);
    } catch (e) {
      throw fromAddonError(e, `${on === undefined ? 'reading' : 'setting'} the tx checksum offload of ${name}`);
    }
  }

  async close(): Promise<void> {
    for (const m of this.monitors) m.close();
    this.monitors.clear();
    await this.transport.close();
  }
}

const DECODE_CHUNK = 200;

/** Decodes a dump in chunks of 200 entries (~2 ms each), yielding to the event loop between them. */
async function decodeYielding<T>(msgs: readonly RawMsg[], decode: (m: RawMsg) => T | null): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < msgs.length; i++) {
    const x = decode(msgs[i]!);
    if (x !== null) out.push(x);
    if (i % DECODE_CHUNK === DECODE_CHUNK - 1) await new Promise((r) => setImmediate(r));
  }
  return out;
}

function opSyscall(op: NOp): string {
  const kind = op.kind === 'route' ? 'ROUTE' : 'NEIGH';
  return `RTM_${op.del ? 'DEL' : 'NEW'}${kind}`;
}

function deliverLinkEvents(listener: (event: LinkEvent) => void, err: Error | null, buf: Buffer | null): void {
  if (err || !buf) {
    listener({ type: 'overflow' });
    return;
  }
  for (const m of splitMessages(buf)) {
    if (m.type !== C.RTM_NEWLINK && m.type !== C.RTM_DELLINK) continue;
    const link = decodeLink(m);
    if (link) listener({ type: m.type === C.RTM_DELLINK ? 'deleted' : 'changed', link });
  }
}

function deliverEntryEvents(listener: (event: EntryEvent) => void, err: Error | null, buf: Buffer | null): void {
  if (err || !buf) {
    listener({ type: 'overflow' });
    return;
  }
  for (const m of splitMessages(buf)) {
    const e = decodeEntryEvent(m);
    if (e) listener(e);
  }
}

function decodeEntryEvent(m: RawMsg): EntryEvent | null {
  if (m.type === C.RTM_NEWROUTE || m.type === C.RTM_DELROUTE) {
    const route = decodeRoute(m);
    return route && { type: 'route', deleted: m.type === C.RTM_DELROUTE, route };
  }
  if (m.type !== C.RTM_NEWNEIGH && m.type !== C.RTM_DELNEIGH) return null;
  const deleted = m.type === C.RTM_DELNEIGH;
  if (m.body.length >= 1 && m.body.readUInt8(0) === C.AF_BRIDGE) {
    const fdb = decodeFdb(m);
    return fdb && { type: 'fdb', deleted, fdb };
  }
  const neigh = decodeNeigh(m);
  return neigh && { type: 'neigh', deleted, neigh };
}

function checkVxlanSpec(s: VxlanLinkSpec): VxlanLinkSpec {
  const ctx = 'link add vxlan';
  const out: VxlanLinkSpec = {
    name: checkIfName(ctx, s?.name),
    vni: checkInt(ctx, 'vni', s.vni, 0, 0xffffff),
    learning: s.learning === true,
    gbp: s.gbp === true,
  };
  if (s.mtu !== undefined) out.mtu = checkInt(ctx, 'mtu', s.mtu, 68, 65535);
  if (s.mac !== undefined) out.mac = checkMAC(ctx, 'mac', s.mac);
  if (s.link !== undefined) out.link = checkIndex(ctx, s.link);
  if (s.local !== undefined) (checkIP(ctx, 'local', s.local), (out.local = canonicalIP(s.local)));
  if (s.port !== undefined) out.port = checkInt(ctx, 'port', s.port, 0, 65535);
  return out;
}
