// The kernel's WireGuard over generic netlink (family "wireguard", include/uapi/linux/wireguard.h):
// WG_CMD_SET_DEVICE requests built from a WgChange, and the WG_CMD_GET_DEVICE request. Pure encoding;
// the answers are read by wg-netlink-decode.ts and the requests sent by wg-kernel.ts.
//
// A device with many peers does not fit one message: like `wg` (wireguard-tools ipc-linux.c), peers
// are spread over several SET_DEVICE messages of at most WG_MSG_LIMIT bytes, the device settings in
// the first; a peer whose allowed IPs do not fit goes on in the next message, repeating only its public
// key, so its remaining allowed IPs are added to those the first part set.
import { ipToBytes } from '../common/ip.js';
import { isIPv4, isIPv6 } from 'node:net';
import { NativeArgumentError } from './errors.js';
import * as C from './netlink/constants.js';
import { NLA_F_NESTED, genlmsghdr } from './netlink/genl.js';
import type { MsgWriter } from './netlink/writer.js';
import { checkCIDR } from './validate.js';
import { keyToHex } from './wg-uapi.js';
import type { WgChange, WgPeerConfig } from './wg-types.js';

export const WG_GENL_NAME = 'wireguard';
export const WG_GENL_VERSION = 1;
export const WG_CMD_GET_DEVICE = 0;
export const WG_CMD_SET_DEVICE = 1;

export const WGDEVICE_A_IFINDEX = 1;
export const WGDEVICE_A_IFNAME = 2;
export const WGDEVICE_A_PRIVATE_KEY = 3;
export const WGDEVICE_A_PUBLIC_KEY = 4;
export const WGDEVICE_A_FLAGS = 5;
export const WGDEVICE_A_LISTEN_PORT = 6;
export const WGDEVICE_A_FWMARK = 7;
export const WGDEVICE_A_PEERS = 8;
export const WGDEVICE_F_REPLACE_PEERS = 1;

export const WGPEER_A_PUBLIC_KEY = 1;
export const WGPEER_A_PRESHARED_KEY = 2;
export const WGPEER_A_FLAGS = 3;
export const WGPEER_A_ENDPOINT = 4;
export const WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL = 5;
export const WGPEER_A_LAST_HANDSHAKE_TIME = 6;
export const WGPEER_A_RX_BYTES = 7;
export const WGPEER_A_TX_BYTES = 8;
export const WGPEER_A_ALLOWEDIPS = 9;
export const WGPEER_A_PROTOCOL_VERSION = 10;
export const WGPEER_F_REMOVE_ME = 1;
export const WGPEER_F_REPLACE_ALLOWEDIPS = 2;
export const WGPEER_F_UPDATE_ONLY = 4;

export const WGALLOWEDIP_A_FAMILY = 1;
export const WGALLOWEDIP_A_IPADDR = 2;
export const WGALLOWEDIP_A_CIDR_MASK = 3;

/**
 * Largest SET_DEVICE message we send: `wg`'s buffer (MNL_SOCKET_BUFFER_SIZE, one 4 KiB page), the size
 * every kernel's WireGuard has been configured with for years; also far below the 64 KiB that the
 * 16-bit length of the WGDEVICE_A_PEERS attribute could express.
 */
export const WG_MSG_LIMIT = 4096;

const ZERO_KEY = Buffer.alloc(32);
const NLMSG_HDRLEN = 16;
const GENL_HDRLEN = 4;

/** One attribute: 4-byte header, data, zero padding to 4 bytes (the header's length excludes the padding). */
export function tlv(type: number, data: Buffer): Buffer {
  const out = Buffer.alloc((4 + data.length + 3) & ~3);
  out.writeUInt16LE(4 + data.length, 0);
  out.writeUInt16LE(type, 2);
  data.copy(out, 4);
  return out;
}

/** A nested attribute (NLA_F_NESTED set, as `wg` and the kernel's own nla_nest_start do). */
export function nest(type: number, children: readonly Buffer[]): Buffer {
  return tlv(type | NLA_F_NESTED, Buffer.concat(children));
}

const u16 = (v: number): Buffer => Buffer.from([v & 0xff, (v >> 8) & 0xff]);
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

export function keyBytes(key: string, what: string): Buffer {
  return Buffer.from(keyToHex(key, what), 'hex');
}

function checkU16(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 65535) throw new NativeArgumentError(`wireguard ${what}`, `must be an integer in 0..65535, got ${JSON.stringify(v)}`);
  return v;
}

/** "1.2.3.4:51820" or "[fd00::1]:51821" as struct sockaddr_in (16 bytes) or sockaddr_in6 (28 bytes). */
export function endpointToSockaddr(endpoint: string): Buffer {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(endpoint);
  const v6 = m?.[1];
  const v4 = m?.[2];
  const port = Number(m?.[3]);
  const ok = m !== null && port <= 65535 && (v6 !== undefined ? isIPv6(v6) && !v6.includes('%') : isIPv4(v4 ?? ''));
  if (!ok) throw new NativeArgumentError('wireguard peer', `endpoint must look like 1.2.3.4:51820 or [fd00::1]:51821, got ${JSON.stringify(endpoint)}`);
  const sa = Buffer.alloc(v6 !== undefined ? 28 : 16);
  sa.writeUInt16LE(v6 !== undefined ? C.AF_INET6 : C.AF_INET, 0); // sa_family: host order
  sa.writeUInt16BE(port, 2); // sin_port: network order
  ipToBytes(v6 ?? v4!).copy(sa, v6 !== undefined ? 8 : 4); // after sin6_flowinfo for IPv6
  return sa;
}

/** One WGPEER_A_ALLOWEDIPS entry: family, address, prefix length. */
function allowedIP(cidr: string): Buffer {
  const { family, ip, prefixLen } = checkCIDR('wireguard peer', 'allowed IP', cidr);
  const fam = family === 4 ? C.AF_INET : C.AF_INET6;
  return nest(0, [tlv(WGALLOWEDIP_A_FAMILY, u16(fam)), tlv(WGALLOWEDIP_A_IPADDR, ipToBytes(ip)), tlv(WGALLOWEDIP_A_CIDR_MASK, Buffer.from([prefixLen]))]);
}

const sum = (bs: readonly Buffer[]): number => bs.reduce((n, b) => n + b.length, 0);

/**
 * A peer to add or update as one or more peer attributes, each at most `budget` bytes: the first with
 * everything (attribute order as `wg` sends it; the preshared key always, zeros for none, and the
 * keepalive always, so a setting is also cleared), later ones with the public key and more allowed IPs.
 */
export function peerParts(p: WgPeerConfig, budget: number): Buffer[] {
  const key = tlv(WGPEER_A_PUBLIC_KEY, keyBytes(p.publicKey, 'public key'));
  const head = [key, tlv(WGPEER_A_PRESHARED_KEY, p.presharedKey === null ? ZERO_KEY : keyBytes(p.presharedKey, 'preshared key'))];
  if (p.endpoint !== null) head.push(tlv(WGPEER_A_ENDPOINT, endpointToSockaddr(p.endpoint)));
  head.push(tlv(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, u16(checkU16('persistent keepalive', p.persistentKeepalive))));
  head.push(tlv(WGPEER_A_FLAGS, u32(WGPEER_F_REPLACE_ALLOWEDIPS)));
  const ips = p.allowedIPs.map(allowedIP);
  const parts: Buffer[] = [];
  let attrs = head;
  let i = 0;
  do {
    let room = budget - 4 - sum(attrs) - 4; // the peer's and WGPEER_A_ALLOWEDIPS's headers
    const taken: Buffer[] = [];
    while (i < ips.length && ips[i]!.length <= room) {
      room -= ips[i]!.length;
      taken.push(ips[i++]!);
    }
    parts.push(nest(0, taken.length > 0 ? [...attrs, nest(WGPEER_A_ALLOWEDIPS, taken)] : attrs));
    attrs = [key];
  } while (i < ips.length);
  return parts;
}

function removalPart(publicKey: string): Buffer {
  return nest(0, [tlv(WGPEER_A_PUBLIC_KEY, keyBytes(publicKey, 'public key')), tlv(WGPEER_A_FLAGS, u32(WGPEER_F_REMOVE_ME))]);
}

/** The device settings of `change` as [attribute type, data] pairs. */
function deviceAttrs(change: WgChange): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  if (change.privateKey !== undefined) out.push([WGDEVICE_A_PRIVATE_KEY, keyBytes(change.privateKey, 'private key')]);
  if (change.listenPort !== undefined) out.push([WGDEVICE_A_LISTEN_PORT, u16(checkU16('listen port', change.listenPort))]);
  return out;
}

/**
 * The SET_DEVICE messages for `change` on device `ifname`, each at most `limit` bytes: every argument
 * checked first (NativeArgumentError naming the field, nothing written), then device settings in the
 * first message, then the peers to set and the peers to remove, in order. Each message asks for an ACK.
 */
export function encodeSetDevice(w: MsgWriter, familyId: number, ifname: string, change: WgChange, next: () => number, limit = WG_MSG_LIMIT): void {
  const name = tlv(WGDEVICE_A_IFNAME, Buffer.from(`${ifname}\0`));
  const budget = limit - NLMSG_HDRLEN - GENL_HDRLEN - name.length - 4; // 4: the WGDEVICE_A_PEERS header
  const device = deviceAttrs(change);
  const parts = [...(change.setPeers ?? []).flatMap((p) => peerParts(p, budget)), ...(change.removePeers ?? []).map(removalPart)];
  const messages: Buffer[][] = [[]];
  let room = budget - sum(device.map(([t, d]) => tlv(t, d)));
  for (const part of parts) {
    if (part.length > room) {
      messages.push([]);
      room = budget;
    }
    messages[messages.length - 1]!.push(part);
    room -= part.length;
  }
  messages.forEach((peers, k) => {
    w.begin(familyId, C.NLM_F_REQUEST | C.NLM_F_ACK, next(), genlmsghdr(WG_CMD_SET_DEVICE, WG_GENL_VERSION));
    w.str(WGDEVICE_A_IFNAME, ifname);
    if (k === 0) for (const [type, data] of device) w.attr(type, data);
    if (peers.length > 0) w.attr(WGDEVICE_A_PEERS | NLA_F_NESTED, Buffer.concat(peers));
    w.end();
  });
}

/** The GET_DEVICE dump request for device `ifname` (the kernel answers with one or more messages). */
export function encodeGetDevice(w: MsgWriter, familyId: number, ifname: string, seq: number): void {
  w.begin(familyId, C.NLM_F_REQUEST | C.NLM_F_ACK | C.NLM_F_DUMP, seq, genlmsghdr(WG_CMD_GET_DEVICE, WG_GENL_VERSION));
  w.str(WGDEVICE_A_IFNAME, ifname).end();
}
