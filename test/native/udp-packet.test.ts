// The udp packet loop's packet functions and route table, through the addon's test entry points,
// checked against packets built and verified in TypeScript (test/backends/udp/packets.ts).
import { expect } from 'chai';
import { udpPacketProbe, type UdpPacketProbe } from '../../native/udp.js';
import { TCP, checksumsOk, inetChecksum, ipText, ipv4, pattern, tcp4 } from '../backends/udp/packets.js';

describe('udp packet loop: route table, TTL, ICMP, TSO segmentation, TCP coalescing', () => {
  let probe: UdpPacketProbe;
  before(() => {
    probe = udpPacketProbe();
  });

  describe('route table', () => {
    it('looks up by subnet, replaces, deletes, and forgets peers with their last route', () => {
      const t = probe.routeTable();
      expect(t.set('10.244.2.0/24', '198.18.0.2', 8285)).to.equal(true);
      expect(t.set('10.244.3.0/24', '198.18.0.3', 8285)).to.equal(true);
      expect(t.lookup('10.244.2.77')).to.deep.equal({ nextHop: '198.18.0.2', port: 8285 });
      expect(t.lookup('10.244.3.0')).to.deep.equal({ nextHop: '198.18.0.3', port: 8285 });
      expect(t.lookup('10.244.4.1')).to.equal(null);
      expect(t.isPeer('198.18.0.2')).to.equal(true);
      expect(t.isPeer('198.18.0.9')).to.equal(false);
      expect(t.set('10.244.2.0/24', '198.18.0.9', 9000)).to.equal(false);
      expect(t.lookup('10.244.2.1')).to.deep.equal({ nextHop: '198.18.0.9', port: 9000 });
      expect(t.isPeer('198.18.0.2'), 'the replaced next hop').to.equal(false);
      expect(t.size()).to.equal(2);
      expect(t.delete('10.244.2.0/24')).to.equal(true);
      expect(t.delete('10.244.2.0/24')).to.equal(false);
      expect(t.lookup('10.244.2.1')).to.equal(null);
      expect(t.isPeer('198.18.0.9')).to.equal(false);
      expect(t.size()).to.equal(1);
    });

    it('keeps a peer while any route goes through it, masks the subnet, and prefers the longest prefix', () => {
      const t = probe.routeTable();
      t.set('10.244.2.0/24', '198.18.0.2', 8285);
      t.set('10.244.5.9/24', '198.18.0.2', 8285); // masked to 10.244.5.0/24
      t.set('10.0.0.0/8', '198.18.0.7', 8285);
      expect(t.lookup('10.244.5.200')).to.deep.equal({ nextHop: '198.18.0.2', port: 8285 });
      expect(t.lookup('10.9.9.9')).to.deep.equal({ nextHop: '198.18.0.7', port: 8285 });
      t.delete('10.244.2.0/24');
      expect(t.isPeer('198.18.0.2')).to.equal(true);
      t.delete('10.244.5.0/24');
      expect(t.isPeer('198.18.0.2')).to.equal(false);
      expect(t.lookup('10.244.5.1'), 'falls back to the /8').to.deep.equal({ nextHop: '198.18.0.7', port: 8285 });
    });

    it('holds 5000 subnets', () => {
      const t = probe.routeTable();
      for (let i = 0; i < 5000; i++) t.set(`10.${i >> 8}.${i & 255}.0/24`, `198.18.${1 + (i >> 8)}.${1 + (i & 127)}`, 8285);
      expect(t.size()).to.equal(5000);
      expect(t.lookup('10.19.135.4')).to.deep.equal({ nextHop: '198.18.20.8', port: 8285 });
    });
  });

  describe('TTL', () => {
    it('decrements the TTL and keeps the header checksum right at every step', () => {
      const p = ipv4({ src: '10.244.1.2', dst: '10.244.2.3', proto: 17, ttl: 255, payload: pattern(30) });
      for (let ttl = 254; ttl >= 1; ttl--) {
        expect(probe.decrementTTL(p)).to.equal(ttl);
        expect(p[8]).to.equal(ttl);
        expect(inetChecksum(p.subarray(0, 20)), `checksum at TTL ${ttl}`).to.equal(0);
      }
    });

    it('reports 0 for TTL 1 and 0 and leaves the packet alone', () => {
      for (const ttl of [1, 0]) {
        const p = ipv4({ src: '10.244.1.2', dst: '10.244.2.3', proto: 17, ttl, payload: pattern(8) });
        const before = Buffer.from(p);
        expect(probe.decrementTTL(p)).to.equal(0);
        expect(p.equals(before)).to.equal(true);
      }
    });
  });

  describe('ICMP net unreachable', () => {
    it('answers from the TUN address with TTL 8, type 3 code 0, the offending header and 8 bytes, right checksums', () => {
      const bad = ipv4({ src: '10.244.1.5', dst: '10.244.77.1', proto: 17, id: 0x1234, payload: pattern(100) });
      const icmp = probe.netUnreachable(bad, '10.244.1.0')!;
      expect(icmp).to.have.length(20 + 8 + 28);
      expect(icmp[0]).to.equal(0x45);
      expect(icmp.readUInt16BE(2)).to.equal(56);
      expect(icmp[8], 'TTL').to.equal(8);
      expect(icmp[9], 'protocol').to.equal(1);
      expect(ipText(icmp, 12)).to.equal('10.244.1.0');
      expect(ipText(icmp, 16)).to.equal('10.244.1.5');
      expect(icmp[20], 'type').to.equal(3);
      expect(icmp[21], 'code').to.equal(0);
      expect(icmp.readUInt32BE(24), 'unused').to.equal(0);
      expect(icmp.subarray(28).equals(bad.subarray(0, 28)), 'quoted header + 8 bytes').to.equal(true);
      expect(checksumsOk(icmp), 'IP and ICMP checksums').to.equal(true);
    });

    it('quotes IP options too, and a short packet whole', () => {
      const opts = Buffer.from([1, 1, 1, 0]); // NOP NOP NOP EOL
      const withOpts = ipv4({ src: '10.244.1.5', dst: '10.244.77.1', proto: 6, options: opts, payload: pattern(40) });
      const a = probe.netUnreachable(withOpts, '10.244.1.0')!;
      expect(a.subarray(28).equals(withOpts.subarray(0, 24 + 8))).to.equal(true);
      const tiny = ipv4({ src: '10.244.1.5', dst: '10.244.77.1', proto: 17, payload: pattern(3) });
      const b = probe.netUnreachable(tiny, '10.244.1.0')!;
      expect(b.subarray(28).equals(tiny)).to.equal(true);
      expect(checksumsOk(a) && checksumsOk(b)).to.equal(true);
    });

    it('sends none for ICMP, for later fragments and for garbage; one for a first fragment', () => {
      const icmp = ipv4({ src: '10.244.1.5', dst: '10.244.77.1', proto: 1, payload: pattern(16) });
      const later = ipv4({ src: '10.244.1.5', dst: '10.244.77.1', proto: 17, frag: 0x2000 | 185, payload: pattern(16) });
      const first = ipv4({ src: '10.244.1.5', dst: '10.244.77.1', proto: 17, frag: 0x2000, payload: pattern(16) });
      expect(probe.netUnreachable(icmp, '10.244.1.0')).to.equal(null);
      expect(probe.netUnreachable(later, '10.244.1.0')).to.equal(null);
      expect(probe.netUnreachable(Buffer.from([0x45, 0, 0]), '10.244.1.0')).to.equal(null);
      expect(probe.netUnreachable(Buffer.concat([Buffer.from([0x60]), pattern(60)]), '10.244.1.0'), 'IPv6').to.equal(null);
      expect(probe.netUnreachable(first, '10.244.1.0')).to.not.equal(null);
    });
  });

  const flow = { src: '10.244.1.2', dst: '10.244.2.3' };
  const tsOpt = Buffer.from([1, 1, 8, 10, 0, 0, 0, 42, 0, 0, 0, 7]);

  describe('TSO segmentation (tun -> udp)', () => {
    it('cuts a super-packet into MSS-sized segments with their own lengths, IDs, sequence numbers, flags and checksums', () => {
      const data = pattern(4000, 3);
      const sup = tcp4({ ...flow, seq: 0xfffff000, flags: TCP.ACK | TCP.PSH | TCP.CWR | TCP.FIN, options: tsOpt, payload: data, id: 0xfffe });
      const segs = probe.segment(sup, 1448)!;
      expect(segs.map((s) => s.length)).to.deep.equal([1500, 1500, 1156]);
      segs.forEach((s, i) => {
        expect(checksumsOk(s), `segment ${i} checksums`).to.equal(true);
        expect(s.readUInt16BE(2), 'total length').to.equal(s.length);
        expect(s.readUInt16BE(4), 'IP ID').to.equal((0xfffe + i) & 0xffff);
        expect(s.readUInt32BE(24), 'seq').to.equal((0xfffff000 + i * 1448) >>> 0);
        const f = s[33]!;
        expect(!!(f & TCP.CWR), 'CWR on the first only').to.equal(i === 0);
        expect(!!(f & (TCP.PSH | TCP.FIN)), 'PSH and FIN on the last only').to.equal(i === 2);
        expect(s.subarray(40, 52).equals(tsOpt), 'options copied').to.equal(true);
      });
      expect(Buffer.concat(segs.map((s) => s.subarray(52))).equals(data)).to.equal(true);
    });

    it('refuses what is not TCP/IPv4', () => {
      const udpPkt = ipv4({ ...flow, proto: 17, payload: pattern(3000) });
      expect(probe.segment(udpPkt, 1448)).to.equal(null);
    });
  });

  describe('TCP coalescing (udp -> tun)', () => {
    const seg = (i: number, len = 1448, extra: Partial<Parameters<typeof tcp4>[0]> = {}) =>
      tcp4({ ...flow, seq: 1_000_000 + i * 1448, options: tsOpt, payload: pattern(len, i), id: 100 + i, ...extra });

    it('joins consecutive segments of a flow into one TSO write that the kernel can cut back into the same packets', () => {
      const segs = [seg(0), seg(1), seg(2), seg(3, 500, { flags: TCP.ACK | TCP.PSH })];
      const originals = segs.map((s) => Buffer.from(s));
      const [w, ...rest] = probe.coalesce(segs);
      expect(rest).to.have.length(0);
      expect(w).to.include({ flags: 1, gsoType: 1, hdrLen: 52, gsoSize: 1448, csumStart: 20, csumOffset: 16, packets: 4 });
      expect(w!.packet.length).to.equal(52 + 3 * 1448 + 500);
      expect(w!.packet.readUInt16BE(2)).to.equal(w!.packet.length);
      expect(inetChecksum(w!.packet.subarray(0, 20)), 'IP checksum').to.equal(0);
      expect(w!.packet[33]! & TCP.PSH, 'PSH of the last segment').to.equal(TCP.PSH);
      // What the kernel does with it: cut at gsoSize. Our own segmenter does the same and must give back the originals.
      const again = probe.segment(w!.packet, w!.gsoSize)!;
      expect(again.map((s) => s.toString('hex'))).to.deep.equal(originals.map((s) => s.toString('hex')));
    });

    it('writes a lone packet unchanged, without GSO', () => {
      const p = seg(0);
      const [w] = probe.coalesce([Buffer.from(p)]);
      expect(w).to.include({ flags: 0, gsoType: 0, packets: 1 });
      expect(w!.packet.equals(p)).to.equal(true);
    });

    it('does not join across a sequence gap, another flow, a SYN, a short segment or a pure ACK', () => {
      const other = tcp4({ ...flow, sport: 40001, seq: 1_000_000 + 2 * 1448, options: tsOpt, payload: pattern(1448) });
      const writes = (ps: Buffer[]) => probe.coalesce(ps).map((w) => w.packets);
      expect(writes([seg(0), seg(2)]), 'gap').to.deep.equal([1, 1]);
      expect(writes([seg(0), seg(1), other]), 'other flow').to.deep.equal([2, 1]);
      expect(writes([seg(0, 1448, { flags: TCP.SYN | TCP.ACK }), seg(1)]), 'SYN').to.deep.equal([1, 1]);
      expect(writes([seg(0), seg(1, 1000), seg(2)]), 'short segment ends a group').to.deep.equal([2, 1]);
      expect(writes([seg(0, 0), seg(0, 0)]), 'pure ACKs').to.deep.equal([1, 1]);
      expect(writes([seg(0), seg(1, 1448, { window: 9 })]), 'other window').to.deep.equal([1, 1]);
    });
  });
});
