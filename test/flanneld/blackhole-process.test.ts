// The built flanneld with --ip-blackhole-route in network-namespace hosts, against a real etcd in the
// switch namespace (alloc backend): `ip route show type blackhole` on the host shows our subnet, a
// route deleted by hand comes back, SIGTERM leaves it, and a host without the flag has none.
import { expect } from 'chai';
import { type FlanneldProcess, until, useFlanneldCluster } from '../helpers/flanneld.js';

describe('flanneld --ip-blackhole-route in network namespaces @netns @etcd', function () {
  this.timeout(60_000);
  const cluster = useFlanneldCluster({ tag: 'bh', hosts: 2, config: '{"Network":"10.244.0.0/16","Backend":{"Type":"alloc"}}' });
  const flanneld = (host: number, ...args: string[]): FlanneldProcess => cluster.start(host, args);
  const blackholes = async (host: number): Promise<string[]> =>
    (await cluster.bed.ip(cluster.bed.host(host), 'route', 'show', 'type', 'blackhole')).split('\n').map((l) => l.trim()).filter(Boolean);
  const ownSubnet = (env: string): string => {
    const m = /FLANNEL_SUBNET=10\.244\.(\d+)\.1\/24/.exec(env);
    expect(m, env).to.not.equal(null);
    return `10.244.${m![1]}.0/24`;
  };

  it('keeps blackhole <own subnet>, puts it back after a deletion, and leaves it on SIGTERM', async () => {
    const h1 = flanneld(1, '--ip-blackhole-route', '--iptables-resync=1');
    const subnet = ownSubnet(await h1.waitForSubnetEnv());
    await until('the blackhole route', async () => (await blackholes(1)).length > 0, 10_000);
    expect(await blackholes(1)).to.deep.equal([`blackhole ${subnet} metric 4294967295`]);

    await cluster.bed.ip(cluster.bed.host(1), 'route', 'del', 'blackhole', subnet, 'metric', '4294967295');
    expect(await blackholes(1)).to.deep.equal([]);
    await until('the blackhole route back', async () => (await blackholes(1)).length > 0, 10_000);
    expect(await blackholes(1)).to.deep.equal([`blackhole ${subnet} metric 4294967295`]);
    await until('the repair in the log', () => h1.output().includes(`the blackhole route for ${subnet} was missing; put it back`), 5000);

    expect(await h1.stop()).to.equal(0);
    expect(await blackholes(1)).to.deep.equal([`blackhole ${subnet} metric 4294967295`]);
  });

  it('adds no blackhole route without the flag', async () => {
    const h2 = flanneld(2, '--iptables-resync=1');
    await h2.waitForSubnetEnv();
    await until('running', () => h2.output().includes('running backend alloc'), 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await blackholes(2)).to.deep.equal([]);
    expect(await h2.stop()).to.equal(0);
  });
});
