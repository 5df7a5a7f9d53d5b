// The acceptance rule for another host's lease (issue 12), on a table: every bad case the issue lists
// and the valid ones around each boundary; then the overlap bookkeeping (older wins, re-evaluation,
// silent removal of rejected leases) and its cost per event.
import { expect } from 'chai';
import { type AcceptRules, type OwnIdentity, checkLease } from '../../subnet-lease/acceptance.js';
import { LeaseAcceptor, type RejectedLease } from '../../subnet-lease/acceptor.js';
import { IP4Net, IP6Net, parseIP4, parseIP6 } from '../../common/ip.js';
import { decodeLeaseAttrs, parseSubnetKey, type Lease, type LeaseEvent } from '../../subnet-lease/lease.js';
import { validateLeaseData } from '../../backends/vxlan/lease-check.js';
import { parseNode } from '../../subnet-lease/kube/node.js';

const VXLAN = { vni: 1, port: 0, mtu: 0, gbp: false, learning: false, directRouting: false, txChecksumOffload: 'auto' as const };
const rules: AcceptRules = {
  network: IP4Net.parse('10.244.0.0/16'),
  ipv6Network: null,
  subnetLen: 24,
  ipv6SubnetLen: null,
  backendType: 'vxlan',
  validateLeaseData: (attrs) => validateLeaseData(attrs, VXLAN, { v4: true, v6: false }),
};
const own: OwnIdentity = { subnet: IP4Net.parse('10.244.7.0/24'), ipv6Subnet: null, publicIP: parseIP4('192.168.1.7'), publicIPv6: null };

function lease(key: string, value: Record<string, unknown> = {}, createRevision?: number): Lease {
  const v = { PublicIP: '192.168.1.20', BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:14:00' }, ...value };
  const { subnet, ipv6Subnet } = parseSubnetKey(key);
  const l: Lease = { subnet, ipv6Subnet, attrs: decodeLeaseAttrs(JSON.stringify(v)), reservation: false, key: `/coreos.com/network/subnets/${key}` };
  if (createRevision !== undefined) l.createRevision = createRevision;
  return l;
}

const mac = (m: string): Record<string, unknown> => ({ BackendData: { VNI: 1, VtepMAC: m } });

// [case, key, value overrides, expected reason (null: accepted), expected field]
const TABLE: Array<[string, string, Record<string, unknown>, string | null, string?]> = [
  ['a good lease', '10.244.20.0-24', {}, null],
  ['the first /24 of the Network', '10.244.0.0-24', {}, null],
  ['the last /24 of the Network', '10.244.255.0-24', {}, null],
  ['the /24 just below our own', '10.244.6.0-24', {}, null],
  ['the /24 just above our own', '10.244.8.0-24', {}, null],
  ['host bits set', '10.244.38.5-24', {}, 'host_bits', 'key'],
  ['host bits set in the last octet only', '10.244.38.1-24', {}, 'host_bits', 'key'],
  ['a /25 (not SubnetLen)', '10.244.20.0-25', {}, 'subnet_len', 'key'],
  ['a /23 (not SubnetLen)', '10.244.20.0-23', {}, 'subnet_len', 'key'],
  ['the Network itself', '10.244.0.0-16', {}, 'subnet_len', 'key'],
  ['a /24 outside the Network', '192.168.77.0-24', {}, 'outside_network', 'key'],
  ['the /24 just below the Network', '10.243.255.0-24', {}, 'outside_network', 'key'],
  ['the /24 just above the Network', '10.245.0.0-24', {}, 'outside_network', 'key'],
  ['our own subnet', '10.244.7.0-24', {}, 'overlaps_own', 'key'],
  ['PublicIP loopback', '10.244.20.0-24', { PublicIP: '127.0.0.1' }, 'public_ip', 'PublicIP'],
  ['PublicIP multicast', '10.244.20.0-24', { PublicIP: '239.1.2.3' }, 'public_ip', 'PublicIP'],
  ['PublicIP link-local multicast', '10.244.20.0-24', { PublicIP: '224.0.0.1' }, 'public_ip', 'PublicIP'],
  ['PublicIP unspecified', '10.244.20.0-24', { PublicIP: '0.0.0.0' }, 'public_ip', 'PublicIP'],
  ['PublicIP broadcast', '10.244.20.0-24', { PublicIP: '255.255.255.255' }, 'public_ip', 'PublicIP'],
  ['PublicIP our own', '10.244.20.0-24', { PublicIP: '192.168.1.7' }, 'public_ip', 'PublicIP'],
  ['PublicIP just below multicast', '10.244.20.0-24', { PublicIP: '223.255.255.254' }, null],
  ['PublicIP just past loopback', '10.244.20.0-24', { PublicIP: '128.0.0.1' }, null],
  ['BackendType host-gw', '10.244.20.0-24', { BackendType: 'host-gw' }, 'backend_type', 'BackendType'],
  ['BackendType missing', '10.244.20.0-24', { BackendType: undefined }, 'backend_type', 'BackendType'],
  ['another VNI', '10.244.20.0-24', { BackendData: { VNI: 2, VtepMAC: '0a:58:0a:f4:14:00' } }, 'backend_data', 'BackendData.VNI'],
  ['VtepMAC multicast', '10.244.20.0-24', mac('01:00:5e:00:00:01'), 'backend_data', 'BackendData.VtepMAC'],
  ['VtepMAC broadcast', '10.244.20.0-24', mac('ff:ff:ff:ff:ff:ff'), 'backend_data', 'BackendData.VtepMAC'],
  ['VtepMAC all zero', '10.244.20.0-24', mac('00:00:00:00:00:00'), 'backend_data', 'BackendData.VtepMAC'],
  ['VtepMAC not a MAC', '10.244.20.0-24', mac('nope'), 'backend_data', 'BackendData.VtepMAC'],
  ['VtepMAC universally administered unicast', '10.244.20.0-24', mac('00:00:00:00:00:01'), null],
  ['BackendData missing', '10.244.20.0-24', { BackendData: undefined }, 'backend_data', 'BackendData'],
];

describe('lease acceptance rule (issue 12)', () => {
  for (const [name, key, value, reason, field] of TABLE) {
    it(`${reason ? 'rejects' : 'accepts'} ${name} (${key})`, () => {
      const r = checkLease(lease(key, value), rules, own);
      if (reason === null) return expect(r).to.equal(null);
      expect(r?.reason).to.equal(reason);
      expect(r?.field).to.equal(field);
      expect(r?.why).to.be.a('string').and.not.empty;
    });
  }

  it('accepts a lease without BackendType when ours is udp or alloc (they write none), and not otherwise', () => {
    const l = lease('10.244.20.0-24', { BackendType: undefined, BackendData: undefined });
    for (const t of ['udp', 'alloc']) expect(checkLease(l, { ...rules, backendType: t, validateLeaseData: null }, own)).to.equal(null);
    expect(checkLease(l, { ...rules, backendType: 'host-gw', validateLeaseData: null }, own)?.reason).to.equal('backend_type');
  });

  it('IPv6: host bits, outside IPv6Network, loopback/multicast PublicIPv6 and our own address are rejected', () => {
    const r6: AcceptRules = { ...rules, ipv6Network: IP6Net.parse('fd00:10::/56'), ipv6SubnetLen: 64, validateLeaseData: null };
    const o6: OwnIdentity = { ...own, ipv6Subnet: IP6Net.parse('fd00:10:0:7::/64'), publicIPv6: parseIP6('fd99::7') };
    const v6 = (k: string, ip = 'fd99::20'): Lease => lease(`10.244.20.0-24&${k}`, { PublicIPv6: ip });
    expect(checkLease(v6('fd00:10:0:20::-64'), r6, o6)).to.equal(null);
    expect(checkLease(v6('fd00:10:0:20::5-64'), r6, o6)?.reason).to.equal('host_bits');
    expect(checkLease(v6('fd00:11::-64'), r6, o6)?.reason).to.equal('outside_network');
    expect(checkLease(v6('fd00:10:0:7::-64'), r6, o6)?.reason).to.equal('overlaps_own');
    for (const ip of ['::1', 'ff02::1', '::', 'fd99::7']) expect(checkLease(v6('fd00:10:0:20::-64', ip), r6, o6)?.field).to.equal('PublicIPv6');
  });
});

describe('lease acceptor: overlaps, older wins, re-evaluation', () => {
  const make = (): { a: LeaseAcceptor; reports: RejectedLease[] } => {
    const reports: RejectedLease[] = [];
    return { a: new LeaseAcceptor({ ...rules, subnetLen: null }, () => own, (r) => reports.push(r)), reports };
  };
  const keys = (evs: LeaseEvent[]): string[] => evs.map((e) => `${e.type} ${e.lease.subnet.toString()}`);

  it('of two overlapping leases the older is accepted whatever the order of the listing', () => {
    const { a, reports } = make();
    const out = a.apply([{ type: 'added', lease: lease('10.244.38.0-23', {}, 9) }, { type: 'added', lease: lease('10.244.38.0-24', {}, 5) }]);
    expect(keys(out)).to.deep.equal(['added 10.244.38.0/24']);
    expect(reports.map((r) => r.rejection.reason)).to.deep.equal(['overlaps_lease']);
  });

  it('kube: the Node with the older creationTimestamp wins (read by parseNode)', () => {
    const { a } = make();
    const node = (name: string, cidr: string, ts: string): Lease => {
      const info = parseNode({ metadata: { name, creationTimestamp: ts }, spec: { podCIDR: cidr } });
      const l = lease(cidr.replace('/', '-'));
      delete l.key;
      if (info.createdAt) l.createdAt = info.createdAt;
      return l;
    };
    const out = a.apply([{ type: 'added', lease: node('new', '10.244.38.0/23', '2026-12-03T10:00:00Z') }, { type: 'added', lease: node('old', '10.244.38.0/24', '2026-12-01T10:00:00Z') }]);
    expect(keys(out)).to.deep.equal(['added 10.244.38.0/24']);
  });

  it('a newer lease inside or around an accepted one is rejected, and logged once per key and value', () => {
    const { a, reports } = make();
    a.apply([{ type: 'added', lease: lease('10.244.38.0-24', {}, 5) }]);
    for (const k of ['10.244.38.0-25', '10.244.38.128-25', '10.244.38.0-23', '10.244.0.0-16']) {
      expect(a.apply([{ type: 'added', lease: lease(k, {}, 10) }])).to.deep.equal([]);
      expect(a.apply([{ type: 'added', lease: lease(k, {}, 10) }])).to.deep.equal([]);
    }
    expect(reports.map((r) => r.key.split('/').pop())).to.deep.equal(['10.244.38.0-25', '10.244.38.128-25', '10.244.38.0-23', '10.244.0.0-16']);
    expect(a.apply([{ type: 'added', lease: lease('10.244.39.0-24', {}, 11) }]).length).to.equal(1);
  });

  it('deleting a rejected lease emits nothing; deleting the older one accepts the newer', () => {
    const { a } = make();
    a.apply([{ type: 'added', lease: lease('10.244.38.0-24', {}, 5) }]);
    a.apply([{ type: 'added', lease: lease('10.244.38.5-24', {}, 6) }]); // host bits: same masked subnet
    a.apply([{ type: 'added', lease: lease('10.244.38.0-23', {}, 7) }]);
    expect(a.apply([{ type: 'removed', lease: lease('10.244.38.5-24') }])).to.deep.equal([]);
    expect(a.rejections().map((r) => r.key.split('/').pop())).to.deep.equal(['10.244.38.0-23']);
    expect(keys(a.apply([{ type: 'removed', lease: lease('10.244.38.0-24') }]))).to.deep.equal(['removed 10.244.38.0/24', 'added 10.244.38.0/23']);
    expect(a.rejections()).to.deep.equal([]);
  });

  it('an accepted lease rewritten with a bad value is removed', () => {
    const { a } = make();
    a.apply([{ type: 'added', lease: lease('10.244.38.0-24', {}, 5) }]);
    expect(keys(a.apply([{ type: 'added', lease: lease('10.244.38.0-24', mac('ff:ff:ff:ff:ff:ff'), 5) }]))).to.deep.equal(['removed 10.244.38.0/24']);
    expect(keys(a.apply([{ type: 'added', lease: lease('10.244.38.0-24', {}, 5) }]))).to.deep.equal(['added 10.244.38.0/24']);
  });

  it('costs the same per event with 2000 and 8000 leases (no scan of the accepted set)', () => {
    const cost = (n: number): number => {
      const ls = Array.from({ length: n }, (_, i) => lease(`10.${(i >> 8) + 1}.${i & 255}.0-24`, {}, i));
      const wide: AcceptRules = { ...rules, network: IP4Net.parse('10.0.0.0/8'), subnetLen: null };
      const b = new LeaseAcceptor(wide, () => own, () => undefined);
      b.apply(ls.map((lease) => ({ type: 'added', lease })));
      const probes = Array.from({ length: 2000 }, (_, i) => lease(`10.${(i >> 8) + 1}.${i & 255}.128-25`, {}, n + i));
      const t0 = process.hrtime.bigint();
      for (const p of probes) b.apply([{ type: 'added', lease: p }]);
      return Number(process.hrtime.bigint() - t0);
    };
    cost(2000);
    const small = Math.min(cost(2000), cost(2000));
    const large = Math.min(cost(8000), cost(8000));
    expect(large / small).to.be.below(2.5);
  });
});
