// Small helpers for AbortSignal-driven loops. gRPC unary calls made through the etcd client cannot be cancelled
// by a signal, so callers race them instead (raceAbort); a call that finishes after the abort is ignored,
// or disposed of when it produced a resource such as a stream.
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Calls `fn` every `periodMs` (the first call one period from now) until `signal` aborts, then resolves.
 * A rejection of `fn` while the signal is live ends the loop with that rejection.
 */
export async function repeatEvery(periodMs: number, signal: AbortSignal, fn: () => Promise<unknown>): Promise<void> {
  try {
    for (;;) {
      await sleep(periodMs, signal);
      await fn();
    }
  } catch (e) {
    if (!signal.aborted) throw e;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).then(() => undefined, () => {
    throw abortReason(signal);
  });
}

/** The error to throw when `signal` aborted: its reason when that is an Error, else an AbortError. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error('operation aborted');
  err.name = 'AbortError';
  return err;
}

export function isAbort(e: unknown, signal: AbortSignal): boolean {
  return signal.aborted && (e === signal.reason || (e instanceof Error && e.name === 'AbortError'));
}

/**
 * Settles like `p`, or rejects with the abort reason as soon as `signal` aborts. When the signal wins
 * and `p` later yields a value, `dispose` gets it so nothing is leaked.
 */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal, dispose?: (value: T) => void): Promise<T> {
  if (signal.aborted) {
    p.then((v) => dispose?.(v), () => undefined);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        if (aborted) dispose?.(v);
        else resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Waits `ms`; resolves early (without throwing) when `signal` aborts, and leaves no timer behind. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
