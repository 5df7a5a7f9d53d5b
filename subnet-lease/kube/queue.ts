// An unbounded queue between a push-style producer (the node cache's change callbacks) and one async
// consumer. Nothing is ever dropped and the producer never blocks, so a slow backend cannot stall the
// watch (the deadlock of reference issue #2252); `highWater` only makes a growing backlog visible.

export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | null = null;
  private warned = false;

  constructor(
    private readonly highWater = Infinity,
    private readonly onHighWater: (size: number) => void = () => undefined,
  ) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.highWater && !this.warned) {
      this.warned = true;
      this.onHighWater(this.items.length);
    } else if (this.items.length <= this.highWater / 2) {
      this.warned = false;
    }
    this.wake?.();
  }

  get size(): number {
    return this.items.length;
  }

  /** Yields items in order until `signal` aborts (then returns, without throwing). */
  async *drain(signal: AbortSignal): AsyncGenerator<T> {
    const onAbort = (): void => this.wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        const item = this.items.shift();
        if (item !== undefined) {
          yield item;
          continue;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}
