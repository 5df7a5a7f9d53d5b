// The built plugin (dist/cni/flannel) in a real CNI chain: flannel → Debian's bridge + host-local
// (+ portmap), run in a host namespace against pod namespaces, with a hand-written subnet.env. What a
// user sees: the pod's address, routes and MTU, cni0's gateway address, host-local's store, the saved
// config.
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cniAdd, cniDel, CniPluginError, execPlugin, flannelCniPath, type CniRunOptions } from '../helpers/cni.js';
import { TestBed } from '../helpers/netns.js';

const SUBNET_ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n';
const KUBE_FLANNEL_CONFLIST =
  '{"name":"cbr0","cniVersion":"0.3.1","plugins":[{"type":"flannel","delegate":{"hairpinMode":true,"isDefaultGateway":true}},' +
  '{"type":"portmap","capabilities":{"portMappings":true}}]}';

interface IpAddr {
  ifname: string;
  mtu: number;
  addr_info: Array<{ family: string; local: string; prefixlen: number }>;
}

async function rejection(p: Promise<unknown>): Promise<CniPluginError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(CniPluginError);
    return e as CniPluginError;
  }
  throw new Error('the plugin succeeded');
}

describe('cni chain: flannel plugin → bridge + host-local in namespaces @netns', function () {
  this.timeout(60_000);
  let host: TestBed;
  const pods: TestBed[] = [];
  let tmp: string;
  let cniPath: string[];

  before(async () => {
    host = await TestBed.single('cnihost');
    tmp = mkdtempSync(join(tmpdir(), 'fl-cni-chain-'));
    cniPath = await flannelCniPath(tmp);
    writeFileSync(join(tmp, 'subnet.env'), SUBNET_ENV);
  });
  after(async () => {
    for (const p of pods) await p.destroy();
    await host?.destroy();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function newPod(tag: string): Promise<string> {
    const pod = await TestBed.single(tag);
    pods.push(pod);
    return pod.prefix;
  }

  function netconf(cniVersion: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      cniVersion, name: 'fltest', type: 'flannel', subnetFile: join(tmp, 'subnet.env'), dataDir: join(tmp, 'flannel'),
      ipam: { dataDir: join(tmp, 'host-local') }, ...extra,
    };
  }

  async function addrs(ns: string, dev: string): Promise<IpAddr> {
    return (JSON.parse(await host.ip(ns, '-j', 'addr', 'show', 'dev', dev)) as IpAddr[])[0]!;
  }

  async function routes(ns: string): Promise<Array<{ dst: string; gateway?: string }>> {
    return JSON.parse(await host.ip(ns, '-j', 'route', 'show')) as Array<{ dst: string; gateway?: string }>;
  }

  const hostLocalStore = (ip: string): string => join(tmp, 'host-local', 'fltest', ip);

  for (const [i, version] of ['0.3.1', '0.4.0', '1.0.0'].entries()) {
    it(`ADD attaches a pod, CHECK passes, DEL frees it (cniVersion ${version})`, async () => {
      const pod = await newPod(`cnipod${i}`);
      const opts: CniRunOptions = { hostNetns: host.prefix, netns: pod, containerId: `ctr-${i}`, cniPath };
      const result = JSON.parse(await execPlugin('flannel', 'ADD', netconf(version), opts)) as {
        cniVersion: string;
        ips: Array<{ address: string; gateway: string }>;
      };
      expect(result.cniVersion).to.equal(version);
      expect(result.ips).to.have.length(1);
      const [ip, len] = result.ips[0]!.address.split('/');
      expect(ip).to.match(/^10\.244\.7\.\d+$/).and.not.equal('10.244.7.1');
      expect([len, result.ips[0]!.gateway]).to.deep.equal(['24', '10.244.7.1']);

      const cni0 = await addrs(host.prefix, 'cni0');
      expect(cni0.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)).to.deep.equal(['10.244.7.1/24']);
      const eth0 = await addrs(pod, 'eth0');
      expect(eth0.mtu).to.equal(1400);
      expect(eth0.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)).to.deep.equal([`${ip}/24`]);
      expect(await routes(pod)).to.deep.include({ dst: '10.244.0.0/16', gateway: '10.244.7.1', dev: 'eth0', flags: [] });
      await host.exec(pod, ['ping', '-c', '1', '-W', '2', '10.244.7.1']);

      const saved = JSON.parse(readFileSync(join(tmp, 'flannel', `ctr-${i}`), 'utf8')) as { ipam: Record<string, unknown> };
      expect(saved.ipam['ranges']).to.deep.equal([[{ subnet: '10.244.7.0/24' }]]);
      expect(readFileSync(hostLocalStore(ip!), 'utf8')).to.contain(`ctr-${i}`);

      if (version === '0.3.1') {
        expect((await rejection(execPlugin('flannel', 'CHECK', netconf(version), opts))).code).to.equal(1);
      } else {
        await execPlugin('flannel', 'CHECK', netconf(version, { prevResult: result }), opts);
      }
      const delConf = version === '0.3.1' ? netconf(version) : netconf(version, { prevResult: result });
      await execPlugin('flannel', 'DEL', delConf, opts);
      expect(existsSync(hostLocalStore(ip!)), 'host-local still holds the address').to.equal(false);
      expect(existsSync(join(tmp, 'flannel', `ctr-${i}`)), 'saved config left behind').to.equal(false);
      expect(await host.ip(pod, 'link', 'show').then((s) => s.includes('eth0'))).to.equal(false);
      await execPlugin('flannel', 'DEL', delConf, opts); // a second DEL succeeds
    });
  }

  it('ADD before subnet.env exists gives the clear error and attaches nothing', async () => {
    const pod = await newPod('cnipodnoenv');
    const opts: CniRunOptions = { hostNetns: host.prefix, netns: pod, containerId: 'ctr-noenv', cniPath };
    const missing = join(tmp, 'not-yet', 'subnet.env');
    const e = await rejection(execPlugin('flannel', 'ADD', netconf('1.0.0', { subnetFile: missing }), opts));
    expect([e.exitCode, e.code]).to.deep.equal([1, 11]);
    expect(e.msg).to.contain(`${missing} is missing`).and.to.contain('Check that flanneld is running on this node');
    expect(await host.ip(pod, 'link', 'show').then((s) => s.includes('eth0'))).to.equal(false);
    expect(existsSync(join(tmp, 'flannel', 'ctr-noenv'))).to.equal(false);
  });

  it('the kube-flannel.yml conflist works as given (flannel with hairpin + default gateway, then portmap)', async () => {
    const node2 = await TestBed.single('cnihost2'); // a fresh node: its own cni0 and node state
    pods.push(node2);
    const pod = await newPod('cnipodkube');
    const node = join(tmp, 'node');
    mkdirSync(join(node, 'run', 'flannel'), { recursive: true });
    writeFileSync(join(node, 'run', 'flannel', 'subnet.env'), SUBNET_ENV.replace('10.244.7.1/24', '10.244.9.1/24'));
    const opts: CniRunOptions = {
      hostNetns: node2.prefix, netns: pod, containerId: 'ctr-kube', cniPath, nodeRoot: node,
      capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    };
    const result = (await cniAdd(KUBE_FLANNEL_CONFLIST, opts)) as { ips: Array<{ address: string }> };
    const ip = result.ips[0]!.address.split('/')[0]!;
    expect(ip).to.match(/^10\.244\.9\.\d+$/);
    expect(await routes(pod)).to.deep.include({ dst: 'default', gateway: '10.244.9.1', dev: 'eth0', flags: [] });
    expect(await host.exec(node2.prefix, ['bridge', '-d', 'link', 'show'])).to.contain('hairpin on');
    expect(await host.exec(node2.prefix, ['iptables', '-t', 'nat', '-S'])).to.contain(`--to-destination ${ip}:80`);
    const store = join(node, 'var', 'lib', 'cni');
    expect(existsSync(join(store, 'networks', 'cbr0', ip))).to.equal(true);
    expect(existsSync(join(store, 'flannel', 'ctr-kube'))).to.equal(true);
    expect(existsSync('/var/lib/cni/flannel/ctr-kube'), 'wrote to the real /var/lib/cni').to.equal(false);

    await cniDel(KUBE_FLANNEL_CONFLIST, opts);
    expect(existsSync(join(store, 'networks', 'cbr0', ip))).to.equal(false);
    expect(existsSync(join(store, 'flannel', 'ctr-kube'))).to.equal(false);
    expect(await host.exec(node2.prefix, ['iptables', '-t', 'nat', '-S'])).to.not.contain(`--to-destination ${ip}:80`);
  });

  it('CNI 1.1.0: STATUS ok, GC keeps the valid pod and frees the other (address, saved config); STATUS 50 without subnet.env', async () => {
    const conf = netconf('1.1.0');
    const base = { hostNetns: host.prefix, cniPath };
    await execPlugin('flannel', 'STATUS', conf, { ...base, netns: '', containerId: '' });
    const ips: string[] = [];
    for (const tag of ['keep', 'gone']) {
      const opts: CniRunOptions = { ...base, netns: await newPod(`cnigc${tag}`), containerId: `ctr-${tag}` };
      const r = JSON.parse(await execPlugin('flannel', 'ADD', conf, opts)) as { cniVersion: string; ips: Array<{ address: string }> };
      expect(r.cniVersion).to.equal('1.1.0');
      ips.push(r.ips[0]!.address.split('/')[0]!);
    }
    const gc = { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'ctr-keep', ifname: 'eth0' }] };
    await execPlugin('flannel', 'GC', gc, { ...base, netns: '', containerId: '' });
    expect(existsSync(hostLocalStore(ips[0]!)), 'the kept pod lost its address').to.equal(true);
    expect(existsSync(join(tmp, 'flannel', 'ctr-keep'))).to.equal(true);
    expect(existsSync(hostLocalStore(ips[1]!)), 'the stale pod still holds its address').to.equal(false);
    expect(existsSync(join(tmp, 'flannel', 'ctr-gone')), 'the stale saved config is left').to.equal(false);

    const missing = join(tmp, 'none', 'subnet.env');
    const e = await rejection(execPlugin('flannel', 'STATUS', netconf('1.1.0', { subnetFile: missing }), { ...base, netns: '', containerId: '' }));
    expect([e.exitCode, e.code]).to.deep.equal([1, 50]);
    expect(e.msg).to.contain(missing);
  });
});
