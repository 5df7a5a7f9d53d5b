// A simulated kernel for KernelWireGuard where the real one has no WireGuard (this project's machines):
// it answers the raw netlink bytes of both sockets in memory — rtnetlink RTM_NEWLINK/GETLINK/DELLINK for
// links, generic netlink WG_CMD_GET_DEVICE/SET_DEVICE for WireGuard — with the semantics of
// drivers/net/wireguard/netlink.c as documented in include/uapi/linux/wireguard.h: keys clamped, a
// zero preshared key is none, REPLACE_ALLOWEDIPS, REMOVE_ME, an allowed IP moving to the peer that
// takes it, ENODEV for no such link and EOPNOTSUPP for a link of another kind, a fresh device on port
// 0, and dumps spread over several messages (two peers each). It checks KernelWireGuard's flows, not
// the kernel: what the kernel really does is only tested where it has WireGuard (@wgkernel).
import type { RawAddon, RawSocket } from '../../native/addon.js';
import * as C from '../../native/netlink/constants.js';
import { type RawMsg, splitMessages } from '../../native/netlink/decode.js';
import { genlmsghdr } from '../../native/netlink/genl.js';
import { MsgWriter, ifinfomsg } from '../../native/netlink/writer.js';
import type { Link } from '../../native/types.js';
import * as W from '../../native/wg-netlink.js';
import { attrList } from '../../native/wg-netlink-decode.js';

interface SimPeer {
  key: Buffer;
  psk: Buffer;
  endpoint: Buffer | null;
  keepalive: number;
  ips: Buffer[]; // each: the WGALLOWEDIP entry's attributes, as sent
}
interface SimLink {
  index: number;
  name: string;
  kind: string;
  wg: { privateKey: Buffer | null; port: number; peers: SimPeer[] } | null;
}

const ENODEV = 19;
const EEXIST = 17;
const EOPNOTSUPP = 95;
const EINVAL = 22;
const get = (attrs: ReturnType<typeof attrList>, type: number): Buffer | undefined => attrs.find((a) => a.type === type)?.data;
const cstr = (b: Buffer | undefined): string => (b ? b.toString('utf8').replace(/\0.*$/s, '') : '');

export class SimKernel {
  readonly familyId = 0x1c;
  readonly links = new Map<string, SimLink>();
  /** How many SET_DEVICE messages arrived. */
  setMessages = 0;
  private nextIndex = 2;
  private readonly monitors = new Set<(err: Error | null, buf: Buffer | null) => void>();

  socket(kind: 'genl' | 'rt'): RawSocket {
    return { transact: async (req) => this.transact(kind, req), portid: () => 0, close: () => undefined };
  }

  /** The addon surface KernelWireGuard uses: the link monitor. */
  addon(): RawAddon {
    const monitors = this.monitors;
    class NlMonitor {
      constructor(_ns: string, _groups: number, private readonly cb: (err: Error | null, buf: Buffer | null) => void) {
        monitors.add(cb);
      }
      close(): void {
        monitors.delete(this.cb);
      }
    }
    return { NlMonitor } as unknown as RawAddon;
  }

  /** Someone else deletes the link; `tell: false` loses the notification (a monitor overflow). */
  deleteLink(name: string, tell = true): void {
    const l = this.links.get(name);
    if (!l) return;
    this.links.delete(name);
    if (tell) this.notify(l, C.RTM_DELLINK);
    else for (const cb of [...this.monitors]) setImmediate(() => cb(new Error('ENOBUFS'), null));
  }

  addLink(name: string, kind: string): void {
    this.links.set(name, { index: this.nextIndex++, name, kind, wg: kind === 'wireguard' ? { privateKey: null, port: 0, peers: [] } : null });
  }

  linkGet(name: string): Link | null {
    const l = this.links.get(name);
    return l ? { index: l.index, name, kind: l.kind, mtu: 1420, mac: null, up: false } : null;
  }

  private notify(l: SimLink, type: number): void {
    const w = new MsgWriter();
    this.linkMsg(w, l, type, 0, 0);
    const buf = Buffer.from(w.bytes());
    for (const cb of [...this.monitors]) setImmediate(() => cb(null, buf));
  }

  private transact(kind: 'genl' | 'rt', req: Buffer): Buffer {
    const out = new MsgWriter();
    for (const m of splitMessages(req)) {
      const errno = kind === 'rt' ? this.route(m, out) : this.genl(m, out);
      if (errno > 0) {
        const body = Buffer.alloc(20);
        body.writeInt32LE(-errno, 0);
        out.begin(C.NLMSG_ERROR, 0, m.seq, body).end();
      } else if (m.flags & C.NLM_F_DUMP) out.begin(C.NLMSG_DONE, C.NLM_F_MULTI, m.seq, Buffer.alloc(4)).end();
    }
    return Buffer.from(out.bytes());
  }

  private linkMsg(w: MsgWriter, l: SimLink, type: number, seq: number, flags: number): void {
    w.begin(type, flags, seq, ifinfomsg(C.AF_UNSPEC, l.index));
    w.str(C.IFLA_IFNAME, l.name).nest(C.IFLA_LINKINFO, (li) => li.str(C.IFLA_INFO_KIND, l.kind));
    w.end();
  }

  private route(m: RawMsg, out: MsgWriter): number {
    const attrs = attrList(m.body, 16);
    const name = cstr(get(attrs, C.IFLA_IFNAME));
    if (m.type === C.RTM_NEWLINK) {
      if (this.links.has(name)) return EEXIST;
      this.addLink(name, cstr(get(attrList(get(attrs, C.IFLA_LINKINFO) ?? Buffer.alloc(0)), C.IFLA_INFO_KIND)));
      this.notify(this.links.get(name)!, C.RTM_NEWLINK);
      return 0;
    }
    if (m.type === C.RTM_GETLINK) {
      const l = this.links.get(name);
      if (!l) return ENODEV;
      this.linkMsg(out, l, C.RTM_NEWLINK, m.seq, 0);
      return 0;
    }
    if (m.type === C.RTM_DELLINK) {
      const l = [...this.links.values()].find((x) => x.index === m.body.readInt32LE(4));
      if (!l) return ENODEV;
      this.deleteLink(l.name);
      return 0;
    }
    return EINVAL;
  }

  private genl(m: RawMsg, out: MsgWriter): number {
    if (m.type !== this.familyId) return EINVAL;
    const attrs = attrList(m.body, 4);
    const l = this.links.get(cstr(get(attrs, W.WGDEVICE_A_IFNAME)));
    if (!l) return ENODEV;
    if (!l.wg) return EOPNOTSUPP;
    if (m.body.readUInt8(0) === W.WG_CMD_GET_DEVICE) return this.dump(l, m.seq, out);
    this.setMessages++;
    return this.set(l.wg, attrs);
  }

  private set(dev: NonNullable<SimLink['wg']>, attrs: ReturnType<typeof attrList>): number {
    const priv = get(attrs, W.WGDEVICE_A_PRIVATE_KEY);
    if (priv) {
      dev.privateKey = Buffer.from(priv);
      dev.privateKey[0]! &= 248;
      dev.privateKey[31] = (dev.privateKey[31]! & 127) | 64;
    }
    const port = get(attrs, W.WGDEVICE_A_LISTEN_PORT);
    if (port) dev.port = port.readUInt16LE(0);
    for (const entry of attrList(get(attrs, W.WGDEVICE_A_PEERS) ?? Buffer.alloc(0))) {
      const a = attrList(entry.data);
      const key = get(a, W.WGPEER_A_PUBLIC_KEY);
      if (!key || key.length !== 32) return EINVAL;
      const flags = get(a, W.WGPEER_A_FLAGS)?.readUInt32LE(0) ?? 0;
      let p = dev.peers.find((x) => x.key.equals(key));
      if (flags & W.WGPEER_F_REMOVE_ME) {
        dev.peers = dev.peers.filter((x) => x !== p);
        continue;
      }
      if (!p) dev.peers.push((p = { key: Buffer.from(key), psk: Buffer.alloc(32), endpoint: null, keepalive: 0, ips: [] }));
      const psk = get(a, W.WGPEER_A_PRESHARED_KEY);
      if (psk) p.psk = Buffer.from(psk);
      const ep = get(a, W.WGPEER_A_ENDPOINT);
      if (ep) p.endpoint = Buffer.from(ep);
      const ka = get(a, W.WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL);
      if (ka) p.keepalive = ka.readUInt16LE(0);
      if (flags & W.WGPEER_F_REPLACE_ALLOWEDIPS) p.ips = [];
      for (const ip of attrList(get(a, W.WGPEER_A_ALLOWEDIPS) ?? Buffer.alloc(0))) {
        for (const q of dev.peers) q.ips = q.ips.filter((x) => !x.equals(ip.data)); // an allowed IP has one peer
        p.ips.push(Buffer.from(ip.data));
      }
    }
    return 0;
  }

  private dump(l: SimLink, seq: number, out: MsgWriter): number {
    const dev = l.wg!;
    const chunks: SimPeer[][] = [];
    for (let i = 0; i < dev.peers.length; i += 2) chunks.push(dev.peers.slice(i, i + 2));
    for (const peers of chunks.length > 0 ? chunks : [[]]) {
      out.begin(this.familyId, C.NLM_F_MULTI, seq, genlmsghdr(W.WG_CMD_GET_DEVICE, W.WG_GENL_VERSION));
      out.u32(W.WGDEVICE_A_IFINDEX, l.index).str(W.WGDEVICE_A_IFNAME, l.name);
      if (dev.privateKey) out.attr(W.WGDEVICE_A_PRIVATE_KEY, dev.privateKey);
      out.attr(W.WGDEVICE_A_LISTEN_PORT, Buffer.from([dev.port & 0xff, dev.port >> 8]));
      if (peers.length > 0) out.attr(W.WGDEVICE_A_PEERS | 0x8000, Buffer.concat(peers.map(peerAttr)));
      out.end();
    }
    return 0;
  }
}

function peerAttr(p: SimPeer): Buffer {
  const attrs = [W.tlv(W.WGPEER_A_PUBLIC_KEY, p.key), W.tlv(W.WGPEER_A_PRESHARED_KEY, p.psk), W.tlv(W.WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, Buffer.from([p.keepalive & 0xff, p.keepalive >> 8]))];
  if (p.endpoint) attrs.push(W.tlv(W.WGPEER_A_ENDPOINT, p.endpoint));
  attrs.push(W.nest(W.WGPEER_A_ALLOWEDIPS, p.ips.map((ip) => W.tlv(0x8000, ip))));
  return W.nest(0, attrs);
}
