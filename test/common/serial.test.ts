// The one serial queue: order, no interleaving, and its one error behaviour.
import { expect } from 'chai';
import { SerialQueue } from '../../common/serial.js';

const tick = (ms = 1): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('common: SerialQueue', () => {
  it('runs tasks one at a time in the order given, each seeing the previous one finished', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const task = (name: string, ms: number) => async (): Promise<string> => {
      log.push(`${name} start`);
      await tick(ms);
      log.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([q.run(task('a', 15)), q.run(task('b', 1)), q.run(task('c', 5))]);
    expect(results).to.deep.equal(['a', 'b', 'c']);
    expect(log).to.deep.equal(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it("gives a task's rejection to its caller only; later tasks run and idle() resolves", async () => {
    const q = new SerialQueue();
    const failing = q.run(async () => {
      await tick();
      throw new Error('boom');
    });
    const after = q.run(async () => 'after');
    await q.idle();
    await failing.then(
      () => expect.fail('should reject'),
      (e: Error) => expect(e.message).to.equal('boom'),
    );
    expect(await after).to.equal('after');
  });

  it('idle() waits for every task queued so far', async () => {
    const q = new SerialQueue();
    let done = 0;
    for (let i = 0; i < 5; i++) void q.run(async () => void (await tick(2), done++));
    await q.idle();
    expect(done).to.equal(5);
  });
});
