// The blackhole-route part (--ip-blackhole-route) on the in-memory native layer: the route is there
// after set-up, put back after a deletion, moved when our lease moves, and left in place on stop.
import { expect } from 'chai';
import { BLACKHOLE_METRIC, BlackholeRoutes } from '../../flanneld/blackhole.js';
import { FakeNative } from '../../native/fake.js';
import type { Route } from '../../native/types.js';
import { until } from '../helpers/flanneld.js';
import { RecordingLogger } from '../helpers/recording-logger.js';

describe('blackhole routes (FakeNative)', function () {
  this.timeout(10_000);
  let native: FakeNative;
  let log: RecordingLogger;
  let ac: AbortController;
  let loop: Promise<void> | null;

  beforeEach(async () => {
    native = new FakeNative();
    // cni0 carries part of the subnet: its connected route must survive beside the blackhole route.
    const cni0 = native.addTestLink({ name: 'cni0', kind: 'bridge' });
    await native.addrAdd({ ifindex: cni0.index, address: '10.244.5.1', prefixLen: 24 });
    log = new RecordingLogger();
    ac = new AbortController();
    loop = null;
  });
  afterEach(async () => {
    ac.abort();
    await loop;
  });

  const part = () => new BlackholeRoutes({ native: () => native, resyncSeconds: 1, logger: log });
  const blackholes = async (): Promise<string[]> =>
    (await native.routeList({ family: 4 })).filter((r: Route) => r.type === 6).map((r) => `${r.dst} metric ${r.metric}`);

  it('installs the blackhole route of our subnet with the highest metric, beside the connected route', async () => {
    await part().setUp(['10.244.5.0/24']);
    expect(await blackholes()).to.deep.equal([`10.244.5.0/24 metric ${BLACKHOLE_METRIC}`]);
    const same = (await native.routeList({ family: 4 })).filter((r) => r.dst === '10.244.5.0/24');
    expect(same.map((r) => r.type).sort()).to.deep.equal([1, 6]);
    expect((await native.routeGet('10.244.5.7'))[0]?.ifindex).to.equal((await native.linkGet('cni0'))!.index);
    expect(log.messages('info')).to.include(`added the blackhole route for 10.244.5.0/24 (metric ${BLACKHOLE_METRIC})`);
  });

  it('puts the route back after it was deleted, and logs the repair', async () => {
    const b = part();
    await b.setUp(['10.244.5.0/24']);
    loop = b.run(ac.signal);
    await native.routeDelete({ dst: '10.244.5.0/24', type: 'blackhole' });
    expect(await blackholes()).to.deep.equal([]);
    await until('the blackhole route back', async () => (await blackholes()).length === 1, 5000);
    expect(log.messages('info')).to.include('the blackhole route for 10.244.5.0/24 was missing; put it back');
    // A check that finds it in place writes nothing.
    const applied = native.opsApplied;
    await new Promise((r) => setTimeout(r, 1300));
    expect(native.opsApplied).to.equal(applied);
  });

  it('follows our lease: the old subnet loses its blackhole route, the new one gets it', async () => {
    const b = part();
    await b.setUp(['10.244.5.0/24']);
    loop = b.run(ac.signal);
    await b.setUp(['10.244.9.0/24']);
    expect(await blackholes()).to.deep.equal([`10.244.9.0/24 metric ${BLACKHOLE_METRIC}`]);
    // The loop keeps the new one and does not bring the old one back; cni0's route stays.
    await native.routeDelete({ dst: '10.244.9.0/24', type: 'blackhole' });
    await until('the new blackhole route back', async () => (await blackholes()).length === 1, 5000);
    expect(await blackholes()).to.deep.equal([`10.244.9.0/24 metric ${BLACKHOLE_METRIC}`]);
    expect((await native.routeList({ family: 4 })).some((r) => r.dst === '10.244.5.0/24' && r.type === 1)).to.equal(true);
    expect(log.messages('info')).to.include('removed the blackhole route for 10.244.5.0/24, no longer our subnet');
  });

  it('leaves the route in place when the loop stops', async () => {
    const b = part();
    await b.setUp(['10.244.5.0/24']);
    loop = b.run(ac.signal);
    ac.abort();
    await loop;
    expect(await blackholes()).to.have.length(1);
  });

  it('logs a failure once and keeps trying', async () => {
    native.faults = [(op) => (op.op === 'route.replace' ? 'EPERM' : null)];
    const b = part();
    await b.setUp(['10.244.5.0/24']);
    loop = b.run(ac.signal);
    await new Promise((r) => setTimeout(r, 1200));
    expect(log.messages('error').filter((m) => m.startsWith('Failed to ensure the blackhole route for 10.244.5.0/24'))).to.have.length(1);
    native.faults = [];
    await until('the blackhole route once the fault is gone', async () => (await blackholes()).length === 1, 5000);
  });
});
