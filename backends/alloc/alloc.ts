// The reference's `alloc` backend: it only acquires the lease (PublicIP and nothing else) and programs
// no data path. Useful on its own to hand out subnets, and as the smallest complete backend.
import type { Backend, BackendContext, Network } from '../backend.js';
import type { NetworkConfig } from '../../subnet-lease/config.js';
import type { Lease } from '../../subnet-lease/lease.js';

export function createAllocBackend(ctx: BackendContext): Backend {
  return {
    async registerNetwork(_config: NetworkConfig, signal: AbortSignal): Promise<Network> {
      const lease = await ctx.store.acquireLease({ publicIP: ctx.extIface.extAddr, publicIPv6: null }, signal);
      return new AllocNetwork(lease, ctx.extIface.mtu);
    },
  };
}

class AllocNetwork implements Network {
  constructor(
    public lease: Lease,
    readonly mtu: number,
  ) {}

  /** Nothing to program: waits for cancellation. */
  run(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  leaseChanged(lease: Lease): void {
    this.lease = lease;
  }
}
