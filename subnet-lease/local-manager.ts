// The etcd-style lease store: the reference's LocalManager on top of any `Registry` (etcd, or the
// in-memory one in tests). It validates the network config, acquires our lease in the reference order,
// keeps it (lease-keeper.ts) and follows everyone else's (lease-watcher.ts).
//
// Deliberately better than the reference: a lost creation race or an exhausted range is retried
// instead of ending the daemon, and a reused reservation stays a reservation.
import { abortReason, sleep } from '../common/abort.js';
import { allocate, fitsConfig, type Allocation } from './allocate.js';
import { checkNetworkConfig, parseNetworkConfig, type NetworkConfig } from './config.js';
import type { IP4Net, IP6Net } from '../common/ip.js';
import { formatIP4 } from '../common/ip.js';
import { describeLease, hasIPv4, type Lease, type LeaseAttrs, type LeaseEvent, type SubnetPair } from './lease.js';
import { keepLease } from './lease-keeper.js';
import { watchRemoteLeases } from './lease-watcher.js';
import type { Logger } from '../common/log.js';
import { WatchHub } from './watch-hub.js';
import { isRetryable, OutOfSubnetsError, SubnetExistsError, type LeaseStore, type PreviousLease, type Registry, type StoreReading } from './store.js';

export const SUBNET_TTL_SECONDS = 24 * 60 * 60;

export interface LocalManagerOptions {
  registry: Registry;
  logger: Logger;
  /** FLANNEL_SUBNET / FLANNEL_IPV6_SUBNET of the previous run (from subnet.env), if any. */
  previousSubnet?: IP4Net | null;
  previousIPv6Subnet?: IP6Net | null;
  /** Renew this long before expiry (--subnet-lease-renew-margin, in ms). */
  renewMarginMs: number;
  /** TTL of leases we create; 24 h as the reference, shorter only in tests. */
  ttlSeconds?: number;
  /** Wait between attempts after a transient error or an exhausted range. */
  retryDelayMs?: number;
  random?: () => number;
  /** Called after each successful renewal of our lease (flanneld's metrics); optional. */
  onRenewed?: () => void;
}

/** How many creation races in a row we accept before waiting like for any other transient error. */
const RACE_ATTEMPTS = 20;

export class LocalManager implements LeaseStore {
  readonly name = 'etcd';
  private config: NetworkConfig | null = null;
  private previousSubnet: IP4Net | null;
  private previousIPv6Subnet: IP6Net | null;
  private readonly ttlSeconds: number;
  private readonly retryDelayMs: number;
  private readonly random: () => number;
  /** One registry watch shared by the lease keeper and the backend's `watchLeases`. */
  private readonly hub: WatchHub;

  constructor(private readonly opts: LocalManagerOptions) {
    this.previousSubnet = opts.previousSubnet ?? null;
    this.previousIPv6Subnet = opts.previousIPv6Subnet ?? null;
    this.ttlSeconds = opts.ttlSeconds ?? SUBNET_TTL_SECONDS;
    this.retryDelayMs = opts.retryDelayMs ?? 10_000;
    this.random = opts.random ?? Math.random;
    this.hub = new WatchHub((signal) => opts.registry.watchSubnets(signal));
  }

  async getNetworkConfig(signal: AbortSignal): Promise<NetworkConfig> {
    const text = await this.opts.registry.getNetworkConfig(signal);
    const cfg = checkNetworkConfig(parseNetworkConfig(text));
    this.config = cfg;
    return cfg;
  }

  async acquireLease(attrs: LeaseAttrs, signal: AbortSignal, reading?: StoreReading | null): Promise<Lease> {
    const config = this.config ?? (await this.getNetworkConfig(signal));
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw abortReason(signal);
      try {
        // Only the first attempt may start from a listing handed in; every retry lists afresh.
        const lease = await this.tryAcquire(config, attrs, attempt === 1 ? reading : null, signal);
        this.opts.logger.info(`acquired lease ${describeLease(lease)}${lease.reservation ? ' (reservation)' : ''}`);
        return lease;
      } catch (e) {
        if (!isRetryable(e) || signal.aborted) throw e;
        await this.backOff(e as Error, attempt, signal);
      }
    }
  }

  private async backOff(e: Error, attempt: number, signal: AbortSignal): Promise<void> {
    const log = this.opts.logger;
    if (e instanceof SubnetExistsError && attempt < RACE_ATTEMPTS) {
      log.info(`another host took the subnet first (${e.message}); trying another one`);
      await sleep(Math.floor(this.random() * 100), signal);
      return;
    }
    log.error(`failed to acquire a lease (attempt ${attempt}): ${e.message}; retrying in ${this.retryDelayMs / 1000}s`);
    await sleep(this.retryDelayMs, signal);
  }

  /**
   * The attributes of the lease that carries `attrs.publicIP` (IPv6-only: `attrs.publicIPv6`; the one
   * acquisition would reuse; one that still fits the config first), or null: none, no public address,
   * or the listing failed (logged). The answer carries its listing, which `acquireLease` starts from
   * when handed it within a few seconds.
   */
  async previousLease(attrs: { publicIP: number; publicIPv6?: bigint | null }, signal: AbortSignal): Promise<PreviousLease> {
    const v6only = this.config !== null && !this.config.enableIPv4;
    const ip6 = attrs.publicIPv6 ?? null;
    if (v6only ? ip6 === null : attrs.publicIP === 0) return { attrs: null, reading: null };
    let listing: Listing;
    try {
      listing = new Listing(await this.opts.registry.getSubnets(signal), Date.now());
    } catch (e) {
      if (signal.aborted) throw abortReason(signal);
      this.opts.logger.warn(`could not read our previous lease: ${(e as Error).message}`);
      return { attrs: null, reading: null };
    }
    const ours = listing.leases.filter((l) => (v6only ? !hasIPv4(l) && l.attrs.publicIPv6 === ip6 : l.attrs.publicIP === attrs.publicIP));
    const config = this.config;
    const found = (config && ours.find((l) => fitsConfig(config, l.subnet, l.ipv6Subnet))) ?? ours[0];
    return { attrs: found ? found.attrs : null, reading: listing };
  }

  /** The leases to allocate from: a listing of ours handed in, while fresh; else a new one. */
  private async listForAcquire(reading: StoreReading | null | undefined, signal: AbortSignal): Promise<Lease[]> {
    if (reading instanceof Listing && Date.now() - reading.readAt <= Listing.REUSE_MS) return reading.leases;
    return this.opts.registry.getSubnets(signal);
  }

  private async tryAcquire(config: NetworkConfig, attrs: LeaseAttrs, reading: StoreReading | null | undefined, signal: AbortSignal): Promise<Lease> {
    const registry = this.opts.registry;
    const leases = await this.listForAcquire(reading, signal);
    const decision = allocate({
      config,
      leases,
      publicIP: attrs.publicIP,
      publicIPv6: attrs.publicIPv6,
      previousSubnet: this.previousSubnet,
      previousIPv6Subnet: this.previousIPv6Subnet,
      random: this.random,
    });
    await this.deleteStale(decision, signal);
    switch (decision.kind) {
      case 'reuse': {
        const old = decision.lease;
        // A reservation is kept without an etcd lease (the reference attaches a 24 h one to it).
        const ttl = old.reservation ? 0 : this.ttlSeconds;
        return registry.updateSubnet(old.subnet, old.ipv6Subnet, attrs, ttl, signal);
      }
      case 'create':
        if (decision.from === 'previous') this.opts.logger.info(`taking back subnet ${decision.subnet} of the previous run`);
        return registry.createSubnet(decision.subnet, decision.ipv6Subnet, attrs, this.ttlSeconds, signal);
      case 'exhausted':
        throw new OutOfSubnetsError(outOfSubnetsMessage(config, decision.family, leases.length));
    }
  }

  private async deleteStale(decision: Allocation, signal: AbortSignal): Promise<void> {
    for (const lease of decision.stale) {
      this.opts.logger.warn(`deleting lease ${describeLease(lease)}: it no longer fits the network config`);
      await this.opts.registry.deleteSubnet(lease.subnet, lease.ipv6Subnet, signal);
    }
  }

  keepLease(lease: Lease, signal: AbortSignal, onChange: (lease: Lease) => void): Promise<void> {
    return keepLease({
      registry: this.opts.registry,
      watch: (s) => this.hub.watch(s),
      logger: this.opts.logger,
      renewMarginMs: this.opts.renewMarginMs,
      ttlSeconds: this.ttlSeconds,
      retryDelayMs: Math.min(this.retryDelayMs, 60_000),
      lease,
      signal,
      reacquire: (lost) => {
        // Prefer the subnet we just lost: step 3 of the acquisition takes it back while it is free.
        this.previousSubnet = lost.subnet;
        this.previousIPv6Subnet = lost.ipv6Subnet;
        return this.acquireLease(lost.attrs, signal);
      },
      onChange,
      onRenewed: this.opts.onRenewed,
    });
  }

  watchLeases(ownSubnet: () => SubnetPair | null, signal: AbortSignal): AsyncIterable<LeaseEvent[]> {
    return watchRemoteLeases(this.hub.watch(signal), ownSubnet);
  }
}

/** One listing of every lease, as `previousLease` hands it to `acquireLease`. */
class Listing implements StoreReading {
  /** Older than this, an acquisition lists again. */
  static readonly REUSE_MS = 5000;
  constructor(
    readonly leases: Lease[],
    readonly readAt: number,
  ) {}
}

function outOfSubnetsMessage(config: NetworkConfig, family: 'IPv4' | 'IPv6', leaseCount: number): string {
  const range =
    family === 'IPv4'
      ? `${formatIP4(config.subnetMin)}..${formatIP4(config.subnetMax)} /${config.subnetLen}`
      : `IPv6 /${config.ipv6SubnetLen} range`;
  return (
    `out of subnets: every ${family} subnet in ${range} is leased (${leaseCount} leases). ` +
    'Leases of removed hosts expire after 24h; delete them sooner with etcdctl del, or widen the Network/SubnetMin/SubnetMax'
  );
}
