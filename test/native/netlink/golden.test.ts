// Golden bytes (no root needed): our rtnetlink encoder must produce, byte for byte, what iproute2 sends
// for the same writes, and our decoder must read the kernel's dump replies into the right plain data.
// The bytes were captured from iproute2 and a real kernel by capture-golden.ts (see golden-bytes.ts for
// the versions). Normalised on purpose, and only this:
// - the sequence number and port id of the header (bytes 8-15), which depend on the process;
// - in neighbour and FDB messages, ndm_state and ndm_type (checked on their own first): we send what the
//   reference daemon sends (vishvananda/netlink: state NUD_PERMANENT, type RTN_UNICAST for the ARP
//   entry; state NUD_PERMANENT for FDB; nothing on deletes, where the kernel ignores both), while
//   `ip neigh` leaves the type 0 and sets NUD_PERMANENT on deletes too, and `bridge fdb` adds NUD_NOARP.
import { expect } from 'chai';
import { encodeOp } from '../../../native/netlink/encode.js';
import { decodeFdb, decodeLink, decodeNeigh, decodeRoute, splitMessages } from '../../../native/netlink/decode.js';
import { MsgWriter } from '../../../native/netlink/writer.js';
import { normalizeOp } from '../../../native/ops.js';
import type { Op } from '../../../native/types.js';
import { LINKS, REPLIES, REQUESTS, type Golden } from './golden-bytes.js';

const VXLAN = LINKS['flannel.1'];
const VXLAN6 = LINKS['flannel-v6.1'];
const MAC3 = '0a:00:00:00:00:03';

/** The write flanneld makes for each captured iproute2 command. */
const OPS: Record<string, Op> = {
  'vxlan route replace': { op: 'route.replace', route: { dst: '10.244.3.0/24', gateway: '10.244.3.0', ifindex: VXLAN, onlink: true } },
  'vxlan route delete': { op: 'route.delete', route: { dst: '10.244.3.0/24', gateway: '10.244.3.0', ifindex: VXLAN, onlink: true } },
  'host-gw route replace, proto 157': { op: 'route.replace', route: { dst: '10.244.2.0/24', gateway: '198.18.0.2', ifindex: LINKS.eth0, protocol: 157 } },
  'vxlan IPv6 route replace': { op: 'route.replace', route: { dst: 'fd00:10:244:3::/64', gateway: 'fd00:10:244:3::', ifindex: VXLAN6, onlink: true } },
  'neighbour replace, permanent': { op: 'neigh.replace', neigh: { ip: '10.244.3.0', mac: MAC3, ifindex: VXLAN } },
  'neighbour delete': { op: 'neigh.delete', neigh: { ip: '10.244.3.0', ifindex: VXLAN } },
  'fdb replace, self permanent': { op: 'fdb.replace', fdb: { mac: MAC3, dst: '198.18.0.3', ifindex: VXLAN } },
  'fdb delete': { op: 'fdb.delete', fdb: { mac: MAC3, dst: '198.18.0.3', ifindex: VXLAN } },
};

function ours(op: Op): Buffer {
  const w = new MsgWriter();
  encodeOp(w, normalizeOp(op), 0);
  return w.bytes();
}

const RTM_NEWNEIGH = 28;
const RTM_DELNEIGH = 29;
const isNeigh = (b: Buffer): boolean => [RTM_NEWNEIGH, RTM_DELNEIGH].includes(b.readUInt16LE(4));
/** ndmsg after the 16-byte header: family, pad×3, ifindex (4), state (2), flags (1), type (1). */
const ndmState = (b: Buffer): number => b.readUInt16LE(24);
const ndmType = (b: Buffer): number => b.readUInt8(27);

/** Sequence number and port id zeroed; in neighbour/FDB messages also ndm_state and ndm_type (see above). */
function normalised(b: Buffer): string {
  const c = Buffer.from(b);
  c.fill(0, 8, 16);
  if (isNeigh(c)) {
    c.writeUInt16LE(0, 24);
    c.writeUInt8(0, 27);
  }
  return c.toString('hex');
}

function golden(list: readonly Golden[], name: string): Buffer[] {
  const g = list.find((x) => x.name === name);
  if (!g) throw new Error(`no golden capture named "${name}"`);
  return g.buffers.map((h) => Buffer.from(h, 'hex'));
}

describe('netlink encoder: the bytes iproute2 sends for the same write (golden, no root)', () => {
  it('has a write for every captured request', () => {
    expect(REQUESTS.map((g) => g.name).sort()).to.deep.equal(Object.keys(OPS).sort());
  });

  for (const [name, op] of Object.entries(OPS)) {
    it(`${name}: byte for byte as \`${REQUESTS.find((g) => g.name === name)?.command ?? '?'}\``, () => {
      const [want] = golden(REQUESTS, name);
      const mine = ours(op);
      if (isNeigh(mine) && mine.readUInt16LE(4) === RTM_NEWNEIGH) {
        // Both permanent; the ARP entry of type unicast, as the reference daemon writes it.
        expect(ndmState(mine), 'ndm_state').to.equal(0x80);
        expect(ndmState(want!) & 0x80, 'iproute2 ndm_state').to.equal(0x80);
        expect(ndmType(mine), 'ndm_type').to.equal(op.op === 'neigh.replace' ? 1 : 0);
      }
      expect(normalised(mine)).to.equal(normalised(want!));
    });
  }
});

describe('netlink decoder: the kernel dump replies iproute2 read (golden, no root)', () => {
  const messages = (name: string) => golden(REPLIES, name).flatMap((b) => splitMessages(b));

  it('reads the vxlan route: via the peer .0, onlink, on the device, table main, proto boot', () => {
    const routes = messages('route dump').map(decodeRoute).filter((r) => r?.dst === '10.244.3.0/24');
    expect(routes).to.have.length(1);
    expect(routes[0]).to.deep.include({ family: 4, gateway: '10.244.3.0', ifindex: VXLAN, onlink: true, table: 254, protocol: 3, scope: 0, type: 1 });
  });

  it('reads the connected route of the underlay as the kernel made it', () => {
    const r = messages('route dump').map(decodeRoute).find((x) => x?.dst === '198.18.0.0/24');
    expect(r).to.deep.include({ family: 4, gateway: null, ifindex: LINKS.eth0, protocol: 2, scope: 253, prefsrc: '198.18.0.1' });
  });

  it('reads the permanent neighbour', () => {
    const n = messages('neighbour dump').map(decodeNeigh).find((x) => x?.ip === '10.244.3.0');
    expect(n).to.deep.include({ family: 4, ifindex: VXLAN, ip: '10.244.3.0', mac: MAC3, state: 0x80 });
  });

  it('reads the self FDB entry with its remote', () => {
    const f = messages('fdb dump').map(decodeFdb).filter((x) => x?.mac === MAC3);
    expect(f).to.have.length(1);
    expect(f[0]).to.deep.include({ ifindex: VXLAN, mac: MAC3, dst: '198.18.0.3', self: true });
  });

  it('reads the vxlan device: name, MAC, VNI, local address and underlay', () => {
    const l = messages('link dump of the vxlan device').map(decodeLink).find((x) => x?.name === 'flannel.1');
    expect(l).to.deep.include({ index: VXLAN, name: 'flannel.1', mac: '0a:00:00:00:00:01', kind: 'vxlan' });
    expect(l?.vxlan).to.deep.include({ vni: 1, local: '198.18.0.1', link: LINKS.eth0, learning: false });
  });
});
