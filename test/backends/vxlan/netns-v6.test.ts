// Dual stack against the real kernel: two hosts with IPv4 and IPv6 underlay addresses run the backend
// with EnableIPv6; both devices come up, the v6 device has MTU base - 70 (spec README item 3), and
// IPv6 packets cross flannel-v6.1.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TestBed } from '../../helpers/netns.js';
import { startNetnsHost, stopNetnsHosts, until, type NetnsHost } from './harness.js';
import { MemoryLeaseStore, dualStackConfig } from '../../helpers/memory-store.js';

const run = promisify(execFile);

describe('vxlan backend, dual stack, in network namespaces @netns', function () {
  this.timeout(60000);
  let bed: TestBed;
  let store: MemoryLeaseStore;
  const hosts: NetnsHost[] = [];

  before(async () => {
    bed = await TestBed.create({ tag: 'v6', hosts: 2, ipv6: true });
    store = new MemoryLeaseStore(dualStackConfig());
    for (const i of [1, 2]) hosts.push(await startNetnsHost(bed, i, store, dualStackConfig(), { reconcileIntervalMs: 500 }));
  });

  after(async () => {
    await stopNetnsHosts(hosts);
    await bed?.destroy();
  });

  const data6 = (subnet: string): { VNI: number; VtepMAC: string } => JSON.parse(store.values.get(subnet)!).BackendV6Data;

  it('creates flannel-v6.1 with MTU base - 70 and its /128, and writes both families into the lease', async () => {
    const link = await bed.ip(bed.host(1), '-d', 'link', 'show', 'flannel-v6.1');
    expect(link).to.match(/mtu 1430 /);
    expect(link).to.match(/vxlan id 1 local fd00:198:18::1 dev eth0 srcport 0 0 dstport 8472 nolearning/);
    expect(await bed.ip(bed.host(1), '-6', 'addr', 'show', 'dev', 'flannel-v6.1', 'scope', 'global')).to.contain('inet6 fd00:10:244:1::/128 scope global');
    expect(hosts[0]!.network.mtu).to.equal(1430);
    const mac6 = (await hosts[0]!.native.linkGet('flannel-v6.1'))!.mac!;
    const mac4 = (await hosts[0]!.native.linkGet('flannel.1'))!.mac!;
    expect(store.values.get('10.244.1.0/24')).to.equal(
      `{"PublicIP":"198.18.0.1","PublicIPv6":"fd00:198:18::1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${mac4}"},"BackendV6Data":{"VNI":1,"VtepMAC":"${mac6}"}}`,
    );
  });

  it('installs the IPv6 neighbour, FDB entry and onlink route for the peer', async () => {
    const h1 = bed.host(1);
    await until(async () => (await bed.ip(h1, '-6', 'route', 'show', 'dev', 'flannel-v6.1')).includes('fd00:10:244:2::/64'), 'v6 route', 10000);
    expect(await bed.ip(h1, '-6', 'route', 'show', 'dev', 'flannel-v6.1')).to.match(/^fd00:10:244:2::\/64 via fd00:10:244:2:: .*onlink/m);
    expect(await bed.ip(h1, '-6', 'neigh', 'show', 'dev', 'flannel-v6.1')).to.contain(`fd00:10:244:2:: lladdr ${data6('10.244.2.0/24').VtepMAC} PERMANENT`);
    expect((await run('bridge', ['-n', h1, 'fdb', 'show', 'dev', 'flannel-v6.1'])).stdout).to.contain(`${data6('10.244.2.0/24').VtepMAC} dst fd00:198:18::2 self permanent`);
  });

  it('carries IPv6 and IPv4 packets between the hosts', async () => {
    const ping = async (args: string[]): Promise<boolean> => run('ip', ['netns', 'exec', bed.host(1), 'ping', '-c', '1', '-W', '1', ...args]).then(() => true, () => false);
    await until(() => ping(['-6', 'fd00:10:244:2::']), 'an IPv6 ping across flannel-v6.1 (after DAD)', 15000);
    expect(await ping(['10.244.2.0'])).to.equal(true);
  });

  it('finds nothing to fix in reconcile passes over a correct kernel state (no churn)', async () => {
    await new Promise((r) => setTimeout(r, 1600));
    for (const h of hosts) expect(h.log.lines.filter((l) => /reconcile|recreat/.test(l.message))).to.deep.equal([]);
  });
});
