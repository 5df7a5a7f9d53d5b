// The acceptance rule (subnet-lease/acceptance.ts, acceptor.ts) applied where leases enter flanneld: a
// decorator around the LeaseStore, like metered.ts, so that no backend ever sees a lease that fails it.
// Each rejection is logged once per key and value at warning level and counted by reason.
import type { AcceptRules, OwnIdentity } from '../subnet-lease/acceptance.js';
import { LeaseAcceptor, type RejectedLease } from '../subnet-lease/acceptor.js';
import { hasIPv4, type Lease, type SubnetPair } from '../subnet-lease/lease.js';
import type { Logger } from '../common/log.js';
import type { LeaseStore } from '../subnet-lease/store.js';
import type { FlannelMetrics } from './metrics.js';

export interface AcceptingStore extends LeaseStore {
  /** The other hosts' leases rejected now (for diagnose); empty before the watch started. */
  rejections(): RejectedLease[];
}

export function describeRejection(r: RejectedLease): string {
  return `ignoring the lease ${r.key}: ${r.rejection.field} ${r.rejection.why}`;
}

/**
 * `rules` is read when the watch starts (the network config is known by then: flanneld wraps the store
 * before it reads the config, so that metered.ts counts only accepted leases).
 */
export function acceptingStore(store: LeaseStore, rules: () => AcceptRules, m: FlannelMetrics, logger: Logger): AcceptingStore {
  let ownLease: Lease | null = null;
  let acceptor: LeaseAcceptor | null = null;
  const own = (ownSubnet: () => SubnetPair | null): OwnIdentity => {
    const subnets = ownSubnet() ?? ownLease;
    return {
      subnet: subnets && hasIPv4(subnets) ? subnets.subnet : null,
      ipv6Subnet: subnets?.ipv6Subnet ?? null,
      publicIP: ownLease?.attrs.publicIP ?? 0,
      publicIPv6: ownLease?.attrs.publicIPv6 ?? null,
    };
  };
  const report = (r: RejectedLease): void => {
    m.leasesRejected.inc({ reason: r.rejection.reason });
    logger.warn(describeRejection(r), { key: r.key, field: r.rejection.field, reason: r.rejection.reason });
  };
  const previousLease = store.previousLease?.bind(store);
  return {
    get name() {
      return store.name;
    },
    ...(previousLease && { previousLease }),
    getNetworkConfig: (signal) => store.getNetworkConfig(signal),
    acquireLease: async (attrs, signal, reading) => (ownLease = await store.acquireLease(attrs, signal, reading)),
    keepLease: (lease, signal, onChange) => {
      ownLease = lease;
      return store.keepLease(lease, signal, (fresh) => {
        ownLease = fresh;
        onChange(fresh);
      });
    },
    watchLeases: (ownSubnet, signal) => ({
      async *[Symbol.asyncIterator]() {
        const a = (acceptor = new LeaseAcceptor(rules(), () => own(ownSubnet), report));
        let first = true;
        for await (const batch of store.watchLeases(ownSubnet, signal)) {
          const out = a.apply(batch);
          // The first batch (the listing) is passed on even when empty: backends wait for it.
          if (out.length > 0 || batch.length === 0 || first) yield out;
          first = false;
        }
      },
    }),
    rejections: () => acceptor?.rejections() ?? [],
  };
}
