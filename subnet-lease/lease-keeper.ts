// Keeps our lease: renews it `renewMargin` before it expires, and watches our key. When the key is
// deleted or expires (or another host's lease replaces it), the lease is acquired again in process,
// the same subnet while it is free. The reference daemon exits 0 at that point and relies on a restart.
import { isAbort } from '../common/abort.js';
import { describeLease, describeSubnets, hasIPv4, isSameLease, type Lease, type LeaseEvent } from './lease.js';
import type { Logger } from '../common/log.js';
import type { Registry, RegistryWatchItem } from './store.js';
import { SerialQueue } from '../common/serial.js';

export type WatchSubnets = (signal: AbortSignal) => AsyncIterable<RegistryWatchItem>;

export interface KeepLeaseOptions {
  registry: Registry;
  /** Where our key is watched: the store's shared watch (default: a watch of its own on the registry). */
  watch?: WatchSubnets;
  logger: Logger;
  renewMarginMs: number;
  ttlSeconds: number;
  retryDelayMs: number;
  lease: Lease;
  signal: AbortSignal;
  /** Gets a lease again after ours was lost; retries by itself until the signal aborts. */
  reacquire: (lost: Lease) => Promise<Lease>;
  onChange: (lease: Lease) => void;
  /** Called after each successful renewal (flanneld counts them); optional. */
  onRenewed?: () => void;
}

/** Resolves when `signal` aborts; never deletes or revokes the lease. */
export async function keepLease(o: KeepLeaseOptions): Promise<void> {
  await new LeaseKeeper(o).run();
}

class LeaseKeeper {
  private lease: Lease;
  private timer: NodeJS.Timeout | undefined;
  /** Renewal and recovery both replace `lease`; they run one at a time through this chain. */
  private readonly queue = new SerialQueue();

  constructor(private readonly o: KeepLeaseOptions) {
    this.lease = o.lease;
  }

  async run(): Promise<void> {
    const stopTimer = (): void => clearTimeout(this.timer);
    this.o.signal.addEventListener('abort', stopTimer, { once: true });
    this.schedule(this.renewDelay());
    try {
      const watch = this.o.watch ?? ((s: AbortSignal) => this.o.registry.watchSubnets(s));
      for await (const item of watch(this.o.signal)) {
        if (this.ownKeyLost(item)) await this.queue.run(() => this.recover());
      }
    } catch (e) {
      if (!isAbort(e, this.o.signal)) throw e;
    } finally {
      stopTimer();
      this.o.signal.removeEventListener('abort', stopTimer);
      await this.queue.idle();
    }
  }

  private renewDelay(): number {
    const ttlMs = this.o.ttlSeconds * 1000;
    const expiresIn = this.lease.expiration && !this.lease.reservation ? this.lease.expiration.getTime() - Date.now() : ttlMs;
    return Math.max(0, expiresIn - this.o.renewMarginMs);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.o.signal.aborted) return;
    this.timer = setTimeout(() => void this.queue.run(() => this.renew()), delayMs);
  }

  private async renew(): Promise<void> {
    const { registry, logger, signal } = this.o;
    const l = this.lease;
    try {
      // A reservation is rewritten without a lease, so it stays one.
      const ttl = l.reservation ? 0 : this.o.ttlSeconds;
      this.lease = await registry.updateSubnet(l.subnet, l.ipv6Subnet, l.attrs, ttl, signal);
      const until = this.lease.expiration ? `until ${this.lease.expiration.toISOString()}` : 'as a reservation (no expiry)';
      logger.info(`renewed lease ${describeLease(this.lease)} ${until}`);
      this.o.onRenewed?.();
      this.schedule(this.renewDelay());
    } catch (e) {
      if (isAbort(e, signal)) return;
      logger.error(`failed to renew lease ${describeLease(l)}: ${(e as Error).message}; retrying in ${this.o.retryDelayMs / 1000}s`);
      this.schedule(this.o.retryDelayMs);
    }
  }

  private async recover(): Promise<void> {
    const { logger, signal } = this.o;
    const lost = this.lease;
    clearTimeout(this.timer);
    logger.warn(`lease ${describeLease(lost)} was deleted or has expired; acquiring it again (not exiting)`);
    try {
      const fresh = await this.o.reacquire(lost);
      if (!isSameLease(fresh, lost)) {
        logger.warn(`subnet ${describeSubnets(lost)} was taken by another host meanwhile; now using ${describeSubnets(fresh)}`);
      }
      this.lease = fresh;
      this.o.onChange(fresh);
      this.schedule(this.renewDelay());
    } catch (e) {
      if (!isAbort(e, signal)) throw e;
    }
  }

  /** Whether this change (or snapshot) leaves our key gone or held by someone else. */
  private ownKeyLost(item: RegistryWatchItem): boolean {
    if (item.kind === 'snapshot') {
      const mine = item.leases.find((l) => isSameLease(l, this.lease));
      if (mine) this.noteOwnPut(mine);
      return !mine || !sameHost(mine, this.lease);
    }
    let lost = false;
    for (const event of item.events) {
      if (!isSameLease(event.lease, this.lease)) continue;
      lost = this.isLossEvent(event);
    }
    return lost;
  }

  private isLossEvent(event: LeaseEvent): boolean {
    if (event.type === 'removed') return true;
    if (!sameHost(event.lease, this.lease)) return true;
    this.noteOwnPut(event.lease);
    return false;
  }

  /** An operator may turn our lease into a reservation (a put without lease): keep it one from then on. */
  private noteOwnPut(current: Lease): void {
    if (current.reservation !== this.lease.reservation) {
      this.o.logger.info(`lease ${describeLease(current)} is now ${current.reservation ? 'a reservation' : 'leased'}`);
      this.lease = { ...this.lease, reservation: current.reservation };
    }
  }
}

/** Whether the key is still written by us: the same public IP (and, IPv6-only, the same public IPv6). */
function sameHost(current: Lease, ours: Lease): boolean {
  return current.attrs.publicIP === ours.attrs.publicIP && (hasIPv4(ours) || current.attrs.publicIPv6 === ours.attrs.publicIPv6);
}
