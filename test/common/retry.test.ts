// The one retrying apply: only the items marked retryable go again, with a doubling delay, a bounded
// number of times; results stay in the order of the items.
import { expect } from 'chai';
import { retryMarked } from '../../common/retry.js';

interface Err {
  retryable: boolean;
  code: string;
}

describe('common: retryMarked', () => {
  it('retries only the retryable failures, alone, and keeps the results in item order', async () => {
    const calls: string[][] = [];
    const busyOnce = new Set(['b']);
    const run = async (items: readonly string[]): Promise<Array<Err | null>> => {
      calls.push([...items]);
      return items.map((it) => {
        if (it === 'c') return { retryable: false, code: 'EINVAL' };
        if (busyOnce.delete(it)) return { retryable: true, code: 'EBUSY' };
        return null;
      });
    };
    const results = await retryMarked(run, ['a', 'b', 'c'], { delayMs: 1 });
    expect(calls).to.deep.equal([['a', 'b', 'c'], ['b']]);
    expect(results).to.deep.equal([null, null, { retryable: false, code: 'EINVAL' }]);
  });

  it('gives up after the given number of attempts, returning the last error', async () => {
    let calls = 0;
    const results = await retryMarked(async (items: readonly number[]) => (calls++, items.map(() => ({ retryable: true, code: 'ENOBUFS' }))), [1], { attempts: 3, delayMs: 10 });
    expect(calls).to.equal(3);
    expect(results).to.deep.equal([{ retryable: true, code: 'ENOBUFS' }]);
  });
});
