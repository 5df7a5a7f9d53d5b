// The kernel WireGuard codec (no root needed): SET_DEVICE bytes compared byte for byte with a message
// assembled here by hand from the layout in include/uapi/linux/wireguard.h and <linux/netlink.h>,
// a GET_DEVICE answer assembled the same way decoded into a WgDeviceState, and the splitting of a
// large peer list over several messages. The expected bytes are written out, never produced by the
// encoder under test.
import { expect } from 'chai';
import { splitMessages } from '../../native/netlink/decode.js';
import { MsgWriter } from '../../native/netlink/writer.js';
import { WG_MSG_LIMIT, encodeGetDevice, encodeSetDevice, endpointToSockaddr } from '../../native/wg-netlink.js';
import { attrList, decodeDevice } from '../../native/wg-netlink-decode.js';
import type { WgChange, WgPeerConfig } from '../../native/wg-types.js';
import { DUMP_REPLY, FAMILY, SET_CHANGE, hex, k32, key } from './wg-capture/wg-dump-fixture.js';


function encode(change: WgChange, limit?: number): Buffer {
  const w = new MsgWriter();
  let seq = 0;
  encodeSetDevice(w, FAMILY, 'flannel-wg', change, () => ++seq, limit);
  return Buffer.from(w.bytes());
}

describe('kernel WireGuard codec: WG_CMD_SET_DEVICE', () => {
  it('encodes private key, listen port, two peers and a removal exactly as the uapi layout says', () => {
    const change = SET_CHANGE;
    // Attribute header: u16 length (header + data, without padding), u16 type; data padded to 4 bytes.
    // Nested attributes carry NLA_F_NESTED (0x8000) in the type; list entries (peers, allowed IPs) are type 0.
    const expected = hex(
      'd8010000 1c00 0500 01000000 00000000', // nlmsghdr: len 472, type = family, NLM_F_REQUEST|NLM_F_ACK, seq 1, pid 0
      '01 01 0000', // genlmsghdr: cmd WG_CMD_SET_DEVICE (1), version 1
      '0f00 0200 | 666c616e6e656c2d776700 | 00', // WGDEVICE_A_IFNAME (2) "flannel-wg\0" + 1 pad
      `2400 0300 | ${k32(1)}`, // WGDEVICE_A_PRIVATE_KEY (3)
      '0600 0600 | 6cca | 0000', // WGDEVICE_A_LISTEN_PORT (6): u16 51820 host order + pad
      '8801 0880', // WGDEVICE_A_PEERS (8|NESTED), len 392
      'ac00 0080', //   peer 0 (NESTED), len 172
      `2400 0100 | ${k32(2)}`, //     WGPEER_A_PUBLIC_KEY (1)
      `2400 0200 | ${k32(0)}`, //     WGPEER_A_PRESHARED_KEY (2): zeros, none
      '1400 0400 | 0200 ca6c c6120002 0000000000000000', //     WGPEER_A_ENDPOINT (4): sockaddr_in AF_INET, port 51820 BE, 198.18.0.2
      '0600 0500 | 0000 | 0000', //     WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL (5): 0
      '0800 0300 | 02000000', //     WGPEER_A_FLAGS (3): WGPEER_F_REPLACE_ALLOWEDIPS
      '3c00 0980', //     WGPEER_A_ALLOWEDIPS (9|NESTED), len 60
      '1c00 0080 | 0600 0100 0200 0000 | 0800 0200 0af40200 | 0500 0300 18 000000', // AF_INET 10.244.2.0 /24
      '1c00 0080 | 0600 0100 0200 0000 | 0800 0200 0af41400 | 0500 0300 18 000000', // AF_INET 10.244.20.0 /24
      'a800 0080', //   peer 1, len 168
      `2400 0100 | ${k32(3)}`,
      `2400 0200 | ${k32(9)}`, //     the preshared key
      '2000 0400 | 0a00 ca6d 00000000 fd000000000000000000000000000003 00000000', // sockaddr_in6: family, port 51821, flowinfo, addr, scope
      '0600 0500 | 1900 | 0000', //     keepalive 25
      '0800 0300 | 02000000',
      '2c00 0980', //     allowed IPs, len 44
      '2800 0080 | 0600 0100 0a00 0000 | 1400 0200 fd000010024400030000000000000000 | 0500 0300 40 000000', // AF_INET6 fd00:10:244:3:: /64
      '3000 0080', //   peer 2 (removal), len 48
      `2400 0100 | ${k32(4)}`,
      '0800 0300 | 01000000', //     WGPEER_F_REMOVE_ME
    );
    const ours = encode(change);
    expect(ours.length).to.equal(472);
    expect(ours.toString('hex')).to.equal(expected.toString('hex'));
  });

  it('sends only the device name for an empty change (the kernel answers ENODEV for a missing device)', () => {
    expect(encode({}).toString('hex')).to.equal(hex('24000000 1c00 0500 01000000 00000000', '01010000', '0f00 0200 666c616e6e656c2d776700 00').toString('hex'));
  });

  it('refuses bad arguments before writing anything, naming the field', () => {
    const w = new MsgWriter();
    const bad = (c: WgChange): string => {
      try {
        encodeSetDevice(w, FAMILY, 'flannel-wg', c, () => 1);
      } catch (e) {
        expect((e as { code?: string }).code).to.equal('EINVAL');
        return (e as Error).message;
      }
      return 'no error';
    };
    const p: WgPeerConfig = { publicKey: key(2), endpoint: null, allowedIPs: [], presharedKey: null, persistentKeepalive: 0 };
    expect(bad({ listenPort: 1, setPeers: [{ ...p, publicKey: 'short' }] })).to.match(/wireguard public key: .*not a base64 key of 32 bytes: "short"/);
    expect(bad({ setPeers: [{ ...p, endpoint: '198.18.0.2' }] })).to.match(/endpoint must look like .*got "198.18.0.2"/);
    expect(bad({ setPeers: [{ ...p, endpoint: '[fd00::1%eth0]:1' }] })).to.match(/endpoint/);
    expect(bad({ setPeers: [{ ...p, allowedIPs: ['10.244.2.0/33'] }] })).to.match(/allowed IP must be a CIDR .*"10.244.2.0\/33"/);
    expect(bad({ setPeers: [{ ...p, persistentKeepalive: 70000 }] })).to.match(/persistent keepalive: must be an integer in 0..65535, got 70000/);
    expect(bad({ listenPort: -1 })).to.match(/listen port/);
    expect(w.count).to.equal(0);
    expect(w.bytes().length).to.equal(0);
  });

  it('writes endpoints as struct sockaddr_in (16 bytes) and sockaddr_in6 (28 bytes)', () => {
    expect(endpointToSockaddr('1.2.3.4:258').toString('hex')).to.equal('0200010201020304' + '00'.repeat(8));
    expect(endpointToSockaddr('[::1]:65535').toString('hex')).to.equal('0a00ffff00000000' + '00'.repeat(15) + '01' + '00000000');
  });
});

describe('kernel WireGuard codec: WG_CMD_GET_DEVICE', () => {
  it('asks for a dump of one device by name', () => {
    const w = new MsgWriter();
    encodeGetDevice(w, FAMILY, 'flannel-wg', 7);
    // NLM_F_REQUEST|NLM_F_ACK|NLM_F_DUMP = 0x305; cmd WG_CMD_GET_DEVICE (0), version 1
    expect(w.bytes().toString('hex')).to.equal(hex('24000000 1c00 0503 07000000 00000000', '00010000', '0f00 0200 666c616e6e656c2d776700 00').toString('hex'));
  });

  it("decodes the kernel's answer, joining a peer whose allowed IPs went on in the next message", () => {
    const msgs = splitMessages(DUMP_REPLY).filter((m) => m.type === FAMILY);
    expect(msgs).to.have.length(2);
    expect(decodeDevice(msgs)).to.deep.equal({
      privateKey: key(1),
      listenPort: 51820,
      peers: [
        {
          publicKey: key(2),
          endpoint: '198.18.0.2:51820',
          allowedIPs: ['10.244.2.0/24', '10.244.20.0/24', 'fd00:10:244:2::/64', '10.244.21.0/24'],
          presharedKey: null,
          persistentKeepalive: 25,
          lastHandshakeSec: 1234567890,
          rxBytes: 2 ** 32 + 1,
          txBytes: 4096,
        },
        { publicKey: key(3), endpoint: null, allowedIPs: [], presharedKey: key(9), persistentKeepalive: 0, lastHandshakeSec: 0, rxBytes: 0, txBytes: 0 },
      ],
    });
  });

  it('reads a device without private key (the kernel then sends none) as privateKey null', () => {
    const m = hex('24000000 1c00 0200 01000000 00000000', '00010000', '0600 0600 | 0000 | 0000', '0800 0700 | 00000000');
    expect(decodeDevice(splitMessages(m))).to.deep.equal({ privateKey: null, listenPort: 0, peers: [] });
  });
});

/** Each peer entry of a SET_DEVICE message, read with the generic attribute walker only. */
function peerEntries(msg: Buffer): Array<{ key: string; flags: number; endpoint: boolean; ips: number }> {
  const attrs = attrList(msg, 20);
  const peers = attrs.find((a) => a.type === 8);
  return attrList(peers?.data ?? Buffer.alloc(0)).map((e) => {
    const a = attrList(e.data);
    const get = (t: number): Buffer | undefined => a.find((x) => x.type === t)?.data;
    return { key: get(1)!.toString('base64'), flags: get(3)?.readUInt32LE(0) ?? 0, endpoint: get(4) !== undefined, ips: attrList(get(9) ?? Buffer.alloc(0)).length };
  });
}

describe('kernel WireGuard codec: a large peer list', () => {
  it('spreads 2000 peers (one with 300 allowed IPs) over messages within the limit, each peer set once', () => {
    const peerKey = (i: number): string => {
      const b = Buffer.alloc(32);
      b.writeUInt32BE(i + 1);
      return b.toString('base64');
    };
    const peers: WgPeerConfig[] = [];
    for (let i = 0; i < 2000; i++) {
      const ips = i === 700 ? Array.from({ length: 300 }, (_, k) => `10.${100 + (k >> 8)}.${k & 255}.0/24`) : [`10.244.${i >> 8}.${i & 255}/32`, `fd00:10:244::${(i + 1).toString(16)}/128`];
      peers.push({ publicKey: peerKey(i), endpoint: i % 2 ? `198.18.${i >> 8}.${i & 255}:51820` : `[fd00:18::${i.toString(16)}]:51821`, allowedIPs: ips, presharedKey: null, persistentKeepalive: 0 });
    }
    const buf = encode({ privateKey: key(1), listenPort: 51820, setPeers: peers, removePeers: [key(7)] });
    const msgs = splitMessages(buf);
    expect(msgs.length).to.be.greaterThan(50);
    let total = 0;
    const parts = new Map<string, Array<{ flags: number; endpoint: boolean; ips: number }>>();
    msgs.forEach((m, i) => {
      const len = buf.readUInt32LE(total);
      expect(len, `message ${i}`).to.be.at.most(WG_MSG_LIMIT);
      expect(m.seq).to.equal(i + 1);
      const raw = buf.subarray(total, total + len);
      const devTypes = attrList(raw, 20).map((a) => a.type);
      expect(devTypes, `device attributes of message ${i}`).to.deep.equal(i === 0 ? [2, 3, 6, 8] : [2, 8]);
      for (const e of peerEntries(raw)) parts.set(e.key, [...(parts.get(e.key) ?? []), e]);
      total += len;
    });
    expect(total).to.equal(buf.length);
    expect(parts.size).to.equal(2001);
    for (const [i, p] of peers.entries()) {
      const got = parts.get(p.publicKey)!;
      expect(got[0], `peer ${i}`).to.deep.include({ flags: 2, endpoint: true }); // replace allowed IPs once, first
      expect(got.slice(1).every((x) => x.flags === 0 && !x.endpoint), `peer ${i} continuations`).to.equal(true);
      expect(got.reduce((n, x) => n + x.ips, 0), `peer ${i} allowed IPs`).to.equal(p.allowedIPs.length);
    }
    expect(parts.get(peerKey(700))!.length, 'the peer with 300 allowed IPs spans messages').to.be.greaterThan(1);
    expect(parts.get(key(7))).to.deep.equal([{ key: key(7), flags: 1, endpoint: false, ips: 0 }]);
    // Read back as the kernel would apply them, the messages give every allowed IP in order.
    const dev = decodeDevice(msgs);
    expect(dev.peers.map((p) => p.allowedIPs)).to.deep.equal([...peers.map((p) => p.allowedIPs), []]);
  });
});
