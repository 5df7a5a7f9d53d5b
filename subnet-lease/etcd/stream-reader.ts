// Pull-style reading of one duplex Watch stream: responses are buffered in order, and the first
// error or end is reported after them. Closing cancels the gRPC call; the 'error' (CANCELLED) that
// follows is swallowed here, which is why the listeners stay attached after close.
import type { WatchRequest, WatchResponse } from './messages.js';
import { StoreUnavailableError } from '../store.js';
import type { WatchStream } from './watch.js';

export type StreamMessage = { kind: 'response'; response: WatchResponse } | { kind: 'failed'; error: unknown };

export class StreamReader {
  private readonly buffered: StreamMessage[] = [];
  private wake: (() => void) | null = null;
  private failed = false;
  private closed = false;

  constructor(private readonly stream: WatchStream) {
    stream.on('data', (response) => this.push({ kind: 'response', response }));
    stream.on('error', (error) => this.fail(error));
    // A stream etcd ends on its own (e.g. while shutting down) is a reason to reconnect, not to give up.
    stream.on('end', () => this.fail(new StoreUnavailableError('etcd closed the watch stream')));
  }

  /** Sends a request; a write on a broken stream shows up as the stream's failure instead of a throw. */
  write(req: WatchRequest): void {
    try {
      this.stream.write(req);
    } catch (e) {
      this.fail(e);
    }
  }

  /** The next message in order; null once `signal` aborted or the reader was closed. */
  async next(signal: AbortSignal): Promise<StreamMessage | null> {
    while (this.buffered.length === 0) {
      if (signal.aborted || this.closed) return null;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          this.wake = null;
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
    if (signal.aborted || this.closed) return null;
    return this.buffered.shift() ?? null;
  }

  /** Cancels the call. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.stream.end();
      this.stream.cancel();
    } catch {
      // Already torn down: nothing left to release.
    }
    this.wake?.();
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.push({ kind: 'failed', error });
  }

  private push(msg: StreamMessage): void {
    if (this.closed) return;
    this.buffered.push(msg);
    this.wake?.();
  }
}
