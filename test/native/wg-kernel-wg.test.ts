// The kernel WireGuard codec against wireguard-tools (no root needed): the requests `wg` sends for the
// same change, captured by capture-wg.ts (see wg-golden-bytes.ts for the version), must equal ours byte
// for byte except the sequence number and port id (bytes 8-15) of each message. For a peer list that
// needs several messages, `wg` fills each message to the last allowed IP that fits while we move a
// whole peer to the next one, so there the messages are compared by what they set, not byte for byte.
import { expect } from 'chai';
import { splitMessages } from '../../native/netlink/decode.js';
import { MsgWriter } from '../../native/netlink/writer.js';
import { WG_MSG_LIMIT, encodeGetDevice, encodeSetDevice } from '../../native/wg-netlink.js';
import { attrList, decodeDevice } from '../../native/wg-netlink-decode.js';
import type { WgChange } from '../../native/wg-types.js';
import { DUMP_REPLY, FAMILY, SET_CHANGE } from './wg-capture/wg-dump-fixture.js';
import { WG_GET, WG_LARGE, WG_SET, WG_SHOW_DUMP } from './wg-capture/wg-golden-bytes.js';
import { largePeers } from './wg-capture/wg-golden-peers.js';


/** Each message with its sequence number and port id zeroed, as hex. */
function normalised(buf: Buffer): string[] {
  const out: string[] = [];
  for (let off = 0; off < buf.length; ) {
    const len = buf.readUInt32LE(off);
    const m = Buffer.from(buf.subarray(off, off + ((len + 3) & ~3)));
    m.fill(0, 8, 16);
    out.push(m.toString('hex'));
    off += (len + 3) & ~3;
  }
  return out;
}

const wgMessages = (hex: readonly string[]): string[] => hex.flatMap((h) => normalised(Buffer.from(h, 'hex')));

function ours(change: WgChange): Buffer {
  const w = new MsgWriter();
  encodeSetDevice(w, FAMILY, 'flannel-wg', change, () => 1);
  return Buffer.from(w.bytes());
}

describe('kernel WireGuard codec: the bytes wireguard-tools sends for the same change (golden, no root)', () => {
  it(`SET_DEVICE equals \`${WG_SET.command.slice(0, 60)}…\``, () => {
    const change = SET_CHANGE;
    expect(normalised(ours(change))).to.deep.equal(wgMessages(WG_SET.messages));
  });

  it(`GET_DEVICE equals \`${WG_GET.command}\``, () => {
    const w = new MsgWriter();
    encodeGetDevice(w, FAMILY, 'flannel-wg', 1);
    expect(normalised(Buffer.from(w.bytes()))).to.deep.equal(wgMessages(WG_GET.messages));
  });

  it('reads a GET_DEVICE answer as `wg show flannel-wg dump` reads it', () => {
    const dev = decodeDevice(splitMessages(DUMP_REPLY).filter((m) => m.type === FAMILY));
    // wg's dump columns: device: private key, public key, port, fwmark; peer: public key, preshared key,
    // endpoint, allowed IPs, latest handshake, rx, tx, keepalive. The public key of the device is not in
    // WgDeviceState, and this device has no fwmark: both are taken from wg's output.
    const [head, ...peerLines] = WG_SHOW_DUMP.trim().split('\n');
    const [, publicKey, , fwmark] = head!.split('\t');
    const none = (v: string | null): string => v ?? '(none)';
    const ours = [
      [none(dev.privateKey), publicKey, dev.listenPort, fwmark].join('\t'),
      ...dev.peers.map((p) =>
        [p.publicKey, none(p.presharedKey), none(p.endpoint), p.allowedIPs.join(',') || '(none)', p.lastHandshakeSec, p.rxBytes, p.txBytes, p.persistentKeepalive || 'off'].join('\t'),
      ),
    ];
    expect(ours).to.deep.equal([head, ...peerLines]);
  });

  it("reads wg's split of 40 peers (one continued over messages) and sets the same with messages within the same limit", () => {
    const peers = largePeers();
    const theirs = WG_LARGE.messages.map((h) => Buffer.from(h, 'hex'));
    expect(theirs.length, 'wg needed several messages').to.be.greaterThan(1);
    const entries = theirs.flatMap((b) => splitMessages(b)).flatMap((m) => attrList(attrList(m.body, 4).find((a) => a.type === 8)?.data ?? Buffer.alloc(0)));
    expect(entries.length, 'a peer continued in the next message').to.be.greaterThan(peers.length);
    const fromWg = decodeDevice(theirs.flatMap((b) => splitMessages(b)));
    expect(fromWg.listenPort).to.equal(51820);
    expect(fromWg.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIPs])).to.deep.equal(peers.map((p) => [p.publicKey, p.endpoint, p.allowedIPs]));

    const mine = ours({ listenPort: 51820, setPeers: peers });
    const msgs = splitMessages(mine);
    for (const m of msgs) expect(m.body.length + 16).to.be.at.most(WG_MSG_LIMIT);
    expect(Math.max(...theirs.map((b) => b.length))).to.be.at.most(WG_MSG_LIMIT);
    expect(msgs.length).to.be.within(theirs.length, theirs.length + 1);
    expect(decodeDevice(msgs)).to.deep.equal(fromWg);
  });
});
