// The delegate config (fact sheet §8), rule by rule, as the built plugin hands it to a fake bridge on
// ADD. The expected objects of the first tests are the reference plugin's own test expectations
// (flannel_linux_test.go) for the same inputs.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PluginSandbox } from '../helpers/cni-plugin.js';

const V4 = 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n';
const V6 = 'FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n';
const DUAL =
  'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_IPV6_NETWORK=fc00::/48\n' +
  'FLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n';

describe('cni delegate config (§8), through the plugin', function () {
  this.timeout(20_000);
  let sb: PluginSandbox;
  beforeEach(() => {
    sb = PluginSandbox.create();
    sb.addFake('ipvlan');
  });
  afterEach(() => sb.destroy());

  /** The saved delegate config's text after an ADD of `netconf` (no cniVersion unless given). */
  function addText(netconf: Record<string, unknown> | string, env = V4): string {
    writeFileSync(join(sb.dir, 'subnet.env'), env);
    const stdin = typeof netconf === 'string' ? netconf : sb.netconf({ cniVersion: undefined, name: 'cni-flannel', ...netconf });
    const r = sb.run({}, stdin);
    expect(r.status, r.stdout).to.equal(0);
    const saved = readFileSync(join(sb.dir, 'data', 'c0ffee'), 'utf8');
    expect(sb.fake(`ADD.stdin`), 'the delegate got what was saved').to.equal(saved);
    return saved;
  }

  function build(netconf: Record<string, unknown>, env = V4): Record<string, unknown> {
    return JSON.parse(addText(netconf, env)) as Record<string, unknown>;
  }

  const ipam = (d: Record<string, unknown>): Record<string, unknown> => d['ipam'] as Record<string, unknown>;

  it('IPv4 only: bridge, ipMasq = !FLANNEL_IPMASQ, mtu, isGateway, host-local with the masked subnet and the network route', () => {
    expect(build({})).to.deep.equal({
      ipMasq: false,
      ipam: { routes: [{ dst: '10.1.0.0/16' }], ranges: [[{ subnet: '10.1.17.0/24' }]], type: 'host-local' },
      isGateway: true,
      mtu: 1472,
      name: 'cni-flannel',
      type: 'bridge',
    });
  });

  it('IPv6 only: the v6 subnet as the one range and the v6 network as the route', () => {
    expect(ipam(build({}, V6))).to.deep.equal({ routes: [{ dst: 'fc00::/48' }], ranges: [[{ subnet: 'fc00::/64' }]], type: 'host-local' });
  });

  it('IPv6 only (flanneld with EnableIPv4 false): the whole delegate holds no IPv4 range, route or address', () => {
    expect(build({ delegate: { isDefaultGateway: true } }, V6)).to.deep.equal({
      ipMasq: false,
      ipam: { routes: [{ dst: 'fc00::/48' }], ranges: [[{ subnet: 'fc00::/64' }]], type: 'host-local' },
      isDefaultGateway: true,
      isGateway: true,
      mtu: 1472,
      name: 'cni-flannel',
      type: 'bridge',
    });
    expect(addText({}, V6)).to.not.match(/\d+\.\d+\.\d+\.\d+/);
  });

  it('dual stack: two ranges (v4 first) and both routes', () => {
    expect(ipam(build({}, DUAL))).to.deep.equal({
      routes: [{ dst: '10.1.0.0/16' }, { dst: 'fc00::/48' }],
      ranges: [[{ subnet: '10.1.17.0/24' }], [{ subnet: 'fc00::/64' }]],
      type: 'host-local',
    });
  });

  it('several networks in FLANNEL_NETWORK: one route each, duplicates once', () => {
    const env = V4.replace('10.1.0.0/16', '10.1.0.0/16,192.168.0.0/16,10.1.0.0/16');
    expect(ipam(build({}, env))['routes']).to.deep.equal([{ dst: '10.1.0.0/16' }, { dst: '192.168.0.0/16' }]);
  });

  it('ipMasq is true when flanneld does not masquerade (FLANNEL_IPMASQ=false)', () => {
    expect(build({}, V4.replace('IPMASQ=true', 'IPMASQ=false'))['ipMasq']).to.equal(true);
  });

  it('delegate options override ipMasq, mtu, isGateway and type, and other options pass through', () => {
    const d = build({ delegate: { ipMasq: true, mtu: 1400, isGateway: false, hairpinMode: true, isDefaultGateway: true } });
    expect(d).to.include({ ipMasq: true, mtu: 1400, isGateway: false, hairpinMode: true, isDefaultGateway: true, type: 'bridge' });
  });

  it('isGateway is added for bridge only', () => {
    const d = build({ delegate: { type: 'ipvlan', master: 'eth0' } });
    expect(d).to.include({ type: 'ipvlan', master: 'eth0', mtu: 1472, ipMasq: false });
    expect(d).not.to.have.property('isGateway');
  });

  it('a delegate option with a null value counts as set (the key is present)', () => {
    expect(build({ delegate: { mtu: null } })['mtu']).to.equal(null);
  });

  it('name and cniVersion come from the netconf; no cniVersion key when the netconf has none', () => {
    expect(build({ cniVersion: '0.3.1' })).to.include({ name: 'cni-flannel', cniVersion: '0.3.1' });
    expect(build({})).not.to.have.property('cniVersion');
    expect(build({ delegate: { cniVersion: '0.4.0' } })['cniVersion']).to.equal('0.4.0');
    expect(build({ cniVersion: '1.0.0', delegate: { cniVersion: '0.4.0' } })['cniVersion']).to.equal('1.0.0');
  });

  it('runtimeConfig is passed through; args, capabilities and prevResult are not', () => {
    const d = build({
      runtimeConfig: { mac: '0a:58:0a:01:11:05' },
      args: { cni: { ips: ['10.1.17.9'] } },
      capabilities: { mac: true },
      prevResult: { cniVersion: '1.0.0' },
    });
    expect(d['runtimeConfig']).to.deep.equal({ mac: '0a:58:0a:01:11:05' });
    expect(d).not.to.have.any.keys('args', 'capabilities', 'prevResult');
    expect(build({ runtimeConfig: {} })['runtimeConfig']).to.deep.equal({});
    expect(build({})).not.to.have.property('runtimeConfig');
  });

  it('the netconf ipam is the start: its type and other keys stay, ranges are replaced, its routes come first', () => {
    const d = build({
      ipam: {
        type: 'my-ipam',
        'unknown-param': 'unknown-value',
        dataDir: '/tmp/x',
        ranges: [[{ subnet: '192.0.2.0/24' }]],
        routes: [{ dst: '10.96.0.0/12' }, { dst: '192.168.244.0/24', gw: '10.1.17.20' }],
      },
    });
    expect(ipam(d)).to.deep.equal({
      type: 'my-ipam',
      'unknown-param': 'unknown-value',
      dataDir: '/tmp/x',
      ranges: [[{ subnet: '10.1.17.0/24' }]],
      routes: [{ dst: '10.96.0.0/12' }, { dst: '192.168.244.0/24', gw: '10.1.17.20' }, { dst: '10.1.0.0/16' }],
    });
  });

  it('input routes are re-encoded as the CNI Route type: unknown keys dropped, zero ints dropped, addresses canonical', () => {
    const d = build({ ipam: { routes: [{ dst: 'FC00:0:0::5/48', gw: 'FC00::0:1', mtu: 0, priority: 5, table: 0, colour: 'red' }] } });
    expect((ipam(d)['routes'] as unknown[])[0]).to.deep.equal({ dst: 'fc00::5/48', gw: 'fc00::1', priority: 5, table: 0 });
  });

  it('two ADDs of one config hand the delegate the same bytes', () => {
    const conf = { name: 'n', delegate: { hairpinMode: true }, ipam: { routes: [] } };
    expect(addText(conf)).to.equal(addText(conf));
  });

  it('renders JSON with every object\'s keys sorted, as Go writes the reference\'s maps', () => {
    expect(addText({ cniVersion: '0.3.1' })).to.equal(
      '{"cniVersion":"0.3.1","ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}],' +
        '"type":"host-local"},"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}',
    );
    expect(addText({ delegate: { b: [{ z: 1, a: null }] } })).to.contain('"b":[{"a":null,"z":1}]');
  });

  it('prints numbers as Go and JavaScript print a double, and strings with JSON.stringify\'s escapes', () => {
    const stdin = sb.netconf({ cniVersion: undefined }).replace(/}$/, ',"delegate":{"x":1.50,"y":1e3,"z":-0,"s":"\\u00e9\\u0001\\/"}}');
    expect(addText(stdin)).to.contain('"s":"é\\u0001/","type":"bridge","x":1.5,"y":1000,"z":0}');
  });
});
