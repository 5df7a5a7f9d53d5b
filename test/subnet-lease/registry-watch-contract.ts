// The watch half of the registry contract: snapshot first, then the changes another writer makes,
// resumption after a lost connection, a re-list when the history was compacted meanwhile, and a
// prompt, clean end on abort.
import { expect } from 'chai';
import type { LeaseEvent } from '../../subnet-lease/lease.js';
import { subnetKey } from '../../subnet-lease/lease.js';
import type { RegistryWatchItem } from '../../subnet-lease/store.js';
import { DAY, JSON_A, JSON_B, attrsA, attrsB, keysOf, net } from './registry-fixtures.js';
import type { RegistryHarness } from './registry-harness.js';
import { WatchProbe } from './watch-probe.js';

function events(item: RegistryWatchItem): LeaseEvent[] {
  expect(item.kind, `expected events, got ${JSON.stringify(item)}`).to.equal('events');
  return item.kind === 'events' ? item.events : [];
}

const describeEvent = (e: LeaseEvent): string => `${e.type} ${subnetKey(e.lease.subnet, e.lease.ipv6Subnet)}`;

/** Takes event items until `count` events arrived (etcd may batch them differently from memory). */
async function takeEvents(probe: WatchProbe, count: number): Promise<LeaseEvent[]> {
  const out: LeaseEvent[] = [];
  while (out.length < count) out.push(...events(await probe.next(`${count - out.length} more event(s)`)));
  return out;
}

export function registryWatchContract(harness: () => RegistryHarness): void {
  describe('watchSubnets', () => {
    let probe: WatchProbe | undefined;
    afterEach(async () => {
      await probe?.stop();
      probe = undefined;
    });
    const signal = (): AbortSignal => new AbortController().signal;

    it('sends a snapshot first, then adds and removes made by another writer, skipping malformed ones', async () => {
      const h = harness();
      await h.registry.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal());
      probe = new WatchProbe(h.registry, () => h.logs.text());
      const first = await probe.next('the snapshot');
      expect(first.kind).to.equal('snapshot');
      expect(first.kind === 'snapshot' && keysOf(first.leases)).to.deep.equal(['10.5.52.0-24']);

      await h.putRaw('10.5.60.0-24', 'garbage', true);
      await h.putRaw('10.5.53.0-24', JSON_B, false);
      await h.deleteRaw('10.5.52.0-24');
      const got = await takeEvents(probe, 2);
      expect(got.map(describeEvent)).to.deep.equal(['added 10.5.53.0-24', 'removed 10.5.52.0-24']);
      expect(got[0]!.lease.attrs).to.deep.equal(attrsB);
      expect(got[0]!.lease.reservation).to.equal(true);
      expect(h.logs.messages('warn').join('\n')).to.contain(`${h.prefix}/subnets/10.5.60.0-24`);
    });

    it('reports an expired lease as removed', async () => {
      const h = harness();
      await h.putRaw('10.5.54.0-24', JSON_A, true);
      probe = new WatchProbe(h.registry, () => h.logs.text());
      await probe.next('the snapshot');
      await h.expire('10.5.54.0-24');
      expect((await takeEvents(probe, 1)).map(describeEvent)).to.deep.equal(['removed 10.5.54.0-24']);
    });

    it('after a lost connection resumes where it stopped: the changes made meanwhile arrive as events', async () => {
      const h = harness();
      probe = new WatchProbe(h.registry, () => h.logs.text());
      expect((await probe.next('the snapshot')).kind).to.equal('snapshot');
      await h.putRaw('10.5.52.0-24', JSON_A, true);
      expect((await takeEvents(probe, 1)).map(describeEvent)).to.deep.equal(['added 10.5.52.0-24']);

      await h.disconnectWatchers();
      await h.putRaw('10.5.53.0-24', JSON_B, true);
      await h.deleteRaw('10.5.52.0-24');
      await h.reconnectWatchers();
      const got = await takeEvents(probe, 2);
      expect(got.map(describeEvent)).to.deep.equal(['added 10.5.53.0-24', 'removed 10.5.52.0-24']);
    });

    it('loses nothing when the history was compacted while disconnected: it re-lists', async () => {
      const h = harness();
      await h.putRaw('10.5.52.0-24', JSON_A, true);
      await h.putRaw('10.5.53.0-24', JSON_A, true);
      probe = new WatchProbe(h.registry, () => h.logs.text());
      expect((await probe.next('the snapshot')).kind).to.equal('snapshot');

      await h.disconnectWatchers();
      await h.putRaw('10.5.54.0-24', JSON_B, false);
      await h.deleteRaw('10.5.52.0-24');
      await h.putRaw('10.5.53.0-24', JSON_B, true);
      await h.compact();
      await h.reconnectWatchers();
      const again = await probe.next('a snapshot after the compaction');
      expect(again.kind).to.equal('snapshot');
      if (again.kind !== 'snapshot') return;
      expect(keysOf(again.leases)).to.deep.equal(['10.5.53.0-24', '10.5.54.0-24']);
      expect(again.leases.find((l) => l.subnet.equals(net('10.5.53.0/24')))!.attrs).to.deep.equal(attrsB);

      // The watch goes on from the new snapshot's revision.
      await h.putRaw('10.5.55.0-24', JSON_A, true);
      expect((await takeEvents(probe, 1)).map(describeEvent)).to.deep.equal(['added 10.5.55.0-24']);
    });

    it('a for-await loop ends promptly when the signal aborts while it waits', async () => {
      const h = harness();
      const ac = new AbortController();
      const seen: string[] = [];
      const loop = (async () => {
        for await (const item of h.registry.watchSubnets(ac.signal)) seen.push(item.kind);
      })();
      await waitUntil(() => seen.length === 1, 10_000);
      await h.putRaw('10.5.52.0-24', JSON_A, true);
      await waitUntil(() => seen.length === 2, 10_000);
      const t0 = Date.now();
      ac.abort();
      await loop;
      expect(Date.now() - t0).to.be.below(1000);
      expect(seen).to.deep.equal(['snapshot', 'events']);
    });

    it('ends at once when the signal is aborted before the first item', async () => {
      const h = harness();
      const ac = new AbortController();
      ac.abort();
      const items: RegistryWatchItem[] = [];
      for await (const item of h.registry.watchSubnets(ac.signal)) items.push(item);
      expect(items).to.deep.equal([]);
    });

    it('ends when the registry is closed', async () => {
      const h = harness();
      probe = new WatchProbe(h.registry, () => h.logs.text());
      await probe.next('the snapshot');
      await h.registry.close();
      await Promise.race([probe.finished, new Promise((_, rej) => setTimeout(() => rej(new Error('watch still running')), 2000))]);
      expect(probe.error).to.equal(undefined);
    });
  });
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
