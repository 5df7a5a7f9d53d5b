// The contract for neighbour, FDB and route notifications (Native.watchEntries), run on the fake and on
// the kernel like the rest of the contract suite: a change made by another writer reaches the watcher
// with its content, a deletion as `deleted`, and nothing arrives after the watcher stopped.
import { expect } from 'chai';
import type { EntryEvent, Link, Native } from '../../native/types.js';
import type { ContractEnv } from './contract.js';

const MAC = '0a:00:00:00:00:05';

async function until(events: readonly EntryEvent[], pred: (e: EntryEvent) => boolean): Promise<EntryEvent> {
  for (let i = 0; i < 200; i++) {
    const hit = events.find(pred);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no such event among ${JSON.stringify(events)}`);
}

export function describeEntryEvents(makeEnv: () => Promise<ContractEnv>): void {
  describe('entry notifications (watchEntries)', () => {
    let env: ContractEnv;
    let n: Native;
    let dev: Link;
    let events: EntryEvent[];
    let stop: () => void;
    beforeEach(async () => {
      env = await makeEnv();
      n = env.native;
      dev = await n.linkAddVxlan({ name: 'flannel.1', vni: 1, mtu: 1450, link: env.eth0.index, local: '198.18.0.1', learning: false, gbp: false });
      await n.linkSet(dev.index, { up: true });
      events = [];
      stop = n.watchEntries((e) => events.push(e));
    });
    afterEach(async () => {
      stop?.();
      stop?.();
      await env?.teardown();
    });

    it('reports a permanent neighbour written and deleted', async () => {
      const n = env.other;
      await n.neighReplace({ ifindex: dev.index, ip: '10.244.2.0', mac: MAC });
      const add = await until(events, (e) => e.type === 'neigh' && !e.deleted && e.neigh.ip === '10.244.2.0');
      expect(add.type === 'neigh' && add.neigh).to.include({ ifindex: dev.index, family: 4, mac: MAC });
      await n.neighDelete({ ifindex: dev.index, ip: '10.244.2.0' });
      await until(events, (e) => e.type === 'neigh' && e.deleted && e.neigh.ip === '10.244.2.0' && e.neigh.ifindex === dev.index);
    });

    it('reports a self FDB entry written and deleted, with its remote', async () => {
      await n.fdbReplace({ ifindex: dev.index, mac: MAC, dst: '198.18.0.2' });
      const add = await until(events, (e) => e.type === 'fdb' && !e.deleted && e.fdb.mac === MAC);
      expect(add.type === 'fdb' && add.fdb).to.include({ ifindex: dev.index, dst: '198.18.0.2', self: true });
      await n.fdbDelete({ ifindex: dev.index, mac: MAC, dst: '198.18.0.2' });
      await until(events, (e) => e.type === 'fdb' && e.deleted && e.fdb.mac === MAC && e.fdb.dst === '198.18.0.2');
    });

    it('reports a route written, replaced and deleted', async () => {
      const n = env.other;
      await n.routeReplace({ dst: '10.244.2.0/24', gateway: '10.244.2.0', ifindex: dev.index, onlink: true });
      const add = await until(events, (e) => e.type === 'route' && !e.deleted && e.route.dst === '10.244.2.0/24');
      expect(add.type === 'route' && add.route).to.include({ gateway: '10.244.2.0', ifindex: dev.index, onlink: true, table: 254 });
      await n.routeReplace({ dst: '10.244.2.0/24', gateway: '198.18.0.2' });
      const moved = await until(events, (e) => e.type === 'route' && !e.deleted && e.route.gateway === '198.18.0.2');
      expect(moved.type === 'route' && moved.route.ifindex).to.equal(env.eth0.index);
      await n.routeDelete({ dst: '10.244.2.0/24' });
      await until(events, (e) => e.type === 'route' && e.deleted && e.route.dst === '10.244.2.0/24');
    });

    it('stops reporting once the watcher is stopped', async () => {
      stop();
      await env.other.neighReplace({ ifindex: dev.index, ip: '10.244.3.0', mac: MAC });
      await new Promise((r) => setTimeout(r, 100));
      expect(events.filter((e) => e.type === 'neigh' && e.neigh.ip === '10.244.3.0')).to.deep.equal([]);
    });
  });
}

/** routeGetMany answers like routeGet per destination, errors included, in one call. */
export function describeRouteGetMany(makeEnv: () => Promise<ContractEnv>): void {
  describe('routeGetMany', () => {
    let env: ContractEnv;
    beforeEach(async () => {
      env = await makeEnv();
    });
    afterEach(async () => {
      await env?.teardown();
    });

    it('answers each destination as routeGet does, with a per-destination error', async () => {
      const n = env.native;
      const [a, b, c] = await n.routeGetMany(['198.18.0.7', '203.0.113.9', 'not-an-ip']);
      expect(a).to.deep.equal(await n.routeGet('198.18.0.7'));
      expect(Array.isArray(a) && a[0]).to.include({ gateway: null, ifindex: env.eth0.index });
      expect(b).to.have.property('code', 'ENETUNREACH');
      expect(c).to.have.property('code', 'EINVAL');
      expect(await n.routeGetMany([])).to.deep.equal([]);
    });
  });
}
