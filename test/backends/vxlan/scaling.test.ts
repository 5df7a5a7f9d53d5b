// Complexity check (not a timing test): the same work through VxlanNetwork on the fake native layer
// at 500 and at 8000 leases in one run, phase by phase — one batch of N leases, a repair of N FDB
// entries by a full pass (after a notification overflow), and the removal of every lease. The cost
// per lease of no phase may grow more than 3x; a per-entry scan of the wanted entries or of the
// kernel's (16x per lease at 16x the leases) fails it.
import { expect } from 'chai';
import { IP4Net } from '../../../common/ip.js';
import { startHarness } from './harness.js';
import { remoteLease, vxlanNetworkConfig } from '../../helpers/memory-store.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const hex = (x: number): string => x.toString(16).padStart(2, '0');

type Phases = [batch: number, fullPass: number, removal: number];

async function workPerLease(n: number): Promise<Phases> {
  const config = vxlanNetworkConfig();
  config.network = IP4Net.parse('10.0.0.0/8');
  const h = await startHarness(undefined, { config, options: { reconcileIntervalMs: 3_600_000 } });
  try {
    const leases = Array.from({ length: n }, (_, i) => remoteLease(`10.${100 + (i >> 8)}.${i & 255}.0/24`, `198.18.${1 + (i >> 8)}.${1 + (i & 127)}`, `0a:00:00:00:${hex(i >> 8)}:${hex(i & 255)}`));
    const t0 = performance.now();
    h.store.emit(leases.map((lease) => ({ type: 'added' as const, lease })));
    while (h.network.peerCount < n) await tick();
    await h.network.whenIdle();
    const t1 = performance.now();
    h.native.state.fdb = [];
    h.native.overflowEntries();
    while (!h.log.has('info', /reconcile flannel.1/)) await tick();
    await h.network.whenIdle();
    const t2 = performance.now();
    h.store.emit(leases.map((lease) => ({ type: 'removed' as const, lease })));
    while (h.network.peerCount > 0) await tick();
    await h.network.whenIdle();
    const t3 = performance.now();
    expect(h.native.state.neighs).to.have.length(0);
    expect(h.log.has('info', new RegExp(`reconcile flannel.1: restored ${n} entries`))).to.equal(true);
    return [(t1 - t0) / n, (t2 - t1) / n, (t3 - t2) / n];
  } finally {
    await h.stop();
  }
}

const best = (a: Phases, b: Phases): Phases => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.min(a[2], b[2])];

describe('vxlan network complexity check (fake native)', () => {
  it('costs about the same per lease at 500 and 8000 leases in each phase: batch, full-pass repair, removal (fails at > 3x)', async () => {
    await workPerLease(500); // warm-up: the first run pays for compilation
    const small = best(await workPerLease(500), await workPerLease(500));
    const large = best(await workPerLease(8000), await workPerLease(8000));
    ['batch', 'full pass', 'removal'].forEach((phase, i) => {
      const msg = `${phase}: per-lease cost ${small[i]!.toFixed(4)} ms at 500, ${large[i]!.toFixed(4)} ms at 8000`;
      expect(large[i]! / small[i]!, msg).to.be.below(3);
    });
  });
});
