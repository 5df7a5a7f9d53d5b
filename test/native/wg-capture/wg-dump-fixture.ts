// A WG_CMD_GET_DEVICE answer assembled by hand from include/uapi/linux/wireguard.h, in the kernel's
// attribute order (drivers/net/wireguard/netlink.c): two messages and NLMSG_DONE, the first peer's
// allowed IPs going on in the second message as the kernel does when a message is full. The codec test
// decodes it; capture-wg.ts feeds it to `wg show flannel-wg dump` (wireguard-tools' own parser) and
// keeps what wg prints, so the hand-made bytes are also read by the reference client.

import type { WgChange } from '../../../native/wg-types.js';

/** The family id the codec tests use (the kernel assigns one at run time; capture-wg.ts's shim gives this one). */
export const FAMILY = 0x1c;
/** A 32-byte key of byte `n`, as standard base64. */
export const key = (n: number): string => Buffer.alloc(32, n).toString('base64');

/** The SET_DEVICE change both codec tests encode: private key, listen port, two peers and a removal. */
export const SET_CHANGE: WgChange = {
  privateKey: key(1),
  listenPort: 51820,
  setPeers: [
    { publicKey: key(2), endpoint: '198.18.0.2:51820', allowedIPs: ['10.244.2.0/24', '10.244.20.0/24'], presharedKey: null, persistentKeepalive: 0 },
    { publicKey: key(3), endpoint: '[fd00::3]:51821', allowedIPs: ['fd00:10:244:3::/64'], presharedKey: key(9), persistentKeepalive: 25 },
  ],
  removePeers: [key(4)],
};

/** Hex with spaces and `|` as visual separators only. */
export const hex = (...parts: string[]): Buffer => Buffer.from(parts.join('').replace(/[\s|]/g, ''), 'hex');
/** A 32-byte key of byte `n`, as hex. */
export const k32 = (n: number): string => n.toString(16).padStart(2, '0').repeat(32);

const devAttrs = (privKey: string): string[] => [
  '0800 0100 | 05000000', // WGDEVICE_A_IFINDEX 5
  '0f00 0200 | 666c616e6e656c2d776700 | 00', // WGDEVICE_A_IFNAME
  `2400 0300 | ${privKey}`, // WGDEVICE_A_PRIVATE_KEY
  `2400 0400 | ${k32(0xaa)}`, // WGDEVICE_A_PUBLIC_KEY
  '0600 0600 | 6cca | 0000', // WGDEVICE_A_LISTEN_PORT 51820
  '0800 0700 | 00000000', // WGDEVICE_A_FWMARK 0
];
const first = hex(
  '88010000 1c00 0200 09000000 00000000', // len 392, NLM_F_MULTI, seq 9
  '00 01 0000',
  ...devAttrs(k32(1)),
  '0401 0880', // WGDEVICE_A_PEERS, len 260
  '0001 0080', //   peer, len 256, attributes in the kernel's order
  `2400 0100 | ${k32(2)}`,
  `2400 0200 | ${k32(0)}`, // no preshared key
  '1400 0600 | d202964900000000 15cd5b0700000000', // WGPEER_A_LAST_HANDSHAKE_TIME: tv_sec 1234567890, tv_nsec 123456789
  '0600 0500 | 1900 | 0000', // keepalive 25
  '0c00 0800 | 0010000000000000', // WGPEER_A_TX_BYTES 4096
  '0c00 0700 | 0100000001000000', // WGPEER_A_RX_BYTES 2^32 + 1
  '0800 0a00 | 01000000', // WGPEER_A_PROTOCOL_VERSION 1
  '1400 0400 | 0200 ca6c c6120002 0000000000000000', // endpoint 198.18.0.2:51820
  '6400 0980', // allowed IPs, len 100
  '1c00 0080 | 0600 0100 0200 0000 | 0800 0200 0af40200 | 0500 0300 18 000000',
  '1c00 0080 | 0600 0100 0200 0000 | 0800 0200 0af41400 | 0500 0300 18 000000',
  '2800 0080 | 0600 0100 0a00 0000 | 1400 0200 fd000010024400020000000000000000 | 0500 0300 40 000000',
);
const second = hex(
  '24010000 1c00 0200 09000000 00000000', // len 292
  '00 01 0000',
  ...devAttrs(k32(1)),
  'a000 0880', // WGDEVICE_A_PEERS, len 160
  '4800 0080', //   the same peer again: public key and its remaining allowed IP only (len 72)
  `2400 0100 | ${k32(2)}`,
  '2000 0980 | 1c00 0080 | 0600 0100 0200 0000 | 0800 0200 0af41500 | 0500 0300 18 000000',
  '5400 0080', //   the next peer (len 84): a preshared key, no endpoint, no allowed IPs
  `2400 0100 | ${k32(3)}`,
  `2400 0200 | ${k32(9)}`,
  '0600 0500 | 0000 | 0000',
  '14000000 0300 0200 09000000 00000000 | 00000000', // NLMSG_DONE, len 20, error 0
);

/** Both messages and NLMSG_DONE, sequence number 9, family id 0x1c. */
export const DUMP_REPLY = Buffer.concat([first, second]);
