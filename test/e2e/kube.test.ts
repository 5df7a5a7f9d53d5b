// Kubernetes mode end to end, as a DaemonSet runs it: the fake API server (inside the switch namespace,
// on 198.18.0.254:6443, granting exactly the RBAC rules of kube-flannel.yml) holds three Nodes with
// their podCIDRs; each host namespace runs the built `flanneld --kube-subnet-mgr` with the vxlan backend
// and the manifest's net-conf.json; pods are attached with the manifest's conflist through our CNI
// plugin and Debian's bridge + host-local + portmap. Host 3 finds its node through POD_NAME/POD_NAMESPACE.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { flannelCniPath, type CniRunOptions } from '../helpers/cni.js';
import type { RemoteFakeApi } from '../helpers/fake-apiserver-remote.js';
import { FlanneldProcess, SWITCH_ADDR, statusOf, until } from '../helpers/flanneld.js';
import { PREFIX, TOKEN, addPod, annotations, manifest, startFakeApi, type Manifest, type Obj } from '../helpers/kube-e2e.js';
import { TestBed, removeNamespaces } from '../helpers/netns.js';
import { kubeconfigText, nodeObject } from '../subnet-lease/kube/harness.js';

const run = promisify(execFile);
/** Each host's health server (/status), inside its own namespace. */
const HEALTHZ_PORT = 18496;
const HOSTS = [1, 2, 3] as const;

describe('kube mode end to end: flanneld --kube-subnet-mgr, fake API server, CNI chain @netns', function () {
  this.timeout(120_000);
  let bed: TestBed;
  let tmp: string;
  let api: RemoteFakeApi;
  let m: Manifest;
  let cniPath: string[];
  const daemons = new Map<number, FlanneldProcess>();
  const podIP = new Map<number, string>();
  const nodeRoot = (i: number) => join(tmp, `node${i}`);
  const pod = (i: number) => `${bed.prefix}-pod${i}`;
  const cniOpts = (i: number): CniRunOptions => ({ hostNetns: bed.host(i), netns: pod(i), containerId: `kube-pod${i}`, cniPath, nodeRoot: nodeRoot(i) });
  const vtepMac = async (i: number) => /link\/ether ([0-9a-f:]+)/.exec(await bed.ip(bed.host(i), 'link', 'show', 'flannel.1'))![1]!;
  const ping = (from: number, to: string) =>
    bed.exec(pod(from), ['ping', '-c', '1', '-W', '2', to]).then(
      () => true,
      () => false,
    );

  function startFlanneld(i: number): FlanneldProcess {
    const env = i === 3 ? { NODE_NAME: '', POD_NAME: 'kube-flannel-ds-h3', POD_NAMESPACE: 'kube-flannel' } : { NODE_NAME: `node${i}` };
    const args = ['--kube-subnet-mgr', `--kubeconfig-file=${join(tmp, 'kubeconfig')}`, `--net-config-path=${join(tmp, 'net-conf.json')}`, `--healthz-port=${HEALTHZ_PORT}`, '--peer-probe-interval=1'];
    const d = new FlanneldProcess(bed, i, join(nodeRoot(i), 'run/flannel/subnet.env'), args, env, { etcd: false });
    daemons.set(i, d);
    return d;
  }

  before(async function () {
    this.timeout(180_000);
    bed = await TestBed.create({ tag: 'kube', hosts: 3 });
    tmp = await mkdtemp(join(tmpdir(), 'fl-kube-e2e-'));
    m = await manifest();
    await writeFile(join(tmp, 'net-conf.json'), m.netConf);
    await writeFile(join(tmp, 'kubeconfig'), kubeconfigText(`http://${SWITCH_ADDR}:6443`, TOKEN));
    cniPath = await flannelCniPath(tmp);
    api = await startFakeApi(bed, tmp, m.rules);
    for (const i of HOSTS) await api.createNode(nodeObject(`node${i}`, [`10.244.${i}.0/24`]));
    await api.createPod('kube-flannel', 'kube-flannel-ds-h3', 'node3');
    for (const i of HOSTS) startFlanneld(i);
    for (const i of HOSTS) await daemons.get(i)!.waitForSubnetEnv();
    for (const i of HOSTS) podIP.set(i, await addPod(m.conflist, cniOpts(i)));
  });

  after(async function () {
    this.timeout(60_000);
    for (const d of daemons.values()) await d.kill();
    if (bed) await removeNamespaces(bed.prefix);
    await bed?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("takes each node's podCIDR as its subnet (subnet.env)", async () => {
    for (const i of HOSTS) {
      const env = await daemons.get(i)!.subnetEnv();
      expect(env, `host ${i}`).to.equal(`FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.${i}.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);
      expect(podIP.get(i)).to.match(new RegExp(`^10\\.244\\.${i}\\.\\d+$`));
    }
  });

  it('annotates every node as the reference does and clears NetworkUnavailable, within the manifest RBAC', async () => {
    for (const i of HOSTS) {
      const node = await api.getNode(`node${i}`);
      const ann = annotations(node);
      expect(ann[`${PREFIX}backend-type`]).to.equal('vxlan');
      expect(ann[`${PREFIX}backend-data`]).to.equal(`{"VNI":1,"VtepMAC":"${await vtepMac(i)}"}`);
      expect(ann[`${PREFIX}public-ip`]).to.equal(`198.18.0.${i}`);
      expect(ann[`${PREFIX}kube-subnet-manager`]).to.equal('true');
      const conditions = (node.status as { conditions: Array<Record<string, string>> }).conditions;
      expect(conditions.find((c) => c.type === 'NetworkUnavailable')).to.include({ status: 'False', reason: 'FlannelIsUp', message: 'Flannel is running on this node' });
    }
    // The test's own requests use the admin token; every refusal would be one of flanneld's.
    const requests = await api.requests();
    expect(requests.filter((r) => r.status === 401 || r.status === 403), 'no request outside the RBAC rules').to.deep.equal([]);
    expect(requests.some((r) => r.path === '/api/v1/namespaces/kube-flannel/pods/kube-flannel-ds-h3'), 'host 3 looked up its pod').to.equal(true);
    const patches = requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((p) => p.path).sort()).to.deep.equal(HOSTS.flatMap((i) => [`/api/v1/nodes/node${i}/status`, `/api/v1/nodes/node${i}/status`]).sort());
    expect(patches.every((p) => p.contentType === 'application/strategic-merge-patch+json')).to.equal(true);
  });

  it('every pod pings every other pod across hosts', async () => {
    for (const i of HOSTS) {
      for (const j of HOSTS) if (i !== j) expect(await ping(i, podIP.get(j)!), `pod ${i} -> pod ${j}`).to.equal(true);
    }
  });

  it('probes the other nodes through flannel.1: flanneld status shows them reachable, the store kube, the path MTU ok', async () => {
    await until('host 1 sees both peers reachable with their MTU checked', async () => {
      const doc = await statusOf(bed, 1, HEALTHZ_PORT);
      return doc?.summary.reachable === 2 && doc.peers.every((p) => p.mtu.state === 'ok');
    });
    const doc = (await statusOf(bed, 1, HEALTHZ_PORT))!;
    expect(doc.store.name).to.match(/kube/i);
    expect(doc.store.connected).to.equal(true);
    expect(doc.peers.map((p) => p.path)).to.deep.equal(['through flannel.1', 'through flannel.1']);
  });

  it('programs the reference entries from the annotations of the other nodes', async () => {
    const neigh = await bed.ip(bed.host(1), 'neigh', 'show', 'dev', 'flannel.1');
    const fdb = await bed.exec(bed.host(1), ['bridge', 'fdb', 'show', 'dev', 'flannel.1']);
    const routes = await bed.ip(bed.host(1), 'route');
    for (const j of [2, 3]) {
      const mac = await vtepMac(j);
      expect(neigh).to.include(`10.244.${j}.0 lladdr ${mac} PERMANENT`);
      expect(fdb).to.include(`${mac} dst 198.18.0.${j} self permanent`);
      expect(routes).to.include(`10.244.${j}.0/24 via 10.244.${j}.0 dev flannel.1 onlink`);
    }
  });

  it('follows nodes joining and leaving the API (another flanneld annotating its node, then the node deleted)', async () => {
    const mac = '0a:58:c6:12:00:44';
    await api.createNode(nodeObject('node4', ['10.244.4.0/24'], {
      [`${PREFIX}backend-data`]: `{"VNI":1,"VtepMAC":"${mac}"}`,
      [`${PREFIX}backend-type`]: 'vxlan',
      [`${PREFIX}kube-subnet-manager`]: 'true',
      [`${PREFIX}public-ip`]: '198.18.0.4',
    }));
    for (const i of HOSTS) {
      await until(`host ${i} routes 10.244.4.0/24`, async () => (await bed.ip(bed.host(i), 'route')).includes('10.244.4.0/24 via 10.244.4.0 dev flannel.1 onlink'));
    }
    await api.deleteNode('node4');
    for (const i of HOSTS) {
      await until(`host ${i} forgets 10.244.4.0/24`, async () => {
        const fdb = await bed.exec(bed.host(i), ['bridge', 'fdb', 'show', 'dev', 'flannel.1']);
        return !(await bed.ip(bed.host(i), 'route')).includes('10.244.4.0/24') && !fdb.includes(mac);
      });
    }
  });

  it('programs exactly the good nodes when bad ones (overlap, outside Network, bad PublicIP or VtepMAC) come and go (issue 12)', async () => {
    const node = (name: string, cidr: string, publicIP: string, data: string): Obj =>
      nodeObject(name, [cidr], {
        [`${PREFIX}backend-data`]: data,
        [`${PREFIX}backend-type`]: 'vxlan',
        [`${PREFIX}kube-subnet-manager`]: 'true',
        [`${PREFIX}public-ip`]: publicIP,
      });
    const good = '{"VNI":1,"VtepMAC":"0a:58:c6:12:00:55"}';
    const bad: Array<[string, string, string, string]> = [
      ['bad-overlap', '10.244.2.0/25', '198.18.0.61', '{"VNI":1,"VtepMAC":"0a:58:c6:12:00:61"}'],
      ['bad-outside', '192.168.77.0/24', '198.18.0.62', '{"VNI":1,"VtepMAC":"0a:58:c6:12:00:62"}'],
      ['bad-loopback', '10.244.62.0/24', '127.0.0.1', '{"VNI":1,"VtepMAC":"0a:58:c6:12:00:63"}'],
      ['bad-mac', '10.244.63.0/24', '198.18.0.64', '{"VNI":1,"VtepMAC":"ff:ff:ff:ff:ff:ff"}'],
      ['bad-vni', '10.244.64.0/24', '198.18.0.65', '{"VNI":9,"VtepMAC":"0a:58:c6:12:00:65"}'],
    ];
    const flannelRoutes = async (): Promise<string[]> =>
      (await bed.ip(bed.host(1), 'route', 'show', 'dev', 'flannel.1')).split('\n').map((l) => l.split(' ')[0]!).filter((l) => l !== '').sort();
    for (const [name, cidr, ip, data] of bad) await api.createNode(node(name, cidr, ip, data));
    await api.createNode(node('node5', '10.244.5.0/24', '198.18.0.5', good));
    await until('host 1 routes the good node 5', async () => (await flannelRoutes()).includes('10.244.5.0/24'));
    await until('host 1 warns about every bad node', () => bad.every(([, cidr]) => daemons.get(1)!.output().includes(`ignoring the lease ${cidr.replace('/', '-')}`)));
    expect(await flannelRoutes()).to.deep.equal(['10.244.2.0/24', '10.244.3.0/24', '10.244.5.0/24']);
    const fdb = await bed.exec(bed.host(1), ['bridge', 'fdb', 'show', 'dev', 'flannel.1']);
    expect(fdb).to.not.match(/ff:ff:ff:ff:ff:ff dst|0a:58:c6:12:00:6[1-5]/);
    expect(await ping(1, podIP.get(2)!), 'pod 1 -> pod 2').to.equal(true);
    for (const [name] of bad) await api.deleteNode(name);
    await api.deleteNode('node5');
    await until('host 1 forgets node 5', async () => !(await flannelRoutes()).includes('10.244.5.0/24'));
    expect(await flannelRoutes()).to.deep.equal(['10.244.2.0/24', '10.244.3.0/24']);
    expect(await ping(1, podIP.get(2)!), 'pod 1 -> pod 2 after').to.equal(true);
  });

  it('our node deleted: flanneld says so and exits 0; the other hosts drop its subnet', async () => {
    const d = daemons.get(3)!;
    await api.deleteNode('node3');
    const code = await Promise.race([d.exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
    expect(code, d.output()).to.equal(0);
    expect(d.output()).to.include('node "node3" was deleted from the Kubernetes API; stopping');
    for (const i of [1, 2]) {
      await until(`host ${i} forgets 10.244.3.0/24`, async () => !(await bed.ip(bed.host(i), 'route')).includes('10.244.3.0/24'));
    }
  });
});

// The image that `npm run image` builds, run as the DaemonSet runs it (the host's network namespace,
// NET_ADMIN + NET_RAW, /run/flannel and the ConfigMap mounted, the manifest's args) on host 1 of a
// two-host bed; host 2 runs the built flanneld. Skipped when the image has not been built here.
const PODMAN = ['--cgroup-manager=cgroupfs', '--runtime=runc'];
const LIMITS = ['--ulimit=nofile=1024:1024', '--ulimit=nproc=4096:4096'];

describe('kube mode end to end: the flannel-ts image as a node @netns @image', function () {
  this.timeout(120_000);
  let bed: TestBed;
  let tmp: string;
  let api: RemoteFakeApi;
  let m: Manifest;
  let cniPath: string[];
  let image: string;
  let container = '';
  let peer: FlanneldProcess | undefined;
  const podIP = new Map<number, string>();
  const nodeRoot = (i: number) => join(tmp, `node${i}`);
  const cniOpts = (i: number): CniRunOptions => ({ hostNetns: bed.host(i), netns: `${bed.prefix}-pod${i}`, containerId: `img-pod${i}`, cniPath, nodeRoot: nodeRoot(i) });
  const podman = (...args: string[]) => run('podman', [...PODMAN, ...args]).then((r) => r.stdout.trim());

  before(async function () {
    this.timeout(180_000);
    const version = (JSON.parse(await readFile('package.json', 'utf8')) as { version: string }).version;
    image = `flannel-ts:${version}`;
    const present = await podman('image', 'exists', image).then(
      () => true,
      () => false,
    );
    if (!present) this.skip(); // build it with `npm run image`
    bed = await TestBed.create({ tag: 'kimg', hosts: 2 });
    tmp = await mkdtemp(join(tmpdir(), 'fl-kube-img-'));
    m = await manifest();
    const ds = await daemonSetContainer();
    await mkdir(join(tmp, 'kube'));
    await mkdir(join(nodeRoot(1), 'run/flannel'), { recursive: true });
    await writeFile(join(tmp, 'kube/net-conf.json'), m.netConf);
    await writeFile(join(tmp, 'kube/kubeconfig'), kubeconfigText(`http://${SWITCH_ADDR}:6443`, TOKEN));
    cniPath = await flannelCniPath(tmp);
    api = await startFakeApi(bed, tmp, m.rules);
    for (const i of [1, 2]) await api.createNode(nodeObject(`node${i}`, [`10.244.${i}.0/24`]));
    container = `${bed.prefix}-flanneld`;
    await podman('rm', '-f', container).catch(() => undefined);
    await podman(
      'run', '-d', '--name', container, `--network=ns:/run/netns/${bed.host(1)}`, ...LIMITS,
      ...ds.capabilities.map((c) => `--cap-add=${c}`),
      '-v', `${join(nodeRoot(1), 'run/flannel')}:/run/flannel`, '-v', `${join(tmp, 'kube')}:/etc/kube-flannel:ro`,
      '-e', 'NODE_NAME=node1', '--entrypoint', ds.command[0]!, image,
      ...ds.args, '--kubeconfig-file=/etc/kube-flannel/kubeconfig', '--iface=eth0',
    );
    peer = new FlanneldProcess(bed, 2, join(nodeRoot(2), 'run/flannel/subnet.env'), ['--kube-subnet-mgr', `--kubeconfig-file=${join(tmp, 'kube/kubeconfig')}`, `--net-config-path=${join(tmp, 'kube/net-conf.json')}`], { NODE_NAME: 'node2' }, { etcd: false });
    const env1 = join(nodeRoot(1), 'run/flannel/subnet.env');
    await until('subnet.env from the container', () => readFile(env1, 'utf8').then(() => true, () => false), 60_000).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await podman('logs', container).catch(() => '')}`);
    });
    await peer.waitForSubnetEnv();
    for (const i of [1, 2]) podIP.set(i, await addPod(m.conflist, cniOpts(i)));
  });

  after(async function () {
    this.timeout(60_000);
    if (container) await podman('rm', '-f', '-t', '2', container).catch(() => undefined);
    await peer?.kill();
    if (bed) await removeNamespaces(bed.prefix);
    await bed?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function daemonSetContainer(): Promise<{ command: string[]; args: string[]; capabilities: string[] }> {
    const docs = parseAllDocuments(await readFile(resolve('kube-flannel.yml'), 'utf8')).map((d) => d.toJSON() as Obj);
    const c = ((docs.find((d) => d.kind === 'DaemonSet')!.spec as Obj).template as { spec: { containers: Obj[] } }).spec.containers[0]!;
    return { command: c.command as string[], args: c.args as string[], capabilities: (c.securityContext as { capabilities: { add: string[] } }).capabilities.add };
  }

  it('writes subnet.env from the podCIDR and annotates its node', async () => {
    expect(await readFile(join(nodeRoot(1), 'run/flannel/subnet.env'), 'utf8')).to.equal('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    const ann = annotations(await api.getNode('node1'));
    expect(ann[`${PREFIX}public-ip`]).to.equal('198.18.0.1');
    expect(ann[`${PREFIX}kube-subnet-manager`]).to.equal('true');
  });

  it('answers the probes of the manifest on :8081 (/healthz, /readyz)', async () => {
    const get = (path: string) =>
      bed.exec(bed.host(1), [process.execPath, '-e', `fetch('http://127.0.0.1:8081${path}').then(async (r) => console.log(r.status, await r.text()))`]);
    expect((await get('/healthz')).trim()).to.equal('200 flanneld is running');
    await until('/readyz 200', async () => (await get('/readyz')).startsWith('200'), 30_000);
  });

  it('pods on the image host and on the other host ping each other', async () => {
    for (const [a, b] of [[1, 2], [2, 1]] as const) {
      const ok = await bed.exec(`${bed.prefix}-pod${a}`, ['ping', '-c', '1', '-W', '2', podIP.get(b)!]).then(() => true, () => false);
      expect(ok, `pod ${a} -> pod ${b}`).to.equal(true);
    }
  });

  it('stops with exit code 0 on SIGTERM (podman stop)', async () => {
    await podman('stop', '-t', '10', container);
    expect(await podman('inspect', '--format', '{{.State.ExitCode}}', container)).to.equal('0');
  });
});
