// Exponential backoff shared by every retry loop (store reconnects, device recreation, node cache).

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
