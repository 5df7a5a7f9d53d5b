// The extension backend as a user runs it: three hosts in namespaces, a real etcd, the built flanneld on
// each with SubnetAddCommand/SubnetRemoveCommand that add and remove plain routes (through the shell, as
// the reference's documentation writes them), pods through the kube-flannel CNI chain. Pods reach each
// other; a lease removed from etcd takes its route away on the other hosts.
import { expect } from 'chai';
import { Cluster } from '../udp/cluster.js';
import { until } from '../../helpers/flanneld.js';

describe('extension backend: three hosts whose commands add and remove routes @netns @etcd', function () {
  this.timeout(120_000);
  let c: Cluster;
  const routesOn = async (i: number): Promise<string[]> =>
    (await c.bed.ip(c.bed.host(i), 'route', 'show', 'dev', 'eth0')).split('\n').filter((l) => l.startsWith('10.244.')).map((l) => l.split(' ').slice(0, 3).join(' '));

  before(async () => {
    c = await Cluster.start({
      tag: 'ext',
      hosts: 3,
      backend: {
        Type: 'extension',
        SubnetAddCommand: 'ip route replace $SUBNET via $PUBLIC_IP dev eth0',
        SubnetRemoveCommand: 'ip route del $SUBNET via $PUBLIC_IP dev eth0',
      },
    });
  });
  after(async () => c?.destroy());

  it('reaches every pod from every pod over the routes the commands made', async () => {
    for (const i of [1, 2, 3]) await until(`host ${i}'s routes to the two others`, async () => (await routesOn(i)).length === 2, 20_000);
    for (const from of [1, 2, 3]) {
      for (const to of [1, 2, 3]) expect(await c.ping(from, c.podIP.get(to)!), `pod ${from} -> pod ${to}`).to.equal(true);
    }
    const subnet3 = /FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.1\/24/.exec(await c.daemons.get(3)!.subnetEnv())![1]!;
    expect(await routesOn(1)).to.include(`${subnet3}.0/24 via 198.18.0.3`);
    expect(c.daemons.get(1)!.output()).to.not.match(/failed/);
  });

  it('runs SubnetRemoveCommand when a lease goes: its route leaves the other hosts', async () => {
    const d3 = c.daemons.get(3)!;
    const subnet3 = /FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.1\/24/.exec(await d3.subnetEnv())![1]!;
    await d3.stop(); // flanneld leaves its lease in place on exit; the operator removes it
    await c.etcd.etcdctl(['del', `/coreos.com/network/subnets/${subnet3}.0-24`]);
    for (const i of [1, 2]) await until(`the route to ${subnet3}.0/24 gone on host ${i}`, async () => !(await routesOn(i)).some((r) => r.startsWith(`${subnet3}.0/24`)), 15_000);
    expect(await c.ping(1, c.podIP.get(2)!)).to.equal(true);
  });
});
