// What a VxlanNetwork is built from, and its tunables.
import type { Native } from '../../native/types.js';
import type { Lease } from '../../subnet-lease/lease.js';
import type { Logger } from '../../common/log.js';
import type { LeaseStore } from '../../subnet-lease/store.js';
import type { VxlanConfig } from './config.js';
import type { FamilyDevice } from './family-device.js';

export interface VxlanNetworkOptions {
  /**
   * Mean period of the full pass (every wanted entry compared with a dump of the kernel); each period
   * is drawn within ±20 %. Default 5 minutes: repair between passes follows the kernel's notifications.
   */
  reconcileIntervalMs?: number;
  /** Backoff of device recreation: first retry after `initial`, doubling up to `max`. */
  recreateBackoffMs?: { initial: number; max: number };
}

export interface VxlanNetworkDeps {
  native: Native;
  store: LeaseStore;
  logger: Logger;
  config: VxlanConfig;
  devices: FamilyDevice[];
  lease: Lease;
  mtu: number;
  options?: VxlanNetworkOptions;
}
