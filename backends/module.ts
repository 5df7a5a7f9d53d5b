// A backend as one module (issue 13): `backends/<name>/index.ts` exports one `BackendModule` — its type
// name, how it is created, its check of another host's lease data, and how `flanneld diagnose` checks
// it — and flanneld's registry and diagnose read the same list (flanneld/backends.ts). `create` and
// `diagnose` load the backend's code on first use, so a daemon loads only the backend it runs.
import type { Native } from '../native/types.js';
import type { NetworkConfig } from '../subnet-lease/config.js';
import { describeSubnets, hasIPv4, publicAddress, type Lease } from '../subnet-lease/lease.js';
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
  /**
   * Where flanneld's peer probes (issue 16) go: for `config`, once, a function giving for another
   * host's lease an address the peer's kernel answers, reached through this backend's data path
   * (null: this lease cannot be probed, no address of a family in use). Without it the probes go to
   * the public IP on the underlay.
   */
  probeTargets?(config: NetworkConfig): ProbeTargetOf;
  /** What to set when only `works`-byte packets pass (the path-MTU warning), e.g. the backend's MTU option. */
  mtuAdvice?(works: number, family: 4 | 6, config: NetworkConfig): string;
}

/** A probe address and how it is reached ("through flannel.1"), for the probe's messages. */
export interface ProbeTarget {
  address: string;
  family: 4 | 6;
  path: string;
}

export type ProbeTargetOf = (lease: Lease) => ProbeTarget | null;

/**
 * The overlay address of a lease (its subnet's network address, which the peer's flannel device holds):
 * the IPv4 one when IPv4 is in use, else the IPv6 one, through the device named for that family.
 */
export function overlayProbeTargets(config: NetworkConfig, devices: { 4: string; 6: string }): ProbeTargetOf {
  const via4 = `through ${devices[4]}`;
  const via6 = `through ${devices[6]}`;
  return (lease) => {
    if (config.enableIPv4) return { address: formatIP4(lease.subnet.ip), family: 4, path: via4 };
    if (config.enableIPv6 && lease.ipv6Subnet) return { address: formatIP6(lease.ipv6Subnet.ip), family: 6, path: via6 };
    return null;
  };
}

/** The public address of a lease on the underlay, of the family in use. */
export function underlayProbeTargets(config: NetworkConfig): ProbeTargetOf {
  return (lease) => {
    if (config.enableIPv4 && lease.attrs.publicIP !== 0) return { address: formatIP4(lease.attrs.publicIP), family: 4, path: 'on the underlay' };
    if (config.enableIPv6 && lease.attrs.publicIPv6 !== null) return { address: formatIP6(lease.attrs.publicIPv6), family: 6, path: 'on the underlay' };
    return null;
  };
}

/** "(lease 10.244.3.0/24 of 198.18.0.3)"; IPv6-only "(lease fd00:10:244:3::/64 of fd00:198:18::3)". */
export function leaseRef(lease: Lease): string {
  return `(lease ${hasIPv4(lease) ? lease.subnet : describeSubnets(lease)} of ${publicAddress(lease) ?? '(no PublicIPv6)'})`;
}
