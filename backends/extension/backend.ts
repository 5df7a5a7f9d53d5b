// The extension backend (the reference's `extension`, more-facts §2): flanneld leases the subnet and runs
// the operator's commands; the commands do whatever the data path needs (routes, tunnels). flanneld
// itself creates no device, route or rule.
//
// Design note: per remote host, one run of SubnetAddCommand when its lease appears or changes and one of
// SubnetRemoveCommand when it goes, with SUBNET and PUBLIC_IP in the environment and the lease's
// BackendData (a string) on stdin. PreStartupCommand's output becomes our BackendData; PostStartupCommand
// runs after the lease is acquired with NETWORK, SUBNET, IPV6SUBNET, PUBLIC_IP, PUBLIC_IPV6. Commands run
// through /bin/sh as the reference documents (its newer versions exec the words directly, which breaks
// the documented examples). Better than the reference: a failing add/remove command is logged with its
// exit code and output and retried with backoff (the reference logs it once and moves on), commands for
// one subnet never overlap, a hung command is killed after 60 s, and a start-up command's failure stops
// start-up with a message naming the key.
import type { Backend, BackendContext, Network } from '../backend.js';
import type { NetworkConfig } from '../../subnet-lease/config.js';
import type { Lease, LeaseEvent } from '../../subnet-lease/lease.js';
import { formatIP4, formatIP6 } from '../../common/ip.js';
import { isAbort } from '../../common/abort.js';
import { Backoff } from '../../common/backoff.js';
import { SerialQueue } from '../../common/serial.js';
import { logPeerChanges } from '../peer-log.js';
import { parseExtensionConfig, type ExtensionConfig } from './config.js';
import { type CommandResult, describeFailure, runCommand } from './command.js';

export const BACKEND_TYPE = 'extension';

export class ExtensionCommandError extends Error {
  override readonly name = 'ExtensionCommandError';
}

export interface ExtensionOptions {
  /** Delay before the first retry of a failed add/remove command, doubling up to `retryMaxMs`. */
  retryMs?: number;
  retryMaxMs?: number;
  timeoutMs?: number;
}

export function createExtensionBackend(ctx: BackendContext, options: ExtensionOptions = {}): Backend {
  return {
    async registerNetwork(config: NetworkConfig, signal: AbortSignal): Promise<Network> {
      const cfg = parseExtensionConfig(config.backend);
      const ext = ctx.extIface;
      let backendData: string | undefined;
      if (cfg.preStartup) {
        const r = await runCommand(cfg.preStartup, {}, '', options.timeoutMs);
        if (!ok(r)) throw new ExtensionCommandError(`extension backend: PreStartupCommand failed (${describeFailure(r, options.timeoutMs)}): ${cfg.preStartup}`);
        backendData = r.output;
        ctx.logger.info(`PreStartupCommand output, our BackendData: ${JSON.stringify(r.output)}`);
      }
      signal.throwIfAborted();
      // As the reference: PublicIP is the interface address, and the lease is IPv4 only.
      const lease = await ctx.store.acquireLease({ publicIP: ext.ifaceAddr, publicIPv6: null, backendType: BACKEND_TYPE, ...(backendData ? { backendData } : {}) }, signal);
      if (cfg.postStartup) {
        const vars = {
          NETWORK: config.network?.toString() ?? '0.0.0.0/0',
          SUBNET: lease.subnet.toString(),
          IPV6SUBNET: lease.ipv6Subnet?.toString() ?? '::/0',
          PUBLIC_IP: formatIP4(lease.attrs.publicIP),
          PUBLIC_IPV6: lease.attrs.publicIPv6 === null ? '<nil>' : formatIP6(lease.attrs.publicIPv6),
        };
        const r = await runCommand(cfg.postStartup, vars, '', options.timeoutMs);
        if (!ok(r)) throw new ExtensionCommandError(`extension backend: PostStartupCommand failed (${describeFailure(r, options.timeoutMs)}): ${cfg.postStartup}`);
      }
      return new ExtensionNetwork(ctx, cfg, lease, options);
    },
  };
}

const ok = (r: CommandResult): boolean => r.code === 0 && !r.timedOut;

/** The latest wish for one remote subnet; `gen` tells a retry whether it is still the latest. */
interface Wish {
  event: LeaseEvent;
  gen: number;
}

export class ExtensionNetwork implements Network {
  readonly mtu: number;
  private readonly queue = new SerialQueue();
  private readonly wishes = new Map<string, Wish>();
  private readonly backoffs = new Map<string, Backoff>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private gen = 0;
  private signal: AbortSignal | null = null;
  /** Remote subnets whose SubnetAddCommand succeeded last (for the peer count). */
  readonly added = new Set<string>();

  constructor(
    private readonly ctx: BackendContext,
    private readonly cfg: ExtensionConfig,
    public lease: Lease,
    private readonly options: ExtensionOptions,
  ) {
    this.mtu = ctx.extIface.mtu;
  }

  async run(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    try {
      for await (const batch of this.ctx.store.watchLeases(() => this.lease.subnet, signal)) this.handleBatch(batch);
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
      if (event.type === 'added' && event.lease.attrs.backendType !== BACKEND_TYPE) {
        this.ctx.logger.warn(`ignoring non-extension subnet ${key}: backend type ${event.lease.attrs.backendType || '(none)'}`);
        continue;
      }
      const wish = { event, gen: ++this.gen };
      this.wishes.set(key, wish);
      (event.type === 'added' ? added : removed).push(event.type === 'added' ? `${key} at ${formatIP4(event.lease.attrs.publicIP)}` : key);
      void this.queue.run(() => this.apply(key, wish));
    }
    logPeerChanges(this.ctx.logger, { added, removed, addedPeers: added.length, removedPeers: removed.length, total: this.added.size + added.length - removed.length });
  }

  /** Runs the command for `wish` unless a newer wish replaced it; on failure, logs and schedules a retry. */
  private async apply(key: string, wish: Wish): Promise<void> {
    if (this.wishes.get(key) !== wish || this.signal?.aborted) return;
    const { event } = wish;
    const cmd = event.type === 'added' ? this.cfg.subnetAdd : this.cfg.subnetRemove;
    const name = event.type === 'added' ? 'SubnetAddCommand' : 'SubnetRemoveCommand';
    if (!cmd) return this.done(key, event);
    const data = event.lease.attrs.backendData;
    const vars = { SUBNET: key, PUBLIC_IP: formatIP4(event.lease.attrs.publicIP) };
    const r = await runCommand(cmd, vars, typeof data === 'string' ? data : '', this.options.timeoutMs);
    if (ok(r)) return this.done(key, event);
    let backoff = this.backoffs.get(key);
    if (!backoff) this.backoffs.set(key, (backoff = new Backoff(this.options.retryMs ?? 1000, this.options.retryMaxMs ?? 60_000)));
    const delay = backoff.next();
    this.ctx.logger.error(`extension: ${name} for ${key} failed (${describeFailure(r, this.options.timeoutMs)}); retrying in ${delay} ms`, { command: cmd });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.queue.run(() => this.apply(key, wish));
    }, delay);
    this.timers.add(timer);
  }

  private done(key: string, event: LeaseEvent): void {
    this.backoffs.delete(key);
    if (this.wishes.get(key)?.event === event) this.wishes.delete(key);
    if (event.type === 'added') this.added.add(key);
    else this.added.delete(key);
  }
}
