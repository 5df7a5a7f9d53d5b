// Parsers for the kernel's answers: the message stream, attributes, and each object type.
import { bytesToIP } from '../../common/ip.js';
import { bytesToMac } from '../mac.js';
import type { Addr, FdbEntry, Family, Link, Neigh, Route, VxlanAttrs } from '../types.js';
import * as C from './constants.js';

export interface RawMsg {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  /** Everything after the 16-byte header. */
  readonly body: Buffer;
}

/**
 * One message of a received buffer. Its body is cut out of the buffer when first read: a dump of 5000
 * entries is split at once when it arrives, but decoded in chunks between which the event loop runs,
 * so the split must cost little.
 */
class Msg implements RawMsg {
  private cut: Buffer | null = null;
  constructor(
    readonly type: number,
    readonly flags: number,
    readonly seq: number,
    private readonly buf: Buffer,
    private readonly start: number,
    private readonly end: number,
  ) {}
  get body(): Buffer {
    return (this.cut ??= this.buf.subarray(this.start, this.end));
  }
}

export function splitMessages(buf: Buffer): RawMsg[] {
  const out: RawMsg[] = [];
  let off = 0;
  const n = buf.length;
  while (off + 16 <= n) {
    const len = (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
    if (len < 16 || off + len > n) break;
    const type = buf[off + 4]! | (buf[off + 5]! << 8);
    const flags = buf[off + 6]! | (buf[off + 7]! << 8);
    const seq = (buf[off + 8]! | (buf[off + 9]! << 8) | (buf[off + 10]! << 16) | (buf[off + 11]! << 24)) >>> 0;
    out.push(new Msg(type, flags, seq, buf, off + 16, off + len));
    off += (len + 3) & ~3;
  }
  return out;
}

/** Attributes of `buf` from `start`, by type (the last one wins for repeated types). */
export function parseAttrs(buf: Buffer, start = 0): Map<number, Buffer> {
  const attrs = new Map<number, Buffer>();
  let off = start;
  const n = buf.length;
  while (off + 4 <= n) {
    const len = buf[off]! | (buf[off + 1]! << 8);
    if (len < 4 || off + len > n) break;
    attrs.set((buf[off + 2]! | (buf[off + 3]! << 8)) & 0x3fff, buf.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return attrs;
}

/** The errno (positive; 0 for success) and extended-ACK text of an NLMSG_ERROR. */
export function decodeError(m: RawMsg): { errno: number; message?: string } {
  const errno = -m.body.readInt32LE(0);
  if (!(m.flags & C.NLM_F_ACK_TLVS) || m.body.length < 20) return { errno };
  // With NETLINK_CAP_ACK the echoed request is only its 16-byte header.
  const tlvs = parseAttrs(m.body, 4 + 16);
  const msg = tlvs.get(C.NLMSGERR_ATTR_MSG);
  return { errno, message: msg ? msg.toString('utf8').replace(/\0+$/, '') : undefined };
}

function family(f: number): Family | null {
  return f === C.AF_INET ? 4 : f === C.AF_INET6 ? 6 : null;
}

const u8 = (b: Buffer | undefined): number => (b && b.length >= 1 ? b.readUInt8(0) : 0);
const u32 = (b: Buffer | undefined): number => (b && b.length >= 4 ? b.readUInt32LE(0) : 0);
const cstr = (b: Buffer | undefined): string => (b ? b.toString('utf8').replace(/\0.*$/s, '') : '');
const ip = (b: Buffer | undefined): string | null => (b && (b.length === 4 || b.length === 16) ? bytesToIP(b) : null);

export function decodeLink(m: RawMsg): Link | null {
  if (m.body.length < 16) return null;
  const attrs = parseAttrs(m.body, 16);
  const info = attrs.get(C.IFLA_LINKINFO);
  const infoAttrs = info ? parseAttrs(info) : new Map<number, Buffer>();
  const kind = infoAttrs.has(C.IFLA_INFO_KIND) ? cstr(infoAttrs.get(C.IFLA_INFO_KIND)) : null;
  const mac = attrs.get(C.IFLA_ADDRESS);
  const link: Link = {
    index: m.body.readInt32LE(4),
    name: cstr(attrs.get(C.IFLA_IFNAME)),
    kind,
    mtu: u32(attrs.get(C.IFLA_MTU)),
    mac: mac && mac.length === 6 ? bytesToMac(mac) : null,
    up: (m.body.readUInt32LE(8) & C.IFF_UP) !== 0,
  };
  const data = infoAttrs.get(C.IFLA_INFO_DATA);
  if (kind === 'vxlan' && data) link.vxlan = decodeVxlan(parseAttrs(data));
  return link;
}

function decodeVxlan(a: Map<number, Buffer>): VxlanAttrs {
  const port = a.get(C.IFLA_VXLAN_PORT);
  return {
    vni: u32(a.get(C.IFLA_VXLAN_ID)),
    link: u32(a.get(C.IFLA_VXLAN_LINK)),
    local: ip(a.get(C.IFLA_VXLAN_LOCAL)) ?? ip(a.get(C.IFLA_VXLAN_LOCAL6)),
    group: ip(a.get(C.IFLA_VXLAN_GROUP)) ?? ip(a.get(C.IFLA_VXLAN_GROUP6)),
    port: port && port.length >= 2 ? port.readUInt16BE(0) : 0,
    ttl: u8(a.get(C.IFLA_VXLAN_TTL)),
    tos: u8(a.get(C.IFLA_VXLAN_TOS)),
    learning: u8(a.get(C.IFLA_VXLAN_LEARNING)) !== 0,
    proxy: u8(a.get(C.IFLA_VXLAN_PROXY)) !== 0,
    rsc: u8(a.get(C.IFLA_VXLAN_RSC)) !== 0,
    l2miss: u8(a.get(C.IFLA_VXLAN_L2MISS)) !== 0,
    l3miss: u8(a.get(C.IFLA_VXLAN_L3MISS)) !== 0,
    gbp: a.has(C.IFLA_VXLAN_GBP),
    udp6ZeroCsumTx: u8(a.get(C.IFLA_VXLAN_UDP_ZERO_CSUM6_TX)) !== 0,
    udp6ZeroCsumRx: u8(a.get(C.IFLA_VXLAN_UDP_ZERO_CSUM6_RX)) !== 0,
  };
}

export function decodeAddr(m: RawMsg): Addr | null {
  const fam = family(m.body.readUInt8(0));
  if (!fam) return null;
  const attrs = parseAttrs(m.body, 8);
  const address = ip(attrs.get(C.IFA_LOCAL)) ?? ip(attrs.get(C.IFA_ADDRESS));
  if (!address) return null;
  return { ifindex: m.body.readUInt32LE(4), family: fam, address, prefixLen: m.body.readUInt8(1), scope: m.body.readUInt8(3) };
}

export function decodeRoute(m: RawMsg): Route | null {
  const fam = family(m.body.readUInt8(0));
  if (!fam) return null;
  const attrs = parseAttrs(m.body, 12);
  const dstLen = m.body.readUInt8(1);
  const dst = ip(attrs.get(C.RTA_DST)) ?? (fam === 4 ? '0.0.0.0' : '::');
  const table = attrs.has(C.RTA_TABLE) ? u32(attrs.get(C.RTA_TABLE)) : m.body.readUInt8(4);
  return {
    family: fam,
    dst: `${dst}/${dstLen}`,
    gateway: ip(attrs.get(C.RTA_GATEWAY)),
    ifindex: u32(attrs.get(C.RTA_OIF)),
    onlink: (m.body.readUInt32LE(8) & C.RTNH_F_ONLINK) !== 0,
    scope: m.body.readUInt8(6),
    table,
    protocol: m.body.readUInt8(5),
    type: m.body.readUInt8(7),
    metric: u32(attrs.get(C.RTA_PRIORITY)),
    prefsrc: ip(attrs.get(C.RTA_PREFSRC)),
  };
}

export function decodeNeigh(m: RawMsg): Neigh | null {
  const fam = family(m.body.readUInt8(0));
  if (!fam) return null;
  const attrs = parseAttrs(m.body, 12);
  const dst = ip(attrs.get(C.NDA_DST));
  if (!dst) return null;
  const mac = attrs.get(C.NDA_LLADDR);
  return {
    ifindex: m.body.readInt32LE(4),
    family: fam,
    ip: dst,
    mac: mac && mac.length === 6 ? bytesToMac(mac) : null,
    state: m.body.readUInt16LE(8),
    flags: m.body.readUInt8(10),
  };
}

export function decodeFdb(m: RawMsg): FdbEntry | null {
  if (m.body.readUInt8(0) !== C.AF_BRIDGE) return null;
  const attrs = parseAttrs(m.body, 12);
  const mac = attrs.get(C.NDA_LLADDR);
  if (!mac || mac.length !== 6) return null;
  const vni = attrs.get(C.NDA_VNI);
  return {
    ifindex: m.body.readInt32LE(4),
    mac: bytesToMac(mac),
    dst: ip(attrs.get(C.NDA_DST)),
    self: (m.body.readUInt8(10) & C.NTF_SELF) !== 0,
    state: m.body.readUInt16LE(8),
    vni: vni ? u32(vni) : null,
  };
}
