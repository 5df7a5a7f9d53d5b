// One address family's device and what belongs to it: the v4 device flannel.<VNI> serves the lease's
// subnet inside Network; the v6 device flannel-v6.<VNI> serves the IPv6 subnet inside IPv6Network.
import type { Addr, Link, Native } from '../../native/types.js';
import { RT_SCOPE_LINK } from '../../native/types.js';
import { IP4Net, type IP6Net, formatIP4, formatIP6, parseIP4, parseIP6 } from '../../common/ip.js';
import type { Lease } from '../../subnet-lease/lease.js';
import type { Logger } from '../../common/log.js';
import { type DeviceAddress, type DeviceSpec, configureDevice, ensureDevice } from './device.js';
import type { OwnedScope } from './reconcile.js';
import { Backoff } from '../../common/backoff.js';

export class FamilyDevice {
  constructor(
    readonly family: 4 | 6,
    /** How to (re)create the device; `mac` is the MAC in our lease once the device exists. */
    readonly spec: DeviceSpec,
    public link: Link,
    /** The flannel network of this family (Network or IPv6Network). */
    readonly network: IP4Net | IP6Net,
    readonly subnetLen: number,
  ) {}

  inNetwork(ip: string): boolean {
    const v6 = ip.includes(':');
    if (this.network instanceof IP4Net) return !v6 && this.network.contains(parseIP4(ip));
    return v6 && this.network.contains(parseIP6(ip));
  }

  /** Our own subnet of this family in `lease`, e.g. "10.244.1.0/24". */
  ownSubnet(lease: Lease): string {
    return this.family === 4 ? lease.subnet.toString() : (lease.ipv6Subnet?.toString() ?? '');
  }

  /** The device address: our subnet's network address as /32 (v4) or /128 (v6). */
  address(lease: Lease): DeviceAddress {
    if (this.family === 4) {
      return { family: 4, address: formatIP4(lease.subnet.ip), prefixLen: 32, ours: (a: Addr) => this.inNetwork(a.address) };
    }
    if (!lease.ipv6Subnet) throw new Error(`lease ${lease.subnet} has no IPv6 subnet for ${this.spec.name}`);
    return { family: 6, address: formatIP6(lease.ipv6Subnet.ip), prefixLen: 128, ours: (a: Addr) => a.scope !== RT_SCOPE_LINK };
  }

  scope(lease: Lease, directRouting: boolean): OwnedScope {
    return {
      family: this.family,
      ifindex: this.link.index,
      networkPrefixLen: this.network.prefixLen,
      subnetLen: this.subnetLen,
      ownSubnet: this.ownSubnet(lease),
      directRouting,
      inNetwork: (ip) => this.inNetwork(ip),
    };
  }
}

/** Moves the device address to `lease`'s subnet (after our lease was re-acquired). */
export async function reconfigureAddress(native: Native, dev: FamilyDevice, lease: Lease, log: Logger): Promise<void> {
  dev.link = await configureDevice(native, dev.link, dev.address(lease), dev.spec.mac, log, dev.spec.txChecksum);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * Creates the device again with the MAC of our lease and configures it, retrying with backoff
 * (default 1 s doubling to 30 s) until it works or `signal` aborts. Resolves false when aborted.
 */
export async function recreateDevice(
  native: Native,
  dev: FamilyDevice,
  lease: Lease,
  log: Logger,
  signal: AbortSignal,
  backoff: { initial: number; max: number } = { initial: 1000, max: 30_000 },
): Promise<boolean> {
  const delays = new Backoff(backoff.initial, backoff.max);
  while (!signal.aborted) {
    try {
      const link = await ensureDevice(native, dev.spec, log);
      dev.link = await configureDevice(native, link, dev.address(lease), dev.spec.mac, log, dev.spec.txChecksum);
      return true;
    } catch (e) {
      const delay = delays.next();
      log.error(`could not recreate ${dev.spec.name}: ${(e as Error).message}; retrying in ${delay} ms`);
      await sleep(delay, signal);
    }
  }
  return false;
}
