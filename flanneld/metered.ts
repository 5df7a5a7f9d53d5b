// Metrics without touching the parts they describe: decorators around the LeaseStore and the Native
// layer that flanneld hands to the backend. The store decorator sees every lease event leave the
// store; the native decorator sees every kernel write. Together they time "lease event → its route in
// the kernel" and tell writes asked for by a lease event from repairs (reconcile pass, device
// recreation), which nothing asked for.
import type { NativeError } from '../native/errors.js';
import type { Native, Op } from '../native/types.js';
import { formatIP4, formatIP6 } from '../common/ip.js';
import { hasIPv4, type Lease, type LeaseEvent } from '../subnet-lease/lease.js';
import type { LeaseStore } from '../subnet-lease/store.js';
import type { FlannelMetrics } from './metrics.js';

/** A lease event whose kernel entries are not written yet. */
interface Pending {
  at: number;
  /** The subnet's network address: the IP of the neighbour entry a vxlan peer gets. */
  netIP: string;
  /** Remote public addresses (the FDB destinations of its entries). */
  publicIPs: string[];
}

/** Forgets pending events the backend never programs (e.g. a lease it cannot use). */
const PENDING_TTL_MS = 10 * 60_000;

/** Counts of keys, so that several pending events may share one (e.g. two leases with one public IP). */
class Multiset {
  private readonly counts = new Map<string, number>();
  add(k: string): void {
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }
  delete(k: string): void {
    const n = this.counts.get(k) ?? 0;
    if (n <= 1) this.counts.delete(k);
    else this.counts.set(k, n - 1);
  }
  has(k: string): boolean {
    return this.counts.has(k);
  }
}

/**
 * Lease events in flight between the store and the kernel, keyed by subnet CIDR text. Every method
 * costs O(1) per event or write (amortised): a start-up with N leases is N events and 3N writes, so
 * anything that scanned the pending set per write made it quadratic.
 */
export class EventTracker {
  private readonly pending = new Map<string, Pending>();
  /** Indexes of `pending` for the writes a route does not name: neighbours and FDB entries. */
  private readonly pendingNets = new Multiset();
  private readonly pendingPublicIPs = new Multiset();
  private readonly known = new Set<string>();
  private nextSweep = 0;

  constructor(
    private readonly m: FlannelMetrics,
    private readonly now: () => number = () => performance.now(),
  ) {}

  noteEvents(events: readonly LeaseEvent[]): void {
    const at = this.now();
    for (const e of events) {
      this.m.leaseEvents.inc({ type: e.type });
      for (const subnet of subnetsOf(e.lease)) {
        if (e.type === 'added') this.known.add(subnet);
        else this.known.delete(subnet);
        this.setPending(subnet, { at, netIP: subnet.slice(0, subnet.indexOf('/')), publicIPs: publicIPsOf(e.lease) });
      }
    }
    this.m.leasesKnown.set(this.known.size);
    this.sweep(at);
  }

  /** Accounts for one successful kernel write. */
  noteWrite(op: Op): void {
    this.noteWrites([op]);
  }

  /** Accounts for successful kernel writes: counted per kind and action once per call, not per write. */
  noteWrites(ops: readonly Op[]): void {
    const counts = new Map<Op['op'], number>();
    let now = -1;
    for (const op of ops) {
      counts.set(op.op, (counts.get(op.op) ?? 0) + 1);
      if (op.op === 'route.replace' || op.op === 'route.delete') {
        const p = this.pending.get(op.route.dst);
        if (p) {
          if (now < 0) now = this.now();
          this.m.eventToKernel.observe((now - p.at) / 1000);
          this.setPending(op.route.dst, null);
          continue;
        }
      }
      if (op.op.endsWith('.replace') && !this.explained(op)) this.m.kernelRepairs.inc({ kind: kindOf(op) });
    }
    for (const [name, n] of counts) {
      const dot = name.indexOf('.');
      this.m.kernelEntries.inc({ kind: name.slice(0, dot), op: name.slice(dot + 1) }, n);
    }
  }

  private setPending(subnet: string, p: Pending | null): void {
    const old = this.pending.get(subnet);
    if (old) {
      this.pendingNets.delete(old.netIP);
      for (const ip of old.publicIPs) this.pendingPublicIPs.delete(ip);
      this.pending.delete(subnet);
    }
    if (!p) return;
    this.pending.set(subnet, p);
    this.pendingNets.add(p.netIP);
    for (const ip of p.publicIPs) this.pendingPublicIPs.add(ip);
  }

  /** Drops events older than the TTL; a full scan at most once a minute, so amortised O(1). */
  private sweep(at: number): void {
    if (at < this.nextSweep) return;
    this.nextSweep = at + 60_000;
    for (const [k, p] of this.pending) if (at - p.at > PENDING_TTL_MS) this.setPending(k, null);
  }

  private explained(op: Op): boolean {
    switch (op.op) {
      case 'route.replace':
        return this.pending.has(op.route.dst);
      case 'neigh.replace':
        return this.pendingNets.has(op.neigh.ip);
      case 'fdb.replace':
        return op.fdb.dst !== undefined && this.pendingPublicIPs.has(op.fdb.dst);
      default:
        return true;
    }
  }
}

function kindOf(op: Op): string {
  return op.op.slice(0, op.op.indexOf('.'));
}

function subnetsOf(l: Lease): string[] {
  // An IPv6-only lease's 0.0.0.0/0 is shared by every such lease: not a key of its own.
  return [...(hasIPv4(l) ? [l.subnet.toString()] : []), ...(l.ipv6Subnet ? [l.ipv6Subnet.toString()] : [])];
}

function publicIPsOf(l: Lease): string[] {
  return [formatIP4(l.attrs.publicIP), ...(l.attrs.publicIPv6 !== null ? [formatIP6(l.attrs.publicIPv6)] : [])];
}

/** The store, counting lease events (and leases known) and failed requests. */
export function meteredStore(store: LeaseStore, m: FlannelMetrics, tracker: EventTracker, onBatch?: (batch: readonly LeaseEvent[]) => void): LeaseStore {
  const counted = async <T>(operation: string, p: Promise<T>, signal: AbortSignal): Promise<T> => {
    try {
      return await p;
    } catch (e) {
      if (!signal.aborted) m.storeErrors.inc({ operation });
      throw e;
    }
  };
  const previousLease = store.previousLease?.bind(store);
  return {
    get name() {
      return store.name;
    },
    // Passed through only when the store has it: a missing method means "this store cannot know".
    ...(previousLease && { previousLease: (attrs, signal) => counted('previous_lease', previousLease(attrs, signal), signal) }),
    getNetworkConfig: (signal) => counted('get_config', store.getNetworkConfig(signal), signal),
    acquireLease: async (attrs, signal, reading) => {
      const lease = await counted('acquire_lease', store.acquireLease(attrs, signal, reading), signal);
      m.leaseAcquisitions.inc();
      return lease;
    },
    keepLease: (lease, signal, onChange) =>
      store.keepLease(lease, signal, (fresh) => {
        m.leaseLosses.inc();
        m.leaseAcquisitions.inc();
        onChange(fresh);
      }),
    watchLeases: (ownSubnet, signal) => ({
      async *[Symbol.asyncIterator]() {
        for await (const batch of store.watchLeases(ownSubnet, signal)) {
          tracker.noteEvents(batch);
          onBatch?.(batch);
          yield batch;
        }
      },
    }),
  };
}

const ONE_OP: Readonly<Record<string, (arg: never) => Op>> = {
  routeReplace: (route) => ({ op: 'route.replace', route }),
  routeDelete: (route) => ({ op: 'route.delete', route }),
  neighReplace: (neigh) => ({ op: 'neigh.replace', neigh }),
  neighDelete: (neigh) => ({ op: 'neigh.delete', neigh }),
  fdbReplace: (fdb) => ({ op: 'fdb.replace', fdb }),
  fdbDelete: (fdb) => ({ op: 'fdb.delete', fdb }),
};

/**
 * The native layer, counting kernel writes through `tracker`. A Proxy, so that methods added to
 * Native later pass through unchanged; `apply` and its one-op forms are the ones counted.
 */
export function meteredNative(inner: Native, tracker: EventTracker, m: FlannelMetrics): Native {
  const apply = async (ops: readonly Op[]): Promise<Array<NativeError | null>> => {
    const results = await inner.apply(ops);
    const written: Op[] = [];
    results.forEach((err, i) => {
      if (err === null) written.push(ops[i]!);
      else if (!['ENOENT', 'ESRCH'].includes(err.code)) m.kernelErrors.inc({ kind: kindOf(ops[i]!) });
    });
    tracker.noteWrites(written);
    return results;
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'apply') return apply;
      const build = typeof prop === 'string' ? ONE_OP[prop] : undefined;
      if (build) {
        return async (arg: never): Promise<void> => {
          const [err] = await apply([build(arg)]);
          if (err) throw err;
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
