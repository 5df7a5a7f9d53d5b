// Issue 12 on real parts: two hosts in namespaces run the built flanneld (vxlan) on a real etcd; leases
// that break each acceptance rule are written next to good ones with etcdctl while host 1 pings host 2
// through the overlay. The kernel of host 1 must hold exactly the good leases' entries, before and
// after the bad ones are deleted, and the ping must not stop. Then a fuzz pass writes a few hundred
// random keys and values: flanneld stays up and every good lease stays programmed.
import { expect } from 'chai';
import { useFlanneldCluster, until, type FlanneldProcess } from '../helpers/flanneld.js';

const PREFIX = '/coreos.com/network/subnets/';
const GOOD_MAC = '0a:58:0a:f4:fa:00';

interface Kernel {
  routes: string[];
  neigh: string[];
  fdb: string[];
}

const value = (publicIP: string, mac: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ PublicIP: publicIP, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: mac }, ...extra });

describe('bad leases never reach the kernel (issue 12) @netns @etcd', function () {
  this.timeout(180_000);
  const c = useFlanneldCluster({ tag: 'badls', hosts: 2, config: '{"Network":"10.244.0.0/16","SubnetMax":"10.244.100.0","Backend":{"Type":"vxlan"}}' });
  let h1: FlanneldProcess;
  let own: number; // third octet of host 1's subnet
  let peer: number; // and of host 2's
  let peerMac: string;

  const kernel = async (): Promise<Kernel> => {
    const lines = (s: string): string[] => s.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    return {
      routes: lines(await c.bed.ip(c.bed.host(1), 'route', 'show', 'dev', 'flannel.1')),
      neigh: lines(await c.bed.ip(c.bed.host(1), 'neigh', 'show', 'dev', 'flannel.1')),
      fdb: lines(await c.bed.exec(c.bed.host(1), ['bridge', 'fdb', 'show', 'dev', 'flannel.1'])).filter((l) => l.includes(' dst ')),
    };
  };
  /** What host 1's kernel must hold: host 2 and the good extra lease (10.244.250.0/24). */
  const expected = (): Kernel => ({
    routes: [`10.244.${peer}.0/24 via 10.244.${peer}.0 onlink`, '10.244.250.0/24 via 10.244.250.0 onlink'].sort(),
    neigh: [`10.244.${peer}.0 lladdr ${peerMac} PERMANENT`, `10.244.250.0 lladdr ${GOOD_MAC} PERMANENT`].sort(),
    fdb: [`${peerMac} dst 198.18.0.2 self permanent`, `${GOOD_MAC} dst 198.18.0.99 self permanent`].sort(),
  });
  const sorted = (k: Kernel): Kernel => ({ routes: [...k.routes].sort(), neigh: [...k.neigh].sort(), fdb: [...k.fdb].sort() });
  const put = (key: string, v: string): Promise<string> => c.etcd.etcdctl(['put', `${PREFIX}${key}`, v]);

  before(async function () {
    this.timeout(120_000);
    h1 = c.start(1);
    const h2 = c.start(2);
    const third = (env: string): number => Number(/FLANNEL_SUBNET=10\.244\.(\d+)\./.exec(env)![1]);
    own = third(await h1.waitForSubnetEnv());
    peer = third(await h2.waitForSubnetEnv());
    const stored = await c.etcd.etcdctl(['get', `${PREFIX}10.244.${peer}.0-24`, '--print-value-only']);
    peerMac = (JSON.parse(stored) as { BackendData: { VtepMAC: string } }).BackendData.VtepMAC;
    await put('10.244.250.0-24', value('198.18.0.99', GOOD_MAC));
    await until('host 1 programs host 2 and the good lease', async () => JSON.stringify(sorted(await kernel())) === JSON.stringify(expected()), 30_000);
  });

  /**
   * Host 1 handles lease events in order: once a good lease written now is programmed (and then gone
   * again), every lease written before it has been handled.
   */
  const barrier = async (): Promise<void> => {
    const has = async (): Promise<boolean> => (await kernel()).routes.some((r) => r.startsWith('10.244.252.0/24 '));
    await put('10.244.252.0-24', value('198.18.0.98', '0a:58:0a:f4:fc:00'));
    await until('the barrier lease is programmed', has);
    await c.etcd.etcdctl(['del', `${PREFIX}10.244.252.0-24`]);
    await until('the barrier lease is gone', async () => !(await has()));
  };

  /** Every case of the issue, relative to the live subnets. */
  const badLeases = (): Array<[string, string]> => [
    [`10.244.${peer}.0-25`, value('198.18.0.77', '0a:00:00:00:00:77')],
    [`10.244.${peer & 0xfe}.0-23`, value('198.18.0.78', '0a:00:00:00:00:78')],
    [`10.244.${peer}.5-24`, value('198.18.0.79', '0a:00:00:00:00:79')],
    [`10.244.${own}.0-25`, value('198.18.0.80', '0a:00:00:00:00:80')],
    ['10.244.0.0-16', value('198.18.0.81', '0a:00:00:00:00:81')],
    ['192.168.77.0-24', value('198.18.0.82', '0a:00:00:00:00:82')],
    ['10.244.201.0-24', value('127.0.0.1', '0a:00:00:00:00:83')],
    ['10.244.202.0-24', value('239.1.1.1', '0a:00:00:00:00:84')],
    ['10.244.203.0-24', value('198.18.0.1', '0a:00:00:00:00:85')],
    ['10.244.204.0-24', value('198.18.0.86', 'ff:ff:ff:ff:ff:ff')],
    ['10.244.205.0-24', value('198.18.0.87', '01:00:5e:00:00:01')],
    ['10.244.206.0-24', value('198.18.0.88', '00:00:00:00:00:00')],
    ['10.244.207.0-24', value('198.18.0.89', '0a:00:00:00:00:89', { BackendData: { VNI: 7, VtepMAC: '0a:00:00:00:00:89' } })],
    ['10.244.208.0-24', value('198.18.0.90', '0a:00:00:00:00:90', { BackendType: 'host-gw' })],
  ];

  it('keeps the kernel to the good leases and the ping going while bad leases come and go', async () => {
    const target = `10.244.${peer}.0`;
    const pinger = c.bed.exec(c.bed.host(1), ['ping', '-n', '-i', '0.1', '-c', '100', '-W', '1', target]).catch((e: { stdout?: string }) => e.stdout ?? '');
    await new Promise((r) => setTimeout(r, 1000));
    const bad = badLeases();
    for (const [k, v] of bad) await put(k, v);
    for (const [k, v] of bad) await put(k, v); // the same value again: no second warning
    await barrier();
    expect(sorted(await kernel())).to.deep.equal(expected());
    expect(bad.filter(([k]) => !h1.output().includes(`ignoring the lease ${PREFIX}${k}:`)), 'bad leases not warned about').to.deep.equal([]);
    for (const [k] of bad) await c.etcd.etcdctl(['del', `${PREFIX}${k}`]);
    await barrier();
    expect(sorted(await kernel())).to.deep.equal(expected());
    const out = await pinger;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    expect(m, out).to.not.equal(null);
    expect(Number(m![1]) - Number(m![2]), out).to.be.at.most(1);
    for (const [k] of bad) expect(h1.output().split(`ignoring the lease ${PREFIX}${k}:`).length - 1, k).to.equal(1);
  });

  it('accepts the newer of two overlapping leases once the older is deleted', async () => {
    // Two keys with the same IPv4 /24 (the second with an IPv6 part this IPv4-only network ignores).
    const older = '10.244.251.0-24';
    const newer = '10.244.251.0-24&fd00:1::-64';
    const route = async (): Promise<string> => (await kernel()).neigh.find((n) => n.startsWith('10.244.251.0 ')) ?? '';
    await put(older, value('198.18.0.91', '0a:00:00:00:00:91'));
    await until('the older lease is programmed', async () => (await route()).includes('0a:00:00:00:00:91'));
    await put(newer, value('198.18.0.92', '0a:00:00:00:00:92'));
    await until('host 1 warns about the newer', () => h1.output().includes(`ignoring the lease ${PREFIX}${newer}:`));
    expect(await route()).to.include('0a:00:00:00:00:91');
    await c.etcd.etcdctl(['del', `${PREFIX}${older}`]);
    await until('the newer replaces it', async () => (await route()).includes('0a:00:00:00:00:92'));
    await c.etcd.etcdctl(['del', `${PREFIX}${newer}`]);
    await until('and goes with its key', async () => !(await kernel()).routes.some((r) => r.startsWith('10.244.251.')));
  });

  it('survives a few hundred random keys and values (fuzz); every good lease stays programmed', async () => {
    let seed = 12;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
    const keys = (): string =>
      pick([
        `10.244.${rnd(256)}.${rnd(256)}-${rnd(33)}`,
        `10.${rnd(256)}.${rnd(256)}.0-24`,
        `10.244.${peer}.${rnd(256)}-${25 + rnd(8)}`,
        `10.244.${rnd(256)}.0-24&fd00::${rnd(999)}-${rnd(129)}`,
        `junk-${rnd(1000)}`,
        `10.244.${own}.${rnd(256)}-${24 + rnd(9)}`,
      ]);
    const values = (): string =>
      pick([
        value(`198.18.${rnd(256)}.${rnd(256)}`, pick(['0a:00:00:00:00:01', 'ff:ff:ff:ff:ff:ff', 'zz', '00:00:00:00:00:00'])),
        value(pick(['127.0.0.1', '0.0.0.0', '224.0.0.5', '198.18.0.1', 'nope']), '0a:00:00:00:00:02'),
        '{"PublicIP":', 'null', '[]', '{"PublicIP":"198.18.0.5","BackendType":"vxlan","BackendData":"\u0007\u001b[31m"}',
        JSON.stringify({ PublicIP: '198.18.0.5', BackendType: 'vxlan', BackendData: { VNI: rnd(3), VtepMAC: 12 } }),
      ]);
    const written = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const k = keys();
      if ([`10.244.${peer}.0-24`, `10.244.${own}.0-24`, '10.244.250.0-24'].includes(k)) continue;
      written.add(k);
      await put(k, values());
      if (i % 50 === 49) await c.etcd.etcdctl(['del', `${PREFIX}${pick([...written])}`]);
    }
    await new Promise((r) => setTimeout(r, 2000));
    expect(h1.child.exitCode, h1.output().slice(-2000)).to.equal(null);
    const k = await kernel();
    const want = expected();
    for (const r of want.routes) expect(k.routes, 'route').to.include(r);
    for (const n of want.neigh) expect(k.neigh, 'neigh').to.include(n);
    for (const f of want.fdb) expect(k.fdb, 'fdb').to.include(f);
    const target = `10.244.${peer}.0`;
    expect(await c.bed.exec(c.bed.host(1), ['ping', '-c', '2', '-W', '1', target]).then(() => true, () => false)).to.equal(true);
  });
});
