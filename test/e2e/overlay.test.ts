// End to end, as a user runs it: a real etcd, hosts made of network namespaces each running the built
// flanneld with the vxlan backend, and a pod per host attached through the unchanged kube-flannel
// conflist (our flannel plugin -> Debian's bridge + host-local, then portmap).
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KUBE_FLANNEL_CONFLIST, attachPod, cniAdd, cniDel, flannelCniPath, CniPluginError, type CniRunOptions } from '../helpers/cni.js';
import { startEtcd, type EtcdInstance } from '../helpers/etcd.js';
import { TestBed, removeNamespaces } from '../helpers/netns.js';
import { FlanneldProcess, until } from '../helpers/flanneld.js';

interface RemoteLease {
  subnet: string;
  publicIP: string;
  mac: string;
}

describe('vxlan overlay end to end: flanneld + CNI chain in namespaces @netns @etcd', function () {
  this.timeout(120_000);
  let bed: TestBed;
  let etcd: EtcdInstance;
  let tmp: string;
  let cniPath: string[];
  const daemons = new Map<number, FlanneldProcess>();
  const podIP = new Map<number, string>();

  const nodeRoot = (i: number) => join(tmp, `node${i}`);
  const pod = (i: number) => `${bed.prefix}-pod${i}`;
  const cniOpts = (i: number): CniRunOptions => ({
    hostNetns: bed.host(i),
    netns: pod(i),
    containerId: `e2e-pod${i}`,
    cniPath,
    nodeRoot: nodeRoot(i),
  });

  async function startHost(i: number): Promise<void> {
    const d = new FlanneldProcess(bed, i, join(nodeRoot(i), 'run/flannel/subnet.env'));
    daemons.set(i, d);
    await d.waitForSubnetEnv();
  }

  async function addPod(i: number): Promise<void> {
    podIP.set(i, (await attachPod(KUBE_FLANNEL_CONFLIST, cniOpts(i)))[0]!.split('/')[0]!);
  }

  const ping = (from: number, to: string, ...extra: string[]) =>
    bed.exec(pod(from), ['ping', '-c', '1', '-W', '2', ...extra, to]).then(
      () => true,
      () => false,
    );

  async function leases(): Promise<RemoteLease[]> {
    const out = await etcd.etcdctl(['get', '/coreos.com/network/subnets/', '--prefix']);
    const lines = out.trim().split('\n');
    const result: RemoteLease[] = [];
    for (let k = 0; k < lines.length; k += 2) {
      const v = JSON.parse(lines[k + 1]!) as { PublicIP: string; BackendData: { VtepMAC: string } };
      result.push({ subnet: lines[k]!.split('/').pop()!.replace('-', '/'), publicIP: v.PublicIP, mac: v.BackendData.VtepMAC });
    }
    return result;
  }

  before(async function () {
    this.timeout(180_000);
    bed = await TestBed.create({ tag: 'e2e', hosts: 4 }); // also removes leftovers of this prefix, pods included
    etcd = await startEtcd({ netns: bed.sw, listenHost: '198.18.0.254' });
    tmp = await mkdtemp(join(tmpdir(), 'fl-e2e-'));
    cniPath = await flannelCniPath(tmp);
    await etcd.etcdctl(['put', '/coreos.com/network/config', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}']);
    for (const i of [1, 2, 3]) await startHost(i);
    for (const i of [1, 2, 3]) await addPod(i);
  });

  after(async function () {
    this.timeout(60_000);
    for (const d of daemons.values()) await d.kill();
    await etcd?.stop();
    if (bed) await removeNamespaces(bed.prefix); // the pods, which the bed did not make
    await bed?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('every pod pings every other pod across hosts', async () => {
    for (const i of [1, 2, 3]) {
      for (const j of [1, 2, 3]) {
        if (i !== j) expect(await ping(i, podIP.get(j)!), `pod ${i} -> pod ${j}`).to.equal(true);
      }
    }
  });

  it('gives pods the vxlan MTU: 1450 bytes pass with DF set, 1451 do not', async () => {
    expect(await ping(1, podIP.get(2)!, '-M', 'do', '-s', String(1450 - 28))).to.equal(true);
    expect(await ping(1, podIP.get(2)!, '-M', 'do', '-s', String(1451 - 28))).to.equal(false);
  });

  it('carries pod traffic as VXLAN (VNI 1) on UDP 8472 on the underlay', async () => {
    const dump = spawn('ip', ['netns', 'exec', bed.host(1), 'timeout', '10', 'tcpdump', '-lni', 'eth0', '-T', 'vxlan', '-c', '2', 'udp port 8472'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    dump.stdout.on('data', (b: Buffer) => (out += b.toString()));
    dump.stderr.on('data', (b: Buffer) => (out += b.toString()));
    await until('tcpdump to listen', () => out.includes('listening on'));
    await ping(1, podIP.get(2)!);
    await new Promise((r) => dump.once('exit', r));
    expect(out, out).to.match(/198\.18\.0\.1\.\d+ > 198\.18\.0\.2\.8472: VXLAN, flags \[I\] \(0x08\), vni 1/);
  });

  it('programs the reference entries for every remote host', async () => {
    const link = await bed.ip(bed.host(1), '-d', 'link', 'show', 'flannel.1');
    expect(link).to.match(/mtu 1450/);
    expect(link).to.match(/vxlan id 1 local 198\.18\.0\.1 dev eth0 .*dstport 8472 nolearning/);
    const neigh = await bed.ip(bed.host(1), 'neigh', 'show', 'dev', 'flannel.1');
    const fdb = await bed.exec(bed.host(1), ['bridge', 'fdb', 'show', 'dev', 'flannel.1']);
    const routes = await bed.ip(bed.host(1), 'route');
    const remote = (await leases()).filter((l) => l.publicIP !== '198.18.0.1');
    expect(remote).to.have.length(2);
    for (const l of remote) {
      const gw = l.subnet.replace(/\/\d+$/, '');
      expect(neigh).to.include(`${gw} lladdr ${l.mac} PERMANENT`);
      expect(fdb).to.include(`${l.mac} dst ${l.publicIP} self permanent`);
      expect(routes).to.include(`${l.subnet} via ${gw} dev flannel.1 onlink`);
    }
  });

  it('puts back a hand-deleted FDB entry and a hand-deleted flannel.1 with all peers', async () => {
    const remote = (await leases()).find((l) => l.publicIP === '198.18.0.3')!;
    await bed.exec(bed.host(1), ['bridge', 'fdb', 'del', remote.mac, 'dev', 'flannel.1', 'dst', '198.18.0.3', 'self']);
    await until('FDB entry restored', async () =>
      (await bed.exec(bed.host(1), ['bridge', 'fdb', 'show', 'dev', 'flannel.1'])).includes(`${remote.mac} dst 198.18.0.3`),
      30_000,
    );
    await bed.ip(bed.host(2), 'link', 'del', 'flannel.1');
    await until('flannel.1 recreated with its routes', async () => (await bed.ip(bed.host(2), 'route').catch(() => '')).includes(`${remote.subnet} via`), 30_000);
    await until('pod 2 reaches pod 3 again', () => ping(2, podIP.get(3)!), 30_000);
    expect(await ping(3, podIP.get(2)!)).to.equal(true);
  });

  it('makes a fourth host that joins reachable from the others, both ways', async () => {
    await startHost(4);
    await addPod(4);
    for (const i of [1, 2, 3]) {
      await until(`pod ${i} -> pod 4`, () => ping(i, podIP.get(4)!), 20_000);
      expect(await ping(4, podIP.get(i)!), `pod 4 -> pod ${i}`).to.equal(true);
    }
  });

  it('removes a leaving host (flanneld stopped, lease deleted) from every other host', async () => {
    const gone = (await leases()).find((l) => l.publicIP === '198.18.0.3')!;
    expect(await daemons.get(3)!.stop()).to.equal(0);
    await etcd.etcdctl(['del', `/coreos.com/network/subnets/${gone.subnet.replace('/', '-')}`]);
    for (const i of [1, 2, 4]) {
      await until(`host ${i} forgets ${gone.subnet}`, async () => {
        const routes = await bed.ip(bed.host(i), 'route');
        const neigh = await bed.ip(bed.host(i), 'neigh', 'show', 'dev', 'flannel.1');
        const fdb = await bed.exec(bed.host(i), ['bridge', 'fdb', 'show', 'dev', 'flannel.1']);
        return !routes.includes(gone.subnet) && !neigh.includes(gone.mac) && !fdb.includes(gone.mac);
      });
    }
  });

  it('frees the pod address and the saved config on DEL', async () => {
    const ip = podIP.get(4)!;
    const store = join(nodeRoot(4), 'var/lib/cni/networks/cbr0');
    const saved = join(nodeRoot(4), 'var/lib/cni/flannel/e2e-pod4');
    expect(await readdir(store)).to.include(ip);
    await access(saved);
    await cniDel(KUBE_FLANNEL_CONFLIST, cniOpts(4));
    expect(await readdir(store)).to.not.include(ip);
    await access(saved).then(
      () => expect.fail(`${saved} still exists`),
      () => undefined,
    );
  });

  it('fails ADD with a clear CNI error when flanneld has not written subnet.env', async () => {
    const err = await cniAdd(KUBE_FLANNEL_CONFLIST, { ...cniOpts(4), containerId: 'e2e-early', nodeRoot: join(tmp, 'fresh-node') }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(CniPluginError);
    expect((err as CniPluginError).code).to.equal(11);
    expect((err as CniPluginError).msg).to.match(/subnet\.env.*flannel/is);
  });
});
