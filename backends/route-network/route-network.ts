// The shared base of route-only backends (the reference's RouteNetwork): a Network that follows the
// other hosts' leases of its own BackendType and keeps one set of kernel routes per lease through a
// RouteKeeper, plus the periodic check that puts back routes someone deleted or overwrote and, once
// the first lease snapshot is in, removes marked routes of leases that no longer exist. What a
// route looks like is the backend's business, given as `routesFor`. Leases of another BackendType are
// ignored with a warning (a cluster mixing backends cannot route between them this way).
import type { Network } from '../backend.js';
import { isAbort, repeatEvery } from '../../common/abort.js';
import { describeLease, type Lease, type LeaseEvent } from '../../subnet-lease/lease.js';
import type { LeaseStore } from '../../subnet-lease/store.js';
import { RouteKeeper, type RouteKeeperOptions } from './route-keeper.js';

/** The reference checks every 10 s; so do we by default. */
export const ROUTE_CHECK_INTERVAL_MS = 10_000;

export interface RouteNetworkOptions extends RouteKeeperOptions {
  /** The BackendType of the leases this network serves, e.g. "host-gw". */
  backendType: string;
  lease: Lease;
  mtu: number;
  store: LeaseStore;
  checkIntervalMs?: number;
}

export class RouteNetwork implements Network {
  lease: Lease;
  readonly mtu: number;
  readonly keeper: RouteKeeper;
  private readonly checkIntervalMs: number;

  constructor(private readonly opts: RouteNetworkOptions) {
    this.lease = opts.lease;
    this.mtu = opts.mtu;
    this.keeper = new RouteKeeper(opts);
    this.checkIntervalMs = opts.checkIntervalMs ?? ROUTE_CHECK_INTERVAL_MS;
  }

  /**
   * Follows the leases and checks the routes until `signal` aborts, then resolves and leaves the routes
   * in place. Rejects only if the lease watch fails for good. Calling it twice runs two followers that
   * want the same routes: harmless, but pointless.
   */
  async run(signal: AbortSignal): Promise<void> {
    const inner = new AbortController();
    const stop = (): void => inner.abort(signal.reason);
    if (signal.aborted) return;
    signal.addEventListener('abort', stop, { once: true });
    try {
      await Promise.all([this.follow(inner.signal), this.checkLoop(inner.signal)]);
    } catch (e) {
      if (!isAbort(e, inner.signal)) throw e;
    } finally {
      signal.removeEventListener('abort', stop);
      inner.abort();
    }
  }

  leaseChanged(lease: Lease): void {
    this.lease = lease;
  }

  private async follow(signal: AbortSignal): Promise<void> {
    this.opts.logger.info(`watching for ${this.opts.backendType} leases of other hosts`);
    let first = true;
    for await (const batch of this.opts.store.watchLeases(() => this.lease, signal)) {
      try {
        await this.handleBatch(batch);
      } catch (e) {
        this.opts.logger.error(`handling lease changes failed (the route check retries): ${(e as Error).message}`);
      }
      // The first batch is every lease there is: from now on, a route of ours that no lease wants is stale.
      if (first) await this.keeper.startSweeping();
      first = false;
    }
  }

  private checkLoop(signal: AbortSignal): Promise<void> {
    return repeatEvery(this.checkIntervalMs, signal, () => this.keeper.check());
  }

  /** Runs of consecutive adds or removes go to the keeper as one call each, in event order. */
  private async handleBatch(batch: readonly LeaseEvent[]): Promise<void> {
    let run: Lease[] = [];
    let kind: LeaseEvent['type'] | null = null;
    const flush = async (): Promise<void> => {
      if (kind === 'added') await this.keeper.update(run);
      else if (kind === 'removed') await this.keeper.remove(run);
      run = [];
      kind = null;
    };
    for (const event of batch) {
      let type: LeaseEvent['type'] | null = event.type;
      if (type === 'added' && !this.ours(event.lease)) {
        // A lease that changed to another type loses the routes we made for it.
        await flush();
        type = this.keeper.has(event.lease) ? 'removed' : null;
      }
      if (type === null) continue;
      if (type !== kind) await flush();
      kind = type;
      run.push(event.lease);
    }
    await flush();
  }

  /** True for a lease of our type; warns about the others (the reference's "Ignoring non-host-gw subnet"). */
  private ours(lease: Lease): boolean {
    const type = lease.attrs.backendType ?? '';
    if (type === this.opts.backendType) return true;
    this.opts.logger.warn(`ignoring non-${this.opts.backendType} subnet ${describeLease(lease)}: type=${type || '(none)'}`);
    return false;
  }
}
