// The built plugin (dist/cni/flannel) as the runtime runs it (env + stdin), delegating to a fake
// `bridge` that records what it was given. No root needed; the chain test runs the real bridge.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLUGIN, PluginSandbox, RESULT, SUBNET_ENV, type Run } from '../helpers/cni-plugin.js';

describe('cni plugin process (fake delegate)', function () {
  this.timeout(20_000);
  let sb: PluginSandbox;
  let dir: string;
  let fakeDir: string;
  let env: Record<string, string>;

  beforeEach(() => {
    sb = PluginSandbox.create();
    ({ dir, fakeDir, env } = sb);
  });
  afterEach(() => sb.destroy());

  const netconf = (extra: Record<string, unknown> = {}): string => sb.netconf(extra);
  const run = (overrides: Record<string, string | undefined>, stdin = netconf()): Run => sb.run(overrides, stdin);
  const saved = (): string => join(dir, 'data', 'c0ffee');
  const fake = (file: string): string => sb.fake(file);

  it('VERSION prints the supported versions without reading stdin', () => {
    const r = spawnSync(PLUGIN, [], { env: { CNI_COMMAND: 'VERSION' }, stdio: ['inherit', 'pipe', 'pipe'], encoding: 'utf8' });
    expect(r.status).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({ cniVersion: '1.1.0', supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  it('ADD saves the rendered config (0700/0600) and hands exactly it to the delegate with the CNI environment', () => {
    const r = run({});
    expect(r.status, r.stdout).to.equal(0);
    expect(r.stdout).to.equal(`${RESULT}\n`);
    expect(r.stderr).to.contain('fake bridge says hello');
    expect(fake('ADD.stdin')).to.equal(readFileSync(saved(), 'utf8'));
    expect(JSON.parse(fake('ADD.stdin'))).to.deep.equal({
      cniVersion: '1.0.0', name: 'cbr0', type: 'bridge', ipMasq: false, isGateway: true, mtu: 1472,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.17.0/24' }]], routes: [{ dst: '10.1.0.0/16' }] },
    });
    expect(statSync(saved()).mode & 0o777).to.equal(0o600);
    expect(statSync(join(dir, 'data')).mode & 0o777).to.equal(0o700);
    expect(fake('ADD.env')).to.equal(
      [`CNI_ARGS=K8S_POD_NAME=p`, 'CNI_COMMAND=ADD', 'CNI_CONTAINERID=c0ffee', 'CNI_IFNAME=eth0', 'CNI_NETNS=/run/netns/nowhere', `CNI_PATH=${env['CNI_PATH']}`, ''].join('\n'),
    );
  });

  it('DEL hands the saved config to the delegate even after subnet.env changed, then removes it; a second DEL succeeds', () => {
    expect(run({}).status).to.equal(0);
    const added = readFileSync(saved(), 'utf8');
    writeFileSync(join(dir, 'subnet.env'), SUBNET_ENV.replace('10.1.17.1/24', '10.1.99.1/24'));
    const r = run({ CNI_COMMAND: 'DEL', CNI_NETNS: undefined });
    expect(r.status, r.stdout).to.equal(0);
    expect(r.stdout).to.equal('');
    expect(fake('DEL.stdin')).to.equal(added);
    expect(fake('DEL.env')).to.contain('CNI_COMMAND=DEL\n');
    expect(existsSync(saved())).to.equal(false);
    rmSync(join(fakeDir, 'DEL.stdin'));
    expect(run({ CNI_COMMAND: 'DEL' }).status).to.equal(0);
    expect(existsSync(join(fakeDir, 'DEL.stdin')), 'delegate called for an unknown container').to.equal(false);
  });

  it('DEL of a container never added succeeds without calling the delegate', () => {
    const r = run({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'unknown' });
    expect([r.status, r.stdout]).to.deep.equal([0, '']);
    expect(existsSync(join(fakeDir, 'DEL.stdin'))).to.equal(false);
  });

  it('a delegate error is passed through as it is, exit 1, and the saved config stays for DEL', () => {
    const r = run({ FAKE_MODE: 'fail' });
    expect(r.status).to.equal(1);
    expect(r.json()).to.deep.equal({ cniVersion: '1.0.0', code: 11, msg: 'bridge busy', details: 'try later' });
    expect(existsSync(saved())).to.equal(true);
    const d = run({ CNI_COMMAND: 'DEL', FAKE_MODE: 'fail' });
    expect([d.status, d.json()['msg']]).to.deep.equal([1, 'bridge busy']);
    expect(existsSync(saved()), 'kept after a failed DEL').to.equal(true);
    expect(run({ CNI_COMMAND: 'DEL' }).status).to.equal(0);
    expect(existsSync(saved())).to.equal(false);
  });

  it('a delegate failing without error JSON gives code 999 with what it printed', () => {
    expect(run({ FAKE_MODE: 'garbage' }).json()).to.include({ code: 999 });
    expect(run({ FAKE_MODE: 'garbage' }).json()['msg']).to.contain('"not json\\n"');
    expect(run({ FAKE_MODE: 'silent' }).json()['msg']).to.equal('netplugin failed: "fake bridge says hello\\n"');
  });

  it('a delegate that is not in CNI_PATH is named in the error', () => {
    const r = run({}, netconf({ delegate: { type: 'ipvlan' } }));
    expect(r.status).to.equal(1);
    expect(r.json()['msg']).to.equal(`failed to find plugin "ipvlan" in path [${join(dir, 'empty')} ${join(dir, 'bin')}]`);
    expect(run({}, netconf({ delegate: { type: '../bin/bridge' } })).json()).to.include({ code: 7, msg: 'invalid plugin name: ../bin/bridge' });
  });

  it('ADD before subnet.env exists: code 11 saying the file is missing and to check flanneld; nothing saved or delegated', () => {
    rmSync(join(dir, 'subnet.env'));
    const r = run({});
    expect(r.status).to.equal(1);
    const e = r.json();
    expect(e).to.include({ cniVersion: '1.0.0', code: 11 });
    expect(e['msg']).to.contain(`${join(dir, 'subnet.env')} is missing`).and.to.contain('Check that flanneld is running on this node');
    expect(existsSync(saved())).to.equal(false);
    expect(existsSync(join(fakeDir, 'ADD.stdin'))).to.equal(false);
  });

  it('error JSON: exactly cniVersion (the config\'s), code, msg, details', () => {
    const e = run({}, netconf({ cniVersion: '0.3.1', delegate: { name: 'x' } })).json();
    expect(e).to.deep.equal({
      cniVersion: '0.3.1',
      code: 7,
      msg: "'delegate' dictionary must not have 'name' field, it'll be set by flannel",
      details: 'netconf field "delegate.name" is "x"',
    });
  });

  it('checks the CNI environment like libcni: missing variables (code 4), per command', () => {
    const r = run({ CNI_CONTAINERID: undefined, CNI_NETNS: undefined, CNI_PATH: undefined });
    expect([r.status, r.json()['code'], r.json()['msg']]).to.deep.equal([1, 4, 'required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_PATH] missing']);
    expect(run({ CNI_COMMAND: 'DEL', CNI_NETNS: undefined, CNI_IFNAME: undefined }).json()['msg']).to.equal('required env variables [CNI_IFNAME] missing');
    expect(run({ CNI_COMMAND: undefined }).json()).to.include({ code: 4, msg: 'required env variables [CNI_COMMAND] missing' });
    expect(run({ CNI_COMMAND: 'FOO' }).json()).to.include({ code: 4, msg: 'unknown CNI_COMMAND: FOO' });
    expect(run({ CNI_COMMAND: 'GC', CNI_PATH: undefined }, netconf({ cniVersion: '1.1.0' })).json()).to.include({ code: 4, msg: 'required env variables [CNI_PATH] missing' });
    expect(run({ CNI_IFNAME: 'a-very-long-ifname' }).json()).to.include({ code: 4, msg: 'interface name is too long' });
  });

  it('refuses a container ID that could leave dataDir', () => {
    const r = run({ CNI_CONTAINERID: '../escape' });
    expect(r.json()).to.include({ code: 4, msg: 'invalid characters in containerID' });
    expect(existsSync(join(dir, 'escape'))).to.equal(false);
  });

  it('refuses stdin that is not JSON (6) and an unsupported cniVersion (1)', () => {
    expect(run({}, '{').json()).to.include({ code: 6 });
    const e = run({}, netconf({ cniVersion: '1.2.0' })).json();
    expect(e).to.include({ code: 1, msg: 'incompatible CNI versions' });
    expect(e['details']).to.equal('config is "1.2.0", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]');
    const none = run({}, netconf({ cniVersion: undefined, cniVersions: ['2.0.0', '1.5.0'] })).json();
    expect(none).to.include({ code: 1, msg: 'incompatible CNI versions' });
    expect(none['details']).to.contain('cniVersions is ["2.0.0","1.5.0"]');
  });

  it('refuses JSON nested deeper than 1000 levels with code 6 instead of running out of stack', () => {
    const deep = (n: number): string => `{"name":"n","x":${'['.repeat(n)}${']'.repeat(n)}}`;
    expect(run({ CNI_COMMAND: 'DEL' }, deep(998)).status).to.equal(0);
    const r = run({ CNI_COMMAND: 'DEL' }, deep(1_000_000));
    expect([r.status, r.json()['code'], r.json()['details']]).to.deep.equal([1, 6, 'Nesting deeper than 1000 levels in JSON at position 1015']);
  });

  it('1.1.0: delegates as 1.0.0 (what Debian\'s bridge speaks) and answers 1.1.0; cniVersions picks the highest supported', () => {
    const r = run({}, netconf({ cniVersion: '1.1.0' }));
    expect([r.status, (r.json())['cniVersion']]).to.deep.equal([0, '1.1.0']);
    expect(JSON.parse(fake('ADD.stdin'))).to.include({ cniVersion: '1.0.0' });
    const list = run({}, netconf({ cniVersion: undefined, cniVersions: ['0.4.0', '1.1.0', '9.0.0', '1.0.0'] }));
    expect([list.status, (list.json())['cniVersion']]).to.deep.equal([0, '1.1.0']);
    const old = run({}, netconf({ cniVersion: undefined, cniVersions: ['0.3.1', '0.4.0'] }));
    expect(JSON.parse(fake('ADD.stdin'))).to.include({ cniVersion: '0.4.0' });
    expect(old.status).to.equal(0);
  });

  it('STATUS and GC need cniVersion 1.1.0 (code 1 below), STATUS fails with code 50 naming subnet.env', () => {
    expect(run({ CNI_COMMAND: 'STATUS' }).json()).to.include({ code: 1, msg: 'config version does not allow STATUS' });
    expect(run({ CNI_COMMAND: 'GC' }).json()).to.include({ code: 1, msg: 'config version does not allow GC' });
    const ok = run({ CNI_COMMAND: 'STATUS', CNI_CONTAINERID: undefined, CNI_NETNS: undefined, CNI_IFNAME: undefined }, netconf({ cniVersion: '1.1.0' }));
    expect([ok.status, ok.stdout]).to.deep.equal([0, '']);
    writeFileSync(join(dir, 'subnet.env'), 'FLANNEL_NETWORK=10.1.0.0/16\n');
    const bad = run({ CNI_COMMAND: 'STATUS' }, netconf({ cniVersion: '1.1.0' })).json();
    expect(bad).to.include({ code: 50, msg: `flannel is not ready: ${join(dir, 'subnet.env')} is missing or invalid` });
  });

  it('CHECK succeeds without calling the delegate (as the reference); refused below 0.4.0 and without its environment', () => {
    expect(run({}).status).to.equal(0);
    const r = run({ CNI_COMMAND: 'CHECK' }, netconf({ prevResult: JSON.parse(RESULT) as unknown }));
    expect([r.status, r.stdout]).to.deep.equal([0, '']);
    expect(existsSync(join(fakeDir, 'CHECK.stdin'))).to.equal(false);
    expect(run({ CNI_COMMAND: 'CHECK' }, netconf({ cniVersion: '0.3.1' })).json()).to.include({ code: 1, msg: 'config version does not allow CHECK' });
    expect(run({ CNI_COMMAND: 'CHECK', CNI_NETNS: undefined }).json()).to.include({ code: 4, msg: 'required env variables [CNI_NETNS] missing' });
  });

  it('DEL succeeds for a netconf that ADD refuses (delegate with name, bad routes): nothing was added', () => {
    expect(run({}, netconf({ delegate: { name: 'x' } })).json()).to.include({ code: 7 });
    const r = run({ CNI_COMMAND: 'DEL' }, netconf({ delegate: { name: 'x' }, ipam: { routes: 'bad' } }));
    expect([r.status, r.stdout]).to.deep.equal([0, '']);
  });

  it('DEL leaves an unparseable saved config alone and succeeds, as the reference', () => {
    mkdirSync(join(dir, 'data'));
    writeFileSync(saved(), 'garbage');
    const r = run({ CNI_COMMAND: 'DEL' });
    expect([r.status, r.stdout]).to.deep.equal([0, '']);
    expect(r.stderr).to.contain('failed to parse netconf');
    expect(existsSync(join(fakeDir, 'DEL.stdin'))).to.equal(false);
  });

  it('GC hands each stale saved config to the delegate as a DEL (eth0, no netns or args) and removes it; keeps the valid ones', () => {
    for (const id of ['keep', 'gone']) expect(run({ CNI_CONTAINERID: id }).status).to.equal(0);
    const gc = netconf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] });
    const r = run({ CNI_COMMAND: 'GC', CNI_CONTAINERID: undefined, CNI_NETNS: undefined, CNI_IFNAME: undefined }, gc);
    expect([r.status, r.stdout]).to.deep.equal([0, '']);
    expect(fake('DEL.env')).to.equal(['CNI_COMMAND=DEL', 'CNI_CONTAINERID=gone', 'CNI_IFNAME=eth0', `CNI_PATH=${env['CNI_PATH']}`, ''].join('\n'));
    expect(JSON.parse(fake('DEL.stdin'))).to.include({ type: 'bridge', name: 'cbr0' });
    expect(existsSync(join(dir, 'data', 'keep'))).to.equal(true);
    expect(existsSync(join(dir, 'data', 'gone'))).to.equal(false);
    const bad = run({ CNI_COMMAND: 'GC' }, netconf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ id: 'x' }] }));
    expect([bad.status, bad.json()['msg']]).to.deep.equal([1, 'invalid cni.dev/valid-attachments: an entry without a string "containerID"']);
  });

  it('a failing GC DEL keeps that saved config, goes on with the others and reports the first failure', () => {
    for (const id of ['a', 'b']) expect(run({ CNI_CONTAINERID: id }).status).to.equal(0);
    const r = run({ CNI_COMMAND: 'GC', FAKE_MODE: 'fail' }, netconf({ cniVersion: '1.1.0' }));
    expect(r.status).to.equal(1);
    expect(r.json()).to.deep.equal({ cniVersion: '1.1.0', code: 11, msg: 'bridge busy', details: 'try later' });
    expect(r.stderr).to.match(/GC of .*\/data\/[ab] failed: bridge busy: try later\n[^]*GC of .*\/data\/[ab] failed/);
    expect(existsSync(join(dir, 'data', 'a')) && existsSync(join(dir, 'data', 'b'))).to.equal(true);
  });

  it('relabels a 1.0.0 result of a 1.1.0 ADD as 1.1.0 and keeps the rest of it; other versions pass the result through byte for byte', () => {
    const r = run({}, netconf({ cniVersion: '1.1.0' }));
    expect(r.stdout).to.equal(`${RESULT.replace('"1.0.0"', '"1.1.0"')}\n`);
    expect(run({}, netconf({ cniVersion: '0.4.0' })).stdout).to.equal(`${RESULT}\n`);
  });

  it('is a native executable: runs with an empty environment, no node on the PATH', () => {
    expect(readFileSync(PLUGIN).subarray(0, 4).toString('latin1')).to.equal('\x7fELF');
    const r = spawnSync(PLUGIN, [], { env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
    expect([r.status, JSON.parse(r.stdout).cniVersion]).to.deep.equal([0, '1.1.0']);
  });
});
