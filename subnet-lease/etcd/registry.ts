// The Registry on a real etcd v3 cluster, through our etcd client (client.ts): the reference's keys, values,
// lease TTLs and create-if-absent transaction, so this daemon and the Go flanneld can share a cluster.
import { posix } from 'node:path';
import { EtcdClient } from './client.js';
import type { KeyValue, LeaseGrantResponse } from './messages.js';
import type { IP4Net, IP6Net } from '../../common/ip.js';
import { encodeLeaseAttrs, subnetKey } from '../lease.js';
import type { Lease, LeaseAttrs } from '../lease.js';
import { type Logger, silentLogger } from '../../common/log.js';
import { ConfigNotFoundError, SubnetExistsError } from '../store.js';
import type { Registry, RegistryWatchItem } from '../store.js';
import { buildClientOptions } from './client-options.js';
import type { EtcdConnectionOptions } from './client-options.js';
import { decodeStoredLease } from './decode.js';
import { storeError } from './errors.js';
import { abortReason, raceAbort } from '../../common/abort.js';
import { SubnetWatch } from './watch.js';
import type { WatchSource, WatchStream } from './watch.js';

export interface EtcdRegistryOptions extends EtcdConnectionOptions {
  /** Key prefix; default '/coreos.com/network'. */
  prefix?: string;
  logger: Logger;
  /** Called each time the subnet watch reconnects after an interruption (flanneld's metrics); optional. */
  onWatchReconnected?: () => void;
  /** The watch stream was confirmed on member `endpoint` (one of `endpoints`); `previous` when it moved. */
  onWatchEndpoint?: (endpoint: string, previous: string | null) => void;
  /** The watch was interrupted (why, in words); it reconnects by itself. */
  onWatchInterrupted?: (why: string) => void;
}

export const DEFAULT_ETCD_PREFIX = '/coreos.com/network';
const EXAMPLE_CONFIG = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}';

/** The smallest key greater than every key that starts with `prefix` (etcd's range_end for a prefix). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * Every method rejects with the signal's reason once it aborts (a request already sent may still be
 * applied by etcd), with StoreUnavailableError (retryable) when etcd cannot be reached, and with a
 * final LeaseStoreError after close(). Methods may be called concurrently and any number of times.
 */
export class EtcdRegistry implements Registry {
  /** `<prefix>/config`. */
  readonly configKey: string;
  /** `<prefix>/subnets/`: the trailing slash keeps `<prefix>/subnets2/…` out of every range. */
  readonly subnetsPrefix: string;
  private readonly client: EtcdClient;
  private readonly endpoints: readonly string[];
  private readonly logger: Logger;
  private readonly onWatchReconnected: (() => void) | undefined;
  private readonly hooks: Pick<EtcdRegistryOptions, 'onWatchEndpoint' | 'onWatchInterrupted'>;
  /** Aborted by close(), so running watches end with the client. */
  private readonly closing = new AbortController();

  /** Connects lazily: the constructor only reads the TLS files (and throws LeaseStoreError if it cannot). */
  constructor(opts: EtcdRegistryOptions) {
    const prefix = opts.prefix ?? DEFAULT_ETCD_PREFIX;
    this.configKey = posix.join(prefix, 'config');
    this.subnetsPrefix = `${posix.join(prefix, 'subnets')}/`;
    this.endpoints = [...opts.endpoints];
    this.logger = opts.logger;
    this.onWatchReconnected = opts.onWatchReconnected;
    this.hooks = { onWatchEndpoint: opts.onWatchEndpoint, onWatchInterrupted: opts.onWatchInterrupted };
    this.client = new EtcdClient(buildClientOptions(opts, opts.logger));
    this.watchClientFor = (endpoint) => new EtcdClient(buildClientOptions({ ...opts, endpoints: [endpoint] }, silentLogger));
  }

  /** The full etcd key of a subnet: `<prefix>/subnets/10.5.52.0-24[&v6-LEN]`. */
  keyFor(subnet: IP4Net, ipv6Subnet: IP6Net | null): string {
    return this.subnetsPrefix + subnetKey(subnet, ipv6Subnet);
  }

  /** Rejects with ConfigNotFoundError (retryable) while the key does not exist. */
  async getNetworkConfig(signal: AbortSignal): Promise<string> {
    const key = this.configKey;
    const res = await this.call(`reading ${key}`, signal, () => this.client.range({ key: Buffer.from(key) }));
    const kv = res.kvs[0];
    if (!kv) {
      throw new ConfigNotFoundError(
        'flannel config not found in etcd store. Did you create your config using etcdv3 API? ' +
          `(key ${key} at etcd ${this.endpoints.join(',')}; for example: etcdctl put ${key} '${EXAMPLE_CONFIG}')`,
      );
    }
    return kv.value.toString();
  }

  async getSubnets(signal: AbortSignal): Promise<Lease[]> {
    return (await this.listSubnets(signal)).leases;
  }

  async getSubnet(subnet: IP4Net, ipv6Subnet: IP6Net | null, signal: AbortSignal): Promise<Lease | null> {
    const key = this.keyFor(subnet, ipv6Subnet);
    const res = await this.call(`reading ${key}`, signal, () => this.client.range({ key: Buffer.from(key) }));
    const kv = res.kvs[0];
    return kv ? this.decode(kv) : null;
  }

  /**
   * Grant(ttl), then Txn(Version(key) == 0 ? Put(key, value, lease)). A lost race or a failed Txn
   * revokes the fresh lease, so nothing is left behind; the lost race is SubnetExistsError.
   */
  async createSubnet(subnet: IP4Net, ipv6Subnet: IP6Net | null, attrs: LeaseAttrs, ttlSeconds: number, signal: AbortSignal): Promise<Lease> {
    const key = this.keyFor(subnet, ipv6Subnet);
    const started = Date.now();
    const grant = await this.grant(key, ttlSeconds, signal);
    let succeeded: boolean;
    try {
      const res = await this.call(`creating ${key}`, signal, () =>
        this.client.txn({
          compare: [{ key: Buffer.from(key), target: 'Version', result: 'Equal', version: 0 }],
          success: [{ request_put: { key: Buffer.from(key), value: Buffer.from(encodeLeaseAttrs(attrs)), lease: grant.ID } }],
        }),
      );
      succeeded = res.succeeded;
    } catch (e) {
      await this.revoke(grant.ID, key);
      throw e;
    }
    if (!succeeded) {
      await this.revoke(grant.ID, key);
      throw new SubnetExistsError(`subnet already exists: ${key} at etcd ${this.endpoints.join(',')}`);
    }
    return { subnet, ipv6Subnet, attrs, reservation: false, expiration: new Date(started + Number(grant.TTL) * 1000) };
  }

  /** A plain Put; with ttlSeconds > 0 on a new lease (the old one expires by itself), else without one. */
  async updateSubnet(subnet: IP4Net, ipv6Subnet: IP6Net | null, attrs: LeaseAttrs, ttlSeconds: number, signal: AbortSignal): Promise<Lease> {
    const key = this.keyFor(subnet, ipv6Subnet);
    const value = Buffer.from(encodeLeaseAttrs(attrs));
    if (ttlSeconds === 0) {
      await this.call(`writing reservation ${key}`, signal, () => this.client.put({ key: Buffer.from(key), value }));
      return { subnet, ipv6Subnet, attrs, reservation: true };
    }
    const started = Date.now();
    const grant = await this.grant(key, ttlSeconds, signal);
    await this.call(`writing ${key}`, signal, () => this.client.put({ key: Buffer.from(key), value, lease: grant.ID }));
    return { subnet, ipv6Subnet, attrs, reservation: false, expiration: new Date(started + Number(grant.TTL) * 1000) };
  }

  async deleteSubnet(subnet: IP4Net, ipv6Subnet: IP6Net | null, signal: AbortSignal): Promise<void> {
    const key = this.keyFor(subnet, ipv6Subnet);
    await this.call(`deleting ${key}`, signal, () => this.client.deleteRange({ key: Buffer.from(key) }));
  }

  /** See Registry.watchSubnets; also ends when the registry is closed. */
  watchSubnets(signal: AbortSignal): AsyncIterable<RegistryWatchItem> {
    const both = AbortSignal.any([signal, this.closing.signal]);
    return new SubnetWatch(this.watchSource(), both).run();
  }

  /** Ends running watches and closes the connections. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort(new Error('etcd registry closed'));
    this.client.close();
    for (const c of this.watchClients.values()) c.close();
  }

  /** One range request over the subnets prefix, with the revision it reflects (the watch resumes after it). */
  private async listSubnets(signal: AbortSignal): Promise<{ leases: Lease[]; revision: bigint }> {
    const key = Buffer.from(this.subnetsPrefix);
    const res = await this.call(`listing ${this.subnetsPrefix}`, signal, () =>
      this.client.range({ key, range_end: prefixEnd(key) }),
    );
    const leases = res.kvs.map((kv) => this.decode(kv)).filter((l): l is Lease => l !== null);
    return { leases, revision: BigInt(res.header.revision) };
  }

  private decode(kv: KeyValue): Lease | null {
    return decodeStoredLease(kv.key.toString(), kv.value.toString(), kv.lease === '0', this.logger, kv.create_revision);
  }

  /**
   * The watch is opened on one member at a time, chosen by us: the endpoints
   * in turn, the next one after each interruption, so a member that failed is not tried again before the
   * others. One small client per member, made on first use, for the watch alone.
   */
  private readonly watchClients = new Map<string, EtcdClient>();
  private readonly watchClientFor: (endpoint: string) => EtcdClient;
  private watchTurn = 0;
  /** The endpoint the current watch stream was opened on, and the one confirmed last ('' before the first). */
  private streamEndpoint = '';
  private watchEndpoint = '';

  private openWatch(): Promise<WatchStream> {
    const endpoint = this.endpoints[this.watchTurn % this.endpoints.length]!;
    let client = this.watchClients.get(endpoint);
    if (!client) this.watchClients.set(endpoint, (client = this.watchClientFor(endpoint)));
    this.streamEndpoint = endpoint;
    return client.watch();
  }

  /** A watch stream was confirmed: say which member serves it, and whether it moved. */
  private watchConfirmed(): void {
    const endpoint = this.streamEndpoint;
    if (!endpoint || endpoint === this.watchEndpoint) return;
    const previous = this.watchEndpoint;
    this.watchEndpoint = endpoint;
    if (previous) this.logger.info(`subnet watch moved to member ${endpoint} (was ${previous})`);
    else this.logger.info(`subnet watch on member ${endpoint}`);
    this.hooks.onWatchEndpoint?.(endpoint, previous || null);
  }

  private watchSource(): WatchSource {
    const key = Buffer.from(this.subnetsPrefix);
    return {
      key,
      rangeEnd: prefixEnd(key),
      endpoints: this.endpoints,
      logger: this.logger,
      onReconnected: this.onWatchReconnected,
      onConfirmed: () => this.watchConfirmed(),
      onInterrupted: (why) => {
        this.watchTurn++; // the next attempt goes to the next member
        this.hooks.onWatchInterrupted?.(why);
      },
      list: (signal) => this.listSubnets(signal),
      open: () => this.openWatch(),
      refreshAuth: async (signal) => {
        // The watch's own client holds the token the watch uses.
        const client = this.watchClients.get(this.streamEndpoint) ?? this.client;
        await this.call('refreshing the auth token', signal, () => client.reauthenticate());
      },
    };
  }

  /** A lease granted after the caller gave up is revoked at once rather than left for its TTL. */
  private grant(key: string, ttlSeconds: number, signal: AbortSignal): Promise<LeaseGrantResponse> {
    return this.call(
      `granting a ${ttlSeconds} s lease for ${key}`,
      signal,
      () => this.client.leaseGrant(ttlSeconds),
      (late) => void this.revoke(late.ID, key),
    );
  }

  /** Best effort: a lease we fail to revoke still expires after its TTL. */
  private async revoke(id: string, key: string): Promise<void> {
    try {
      await this.client.leaseRevoke(id);
    } catch (e) {
      this.logger.warn(`could not revoke unused lease ${id} for ${key} (it expires by itself): ${(e as Error).message}`, { key });
    }
  }

  /** Runs one request: abortable by `signal`, errors mapped to lease-store errors naming `what` and the endpoints. */
  private async call<T>(what: string, signal: AbortSignal, fn: () => Promise<T>, dispose?: (v: T) => void): Promise<T> {
    if (signal.aborted) throw abortReason(signal);
    try {
      return await raceAbort(fn(), signal, dispose);
    } catch (e) {
      if (signal.aborted) throw e;
      throw storeError(e, what, this.endpoints);
    }
  }
}
