import { expect } from 'chai';
import { checkNetworkConfig, parseNetworkConfig, ConfigError } from '../../subnet-lease/config.js';
import { formatIP4, formatIP6 } from '../../common/ip.js';

const check = (json: unknown) => checkNetworkConfig(parseNetworkConfig(JSON.stringify(json)));

function expectError(json: unknown, message: RegExp, field?: string): void {
  try {
    check(json);
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    expect((e as Error).message).to.match(message);
    if (field) expect((e as ConfigError).field).to.equal(field);
    return;
  }
  expect.fail(`no error for ${JSON.stringify(json)}`);
}

describe('network config', () => {
  it('applies the reference defaults (10.3.0.0/16 gives /24, 10.3.1.0 .. 10.3.255.0)', () => {
    const c = check({ Network: '10.3.0.0/16', Backend: { Type: 'vxlan' } });
    expect(c.subnetLen).to.equal(24);
    expect(formatIP4(c.subnetMin)).to.equal('10.3.1.0');
    expect(formatIP4(c.subnetMax)).to.equal('10.3.255.0');
    expect(c.enableIPv4).to.equal(true);
    expect(c.enableIPv6).to.equal(false);
    expect(c.backendType).to.equal('vxlan');
  });

  it('splits small networks in four and masks the Network', () => {
    const c = check({ Network: '10.3.1.77/26', Backend: { Type: 'vxlan' } });
    expect(c.network!.toString()).to.equal('10.3.1.64/26');
    expect(c.subnetLen).to.equal(28);
    expect(formatIP4(c.subnetMin)).to.equal('10.3.1.80');
    expect(formatIP4(c.subnetMax)).to.equal('10.3.1.112');
  });

  it('matches keys case-insensitively and lower-cases the backend type', () => {
    const c = check({ network: '10.5.0.0/16', subnetlen: 20, backend: { type: 'VXLAN', vni: 4 } });
    expect(c.subnetLen).to.equal(20);
    expect(c.backendType).to.equal('vxlan');
    expect(c.backend).to.deep.equal({ type: 'VXLAN', vni: 4 });
  });

  it('defaults a missing Backend to vxlan and says so', () => {
    const c = check({ Network: '10.5.0.0/16' });
    expect(c.backendType).to.equal('vxlan');
    expect(c.backendDefaulted).to.equal(true);
  });

  it('keeps explicit SubnetMin/SubnetMax', () => {
    const c = check({ Network: '10.5.0.0/16', SubnetMin: '10.5.10.0', SubnetMax: '10.5.20.0', Backend: { Type: 'alloc' } });
    expect(formatIP4(c.subnetMin)).to.equal('10.5.10.0');
    expect(formatIP4(c.subnetMax)).to.equal('10.5.20.0');
  });

  it('gives every reference validation message, naming the field and value', () => {
    expectError('not json', /must be a JSON object/);
    expect(() => parseNetworkConfig('{"Network": ')).to.throw(ConfigError, /not valid JSON/);
    expectError({ Backend: { Type: 'vxlan' } }, /^please define a correct Network parameter in the flannel config$/, 'Network');
    expectError({ Network: 'banana' }, /Network "banana" is not an IPv4 CIDR/, 'Network');
    expectError({ Network: 'fc00::/48' }, /invalid IPv4 CIDR format/, 'Network');
    expectError({ Network: '10.0.0.0/16', SubnetLen: 31 }, /SubnetLen must be less than \/31 \(SubnetLen=31\)/, 'SubnetLen');
    expectError({ Network: '10.0.0.0/16', SubnetLen: 17 }, /network must be able to accommodate at least four subnets \(SubnetLen=17, Network=10.0.0.0\/16\)/);
    expectError({ Network: '10.0.0.0/16', SubnetLen: 'x' }, /SubnetLen must be a non-negative integer, got "x"/, 'SubnetLen');
    expectError({ Network: '10.0.0.0/29' }, /network is too small. Minimum useful network prefix is \/28 \(Network=10.0.0.0\/29\)/);
    expectError({ Network: '10.0.0.0/16', SubnetMin: '10.1.0.0' }, /SubnetMin is not in the range of the Network \(SubnetMin=10.1.0.0/, 'SubnetMin');
    expectError({ Network: '10.0.0.0/16', SubnetMax: '11.0.0.0' }, /SubnetMax is not in the range of the Network \(SubnetMax=11.0.0.0/, 'SubnetMax');
    expectError({ Network: '10.0.0.0/16', SubnetMin: '10.0.1.5' }, /SubnetMin is not on a SubnetLen boundary: 10.0.1.5/, 'SubnetMin');
    expectError({ Network: '10.0.0.0/16', SubnetMax: '10.0.9.1' }, /SubnetMax is not on a SubnetLen boundary: 10.0.9.1/, 'SubnetMax');
    expectError({ Network: '10.0.0.0/16', SubnetMin: '10.0.20.0', SubnetMax: '10.0.10.0' }, /SubnetMin=10\.0\.20\.0, SubnetMax=10\.0\.10\.0/, 'SubnetMin');
    expect(check({ Network: '10.0.0.0/16', SubnetMin: '10.0.10.0', SubnetMax: '10.0.10.0', Backend: { Type: 'alloc' } }).subnetMax).to.be.a('number');
    expectError({ Network: '10.0.0.0/16', SubnetMin: 'ten' }, /SubnetMin "ten" is not an IPv4 address/, 'SubnetMin');
    expectError({ Network: '10.0.0.0/16', Backend: { VNI: 1 } }, /unknown backend type/, 'Backend.Type');
    expectError({ Network: '10.0.0.0/16', Backend: 'vxlan' }, /error decoding Backend property of config/, 'Backend');
    expectError({ Network: '10.0.0.0/16', EnableIPv6: 'yes' }, /EnableIPv6 must be true or false, got "yes"/, 'EnableIPv6');
  });

  it('validates IPv6 with the reference numbers', () => {
    const c = check({ Network: '10.0.0.0/16', EnableIPv6: true, IPv6Network: '2001:cafe:42::/56', Backend: { Type: 'vxlan' } });
    expect(c.ipv6SubnetLen).to.equal(64);
    expect(formatIP6(c.ipv6SubnetMin)).to.equal('2001:cafe:42:1::');
    expect(formatIP6(c.ipv6SubnetMax)).to.equal('2001:cafe:42:ff::');
    const small = check({ Network: '10.0.0.0/16', EnableIPv6: true, IPv6Network: 'fc00::/120' });
    expect(small.ipv6SubnetLen).to.equal(122);
    expectError({ Network: '10.0.0.0/16', EnableIPv6: true }, /please define a correct IPv6Network parameter/, 'IPv6Network');
    expectError({ Network: '10.0.0.0/16', EnableIPv6: true, IPv6Network: 'fc00::/125' }, /IPv6Network is too small. Minimum useful network prefix is \/124/);
    expectError({ Network: '10.0.0.0/16', EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetLen: 127 }, /SubnetLen must be less than \/127/);
    expectError({ Network: '10.0.0.0/16', EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetLen: 49 }, /at least four subnets/);
    expectError(
      { Network: '10.0.0.0/16', EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetMin: 'fc00:0:0:1::1' },
      /IPv6SubnetMin is not on a SubnetLen boundary: fc00:0:0:1::1/,
    );
    expectError({ Network: '10.0.0.0/16', EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetMax: 'fd00::' }, /IPv6SubnetMax is not in the range of the IPv6Network/);
    expectError(
      { Network: '10.0.0.0/16', EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetMin: 'fc00:0:0:20::', IPv6SubnetMax: 'fc00:0:0:10::' },
      /IPv6SubnetMin=fc00:0:0:20::, IPv6SubnetMax=fc00:0:0:10::/,
      'IPv6SubnetMin',
    );
  });

  it('skips IPv4 checks when EnableIPv4 is false', () => {
    const c = check({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fc00::/48' });
    expect(c.network).to.equal(null);
  });
});
