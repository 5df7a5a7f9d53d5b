// The stateful half of the acceptance rule (see acceptance.ts for the checks on one lease): a lease
// must not overlap a lease already accepted, and of two overlapping leases the older one wins (lower
// etcd create revision, older Node creationTimestamp). Turns the store's event batches into the batches
// a backend may program: rejected leases never appear, removing a rejected lease emits nothing, and when
// an accepted lease goes away the leases it kept out are evaluated again. Every event costs O(address
// bits) map operations (OverlapIndex), plus the leases it kept out.
import { type AcceptRules, type OwnIdentity, type Rejection, checkLease } from './acceptance.js';
import { describeSubnets, encodeLeaseAttrs, hasIPv4, subnetKey, type Lease, type LeaseEvent } from './lease.js';
import { OverlapIndex } from './overlap-index.js';

export interface RejectedLease {
  key: string;
  lease: Lease;
  rejection: Rejection;
}

/** Called once per key, value and reason: the caller logs it (warning) and counts it. */
export type RejectionReport = (r: RejectedLease) => void;

export function leaseKey(l: Lease): string {
  return l.key ?? subnetKey(l.subnet, l.ipv6Subnet);
}

/** Smaller is older; leases of unknown age are the youngest; ties broken by key. */
function older(a: Lease, b: Lease): boolean {
  const age = (l: Lease): number => l.createRevision ?? l.createdAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const x = age(a);
  const y = age(b);
  return x !== y ? x < y : leaseKey(a) < leaseKey(b);
}

export class LeaseAcceptor {
  private readonly accepted = new Map<string, Lease>();
  private readonly rejected = new Map<string, RejectedLease>();
  /** Accepted key → keys of leases rejected because they overlap it. */
  private readonly blocks = new Map<string, Set<string>>();
  private readonly v4 = new OverlapIndex(32);
  private readonly v6 = new OverlapIndex(128);
  private readonly reported = new Set<string>();

  constructor(
    private readonly rules: AcceptRules,
    private readonly own: () => OwnIdentity,
    private readonly report: RejectionReport,
  ) {}

  /** The leases rejected now, for `flanneld diagnose`. */
  rejections(): RejectedLease[] {
    return [...this.rejected.values()];
  }

  acceptedCount(): number {
    return this.accepted.size;
  }

  /** One batch from the store in, the batch for the backend out. */
  apply(batch: readonly LeaseEvent[]): LeaseEvent[] {
    const out: LeaseEvent[] = [];
    // A batch of additions alone (the first listing) is taken oldest first, so that the older wins.
    const events = batch.every((e) => e.type === 'added') ? [...batch].sort((a, b) => (older(a.lease, b.lease) ? -1 : 1)) : batch;
    for (const e of events) {
      if (e.type === 'added') this.added(e.lease, out);
      else this.removed(e.lease, out);
    }
    return out;
  }

  private added(lease: Lease, out: LeaseEvent[]): void {
    const key = leaseKey(lease);
    const prev = this.accepted.get(key);
    this.forget(key);
    const rejection = checkLease(lease, this.rules, this.own()) ?? this.overlap(lease, key);
    if (!rejection) {
      this.accept(key, lease);
      out.push({ type: 'added', lease });
      return;
    }
    this.reject(key, lease, rejection);
    if (prev) {
      out.push({ type: 'removed', lease: prev });
      this.reevaluate(key, out);
    }
  }

  private removed(lease: Lease, out: LeaseEvent[]): void {
    const key = leaseKey(lease);
    const prev = this.accepted.get(key);
    this.forget(key);
    if (!prev) return;
    out.push({ type: 'removed', lease: prev });
    this.reevaluate(key, out);
  }

  /** Drops `key` from every structure (accepted or rejected). */
  private forget(key: string): void {
    const prev = this.accepted.get(key);
    if (prev) {
      this.accepted.delete(key);
      if (hasIPv4(prev)) this.v4.delete(BigInt(prev.subnet.ip), prev.subnet.prefixLen, key);
      if (prev.ipv6Subnet) this.v6.delete(prev.ipv6Subnet.ip, prev.ipv6Subnet.prefixLen, key);
    }
    const rej = this.rejected.get(key);
    if (rej) {
      this.rejected.delete(key);
      if (rej.rejection.blocker !== undefined) this.blocks.get(rej.rejection.blocker)?.delete(key);
    }
  }

  private accept(key: string, lease: Lease): void {
    this.accepted.set(key, lease);
    // An IPv6-only lease's 0.0.0.0/0 is no address space: indexing it would overlap every lease.
    if (hasIPv4(lease)) this.v4.add(BigInt(lease.subnet.ip), lease.subnet.prefixLen, key);
    if (lease.ipv6Subnet && this.rules.ipv6Network) this.v6.add(lease.ipv6Subnet.ip, lease.ipv6Subnet.prefixLen, key);
  }

  private overlap(lease: Lease, key: string): Rejection | null {
    let other = hasIPv4(lease) ? this.v4.conflict(BigInt(lease.subnet.ip), lease.subnet.prefixLen, key) : null;
    if (other === null && lease.ipv6Subnet && this.rules.ipv6Network) other = this.v6.conflict(lease.ipv6Subnet.ip, lease.ipv6Subnet.prefixLen, key);
    if (other === null) return null;
    const o = this.accepted.get(other)!;
    let blocked = this.blocks.get(other);
    if (!blocked) this.blocks.set(other, (blocked = new Set()));
    blocked.add(key);
    const which = older(lease, o) ? 'accepted first' : 'older';
    return { reason: 'overlaps_lease', field: 'key', why: `overlaps the lease ${other} (${describeSubnets(o)}), which is ${which}`, blocker: other };
  }

  private reject(key: string, lease: Lease, rejection: Rejection): void {
    const r = { key, lease, rejection };
    this.rejected.set(key, r);
    const id = `${key}\u0000${encodeLeaseAttrs(lease.attrs)}\u0000${rejection.reason}`;
    if (this.reported.has(id)) return;
    this.reported.add(id);
    this.report(r);
  }

  /** The leases `key` kept out, evaluated again (oldest first) now that it is gone. */
  private reevaluate(key: string, out: LeaseEvent[]): void {
    const blocked = this.blocks.get(key);
    this.blocks.delete(key);
    if (!blocked) return;
    const leases = [...blocked].map((k) => this.rejected.get(k)?.lease).filter((l): l is Lease => l !== undefined);
    leases.sort((a, b) => (older(a, b) ? -1 : 1));
    for (const l of leases) this.added(l, out);
  }
}
