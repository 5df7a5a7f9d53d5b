// Unit tests (no root): the Prometheus text rendering and the event tracker that tells lease-driven
// kernel writes from repairs and times "lease event → route in the kernel".
import { expect } from 'chai';
import { EventTracker } from '../../flanneld/metered.js';
import { Counter, FlannelMetrics, Histogram, MetricsRegistry } from '../../flanneld/metrics.js';
import { IP4Net, parseIP4 } from '../../common/ip.js';
import type { Lease } from '../../subnet-lease/lease.js';

const lease = (cidr: string, publicIP: string): Lease => ({
  subnet: IP4Net.parse(cidr),
  ipv6Subnet: null,
  attrs: { publicIP: parseIP4(publicIP), publicIPv6: null, backendType: 'vxlan' },
  reservation: false,
});

describe('metrics text format and event tracking', () => {
  it('renders counters with escaped labels and histograms with cumulative buckets', () => {
    const r = new MetricsRegistry();
    const c = r.register(new Counter('x_total', 'things'));
    c.inc({ kind: 'a"b\\c' }, 2);
    const h = r.register(new Histogram('lat_seconds', 'latency', [0.1, 1]));
    h.observe(0.05);
    h.observe(0.5);
    h.observe(5);
    expect(r.render()).to.equal(
      [
        '# HELP x_total things', '# TYPE x_total counter', 'x_total{kind="a\\"b\\\\c"} 2',
        '# HELP lat_seconds latency', '# TYPE lat_seconds histogram',
        'lat_seconds_bucket{le="0.1"} 1', 'lat_seconds_bucket{le="1"} 2', 'lat_seconds_bucket{le="+Inf"} 3',
        'lat_seconds_sum 5.55', 'lat_seconds_count 3', '',
      ].join('\n'),
    );
    expect(() => r.register(new Counter('x_total', 'again'))).to.throw('registered twice');
  });

  it('times a lease event to its route, and counts writes nothing asked for as repairs', () => {
    const m = new FlannelMetrics();
    let now = 1000;
    const t = new EventTracker(m, () => now);
    t.noteEvents([{ type: 'added', lease: lease('10.244.2.0/24', '198.18.0.2') }]);
    expect(m.leasesKnown.get()).to.equal(1);
    now += 40;
    t.noteWrite({ op: 'neigh.replace', neigh: { ifindex: 3, ip: '10.244.2.0', mac: 'aa:bb:cc:dd:ee:ff' } });
    t.noteWrite({ op: 'fdb.replace', fdb: { ifindex: 3, mac: 'aa:bb:cc:dd:ee:ff', dst: '198.18.0.2' } });
    t.noteWrite({ op: 'route.replace', route: { dst: '10.244.2.0/24', gateway: '10.244.2.0', ifindex: 3, onlink: true } });
    expect(m.eventToKernel.observations).to.equal(1);
    expect(m.registry.render()).to.include('flannel_lease_event_to_kernel_seconds_bucket{le="0.05"} 1');
    expect(m.kernelRepairs.get({ kind: 'route' }) + m.kernelRepairs.get({ kind: 'neigh' }) + m.kernelRepairs.get({ kind: 'fdb' })).to.equal(0);
    // the reconcile pass puts the route back: no event pending for it
    t.noteWrite({ op: 'route.replace', route: { dst: '10.244.2.0/24', gateway: '10.244.2.0', ifindex: 3, onlink: true } });
    expect(m.kernelRepairs.get({ kind: 'route' })).to.equal(1);
    expect(m.kernelEntries.get({ kind: 'route', op: 'replace' })).to.equal(2);
    t.noteEvents([{ type: 'removed', lease: lease('10.244.2.0/24', '198.18.0.2') }]);
    expect(m.leasesKnown.get()).to.equal(0);
    t.noteWrite({ op: 'route.delete', route: { dst: '10.244.2.0/24' } });
    expect(m.eventToKernel.observations).to.equal(2);
  });
});
