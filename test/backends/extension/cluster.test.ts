// The extension backend as a user runs it: three hosts in namespaces, a real etcd, the built flanneld on
// each with SubnetAddCommand/SubnetRemoveCommand that add and remove plain routes (through the shell, as
// the reference's documentation writes them), pods through the kube-flannel CNI chain. Pods reach each
// other; a lease removed from etcd takes its route away on the other hosts; a failing command is logged
// with its exit code and stderr and retried, and flanneld keeps running.
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../udp/cluster.js';
import { until } from '../../helpers/flanneld.js';

describe('extension backend: three hosts whose commands add and remove routes @netns @etcd', function () {
  this.timeout(120_000);
  let c: Cluster;
  let dir: string;
  const routesOn = async (i: number): Promise<string[]> =>
    (await c.bed.ip(c.bed.host(i), 'route', 'show', 'dev', 'eth0')).split('\n').filter((l) => l.startsWith('10.244.')).map((l) => l.split(' ').slice(0, 3).join(' '));
  const subnetOf = async (i: number): Promise<string> => /FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.1\/24/.exec(await c.daemons.get(i)!.subnetEnv())![1]!;

  before(async () => {
    // While the file `fail` exists, every SubnetAddCommand fails with exit code 7 and two lines on stderr.
    dir = await mkdtemp(join(tmpdir(), 'fl-ext-cmd-'));
    c = await Cluster.start({
      tag: 'ext',
      hosts: 3,
      backend: {
        Type: 'extension',
        SubnetAddCommand: `if [ -e ${dir}/fail ]; then echo "refusing $SUBNET"; echo "no route today" >&2; echo "second line" >&2; exit 7; fi; ip route replace $SUBNET via $PUBLIC_IP dev eth0`,
        SubnetRemoveCommand: 'ip route del $SUBNET via $PUBLIC_IP dev eth0',
      },
    });
  });
  after(async () => {
    await c?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reaches every pod from every pod over the routes the commands made', async () => {
    for (const i of [1, 2, 3]) await until(`host ${i}'s routes to the two others`, async () => (await routesOn(i)).length === 2, 20_000);
    for (const from of [1, 2, 3]) {
      for (const to of [1, 2, 3]) expect(await c.ping(from, c.podIP.get(to)!), `pod ${from} -> pod ${to}`).to.equal(true);
    }
    expect(await routesOn(1)).to.include(`${await subnetOf(3)}.0/24 via 198.18.0.3`);
    expect(c.daemons.get(1)!.output()).to.not.match(/failed/);
  });

  it('logs a failing SubnetAddCommand with its exit code and stderr, retries it and keeps running', async () => {
    await writeFile(join(dir, 'fail'), '');
    const lease = '{"PublicIP":"198.18.0.9","PublicIPv6":null,"BackendType":"extension"}';
    await c.etcd.etcdctl(['put', '/coreos.com/network/subnets/10.244.200.0-24', lease]);
    const failure = 'extension: SubnetAddCommand for 10.244.200.0/24 failed (exit code 7, stderr "no route today\\nsecond line", stdout "refusing 10.244.200.0/24"); retrying in';
    const failures = (i: number): number => c.daemons.get(i)!.output().split(failure).length - 1;
    for (const i of [1, 2, 3]) await until(`host ${i} to fail twice`, () => failures(i) >= 2, 15_000);
    for (const i of [1, 2, 3]) expect(c.daemons.get(i)!.child.exitCode, `flanneld on host ${i}`).to.equal(null);
    expect(await routesOn(1)).to.not.include('10.244.200.0/24 via 198.18.0.9');

    await rm(join(dir, 'fail'));
    for (const i of [1, 2, 3]) await until(`the retried route on host ${i}`, async () => (await routesOn(i)).includes('10.244.200.0/24 via 198.18.0.9'), 20_000);
    expect(c.daemons.get(1)!.output()).to.match(/SubnetAddCommand for 10\.244\.200\.0\/24 succeeded after \d+ failed attempt\(s\)/);

    await c.etcd.etcdctl(['del', '/coreos.com/network/subnets/10.244.200.0-24']);
    for (const i of [1, 2, 3]) await until(`the route to 10.244.200.0/24 gone on host ${i}`, async () => !(await routesOn(i)).some((r) => r.startsWith('10.244.200.0/24')), 15_000);
    expect(await c.ping(1, c.podIP.get(3)!)).to.equal(true);
  });

  it('runs SubnetRemoveCommand when a lease goes: its route leaves the other hosts', async () => {
    const d3 = c.daemons.get(3)!;
    const subnet3 = await subnetOf(3);
    await d3.stop(); // flanneld leaves its lease in place on exit; the operator removes it
    await c.etcd.etcdctl(['del', `/coreos.com/network/subnets/${subnet3}.0-24`]);
    for (const i of [1, 2]) await until(`the route to ${subnet3}.0/24 gone on host ${i}`, async () => !(await routesOn(i)).some((r) => r.startsWith(`${subnet3}.0/24`)), 15_000);
    expect(await routesOn(1)).to.include(`${await subnetOf(2)}.0/24 via 198.18.0.2`);
    expect(await c.ping(1, c.podIP.get(2)!)).to.equal(true);
  });
});
