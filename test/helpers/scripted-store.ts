// A LeaseStore test double for route-only backends: acquireLease hands out a fixed subnet and records the
// attributes it was asked for; watchLeases yields exactly the batches a test pushes (the first push is
// the "current state" batch). `drained()` resolves once the consumer has handled every pushed batch and
// is waiting for the next, so a test can assert that *nothing* happened without sleeping.
import type { NetworkConfig } from '../../subnet-lease/config.js';
import { IP4Net, IP6Net, parseIP4, parseIP6 } from '../../common/ip.js';
import { isSameLease, type Lease, type LeaseAttrs, type LeaseEvent, type SubnetPair } from '../../subnet-lease/lease.js';
import type { LeaseStore, PreviousLease } from '../../subnet-lease/store.js';

export function lease(subnet: string, publicIP: string, backendType?: string, v6?: { subnet: string; publicIP: string }): Lease {
  const attrs: LeaseAttrs = { publicIP: parseIP4(publicIP), publicIPv6: v6 ? parseIP6(v6.publicIP) : null };
  if (backendType) attrs.backendType = backendType;
  return { subnet: IP4Net.parse(subnet), ipv6Subnet: v6 ? IP6Net.parse(v6.subnet) : null, attrs, reservation: false };
}

export const added = (l: Lease): LeaseEvent => ({ type: 'added', lease: l });
export const removed = (l: Lease): LeaseEvent => ({ type: 'removed', lease: l });

export class ScriptedStore implements LeaseStore {
  readonly name = 'scripted';
  readonly acquired: LeaseAttrs[] = [];
  private readonly queue: LeaseEvent[][] = [];
  private wake: (() => void) | null = null;
  private waiting = false;

  constructor(
    private readonly ownSubnet = '10.244.1.0/24',
    private readonly ownV6Subnet: string | null = null,
  ) {}

  async getNetworkConfig(): Promise<NetworkConfig> {
    throw new Error('ScriptedStore has no network config');
  }

  async acquireLease(attrs: LeaseAttrs, signal: AbortSignal): Promise<Lease> {
    signal.throwIfAborted();
    this.acquired.push(attrs);
    const ipv6Subnet = this.ownV6Subnet ? IP6Net.parse(this.ownV6Subnet) : null;
    return { subnet: IP4Net.parse(this.ownSubnet), ipv6Subnet, attrs, reservation: false, expiration: new Date(Date.now() + 86_400_000) };
  }

  /** Route-only backends never ask; answers like a store that knows no previous lease. */
  async previousLease(_attrs: { publicIP: number }, signal: AbortSignal): Promise<PreviousLease> {
    signal.throwIfAborted();
    return { attrs: null, reading: null };
  }

  async keepLease(_lease: Lease, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  /** Queues one batch for the watcher. */
  push(...events: LeaseEvent[]): void {
    this.queue.push(events);
    this.waiting = false;
    this.wake?.();
  }

  /** Resolves when every pushed batch has been handled and the watcher waits for more. */
  async drained(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(this.waiting && this.queue.length === 0)) {
      if (Date.now() > deadline) throw new Error('the watcher did not take the pushed batches');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async *watchLeases(ownSubnet: () => SubnetPair | null, signal: AbortSignal): AsyncIterable<LeaseEvent[]> {
    while (!signal.aborted) {
      const batch = this.queue.shift();
      if (batch) {
        const own = ownSubnet();
        yield batch.filter((e) => !own || !isSameLease(e.lease, own));
        continue;
      }
      this.waiting = true;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}
