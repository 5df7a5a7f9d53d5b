// wireguard end to end with wireguard-go: the built flanneld on three namespace hosts, each with its own
// /run (so its own /var/run/wireguard and /run/flannel/wgkey) in a private mount namespace, and a pod per
// host attached through the kube-flannel conflist. What a user sees: the exact lease value, the key file,
// FLANNEL_MTU, pods pinging each other, only UDP to 51820 on the underlay, a killed wireguard-go coming
// back, a restart keeping the key and the traffic, and a peer going with its lease.
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cniAdd, flannelCniPath, privateMounts } from '../../helpers/cni.js';
import { startEtcd, type EtcdInstance } from '../../helpers/etcd.js';
import { FlanneldProcess, SWITCH_ADDR, statusOf, until } from '../../helpers/flanneld.js';
import { TestBed } from '../../helpers/netns.js';
import { publicKeyOf } from '../../../backends/wireguard/key.js';

const run = promisify(execFile);
const HOSTS = [1, 2, 3];
/** Each host's health server (/status), inside its own namespace. */
const HEALTHZ_PORT = 18493;
/** These tests are about wireguard-go (killed by hand, its socket): forced even where the kernel has WireGuard. */
const USERSPACE = { FLANNEL_TS_WIREGUARD_DATAPATH: 'userspace' };
const CONFLIST = { name: 'cbr0', cniVersion: '0.3.1', plugins: [{ type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } }] };

describe('wireguard: flanneld with wireguard-go on three hosts, pods via the CNI chain @netns @etcd', function () {
  this.timeout(60_000);
  let bed: TestBed;
  let etcd: EtcdInstance;
  let tmp = '';
  let cniPath: string[] = [];
  const daemons = new Map<number, FlanneldProcess>();
  const podIP = new Map<number, string>();
  const subnet = new Map<number, string>();

  const root = (i: number): string => join(tmp, `node${i}`);
  const pod = (i: number): string => `${bed.prefix}-pod${i}`;
  /** A shell script on host i with that host's own /run (where `wg` finds the host's wireguard-go). */
  const hostSh = async (i: number, script: string): Promise<string> =>
    (await run('ip', ['netns', 'exec', bed.host(i), ...privateMounts(root(i)), 'sh', '-c', script])).stdout;
  const ping = (from: number, to: number, ...extra: string[]): Promise<boolean> =>
    bed.exec(pod(from), ['ping', '-c', '1', '-W', '2', ...extra, podIP.get(to)!]).then(() => true, () => false);
  const pingSoon = (from: number, to: number): Promise<void> => until(`pod ${from} -> pod ${to}`, () => ping(from, to), 20_000);
  const leaseValue = async (i: number): Promise<string> =>
    (await etcd.etcdctl(['get', `/coreos.com/network/subnets/${subnet.get(i)!.replace('/', '-')}`, '--print-value-only'])).trim();
  const wgPid = async (i: number): Promise<number> => Number((await readFile(join(root(i), 'run/wireguard/flannel-wg.pid'), 'utf8')).trim());
  /** `wg show flannel-wg allowed-ips`, lines sorted (wireguard-go lists peers in no fixed order). */
  const peers = async (i: number): Promise<string> => (await hostSh(i, 'wg show flannel-wg allowed-ips')).trim().split('\n').sort().join('\n');

  function start(i: number): FlanneldProcess {
    const d = new FlanneldProcess(bed, i, join(root(i), 'run/flannel/subnet.env'), [`--healthz-port=${HEALTHZ_PORT}`, '--peer-probe-interval=1'], USERSPACE, { root: root(i) });
    daemons.set(i, d);
    return d;
  }

  before(async function () {
    this.timeout(120_000);
    bed = await TestBed.create({ tag: 'wg', hosts: HOSTS.length });
    etcd = await startEtcd({ netns: bed.sw, listenHost: SWITCH_ADDR });
    tmp = await mkdtemp(join(tmpdir(), 'fl-wg-'));
    cniPath = await flannelCniPath(tmp);
    await etcd.etcdctl(['put', '/coreos.com/network/config', '{"Network":"10.244.0.0/16","Backend":{"Type":"wireguard"}}']);
    for (const i of HOSTS) start(i);
    for (const i of HOSTS) {
      const m = /FLANNEL_SUBNET=10\.244\.(\d+)\.1\/24/.exec(await daemons.get(i)!.waitForSubnetEnv())!;
      subnet.set(i, `10.244.${m[1]}.0/24`);
    }
    for (const i of HOSTS) {
      await run('ip', ['netns', 'add', pod(i)]);
      await bed.ip(pod(i), 'link', 'set', 'lo', 'up');
      const r = (await cniAdd(CONFLIST, { hostNetns: bed.host(i), netns: pod(i), containerId: `wg-pod${i}`, cniPath, nodeRoot: root(i) })) as { ips: Array<{ address: string }> };
      podIP.set(i, r.ips[0]!.address.split('/')[0]!);
    }
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const [i, d] of daemons) console.log(`--- flanneld on host ${i} ---\n${d.output().slice(-5000)}`);
  });

  after(async function () {
    this.timeout(60_000);
    for (const d of daemons.values()) await d.kill();
    await etcd?.stop();
    if (bed) for (const i of HOSTS) await run('ip', ['netns', 'del', pod(i)]).catch(() => undefined); // the pods, which the bed did not make
    await bed?.destroy(); // also kills the wireguard-go processes left in the host namespaces
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('writes the reference lease value with the public key of a 0600 key file, and FLANNEL_MTU 1420', async () => {
    for (const i of HOSTS) {
      const keyFile = join(root(i), 'run/flannel/wgkey');
      const key = await readFile(keyFile, 'utf8');
      expect(key, `host ${i} key file`).to.match(/^[A-Za-z0-9+/]{43}=$/);
      expect((await stat(keyFile)).mode & 0o777).to.equal(0o600);
      expect(await leaseValue(i)).to.equal(
        `{"PublicIP":"${bed.hostAddr(i)}","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"${publicKeyOf(key)}","Port":51820}}`,
      );
      expect(await readFile(join(root(i), 'run/flannel/subnet.env'), 'utf8')).to.include('FLANNEL_MTU=1420\n');
      expect(daemons.get(i)!.output()).to.include('WireGuard data path: userspace WireGuard (wireguard-go): chosen by FLANNEL_TS_WIREGUARD_DATAPATH=userspace');
    }
  });

  it('gives each host a flannel-wg with its /32, the Network route, and one peer per other host', async () => {
    for (const i of HOSTS) {
      expect(await bed.ip(bed.host(i), '-4', 'addr', 'show', 'flannel-wg')).to.include(`inet ${subnet.get(i)!.replace('/24', '/32')} scope global flannel-wg`);
      expect(await bed.ip(bed.host(i), 'route', 'show', '10.244.0.0/16')).to.match(/^10\.244\.0\.0\/16 dev flannel-wg (proto boot )?scope link/);
      const show = await peers(i);
      for (const j of HOSTS) if (j !== i) expect(show, `host ${i}`).to.include(`\t${subnet.get(j)}`);
      expect(await hostSh(i, 'wg show flannel-wg listen-port')).to.equal('51820\n');
    }
  });

  it('lets every pod ping every other pod (full matrix), with the MTU exact: 1420 bytes pass with DF, 1421 do not', async () => {
    for (const a of HOSTS) for (const b of HOSTS) if (a !== b) await pingSoon(a, b);
    expect(await ping(1, 2, '-M', 'do', '-s', String(1420 - 28))).to.equal(true);
    expect(await ping(1, 2, '-M', 'do', '-s', String(1421 - 28))).to.equal(false);
  });

  it('probes every peer through flannel-wg at its .0: flanneld status shows both reachable, the path MTU ok', async () => {
    await until('host 1 sees both peers reachable with their MTU checked', async () => {
      const doc = await statusOf(bed, 1, HEALTHZ_PORT);
      return doc?.summary.reachable === 2 && doc.peers.every((p) => p.mtu.state === 'ok');
    });
    const doc = (await statusOf(bed, 1, HEALTHZ_PORT))!;
    for (const p of doc.peers) {
      expect(p.probeAddress).to.equal(p.subnet.replace(/\/\d+$/, ''));
      expect(p.path).to.equal('through flannel-wg');
      expect(p.mtu.size).to.equal(1420);
    }
  });

  it('puts only UDP to the WireGuard port on the underlay: no pod address, no ICMP or TCP of the pods', async () => {
    const dump = spawn('ip', ['netns', 'exec', bed.host(1), 'timeout', '8', 'tcpdump', '-lnni', 'eth0', 'ip and not (tcp port 2379)'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    dump.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const done = new Promise((r) => dump.once('exit', r));
    await new Promise((r) => setTimeout(r, 1500));
    await bed.exec(pod(1), ['ping', '-c', '3', '-i', '0.2', podIP.get(2)!]);
    // TCP from pod 1 to pod 3 (nothing listens: a SYN and its RST, both inside the tunnel).
    await bed.exec(pod(1), ['timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/${podIP.get(3)}/80`]).catch(() => undefined);
    await done;
    const lines = out.trim().split('\n').filter(Boolean);
    expect(lines.length, out).to.be.greaterThan(4);
    for (const l of lines) expect(l, 'an underlay packet').to.match(/^\S+ IP 198\.18\.0\.\d+\.51820 > 198\.18\.0\.\d+\.51820: UDP, length \d+$/);
    expect(out).to.not.include('10.244.');
  });

  it('restarts a wireguard-go killed by hand, replays its configuration, and the pods talk again', async () => {
    const before = await wgPid(1);
    process.kill(before, 'SIGKILL');
    await until('a new wireguard-go on host 1', async () => (await wgPid(1).catch(() => before)) !== before);
    expect(daemons.get(1)!.output()).to.match(/WireGuard device flannel-wg lost: wireguard-go \(pid \d+\) killed by SIGKILL; recreating it/);
    for (const j of [2, 3]) await pingSoon(1, j);
    await pingSoon(2, 1);
    const show = await peers(1);
    for (const j of [2, 3]) expect(show).to.include(`\t${subnet.get(j)}`);
  });

  it('keeps the device and traffic while flanneld is down; a restart keeps the public key and changes no peer', async () => {
    const lease = await leaseValue(2);
    const peersBefore = await peers(1);
    const old = daemons.get(2)!;
    expect(await old.stop()).to.equal(0);
    expect(await ping(1, 2), 'pod 1 -> pod 2 with flanneld on host 2 stopped').to.equal(true);
    const again = start(2);
    await until('the restarted flanneld following leases', () => again.output().includes('watching for wireguard leases'));
    await new Promise((r) => setTimeout(r, 1000));
    expect(await leaseValue(2)).to.equal(lease);
    expect(again.output()).to.include('using WireGuard key file /run/flannel/wgkey');
    expect(again.output()).to.not.match(/peer added|peer removed|created WireGuard device/);
    expect(await peers(1)).to.equal(peersBefore);
    for (const j of [1, 3]) expect(await ping(2, j), `pod 2 -> pod ${j}`).to.equal(true);
  });

  it('removes the peer of a host whose lease is gone, and only that one', async () => {
    expect(await daemons.get(3)!.stop()).to.equal(0);
    await etcd.etcdctl(['del', `/coreos.com/network/subnets/${subnet.get(3)!.replace('/', '-')}`]);
    for (const i of [1, 2]) {
      await until(`host 3's peer gone on host ${i}`, async () => !(await peers(i)).includes(subnet.get(3)!));
      expect(daemons.get(i)!.output()).to.include(`peer removed: ${subnet.get(3)} key`);
    }
    expect(await ping(1, 2)).to.equal(true);
  });
});
