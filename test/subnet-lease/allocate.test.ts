import { expect } from 'chai';
import { allocate, fitsConfig, previousSubnetProblem } from '../../subnet-lease/allocate.js';
import { checkNetworkConfig, parseNetworkConfig } from '../../subnet-lease/config.js';
import { IP4Net, IP6Net, parseIP4 } from '../../common/ip.js';
import type { Lease } from '../../subnet-lease/lease.js';

const cfg = (extra: object = {}) =>
  checkNetworkConfig(parseNetworkConfig(JSON.stringify({ Network: '10.5.0.0/16', Backend: { Type: 'alloc' }, ...extra })));

function lease(subnet: string, publicIP: string, reservation = false): Lease {
  return { subnet: IP4Net.parse(subnet), ipv6Subnet: null, attrs: { publicIP: parseIP4(publicIP), publicIPv6: null }, reservation };
}

const base = { previousSubnet: null, previousIPv6Subnet: null, random: () => 0 };

describe('allocation (reference order)', () => {
  it('reuses the lease that carries our public IP', () => {
    const mine = lease('10.5.7.0/24', '198.18.0.2');
    const d = allocate({ ...base, config: cfg(), leases: [lease('10.5.1.0/24', '198.18.0.1'), mine], publicIP: parseIP4('198.18.0.2') });
    expect(d.kind).to.equal('reuse');
    expect(d.kind === 'reuse' && d.lease).to.equal(mine);
  });

  it('marks our lease stale when it no longer fits the config, and allocates afresh', () => {
    const old = lease('10.5.7.0/24', '198.18.0.2');
    const d = allocate({ ...base, config: cfg({ SubnetLen: 25 }), leases: [old], publicIP: parseIP4('198.18.0.2') });
    expect(d.stale).to.deep.equal([old]);
    expect(d.kind).to.equal('create');
    if (d.kind === 'create') expect(d.subnet.prefixLen).to.equal(25);
  });

  it('takes back the previous subnet from subnet.env when it is free and fits', () => {
    const d = allocate({ ...base, config: cfg(), leases: [lease('10.5.1.0/24', '198.18.0.1')], publicIP: parseIP4('198.18.0.9'), previousSubnet: IP4Net.parse('10.5.42.0/24') });
    expect(d.kind === 'create' && d.from).to.equal('previous');
    expect(d.kind === 'create' && d.subnet.toString()).to.equal('10.5.42.0/24');
  });

  it('ignores a previous subnet that is taken or outside the range', () => {
    for (const prev of ['10.5.1.0/24', '10.6.1.0/24', '10.5.0.0/24']) {
      const d = allocate({ ...base, config: cfg(), leases: [lease('10.5.1.0/24', '198.18.0.1')], publicIP: parseIP4('198.18.0.9'), previousSubnet: IP4Net.parse(prev) });
      expect(d.kind === 'create' && d.from, prev).to.equal('random');
    }
  });

  it('picks among up to 100 free subnets from SubnetMin, skipping taken ones', () => {
    const leases = [lease('10.5.1.0/24', '198.18.0.1'), lease('10.5.2.0/24', '198.18.0.3')];
    const first = allocate({ ...base, config: cfg(), leases, publicIP: parseIP4('198.18.0.9'), random: () => 0 });
    expect(first.kind === 'create' && first.subnet.toString()).to.equal('10.5.3.0/24');
    const last = allocate({ ...base, config: cfg(), leases, publicIP: parseIP4('198.18.0.9'), random: () => 0.99999 });
    // candidates are 10.5.3.0 .. 10.5.102.0 (100 of them)
    expect(last.kind === 'create' && last.subnet.toString()).to.equal('10.5.102.0/24');
  });

  it('reports exhaustion', () => {
    const small = cfg({ Network: '10.5.0.0/28' }); // /30 subnets: .4 .8 .12 (first skipped)
    const leases = [lease('10.5.0.4/30', '1.1.1.1'), lease('10.5.0.8/30', '1.1.1.2'), lease('10.5.0.12/30', '1.1.1.3')];
    const d = allocate({ ...base, config: small, leases, publicIP: parseIP4('1.1.1.9') });
    expect(d.kind).to.equal('exhausted');
  });

  it('allocates both families in dual stack, and checks v6 fit', () => {
    const dual = cfg({ EnableIPv6: true, IPv6Network: '2001:cafe:42::/56' });
    const d = allocate({ ...base, config: dual, leases: [], publicIP: parseIP4('1.1.1.1') });
    expect(d.kind === 'create' && d.ipv6Subnet!.toString()).to.equal('2001:cafe:42:1::/64');
    expect(fitsConfig(dual, IP4Net.parse('10.5.3.0/24'), null)).to.equal(false);
    expect(fitsConfig(cfg(), IP4Net.parse('10.5.3.0/24'), IP6Net.parse('2001:cafe:42:1::/64'))).to.equal(false);
  });

  it('says why the previous run\'s subnet cannot be taken back: outside the Network, length, SubnetMin, SubnetMax', () => {
    const c = cfg({ SubnetMin: '10.5.10.0', SubnetMax: '10.5.20.0' });
    expect(previousSubnetProblem(c, IP4Net.parse('10.5.15.0/24'), null)).to.equal(null);
    expect(previousSubnetProblem(c, IP4Net.parse('10.5.10.0/24'), null)).to.equal(null);
    expect(previousSubnetProblem(c, IP4Net.parse('10.5.20.0/24'), null)).to.equal(null);
    expect(previousSubnetProblem(c, IP4Net.parse('10.6.15.0/24'), null)).to.match(/outside the Network 10\.5\.0\.0\/16/);
    expect(previousSubnetProblem(c, IP4Net.parse('10.5.15.0/25'), null)).to.match(/is not a \/24 \(SubnetLen\)/);
    expect(previousSubnetProblem(c, IP4Net.parse('10.5.9.0/24'), null)).to.match(/below SubnetMin 10\.5\.10\.0/);
    expect(previousSubnetProblem(c, IP4Net.parse('10.5.21.0/24'), null)).to.match(/past SubnetMax 10\.5\.20\.0/);
  });
});
