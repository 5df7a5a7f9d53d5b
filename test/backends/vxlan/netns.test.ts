// The vxlan backend against the real kernel: three hosts in network namespaces on one switch. Hosts 1
// and 2 run the backend in this process, each through a native handle opened in its namespace, sharing
// one in-memory lease store; host 3 is configured by hand with ip/bridge exactly as the reference
// daemon configures a node, and its lease is written in the reference's JSON.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TestBed } from '../../helpers/netns.js';
import { startNetnsHost, stopNetnsHosts, until, type NetnsHost } from './harness.js';
import { MemoryLeaseStore, vxlanNetworkConfig } from '../../helpers/memory-store.js';

const run = promisify(execFile);
const H3_MAC = '0a:33:33:33:33:33';

describe('vxlan backend in network namespaces @netns', function () {
  this.timeout(60000);
  let bed: TestBed;
  let store: MemoryLeaseStore;
  const hosts: NetnsHost[] = [];
  const pods: string[] = [];

  const startHost = (i: number): Promise<NetnsHost> =>
    startNetnsHost(bed, i, store, vxlanNetworkConfig(), { reconcileIntervalMs: 600_000, recreateBackoffMs: { initial: 200, max: 1000 } });

  /** Host 3 as the reference daemon would leave it, done by hand. */
  async function configureByHand(): Promise<void> {
    const h3 = bed.host(3);
    await bed.ip(h3, 'link', 'add', 'flannel.1', 'address', H3_MAC, 'mtu', '1450', 'type', 'vxlan', 'id', '1', 'local', '198.18.0.3', 'dev', 'eth0', 'nolearning');
    await bed.ip(h3, 'addr', 'add', '10.244.3.0/32', 'dev', 'flannel.1');
    await bed.ip(h3, 'link', 'set', 'flannel.1', 'up');
    for (const [subnet, json] of store.values) {
      const lease = JSON.parse(json) as { PublicIP: string; BackendData: { VtepMAC: string } };
      const net = subnet.split('/')[0]!;
      await bed.ip(h3, 'neigh', 'replace', net, 'lladdr', lease.BackendData.VtepMAC, 'dev', 'flannel.1', 'nud', 'permanent');
      await run('bridge', ['-n', h3, 'fdb', 'replace', lease.BackendData.VtepMAC, 'dev', 'flannel.1', 'dst', lease.PublicIP, 'self', 'permanent']);
      await bed.ip(h3, 'route', 'replace', subnet, 'via', net, 'dev', 'flannel.1', 'onlink');
    }
    store.putJSON('10.244.3.0/24', `{"PublicIP":"198.18.0.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${H3_MAC}"}}`);
  }

  before(async () => {
    await run('sh', ['-c', 'command -v ping']).catch(() => {
      throw new Error('ping is required for this suite: apt-get install -y iputils-ping');
    });
    bed = await TestBed.create({ tag: 'vx', hosts: 3 });
    store = new MemoryLeaseStore(vxlanNetworkConfig());
    hosts.push(await startHost(1), await startHost(2));
    await configureByHand();
    for (const i of [1, 2, 3]) pods.push(await bed.addPod(i, `p${i}`, `10.244.${i}.2/24`, `10.244.${i}.1`));
  });

  after(async () => {
    await stopNetnsHosts(hosts);
    await bed?.destroy();
  });

  const ping = async (from: string, to: string): Promise<boolean> => {
    try {
      await run('ip', ['netns', 'exec', from, 'ping', '-c', '1', '-W', '1', to]);
      return true;
    } catch {
      return false;
    }
  };
  const show = (i: number, ...args: string[]): Promise<string> => bed.ip(bed.host(i), ...args);
  const fdb = async (i: number): Promise<string> => (await run('bridge', ['-n', bed.host(i), 'fdb', 'show', 'dev', 'flannel.1'])).stdout;
  const mac = (subnet: string): string => (JSON.parse(store.values.get(subnet)!) as { BackendData: { VtepMAC: string } }).BackendData.VtepMAC;
  const lines = (s: string): string[] => s.split('\n').map((l) => l.trim()).filter(Boolean).sort();

  async function expectPeerEntries(i: number): Promise<void> {
    const others = [1, 2, 3].filter((j) => j !== i);
    await until(async () => lines(await show(i, 'route', 'show', 'dev', 'flannel.1')).length === others.length, `routes on host ${i}`, 10000);
    expect(lines(await show(i, 'route', 'show', 'dev', 'flannel.1'))).to.deep.equal(others.map((j) => `10.244.${j}.0/24 via 10.244.${j}.0 onlink`));
    expect(lines(await show(i, 'neigh', 'show', 'dev', 'flannel.1'))).to.deep.equal(others.map((j) => `10.244.${j}.0 lladdr ${mac(`10.244.${j}.0/24`)} PERMANENT`));
    expect(lines(await fdb(i))).to.deep.equal(others.map((j) => `${mac(`10.244.${j}.0/24`)} dst 198.18.0.${j} self permanent`).sort());
  }

  it('creates flannel.1 as the reference does, with the lease JSON byte-exact', async () => {
    const link = await show(1, '-d', 'link', 'show', 'flannel.1');
    expect(link).to.contain(`link/ether ${mac('10.244.1.0/24')} `);
    expect(link).to.match(/mtu 1450 /);
    expect(link).to.match(/vxlan id 1 local 198\.18\.0\.1 dev eth0 srcport 0 0 dstport 8472 nolearning ttl auto ageing 300/);
    expect(lines(await show(1, '-4', 'addr', 'show', 'dev', 'flannel.1')).find((l) => l.startsWith('inet '))).to.match(/^inet 10\.244\.1\.0\/32 scope global flannel\.1/);
    expect((await bed.exec(bed.host(1), ['sysctl', '-n', 'net.ipv6.conf.flannel/1.accept_ra'])).trim()).to.equal('0');
    expect(store.values.get('10.244.1.0/24')).to.equal(`{"PublicIP":"198.18.0.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${mac('10.244.1.0/24')}"}}`);
  });

  it('installs exactly the reference entries for every peer, the same as the hand-made host has', async () => {
    await expectPeerEntries(1);
    await expectPeerEntries(2);
    await expectPeerEntries(3);
  });

  it('carries packets between pods on two flannel-ts hosts, over VXLAN', async () => {
    expect(await ping(pods[0]!, '10.244.2.2')).to.equal(true);
    expect(await ping(pods[1]!, '10.244.1.2')).to.equal(true);
    const stats = await show(1, '-s', 'link', 'show', 'flannel.1');
    expect(Number(/TX:.*\n\s*(\d+)\s+(\d+)/.exec(stats)?.[2] ?? 0)).to.be.greaterThan(0);
  });

  it('exchanges packets with the host configured by hand, in both directions', async () => {
    for (const p of [pods[0]!, pods[1]!]) expect(await ping(p, '10.244.3.2'), `${p} -> pod on host 3`).to.equal(true);
    expect(await ping(pods[2]!, '10.244.1.2')).to.equal(true);
    expect(await ping(pods[2]!, '10.244.2.2')).to.equal(true);
  });

  it('recreates flannel.1 deleted by hand, with its MAC, address and every peer entry', async () => {
    const before = mac('10.244.1.0/24');
    await show(1, 'link', 'del', 'flannel.1');
    await until(() => hosts[0]!.log.has('info', /recreated flannel.1 and replayed 2 of 2 peers/), 'recreation', 15000);
    await expectPeerEntries(1);
    expect(await show(1, 'link', 'show', 'flannel.1')).to.contain(`link/ether ${before} `);
    expect(await ping(pods[0]!, '10.244.2.2')).to.equal(true);
    expect(await ping(pods[0]!, '10.244.3.2')).to.equal(true);
  });

  // The full pass is 10 minutes away here: what comes back within ~1 s came back through a notification.
  it('restores an FDB entry, a neighbour and a route deleted by hand within about a second', async () => {
    const m2 = mac('10.244.2.0/24');
    const h1 = bed.host(1);
    // `bridge fdb del` and `ip … del` fail when the entry is not there, so success means it was deleted.
    await run('bridge', ['-n', h1, 'fdb', 'del', m2, 'dev', 'flannel.1', 'dst', '198.18.0.2', 'self']);
    await until(async () => (await fdb(1)).includes(`${m2} dst 198.18.0.2 self permanent`), 'the FDB entry back', 1500);
    await bed.ip(h1, 'neigh', 'del', '10.244.2.0', 'dev', 'flannel.1');
    await until(async () => (await show(1, 'neigh', 'show', 'dev', 'flannel.1')).includes(`10.244.2.0 lladdr ${m2} PERMANENT`), 'the neighbour back', 1500);
    await bed.ip(h1, 'route', 'del', '10.244.2.0/24');
    await until(async () => (await show(1, 'route', 'show', 'dev', 'flannel.1')).includes('10.244.2.0/24 via 10.244.2.0 onlink'), 'the route back', 1500);
    expect(hosts[0]!.log.has('info', /repaired 1 of 1 peers changed by someone else \(4 10.244.2.0\/24\)/)).to.equal(true);
    expect(hosts[0]!.log.has('info', /reconcile flannel.1/)).to.equal(false);
    expect(await ping(pods[0]!, '10.244.2.2')).to.equal(true);
  });

  it('lets a process started with `ip netns exec` reach its namespace through openNative() without options', async () => {
    const script = `import('${new URL('../../../native/index.js', import.meta.url).href}').then(async (m) => { const n = m.openNative(); console.log(JSON.stringify(await n.linkGet('flannel.1'))); await n.close(); })`;
    const out = await bed.exec(bed.host(2), [process.execPath, '--input-type=module', '-e', script]);
    expect(JSON.parse(out)).to.include({ name: 'flannel.1', mac: mac('10.244.2.0/24') });
  });

  it('removes the entries of a lease that goes, on every flannel-ts host', async () => {
    const m3 = mac('10.244.3.0/24');
    store.remove('10.244.3.0/24');
    for (const i of [1, 2]) {
      await until(async () => !(await show(i, 'route', 'show', 'dev', 'flannel.1')).includes('10.244.3.0'), `route gone on host ${i}`, 10000);
      expect(await show(i, 'neigh', 'show', 'dev', 'flannel.1')).to.not.contain('10.244.3.0');
      expect(await fdb(i)).to.not.contain(m3);
    }
    expect(await ping(pods[0]!, '10.244.3.2')).to.equal(false);
  });
});
