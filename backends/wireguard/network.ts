// The running wireguard network: keeps every other host's lease, and after each lease batch, each lost
// device and each periodic check (every 10 s) brings the devices in line with them through one pass,
// `sync`: device, address, link, route (device.ts), then the peers — the device's real peer list is
// read and compared with the wanted one (peers.ts), so a peer removed or changed by hand is put back
// and one no lease wants goes. Peers are removed only once the first lease snapshot is in: a restarted
// flanneld finds the previous run's device with its peers and leaves them alone until it knows better.
import type { Network } from '../backend.js';
import { isAbort, repeatEvery } from '../../common/abort.js';
import type { Logger } from '../../common/log.js';
import { SerialQueue } from '../../common/serial.js';
import type { Native } from '../../native/types.js';
import type { WgLostEvent, WgPeerConfig, WgPeerState, WireGuard } from '../../native/wg-types.js';
import { describeLease, isSameLease, leaseKey, type Lease, type LeaseEvent } from '../../subnet-lease/lease.js';
import type { LeaseStore } from '../../subnet-lease/store.js';
import { logPeerChanges } from '../peer-log.js';
import { ensureDevice, type DeviceSpec } from './device.js';
import { wantedPeers, type PeerContext, type WantedPeer } from './peers.js';

export const CHECK_INTERVAL_MS = 10_000;

export interface WireguardNetworkDeps {
  native: Native;
  wg: WireGuard;
  store: LeaseStore;
  logger: Logger;
  lease: Lease;
  mtu: number;
  peers: PeerContext;
  /** The devices for a lease of ours (its subnets become the devices' addresses). */
  specsFor: (lease: Lease) => DeviceSpec[];
  checkIntervalMs?: number;
}

type SyncReason = 'leases' | 'check' | 'lost' | 'start';

export class WireguardNetwork implements Network {
  lease: Lease;
  readonly mtu: number;
  private readonly leases = new Map<string, Lease>();
  private readonly queue = new SerialQueue();
  private snapshotSeen = false;

  constructor(private readonly d: WireguardNetworkDeps) {
    this.lease = d.lease;
    this.mtu = d.mtu;
  }

  /** Sets up the devices before the first lease arrives; rejects with the failing step's error. */
  prepare(): Promise<void> {
    return this.queue.run(() => this.sync('start'));
  }

  /**
   * Follows the leases, repairs lost devices at once and checks everything every 10 s, until `signal`
   * aborts; then resolves and leaves the devices, their peers and wireguard-go running (a restart does
   * not cut traffic). Rejects only when the lease watch fails for good.
   */
  async run(signal: AbortSignal): Promise<void> {
    const unwatch = this.d.wg.watchDevices((e) => this.lost(e));
    try {
      await Promise.all([this.follow(signal), repeatEvery(this.d.checkIntervalMs ?? CHECK_INTERVAL_MS, signal, () => this.enqueue('check'))]);
    } catch (e) {
      if (!isAbort(e, signal)) throw e;
    } finally {
      unwatch();
      await this.queue.idle();
      this.d.wg.close();
    }
  }

  /** Our lease was re-acquired: the devices' addresses follow it at the next pass, which starts now. */
  leaseChanged(lease: Lease): void {
    this.lease = lease;
    void this.enqueue('leases');
  }

  private async follow(signal: AbortSignal): Promise<void> {
    this.d.logger.info('watching for wireguard leases of other hosts');
    for await (const batch of this.d.store.watchLeases(() => this.lease, signal)) {
      this.apply(batch);
      this.snapshotSeen = true;
      await this.enqueue('leases');
    }
  }

  private lost(e: WgLostEvent): void {
    this.d.logger.warn(`WireGuard device ${e.name} lost: ${e.why}; recreating it and replaying its peers`);
    void this.enqueue('lost');
  }

  /** Runs a pass after the ones queued; a failing pass is logged, and the next check tries again. */
  private enqueue(reason: SyncReason): Promise<void> {
    return this.queue.run(() => this.sync(reason)).catch((e: unknown) => {
      this.d.logger.error(`wireguard: ${reason} pass failed (the check every ${(this.d.checkIntervalMs ?? CHECK_INTERVAL_MS) / 1000} s retries): ${(e as Error).message}`, { error: e });
    });
  }

  private apply(batch: readonly LeaseEvent[]): void {
    for (const ev of batch) {
      const key = leaseKey(ev.lease);
      if (ev.type === 'removed') this.leases.delete(key);
      else if ((ev.lease.attrs.backendType ?? '') !== 'wireguard') {
        this.leases.delete(key);
        this.d.logger.warn(`ignoring non-wireguard subnet ${describeLease(ev.lease)}: type=${ev.lease.attrs.backendType || '(none)'}`);
      } else this.leases.set(key, ev.lease);
    }
  }

  private remotes(): Lease[] {
    return [...this.leases.values()].filter((l) => !isSameLease(l, this.lease));
  }

  private async sync(reason: SyncReason): Promise<void> {
    const wanted = wantedPeers(this.d.peers, this.remotes());
    for (const spec of this.d.specsFor(this.lease)) {
      const dev = await ensureDevice(this.d.native, this.d.wg, spec, this.d.logger);
      if (dev.created && reason !== 'start') this.d.logger.info(`${spec.name} recreated (${this.d.wg.kind}); replaying its configuration`);
      for (const f of dev.fixed) this.d.logger.warn(`check: ${f} was missing or wrong; put back`);
      await this.syncPeers(spec.name, dev.state.peers, wanted.get(spec.name) ?? new Map(), reason);
    }
  }

  private async syncPeers(name: string, have: readonly WgPeerState[], want: Map<string, WantedPeer>, reason: SyncReason): Promise<void> {
    const byKey = new Map(have.map((p) => [p.publicKey, p]));
    const set = [...want.values()].filter((w) => !samePeer(byKey.get(w.peer.publicKey), w.peer));
    const remove = this.snapshotSeen ? have.filter((p) => !want.has(p.publicKey)) : [];
    if (set.length === 0 && remove.length === 0) return;
    await this.d.wg.configure(name, { setPeers: set.map((w) => w.peer), removePeers: remove.map((p) => p.publicKey) });
    if (reason === 'check') this.d.logger.warn(`check: ${set.length} peer(s) of ${name} were missing or differed, ${remove.length} unwanted; put right`);
    logPeerChanges(this.d.logger, {
      added: set.map((w) => `${w.describe} on ${name}`),
      removed: remove.map((p) => `${p.allowedIPs.join(', ') || '(no allowed IPs)'} key ${p.publicKey} on ${name}`),
      addedPeers: set.length,
      removedPeers: remove.length,
      total: want.size,
    });
  }
}

function samePeer(have: WgPeerState | undefined, want: WgPeerConfig): boolean {
  if (!have) return false;
  const a = [...have.allowedIPs].sort().join(',');
  const b = [...want.allowedIPs].sort().join(',');
  return a === b && have.endpoint === want.endpoint && have.presharedKey === want.presharedKey && have.persistentKeepalive === want.persistentKeepalive;
}
