// The udp backend end to end, as a user runs it: a real etcd, three hosts made of network namespaces
// each running the built flanneld with {"Backend":{"Type":"udp"}}, and a pod per host attached through
// the unchanged kube-flannel conflist (test/backends/udp/cluster.ts).
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { statusOf, until } from '../../helpers/flanneld.js';
import { Cluster, UDP_HEALTHZ_PORT } from './cluster.js';

describe('udp overlay end to end: flanneld + CNI chain in namespaces @netns @etcd', function () {
  this.timeout(120_000);
  let c: Cluster;
  const ip = (i: number): string => c.podIP.get(i)!;

  before(async function () {
    this.timeout(180_000);
    c = await Cluster.start({ tag: 'udpe2e', hosts: 3, backend: { Type: 'udp' } });
  });

  after(async function () {
    this.timeout(60_000);
    await c?.destroy();
  });

  it('writes leases with the public IP only, as the reference, and FLANNEL_MTU = 1500 - 28', async () => {
    const values = [...(await c.leases()).values()].sort();
    expect(values).to.deep.equal([1, 2, 3].map((i) => `{"PublicIP":"198.18.0.${i}","PublicIPv6":null}`));
    expect(await c.daemons.get(1)!.subnetEnv()).to.include('FLANNEL_MTU=1472\n');
  });

  it('every pod pings every other pod across hosts', async () => {
    for (const i of [1, 2, 3]) {
      for (const j of [1, 2, 3]) if (i !== j) expect(await c.ping(i, ip(j)), `pod ${i} -> pod ${j}`).to.equal(true);
    }
  });

  it('probes every peer through flannel0 at its .0: flanneld status shows both reachable, the path MTU ok', async () => {
    await until('host 1 sees both peers reachable with their MTU checked', async () => {
      const doc = await statusOf(c.bed, 1, UDP_HEALTHZ_PORT);
      return doc?.summary.reachable === 2 && doc.peers.every((p) => p.mtu.state === 'ok');
    });
    const doc = (await statusOf(c.bed, 1, UDP_HEALTHZ_PORT))!;
    expect(doc.backend).to.equal('udp');
    for (const p of doc.peers) {
      expect(p.probeAddress).to.equal(p.subnet.replace(/\/\d+$/, ''));
      expect(p.path).to.equal('through flannel0');
      expect(p.mtu.size).to.equal(1472);
    }
  });

  it('passes 1472-byte packets with DF set and refuses 1473', async () => {
    expect(await c.ping(1, ip(2), '-M', 'do', '-s', String(1472 - 28))).to.equal(true);
    expect(await c.ping(1, ip(2), '-M', 'do', '-s', String(1473 - 28))).to.equal(false);
  });

  it('puts the raw inner IP packet, nothing else, into UDP datagrams between the hosts on port 8285', async () => {
    // Only the datagram carrying pod 2's address as the inner destination (bytes 16-19 of the inner
    // header, after the 8-byte UDP header): the peer probes travel the same way.
    const innerDst = `0x${Buffer.from(ip(2).split('.').map(Number)).toString('hex')}`;
    const dump = spawn('ip', ['netns', 'exec', c.bed.host(1), 'timeout', '10', 'tcpdump', '-lnxi', 'eth0', '-c', '1', `udp and src port 8285 and dst port 8285 and udp[24:4] = ${innerDst}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    dump.stdout.on('data', (b: Buffer) => (out += b.toString()));
    dump.stderr.on('data', (b: Buffer) => (out += b.toString()));
    await until('tcpdump to listen', () => out.includes('listening on'));
    await c.ping(1, ip(2));
    await new Promise((r) => dump.once('exit', r));
    expect(out, out).to.match(/198\.18\.0\.1\.8285 > 198\.18\.0\.2\.8285: UDP, length 84/);
    const hex = [...out.matchAll(/^\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{4} ?)+)/gm)].map((m) => m[1]!.replace(/ /g, '')).join('');
    const inner = Buffer.from(hex, 'hex').subarray(28); // outer IPv4 (20) + UDP (8)
    expect(inner[0], 'inner IPv4 header').to.equal(0x45);
    expect(inner.readUInt16BE(2), 'inner total length = the whole payload').to.equal(84);
    // The source is pod 1, or host 1's flannel0 address when the bridge masquerades (FLANNEL_IPMASQ=false).
    const net24 = (a: string): string => a.split('.').slice(0, 3).join('.');
    expect(net24([...inner.subarray(12, 16)].join('.')), 'inner source in host 1\'s subnet').to.equal(net24(ip(1)));
    expect([...inner.subarray(16, 20)].join('.'), 'inner destination').to.equal(ip(2));
  });

  it('carries a TCP stream (iperf3) between pods', async () => {
    c.bed.spawn(c.pod(2), ['iperf3', '-s', '-1']);
    await until('iperf3 server', async () => (await c.bed.exec(c.pod(2), ['ss', '-ltn'])).includes(':5201'));
    const out = JSON.parse(await c.bed.exec(c.pod(1), ['iperf3', '-c', ip(2), '-t', '2', '-J'])) as { end: { sum_received: { bytes: number } } };
    expect(out.end.sum_received.bytes).to.be.greaterThan(10e6);
  });

  it('stops the loop and frees flannel0 when flanneld stops; the others answer net unreachable once its lease is gone', async () => {
    const gone = [...(await c.leases()).entries()].find(([, v]) => v.includes('198.18.0.3'))![0];
    expect(await c.daemons.get(3)!.stop()).to.equal(0);
    expect(await c.bed.ip(c.bed.host(3), 'link', 'show', 'flannel0').then(() => 'present', () => 'gone')).to.equal('gone');
    expect(c.daemons.get(3)!.output()).to.match(/udp loop stopped, flannel0 removed/);
    await c.etcd.etcdctl(['del', `/coreos.com/network/subnets/${gone.replace('/', '-')}`]);
    for (const i of [1, 2]) {
      await until(`host ${i} answers net unreachable for ${gone}`, async () => (await c.udpProbe(i, ip(3))) === 'ENETUNREACH', 30_000);
    }
    expect(await c.ping(1, ip(2))).to.equal(true);
  });
});
