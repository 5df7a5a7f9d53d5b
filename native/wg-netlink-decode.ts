// Reading the kernel's WG_CMD_GET_DEVICE answer (include/uapi/linux/wireguard.h) into a WgDeviceState.
// A dump of a device with many peers comes in several messages; each repeats the device attributes,
// and a peer whose allowed IPs did not fit goes on in the next message under the same public key, so
// consecutive entries with one key are joined (as `wg` does: coalesce_peers in ipc-linux.c).
import { bytesToIP } from '../common/ip.js';
import * as C from './netlink/constants.js';
import type { RawMsg } from './netlink/decode.js';
import { GENL_HDRLEN } from './netlink/genl.js';
import * as W from './wg-netlink.js';
import type { WgDeviceState, WgPeerState } from './wg-types.js';

interface Attr {
  type: number;
  data: Buffer;
}

/** Every attribute of `buf` in order, nested-flag and byte-order bits cleared (repeated types kept). */
export function attrList(buf: Buffer, start = 0): Attr[] {
  const out: Attr[] = [];
  let off = start;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) break;
    out.push({ type: buf.readUInt16LE(off + 2) & 0x3fff, data: buf.subarray(off + 4, off + len) });
    off += (len + 3) & ~3;
  }
  return out;
}

const byType = (attrs: readonly Attr[]): Map<number, Buffer> => new Map(attrs.map((a) => [a.type, a.data]));
const isZero = (b: Buffer): boolean => b.every((x) => x === 0);
const key = (b: Buffer | undefined): string | null => (b && b.length === 32 && !isZero(b) ? b.toString('base64') : null);
const u16 = (b: Buffer | undefined): number => (b && b.length >= 2 ? b.readUInt16LE(0) : 0);
const u64 = (b: Buffer | undefined): number => (b && b.length >= 8 ? Number(b.readBigUInt64LE(0)) : 0);

/** struct sockaddr_in / sockaddr_in6 as "1.2.3.4:51820" / "[fd00::1]:51821"; null for anything else. */
export function sockaddrToEndpoint(sa: Buffer | undefined): string | null {
  if (!sa || sa.length < 16) return null;
  const family = sa.readUInt16LE(0);
  const port = sa.readUInt16BE(2);
  if (family === C.AF_INET) return `${bytesToIP(sa.subarray(4, 8))}:${port}`;
  if (family === C.AF_INET6 && sa.length >= 24) return `[${bytesToIP(sa.subarray(8, 24))}]:${port}`;
  return null;
}

function allowedIPs(nested: Buffer | undefined): string[] {
  if (!nested) return [];
  const out: string[] = [];
  for (const entry of attrList(nested)) {
    const a = byType(attrList(entry.data));
    const addr = a.get(W.WGALLOWEDIP_A_IPADDR);
    const mask = a.get(W.WGALLOWEDIP_A_CIDR_MASK);
    if (!addr || (addr.length !== 4 && addr.length !== 16) || !mask || mask.length < 1) continue;
    out.push(`${bytesToIP(addr)}/${mask.readUInt8(0)}`);
  }
  return out;
}

function decodePeer(nested: Buffer): WgPeerState | null {
  const a = byType(attrList(nested));
  const publicKey = key(a.get(W.WGPEER_A_PUBLIC_KEY));
  if (publicKey === null) return null;
  const handshake = a.get(W.WGPEER_A_LAST_HANDSHAKE_TIME); // struct __kernel_timespec: s64 sec, s64 nsec
  return {
    publicKey,
    endpoint: sockaddrToEndpoint(a.get(W.WGPEER_A_ENDPOINT)),
    allowedIPs: allowedIPs(a.get(W.WGPEER_A_ALLOWEDIPS)),
    presharedKey: key(a.get(W.WGPEER_A_PRESHARED_KEY)),
    persistentKeepalive: u16(a.get(W.WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL)),
    lastHandshakeSec: handshake && handshake.length >= 8 ? Number(handshake.readBigInt64LE(0)) : 0,
    rxBytes: u64(a.get(W.WGPEER_A_RX_BYTES)),
    txBytes: u64(a.get(W.WGPEER_A_TX_BYTES)),
  };
}

/** The device state in the messages of one GET_DEVICE dump (each: genlmsghdr, then attributes). */
export function decodeDevice(msgs: readonly RawMsg[]): WgDeviceState {
  const dev: WgDeviceState = { privateKey: null, listenPort: 0, peers: [] };
  for (const m of msgs) {
    const attrs = attrList(m.body, GENL_HDRLEN);
    const a = byType(attrs);
    if (a.has(W.WGDEVICE_A_PRIVATE_KEY)) dev.privateKey = key(a.get(W.WGDEVICE_A_PRIVATE_KEY));
    if (a.has(W.WGDEVICE_A_LISTEN_PORT)) dev.listenPort = u16(a.get(W.WGDEVICE_A_LISTEN_PORT));
    for (const entry of attrList(a.get(W.WGDEVICE_A_PEERS) ?? Buffer.alloc(0))) {
      const p = decodePeer(entry.data);
      if (!p) continue;
      const last = dev.peers[dev.peers.length - 1];
      if (last?.publicKey === p.publicKey) last.allowedIPs = [...last.allowedIPs, ...p.allowedIPs];
      else dev.peers.push(p);
    }
  }
  return dev;
}
