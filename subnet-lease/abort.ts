// Small helpers for AbortSignal-driven loops.
import { setTimeout as delay } from 'node:timers/promises';

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
