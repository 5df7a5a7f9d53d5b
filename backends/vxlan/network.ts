// The running vxlan network: follows the other hosts' leases and keeps their entries in the kernel.
// Every kernel-changing task (a batch of lease events, a reconcile pass, a device recreation, a change
// of our own lease) runs one at a time through `serial`, so they never interleave.
import type { Network } from '../backend.js';
import type { Native } from '../../native/types.js';
import type { Lease, LeaseEvent } from '../../subnet-lease/lease.js';
import type { Logger } from '../../subnet-lease/log.js';
import type { LeaseStore } from '../../subnet-lease/store.js';
import type { VxlanConfig } from './config.js';
import { type Entry, KeyCount, deleteOp, describeEntry, replaceOp } from './entries.js';
import { type FamilyDevice, recreateDevice, reconfigureAddress } from './family-device.js';
import { type Peer, isDirectlyReachable, peerEntries, peerFamilies, peerKey } from './peers.js';
import { applyWithRetry, installGroups, removeEntries } from './programmer.js';
import { diffEntries, readKernel } from './reconcile.js';

export interface VxlanNetworkOptions {
  /** Period of the reconcile pass; at most 10 s by the issue. */
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

const VERBOSE_PEER_LOG_LIMIT = 20;

export class VxlanNetwork implements Network {
  lease: Lease;
  readonly mtu: number;
  private readonly peers = new Map<string, Peer>();
  private readonly wanted = new KeyCount();
  private queue: Promise<void> = Promise.resolve();
  private reconcilePending = false;
  private signal: AbortSignal = new AbortController().signal;

  constructor(private readonly d: VxlanNetworkDeps) {
    this.lease = d.lease;
    this.mtu = d.mtu;
  }

  /** Number of peers whose entries are wanted (for tests and diagnostics). */
  get peerCount(): number {
    return this.peers.size;
  }

  /** Resolves when every task queued so far (lease batches, reconcile, recreation) has finished. */
  whenIdle(): Promise<void> {
    return this.queue;
  }

  /**
   * Follows the leases until `signal` aborts, then waits for the task in progress and resolves,
   * leaving the kernel state in place. Rejects only when the lease watch itself fails.
   */
  async run(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    const stopWatch = this.d.native.watchLinks((e) => {
      if (e.type === 'overflow') this.scheduleReconcile();
      else if (e.type === 'deleted') this.onLinkDeleted(e.link.index, e.link.name);
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      for await (const batch of this.d.store.watchLeases(() => this.lease.subnet, signal)) {
        await this.serial(() => this.handleBatch(batch));
        timer ??= setInterval(() => this.scheduleReconcile(), this.d.options?.reconcileIntervalMs ?? 10_000);
      }
    } finally {
      clearInterval(timer);
      stopWatch();
      await this.queue;
    }
  }

  /** Our lease was re-acquired: move the device addresses to the new subnet. */
  leaseChanged(lease: Lease): void {
    this.lease = lease;
    void this.serial(async () => {
      for (const dev of this.d.devices) await reconfigureAddress(this.d.native, dev, lease, this.d.logger);
      const mine = this.peers.get(peerKey(lease));
      if (mine) await this.handleBatch([{ type: 'removed', lease: mine.lease }]);
    });
  }

  /** Runs `task` after every earlier one; a failing task is logged, never fatal. */
  private serial(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(task).catch((e: unknown) => {
      this.d.logger.error(`vxlan: ${(e as Error).message}`, { error: e });
    });
    this.queue = next;
    return next;
  }

  private scheduleReconcile(): void {
    if (this.reconcilePending || this.signal.aborted) return;
    this.reconcilePending = true;
    void this.serial(async () => {
      this.reconcilePending = false;
      await this.reconcile();
    });
  }

  private onLinkDeleted(index: number, name: string): void {
    const dev = this.d.devices.find((x) => x.link.index === index || x.spec.name === name);
    if (!dev || this.signal.aborted) return;
    this.d.logger.warn(`vxlan device ${name} was deleted; recreating it`);
    void this.serial(() => this.recreate(dev));
  }

  private entriesOf(peer: Peer): Entry[] {
    return peer.families.flatMap((pf) => {
      const dev = this.d.devices.find((x) => x.family === pf.family);
      return dev ? peerEntries(pf, dev.link.index) : [];
    });
  }

  private groupsOf(peer: Peer): Entry[][] {
    return peer.families.flatMap((pf) => {
      const dev = this.d.devices.find((x) => x.family === pf.family);
      return dev ? [peerEntries(pf, dev.link.index)] : [];
    });
  }

  /** A lease as a peer, or null (with a warning) when this backend cannot use it. */
  private async toPeer(lease: Lease): Promise<Peer | null> {
    const fams = peerFamilies(lease, this.d.devices.map((x) => x.family));
    if (typeof fams === 'string') {
      const v6 = lease.ipv6Subnet ? ` v6Subnet(${lease.ipv6Subnet})` : '';
      this.d.logger.warn(`ignoring non-usable lease v4Subnet(${lease.subnet})${v6}: ${fams}`);
      return null;
    }
    if (this.d.config.directRouting) {
      for (const pf of fams) pf.direct = await isDirectlyReachable(this.d.native, pf.publicIP);
    }
    return { key: peerKey(lease), lease, families: fams };
  }

  /** Applies a batch of lease events: the last event per subnet wins; deletions go before additions. */
  private async handleBatch(events: readonly LeaseEvent[]): Promise<void> {
    const latest = new Map<string, LeaseEvent>();
    for (const e of events) latest.set(peerKey(e.lease), e);
    const dropped: Entry[] = [];
    const added: Peer[] = [];
    const removed: Peer[] = [];
    for (const [key, ev] of latest) {
      if (key === peerKey(this.lease)) continue;
      const old = this.peers.get(key);
      const next = ev.type === 'added' ? await this.toPeer(ev.lease) : null;
      if (old) {
        this.wanted.remove(this.entriesOf(old));
        dropped.push(...this.entriesOf(old));
        this.peers.delete(key);
        if (!next) removed.push(old);
      }
      if (next) {
        this.peers.set(key, next);
        this.wanted.add(this.entriesOf(next));
        added.push(next);
      }
    }
    await this.removeUnwanted(dropped);
    const groups = added.flatMap((p) => this.groupsOf(p));
    const failures = await installGroups(this.d.native, groups);
    for (const f of failures) {
      this.d.logger.error(`vxlan: could not install ${describeEntry(f.entry, this.devName(f.entry))}: ${f.error.message}; undone, the reconcile pass retries it`);
    }
    this.logPeers(added, removed);
  }

  private async removeUnwanted(entries: readonly Entry[]): Promise<void> {
    const unwanted = entries.filter((e) => !this.wanted.has(e));
    for (const err of await removeEntries(this.d.native, unwanted)) {
      this.d.logger.warn(`vxlan: could not remove an entry: ${err.message}`);
    }
  }

  private devName(e: Entry): string {
    const idx = e.ifindex;
    return this.d.devices.find((x) => x.link.index === idx)?.spec.name ?? `#${idx}`;
  }

  private logPeers(added: readonly Peer[], removed: readonly Peer[]): void {
    const log = this.d.logger;
    const each = added.length + removed.length <= VERBOSE_PEER_LOG_LIMIT ? log.info.bind(log) : log.debug.bind(log);
    for (const p of added) {
      for (const pf of p.families) each(`peer added: ${pf.subnet} at ${pf.publicIP}${pf.direct ? ' (direct route)' : ` VTEP MAC ${pf.vtepMac}`}`);
    }
    for (const p of removed) each(`peer removed: ${p.key}`);
    if (added.length + removed.length > VERBOSE_PEER_LOG_LIMIT) log.info(`peers: ${added.length} added or updated, ${removed.length} removed; ${this.peers.size} in all`);
  }

  /** One reconcile pass over every family: device present, entries complete, nothing stale. */
  private async reconcile(): Promise<void> {
    for (const dev of this.d.devices) {
      const now = await this.d.native.linkGet(dev.spec.name);
      if (!now || now.index !== dev.link.index) {
        this.d.logger.warn(`vxlan device ${dev.spec.name} is ${now ? 'a different link now' : 'missing'}; recreating it`);
        await this.recreate(dev);
        continue;
      }
      const wanted = [...this.peers.values()].flatMap((p) => this.entriesOf(p)).filter((e) => this.familyOfEntry(e) === dev.family);
      const diff = diffEntries(wanted, await readKernel(this.d.native, dev.link.index, dev.family), dev.scope(this.lease, this.d.config.directRouting));
      if (diff.missing.length === 0 && diff.stale.length === 0) continue;
      const ops = [...diff.stale.reverse().map(deleteOp), ...diff.missing.map(replaceOp)];
      const errors = (await applyWithRetry(this.d.native, ops)).filter((e) => e !== null);
      this.d.logger.info(`reconcile ${dev.spec.name}: restored ${diff.missing.length} entries, removed ${diff.stale.length} stale ones`, {
        restored: diff.missing.slice(0, 10).map((e) => describeEntry(e, dev.spec.name)),
        removed: diff.stale.slice(0, 10).map((e) => describeEntry(e, dev.spec.name)),
        errors: errors.slice(0, 5).map((e) => e!.message),
      });
    }
  }

  private familyOfEntry(e: Entry): 4 | 6 {
    const ip = e.kind === 'fdb' ? e.dst : e.kind === 'neigh' ? e.ip : e.dst;
    return ip.includes(':') ? 6 : 4;
  }

  /** Recreates a deleted device (backing off on failure) and replays every peer onto it. */
  private async recreate(dev: FamilyDevice): Promise<void> {
    const ok = await recreateDevice(this.d.native, dev, this.lease, this.d.logger, this.signal, this.d.options?.recreateBackoffMs);
    if (!ok) return;
    // The new link has a new ifindex: recount the wanted entries and replay them all.
    this.wanted.clear();
    for (const p of this.peers.values()) this.wanted.add(this.entriesOf(p));
    const groups = [...this.peers.values()].flatMap((p) => this.groupsOf(p)).filter((g) => g.some((e) => this.familyOfEntry(e) === dev.family));
    const failures = await installGroups(this.d.native, groups);
    this.d.logger.info(`recreated ${dev.spec.name} and replayed ${groups.length - failures.length} of ${groups.length} peers onto it`);
  }
}
