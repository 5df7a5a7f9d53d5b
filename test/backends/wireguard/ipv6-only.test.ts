// wireguard in an IPv6-only cluster, etcd mode, end to end with wireguard-go: three hosts on an IPv6-only
// underlay (no IPv4 address on it), etcd on the switch's IPv6 address, the built flanneld on each host in
// a private mount namespace for /run (its own /var/run/wireguard and /run/flannel/wgkey), `"EnableIPv4":
// false` with the default Mode "separate", and a pod per host attached through the kube-flannel conflist.
// What a user sees: one distinct IPv6 subnet per host under `0.0.0.0-0&<v6>-64` with the reference's
// lease value (PublicIP 0.0.0.0, BackendV6Data only), subnet.env with only the IPv6 lines and MTU 1500 −
// 80, pods with only IPv6 addresses, only `flannel-wg-v6` with one peer per other host at
// [<its v6>]:51821, pods pinging each other with only UDP to 51821 on the underlay, and a peer going
// with its lease.
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KUBE_FLANNEL_CONFLIST, attachPod, flannelCniPath, privateMounts } from '../../helpers/cni.js';
import { startEtcd, type EtcdInstance } from '../../helpers/etcd.js';
import { FlanneldProcess, until } from '../../helpers/flanneld.js';
import { TestBed, removeNamespaces } from '../../helpers/netns.js';
import { publicKeyOf } from '../../../backends/wireguard/key.js';

const run = promisify(execFile);
const SWITCH6 = 'fd00:198:18::fe';
const NETWORK6 = 'fd00:10:244::/56';
const HOSTS = [1, 2, 3] as const;
/** These tests are about wireguard-go (its socket in the host's /run): forced even where the kernel has WireGuard. */
const USERSPACE = { FLANNEL_TS_WIREGUARD_DATAPATH: 'userspace' };

describe('wireguard IPv6-only cluster, etcd mode, wireguard-go on three hosts, pods via the CNI chain @netns @etcd', function () {
  this.timeout(60_000);
  let bed: TestBed;
  let etcd: EtcdInstance;
  let tmp = '';
  let cniPath: string[] = [];
  const daemons = new Map<number, FlanneldProcess>();
  /** Each host's lease key in etcd, and its IPv6 subnet (fd00:10:244:xx::/64). */
  const leaseKey = new Map<number, string>();
  const subnet6 = new Map<number, string>();
  const podIPs = new Map<number, string[]>();

  const root = (i: number): string => join(tmp, `node${i}`);
  const pod = (i: number): string => `${bed.prefix}-pod${i}`;
  const podIP = (i: number): string => podIPs.get(i)![0]!.split('/')[0]!;
  /** A shell script on host i with that host's own /run (where `wg` finds the host's wireguard-go). */
  const hostSh = async (i: number, script: string): Promise<string> =>
    (await run('ip', ['netns', 'exec', bed.host(i), ...privateMounts(root(i)), 'sh', '-c', script])).stdout;
  const ping = (from: number, to: number, ...extra: string[]): Promise<boolean> =>
    bed.exec(pod(from), ['ping', '-6', '-c', '1', '-W', '2', ...extra, podIP(to)]).then(() => true, () => false);
  const pingSoon = (from: number, to: number): Promise<void> => until(`pod ${from} -> pod ${to} (${podIP(to)})`, () => ping(from, to), 20_000);
  const keyOf = async (i: number): Promise<string> => readFile(join(root(i), 'run/flannel/wgkey'), 'utf8');
  /** `wg show flannel-wg-v6 dump` peer lines as [public key, endpoint, allowed ips], sorted by allowed ips. */
  const wgPeers = async (i: number): Promise<string[][]> => {
    const lines = (await hostSh(i, 'wg show flannel-wg-v6 dump')).trim().split('\n').slice(1).filter(Boolean);
    return lines.map((l) => l.split('\t')).map((f) => [f[0]!, f[2]!, f[3]!]).sort((a, b) => a[2]!.localeCompare(b[2]!));
  };

  async function leases(): Promise<Array<{ key: string; value: string }>> {
    const out = (await etcd.etcdctl(['get', '/coreos.com/network/subnets/', '--prefix'])).trim();
    if (out === '') return [];
    const lines = out.split('\n');
    const result: Array<{ key: string; value: string }> = [];
    for (let k = 0; k < lines.length; k += 2) result.push({ key: lines[k]!, value: lines[k + 1]! });
    return result;
  }

  before(async function () {
    this.timeout(120_000);
    bed = await TestBed.create({ tag: 'wg6o', hosts: HOSTS.length, ipv6: true, ipv4: false });
    etcd = await startEtcd({ netns: bed.sw, listenHost: `[${SWITCH6}]` });
    tmp = await mkdtemp(join(tmpdir(), 'fl-wg6o-'));
    cniPath = await flannelCniPath(tmp);
    const config = { EnableIPv4: false, EnableIPv6: true, IPv6Network: NETWORK6, Backend: { Type: 'wireguard' } };
    await etcd.etcdctl(['put', '/coreos.com/network/config', JSON.stringify(config)]);
    for (const i of HOSTS) {
      const args = [`--etcd-endpoints=http://[${SWITCH6}]:2379`];
      daemons.set(i, new FlanneldProcess(bed, i, join(root(i), 'run/flannel/subnet.env'), args, USERSPACE, { etcd: false, root: root(i) }));
    }
    for (const i of HOSTS) await daemons.get(i)!.waitForSubnetEnv();
    for (const l of await leases()) {
      const i = HOSTS.find((h) => (JSON.parse(l.value) as { PublicIPv6?: string }).PublicIPv6 === bed.hostAddr6(h));
      const m = /&([0-9a-f:]+)-(\d+)$/.exec(l.key);
      if (i === undefined || !m) continue;
      leaseKey.set(i, l.key);
      subnet6.set(i, `${m[1]}/${m[2]}`);
    }
    for (const i of HOSTS) {
      podIPs.set(i, await attachPod(KUBE_FLANNEL_CONFLIST, { hostNetns: bed.host(i), netns: pod(i), containerId: `wg6o-pod${i}`, cniPath, nodeRoot: root(i) }));
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
    if (bed) await removeNamespaces(bed.prefix); // the pods, which the bed did not make
    await bed?.destroy(); // also kills the wireguard-go processes left in the host namespaces
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('leases one distinct IPv6 subnet per host, with the reference value: PublicIP 0.0.0.0, BackendV6Data only', async () => {
    const all = await leases();
    expect(all.map((l) => l.key), JSON.stringify(all)).to.have.length(3);
    expect(new Set(HOSTS.map((i) => subnet6.get(i))).size, 'distinct subnets').to.equal(3);
    for (const i of HOSTS) {
      expect(leaseKey.get(i), `lease of host ${i}`).to.match(/^\/coreos\.com\/network\/subnets\/0\.0\.0\.0-0&fd00:10:244:[0-9a-f]{1,2}::-64$/);
      const value = all.find((l) => l.key === leaseKey.get(i))!.value;
      const key = await keyOf(i);
      expect(key, `host ${i} key file`).to.match(/^[A-Za-z0-9+/]{43}=$/);
      expect(value).to.equal(
        `{"PublicIP":"0.0.0.0","PublicIPv6":"${bed.hostAddr6(i)}","BackendType":"wireguard","BackendV6Data":{"PublicKey":"${publicKeyOf(key)}","Port":51821}}`,
      );
    }
  });

  it('writes subnet.env with only the IPv6 lines and FLANNEL_MTU 1500 - 80, and gives pods only an IPv6 address', async () => {
    for (const i of HOSTS) {
      const first = subnet6.get(i)!.replace('::/64', '::1/64');
      expect(await daemons.get(i)!.subnetEnv(), `host ${i}`).to.equal(`FLANNEL_IPV6_NETWORK=${NETWORK6}\nFLANNEL_IPV6_SUBNET=${first}\nFLANNEL_MTU=1420\nFLANNEL_IPMASQ=false\n`);
      const ips = podIPs.get(i)!;
      expect(ips, `pod ${i}`).to.have.length(1);
      const prefix = subnet6.get(i)!.replace('::/64', ':');
      expect(ips[0]!.startsWith(prefix) && ips[0]!.endsWith('/64'), `${ips[0]} in ${subnet6.get(i)}`).to.equal(true);
      expect(await bed.ip(pod(i), '-4', 'addr', 'show', 'dev', 'eth0')).to.equal('');
    }
  });

  it('creates only flannel-wg-v6 (its /128, the IPv6Network route, port 51821) with a peer per other host at [v6]:51821', async () => {
    for (const i of HOSTS) {
      const h = bed.host(i);
      await bed.ip(h, 'link', 'show', 'flannel-wg').then(
        () => expect.fail(`flannel-wg exists on host ${i} in an IPv6-only cluster`),
        (e: Error) => expect(e.message).to.match(/does not exist/),
      );
      expect(await bed.ip(h, 'link', 'show', 'flannel-wg-v6')).to.match(/mtu 1420 /);
      expect(await bed.ip(h, '-6', 'addr', 'show', 'dev', 'flannel-wg-v6', 'scope', 'global')).to.include(`inet6 ${subnet6.get(i)!.replace('/64', '/128')} scope global`);
      expect(await bed.ip(h, '-6', 'route', 'show', NETWORK6)).to.match(/^fd00:10:244::\/56 dev flannel-wg-v6 /);
      expect(await bed.ip(h, '-4', 'route')).to.equal('');
      expect(await hostSh(i, 'wg show flannel-wg-v6 listen-port')).to.equal('51821\n');
      const want = await Promise.all(
        HOSTS.filter((j) => j !== i).map(async (j) => [publicKeyOf(await keyOf(j)), `[${bed.hostAddr6(j)}]:51821`, subnet6.get(j)!]),
      );
      expect(await wgPeers(i), `host ${i}`).to.deep.equal(want.sort((a, b) => a[2]!.localeCompare(b[2]!)));
    }
  });

  it('lets every pod ping every other pod over IPv6; 1420 bytes pass with DF set', async () => {
    for (const a of HOSTS) for (const b of HOSTS) if (a !== b) await pingSoon(a, b);
    // 1420 inside is 1500 on an IPv6 underlay (40 + 8 + 32 of WireGuard): the 80 bytes are all needed.
    expect(await ping(1, 2, '-M', 'do', '-s', String(1420 - 48))).to.equal(true);
    expect(await ping(1, 2, '-M', 'do', '-s', String(1421 - 48))).to.equal(false);
  });

  it('puts only UDP between the WireGuard ports 51821 on the underlay: no pod address, no ICMPv6 or TCP of the pods', async () => {
    const dump = spawn('ip', ['netns', 'exec', bed.host(1), 'timeout', '6', 'tcpdump', '-lnni', 'eth0', 'ip6 and not (tcp port 2379)'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    dump.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const done = new Promise((r) => dump.once('exit', r));
    await new Promise((r) => setTimeout(r, 1500));
    await bed.exec(pod(1), ['ping', '-6', '-c', '3', '-i', '0.2', podIP(2)]);
    // TCP from pod 1 to pod 3 (nothing listens: a SYN and its RST, both inside the tunnel).
    await bed.exec(pod(1), ['timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/${podIP(3)}/80`]).catch(() => undefined);
    await done;
    // The underlay's own neighbour discovery (and MLD) between the hosts is not pod traffic.
    const underlayControl = /ICMP6, (neighbor (solicitation|advertisement)|router solicitation|multicast listener)/;
    const lines = out.trim().split('\n').filter((l) => l !== '' && !underlayControl.test(l));
    expect(lines.length, out).to.be.greaterThan(4);
    for (const l of lines) expect(l, 'an underlay packet').to.match(/^\S+ IP6 fd00:198:18::\d\.51821 > fd00:198:18::\d\.51821: UDP, length \d+$/);
    expect(out).to.not.include('fd00:10:244');
  });

  it('removes the peer of a host whose lease is deleted in etcd from the other hosts, and only that one', async () => {
    expect(await daemons.get(3)!.stop()).to.equal(0);
    await etcd.etcdctl(['del', leaseKey.get(3)!]);
    for (const i of [1, 2]) {
      await until(`host 3's peer gone on host ${i}`, async () => !(await wgPeers(i)).some((p) => p[2] === subnet6.get(3)), 15_000);
      const left = await wgPeers(i);
      expect(left.map((p) => p[2]), `host ${i}`).to.deep.equal([subnet6.get(i === 1 ? 2 : 1)]);
    }
    expect(await ping(1, 2)).to.equal(true);
    expect(await ping(2, 1)).to.equal(true);
  });
});
