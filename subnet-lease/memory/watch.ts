// One watch on the in-memory registry. It pulls from the registry's history when the consumer asks,
// so a slow consumer sees every change in order; a gap in the history (a compaction it slept through)
// is answered with a fresh snapshot, as the etcd watch does.
import type { Lease, LeaseEvent } from '../lease.js';
import type { Logger } from '../../common/log.js';
import type { RegistryWatchItem } from '../store.js';

/** The registry state a watch reads. */
export interface MemoryWatchHost {
  readonly revision: number;
  /** Revisions up to this one are no longer in the history. */
  readonly compactRevision: number;
  readonly isClosed: boolean;
  readonly watchesConnected: boolean;
  readonly logger: Logger;
  register(w: MemoryWatch): void;
  unregister(w: MemoryWatch): void;
  listLeases(): Lease[];
  eventsAfter(revision: number): LeaseEvent[];
}

export class MemoryWatch {
  /** The last revision delivered; null while a snapshot is due. */
  private cursor: number | null = null;
  private waker: (() => void) | null = null;

  constructor(
    private readonly host: MemoryWatchHost,
    private readonly signal: AbortSignal,
  ) {}

  /** Called by the registry on every change; a no-op while the watch is busy delivering. */
  wake(): void {
    this.waker?.();
  }

  forceResnapshot(): void {
    this.cursor = null;
    this.wake();
  }

  async *run(): AsyncGenerator<RegistryWatchItem, void, undefined> {
    this.host.register(this);
    try {
      while (!this.signal.aborted && !this.host.isClosed) {
        const item = this.poll();
        if (item) yield item;
        else await this.sleep();
      }
    } finally {
      this.host.unregister(this);
    }
  }

  private poll(): RegistryWatchItem | null {
    if (this.cursor !== null && !this.host.watchesConnected) return null;
    if (this.cursor !== null && this.cursor < this.host.compactRevision) {
      this.host.logger.info(`subnet watch: revision ${this.cursor} was compacted (compact revision ${this.host.compactRevision}); re-listing`);
      this.cursor = null;
    }
    if (this.cursor === null) {
      this.cursor = this.host.revision;
      return { kind: 'snapshot', leases: this.host.listLeases() };
    }
    if (this.cursor === this.host.revision) return null;
    const events = this.host.eventsAfter(this.cursor);
    this.cursor = this.host.revision;
    return events.length > 0 ? { kind: 'events', events } : null;
  }

  /** Until the next wake() or the abort; registered synchronously after poll(), so no wake is lost. */
  private sleep(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.signal.removeEventListener('abort', done);
        this.waker = null;
        resolve();
      };
      this.waker = done;
      this.signal.addEventListener('abort', done, { once: true });
    });
  }
}
