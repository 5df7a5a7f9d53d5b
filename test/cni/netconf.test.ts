// The plugin's netconf validation, through the built plugin: what it reads from stdin, and the error
// JSON (code and message naming the field) for what it refuses.
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateMounts } from '../helpers/cni.js';
import { PluginSandbox, SUBNET_ENV } from '../helpers/cni-plugin.js';

describe('cni netconf validation, through the plugin', function () {
  this.timeout(20_000);
  let sb: PluginSandbox;
  beforeEach(() => {
    sb = PluginSandbox.create();
  });
  afterEach(() => sb.destroy());

  /** The error JSON of an ADD of `input` (an object is the netconf as is, a string is stdin). */
  function fails(input: unknown): Record<string, unknown> {
    const r = sb.run({}, typeof input === 'string' ? input : JSON.stringify(input));
    expect(r.status, r.stdout).to.equal(1);
    return r.json();
  }

  it('defaults subnetFile to /run/flannel/subnet.env and dataDir to /var/lib/cni/flannel (a null counts as absent)', function () {
    if (process.getuid?.() !== 0) this.skip(); // the node's paths come from a private mount namespace
    const node = mkdtempSync(join(tmpdir(), 'fl-cni-node-'));
    try {
      mkdirSync(join(node, 'run', 'flannel'), { recursive: true });
      writeFileSync(join(node, 'run', 'flannel', 'subnet.env'), SUBNET_ENV);
      const r = sb.run({}, '{"cniVersion":"1.0.0","name":"cbr0","type":"flannel","dataDir":null}', privateMounts(node));
      expect(r.status, r.stdout).to.equal(0);
      expect(existsSync(join(node, 'var', 'lib', 'cni', 'flannel', 'c0ffee'))).to.equal(true);
      expect(sb.delegated()['ipam']).to.deep.include({ ranges: [[{ subnet: '10.1.17.0/24' }]] });
    } finally {
      rmSync(node, { recursive: true, force: true });
    }
  });

  it('takes subnetFile, dataDir, delegate, ipam and runtimeConfig', () => {
    writeFileSync(join(sb.dir, 'other.env'), SUBNET_ENV.replace('10.1.17.1', '10.1.18.1'));
    const r = sb.run({}, sb.netconf({
      subnetFile: join(sb.dir, 'other.env'), dataDir: join(sb.dir, 'd'), delegate: { hairpinMode: true },
      ipam: { dataDir: '/h' }, runtimeConfig: { mac: 'x' },
    }));
    expect(r.status, r.stdout).to.equal(0);
    expect(existsSync(join(sb.dir, 'd', 'c0ffee'))).to.equal(true);
    const d = sb.delegated();
    expect(d).to.deep.include({ hairpinMode: true, runtimeConfig: { mac: 'x' } });
    expect(d['ipam']).to.deep.include({ dataDir: '/h', ranges: [[{ subnet: '10.1.18.0/24' }]] });
  });

  it('matches field names case-insensitively, the last one winning (Go decoding)', () => {
    const stdin = `{"name":"n","SubnetFile":"/a","subnetfile":"${join(sb.dir, 'subnet.env')}","DATADIR":"${join(sb.dir, 'd2')}","Delegate":{"mtu":1}}`;
    const r = sb.run({}, stdin);
    expect(r.status, r.stdout).to.equal(0);
    expect(existsSync(join(sb.dir, 'd2', 'c0ffee'))).to.equal(true);
    expect(sb.delegated()['mtu']).to.equal(1);
  });

  it('refuses stdin that is not a JSON object with code 6', () => {
    expect(fails('{')).to.include({ code: 6, msg: 'failed to load netconf: stdin is not JSON', details: "Expected property name or '}' in JSON at position 1" });
    expect(fails('{"name":')).to.include({ code: 6, details: 'Unexpected end of JSON input' });
    expect(fails('{"name":"n",}')).to.include({ code: 6, details: 'Expected double-quoted property name in JSON at position 12' });
    expect(fails('[1]')).to.include({ code: 6, msg: 'failed to load netconf: stdin is not a JSON object', details: '[1]' });
    expect(fails('')).to.include({ code: 6, details: 'Unexpected end of JSON input' });
  });

  it('requires a valid network name (code 7)', () => {
    expect(fails({ type: 'flannel' })).to.include({ code: 7, msg: 'missing network name' });
    expect(fails({ name: '../x' })).to.include({ code: 7, msg: 'invalid characters found in network name' });
  });

  it('names the field and the value of a field with the wrong type (code 7)', () => {
    expect(fails({ name: 'n', subnetFile: 42 })).to.include({ code: 7, msg: 'netconf field "subnetFile" must be a string, got 42' });
    expect(fails({ name: 'n', dataDir: '' })['msg']).to.equal('netconf field "dataDir" must be a non-empty string (default /var/lib/cni/flannel), got ""');
    expect(fails({ name: 'n', delegate: [1] })['msg']).to.equal('netconf field "delegate" must be an object, got [1]');
    expect(fails({ name: 'n', runtimeConfig: 'x' })['msg']).to.equal('netconf field "runtimeConfig" must be an object, got "x"');
    // cniVersion is read first, as libcni's skel does, and refused as undecodable (6)
    expect(fails({ name: 'n', cniVersion: 1 })).to.include({ code: 6, msg: 'netconf field "cniVersion" must be a string, got 1' });
  });

  it('refuses a delegate with name or ipam, or a non-string type, with the reference messages', () => {
    expect(fails({ name: 'n', delegate: { name: 'x' } })).to.include({
      code: 7,
      msg: "'delegate' dictionary must not have 'name' field, it'll be set by flannel",
      details: 'netconf field "delegate.name" is "x"',
    });
    expect(fails({ name: 'n', delegate: { ipam: {} } })['msg']).to.equal("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
    expect(fails({ name: 'n', delegate: { type: 5 } })['msg']).to.equal("'delegate' dictionary, if present, must have (string) 'type' field");
  });

  it('checks ipam.routes and names the bad route field', () => {
    const base = { name: 'n', subnetFile: join(sb.dir, 'subnet.env'), dataDir: join(sb.dir, 'data') };
    expect(fails({ ...base, ipam: { routes: {} } })['msg']).to.equal('netconf field "ipam.routes" must be a list of routes, got {}');
    expect(fails({ ...base, ipam: { routes: [{ dst: '10.0.0.0/8' }, { dst: '10.0.0.0' }] } })['msg']).to.equal(
      'netconf field "ipam.routes[1].dst" must be a CIDR such as "10.96.0.0/12", got "10.0.0.0"',
    );
    expect(fails({ ...base, ipam: { routes: [{ dst: '10.0.0.0/33' }] } })['code']).to.equal(7);
    expect(fails({ ...base, ipam: { routes: [{}] } })['msg']).to.equal('netconf field "ipam.routes[0].dst" must be a CIDR such as "10.96.0.0/12", got undefined');
    expect(fails({ ...base, ipam: { routes: [{ dst: '10.0.0.0/8', gw: 'x' }] } })['msg']).to.contain('"ipam.routes[0].gw" must be an IP address');
    expect(fails({ ...base, ipam: { routes: [{ dst: '10.0.0.0/8', mtu: 1.5 }] } })['msg']).to.contain('"ipam.routes[0].mtu" must be an integer');
    const r = sb.run({}, JSON.stringify({ ...base, ipam: { routes: null } }));
    expect(r.status, r.stdout).to.equal(0);
    expect((sb.delegated()['ipam'] as Record<string, unknown>)['routes']).to.deep.equal([{ dst: '10.1.0.0/16' }]);
  });
});
