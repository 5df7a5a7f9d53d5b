// Time for the peer probes: the clock they run on (a fake one in the unit tests) and the rate bound
// shared by every probe of a host.

export interface ProbeClock {
  /** Milliseconds (any origin; Date.now() in the daemon). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** [0, 1) */
  random(): number;
}

export const realClock: ProbeClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  random: () => Math.random(),
};

/** The send times of the last `max` probes: one more may leave when the oldest is a second old. */
export class SendWindow {
  private readonly times: number[] = [];
  constructor(private readonly max: number) {}
  allows(now: number): boolean {
    return this.times.length < this.max || now - this.times[0]! >= 1000;
  }
  /** When `allows` turns true. */
  nextAt(): number {
    return this.times.length < this.max ? 0 : this.times[0]! + 1000;
  }
  take(now: number): void {
    this.times.push(now);
    if (this.times.length > this.max) this.times.shift();
  }
}
