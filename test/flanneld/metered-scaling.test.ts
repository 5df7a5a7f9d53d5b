// Complexity check (not a timing test): the event tracker that sits between the lease store and the
// kernel handles a start-up of N leases (N events, then a neighbour, an FDB entry and a route per
// lease). The same work at two sizes in one run; the cost per lease may not grow several-fold. A
// per-write scan of the pending events (the bug that made a 5000-lease start take 30 s) fails it.
import { expect } from 'chai';
import { EventTracker } from '../../flanneld/metered.js';
import { FlannelMetrics } from '../../flanneld/metrics.js';
import { IP4Net, formatIP4, parseIP4 } from '../../common/ip.js';
import type { Lease, LeaseEvent } from '../../subnet-lease/lease.js';

function startUp(n: number): { ms: number; observed: number; repairs: number } {
  const m = new FlannelMetrics();
  const t = new EventTracker(m);
  const base = IP4Net.parse('10.0.0.0/8').ip;
  const pub = parseIP4('198.18.1.1');
  const events: LeaseEvent[] = [];
  for (let i = 0; i < n; i++) {
    const lease: Lease = { subnet: new IP4Net(base + i * 256, 24), ipv6Subnet: null, attrs: { publicIP: pub + i, publicIPv6: null, backendType: 'vxlan' }, reservation: false };
    events.push({ type: 'added', lease });
  }
  const t0 = performance.now();
  t.noteEvents(events);
  for (let i = 0; i < n; i++) {
    const net = formatIP4(base + i * 256);
    t.noteWrite({ op: 'neigh.replace', neigh: { ifindex: 3, ip: net, mac: '0a:00:00:00:00:01' } });
    t.noteWrite({ op: 'fdb.replace', fdb: { ifindex: 3, mac: '0a:00:00:00:00:01', dst: formatIP4(pub + i) } });
  }
  for (let i = 0; i < n; i++) {
    const net = formatIP4(base + i * 256);
    t.noteWrite({ op: 'route.replace', route: { dst: `${net}/24`, gateway: net, ifindex: 3, onlink: true } });
  }
  const ms = performance.now() - t0;
  const repairs = ['route', 'neigh', 'fdb'].reduce((a, kind) => a + m.kernelRepairs.get({ kind }), 0);
  return { ms, observed: m.eventToKernel.observations, repairs };
}

/** The best of a few runs, so that one garbage collection does not decide. */
function perLease(n: number): number {
  let best = Infinity;
  for (let r = 0; r < 5; r++) best = Math.min(best, startUp(n).ms / n);
  return best;
}

describe('EventTracker complexity check', () => {
  it('accounts a start-up of N leases correctly: N event timings, no write taken for a repair', () => {
    const r = startUp(300);
    expect(r.observed).to.equal(300);
    expect(r.repairs).to.equal(0);
  });

  it('costs about the same per lease at 1000 and 8000 leases (fails at > 3x)', () => {
    perLease(1000); // warm-up: the first run pays for compilation
    const small = perLease(1000);
    const large = perLease(8000);
    const growth = large / small;
    expect(growth, `per-lease cost ${small.toFixed(4)} ms at 1000, ${large.toFixed(4)} ms at 8000`).to.be.below(3);
  });
});
