// What a backend is, seen from flanneld: a `Backend` registers the network (acquiring the lease with its
// own BackendData in it) and returns a `Network` that has the lease, the MTU for subnet.env and a `run`
// that follows every other host's lease until cancelled. Backends get everything injected: the lease
// store, the external interface, and (for kernel-programming backends) the native layer.
import type { NetworkConfig } from '../subnet-lease/config.js';
import type { Lease } from '../subnet-lease/lease.js';
import type { Logger } from '../common/log.js';
import type { LeaseStore } from '../subnet-lease/store.js';

/** The interface chosen for the underlay (fact sheet §1a). */
export interface ExternalInterface {
  name: string;
  index: number;
  mtu: number;
  /** IPv4 address on the interface (uint32). */
  ifaceAddr: number;
  ifaceV6Addr: bigint | null;
  /** The address other hosts use: --public-ip, else ifaceAddr. */
  extAddr: number;
  extV6Addr: bigint | null;
}

export interface BackendContext {
  store: LeaseStore;
  extIface: ExternalInterface;
  logger: Logger;
}

export interface Backend {
  /**
   * Acquires our lease (with this backend's BackendData) and sets up what the backend needs before the
   * first peer arrives (e.g. the vxlan device). Rejects with the abort reason when `signal` aborts.
   */
  registerNetwork(config: NetworkConfig, signal: AbortSignal): Promise<Network>;
}

export interface Network {
  /** Our current lease. */
  readonly lease: Lease;
  /** The MTU pods must use (FLANNEL_MTU). */
  readonly mtu: number;
  /**
   * Follows every other host's lease and keeps the data path for them until `signal` aborts, then
   * resolves, leaving the kernel state in place (flanneld never tears the data plane down on exit).
   */
  run(signal: AbortSignal): Promise<void>;
  /** Our lease was re-acquired (after it was deleted or expired), possibly with another subnet. */
  leaseChanged?(lease: Lease): void;
  /** Counters of the backend's own data path (the udp packet loop), for /metrics; cheap to call. */
  samples?(): BackendSample[];
}

/** One counter value of a backend; samples sharing a name form one Prometheus counter family. */
export interface BackendSample {
  name: string;
  help: string;
  labels?: Readonly<Record<string, string>>;
  value: number;
}
