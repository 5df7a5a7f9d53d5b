// The shared registry watch (no root, no etcd): readers of one hub see the Registry.watchSubnets
// contract — a snapshot, then every change in order — through one watch of the registry.
import { expect } from 'chai';
import { MemoryRegistry } from '../../subnet-lease/memory/registry.js';
import type { RegistryWatchItem } from '../../subnet-lease/store.js';
import { WatchHub } from '../../subnet-lease/watch-hub.js';

const V = '{"PublicIP":"198.18.0.2","PublicIPv6":null}';

/** Collects a reader's items as text: "snapshot a,b" or "added x", "removed y". */
function collect(hub: WatchHub, signal: AbortSignal): { lines: string[]; done: Promise<unknown> } {
  const lines: string[] = [];
  const show = (item: RegistryWatchItem): string[] =>
    item.kind === 'snapshot'
      ? [`snapshot ${item.leases.map((l) => l.subnet.toString()).sort().join(',')}`]
      : item.events.map((e) => `${e.type} ${e.lease.subnet}`);
  const done = (async () => {
    for await (const item of hub.watch(signal)) lines.push(...show(item));
  })().catch((e: unknown) => e);
  return { lines, done };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error('condition not met');
}

describe('WatchHub', () => {
  it('serves two readers from one registry watch; a late reader starts from a snapshot of the current set', async () => {
    const reg = new MemoryRegistry();
    let opened = 0;
    const hub = new WatchHub((s) => {
      opened++;
      return reg.watchSubnets(s);
    });
    reg.putRaw('10.5.1.0-24', V, { leased: true });
    const ac = new AbortController();
    const a = collect(hub, ac.signal);
    await until(() => a.lines.length === 1);
    reg.putRaw('10.5.2.0-24', V, { leased: true });
    await until(() => a.lines.length === 2);
    const b = collect(hub, ac.signal);
    await until(() => b.lines.length === 1);
    reg.deleteRaw('10.5.1.0-24');
    await until(() => a.lines.length === 3 && b.lines.length === 2);
    expect(a.lines).to.deep.equal(['snapshot 10.5.1.0/24', 'added 10.5.2.0/24', 'removed 10.5.1.0/24']);
    expect(b.lines).to.deep.equal(['snapshot 10.5.1.0/24,10.5.2.0/24', 'removed 10.5.1.0/24']);
    expect(opened).to.equal(1);
    ac.abort();
    await Promise.all([a.done, b.done]);
  });

  it('stops the registry watch when the last reader leaves, and opens a fresh one for the next', async () => {
    const reg = new MemoryRegistry();
    const hub = new WatchHub((s) => reg.watchSubnets(s));
    const first = new AbortController();
    const a = collect(hub, first.signal);
    await until(() => a.lines.length === 1);
    first.abort();
    await a.done;
    reg.putRaw('10.5.3.0-24', V, { leased: true });
    const second = new AbortController();
    const b = collect(hub, second.signal);
    await until(() => b.lines.length === 1);
    expect(b.lines).to.deep.equal(['snapshot 10.5.3.0/24']);
    expect(hub.opened).to.equal(2);
    second.abort();
    await b.done;
  });

  it('ends every reader when the registry closes', async () => {
    const reg = new MemoryRegistry();
    const hub = new WatchHub((s) => reg.watchSubnets(s));
    const ac = new AbortController();
    const a = collect(hub, ac.signal);
    const b = collect(hub, ac.signal);
    await until(() => a.lines.length === 1 && b.lines.length === 1);
    await reg.close();
    const ends = await Promise.race([Promise.all([a.done, b.done]).then(() => 'ended'), new Promise((r) => setTimeout(() => r('hung'), 2000))]);
    ac.abort();
    expect(ends).to.equal('ended');
  });
});
