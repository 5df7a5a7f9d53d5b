// host-gw end to end: the built flanneld on three hosts of one segment plus a fourth behind a router,
// against etcd in the switch namespace. What a user sees: the lease values in etcd, subnet.env, the exact
// `ip route` lines on every host, pods pinging each other, a route deleted by hand coming back, routes
// going with their lease, and the host on the other segment warned about instead of black-holed.
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEtcd, type EtcdInstance } from '../../helpers/etcd.js';
import { TestBed } from '../../helpers/netns.js';
import { addRoutedHost, type RoutedHost } from './routed-host.js';

const FLANNELD = resolve('flanneld/flanneld');
const SWITCH = '198.18.0.254';
const CONFIG = '{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}';
const SAME_SEGMENT = [1, 2, 3];
const FAR = 4;

interface Daemon {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('host-gw: flanneld on three hosts of one segment and one behind a router @netns @etcd', function () {
  this.timeout(90_000);
  let bed: TestBed;
  let far: RoutedHost | undefined;
  let etcd: EtcdInstance | undefined;
  let tmp = '';
  const daemons = new Map<number, Daemon>();
  const spawned: Daemon[] = [];
  /** Third octet of each host's subnet, 10.244.<n>.0/24. */
  const octet = new Map<number, number>();

  const addr = (i: number): string => (i === FAR ? `198.18.1.${i}` : bed.hostAddr(i));
  const subnet = (i: number): string => `10.244.${octet.get(i)}.0/24`;
  const podIP = (i: number): string => `10.244.${octet.get(i)}.2`;
  const pod = (i: number): string => `${bed.prefix}-p${i}`;
  const subnetEnv = (i: number): Promise<string> => readFile(join(tmp, `h${i}`, 'subnet.env'), 'utf8').catch(() => '');
  /** The host's `ip route` lines for pod subnets, as printed. */
  const podRoutes = async (i: number): Promise<string[]> =>
    (await bed.ip(bed.host(i), 'route')).split('\n').map((l) => l.trim()).filter((l) => l.startsWith('10.244.')).sort();
  const sameSegmentRoutes = (i: number): string[] =>
    SAME_SEGMENT.filter((j) => j !== i).map((j) => `${subnet(j)} via ${addr(j)} dev eth0 proto 157`);
  const ping = (from: number, to: number): Promise<string> => bed.exec(pod(from), ['ping', '-c', '2', '-i', '0.2', '-W', '2', podIP(to)]);

  /** Starts flanneld on host i; without extra args it becomes that host's daemon in `daemons`. */
  function flanneld(i: number, ...args: string[]): Daemon {
    const child = bed.spawn(bed.host(i), [
      'env', `FLANNELD_NODE=${process.execPath}`, FLANNELD, `--etcd-endpoints=http://${SWITCH}:2379`, '--iface=eth0', `--subnet-file=${join(tmp, `h${i}`, 'subnet.env')}`,
      ...args,
    ]);
    let out = '';
    child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    const d = { child, output: () => out, exited: new Promise<number | null>((r) => child.once('exit', (code) => r(code))) };
    spawned.push(d);
    if (args.length === 0) daemons.set(i, d);
    return d;
  }

  before(async function () {
    this.timeout(60_000);
    bed = await TestBed.create({ tag: 'hgw', hosts: SAME_SEGMENT.length });
    far = await addRoutedHost(bed, FAR);
    await bed.ip(bed.host(1), 'link', 'set', 'eth0', 'mtu', '1400');
    etcd = await startEtcd({ netns: bed.sw, listenHost: SWITCH });
    tmp = await mkdtemp(join(tmpdir(), 'fl-hgw-'));
    await etcd.etcdctl(['put', '/coreos.com/network/config', CONFIG]);
    for (const i of [...SAME_SEGMENT, FAR]) flanneld(i);
    for (const i of [...SAME_SEGMENT, FAR]) {
      await until(`subnet.env of host ${i}`, async () => /FLANNEL_SUBNET=10\.244\.\d+\.1\/24/.test(await subnetEnv(i)));
      octet.set(i, Number(/FLANNEL_SUBNET=10\.244\.(\d+)\.1/.exec(await subnetEnv(i))![1]));
    }
    for (const i of SAME_SEGMENT) await bed.addPod(i, `p${i}`, `${podIP(i)}/24`, `10.244.${octet.get(i)}.1`);
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed' && !process.env.HGW_SHOW_LOGS) return;
    for (const [i, d] of daemons) console.log(`--- flanneld on host ${i} ---\n${d.output().slice(-6000)}`);
  });

  after(async function () {
    this.timeout(30_000);
    for (const d of spawned) if (d.child.exitCode === null) d.child.kill('SIGKILL');
    await etcd?.stop();
    await far?.destroy();
    await bed?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('refuses a public IP that is not the interface address (NAT) with the reference message, exit 1, no lease', async () => {
    const keys = await etcd!.etcdctl(['get', '/coreos.com/network/subnets/', '--prefix', '--keys-only']);
    const nat = flanneld(1, '--public-ip=198.18.0.99');
    expect(await nat.exited).to.equal(1);
    expect(nat.output()).to.include(
      "fatal: HostGwError: your PublicIP differs from interface IP, meaning that probably you're on a NAT, which is not supported by host-gw backend",
    );
    expect(await etcd!.etcdctl(['get', '/coreos.com/network/subnets/', '--prefix', '--keys-only'])).to.equal(keys);
  });

  it('writes the exact host-gw lease value per host, and FLANNEL_MTU is the interface MTU', async () => {
    for (const i of [...SAME_SEGMENT, FAR]) {
      const value = await etcd!.etcdctl(['get', `/coreos.com/network/subnets/10.244.${octet.get(i)}.0-24`, '--print-value-only']);
      expect(value.trim(), `host ${i}`).to.equal(`{"PublicIP":"${addr(i)}","PublicIPv6":null,"BackendType":"host-gw"}`);
      expect(await subnetEnv(i)).to.include(`FLANNEL_MTU=${i === 1 ? 1400 : 1500}\n`);
    }
  });

  it('routes every other host of the segment as "<subnet> via <public IP> dev eth0", and nothing else', async () => {
    for (const i of SAME_SEGMENT) {
      const own = `${subnet(i)} dev cni0 proto kernel scope link src 10.244.${octet.get(i)}.1`;
      const want = [own, ...sameSegmentRoutes(i)].sort();
      await until(`routes on host ${i}`, async () => JSON.stringify(await podRoutes(i)) === JSON.stringify(want)).catch(async (e: Error) => {
        throw new Error(`${e.message}: have ${JSON.stringify(await podRoutes(i))}, want ${JSON.stringify(want)}`);
      });
    }
    // The host behind the router reaches none of them directly: it routes no pod subnet at all.
    expect(await podRoutes(FAR)).to.deep.equal([]);
  });

  it('lets every pod ping every other pod (full matrix)', async () => {
    for (const a of SAME_SEGMENT) {
      for (const b of SAME_SEGMENT) {
        if (a !== b) expect(await ping(a, b), `pod ${a} -> pod ${b}`).to.match(/ 0% packet loss/);
      }
    }
  });

  it('warns about the host on the other segment, naming it, on every other host, and installs no route for it', async () => {
    for (const i of SAME_SEGMENT) {
      const warning =
        `not routing to host ${subnet(FAR)} (public IP ${addr(FAR)}): its public IP ${addr(FAR)} is not directly reachable on eth0 ` +
        '(the kernel routes it via gateway 198.18.0.253)';
      await until(`the warning on host ${i}`, () => daemons.get(i)!.output().includes(warning));
      expect((await podRoutes(i)).filter((l) => l.startsWith(subnet(FAR)))).to.deep.equal([]);
    }
    for (const j of SAME_SEGMENT) {
      expect(daemons.get(FAR)!.output()).to.include(`not routing to host ${subnet(j)} (public IP ${addr(j)}): its public IP ${addr(j)} is not directly reachable on eth0 (the kernel routes it via gateway 198.18.1.254)`);
    }
  });

  it('puts back a route deleted by hand within the 10 s check period, and the pods talk again', async () => {
    const route = `${subnet(2)} via ${addr(2)} dev eth0 proto 157`;
    const t0 = Date.now();
    await bed.ip(bed.host(1), 'route', 'del', subnet(2));
    const reached = await bed.exec(pod(1), ['ping', '-c', '1', '-W', '1', podIP(2)]).then(() => true, () => false);
    // Only the check puts the route back: if it is still missing now, it was missing during the ping.
    if (!(await podRoutes(1)).includes(route)) expect(reached, 'pod 1 reached pod 2 without the route').to.equal(false);
    await until('the route back on host 1', async () => (await podRoutes(1)).includes(route), 25_000);
    expect(Date.now() - t0).to.be.below(15_000);
    // The log line crosses a pipe: it may arrive a moment after the route is back.
    const line = `route check: route ${subnet(2)} via ${addr(2)} dev eth0 was missing; put back`;
    await until('the repair logged', () => daemons.get(1)!.output().includes(line), 5_000);
    expect(await ping(1, 2)).to.match(/ 0% packet loss/);
  });

  it('on restart leaves the identical routes alone', async () => {
    const old = daemons.get(2)!;
    old.child.kill('SIGTERM');
    expect(await old.exited).to.equal(0);
    const again = flanneld(2);
    for (const j of [1, 3]) {
      const line = `route ${subnet(j)} via ${addr(j)} dev eth0 already exists, skipping`;
      await until(`"${line}" on the restarted host 2`, () => again.output().includes(line));
    }
    expect(again.output()).to.not.match(/replaced existing route|added route/);
    expect(await podRoutes(2)).to.include.members(sameSegmentRoutes(2));
  });

  it('removes the routes to a host whose lease is gone', async () => {
    const h3 = daemons.get(3)!;
    h3.child.kill('SIGTERM');
    expect(await h3.exited).to.equal(0);
    await etcd!.etcdctl(['del', `/coreos.com/network/subnets/10.244.${octet.get(3)}.0-24`]);
    for (const i of [1, 2]) {
      await until(`no route to host 3's subnet on host ${i}`, async () => !(await podRoutes(i)).some((l) => l.startsWith(subnet(3))));
      expect(daemons.get(i)!.output()).to.include(`deleted route ${subnet(3)} via ${addr(3)} dev eth0`);
    }
    expect(await ping(1, 2)).to.match(/ 0% packet loss/);
  });
  it('deletes at start-up the route of a lease deleted while it was down, and marked strays at a check; hand-made routes stay', async () => {
    // Host 3 comes back and host 2 routes it; then both stop and host 3's lease is deleted.
    flanneld(3);
    let stale = '';
    await until('a route to host 3 on host 2', async () => {
      stale = (await podRoutes(2)).find((l) => l.includes(`via ${addr(3)} dev eth0 proto 157`)) ?? '';
      return stale !== '';
    });
    const dst = stale.split(' ')[0]!;
    for (const i of [2, 3]) {
      daemons.get(i)!.child.kill('SIGTERM');
      expect(await daemons.get(i)!.exited).to.equal(0);
    }
    await etcd!.etcdctl(['del', `/coreos.com/network/subnets/${dst.replace('/', '-')}`]);
    const h2 = bed.host(2);
    await bed.ip(h2, 'route', 'add', '10.244.250.128/25', 'via', addr(1), 'dev', 'eth0'); // inside the Network, no marker
    await bed.ip(h2, 'route', 'add', '192.0.2.0/24', 'via', addr(1), 'dev', 'eth0'); // outside the Network
    const again = flanneld(2);
    await until(`no route to ${dst} on the restarted host 2`, async () => !(await podRoutes(2)).some((l) => l.startsWith(`${dst} `)), 15_000);
    expect(again.output()).to.include(`deleted stale route ${dst} via ${addr(3)} dev eth0 (made by flannel-ts, no lease wants it)`);
    // A marked route nobody wants, appearing while flanneld runs, goes at the next check (every 10 s).
    await bed.ip(h2, 'route', 'add', '10.244.251.0/24', 'via', addr(1), 'dev', 'eth0', 'proto', '157');
    await until('the marked stray gone at a check', async () => !(await podRoutes(2)).some((l) => l.startsWith('10.244.251.0/24')), 25_000);
    const table = await bed.ip(h2, 'route');
    expect(table).to.include(`10.244.250.128/25 via ${addr(1)} dev eth0`);
    expect(table).to.include(`192.0.2.0/24 via ${addr(1)} dev eth0`);
    expect(await podRoutes(2)).to.include(`${subnet(1)} via ${addr(1)} dev eth0 proto 157`);
    expect(again.output()).to.include(`route 10.244.250.128/25 via ${addr(1)} dev eth0 (proto 3) into the flannel network matches no lease`);
    expect(again.output()).to.not.include('192.0.2.0/24');
  });
});
