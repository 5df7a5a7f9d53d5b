// Drains a registry watch in the background so a test can await its items one at a time, with a
// timeout that names what was expected instead of hanging until mocha's own timeout.
import type { Registry, RegistryWatchItem } from '../../subnet-lease/store.js';

export class WatchProbe {
  readonly controller = new AbortController();
  /** Resolves when the watch loop ended (normally after stop()). */
  readonly finished: Promise<void>;
  error: unknown;
  ended = false;
  private readonly items: RegistryWatchItem[] = [];
  private wake: (() => void) | null = null;

  /** `diagnostics` (e.g. the captured log) is appended to the errors of next(). */
  constructor(
    registry: Registry,
    private readonly diagnostics: () => string = () => '',
  ) {
    this.finished = this.drain(registry.watchSubnets(this.controller.signal));
  }

  /** The next item; rejects after `timeoutMs`, or when the watch ended or failed first. */
  async next(what = 'a watch item', timeoutMs = 15_000): Promise<RegistryWatchItem> {
    const deadline = Date.now() + timeoutMs;
    while (this.items.length === 0) {
      if (this.ended) throw this.failure(`watch ended while waiting for ${what}${this.error ? `: ${String(this.error)}` : ''}`);
      const left = deadline - Date.now();
      if (left <= 0) throw this.failure(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    return this.items.shift()!;
  }

  /** Items received but not yet taken with next(). */
  pending(): RegistryWatchItem[] {
    return [...this.items];
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.finished;
  }

  private failure(message: string): Error {
    const more = this.diagnostics();
    return new Error(more ? `${message}\n${more}` : message);
  }

  private async drain(it: AsyncIterable<RegistryWatchItem>): Promise<void> {
    try {
      for await (const item of it) {
        this.items.push(item);
        this.wake?.();
      }
    } catch (e) {
      this.error = e;
    } finally {
      this.ended = true;
      this.wake?.();
    }
  }
}
