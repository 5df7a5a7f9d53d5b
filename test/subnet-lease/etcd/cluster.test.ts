// flanneld against a real 3-member etcd cluster (issue 17), each member in its own namespace on the
// switch, flanneld on host 1 given all three endpoints. The failures only a cluster has: the member
// holding flanneld's watch cut off from the other two (clients still reach it), the leader frozen, and
// two members down (no quorum). Each time a lease written through a healthy member must reach host 1's
// kernel, and nothing flanneld programmed may be removed.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EtcdInstance, startEtcd } from '../../helpers/etcd.js';
import { FlanneldProcess, until } from '../../helpers/flanneld.js';
import { TestBed } from '../../helpers/netns.js';

const MEMBERS = [2, 3, 4] as const;
const addr = (i: number): string => `198.18.0.${i}`;
const PREFIX = '/coreos.com/network';

describe('etcd cluster of 3: partition, frozen leader, quorum loss (issue 17) @netns @etcd', function () {
  this.timeout(180_000);
  let bed: TestBed;
  let tmp: string;
  const etcd = new Map<number, EtcdInstance>();
  let daemon: FlanneldProcess;
  let nextLease = 10;

  const ctl = (i: number, ...args: string[]): Promise<string> => etcd.get(i)!.etcdctl(['--command-timeout=3s', ...args]);
  /** A lease of a made-up host, written through member `via`; resolves with its subnet. */
  async function writeLease(via: number): Promise<string> {
    const n = nextLease++;
    const value = JSON.stringify({ PublicIP: `198.18.1.${n}`, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: `0a:00:00:00:01:${n.toString(16).padStart(2, '0')}` } });
    await ctl(via, 'put', `${PREFIX}/subnets/10.5.${n}.0-24`, value);
    return `10.5.${n}.0/24`;
  }
  const routes = async (): Promise<string[]> =>
    (await bed.ip(bed.host(1), 'route', 'show', 'dev', 'flannel.1'))
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter((d) => d.startsWith('10.5.'));
  /** Milliseconds until `subnet`'s route is in host 1's kernel. */
  async function programmed(subnet: string, timeoutMs = 20_000): Promise<number> {
    const t0 = Date.now();
    await until(`route ${subnet} on host 1 (log:\n${daemon.output().slice(-3000)})`, async () => (await routes()).includes(subnet), timeoutMs);
    return Date.now() - t0;
  }
  /** Which member serves flanneld's watch stream (etcd's own gauge of watch streams). */
  async function watchMember(): Promise<number | null> {
    for (const i of MEMBERS) {
      const text = await bed.exec(bed.host(i), ['curl', '-s', '--max-time', '2', `http://${addr(i)}:2379/metrics`]).catch(() => '');
      const m = /^etcd_debugging_mvcc_watch_stream_total (\d+)/m.exec(text);
      if (m && Number(m[1]) > 0) return i;
    }
    return null;
  }
  async function leader(): Promise<number> {
    for (const i of MEMBERS) {
      const status = JSON.parse(await ctl(i, 'endpoint', 'status', '-w', 'json').catch(() => '[]')) as Array<{ Status: { header: { member_id: number }; leader: number } }>;
      const s = status[0]?.Status;
      if (s && s.header.member_id === s.leader) return i;
    }
    throw new Error('no leader');
  }
  const healthz = (): Promise<string> => bed.exec(bed.host(1), ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', `http://${addr(1)}:8471/healthz`]);
  const get = (path: string): Promise<string> => bed.exec(bed.host(1), ['curl', '-s', '--max-time', '2', `http://${addr(1)}:8471${path}`]);
  const sample = (metrics: string, line: RegExp): number => Number(line.exec(metrics)?.[1] ?? NaN);
  const signal = (i: number, sig: NodeJS.Signals): boolean => process.kill(etcd.get(i)!.pid, sig);

  before(async () => {
    bed = await TestBed.create({ tag: 'etcdc', hosts: 4 });
    tmp = await mkdtemp(join(tmpdir(), 'fl-etcdc-'));
    const initialCluster = MEMBERS.map((i) => `m${i}=http://${addr(i)}:2380`).join(',');
    const started = await Promise.all(
      MEMBERS.map((i) => startEtcd({ netns: bed.host(i), listenHost: addr(i), member: { name: `m${i}`, peerHost: addr(i), initialCluster } })),
    );
    MEMBERS.forEach((i, k) => etcd.set(i, started[k]!));
    // flanneld picks its own subnet from 10.5.200.0 up; the made-up hosts' leases are 10.5.10.0 and up, so a
    // test lease can never be written over flanneld's own (that collision once failed two tests in CI).
    await ctl(2, 'put', `${PREFIX}/config`, '{"Network":"10.5.0.0/16","SubnetMin":"10.5.200.0","Backend":{"Type":"vxlan"}}');
    const endpoints = MEMBERS.map((i) => `http://${addr(i)}:2379`).join(',');
    // A 30 s lease renewed 25 s before it expires (every ~5 s), so renewals go on through every failure below.
    const env = { FLANNELTS_TEST_LEASE_TTL: '30', FLANNELTS_TEST_RENEW_MARGIN_MS: '25000' };
    daemon = new FlanneldProcess(bed, 1, join(tmp, 'subnet.env'), [`--etcd-endpoints=${endpoints}`, `--healthz-ip=${addr(1)}`, '--healthz-port=8471'], env, { etcd: false });
    await daemon.waitForSubnetEnv(60_000);
    await programmed(await writeLease(2));
  });

  after(async () => {
    for (const i of MEMBERS) {
      try {
        signal(i, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    await daemon?.kill();
    for (const e of etcd.values()) await e.stop();
    await bed?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('moves off a member cut off from the other two, and a lease written meanwhile reaches the kernel', async () => {
    const cut = await watchMember();
    expect(cut, 'a member serves the watch').to.not.equal(null);
    const before = await routes();
    const ns = bed.host(cut!);
    const nft = (rule: string): Promise<string> => bed.exec(ns, ['nft', rule]);
    await nft('add table inet fl_partition');
    await nft('add chain inet fl_partition in { type filter hook input priority 0; }');
    await nft('add chain inet fl_partition out { type filter hook output priority 0; }');
    await nft('add rule inet fl_partition in tcp dport 2380 drop');
    await nft('add rule inet fl_partition in tcp sport 2380 drop');
    await nft('add rule inet fl_partition out tcp dport 2380 drop');
    await nft('add rule inet fl_partition out tcp sport 2380 drop');
    const t0 = Date.now();
    try {
      const healthy = MEMBERS.find((i) => i !== cut)!;
      // If the cut member led, the other two elect a new leader first: retry the write until then.
      let subnet = '';
      await until('a write through a healthy member', async () => {
        subnet = await writeLease(healthy).catch(() => '');
        return subnet !== '';
      }, 15_000);
      await programmed(subnet, 15_000);
      const ms = Date.now() - t0;
      await until('the watch on another member', async () => ((await watchMember()) ?? cut) !== cut, 15_000);
      console.log(`      partition: the lease written through a healthy member was in the kernel ${ms} ms after the cut`);
      // /metrics names the member in use and counts the move; the log says why it moved.
      const now = await watchMember();
      const metrics = await get('/metrics');
      expect(sample(metrics, new RegExp(`^flannel_store_endpoint\\{endpoint="http://${addr(now!).replace(/\./g, '\\.')}:2379"\\} (\\d+)`, 'm'))).to.equal(1);
      expect(sample(metrics, new RegExp(`^flannel_store_endpoint\\{endpoint="http://${addr(cut!).replace(/\./g, '\\.')}:2379"\\} (\\d+)`, 'm'))).to.equal(0);
      expect(sample(metrics, /^flannel_store_endpoint_moves_total (\d+)/m)).to.be.at.least(1);
      expect(daemon.output()).to.match(new RegExp(`subnet watch moved to member http://${addr(now!).replace(/\./g, '\\.')}:2379 \\(was http://${addr(cut!).replace(/\./g, '\\.')}:2379\\)`));
      expect(daemon.output()).to.match(/subnet watch interrupted \(.*no leader/i);
      expect(await routes()).to.include.members(before);
    } finally {
      await nft('delete table inet fl_partition');
    }
  });

  it('loses no event and no entry while the leader is frozen and a new one is elected', async () => {
    const frozen = await leader();
    const before = await routes();
    signal(frozen, 'SIGSTOP');
    const t0 = Date.now();
    try {
      const other = MEMBERS.find((i) => i !== frozen)!;
      let subnet = '';
      await until('a write through a member of the new majority', async () => {
        subnet = await writeLease(other).catch(() => '');
        return subnet !== '';
      }, 30_000);
      const writtenMs = Date.now() - t0;
      const ms = await programmed(subnet, 20_000);
      console.log(`      frozen leader: write accepted ${writtenMs} ms after SIGSTOP, in the kernel ${ms} ms later`);
      expect(await routes()).to.include.members(before);
    } finally {
      signal(frozen, 'SIGCONT');
    }
  });

  it('leaves a frozen member that holds its watch (no answer to a progress request) and follows the leases elsewhere', async () => {
    const frozen = await watchMember();
    expect(frozen, 'a member serves the watch').to.not.equal(null);
    const before = await routes();
    signal(frozen!, 'SIGSTOP');
    const t0 = Date.now();
    try {
      const other = MEMBERS.find((i) => i !== frozen)!;
      let subnet = '';
      await until('a write through another member', async () => {
        subnet = await writeLease(other).catch(() => '');
        return subnet !== '';
      }, 30_000);
      await programmed(subnet, 20_000);
      console.log(`      frozen watch member: the lease was in the kernel ${Date.now() - t0} ms after SIGSTOP (silence 5 s + 3 s for the progress answer, then a reconnect)`);
      expect(await routes()).to.include.members(before);
    } finally {
      signal(frozen!, 'SIGCONT');
    }
  });

  it('keeps every entry and /healthz 200 with two members down; a new lease is programmed soon after quorum is back', async () => {
    const before = await routes();
    const [a, b, c] = MEMBERS;
    signal(a, 'SIGSTOP');
    signal(b, 'SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, 20_000));
      expect(await routes()).to.include.members(before);
      expect(await healthz()).to.equal('200');
      expect(await get('/readyz')).to.match(/^flanneld is ready\ndegraded: the lease watch has been reconnecting since \S+ \(.+\); every kernel entry is kept$/);
    } finally {
      signal(a, 'SIGCONT');
      signal(b, 'SIGCONT');
    }
    const t0 = Date.now();
    let subnet = '';
    await until('a write once quorum is back', async () => {
      subnet = await writeLease(c).catch(() => '');
      return subnet !== '';
    }, 30_000);
    const quorumMs = Date.now() - t0;
    const ms = await programmed(subnet, 10_000);
    console.log(`      quorum loss: writes accepted ${quorumMs} ms after the members came back, the new lease in the kernel ${ms} ms later`);
    // The watch retries with a backoff capped at MAX_BACKOFF_MS (5 s) while the members are down, so the
    // next attempt can come up to that long after quorum is back, plus the listing: bound it with room
    // (a 5000 ms bound failed CI once at 5005 ms).
    expect(ms).to.be.at.most(8000);
    expect(await routes()).to.include.members(before);
    await until('/readyz without the degraded line', async () => (await get('/readyz')) === 'flanneld is ready', 10_000);
  });

  it('renewed its own lease through the partition, the leader changes and the quorum loss: never lost', async () => {
    const metrics = await get('/metrics');
    const renewals = sample(metrics, /^flannel_lease_renewals_total (\d+)/m);
    console.log(`      our 30 s lease: ${renewals} renewals, ${sample(metrics, /^flannel_lease_losses_total (\d+)/m)} losses`);
    expect(renewals, 'renewals').to.be.at.least(1);
    expect(sample(metrics, /^flannel_lease_losses_total (\d+)/m), 'lease losses').to.equal(0);
    const subnet = /FLANNEL_SUBNET=(\S+)/.exec(await daemon.subnetEnv())![1]!;
    const key = `${PREFIX}/subnets/${subnet.replace(/\.1\//, '.0-').replace('/', '-')}`;
    expect(await ctl(2, 'get', key, '--print-value-only')).to.include('"PublicIP":"198.18.0.1"');
  });
});
