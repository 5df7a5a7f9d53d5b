// The route-network base on its own: route comparison, and the RouteKeeper driven by a made-up
// `routesFor`, on the fake kernel. host-gw's own behaviour is in test/backends/host-gw.
import { expect } from 'chai';
import { RouteKeeper, type LeaseRoutes } from '../../../backends/route-network/route-keeper.js';
import { canonical, routeState, sameRoute, slotKey } from '../../../backends/route-network/route-match.js';
import { FakeNative } from '../../../native/fake.js';
import { RTPROT_KERNEL, type Route } from '../../../native/types.js';
import { formatIP4 } from '../../../common/ip.js';
import type { Lease } from '../../../subnet-lease/lease.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';
import { lease } from '../../helpers/scripted-store.js';

function kernelRoute(over: Partial<Route>): Route {
  return { family: 4, dst: '10.244.2.0/24', gateway: '198.18.0.2', ifindex: 2, onlink: false, scope: 0, table: 254, protocol: 3, type: 1, metric: 0, prefsrc: null, ...over };
}

describe('route-network: route comparison', () => {
  it('compares addresses by value, not by text', () => {
    expect(canonical('fd00:0:0::1')).to.equal('fd00::1');
    expect(canonical('FD00::0001/64')).to.equal('fd00::1/64');
    expect(canonical('not an address')).to.equal('not an address');
    const v6 = kernelRoute({ family: 6, dst: 'fd00:1::/64', gateway: 'fd00::2' });
    expect(sameRoute(v6, { dst: 'fd00:1:0::/64', gateway: 'fd00:0::2', ifindex: 2 })).to.equal(true);
  });

  it('tells present, missing and conflicting routes apart by destination, table and metric', () => {
    const want = { dst: '10.244.2.0/24', gateway: '198.18.0.2', ifindex: 2 };
    expect(routeState(want, [kernelRoute({})])).to.deep.equal({ kind: 'present' });
    expect(routeState(want, [kernelRoute({ dst: '10.244.3.0/24' })])).to.deep.equal({ kind: 'missing' });
    expect(routeState(want, [kernelRoute({ metric: 100, gateway: '198.18.0.9' })])).to.deep.equal({ kind: 'missing' });
    expect(routeState(want, [kernelRoute({ table: 100 })])).to.deep.equal({ kind: 'missing' });
    const other = kernelRoute({ ifindex: 3 });
    expect(routeState(want, [other])).to.deep.equal({ kind: 'conflict', existing: other });
    expect(routeState(want, [kernelRoute({ protocol: 4, scope: 0 })])).to.deep.equal({ kind: 'present' });
  });

  it('finds an IPv6 route wanted without a metric where the kernel lists it, at metric 1024', () => {
    // The kernel gives an IPv6 route added with metric 0 the metric 1024: that is the same route, and its
    // slot is wanted (otherwise the route check puts it back and the stale sweep deletes it, forever).
    const want = { dst: 'fd00:10:244:2::/64', gateway: 'fd00:198:18::2', ifindex: 2, protocol: 157 };
    const listed = kernelRoute({ family: 6, dst: 'fd00:10:244:2::/64', gateway: 'fd00:198:18::2', metric: 1024, protocol: 157 });
    expect(routeState(want, [listed])).to.deep.equal({ kind: 'present' });
    expect(slotKey(listed)).to.equal(slotKey(want));
    expect(slotKey({ dst: '10.244.2.0/24' })).to.not.equal(slotKey({ dst: '10.244.2.0/24', metric: 1024 }));
  });
});

describe('route-network: RouteKeeper on the fake kernel', () => {
  let native: FakeNative;
  let log: RecordingLogger;
  let answers: Map<string, LeaseRoutes | Error>;

  const routes = async (): Promise<string[]> =>
    (await native.routeList()).filter((r) => r.protocol !== RTPROT_KERNEL).map((r) => `${r.dst} via ${r.gateway}`).sort();

  /** Default answer: the lease's subnet and its /25 halves' first half, both via its public IP. */
  async function routesFor(l: Lease): Promise<LeaseRoutes> {
    const a = answers.get(l.subnet.toString());
    if (a instanceof Error) throw a;
    if (a) return a;
    const gw = formatIP4(l.attrs.publicIP);
    return { routes: [{ dst: l.subnet.toString(), gateway: gw, ifindex: 2 }, { dst: `${formatIP4(l.subnet.ip)}/25`, gateway: gw, ifindex: 2 }], withheld: [] };
  }

  beforeEach(async () => {
    native = new FakeNative();
    const eth0 = native.addTestLink({ name: 'eth0' });
    await native.addrAdd({ ifindex: eth0.index, address: '198.18.0.1', prefixLen: 24 });
    log = new RecordingLogger();
    answers = new Map();
  });

  it('installs every route of a lease in one batch and deletes the ones a lease stops wanting', async () => {
    const keeper = new RouteKeeper({ native, logger: log, routesFor });
    const calls = native.applyCalls;
    await keeper.update([lease('10.244.2.0/24', '198.18.0.2', 'x'), lease('10.244.3.0/24', '198.18.0.3', 'x')]);
    expect(native.applyCalls - calls).to.equal(1);
    expect(await routes()).to.have.length(4);
    answers.set('10.244.2.0/24', { routes: [{ dst: '10.244.2.0/24', gateway: '198.18.0.2', ifindex: 2 }], withheld: [] });
    await keeper.update([lease('10.244.2.0/24', '198.18.0.2', 'x')]);
    expect(await routes()).to.deep.equal(['10.244.2.0/24 via 198.18.0.2', '10.244.3.0/24 via 198.18.0.3', '10.244.3.0/25 via 198.18.0.3']);
    expect(keeper.wanted()).to.have.length(3);
  });

  it('treats the same lease value again (a renewal) quietly, yet puts back a route that went missing', async () => {
    const keeper = new RouteKeeper({ native, logger: log, routesFor });
    await keeper.update([lease('10.244.2.0/24', '198.18.0.2', 'x')]);
    await native.routeDelete({ dst: '10.244.2.0/25' });
    const writes = native.opsApplied;
    await keeper.update([lease('10.244.2.0/24', '198.18.0.2', 'x')]);
    expect(native.opsApplied - writes).to.equal(1);
    expect(await routes()).to.deep.equal(['10.244.2.0/24 via 198.18.0.2', '10.244.2.0/25 via 198.18.0.2']);
    expect(log.messages('info').filter((m) => m.startsWith('peer'))).to.deep.equal(['peer added: 10.244.2.0/24 (public IP 198.18.0.2)']);
    expect(log.messages('info').filter((m) => m.includes('already exists'))).to.have.length(0);
  });

  it('deletes only its own route when a lease goes, never a route someone put in its place', async () => {
    const keeper = new RouteKeeper({ native, logger: log, routesFor });
    await keeper.update([lease('10.244.2.0/24', '198.18.0.2', 'x')]);
    await native.routeReplace({ dst: '10.244.2.0/24', gateway: '198.18.0.50' });
    await keeper.remove([lease('10.244.2.0/24', '198.18.0.2', 'x'), lease('10.244.7.0/24', '198.18.0.7', 'x')]);
    expect(await routes()).to.deep.equal(['10.244.2.0/24 via 198.18.0.50']);
    expect(keeper.has(lease('10.244.2.0/24', '198.18.0.2', 'x'))).to.equal(false);
    expect(log.messages('error')).to.deep.equal([]);
  });

  it('withholds a lease whose routes cannot be worked out, warns once, and asks again at each check', async () => {
    answers.set('10.244.2.0/24', new Error('lookup exploded'));
    const keeper = new RouteKeeper({ native, logger: log, routesFor });
    await keeper.update([lease('10.244.2.0/24', '198.18.0.2', 'x')]);
    await keeper.check();
    expect(await routes()).to.deep.equal([]);
    expect(log.messages('warn')).to.deep.equal(['not routing to host 10.244.2.0/24 (public IP 198.18.0.2): cannot work out its routes: lookup exploded']);
    answers.delete('10.244.2.0/24');
    await keeper.check();
    expect(await routes()).to.deep.equal(['10.244.2.0/24 via 198.18.0.2', '10.244.2.0/25 via 198.18.0.2']);
    expect(log.messages('info')).to.include('host 10.244.2.0/24 (public IP 198.18.0.2) can be routed now');
  });

  it('serialises overlapping calls: an update and a removal issued together end with the removal', async () => {
    const keeper = new RouteKeeper({ native, logger: log, routesFor });
    const l = lease('10.244.2.0/24', '198.18.0.2', 'x');
    await Promise.all([keeper.update([l]), keeper.check(), keeper.remove([l])]);
    expect(await routes()).to.deep.equal([]);
  });

  it('retries ops that fail with a transient error right away', async () => {
    let failures = 2;
    native.faults = [(op) => (op.op === 'route.replace' && failures-- > 0 ? 'ENOBUFS' : null)];
    const keeper = new RouteKeeper({ native, logger: log, routesFor });
    await keeper.update([lease('10.244.2.0/24', '198.18.0.2', 'x')]);
    expect(await routes()).to.have.length(2);
    expect(log.messages('error')).to.deep.equal([]);
  });

  it('a check that cannot list the routes logs it and writes nothing', async () => {
    const keeper = new RouteKeeper({ native, logger: log, routesFor });
    await keeper.update([lease('10.244.2.0/24', '198.18.0.2', 'x')]);
    await native.routeDelete({ dst: '10.244.2.0/24' });
    native.routeList = () => Promise.reject(new Error('socket gone'));
    await keeper.check();
    expect(log.messages('warn')).to.include("cannot list the kernel's routes (socket gone); retrying at the next check");
    expect(native.state.routes.map((r) => r.dst)).to.deep.equal(['10.244.2.0/25']);
  });
});
