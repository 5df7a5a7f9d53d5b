// A backend as one module (issue 13): `backends/<name>/index.ts` exports one `BackendModule` — its type
// name, how it is created, its check of another host's lease data, and how `flanneld diagnose` checks
// it — and flanneld's registry and diagnose read the same list (flanneld/backends.ts). `create` and
// `diagnose` load the backend's code on first use, so a daemon loads only the backend it runs.
import type { Native } from '../native/types.js';
import type { NetworkConfig } from '../subnet-lease/config.js';
import { describeSubnets, hasIPv4, type Lease } from '../subnet-lease/lease.js';
import type { LeaseDataValidator } from '../subnet-lease/acceptance.js';
import type { Backend, BackendContext, ExternalInterface } from './backend.js';
import { formatIP4, formatIP6 } from '../common/ip.js';

/** What a backend may need besides its context; `native()` opens the kernel layer on first use. */
export interface BackendDeps {
  native: () => Native;
}

export type FindingKind = 'missing' | 'stale' | 'device' | 'note';

/** One line of `flanneld diagnose`: something missing, stale or wrong in the kernel, or a note. */
export interface Finding {
  kind: FindingKind;
  text: string;
}

/** Everything a backend's diagnose check reads. */
export interface CheckInput {
  config: NetworkConfig;
  /** Our lease (the one whose subnet is in subnet.env). */
  own: Lease;
  /** Our lease and every lease flanneld's acceptance rule lets through. */
  leases: readonly Lease[];
  native: Native;
  /** The external interface as flanneld would choose it (asked for only by checks that need it). */
  ext: () => Promise<ExternalInterface>;
}

export interface BackendModule {
  /** Backend.Type in the network config, lower case. */
  readonly type: string;
  /** The backend for this host; loads its code on first call. */
  create(ctx: BackendContext, deps: BackendDeps): Promise<Backend>;
  /**
   * The backend's check of another host's BackendData for the acceptance rule (issue 12); null for
   * backends that read none, or when the own config is invalid (create() then names the bad field).
   */
  leaseDataValidator(config: NetworkConfig): LeaseDataValidator | null;
  /** What `flanneld diagnose` finds in the kernel for this backend (read-only). */
  diagnose(input: CheckInput): Promise<Finding[]>;
  /** The VTEP MAC another host's lease of this type carries, for diagnose's lease list ('(invalid)' when unreadable). */
  vtepMac?(lease: Lease): string;
}

/** "(lease 10.244.3.0/24 of 198.18.0.3)"; IPv6-only "(lease fd00:10:244:3::/64 of fd00:198:18::3)". */
export function leaseRef(lease: Lease): string {
  if (!hasIPv4(lease)) return `(lease ${describeSubnets(lease)} of ${lease.attrs.publicIPv6 === null ? '(no PublicIPv6)' : formatIP6(lease.attrs.publicIPv6)})`;
  return `(lease ${lease.subnet} of ${formatIP4(lease.attrs.publicIP)})`;
}
