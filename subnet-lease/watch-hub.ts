// One registry watch, many readers. The lease keeper (our own key) and the backend (everyone else's
// keys) used to open a watch each, so every lease event crossed the network and was decoded twice. The
// hub opens the registry's watch once, keeps the current set of leases, and hands each reader the
// same items: a reader that joins late first gets a snapshot of that set, so every reader sees the
// contract of `Registry.watchSubnets` (a snapshot, then changes in order).
import { abortReason } from '../common/abort.js';
import type { Lease } from './lease.js';
import { subnetKey } from './lease.js';
import type { RegistryWatchItem } from './store.js';

type Open = (signal: AbortSignal) => AsyncIterable<RegistryWatchItem>;

class Reader {
  private readonly items: RegistryWatchItem[] = [];
  private wake: (() => void) | null = null;
  private failure: { error: unknown } | null = null;
  private ended = false;

  push(item: RegistryWatchItem): void {
    this.items.push(item);
    this.wake?.();
  }

  fail(error: unknown): void {
    this.failure = { error };
    this.wake?.();
  }

  /** The shared watch ended without an error (its source closed): the reader ends too. */
  end(): void {
    this.ended = true;
    this.wake?.();
  }

  /** The next item; null when `signal` aborted or the watch ended. Throws the watch's final error. */
  async next(signal: AbortSignal): Promise<RegistryWatchItem | null> {
    for (;;) {
      const item = this.items.shift();
      if (item) return item;
      if (this.failure) throw this.failure.error;
      if (signal.aborted || this.ended) return null;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.wake = null;
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}

/**
 * Shares one `open(signal)` watch between readers. The shared watch starts with the first reader and
 * stops when the last one leaves (its signal aborts); a reader arriving later starts it again.
 */
export class WatchHub {
  private readonly readers = new Set<Reader>();
  /** The current leases by key; null until the shared watch delivered its first snapshot. */
  private state: Map<string, Lease> | null = null;
  private running: AbortController | null = null;

  constructor(private readonly open: Open) {}

  /** Number of shared watches opened so far (tests read it). */
  opened = 0;

  /**
   * A snapshot (the current set, or the watch's first one), then every change, until `signal`
   * aborts (the iteration ends) or the shared watch fails with a final error (thrown to every reader).
   */
  async *watch(signal: AbortSignal): AsyncGenerator<RegistryWatchItem, void, undefined> {
    if (signal.aborted) throw abortReason(signal);
    const reader = new Reader();
    if (this.state) reader.push({ kind: 'snapshot', leases: [...this.state.values()] });
    this.readers.add(reader);
    if (!this.running) this.start();
    try {
      for (;;) {
        const item = await reader.next(signal);
        if (item === null) return;
        yield item;
      }
    } finally {
      this.readers.delete(reader);
      if (this.readers.size === 0) this.stop();
    }
  }

  private start(): void {
    const ac = new AbortController();
    this.running = ac;
    this.opened++;
    void this.pump(ac);
  }

  private stop(): void {
    this.running?.abort();
    this.running = null;
    this.state = null;
  }

  private async pump(ac: AbortController): Promise<void> {
    try {
      for await (const item of this.open(ac.signal)) {
        if (ac.signal.aborted) return;
        this.remember(item);
        for (const r of this.readers) r.push(item);
      }
      if (ac.signal.aborted) return;
      for (const r of this.readers) r.end();
      if (this.running === ac) this.stop();
    } catch (e) {
      if (ac.signal.aborted) return;
      for (const r of this.readers) r.fail(e);
      if (this.running === ac) this.stop();
    }
  }

  private remember(item: RegistryWatchItem): void {
    if (item.kind === 'snapshot') {
      this.state = new Map(item.leases.map((l) => [subnetKey(l.subnet, l.ipv6Subnet), l]));
      return;
    }
    const state = this.state;
    if (!state) return;
    for (const e of item.events) {
      const key = subnetKey(e.lease.subnet, e.lease.ipv6Subnet);
      if (e.type === 'added') state.set(key, e.lease);
      else state.delete(key);
    }
  }
}
