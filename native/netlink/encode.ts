// Request encoders: one function per rtnetlink request, writing into a MsgWriter. Arguments are
// already validated and normalised (native/ops.ts, native/validate.ts).
import { ipToBytes } from '../../common/ip.js';
import { macToBytes } from '../mac.js';
import type { NFdb, NNeigh, NOp, NRoute } from '../ops.js';
import type { Family, LinkChange, VxlanLinkSpec } from '../types.js';
import { NUD_PERMANENT, RTPROT_BOOT, RT_SCOPE_UNIVERSE } from '../types.js';
import * as C from './constants.js';
import { type MsgWriter, ifaddrmsg, ifinfomsg, ndmsg, rtmsg } from './writer.js';

const REQ_ACK = C.NLM_F_REQUEST | C.NLM_F_ACK;
const REQ_REPLACE = REQ_ACK | C.NLM_F_CREATE | C.NLM_F_REPLACE;

export function af(family: Family): number {
  return family === 4 ? C.AF_INET : C.AF_INET6;
}

export function encodeOp(w: MsgWriter, op: NOp, seq: number): void {
  if (op.kind === 'route') encodeRoute(w, op.route, op.del, seq);
  else if (op.kind === 'neigh') encodeNeigh(w, op.neigh, op.del, seq);
  else encodeFdb(w, op.fdb, op.del, seq);
}

function encodeRoute(w: MsgWriter, r: NRoute, del: boolean, seq: number): void {
  // Deletion matches any protocol, scope and type unless one is given, like `ip route del`.
  w.beginRtmsg(del ? C.RTM_DELROUTE : C.RTM_NEWROUTE, del ? REQ_ACK : REQ_REPLACE, seq, {
    family: af(r.family),
    dstLen: r.dstLen,
    table: r.table,
    protocol: r.protocol ?? (del ? 0 : RTPROT_BOOT),
    scope: r.scope ?? (del ? C.RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE),
    type: r.type === 'blackhole' ? C.RTN_BLACKHOLE : r.type === 'unicast' || !del ? C.RTN_UNICAST : 0,
    flags: r.onlink ? C.RTNH_F_ONLINK : 0,
  });
  if (r.table >= 256) w.u32(C.RTA_TABLE, r.table);
  w.ip(C.RTA_DST, r.dst);
  if (r.gateway) w.ip(C.RTA_GATEWAY, r.gateway);
  if (r.ifindex) w.u32(C.RTA_OIF, r.ifindex);
  if (r.metric !== null) w.u32(C.RTA_PRIORITY, r.metric);
  w.end();
}

function encodeNeigh(w: MsgWriter, n: NNeigh, del: boolean, seq: number): void {
  w.beginNdmsg(del ? C.RTM_DELNEIGH : C.RTM_NEWNEIGH, del ? REQ_ACK : REQ_REPLACE, seq, af(n.family), n.ifindex, del ? 0 : NUD_PERMANENT, 0, del ? 0 : C.RTN_UNICAST);
  w.ip(C.NDA_DST, n.ip);
  if (n.mac) w.mac(C.NDA_LLADDR, n.mac);
  w.end();
}

function encodeFdb(w: MsgWriter, f: NFdb, del: boolean, seq: number): void {
  w.beginNdmsg(del ? C.RTM_DELNEIGH : C.RTM_NEWNEIGH, del ? REQ_ACK : REQ_REPLACE, seq, C.AF_BRIDGE, f.ifindex, del ? 0 : NUD_PERMANENT, C.NTF_SELF, 0);
  w.mac(C.NDA_LLADDR, f.mac);
  if (f.dst) w.ip(C.NDA_DST, f.dst);
  w.end();
}

/** The attributes the reference daemon sends (vishvananda/netlink addVxlanAttrs), in its order. */
export function encodeVxlanAdd(w: MsgWriter, s: VxlanLinkSpec, seq: number): void {
  w.begin(C.RTM_NEWLINK, REQ_ACK | C.NLM_F_CREATE | C.NLM_F_EXCL, seq, ifinfomsg(C.AF_UNSPEC, 0));
  w.str(C.IFLA_IFNAME, s.name);
  if (s.mtu) w.u32(C.IFLA_MTU, s.mtu);
  if (s.mac) w.attr(C.IFLA_ADDRESS, macToBytes(s.mac));
  w.nest(C.IFLA_LINKINFO, (li) => {
    li.str(C.IFLA_INFO_KIND, 'vxlan');
    li.nest(C.IFLA_INFO_DATA, (d) => {
      d.u32(C.IFLA_VXLAN_ID, s.vni);
      if (s.link) d.u32(C.IFLA_VXLAN_LINK, s.link);
      if (s.local) d.attr(s.local.includes(':') ? C.IFLA_VXLAN_LOCAL6 : C.IFLA_VXLAN_LOCAL, ipToBytes(s.local));
      d.u8(C.IFLA_VXLAN_TTL, 0).u8(C.IFLA_VXLAN_TOS, 0);
      d.u8(C.IFLA_VXLAN_LEARNING, s.learning ? 1 : 0);
      d.u8(C.IFLA_VXLAN_PROXY, 0).u8(C.IFLA_VXLAN_RSC, 0).u8(C.IFLA_VXLAN_L2MISS, 0).u8(C.IFLA_VXLAN_L3MISS, 0);
      d.u8(C.IFLA_VXLAN_UDP_ZERO_CSUM6_TX, 0).u8(C.IFLA_VXLAN_UDP_ZERO_CSUM6_RX, 0);
      if (s.gbp) d.flag(C.IFLA_VXLAN_GBP);
      if (s.port) d.u16be(C.IFLA_VXLAN_PORT, s.port);
    });
  });
  w.end();
}

/** `ip link add <name> type <kind>`: a link that needs no kind-specific data (WireGuard's). */
export function encodeLinkAddKind(w: MsgWriter, name: string, kind: string, seq: number): void {
  w.begin(C.RTM_NEWLINK, REQ_ACK | C.NLM_F_CREATE | C.NLM_F_EXCL, seq, ifinfomsg(C.AF_UNSPEC, 0));
  w.str(C.IFLA_IFNAME, name);
  w.nest(C.IFLA_LINKINFO, (li) => li.str(C.IFLA_INFO_KIND, kind));
  w.end();
}

export function encodeLinkSet(w: MsgWriter, index: number, ch: LinkChange, seq: number): void {
  const flags = ch.up === undefined ? 0 : ch.up ? C.IFF_UP : 0;
  const change = ch.up === undefined ? 0 : C.IFF_UP;
  w.begin(C.RTM_NEWLINK, REQ_ACK, seq, ifinfomsg(C.AF_UNSPEC, index, flags, change));
  if (ch.mtu !== undefined) w.u32(C.IFLA_MTU, ch.mtu);
  if (ch.mac !== undefined) w.attr(C.IFLA_ADDRESS, macToBytes(ch.mac));
  w.end();
}

export function encodeLinkDel(w: MsgWriter, index: number, seq: number): void {
  w.begin(C.RTM_DELLINK, REQ_ACK, seq, ifinfomsg(C.AF_UNSPEC, index)).end();
}

export function encodeLinkGet(w: MsgWriter, name: string, seq: number): void {
  w.begin(C.RTM_GETLINK, REQ_ACK, seq, ifinfomsg(C.AF_UNSPEC, 0)).str(C.IFLA_IFNAME, name).end();
}

export function encodeAddr(w: MsgWriter, del: boolean, family: Family, index: number, ip: string, prefixLen: number, seq: number): void {
  const flags = del ? REQ_ACK : REQ_ACK | C.NLM_F_CREATE | C.NLM_F_EXCL;
  w.begin(del ? C.RTM_DELADDR : C.RTM_NEWADDR, flags, seq, ifaddrmsg(af(family), prefixLen, 0, index));
  w.attr(C.IFA_LOCAL, ipToBytes(ip)).attr(C.IFA_ADDRESS, ipToBytes(ip)).end();
}

export function encodeRouteGet(w: MsgWriter, dst: string, family: Family, seq: number): void {
  const header = rtmsg({ family: af(family), dstLen: family === 4 ? 32 : 128, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 });
  w.begin(C.RTM_GETROUTE, REQ_ACK, seq, header).attr(C.RTA_DST, ipToBytes(dst)).end();
}

/** Dump requests, in the strict form (NETLINK_GET_STRICT_CHK) so the kernel filters for us. */
export function encodeDump(w: MsgWriter, what: 'link' | 'addr' | 'route' | 'neigh' | 'fdb', seq: number, f: DumpFilter): void {
  const flags = C.NLM_F_REQUEST | C.NLM_F_DUMP;
  const fam = f.family ? af(f.family) : C.AF_UNSPEC;
  if (what === 'link') w.begin(C.RTM_GETLINK, flags, seq, ifinfomsg(C.AF_UNSPEC, 0));
  else if (what === 'addr') w.begin(C.RTM_GETADDR, flags, seq, ifaddrmsg(fam, 0, 0, f.ifindex ?? 0));
  else if (what === 'route') {
    w.begin(C.RTM_GETROUTE, flags, seq, rtmsg({ family: fam, dstLen: 0, table: f.table ?? 0, protocol: 0, scope: 0, type: 0, flags: 0 }));
    if (f.table !== undefined && f.table >= 256) w.u32(C.RTA_TABLE, f.table);
    if (f.ifindex) w.u32(C.RTA_OIF, f.ifindex);
  } else if (what === 'neigh') {
    w.begin(C.RTM_GETNEIGH, flags, seq, ndmsg(fam, 0, 0, 0, 0));
    if (f.ifindex) w.u32(C.NDA_IFINDEX, f.ifindex);
  } else w.begin(C.RTM_GETNEIGH, flags, seq, ndmsg(C.AF_BRIDGE, f.ifindex ?? 0, 0, 0, 0));
  w.end();
}

export interface DumpFilter {
  family?: Family;
  ifindex?: number;
  table?: number;
}
