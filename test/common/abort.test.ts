// The abort and backoff helpers of the etcd registry.
import { expect } from 'chai';
import { pause, raceAbort } from '../../common/abort.js';
import { Backoff } from '../../common/backoff.js';

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('etcd registry signal helpers', () => {
  it('Backoff starts at 100 ms, doubles, caps at 5 s and starts over after reset()', () => {
    const b = new Backoff(100, 5000);
    expect(Array.from({ length: 9 }, () => b.next())).to.deep.equal([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    b.reset();
    expect(b.next()).to.equal(100);
  });

  it('pause() returns as soon as the signal aborts and leaves no timer behind', async () => {
    // Let mocha start its own timeout timer first, so it is counted in `before`.
    await new Promise((r) => setImmediate(r));
    const before = timers();
    const ac = new AbortController();
    const t0 = Date.now();
    const p = pause(60_000, ac.signal);
    expect(timers()).to.equal(before + 1);
    ac.abort();
    await p;
    expect(Date.now() - t0).to.be.below(1000);
    expect(timers()).to.equal(before);
  });

  it('raceAbort() rejects with the abort reason and disposes of a value that comes too late', async () => {
    const ac = new AbortController();
    let deliver!: (v: string) => void;
    const disposed: string[] = [];
    const p = raceAbort(new Promise<string>((r) => (deliver = r)), ac.signal, (v) => disposed.push(v));
    ac.abort(new Error('stop'));
    const err = await p.then(() => null, (e: unknown) => e as Error);
    expect(err?.message).to.equal('stop');
    deliver('stream');
    await new Promise((r) => setImmediate(r));
    expect(disposed).to.deep.equal(['stream']);
  });

  it('raceAbort() passes the value through when the signal stays quiet', async () => {
    const disposed: number[] = [];
    expect(await raceAbort(Promise.resolve(7), new AbortController().signal, (v) => disposed.push(v))).to.equal(7);
    expect(disposed).to.deep.equal([]);
  });
});
