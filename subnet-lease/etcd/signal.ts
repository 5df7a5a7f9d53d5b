// AbortSignal plumbing for the etcd registry. gRPC unary calls made through etcd3 cannot be cancelled
// by a signal, so callers race them instead; a call that finishes after the abort is simply ignored
// (or disposed of, when it produced a resource such as a stream).

/** The error to reject with once `signal` aborted: its reason when that is an Error. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error('operation aborted');
  err.name = 'AbortError';
  return err;
}

/**
 * Settles like `p`, or rejects with the abort reason as soon as `signal` aborts. When the signal wins
 * and `p` later yields a value, `dispose` gets it so nothing is leaked.
 */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal, dispose?: (value: T) => void): Promise<T> {
  if (signal.aborted) {
    p.then((v) => dispose?.(v), () => undefined);
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      reject(abortError(signal));
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

/** Exponential backoff: `initialMs`, doubling on each failure, capped at `maxMs`; reset after a success. */
export class Backoff {
  private nextMs: number;
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {
    this.nextMs = initialMs;
  }
  /** The delay to wait now; the following call returns twice as much (up to the cap). */
  next(): number {
    const ms = this.nextMs;
    this.nextMs = Math.min(this.nextMs * 2, this.maxMs);
    return ms;
  }
  reset(): void {
    this.nextMs = this.initialMs;
  }
}
