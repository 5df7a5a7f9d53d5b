// The per-lease route table of a route-only backend, and the code that makes the kernel match it.
// A backend supplies one function, lease → the routes it wants for that host (plus the reasons it
// withholds some or all of them); the keeper remembers the answer per lease and installs, replaces,
// skips or deletes kernel routes accordingly. `check()` compares the whole table with the kernel and puts
// back what went missing or was overwritten, and asks again about leases that were withheld, so a host
// that becomes reachable is routed without a restart.
//
// With `owned` (host-gw), every route installed carries our route protocol, and once `startSweeping()`
// was called (after the first lease snapshot) each check also deletes routes of ours that no lease
// wants any more (stale-routes.ts); identical routes without the marker are taken over.
//
// All kernel writes of one call go out as one `apply` batch. Calls are serialised: an update, a removal
// and a check never interleave, so the table and the kernel are compared in a consistent state.
import type { NativeError } from '../../native/errors.js';
import type { Native, Op, Route, RouteSpec } from '../../native/types.js';
import { describeLease, encodeLeaseAttrs, subnetKey, type Lease } from '../../subnet-lease/lease.js';
import type { Logger } from '../../common/log.js';
import { describeRoute, routeState, sameSlot, slotKey, type RouteState } from './route-match.js';
import { FLANNEL_ROUTE_PROTOCOL, findStaleRoutes, type OwnedScope } from './stale-routes.js';
import { SerialQueue } from '../../common/serial.js';
import { retryMarked } from '../../common/retry.js';

/** What a backend wants for one remote lease. */
export interface LeaseRoutes {
  routes: RouteSpec[];
  /** Why routes are withheld (e.g. the host is not directly reachable); warned about once per change. */
  withheld: string[];
}

/** Decides a lease's routes. May reject: the keeper then withholds the lease and asks again at the next check. */
export type RoutesFor = (lease: Lease) => Promise<LeaseRoutes>;

export interface RouteKeeperOptions {
  native: Native;
  logger: Logger;
  routesFor: RoutesFor;
  /** Device names for the log ("dev eth0" instead of "dev #2"). */
  linkName?: (ifindex: number) => string;
  /** Mark our routes with FLANNEL_ROUTE_PROTOCOL and sweep stale ones of that scope (see startSweeping). */
  owned?: OwnedScope;
}

interface Entry {
  lease: Lease;
  routes: RouteSpec[];
  withheld: string[];
  /** The last error code per destination, so a route that keeps failing is reported once per new error. */
  failures: Map<string, string>;
}

interface Planned {
  entry: Entry;
  route: RouteSpec;
  state: RouteState;
}

/** add: new or changed leases; retry: withheld leases asked again; check: the periodic comparison. */
type Mode = 'add' | 'retry' | 'check';


export class RouteKeeper {
  private readonly entries = new Map<string, Entry>();
  private readonly queue = new SerialQueue();
  private readonly linkName: (ifindex: number) => string;
  private sweeping = false;
  /** Unmarked routes in our scope already reported, so each is reported once. */
  private readonly reported = new Set<string>();

  constructor(private readonly opts: RouteKeeperOptions) {
    this.linkName = opts.linkName ?? ((i) => `#${i}`);
  }

  /** True when the lease's subnet is in the table (routed or withheld). */
  has(lease: Lease): boolean {
    return this.entries.has(keyOf(lease));
  }

  /** Every route the table wants installed right now. */
  wanted(): RouteSpec[] {
    return [...this.entries.values()].flatMap((e) => e.routes);
  }

  /**
   * Adds the leases to the table (or updates them when their subnet is known) and brings their routes
   * into the kernel: replacing a route to the same destination that differs, leaving an identical one.
   * Routes that fail stay in the table for `check()` to retry. Idempotent; not cancellable.
   */
  update(leases: readonly Lease[]): Promise<void> {
    return this.queue.run(async () => {
      // A renewal rewrites the key with the same value: check its routes quietly.
      const renewed = leases.filter((l) => this.isUnchanged(l));
      for (const l of renewed) this.opts.logger.debug(`peer lease renewed: ${describeLease(l)}`);
      await this.applyLeases(leases.filter((l) => !renewed.includes(l)), 'add');
      await this.applyLeases(renewed, 'retry');
    });
  }

  /** Drops the leases from the table and deletes their routes (only routes that are still ours). Unknown leases are ignored. */
  remove(leases: readonly Lease[]): Promise<void> {
    return this.queue.run(() => this.removeLeases(leases));
  }

  /**
   * Puts back missing or overwritten routes, retries withheld leases and (once sweeping) deletes stale
   * routes of ours; logs each repair. Never rejects.
   */
  check(): Promise<void> {
    return this.queue.run(async () => {
      try {
        const withheld = [...this.entries.values()].filter((e) => e.withheld.length > 0);
        await this.applyLeases(withheld.map((e) => e.lease), 'retry');
        const kernel = await this.listRoutes('check');
        if (!kernel) return;
        await this.install([...this.entries.values()].filter((e) => !withheld.includes(e)), 'check', kernel);
        await this.sweep(kernel);
      } catch (e) {
        this.opts.logger.error(`route check failed, retrying at the next check: ${(e as Error).message}`);
      }
    });
  }

  /**
   * Call once the table holds the first lease snapshot: deletes stale routes of ours now and at every
   * check from then on. Without `owned` it does nothing. Calling it twice sweeps twice. Never rejects.
   */
  startSweeping(): Promise<void> {
    if (!this.opts.owned) return Promise.resolve();
    this.sweeping = true;
    return this.check();
  }

  private async sweep(kernel: readonly Route[]): Promise<void> {
    const owned = this.opts.owned;
    if (!owned || !this.sweeping) return;
    const slots = new Set(this.wanted().map(slotKey));
    const { stale, foreign } = findStaleRoutes(kernel, slots, owned);
    for (const r of foreign) {
      const what = describeRoute(r, this.linkName);
      if (this.reported.has(what)) continue;
      this.reported.add(what);
      this.opts.logger.warn(
        `route ${what} (proto ${r.protocol}) into the flannel network matches no lease, but flannel-ts did not make it ` +
          `(no proto ${FLANNEL_ROUTE_PROTOCOL}): left alone; if an earlier flanneld left it, delete it with: ip route del ${what}`,
      );
    }
    await this.deleteRoutes(stale.map((r) => ({ dst: r.dst, gateway: r.gateway!, ifindex: r.ifindex, table: r.table, metric: r.metric, protocol: r.protocol })), 'stale ');
  }

  private isUnchanged(lease: Lease): boolean {
    const old = this.entries.get(keyOf(lease));
    return old !== undefined && encodeLeaseAttrs(old.lease.attrs) === encodeLeaseAttrs(lease.attrs);
  }

  private async applyLeases(leases: readonly Lease[], mode: 'add' | 'retry'): Promise<void> {
    const touched: Entry[] = [];
    const stale: RouteSpec[] = [];
    for (const lease of leases) {
      const old = this.entries.get(keyOf(lease));
      if (mode === 'add') this.opts.logger.info(`peer ${old ? 'changed' : 'added'}: ${describeLease(lease)}`);
      const entry = await this.decide(lease, old);
      this.entries.set(keyOf(lease), entry);
      touched.push(entry);
      // A destination the lease no longer wants (another family gone, a host now withheld) is deleted.
      for (const r of old?.routes ?? []) if (!entry.routes.some((n) => sameSlot(r, n))) stale.push(r);
    }
    await this.deleteRoutes(stale);
    await this.install(touched, mode);
  }

  private async decide(lease: Lease, old: Entry | undefined): Promise<Entry> {
    let wanted: LeaseRoutes;
    try {
      wanted = await this.opts.routesFor(lease);
    } catch (e) {
      wanted = { routes: [], withheld: [`cannot work out its routes: ${(e as Error).message}`] };
    }
    const log = this.opts.logger;
    const before = old?.withheld ?? [];
    for (const why of wanted.withheld) if (!before.includes(why)) log.warn(`not routing to host ${describeLease(lease)}: ${why}`);
    if (before.length > 0 && wanted.withheld.length === 0) log.info(`host ${describeLease(lease)} can be routed now`);
    const routes = this.opts.owned ? wanted.routes.map((r) => ({ ...r, protocol: FLANNEL_ROUTE_PROTOCOL })) : wanted.routes;
    return { lease, routes, withheld: wanted.withheld, failures: old?.failures ?? new Map() };
  }

  private async removeLeases(leases: readonly Lease[]): Promise<void> {
    const routes: RouteSpec[] = [];
    for (const lease of leases) {
      const entry = this.entries.get(keyOf(lease));
      if (!entry) continue;
      this.entries.delete(keyOf(lease));
      this.opts.logger.info(`peer removed: ${describeLease(entry.lease)}`);
      routes.push(...entry.routes);
    }
    await this.deleteRoutes(routes);
  }

  private async deleteRoutes(routes: RouteSpec[], adjective = ''): Promise<void> {
    if (routes.length === 0) return;
    const log = this.opts.logger;
    const results = await retryMarked((ops: readonly Op[]) => this.opts.native.apply(ops), routes.map((route): Op => ({ op: 'route.delete', route })));
    results.forEach((err, i) => {
      const what = describeRoute(routes[i]!, this.linkName);
      if (!err) log.info(`deleted ${adjective}route ${what}${adjective ? ' (made by flannel-ts, no lease wants it)' : ''}`);
      else if (err.code === 'ESRCH') log.debug(`route ${what} was already gone`);
      else log.error(`cannot delete route ${what}: ${err.message}`);
    });
  }

  private async install(entries: readonly Entry[], mode: Mode, listed?: readonly Route[]): Promise<void> {
    const wanted = entries.flatMap((entry) => entry.routes.map((route) => ({ entry, route })));
    if (wanted.length === 0) return;
    const kernel = listed ?? (await this.listRoutes(mode));
    if (!kernel) return;
    const plan: Planned[] = wanted.map((w) => ({ ...w, state: routeState(w.route, kernel) }));
    const todo: Planned[] = [];
    for (const p of plan) {
      if (p.state.kind === 'present') {
        p.entry.failures.delete(p.route.dst);
        if (mode === 'add') this.opts.logger.info(`route ${describeRoute(p.route, this.linkName)} already exists, skipping`);
      } else {
        todo.push(p);
      }
    }
    if (todo.length === 0) return;
    const results = await retryMarked((ops: readonly Op[]) => this.opts.native.apply(ops), todo.map((p): Op => ({ op: 'route.replace', route: p.route })));
    results.forEach((err, i) => this.report(todo[i]!, err, mode));
  }

  /** The main table; for new routes a failed listing is logged and treated as empty (replace is safe). */
  private async listRoutes(mode: Mode): Promise<Route[] | null> {
    try {
      return await this.opts.native.routeList();
    } catch (e) {
      const then = mode === 'check' ? 'retrying at the next check' : 'installing the routes without comparing';
      this.opts.logger.warn(`cannot list the kernel's routes (${(e as Error).message}); ${then}`);
      return mode === 'check' ? null : [];
    }
  }

  private report(p: Planned, err: NativeError | null, mode: Mode): void {
    const log = this.opts.logger;
    const what = describeRoute(p.route, this.linkName);
    if (err) {
      if (p.entry.failures.get(p.route.dst) !== err.code) {
        log.error(`cannot install route ${what} for ${describeLease(p.entry.lease)}: ${err.message}; retrying at every route check`);
      }
      p.entry.failures.set(p.route.dst, err.code);
      return;
    }
    p.entry.failures.delete(p.route.dst);
    if (p.state.kind === 'unmarked') {
      log.info(`route ${what} existed without our marker (proto ${p.state.existing.protocol}); rewritten as flannel-ts's (proto ${FLANNEL_ROUTE_PROTOCOL})`);
      return;
    }
    const existing = p.state.kind === 'conflict' ? describeRoute(p.state.existing, this.linkName) : null;
    if (mode !== 'check') {
      if (existing) log.warn(`replaced existing route ${existing} with ${what}`);
      else log.info(`added route ${what}`);
    } else if (existing) {
      log.warn(`route check: route ${what} had been replaced by ${existing}; restored`);
    } else {
      log.warn(`route check: route ${what} was missing; put back`);
    }
  }
}

function keyOf(lease: Lease): string {
  return subnetKey(lease.subnet, lease.ipv6Subnet);
}
