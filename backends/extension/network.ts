// The extension backend's running half: other hosts' leases in, SubnetAddCommand / SubnetRemoveCommand
// out. Each lease event becomes the latest wish for its subnet; one serial queue runs the commands, one
// at a time in event order as the reference does (a start-up with many leases runs them one after the
// other, not hundreds of shells at once), so the commands for one subnet never overlap. A failed command
// is logged and queued again after a backoff, unless a newer event for that subnet replaced it.
import type { BackendContext, Network } from '../backend.js';
import type { Lease, LeaseEvent } from '../../subnet-lease/lease.js';
import { formatIP4, formatIP6 } from '../../common/ip.js';
import { isAbort } from '../../common/abort.js';
import { Backoff } from '../../common/backoff.js';
import { SerialQueue } from '../../common/serial.js';
import { logPeerChanges } from '../peer-log.js';
import type { ExtensionConfig } from './config.js';
import { commandSucceeded, describeFailure, escapeOutput, runCommand } from './command.js';

const TYPE = 'extension';

export interface ExtensionOptions {
  /** Delay before the first retry of a failed command, doubling up to `retryMaxMs`. */
  retryMs?: number;
  retryMaxMs?: number;
  /** A command still running after this long is killed (default 60 s). */
  timeoutMs?: number;
}

/** The latest wish for one remote subnet; a retry runs only while its wish is still the latest. */
interface Wish {
  event: LeaseEvent;
  failures: number;
}

export class ExtensionNetwork implements Network {
  readonly mtu: number;
  private readonly queue = new SerialQueue();
  private readonly wishes = new Map<string, Wish>();
  private readonly backoffs = new Map<string, Backoff>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private signal: AbortSignal | null = null;
  /** Remote subnets whose last event was "added" (the peer count). */
  private readonly live = new Set<string>();
  /** Remote subnets whose SubnetAddCommand succeeded last. */
  readonly added = new Set<string>();

  constructor(
    private readonly ctx: BackendContext,
    private readonly cfg: ExtensionConfig,
    public lease: Lease,
    private readonly options: ExtensionOptions,
  ) {
    this.mtu = ctx.extIface.mtu;
  }

  /**
   * Follows the other hosts' leases until `signal` aborts; then kills a running command, drops pending
   * retries and resolves. What the commands made stays in place, as flanneld leaves the data path on exit.
   */
  async run(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    try {
      for await (const batch of this.ctx.store.watchLeases(() => this.lease, signal)) this.handleBatch(batch);
    } catch (e) {
      if (!isAbort(e, signal)) throw e;
    } finally {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      await this.queue.idle();
    }
  }

  leaseChanged(lease: Lease): void {
    this.lease = lease;
  }

  private handleBatch(events: readonly LeaseEvent[]): void {
    const added: string[] = [];
    const removed: string[] = [];
    for (const event of events) {
      const key = event.lease.subnet.toString();
      // As the reference, for removals too: a lease of another type never had its add command run.
      if (event.lease.attrs.backendType !== TYPE) {
        this.ctx.logger.warn(`ignoring non-extension subnet ${key}: backend type ${event.lease.attrs.backendType || '(none)'}`);
        continue;
      }
      if (event.type === 'added') {
        added.push(`${key} at ${formatIP4(event.lease.attrs.publicIP)}`);
        this.live.add(key);
      } else {
        removed.push(key);
        this.live.delete(key);
      }
      const wish: Wish = { event, failures: 0 };
      this.wishes.set(key, wish);
      this.backoffs.delete(key);
      void this.queue.run(() => this.apply(key, wish));
    }
    logPeerChanges(this.ctx.logger, { added, removed, addedPeers: added.length, removedPeers: removed.length, total: this.live.size });
  }

  /** Runs the command for `wish` unless a newer wish replaced it; on failure, logs and schedules a retry. */
  private async apply(key: string, wish: Wish): Promise<void> {
    const signal = this.signal;
    if (this.wishes.get(key) !== wish || !signal || signal.aborted) return;
    const { event } = wish;
    const name = event.type === 'added' ? 'SubnetAddCommand' : 'SubnetRemoveCommand';
    const cmd = event.type === 'added' ? this.cfg.subnetAdd : this.cfg.subnetRemove;
    if (!cmd) return this.done(key, wish, name);
    const data = event.lease.attrs.backendData;
    const r = await runCommand(cmd, peerVars(event.lease), typeof data === 'string' ? data : '', { timeoutMs: this.options.timeoutMs, signal });
    if (signal.aborted) return;
    if (commandSucceeded(r)) {
      if (r.output) this.ctx.logger.debug(`extension: ${name} for ${key}: ${escapeOutput(r.output)}`);
      return this.done(key, wish, name);
    }
    this.retryLater(key, wish, `${name} for ${key} failed (${describeFailure(r, this.options.timeoutMs)})`, cmd);
  }

  private retryLater(key: string, wish: Wish, failure: string, cmd: string): void {
    wish.failures++;
    let backoff = this.backoffs.get(key);
    if (!backoff) this.backoffs.set(key, (backoff = new Backoff(this.options.retryMs ?? 1000, this.options.retryMaxMs ?? 60_000)));
    const delay = backoff.next();
    this.ctx.logger.error(`extension: ${failure}; retrying in ${delay} ms`, { command: cmd });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.queue.run(() => this.apply(key, wish));
    }, delay);
    this.timers.add(timer);
  }

  private done(key: string, wish: Wish, name: string): void {
    if (wish.failures > 0) this.ctx.logger.info(`extension: ${name} for ${key} succeeded after ${wish.failures} failed attempt(s)`);
    this.backoffs.delete(key);
    if (this.wishes.get(key) === wish) this.wishes.delete(key);
    if (wish.event.type === 'added') this.added.add(key);
    else this.added.delete(key);
  }
}

/**
 * The variables of SubnetAddCommand and SubnetRemoveCommand for another host's lease: SUBNET and PUBLIC_IP
 * as the reference passes them, and IPV6SUBNET and PUBLIC_IPV6, which its documentation promises (its code
 * does not pass them), formatted as for PostStartupCommand.
 */
export function peerVars(lease: Lease): Record<string, string> {
  return {
    SUBNET: lease.subnet.toString(),
    PUBLIC_IP: formatIP4(lease.attrs.publicIP),
    IPV6SUBNET: lease.ipv6Subnet?.toString() ?? '::/0',
    PUBLIC_IPV6: lease.attrs.publicIPv6 === null ? '<nil>' : formatIP6(lease.attrs.publicIPv6),
  };
}
