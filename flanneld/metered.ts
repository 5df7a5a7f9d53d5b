// Metrics without touching the parts they describe: decorators around the LeaseStore and the Native
// layer that flanneld hands to the backend. The store decorator sees every lease event leave the
// store; the native decorator sees every kernel write. Together they time "lease event → its route in
// the kernel" and tell writes asked for by a lease event from repairs (reconcile pass, device
// recreation), which nothing asked for.
import type { NativeError } from '../native/errors.js';
import type { Native, Op } from '../native/types.js';
import { formatIP4, formatIP6 } from '../subnet-lease/ip.js';
import type { Lease, LeaseEvent } from '../subnet-lease/lease.js';
import type { LeaseStore } from '../subnet-lease/store.js';
import type { FlannelMetrics } from './metrics.js';

/** A lease event whose kernel entries are not written yet. */
interface Pending {
  at: number;
  /** Remote public addresses (the FDB destinations of its entries). */
  publicIPs: string[];
}

/** Forgets pending events the backend never programs (e.g. a lease it cannot use). */
const PENDING_TTL_MS = 10 * 60_000;

/** Lease events in flight between the store and the kernel, keyed by subnet CIDR text. */
export class EventTracker {
  private readonly pending = new Map<string, Pending>();
  private readonly known = new Set<string>();

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
        this.pending.set(subnet, { at, publicIPs: publicIPsOf(e.lease) });
      }
    }
    this.m.leasesKnown.set(this.known.size);
    for (const [k, p] of this.pending) if (at - p.at > PENDING_TTL_MS) this.pending.delete(k);
  }

  /** Accounts for one successful kernel write. */
  noteWrite(op: Op): void {
    const kind = op.op.split('.')[0]!;
    const action = op.op.split('.')[1]!;
    this.m.kernelEntries.inc({ kind, op: action });
    if (op.op === 'route.replace' || op.op === 'route.delete') {
      const p = this.pending.get(op.route.dst);
      if (p) {
        this.m.eventToKernel.observe((this.now() - p.at) / 1000);
        this.pending.delete(op.route.dst);
        return;
      }
    }
    if (action === 'replace' && !this.explained(op)) this.m.kernelRepairs.inc({ kind });
  }

  private explained(op: Op): boolean {
    switch (op.op) {
      case 'route.replace':
        return this.pending.has(op.route.dst);
      case 'neigh.replace':
        return [...this.pending.keys()].some((cidr) => inCidr(op.neigh.ip, cidr));
      case 'fdb.replace':
        return [...this.pending.values()].some((p) => op.fdb.dst !== undefined && p.publicIPs.includes(op.fdb.dst));
      default:
        return true;
    }
  }
}

function subnetsOf(l: Lease): string[] {
  return [l.subnet.toString(), ...(l.ipv6Subnet ? [l.ipv6Subnet.toString()] : [])];
}

function publicIPsOf(l: Lease): string[] {
  return [formatIP4(l.attrs.publicIP), ...(l.attrs.publicIPv6 !== null ? [formatIP6(l.attrs.publicIPv6)] : [])];
}

function inCidr(ip: string, cidr: string): boolean {
  const [net, len] = cidr.split('/') as [string, string];
  if (ip.includes(':') !== net.includes(':')) return false;
  if (!ip.includes(':')) {
    const toN = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    const size = 2 ** (32 - Number(len));
    return Math.floor(toN(ip) / size) === Math.floor(toN(net) / size);
  }
  return false; // v6 neighbours are explained by their route write, which follows them
}

/** The store, counting lease events (and leases known) and failed requests. */
export function meteredStore(store: LeaseStore, m: FlannelMetrics, tracker: EventTracker): LeaseStore {
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
    acquireLease: async (attrs, signal) => {
      const lease = await counted('acquire_lease', store.acquireLease(attrs, signal), signal);
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
    results.forEach((err, i) => {
      if (err === null) tracker.noteWrite(ops[i]!);
      else if (!['ENOENT', 'ESRCH'].includes(err.code)) m.kernelErrors.inc({ kind: ops[i]!.op.split('.')[0]! });
    });
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
