// The one retrying apply: a batch of items goes out at once; the items whose result is marked
// retryable (a transient error such as ENOBUFS or EBUSY) go again, alone, after a doubling delay,
// up to `attempts` tries in all. The other results are final.
import { Backoff } from './backoff.js';

export interface RetryOptions {
  /** Tries in all, the first included (default 3). */
  attempts?: number;
  /** Delay before the first retry, doubling after each (default 100 ms). */
  delayMs?: number;
}

/** Results in the order of `items`; null is success. */
export async function retryMarked<T, E extends { readonly retryable: boolean }>(
  run: (items: readonly T[]) => Promise<ReadonlyArray<E | null>>,
  items: readonly T[],
  opts: RetryOptions = {},
): Promise<Array<E | null>> {
  const attempts = opts.attempts ?? 3;
  const backoff = new Backoff(opts.delayMs ?? 100, Number.MAX_SAFE_INTEGER);
  const results = [...(await run(items))];
  for (let attempt = 1; attempt < attempts; attempt++) {
    const again = results.flatMap((r, i) => (r?.retryable ? [i] : []));
    if (again.length === 0) break;
    await new Promise((r) => setTimeout(r, backoff.next()));
    const retried = await run(again.map((i) => items[i]!));
    again.forEach((i, k) => (results[i] = retried[k] ?? null));
  }
  return results;
}
