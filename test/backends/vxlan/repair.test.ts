// Repair of the vxlan entries on the fake native layer: notifications put back what someone else
// deleted or changed without a dump; an overflow brings a full pass; a peer's entries go in all or
// none; two leases never alias each other's entries; a lease batch goes before a running full pass.
import { expect } from 'chai';
import type { FakeNative } from '../../../native/fake.js';
import { type Harness, startHarness, until } from './harness.js';
import { remoteLease, vxlanNetworkConfig } from '../../helpers/memory-store.js';
import { IP4Net } from '../../../common/ip.js';

const MAC_A = '0a:aa:00:00:00:02';
const MAC_B = '0a:bb:00:00:00:03';
const QUIET = { reconcileIntervalMs: 3_600_000 };

async function entries(h: Harness) {
  const d = (await h.native.linkGet('flannel.1'))!;
  return {
    neighs: (await h.native.neighList({ ifindex: d.index })).map((n) => `${n.ip} ${n.mac}`).sort(),
    fdb: (await h.native.fdbList({ ifindex: d.index })).map((f) => `${f.mac} ${f.dst}`).sort(),
    routes: (await h.native.routeList({ family: 4 })).filter((r) => r.dst.startsWith('10.244.')).map((r) => `${r.dst} via ${r.gateway}`).sort(),
  };
}

/** Counts the dumps a FakeNative answers from now on. */
function countDumps(native: FakeNative): { readonly n: number } {
  const counter = { n: 0 };
  for (const m of ['neighList', 'fdbList', 'routeList'] as const) {
    const orig = native[m].bind(native) as (...a: unknown[]) => Promise<unknown>;
    (native as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => (counter.n++, orig(...a));
  }
  return counter;
}

const A = { neighs: [`10.244.2.0 ${MAC_A}`], fdb: [`${MAC_A} 198.18.0.2`], routes: ['10.244.2.0/24 via 10.244.2.0'] };

describe('vxlan repair (fake native)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  async function withPeerA(options = QUIET): Promise<{ h: Harness; ifindex: number }> {
    h = await startHarness(undefined, { options });
    h.store.put(remoteLease('10.244.2.0/24', '198.18.0.2', MAC_A));
    await until(async () => (await entries(h!)).routes.length === 1, 'peer A');
    return { h, ifindex: (await h.native.linkGet('flannel.1'))!.index };
  }

  it('puts back a deleted neighbour, FDB entry and route from the notifications, without a dump', async () => {
    const { h, ifindex } = await withPeerA();
    const dumps = countDumps(h.native);
    await h.native.apply([
      { op: 'fdb.delete', fdb: { ifindex, mac: MAC_A } },
      { op: 'neigh.delete', neigh: { ifindex, ip: '10.244.2.0' } },
      { op: 'route.delete', route: { dst: '10.244.2.0/24' } },
      { op: 'neigh.replace', neigh: { ifindex, ip: '10.244.7.0', mac: MAC_B } },
    ]);
    const st = h.native.state;
    await until(() => st.fdb.length === 1 && st.routes.some((r) => r.dst === '10.244.2.0/24') && st.neighs.some((n) => n.ip === '10.244.2.0'), 'repair');
    expect(dumps.n).to.equal(0);
    // A neighbour nobody wants is left to the full pass.
    expect(await entries(h)).to.deep.equal({ ...A, neighs: [...A.neighs, `10.244.7.0 ${MAC_B}`] });
    expect(h.log.has('info', /repaired 1 of 1 peers changed by someone else \(4 10.244.2.0\/24\)/)).to.equal(true);
  });

  it('puts back a neighbour and a route that someone rewrote', async () => {
    const { h, ifindex } = await withPeerA();
    await h.native.apply([
      { op: 'neigh.replace', neigh: { ifindex, ip: '10.244.2.0', mac: MAC_B } },
      { op: 'route.replace', route: { dst: '10.244.2.0/24', gateway: '198.18.0.9' } },
    ]);
    await until(async () => JSON.stringify(await entries(h)) === JSON.stringify(A), 'repair');
  });

  it('runs a full pass on a notification overflow: restores silent losses and removes stale entries', async () => {
    const { h, ifindex } = await withPeerA();
    h.native.state.fdb = []; // lost without a notification
    await h.native.apply([{ op: 'neigh.replace', neigh: { ifindex, ip: '10.244.7.0', mac: MAC_B } }]);
    await new Promise((r) => setTimeout(r, 50));
    expect((await entries(h)).fdb).to.deep.equal([]);
    h.native.overflowEntries();
    await until(async () => JSON.stringify(await entries(h)) === JSON.stringify(A), 'full pass');
    expect(h.log.has('info', /reconcile flannel.1: restored 1 entries, removed 1 stale ones/)).to.equal(true);
  });

  it('applies a peer all or none on repair, and names a lasting failure once', async () => {
    const { h, ifindex } = await withPeerA();
    h.native.faults.push((op) => (op.op === 'fdb.replace' ? 'EINVAL' : null));
    await h.native.apply([{ op: 'fdb.delete', fdb: { ifindex, mac: MAC_A } }]);
    await until(async () => (await entries(h)).neighs.length === 0, 'the group undone');
    expect(await entries(h)).to.deep.equal({ neighs: [], fdb: [], routes: [] });
    h.native.overflowEntries();
    await until(() => h.log.lines.filter((l) => /reconcile flannel.1/.test(l.message)).length === 1, 'a full pass');
    await h.network.whenIdle();
    expect(h.log.lines.filter((l) => l.level === 'error' && /could not install fdb/.test(l.message))).to.have.length(1);
    expect(await entries(h)).to.deep.equal({ neighs: [], fdb: [], routes: [] });
    h.native.faults = [];
    h.native.overflowEntries();
    await until(async () => JSON.stringify(await entries(h)) === JSON.stringify(A), 'the group back');
  });

  it('never lets a lease rewrite or take away the entries of another lease', async () => {
    const { h } = await withPeerA();
    // A /25 at the same network address wants the same neighbour with another MAC: held back whole.
    h.store.put(remoteLease('10.244.2.0/25', '198.18.0.3', MAC_B));
    await until(() => h.log.has('warn', /not installing peer 4 10.244.2.0\/25: .*neigh 10.244.2.0 lladdr 0a:aa:00:00:00:02 .* of peer 4 10.244.2.0\/24/), 'held back');
    expect(await entries(h)).to.deep.equal(A);
    h.store.remove('10.244.2.0/25');
    await h.network.whenIdle();
    expect(await entries(h)).to.deep.equal(A);
    // The held-back lease gets its turn once the older one goes away.
    h.store.put(remoteLease('10.244.2.0/25', '198.18.0.3', MAC_B));
    await h.network.whenIdle();
    h.store.remove('10.244.2.0/24');
    await until(async () => (await entries(h)).routes.join() === '10.244.2.0/25 via 10.244.2.0', 'the /25 installed');
    expect(await entries(h)).to.deep.equal({ neighs: [`10.244.2.0 ${MAC_B}`], fdb: [`${MAC_B} 198.18.0.3`], routes: ['10.244.2.0/25 via 10.244.2.0'] });
  });

  it('keeps an FDB entry that two leases share when one of them goes away', async () => {
    const { h } = await withPeerA();
    h.store.put(remoteLease('10.244.3.0/24', '198.18.0.2', MAC_A));
    await until(async () => (await entries(h)).routes.length === 2, 'second lease');
    h.store.remove('10.244.3.0/24');
    await until(async () => (await entries(h)).routes.length === 1, 'removed');
    expect(await entries(h)).to.deep.equal(A);
  });

  it('applies a lease batch that arrives during a full pass before the pass finishes', async () => {
    const config = vxlanNetworkConfig();
    config.network = IP4Net.parse('10.0.0.0/8');
    h = await startHarness(undefined, { config, options: QUIET });
    const mac = (i: number): string => `0a:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    const lease = (i: number) => remoteLease(`10.${245 + (i >> 8)}.${i & 255}.0/24`, `198.18.1.${i % 250}`, mac(i));
    h.store.emit(Array.from({ length: 1500 }, (_, i) => ({ type: 'added' as const, lease: lease(i) })));
    await until(() => h!.network.peerCount === 1500, 'peers', 10_000);
    await h.network.whenIdle();
    h.native.state.fdb = []; // gives the pass work to report
    h.native.overflowEntries();
    await new Promise((r) => setImmediate(r));
    h.store.put(remoteLease('10.252.0.0/24', '198.18.0.250', MAC_B));
    await until(() => h!.log.has('info', /reconcile flannel.1/), 'the pass', 10_000);
    const order = (re: RegExp): number => h!.log.lines.findIndex((l) => re.test(l.message));
    expect(order(/peer added: 10.252.0.0\/24/)).to.be.greaterThan(-1);
    expect(order(/peer added: 10.252.0.0\/24/)).to.be.lessThan(order(/reconcile flannel.1/));
  });

  it('applies a lease batch while the full pass waits for a dump, not after it', async () => {
    const { h } = await withPeerA();
    // A neighbour dump that takes 2 s (the kernel's dump of 5000 entries and their decoding take tens
    // of milliseconds; stretched here so that the order cannot be a matter of luck).
    let dumpEnded = 0;
    const slowList = h.native.neighList.bind(h.native);
    h.native.neighList = async (f) => {
      h.native.neighList = slowList; // only the pass's dump is slow, not the test's own reads
      const out = await slowList(f);
      await new Promise((r) => setTimeout(r, 2000));
      dumpEnded = Date.now();
      return out;
    };
    h.native.overflowEntries();
    await new Promise((r) => setTimeout(r, 100)); // the pass is waiting for the dump
    const t0 = Date.now();
    h.store.put(remoteLease('10.244.9.0/24', '198.18.0.9', MAC_B));
    await until(async () => (await entries(h)).routes.includes('10.244.9.0/24 via 10.244.9.0'), 'the new peer', 5000);
    const applied = Date.now();
    expect(dumpEnded, 'the dump was still running when the peer was programmed').to.equal(0);
    expect(applied - t0).to.be.lessThan(1000);
    await until(() => h.log.has('info', /reconcile flannel.1/) || dumpEnded > 0, 'the pass goes on');
  });

  it('refuses a bad FLANNEL_TS_VXLAN_FULL_PASS_SECONDS naming the variable and the value', async () => {
    process.env.FLANNEL_TS_VXLAN_FULL_PASS_SECONDS = 'soon';
    try {
      await startHarness(undefined, { options: {} });
      expect.fail('accepted a bad period');
    } catch (e) {
      expect((e as Error).message).to.equal('FLANNEL_TS_VXLAN_FULL_PASS_SECONDS must be a whole number of seconds from 1 to 86400 (FLANNEL_TS_VXLAN_FULL_PASS_SECONDS="soon")');
    } finally {
      delete process.env.FLANNEL_TS_VXLAN_FULL_PASS_SECONDS;
    }
  });

  it('with DirectRouting, looks up a whole batch of peers in one request, and puts back a deleted direct route', async () => {
    h = await startHarness({ Type: 'vxlan', DirectRouting: true }, { options: QUIET });
    let lookups = 0;
    const many = h.native.routeGetMany.bind(h.native);
    h.native.routeGetMany = (dsts) => (lookups++, many(dsts));
    h.store.emit(Array.from({ length: 40 }, (_, i) => ({ type: 'added' as const, lease: remoteLease(`10.244.${10 + i}.0/24`, `198.18.0.${10 + i}`, MAC_A) })));
    await until(() => h!.network.peerCount === 40, 'peers');
    await h.network.whenIdle();
    expect(lookups).to.equal(1);
    await h.native.routeDelete({ dst: '10.244.12.0/24' });
    await until(() => h!.native.state.routes.some((r) => r.dst === '10.244.12.0/24' && r.gateway === '198.18.0.12'), 'the direct route back');
  });
});
