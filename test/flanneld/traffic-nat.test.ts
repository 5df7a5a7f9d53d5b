// Real NAT through the rules flanneld writes: two namespace hosts with --ip-masq, a pod on each, and
// a server outside the pod network (the switch, which has no route to 10.244.0.0/16). The pod's
// packets reach the server with the host's address; pod-to-pod packets keep the pod addresses.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { until, useFlanneldCluster } from '../helpers/flanneld.js';

describe('masquerade with --ip-masq: real NAT in namespaces @netns @etcd', function () {
  this.timeout(120_000);
  const cluster = useFlanneldCluster({ tag: 'nat', hosts: 2, config: '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}' });
  const pods = new Map<number, { ns: string; ip: string }>();

  /** Captures one ICMP echo request matching `filter` on `dev` in `ns` while `action` runs. */
  async function capture(ns: string, dev: string, filter: string, action: () => Promise<unknown>): Promise<string> {
    const dump = spawn('ip', ['netns', 'exec', ns, 'timeout', '15', 'tcpdump', '-lnni', dev, '-c', '1', filter], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    dump.stdout.on('data', (b: Buffer) => (out += b.toString()));
    dump.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const done = new Promise((r) => dump.once('exit', r));
    await until('tcpdump listening', () => err.includes('listening on'));
    await action();
    await done;
    return out;
  }

  const ping = (from: number, to: string) =>
    cluster.bed.exec(pods.get(from)!.ns, ['ping', '-c', '2', '-W', '2', to]).then(
      () => true,
      () => false,
    );

  before(async function () {
    this.timeout(90_000);
    for (const i of [1, 2]) {
      const env = await cluster.start(i, ['--ip-masq']).waitForSubnetEnv();
      const gw = /FLANNEL_SUBNET=([\d.]+)\/24/.exec(env)![1]!;
      const ip = gw.replace(/\.1$/, '.2');
      pods.set(i, { ns: await cluster.bed.addPod(i, `pod${i}`, `${ip}/24`, gw), ip });
    }
    await until('rules on host 1', async () => (await cluster.bed.exec(cluster.bed.host(1), ['iptables-save', '-t', 'nat'])).includes('MASQUERADE'));
  });

  it('a pod reaches a server outside the pod network with the host address as source', async () => {
    let ok = false;
    const seen = await capture(cluster.bed.sw, 'br0', 'icmp[icmptype] == icmp-echo and dst host 198.18.0.254', async () => (ok = await ping(1, '198.18.0.254')));
    expect(seen).to.match(/IP 198\.18\.0\.1 > 198\.18\.0\.254: ICMP echo request/);
    expect(seen).not.to.include(pods.get(1)!.ip);
    expect(ok, 'replies come back through the NAT').to.equal(true);
  });

  it('pod-to-pod traffic across hosts keeps the pod addresses', async () => {
    const p1 = pods.get(1)!;
    const p2 = pods.get(2)!;
    let ok = false;
    const seen = await capture(p2.ns, 'eth0', 'icmp[icmptype] == icmp-echo', async () => (ok = await ping(1, p2.ip)));
    expect(seen).to.include(`IP ${p1.ip} > ${p2.ip}: ICMP echo request`);
    expect(ok).to.equal(true);
  });

  it('the host itself reaches a remote pod with a masqueraded source (rule "! -s Network -d Network")', async () => {
    const p2 = pods.get(2)!;
    const seen = await capture(p2.ns, 'eth0', 'icmp[icmptype] == icmp-echo', () => cluster.bed.exec(cluster.bed.host(1), ['ping', '-c', '2', '-W', '2', '-I', '198.18.0.1', p2.ip]));
    // From the underlay address the packet leaves flannel.1 masqueraded to flannel.1's own address (10.244.x.0).
    expect(seen).to.match(/IP 10\.244\.\d+\.0 > /);
  });
});
