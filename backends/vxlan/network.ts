// The running vxlan network: follows the other hosts' leases and keeps their entries in the kernel.
// Every kernel-changing task (a batch of lease events, a repair, a full pass, a device recreation, a
// change of our own lease) runs one at a time through `serial`, so they never interleave; lease
// batches that arrive while a full pass is queued or running are applied at its next pause instead, or
// at once while the pass waits for (and decodes) a kernel dump, which only reads.
//
// Repair follows the kernel's notifications (Native.watchEntries): when someone deletes or changes an
// entry a lease wants, that peer's group is applied again. The full pass (full-pass.ts) is the rare
// safety net: every few minutes, after a notification overflow, and for entries nobody wants.
import type { Network } from '../backend.js';
import type { EntryEvent, LinkEvent } from '../../native/types.js';
import { leaseKey, type Lease, type LeaseEvent } from '../../subnet-lease/lease.js';
import { type Entry, describeEntry, entryFamily } from './entries.js';
import { type FamilyDevice, recreateDevice, reconfigureAddress } from './family-device.js';
import { planPass } from './full-pass.js';
import { PeerGroups } from './groups.js';
import type { Group } from './owners.js';
import type { Peer } from './peers.js';
import { logIgnored, logPeers, peerGroups, toPeers } from './peer-batch.js';
import { installGroups, removeEntries } from './programmer.js';
import { damagedKey } from './repair.js';
import type { VxlanNetworkDeps } from './network-deps.js';
import { SerialQueue } from '../../common/serial.js';

export type { VxlanNetworkDeps, VxlanNetworkOptions } from './network-deps.js';

const DEFAULT_FULL_PASS_MS = 5 * 60_000;
const RETRY_FAILED_MS = 10_000;

export class VxlanNetwork implements Network {
  lease: Lease;
  readonly mtu: number;
  private readonly peers = new Map<string, Peer>();
  private readonly groups = new PeerGroups();
  private readonly queue = new SerialQueue();
  private passPending = false;
  private readonly urgent: Array<() => Promise<void>> = [];
  private draining: Promise<void> | null = null;
  /** The full pass is waiting for a dump: lease batches run at once instead of at its next pause. */
  private passReading = false;
  private readonly damaged = new Set<string>();
  private repairPending = false;
  /** Last failure logged per group, so a failure that persists is named once. */
  private readonly failed = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private signal: AbortSignal = new AbortController().signal;

  constructor(private readonly d: VxlanNetworkDeps) {
    this.lease = d.lease;
    this.mtu = d.mtu;
  }

  /** Number of peers whose entries are wanted (for tests and diagnostics). */
  get peerCount(): number {
    return this.peers.size;
  }

  /** Resolves when every task queued so far (lease batches, repairs, passes, recreation) has finished. */
  whenIdle(): Promise<void> {
    return this.queue.idle();
  }

  /**
   * Follows the leases until `signal` aborts, then waits for the task in progress and resolves,
   * leaving the kernel state in place. Rejects only when the lease watch itself fails.
   */
  async run(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    const stopLinks = this.d.native.watchLinks((e) => this.onLinkEvent(e));
    const stopEntries = this.d.native.watchEntries((e) => this.onEntryEvent(e));
    try {
      for await (const batch of this.d.store.watchLeases(() => this.lease, signal)) {
        await this.enqueueBatch(batch);
        if (this.timers.size === 0) this.armFullPass();
      }
    } finally {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      stopEntries();
      stopLinks();
      await this.queue.idle();
    }
  }

  /** Our lease was re-acquired: move the device addresses to the new subnet. */
  leaseChanged(lease: Lease): void {
    this.lease = lease;
    void this.serial(async () => {
      for (const dev of this.d.devices) await reconfigureAddress(this.d.native, dev, lease, this.d.logger);
      const mine = this.peers.get(leaseKey(lease));
      if (mine) await this.handleBatch([{ type: 'removed', lease: mine.lease }]);
    });
  }

  /** Runs `task` after every earlier one; a failing task is logged, never fatal. */
  private serial(task: () => Promise<void>): Promise<void> {
    return this.queue.run(task).catch((e: unknown) => this.logTaskError(e));
  }

  private logTaskError(e: unknown): void {
    this.d.logger.error(`vxlan: ${(e as Error).message}`, { error: e });
  }

  private enqueueBatch(batch: readonly LeaseEvent[]): Promise<void> {
    if (!this.passPending) return this.serial(() => this.handleBatch(batch));
    return new Promise((resolve) => {
      this.urgent.push(() => this.handleBatch(batch).catch((e: unknown) => this.logTaskError(e)).finally(resolve));
      // While the pass waits for a dump (and decodes 5000 entries of it), the batch need not wait.
      if (this.passReading) void this.drainUrgent();
    });
  }

  /** Applies the waiting lease batches in order, one at a time; a second call joins the drain in progress. */
  private drainUrgent(): Promise<void> {
    if (this.draining) return this.draining;
    const run = async (): Promise<void> => {
      await null; // `draining` is set before the loop can end
      while (this.urgent.length > 0) await this.urgent.shift()!();
      this.draining = null;
    };
    return (this.draining = run());
  }

  /** A kernel read of the full pass, during which waiting lease batches are applied as they come. */
  private async whileReading<T>(read: () => Promise<T>): Promise<T> {
    this.passReading = true;
    void this.drainUrgent();
    try {
      return await read();
    } finally {
      this.passReading = false;
      await this.drainUrgent();
    }
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** The next full pass after the mean period ±20 %, so hosts started together do not pass together. */
  private armFullPass(): void {
    const mean = this.d.options?.reconcileIntervalMs ?? DEFAULT_FULL_PASS_MS;
    this.later(mean * (0.8 + 0.4 * Math.random()), () => {
      this.scheduleFullPass();
      if (!this.signal.aborted) this.armFullPass();
    });
  }

  private scheduleFullPass(): void {
    if (this.passPending || this.signal.aborted) return;
    this.passPending = true;
    void this.serial(async () => {
      try {
        await this.drainUrgent();
        await this.fullPass();
      } finally {
        await this.drainUrgent();
        this.passPending = false;
      }
    });
  }

  private onLinkEvent(e: LinkEvent): void {
    if (e.type === 'overflow') this.scheduleFullPass();
    else if (e.type === 'deleted') this.onLinkDeleted(e.link.index, e.link.name);
  }

  private onLinkDeleted(index: number, name: string): void {
    const dev = this.d.devices.find((x) => x.link.index === index || x.spec.name === name);
    if (!dev || this.signal.aborted) return;
    this.d.logger.warn(`vxlan device ${name} was deleted; recreating it`);
    void this.serial(() => this.recreate(dev));
  }

  private onEntryEvent(e: EntryEvent): void {
    if (e.type === 'overflow') return this.scheduleFullPass();
    const key = damagedKey(e, this.groups.owners, this.d.devices.map((x) => x.link.index));
    if (key === null) return;
    this.damaged.add(key);
    this.scheduleRepair();
  }

  private scheduleRepair(): void {
    if (this.repairPending || this.signal.aborted) return;
    this.repairPending = true;
    void this.serial(async () => {
      this.repairPending = false;
      const keys = [...this.damaged];
      this.damaged.clear();
      const groups = this.groups.byEntryKeys(keys);
      if (groups.length === 0) return;
      const failures = await this.install(groups);
      const shown = groups.slice(0, 5).map((g) => g.key).join(', ');
      this.d.logger.info(`vxlan: repaired ${groups.length - failures} of ${groups.length} peers changed by someone else (${shown})`);
    });
  }

  /** Installs groups all or none each; names each failure once; retries failed groups later. */
  private async install(groups: readonly Group[]): Promise<number> {
    const failures = await installGroups(this.d.native, groups.map((g) => g.entries), (e) => this.groups.shared(e));
    const failedKeys = new Set<string>();
    for (const f of failures) {
      const g = groups[f.group]!;
      failedKeys.add(g.key);
      const what = `${describeEntry(f.entry, this.devName(f.entry))}: ${f.error.message}`;
      if (this.failed.get(g.key) === what) continue;
      this.failed.set(g.key, what);
      this.d.logger.error(`vxlan: could not install ${what}; none of peer ${g.key}'s entries are in place, retrying every ${RETRY_FAILED_MS / 1000} s`);
    }
    for (const g of groups) if (!failedKeys.has(g.key)) this.failed.delete(g.key);
    if (failedKeys.size > 0) this.later(RETRY_FAILED_MS, () => this.retry(failedKeys));
    return failures.length;
  }

  private retry(keys: ReadonlySet<string>): void {
    const groups = [...keys].map((k) => this.groups.get(k)).filter((g): g is Group => g !== undefined);
    if (groups.length > 0 && !this.signal.aborted) void this.serial(async () => void (await this.install(groups)));
  }

  /** A peer family's group on our device of that family. */
  private groupsOf(p: Peer): Group[] {
    return peerGroups(p, this.d.devices.map((x) => ({ family: x.family, ifindex: x.link.index })));
  }

  /** Applies a batch of lease events: the last event per subnet wins; deletions go before additions. */
  private async handleBatch(events: readonly LeaseEvent[]): Promise<void> {
    const latest = new Map<string, LeaseEvent>();
    for (const e of events) latest.set(leaseKey(e.lease), e);
    latest.delete(leaseKey(this.lease));
    const adds = [...latest.values()].filter((e) => e.type === 'added').map((e) => e.lease);
    const next = await toPeers(this.d.native, adds, this.d.devices.map((x) => x.family), this.d.config.directRouting);
    logIgnored(this.d.logger, next.ignored);
    const orphans: Entry[] = [];
    const install: Group[] = [];
    const added: Peer[] = [];
    const removed: Peer[] = [];
    for (const key of latest.keys()) {
      const old = this.peers.get(key);
      const peer = next.peers.get(key) ?? null;
      if (old) {
        this.peers.delete(key);
        for (const g of this.groupsOf(old)) orphans.push(...this.groups.remove(g.key));
        if (!peer) removed.push(old);
      }
      if (peer) {
        this.peers.set(key, peer);
        install.push(...this.claim(peer));
        added.push(peer);
      }
    }
    install.push(...this.groups.unblock());
    await this.removeUnwanted(orphans);
    await this.install(install);
    logPeers(this.d.logger, added, removed, this.peers.size);
  }

  /** Wants the peer's groups; a group that would overwrite an older lease's entry is held back. */
  private claim(p: Peer): Group[] {
    return this.groupsOf(p).filter((g) => {
      const c = this.groups.add(g);
      if (!c) return true;
      this.d.logger.warn(`vxlan: not installing peer ${g.key}: its entries would overwrite ${describeEntry(c.entry, this.devName(c.entry))} of peer ${c.owner}; held back until that lease goes away`);
      return false;
    });
  }

  private async removeUnwanted(entries: readonly Entry[]): Promise<void> {
    const unwanted = entries.filter((e) => this.groups.unwanted(e));
    for (const err of await removeEntries(this.d.native, unwanted)) {
      this.d.logger.warn(`vxlan: could not remove an entry: ${err.message}`);
    }
  }

  private devName(e: Entry): string {
    const idx = e.ifindex;
    return this.d.devices.find((x) => x.link.index === idx)?.spec.name ?? `#${idx}`;
  }

  /** One full pass over every family: device present, entries complete, nothing stale. */
  private async fullPass(): Promise<void> {
    for (const dev of this.d.devices) {
      const now = await this.d.native.linkGet(dev.spec.name);
      if (!now || now.index !== dev.link.index) {
        this.d.logger.warn(`vxlan device ${dev.spec.name} is ${now ? 'a different link now' : 'missing'}; recreating it`);
        await this.recreate(dev);
        continue;
      }
      const scope = dev.scope(this.lease, this.d.config.directRouting);
      const plan = await planPass({ native: this.d.native, groups: this.groups, scope, pause: () => this.pause(), reading: (read) => this.whileReading(read) });
      const stale = plan.stale.filter((e) => this.groups.unwanted(e));
      const groups = this.groups.byEntryKeys(plan.damaged);
      if (stale.length === 0 && groups.length === 0) continue;
      const errors = await removeEntries(this.d.native, stale);
      const failures = await this.install(groups);
      this.d.logger.info(`reconcile ${dev.spec.name}: restored ${plan.damaged.length} entries, removed ${stale.length} stale ones`, {
        peers: groups.length - failures,
        removed: stale.slice(0, 10).map((e) => describeEntry(e, dev.spec.name)),
        errors: errors.slice(0, 5).map((e) => e.message),
      });
    }
  }

  private async pause(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    await this.drainUrgent();
  }

  /** Recreates a deleted device (backing off on failure) and replays every peer onto it. */
  private async recreate(dev: FamilyDevice): Promise<void> {
    const ok = await recreateDevice(this.d.native, dev, this.lease, this.d.logger, this.signal, this.d.options?.recreateBackoffMs);
    if (!ok) return;
    // The new link has a new ifindex: the groups are rebuilt in lease order, the older lease first.
    this.groups.clear();
    const all = [...this.peers.values()].flatMap((p) => this.claim(p));
    const groups = all.filter((g) => g.entries.some((e) => entryFamily(e) === dev.family));
    const failures = await this.install(groups);
    this.d.logger.info(`recreated ${dev.spec.name} and replayed ${groups.length - failures} of ${groups.length} peers onto it`);
  }
}
