// `npm run binary`'s output on its own: release/flanneld copied alone into an empty folder runs a host
// (lease in etcd, vxlan device, subnet.env) with an environment holding nothing but PATH, and the same
// file linked as `flannel` is the CNI plugin (the native one it carries): VERSION, and a real ADD of a
// pod on that host.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { cniAdd } from '../helpers/cni.js';
import { startEtcd, type EtcdInstance } from '../helpers/etcd.js';
import { until } from '../helpers/flanneld.js';
import { TestBed, removeNamespaces } from '../helpers/netns.js';

const run = promisify(execFile);
const CLEAN_ENV = ['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin'];

describe('the single executable, alone in an empty folder @netns @etcd', function () {
  this.timeout(180_000);
  let bed: TestBed;
  let etcd: EtcdInstance;
  let tmp: string;
  let bin: string;
  let log = '';
  let child: ReturnType<TestBed['spawn']>;
  let exited: Promise<number | null>;

  before(async function () {
    this.timeout(180_000);
    await run(process.execPath, [resolve('scripts/binary.mjs')], { maxBuffer: 16 << 20 });
    tmp = await mkdtemp(join(tmpdir(), 'fl-bin-'));
    await mkdir(join(tmp, 'empty'));
    bin = join(tmp, 'empty', 'flanneld');
    await copyFile(resolve('release/flanneld'), bin);
    bed = await TestBed.create({ tag: 'bin', hosts: 1 });
    etcd = await startEtcd({ netns: bed.sw, listenHost: '198.18.0.254' });
    await etcd.etcdctl(['put', '/coreos.com/network/config', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":7}}']);
  });
  after(async function () {
    this.timeout(30_000);
    if (child?.exitCode === null) child.kill('SIGKILL');
    await etcd?.stop();
    if (bed) await removeNamespaces(bed.prefix);
    await bed?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('is one file that answers --version without Node, node_modules or the repository', async () => {
    expect(await readdir(join(tmp, 'empty'))).to.deep.equal(['flanneld']);
    const { stderr } = await run('env', [...CLEAN_ENV, bin, '--version'], { cwd: join(tmp, 'empty') });
    expect(stderr.trim()).to.match(/^\d+\.\d+\.\d+/);
  });

  it('loads the Kubernetes client without Node warnings about unbundled modules', async () => {
    const kubeconfig = join(tmp, 'kubeconfig');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]\n' +
        'users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    const result = await run('env', [...CLEAN_ENV, 'NODE_NAME=n1', bin, '--kube-subnet-mgr', `--kubeconfig-file=${kubeconfig}`, `--net-config-path=${join(tmp, 'absent.json')}`], {
      cwd: join(tmp, 'empty'),
    }).then(
      () => expect.fail('flanneld started without a net-conf.json'),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/Kubernetes API server http:\/\/127\.0\.0\.1:9/); // the client was loaded
    expect(result.stderr).to.match(/failed to read net conf/);
    expect(result.stderr).to.not.match(/Warning|require\(\)/);
  });

  it('runs a host: lease in etcd, the vxlan device, subnet.env, rules', async () => {
    const nodeRoot = join(tmp, 'node1');
    child = bed.spawn(bed.host(1), [
      ...CLEAN_ENV, `FLANNELTS_CACHE_DIR=${join(tmp, 'cache')}`, bin,
      '--etcd-endpoints=http://198.18.0.254:2379', '--iface=eth0', `--subnet-file=${join(nodeRoot, 'run/flannel/subnet.env')}`, '--ip-masq',
    ]);
    child.stdout?.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
    exited = new Promise((r) => child.once('exit', (c) => r(c)));
    const subnetFile = join(nodeRoot, 'run/flannel/subnet.env');
    await until(`subnet.env (log: ${log})`, async () => (await readFile(subnetFile, 'utf8').catch(() => '')) !== '', 60_000);
    expect(await readFile(subnetFile, 'utf8')).to.match(/^FLANNEL_NETWORK=10\.244\.0\.0\/16\nFLANNEL_SUBNET=10\.244\.\d+\.1\/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n$/);
    expect(await etcd.etcdctl(['get', '/coreos.com/network/subnets/', '--prefix'])).to.match(/"PublicIP":"198\.18\.0\.1".*"VNI":7/s);
    expect(await bed.ip(bed.host(1), '-d', 'link', 'show', 'flannel.7')).to.include('vxlan id 7');
    await until('masquerade rules', async () => (await bed.exec(bed.host(1), ['iptables-save', '-t', 'nat'])).includes('FLANNEL-POSTRTG'));
    // The assets (native addon, package.json) were unpacked once into the cache folder; the etcd client
    // needs no protocol files (its messages are encoded by hand).
    const [dir] = await readdir(join(tmp, 'cache'));
    expect((await readdir(join(tmp, 'cache', dir!))).sort()).to.deep.equal(['.complete', 'flannel_native.node', 'package.json']);
  });

  it('runs "flanneld diagnose" next to that host: exit 0, our lease listed, nothing missing', async () => {
    const stdout = await bed.exec(bed.host(1), [
      ...CLEAN_ENV, `FLANNELTS_CACHE_DIR=${join(tmp, 'cache')}`, bin, 'diagnose',
      '--etcd-endpoints=http://198.18.0.254:2379', '--iface=eth0', `--subnet-file=${join(tmp, 'node1/run/flannel/subnet.env')}`,
    ]);
    expect(stdout).to.match(/public IP 198\.18\.0\.1  backend vxlan  VTEP MAC [0-9a-f:]{17}  \(this host\)/);
    expect(stdout).to.match(/^summary: 0 missing, 0 stale, 0 device problems; OK/m);
  });

  it('linked as "flannel" it is the CNI plugin: VERSION and a real ADD on that host', async () => {
    const plugins = join(tmp, 'cni-bin');
    await mkdir(plugins);
    await symlink(bin, join(plugins, 'flannel'));
    const cache = join(tmp, 'cache');
    const { stdout } = await run('env', [...CLEAN_ENV, `FLANNELTS_CACHE_DIR=${cache}`, 'CNI_COMMAND=VERSION', join(plugins, 'flannel')], {});
    expect(JSON.parse(stdout)).to.have.property('supportedVersions').that.includes('0.3.1');
    // The native plugin was written once into the cache folder, and that is what ran.
    const pluginDir = (await readdir(cache)).find((d) => d.startsWith('cni-'));
    expect((await readFile(join(cache, pluginDir!, 'flannel'))).subarray(0, 4).toString('latin1')).to.equal('\x7fELF');

    const pod = `${bed.prefix}-pod1`;
    await run('ip', ['netns', 'add', pod]);
    const conflist = { name: 'cbr0', cniVersion: '0.3.1', plugins: [{ type: 'flannel', delegate: { isDefaultGateway: true } }] };
    process.env['FLANNELTS_CACHE_DIR'] = cache; // the runtime's environment reaches the plugin
    const result = (await cniAdd(conflist, { hostNetns: bed.host(1), netns: pod, containerId: 'bin-pod1', cniPath: [plugins, '/usr/lib/cni'], nodeRoot: join(tmp, 'node1') }).finally(
      () => delete process.env['FLANNELTS_CACHE_DIR'],
    )) as { ips: Array<{ address: string }> };
    const subnet = /FLANNEL_SUBNET=10\.244\.(\d+)\.1/.exec(await readFile(join(tmp, 'node1/run/flannel/subnet.env'), 'utf8'))![1];
    expect(result.ips[0]!.address).to.match(new RegExp(`^10\\.244\\.${subnet}\\.\\d+/24$`));
    await bed.exec(pod, ['ping', '-c', '1', '-W', '2', `10.244.${subnet}.1`]);
  });

  it('stops with exit code 0 on SIGTERM', async () => {
    child.kill('SIGTERM');
    expect(await exited).to.equal(0);
    expect(log).to.include('Exiting cleanly');
  });
});
