// An in-memory Registry for unit tests of everything above the key-value layer. It stores the same
// bytes etcd would (keys and encodeLeaseAttrs JSON) and models etcd's revisions, lease expiry and
// compaction, so the contract tests that run against a real etcd run against it unchanged.
//
// Time is a test-driven clock: nothing expires until `advance()` or `expire()` says so, and no timer
// is ever started, so a test using it needs no fake timers and leaves nothing running.
import type { IP4Net, IP6Net } from '../../common/ip.js';
import { encodeLeaseAttrs, subnetKey } from '../lease.js';
import type { Lease, LeaseAttrs, LeaseEvent } from '../lease.js';
import type { Logger } from '../../common/log.js';
import { silentLogger } from '../../common/log.js';
import { ConfigNotFoundError, LeaseStoreError, StoreUnavailableError, SubnetExistsError } from '../store.js';
import type { Registry, RegistryWatchItem } from '../store.js';
import { decodeRemovedLease, decodeStoredLease } from '../etcd/decode.js';
import { MemoryWatch } from './watch.js';
import type { MemoryWatchHost } from './watch.js';

export interface MemoryRegistryOptions {
  /** Start of the clock, in ms since the epoch; default Date.now() at construction. */
  startMs?: number;
  logger?: Logger;
  /** Only used in messages, to read like the etcd ones. Default '/coreos.com/network'. */
  prefix?: string;
}

export interface RawEntry {
  value: string;
  /** False for a reservation (a key without an etcd lease). */
  leased: boolean;
  /** Clock time (ms) at which the key expires; null for a reservation. */
  expiresAt: number | null;
  modRevision: number;
}

/** One change in the history, as etcd's watch would replay it. */
export interface HistoryEntry {
  revision: number;
  type: 'put' | 'delete';
  key: string;
  value: string;
  leased: boolean;
}

/**
 * Registry methods reject with the signal's reason when it is already aborted (they never wait), with
 * StoreUnavailableError while setAvailable(false), and with a final LeaseStoreError after close().
 * The test controls act at once and may be called any number of times.
 */
export class MemoryRegistry implements Registry, MemoryWatchHost {
  readonly logger: Logger;
  private readonly prefix: string;
  private clockMs: number;
  private config: string | null = null;
  private readonly entries = new Map<string, RawEntry>();
  private revisionNo = 1;
  private compactedAt = 0;
  private history: HistoryEntry[] = [];
  private readonly watches = new Set<MemoryWatch>();
  private available = true;
  private watchersConnected = true;
  private closed = false;

  constructor(opts: MemoryRegistryOptions = {}) {
    this.clockMs = opts.startMs ?? Date.now();
    this.logger = opts.logger ?? silentLogger;
    this.prefix = opts.prefix ?? '/coreos.com/network';
  }

  // ---- the Registry interface -------------------------------------------------------------------

  async getNetworkConfig(signal: AbortSignal): Promise<string> {
    this.check(signal);
    if (this.config === null) {
      throw new ConfigNotFoundError(
        'flannel config not found in etcd store. Did you create your config using etcdv3 API? ' +
          `(key ${this.prefix}/config in the in-memory registry)`,
      );
    }
    return this.config;
  }

  async getSubnets(signal: AbortSignal): Promise<Lease[]> {
    this.check(signal);
    return this.listLeases();
  }

  async getSubnet(subnet: IP4Net, ipv6Subnet: IP6Net | null, signal: AbortSignal): Promise<Lease | null> {
    this.check(signal);
    const key = subnetKey(subnet, ipv6Subnet);
    const e = this.entries.get(key);
    return e ? decodeStoredLease(this.fullKey(key), e.value, !e.leased, this.logger) : null;
  }

  async createSubnet(subnet: IP4Net, ipv6Subnet: IP6Net | null, attrs: LeaseAttrs, ttlSeconds: number, signal: AbortSignal): Promise<Lease> {
    this.check(signal);
    const key = subnetKey(subnet, ipv6Subnet);
    if (this.entries.has(key)) throw new SubnetExistsError(`subnet already exists: ${this.fullKey(key)} (in-memory registry)`);
    this.write(key, encodeLeaseAttrs(attrs), ttlSeconds);
    return { subnet, ipv6Subnet, attrs, reservation: false, expiration: new Date(this.clockMs + ttlSeconds * 1000) };
  }

  async updateSubnet(subnet: IP4Net, ipv6Subnet: IP6Net | null, attrs: LeaseAttrs, ttlSeconds: number, signal: AbortSignal): Promise<Lease> {
    this.check(signal);
    this.write(subnetKey(subnet, ipv6Subnet), encodeLeaseAttrs(attrs), ttlSeconds);
    if (ttlSeconds === 0) return { subnet, ipv6Subnet, attrs, reservation: true };
    return { subnet, ipv6Subnet, attrs, reservation: false, expiration: new Date(this.clockMs + ttlSeconds * 1000) };
  }

  async deleteSubnet(subnet: IP4Net, ipv6Subnet: IP6Net | null, signal: AbortSignal): Promise<void> {
    this.check(signal);
    this.remove(subnetKey(subnet, ipv6Subnet));
  }

  /** Snapshot, then events, until `signal` aborts or the registry is closed. */
  watchSubnets(signal: AbortSignal): AsyncIterable<RegistryWatchItem> {
    return new MemoryWatch(this, signal).run();
  }

  /** Ends every watch. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.watches) w.wake();
  }

  // ---- test controls ----------------------------------------------------------------------------

  /** The clock (ms since the epoch) that expirations are computed from. */
  now(): number {
    return this.clockMs;
  }

  /** Moves the clock on and deletes (with `removed` events) every leased key whose time is up. */
  advance(ms: number): void {
    this.clockMs += ms;
    for (const [key, e] of [...this.entries]) {
      if (e.expiresAt !== null && e.expiresAt <= this.clockMs) this.remove(key);
    }
  }

  /** Lets the etcd lease of one key run out now, whatever its TTL; false when it has none (or no key). */
  expire(subnet: IP4Net, ipv6Subnet: IP6Net | null = null): boolean {
    const key = subnetKey(subnet, ipv6Subnet);
    if (!this.entries.get(key)?.leased) return false;
    this.remove(key);
    return true;
  }

  /** Writes or (null) deletes the config text. */
  setConfig(text: string | null): void {
    this.config = text;
  }

  /** Writes any value under `<prefix>/subnets/<keySuffix>`, e.g. junk, as another writer could. */
  putRaw(keySuffix: string, value: string, opts: { leased?: boolean; ttlSeconds?: number } = {}): void {
    this.write(keySuffix, value, opts.leased === false ? 0 : (opts.ttlSeconds ?? 86400));
  }

  deleteRaw(keySuffix: string): void {
    this.remove(keySuffix);
  }

  /** Key suffixes under `<prefix>/subnets/`, sorted as etcd lists them. */
  rawKeys(): string[] {
    return [...this.entries.keys()].sort();
  }

  getRaw(keySuffix: string): RawEntry | null {
    const e = this.entries.get(keySuffix);
    return e ? { ...e } : null;
  }

  /** While false, every call rejects with StoreUnavailableError (watches are not affected). */
  setAvailable(available: boolean): void {
    this.available = available;
  }

  /** Like a cut connection: watches stop receiving until reconnectWatchers(), then resume or re-list. */
  disconnectWatchers(): void {
    this.watchersConnected = false;
  }

  reconnectWatchers(): void {
    this.watchersConnected = true;
    for (const w of this.watches) w.wake();
  }

  /** Like `etcdctl compact <current revision>`: watches that are behind will have to re-list. */
  compact(): void {
    this.compactedAt = this.revisionNo;
    this.history = [];
    for (const w of this.watches) w.wake();
  }

  /** Makes every active watch behave as if its revision had been compacted: it re-lists at once. */
  forceResnapshot(): void {
    for (const w of this.watches) w.forceResnapshot();
  }

  // ---- MemoryWatchHost (used by MemoryWatch) ----------------------------------------------------

  get revision(): number {
    return this.revisionNo;
  }
  get compactRevision(): number {
    return this.compactedAt;
  }
  get isClosed(): boolean {
    return this.closed;
  }
  get watchesConnected(): boolean {
    return this.watchersConnected;
  }
  register(w: MemoryWatch): void {
    this.watches.add(w);
  }
  unregister(w: MemoryWatch): void {
    this.watches.delete(w);
  }
  listLeases(): Lease[] {
    const out: Lease[] = [];
    for (const key of this.rawKeys()) {
      const e = this.entries.get(key)!;
      const lease = decodeStoredLease(this.fullKey(key), e.value, !e.leased, this.logger);
      if (lease) out.push(lease);
    }
    return out;
  }
  /** Decoded events after `revision`, the malformed ones skipped and logged as the etcd watch does. */
  eventsAfter(revision: number): LeaseEvent[] {
    const out: LeaseEvent[] = [];
    for (const h of this.history) {
      if (h.revision <= revision) continue;
      const full = this.fullKey(h.key);
      const lease = h.type === 'put' ? decodeStoredLease(full, h.value, !h.leased, this.logger) : decodeRemovedLease(full, this.logger);
      if (lease) out.push({ type: h.type === 'put' ? 'added' : 'removed', lease });
    }
    return out;
  }

  // ---- internals --------------------------------------------------------------------------------

  private check(signal: AbortSignal): void {
    signal.throwIfAborted();
    // Like the etcd registry after close(): final, not retryable.
    if (this.closed) throw new LeaseStoreError('the in-memory registry is closed');
    if (!this.available) throw new StoreUnavailableError('the in-memory registry is unavailable (test switch)');
  }

  private fullKey(keySuffix: string): string {
    return `${this.prefix}/subnets/${keySuffix}`;
  }

  private write(key: string, value: string, ttlSeconds: number): void {
    const leased = ttlSeconds > 0;
    const revision = ++this.revisionNo;
    const expiresAt = leased ? this.clockMs + ttlSeconds * 1000 : null;
    this.entries.set(key, { value, leased, expiresAt, modRevision: revision });
    this.record({ revision, type: 'put', key, value, leased });
  }

  private remove(key: string): void {
    if (!this.entries.delete(key)) return;
    this.record({ revision: ++this.revisionNo, type: 'delete', key, value: '', leased: false });
  }

  private record(h: HistoryEntry): void {
    this.history.push(h);
    for (const w of this.watches) w.wake();
  }
}
