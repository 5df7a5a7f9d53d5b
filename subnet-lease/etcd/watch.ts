// The subnet watch as an explicit state machine over etcd's raw Watch stream (a watch library would
// replay from its own idea of the revision and turn compaction into an opaque error):
//
//   snapshot ──▶ follow(from R+1) ──event──▶ follow … ──stream error──▶ backoff ──▶ follow(from last+1)
//       ▲                          └──compacted──▶ snapshot (re-list, so nothing is lost)
//
// The resume point is the highest revision actually delivered (event mod_revision, or a progress
// notification's header), not the response header: etcd's catch-up batches may carry a header
// revision ahead of the events they contain.
import type { WatchStream } from './client.js';
import type { WatchEvent, WatchResponse } from './messages.js';
import type { Lease, LeaseEvent } from '../lease.js';
import type { Logger } from '../../common/log.js';
import { StoreUnavailableError } from '../store.js';
import type { RegistryWatchItem } from '../store.js';
import { decodeRemovedLease, decodeStoredLease } from './decode.js';
import { EtcdInvalidAuthTokenError, errorLabel, isTransient, storeError, typedEtcdError, watchCancelError } from './errors.js';
import { pause, raceAbort } from '../../common/abort.js';
import { Backoff } from '../../common/backoff.js';
import { StreamReader, type StreamMessage } from './stream-reader.js';

export type { WatchStream } from './client.js';

/** What the watch needs from the registry: a list, a stream factory, and the key range. */
export interface WatchSource {
  /** One range request over the subnets prefix, with the store revision it reflects. */
  list(signal: AbortSignal): Promise<{ leases: Lease[]; revision: bigint }>;
  /** Opens a new gRPC Watch stream. */
  open(): Promise<WatchStream>;
  /** Fetches a fresh auth token after the old one expired (the watch sends it when it opens). */
  refreshAuth(signal: AbortSignal): Promise<void>;
  readonly key: Buffer;
  readonly rangeEnd: Buffer;
  readonly endpoints: readonly string[];
  readonly logger: Logger;
  /** Called each time the watch is re-established after an interruption (flanneld's metrics); optional. */
  readonly onReconnected?: () => void;
  /** A stream was confirmed by the member (created). */
  readonly onConfirmed?: () => void;
  /** The watch was interrupted, with why; it is reconnecting. */
  readonly onInterrupted?: (why: string) => void;
  /** How long a stream may stay silent before it is asked for progress, and how long the answer may take. */
  readonly liveness?: { silenceMs: number; answerMs: number };
}

/**
 * A quiet watch is not trusted blindly: after 5 s without a message it is asked for progress
 * (WatchProgressRequest), and a stream that does not answer within 3 s — a frozen member, a connection
 * that died without a reset — is treated as broken and opened again (on the next member).
 */
export const DEFAULT_LIVENESS = { silenceMs: 5000, answerMs: 3000 };
// A new stream must be confirmed (created) within answerMs too, so a frozen member is left at once.
const TIMED_OUT = Symbol('timed out');

const INITIAL_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

/** Ends the current stream; `error` set means "back off, then resume", unset means "go on at once". */
type StreamEnd = { error?: unknown };

export class SubnetWatch {
  /** The last revision delivered to the consumer; null while a (re-)snapshot is needed. */
  private revision: bigint | null = null;
  private readonly backoff = new Backoff(INITIAL_BACKOFF_MS, MAX_BACKOFF_MS);
  private failures = 0;
  /** The last failure was an expired auth token: fetch a new one before reopening. */
  private staleToken = false;

  constructor(
    private readonly src: WatchSource,
    private readonly signal: AbortSignal,
  ) {}

  /** Snapshot, then events, until the signal aborts. Throws only final (non-retryable) errors. */
  async *run(): AsyncGenerator<RegistryWatchItem, void, undefined> {
    while (!this.signal.aborted) {
      if (this.revision === null) {
        const snapshot = await this.snapshot();
        if (snapshot) yield snapshot;
        continue;
      }
      const end = yield* this.follow(this.revision + 1n);
      if (end.error !== undefined && !this.signal.aborted) await this.recover(end.error);
    }
  }

  private async snapshot(): Promise<RegistryWatchItem | null> {
    try {
      const { leases, revision } = await this.src.list(this.signal);
      this.revision = revision;
      return { kind: 'snapshot', leases };
    } catch (e) {
      if (!this.signal.aborted) await this.recover(e);
      return null;
    }
  }

  /** Logs, refreshes the auth token when that was the problem, and waits out the backoff. */
  private async recover(e: unknown): Promise<void> {
    if (!isTransient(e)) throw storeError(e, 'watching subnets', this.src.endpoints);
    this.failures++;
    const delay = this.backoff.next();
    const err = typedEtcdError(e);
    this.src.onInterrupted?.(`${errorLabel(err)}: ${err.message}`);
    this.src.logger.warn(`subnet watch interrupted (${errorLabel(err)}: ${err.message}); retrying in ${delay} ms`, {
      endpoints: this.src.endpoints.join(','),
      attempt: this.failures,
    });
    // Refreshed just before reconnecting: a token fetched now could expire again during the pause.
    this.staleToken = err instanceof EtcdInvalidAuthTokenError;
    await pause(delay, this.signal);
  }

  private async refreshToken(): Promise<void> {
    this.staleToken = false;
    await this.src.refreshAuth(this.signal).catch((e: unknown) => {
      this.src.logger.warn(`subnet watch: could not refresh the etcd auth token: ${(e as Error).message}`);
    });
  }

  private async *follow(from: bigint): AsyncGenerator<RegistryWatchItem, StreamEnd, undefined> {
    let reader: StreamReader;
    try {
      if (this.staleToken) await this.refreshToken();
      reader = new StreamReader(await raceAbort(this.src.open(), this.signal, (s) => s.cancel()));
    } catch (e) {
      return { error: e };
    }
    const closeOnAbort = (): void => reader.close();
    this.signal.addEventListener('abort', closeOnAbort, { once: true });
    try {
      reader.write({
        create_request: { key: this.src.key, range_end: this.src.rangeEnd, start_revision: from.toString(), progress_notify: true },
      });
      const { silenceMs, answerMs } = this.src.liveness ?? DEFAULT_LIVENESS;
      // The member confirms the watch at once; one that does not within answerMs is not waited for.
      const confirmed = await this.nextWithin(reader, answerMs);
      if (confirmed === TIMED_OUT) return { error: new StoreUnavailableError(`the member did not confirm the watch within ${answerMs} ms`) };
      for (let msg: StreamMessage | null | typeof TIMED_OUT = confirmed; ; msg = await this.nextLive(reader)) {
        if (msg === TIMED_OUT) {
          return { error: new StoreUnavailableError(`the watch stream stayed silent for ${silenceMs} ms and did not answer a progress request within ${answerMs} ms`) };
        }
        if (msg === null) return {};
        if (msg.kind === 'failed') return { error: msg.error };
        const outcome = this.handle(msg.response);
        if (outcome.items) yield outcome.items;
        if (outcome.end) return outcome.end;
      }
    } finally {
      this.signal.removeEventListener('abort', closeOnAbort);
      reader.close();
    }
  }

  /** The next message; after a silence, a progress request first; TIMED_OUT when that is not answered. */
  private async nextLive(reader: StreamReader): Promise<StreamMessage | null | typeof TIMED_OUT> {
    const { silenceMs, answerMs } = this.src.liveness ?? DEFAULT_LIVENESS;
    const first = await this.nextWithin(reader, silenceMs);
    if (first !== TIMED_OUT) return first;
    reader.write({ progress_request: {} });
    return this.nextWithin(reader, answerMs);
  }

  private async nextWithin(reader: StreamReader, ms: number): Promise<StreamMessage | null | typeof TIMED_OUT> {
    const ctl = new AbortController();
    let timedOut = false;
    const stop = (): void => ctl.abort();
    const timer = setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, ms);
    this.signal.addEventListener('abort', stop, { once: true });
    try {
      const msg = await reader.next(ctl.signal);
      return msg === null && timedOut && !this.signal.aborted ? TIMED_OUT : msg;
    } finally {
      clearTimeout(timer);
      this.signal.removeEventListener('abort', stop);
    }
  }

  private handle(res: WatchResponse): { items?: RegistryWatchItem; end?: StreamEnd } {
    if (res.compact_revision && res.compact_revision !== '0') return { end: this.compacted(res.compact_revision) };
    if (res.canceled) return { end: { error: this.cancelError(res.cancel_reason) } };
    if (res.created) {
      this.connected();
      return {};
    }
    if (res.events.length === 0) {
      // A progress notification: every change up to header.revision has been delivered.
      this.advance(res.header.revision);
      return {};
    }
    const events: LeaseEvent[] = [];
    for (const ev of res.events) {
      const decoded = this.decode(ev);
      if (decoded) events.push(decoded);
      this.advance(ev.kv.mod_revision);
    }
    return events.length > 0 ? { items: { kind: 'events', events } } : {};
  }

  private connected(): void {
    this.src.onConfirmed?.();
    if (this.failures > 0) {
      this.src.onReconnected?.();
      this.src.logger.info(`subnet watch reconnected, resuming after revision ${this.revision}`, {
        endpoints: this.src.endpoints.join(','),
      });
    }
    this.failures = 0;
    this.backoff.reset();
  }

  private compacted(compactRevision: string): StreamEnd {
    this.src.logger.info(
      `subnet watch: revision ${this.revision} was compacted (compact revision ${compactRevision}); re-listing`,
      { endpoints: this.src.endpoints.join(',') },
    );
    this.revision = null;
    return {};
  }

  private cancelError(reason: string): Error {
    // Keep etcd's own class where there is one: it decides between giving up and refreshing the token.
    return watchCancelError(reason) ?? new StoreUnavailableError(`etcd canceled the subnet watch: ${reason || 'no reason given'}`);
  }

  private advance(revision: string): void {
    const r = BigInt(revision);
    if (this.revision === null || r > this.revision) this.revision = r;
  }

  private decode(ev: WatchEvent): LeaseEvent | null {
    const key = ev.kv.key.toString();
    if (ev.type === 'Delete') {
      const lease = decodeRemovedLease(key, this.src.logger);
      return lease && { type: 'removed', lease };
    }
    const lease = decodeStoredLease(key, ev.kv.value.toString(), ev.kv.lease === '0', this.src.logger, ev.kv.create_revision);
    return lease && { type: 'added', lease };
  }
}
