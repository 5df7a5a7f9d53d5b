import { expect } from 'chai';
import { decodeLeaseAttrs, encodeLeaseAttrs, parseSubnetKey, subnetKey, LeaseParseError } from '../../subnet-lease/lease.js';
import { IP4Net, IP6Net, parseIP4 } from '../../common/ip.js';

describe('lease keys and JSON', () => {
  it('formats and parses IPv4 and dual-stack keys', () => {
    expect(subnetKey(IP4Net.parse('10.5.52.0/24'), null)).to.equal('10.5.52.0-24');
    expect(subnetKey(IP4Net.parse('10.5.52.0/24'), IP6Net.parse('2001:cafe:42:1::/64'))).to.equal('10.5.52.0-24&2001:cafe:42:1::-64');
    const k = parseSubnetKey('/coreos.com/network/subnets/10.5.52.0-24&2001:cafe:42:1::-64');
    expect(k.subnet.toString()).to.equal('10.5.52.0/24');
    expect(k.ipv6Subnet!.toString()).to.equal('2001:cafe:42:1::/64');
    expect(parseSubnetKey('10.5.52.0-24').ipv6Subnet).to.equal(null);
  });

  it('rejects keys that do not parse', () => {
    for (const junk of ['garbage', '10.5.52.0/24', '10.5.52-24', '999.1.1.0-24', '10.0.0.0-40']) {
      expect(() => parseSubnetKey(junk), junk).to.throw(LeaseParseError);
    }
  });

  it('encodes attrs byte-exact as the reference (field order, null v6, omitempty)', () => {
    expect(
      encodeLeaseAttrs({
        publicIP: parseIP4('192.168.64.3'),
        publicIPv6: null,
        backendType: 'vxlan',
        backendData: { VNI: 1, VtepMAC: 'c6:d2:32:6f:8f:44' },
      }),
    ).to.equal('{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}');
    expect(encodeLeaseAttrs({ publicIP: parseIP4('10.0.0.1'), publicIPv6: null })).to.equal('{"PublicIP":"10.0.0.1","PublicIPv6":null}');
    expect(encodeLeaseAttrs({ publicIP: 0, publicIPv6: null, backendType: 'host-gw' })).to.equal(
      '{"PublicIP":"0.0.0.0","PublicIPv6":null,"BackendType":"host-gw"}',
    );
  });

  it('round-trips, reading keys case-insensitively', () => {
    const text = '{"PublicIP":"10.0.0.2","PublicIPv6":"2001:db8::2","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}}';
    expect(encodeLeaseAttrs(decodeLeaseAttrs(text))).to.equal(text);
    const lower = decodeLeaseAttrs('{"publicip":"10.0.0.3","backendtype":"host-gw"}');
    expect(encodeLeaseAttrs(lower)).to.equal('{"PublicIP":"10.0.0.3","PublicIPv6":null,"BackendType":"host-gw"}');
  });

  it('rejects values that are not JSON or have a bad PublicIP, naming the field', () => {
    expect(() => decodeLeaseAttrs('garbage')).to.throw(LeaseParseError, /not JSON/);
    expect(() => decodeLeaseAttrs('[1]')).to.throw(LeaseParseError, /not a JSON object/);
    expect(() => decodeLeaseAttrs('{"PublicIP":"10.0.0"}')).to.throw(LeaseParseError, /PublicIP.*10\.0\.0/);
    expect(() => decodeLeaseAttrs('{"PublicIP":7}')).to.throw(LeaseParseError, /PublicIP must be a string/);
  });
});
