import { expect } from 'chai';
import { CniError } from '../../cni/errors.js';
import { DEFAULT_DATA_DIR, DEFAULT_SUBNET_FILE, parseNetConf } from '../../cni/netconf.js';

function fails(input: unknown): CniError {
  try {
    parseNetConf(typeof input === 'string' ? input : JSON.stringify(input));
  } catch (e) {
    expect(e).to.be.instanceOf(CniError);
    return e as CniError;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('cni netconf validation', () => {
  it('defaults subnetFile and dataDir as the reference does', () => {
    const c = parseNetConf('{"name":"cbr0","type":"flannel"}');
    expect(c).to.include({ name: 'cbr0', cniVersion: '', subnetFile: DEFAULT_SUBNET_FILE, dataDir: DEFAULT_DATA_DIR });
    expect(DEFAULT_SUBNET_FILE).to.equal('/run/flannel/subnet.env');
    expect(DEFAULT_DATA_DIR).to.equal('/var/lib/cni/flannel');
    expect(c.delegate).to.equal(null);
    expect(c.ipam).to.equal(null);
  });

  it('takes subnetFile, dataDir, delegate, ipam and runtimeConfig', () => {
    const c = parseNetConf(
      JSON.stringify({
        name: 'n', cniVersion: '1.0.0', subnetFile: '/s', dataDir: '/d', delegate: { hairpinMode: true },
        ipam: { dataDir: '/h' }, runtimeConfig: { mac: 'x' },
      }),
    );
    expect(c).to.deep.include({ cniVersion: '1.0.0', subnetFile: '/s', dataDir: '/d', delegate: { hairpinMode: true } });
    expect(c).to.deep.include({ ipam: { dataDir: '/h' }, runtimeConfig: { mac: 'x' } });
  });

  it('matches field names case-insensitively, the last one winning, and treats null as absent (Go decoding)', () => {
    const c = parseNetConf('{"name":"n","SubnetFile":"/a","subnetfile":"/b","DATADIR":null,"Delegate":{"mtu":1}}');
    expect(c.subnetFile).to.equal('/b');
    expect(c.dataDir).to.equal(DEFAULT_DATA_DIR);
    expect(c.delegate).to.deep.equal({ mtu: 1 });
  });

  it('refuses stdin that is not a JSON object with code 6', () => {
    expect(fails('{"name":').code).to.equal(6);
    expect(fails('[1]').code).to.equal(6);
    expect(fails('').code).to.equal(6);
  });

  it('requires a valid network name (code 7)', () => {
    expect(fails({ type: 'flannel' })).to.include({ code: 7, msg: 'missing network name' });
    expect(fails({ name: '../x' })).to.include({ code: 7, msg: 'invalid characters found in network name' });
  });

  it('names the field and the value of a field with the wrong type (code 7)', () => {
    expect(fails({ name: 'n', subnetFile: 42 })).to.include({ code: 7, msg: 'netconf field "subnetFile" must be a string, got 42' });
    expect(fails({ name: 'n', dataDir: '' }).msg).to.equal('netconf field "dataDir" must be a non-empty string (default /var/lib/cni/flannel), got ""');
    expect(fails({ name: 'n', delegate: [1] }).msg).to.equal('netconf field "delegate" must be an object, got [1]');
    expect(fails({ name: 'n', cniVersion: 1 }).msg).to.equal('netconf field "cniVersion" must be a string, got 1');
    expect(fails({ name: 'n', runtimeConfig: 'x' }).msg).to.equal('netconf field "runtimeConfig" must be an object, got "x"');
  });

  it('refuses a delegate with name or ipam, or a non-string type, with the reference messages', () => {
    expect(fails({ name: 'n', delegate: { name: 'x' } })).to.include({
      code: 7,
      msg: "'delegate' dictionary must not have 'name' field, it'll be set by flannel",
      details: 'netconf field "delegate.name" is "x"',
    });
    expect(fails({ name: 'n', delegate: { ipam: {} } }).msg).to.equal("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
    expect(fails({ name: 'n', delegate: { type: 5 } }).msg).to.equal("'delegate' dictionary, if present, must have (string) 'type' field");
  });

  it('checks ipam.routes and names the bad route field', () => {
    expect(fails({ name: 'n', ipam: { routes: {} } }).msg).to.equal('netconf field "ipam.routes" must be a list of routes, got {}');
    expect(fails({ name: 'n', ipam: { routes: [{ dst: '10.0.0.0/8' }, { dst: '10.0.0.0' }] } }).msg).to.equal(
      'netconf field "ipam.routes[1].dst" must be a CIDR such as "10.96.0.0/12", got "10.0.0.0"',
    );
    expect(fails({ name: 'n', ipam: { routes: [{ dst: '10.0.0.0/33' }] } }).code).to.equal(7);
    expect(fails({ name: 'n', ipam: { routes: [{ dst: '10.0.0.0/8', gw: 'x' }] } }).msg).to.contain('"ipam.routes[0].gw" must be an IP address');
    expect(fails({ name: 'n', ipam: { routes: [{ dst: '10.0.0.0/8', mtu: 1.5 }] } }).msg).to.contain('"ipam.routes[0].mtu" must be an integer');
    expect(parseNetConf('{"name":"n","ipam":{"routes":null}}').ipamRoutes).to.deep.equal([]);
  });
});
