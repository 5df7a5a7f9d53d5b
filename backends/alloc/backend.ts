// The reference's `alloc` backend: it only acquires the lease (PublicIP and nothing else) and programs
// no data path. flannel-ts also follows the other hosts' leases and logs them as they come and go, so
// an alloc-only deployment shows its cluster in the log.
import type { Backend, BackendContext, Network } from '../backend.js';
import type { NetworkConfig } from '../../subnet-lease/config.js';
import { describeLease, type Lease } from '../../subnet-lease/lease.js';
import { isAbort } from '../../common/abort.js';

export function createAllocBackend(ctx: BackendContext): Backend {
  return {
    async registerNetwork(_config: NetworkConfig, signal: AbortSignal): Promise<Network> {
      const lease = await ctx.store.acquireLease({ publicIP: ctx.extIface.extAddr, publicIPv6: null }, signal);
      return new AllocNetwork(ctx, lease);
    },
  };
}

class AllocNetwork implements Network {
  readonly mtu: number;

  constructor(
    private readonly ctx: BackendContext,
    public lease: Lease,
  ) {
    this.mtu = ctx.extIface.mtu;
  }

  /** Logs every other host's lease as it comes and goes, until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const log = this.ctx.logger;
    try {
      for await (const batch of this.ctx.store.watchLeases(() => this.lease, signal)) {
        for (const event of batch) log.info(`peer ${event.type === 'added' ? 'added' : 'removed'}: ${describeLease(event.lease)}`);
      }
    } catch (e) {
      if (!isAbort(e, signal)) throw e;
    }
  }

  leaseChanged(lease: Lease): void {
    this.lease = lease;
  }
}
