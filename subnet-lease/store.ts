// The two interfaces of the lease layer.
//
// `LeaseStore` is what flanneld and the backends see, whatever keeps the leases (etcd, Kubernetes).
// `Registry` is the key-value layer under the etcd-style local manager: etcd itself, or the in-memory
// registry of the unit tests. The store never knows a backend, and never writes files.
import type { NetworkConfig } from './config.js';
import type { IP4Net, IP6Net } from '../common/ip.js';
import type { Lease, LeaseAttrs, LeaseEvent, SubnetPair } from './lease.js';

/** Errors a retry loop may retry carry `retryable = true`; everything else is final. */
export class LeaseStoreError extends Error {
  override name = 'LeaseStoreError';
  readonly retryable: boolean = false;
}

/** The config key does not exist (yet): retried every second by the daemon. */
export class ConfigNotFoundError extends LeaseStoreError {
  override name = 'ConfigNotFoundError';
  override readonly retryable = true;
}

/** The key we tried to create exists already (someone else won the race): try another subnet. */
export class SubnetExistsError extends LeaseStoreError {
  override name = 'SubnetExistsError';
  override readonly retryable = true;
}

/** No free subnet between SubnetMin and SubnetMax. Retried: leases of gone hosts expire. */
export class OutOfSubnetsError extends LeaseStoreError {
  override name = 'OutOfSubnetsError';
  override readonly retryable = true;
}

/** The store cannot be reached or answered with a transient error. */
export class StoreUnavailableError extends LeaseStoreError {
  override name = 'StoreUnavailableError';
  override readonly retryable = true;
}

export function isRetryable(e: unknown): boolean {
  return e instanceof Error && (e as { retryable?: unknown }).retryable === true;
}

export interface LeaseStore {
  readonly name: string;
  /** Reads and validates the network config once; ConfigNotFoundError (retryable) when it is missing. */
  getNetworkConfig(signal: AbortSignal): Promise<NetworkConfig>;
  /**
   * Finds or creates our lease for `attrs`. Retries lost creation races and transient errors itself;
   * rejects with the abort reason when `signal` aborts. Calling it twice yields the same subnet while
   * our key still exists.
   */
  acquireLease(attrs: LeaseAttrs, signal: AbortSignal, reading?: StoreReading | null): Promise<Lease>;
  /**
   * Keeps `lease` alive until `signal` aborts (then resolves): renews it before it expires and, when it
   * is deleted or expires, acquires it again (the same subnet while free) and reports the new lease
   * through `onChange`. Never deletes the lease.
   */
  keepLease(lease: Lease, signal: AbortSignal, onChange: (lease: Lease) => void): Promise<void>;
  /**
   * Every other host's lease: first one batch of `added` for those that exist, then batches of changes.
   * Our own lease (the subnets `ownSubnet` returns at the time of each event, compared by `isSameLease`) is filtered out. Ends when
   * `signal` aborts; reconnects by itself.
   */
  watchLeases(ownSubnet: () => SubnetPair | null, signal: AbortSignal): AsyncIterable<LeaseEvent[]>;
  /**
   * Optional: the attributes our previous run wrote (our lease of a previous run or from before a
   * reboot), so that a backend can reuse what peers already know, e.g. the vxlan VTEP MAC. Kube: our
   * Node's annotations (`publicIP` is not needed there). etcd: the lease carrying `attrs.publicIP` (IPv6-only: `attrs.publicIPv6`), found
   * with one listing. Resolves null when there is none, or when it cannot be read (logged, never fatal:
   * callers then start afresh). Rejects with the abort reason when `signal` aborts. Stores that cannot
   * know leave it out; callers treat a missing method like null. It writes nothing. The answer carries
   * what it read (`reading`), for the caller to hand to `acquireLease`.
   */
  previousLease?(attrs: { publicIP: number; publicIPv6?: bigint | null }, signal: AbortSignal): Promise<PreviousLease>;
}

/**
 * What one step read from the store, handed explicitly to the next step so that it need not read again
 * (etcd: the listing `previousLease` made, which `acquireLease` starts from while it is at most a few
 * seconds old). Opaque outside the store that made it; a store ignores a reading it did not make.
 */
export interface StoreReading {
  /** When it was read (Date.now()). */
  readonly readAt: number;
}

export interface PreviousLease {
  /** The attributes of our previous lease; null when there is none or it could not be read. */
  attrs: LeaseAttrs | null;
  reading: StoreReading | null;
}

export type RegistryWatchItem =
  /** The complete current set (sent first, and again after a compaction forced a re-list). */
  | { kind: 'snapshot'; leases: Lease[] }
  /** Changes since the previous item, in order. */
  | { kind: 'events'; events: LeaseEvent[] };

export interface Registry {
  /** The raw config text; ConfigNotFoundError when the key is missing. */
  getNetworkConfig(signal: AbortSignal): Promise<string>;
  /** All leases in one round trip (never one request per lease). Malformed keys or values are skipped and logged. */
  getSubnets(signal: AbortSignal): Promise<Lease[]>;
  /** One lease, or null when its key does not exist. */
  getSubnet(subnet: IP4Net, ipv6Subnet: IP6Net | null, signal: AbortSignal): Promise<Lease | null>;
  /**
   * Creates the key only if it does not exist, bound to a new lease of `ttlSeconds`. Returns the lease
   * with its expiration; SubnetExistsError when the key exists (nothing is left behind).
   */
  createSubnet(subnet: IP4Net, ipv6Subnet: IP6Net | null, attrs: LeaseAttrs, ttlSeconds: number, signal: AbortSignal): Promise<Lease>;
  /**
   * Writes the key unconditionally. `ttlSeconds` 0 writes it without a lease (a reservation, which
   * never expires); otherwise bound to a new lease of that TTL.
   */
  updateSubnet(subnet: IP4Net, ipv6Subnet: IP6Net | null, attrs: LeaseAttrs, ttlSeconds: number, signal: AbortSignal): Promise<Lease>;
  /** Deletes the key; deleting a missing key is not an error. */
  deleteSubnet(subnet: IP4Net, ipv6Subnet: IP6Net | null, signal: AbortSignal): Promise<void>;
  /**
   * All leases as a snapshot, then changes. Reconnects with backoff (100 ms doubling to 5 s) on its own,
   * resuming after the last revision seen; when that revision was compacted it re-lists and sends a
   * new snapshot, so no change is lost. Ends when `signal` aborts.
   */
  watchSubnets(signal: AbortSignal): AsyncIterable<RegistryWatchItem>;
  /** Releases connections. Safe to call twice. */
  close(): Promise<void>;
}
