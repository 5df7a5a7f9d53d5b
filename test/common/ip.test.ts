import { expect } from 'chai';
import { IP4Net, IP6Net, formatIP6, parseIP4, parseIP6, formatIP4 } from '../../common/ip.js';

describe('ip', () => {
  it('parses and formats IPv4, rejecting junk and leading zeros', () => {
    expect(formatIP4(parseIP4('10.244.3.7'))).to.equal('10.244.3.7');
    expect(parseIP4('255.255.255.255')).to.equal(0xffffffff);
    for (const bad of ['10.244.3', '256.1.1.1', '10.01.1.1', 'a.b.c.d', '1.2.3.4 ']) {
      expect(() => parseIP4(bad), bad).to.throw(/invalid IPv4 address/);
    }
  });

  it('masks IPv4 CIDRs as Go ParseCIDR does', () => {
    const n = IP4Net.parse('10.244.1.5/16');
    expect(n.toString()).to.equal('10.244.0.0/16');
    expect(n.contains(parseIP4('10.244.255.255'))).to.equal(true);
    expect(n.contains(parseIP4('10.245.0.0'))).to.equal(false);
    expect(IP4Net.parse('0.0.0.0/0').size).to.equal(2 ** 32);
    expect(() => IP4Net.parse('10.0.0.0/33')).to.throw(/prefix length/);
    expect(() => IP4Net.parse('10.0.0.0')).to.throw(/invalid CIDR/);
  });

  it('formats IPv6 like Go (RFC 5952)', () => {
    const cases: [string, string][] = [
      ['2001:cafe:42:1:0:0:0:0', '2001:cafe:42:1::'],
      ['2001:0db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::1:0:0:0', 'fe80::1:0:0:0'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::ffff:10.0.0.1', '::ffff:a00:1'],
      ['2001:CAFE::', '2001:cafe::'],
    ];
    for (const [input, want] of cases) expect(formatIP6(parseIP6(input)), input).to.equal(want);
    for (const bad of ['1::2::3', '12345::', ':::', '1:2:3:4:5:6:7:8:9', 'g::1']) {
      expect(() => parseIP6(bad), bad).to.throw(/invalid IPv6 address/);
    }
  });

  it('masks IPv6 networks and tests overlap', () => {
    const n = IP6Net.parse('2001:cafe:42::5/56');
    expect(n.toString()).to.equal('2001:cafe:42::/56');
    expect(n.overlaps(IP6Net.parse('2001:cafe:42:1::/64'))).to.equal(true);
    expect(n.overlaps(IP6Net.parse('2001:cafe:43::/64'))).to.equal(false);
  });
});
