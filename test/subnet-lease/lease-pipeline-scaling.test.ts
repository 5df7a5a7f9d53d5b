// Complexity check (not a timing test): the etcd-style lease store's path from the registry to a
// backend — the shared watch, the snapshot diff, own-subnet filtering — at two sizes in one run, on the
// in-memory registry. A start-up snapshot of N leases, then N single changes, timed; the cost per
// change may not grow several-fold between N and 8N (a per-event scan of every lease would).
import { expect } from 'chai';
import { LocalManager } from '../../subnet-lease/local-manager.js';
import { MemoryRegistry } from '../../subnet-lease/memory/registry.js';
import { parseIP4 } from '../../common/ip.js';

const VALUE = (i: number): string => `{"PublicIP":"198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:00:00:00:00:01"}}`;
const KEY = (i: number): string => `10.${i >> 8}.${i & 255}.0-24`;

async function run(n: number): Promise<{ ms: number; seen: number }> {
  const reg = new MemoryRegistry();
  reg.setConfig('{"Network":"10.0.0.0/8","SubnetLen":24,"Backend":{"Type":"vxlan"}}');
  for (let i = 1; i <= n; i++) reg.putRaw(KEY(i), VALUE(i), { leased: true });
  const ac = new AbortController();
  const m = new LocalManager({ registry: reg, renewMarginMs: 3_600_000, logger: { error: () => 0, warn: () => 0, info: () => 0, debug: () => 0 } });
  await m.getNetworkConfig(ac.signal);
  const own = await m.acquireLease({ publicIP: parseIP4('198.18.250.250'), publicIPv6: null }, ac.signal);
  const kept = m.keepLease(own, ac.signal, () => undefined);
  let seen = 0;
  const iter = m.watchLeases(() => own, ac.signal)[Symbol.asyncIterator]();
  seen += (await iter.next()).value?.length ?? 0;
  const t0 = performance.now();
  // n changes, each its own batch (the worst case for a per-event cost)
  for (let i = 1; i <= n; i++) {
    reg.putRaw(KEY(i), VALUE(i + 1), { leased: true });
    seen += (await iter.next()).value?.length ?? 0;
  }
  const ms = performance.now() - t0;
  ac.abort();
  await iter.return?.();
  await kept;
  return { ms, seen };
}

describe('lease pipeline complexity check', function () {
  this.timeout(120_000);

  it('delivers a snapshot of N leases and N changes, each once', async () => {
    const r = await run(300);
    expect(r.seen).to.equal(600);
  });

  it('costs about the same per change with 1000 and 8000 leases (fails at > 3x)', async () => {
    await run(1000); // warm-up
    const perLease = async (n: number): Promise<number> => {
      let best = Infinity;
      for (let i = 0; i < 3; i++) best = Math.min(best, (await run(n)).ms / n);
      return best;
    };
    const small = await perLease(1000);
    const large = await perLease(8000);
    expect(large / small, `per-lease cost ${small.toFixed(4)} ms at 1000, ${large.toFixed(4)} ms at 8000`).to.be.below(3);
  });
});
