// The running udp network: turns every other host's lease into a route of the packet loop
// (subnet -> public IP : Port) and takes it out again when the lease goes. The loop lives as long as
// `run`: when run ends, the loop stops and the TUN device (with its address and route) disappears,
// as the reference's does when its process exits.
import type { BackendSample, Network } from '../backend.js';
import type { Native } from '../../native/types.js';
import type { UdpCounters, UdpLoop } from '../../native/udp.js';
import { isAbort } from '../../common/abort.js';
import { formatIP4 } from '../../common/ip.js';
import { isSameLease, type Lease, type LeaseEvent } from '../../subnet-lease/lease.js';
import type { Logger } from '../../common/log.js';
import type { LeaseStore } from '../../subnet-lease/store.js';
import { readdressTun } from './device.js';
import { SerialQueue } from '../../common/serial.js';
import { logPeerChanges } from '../peer-log.js';

export interface UdpNetworkDeps {
  native: Native;
  store: LeaseStore;
  logger: Logger;
  loop: UdpLoop;
  ifindex: number;
  port: number;
  lease: Lease;
  mtu: number;
}

export class UdpNetwork implements Network {
  lease: Lease;
  readonly mtu: number;
  /** subnet -> public IP of every peer the loop routes to. */
  private readonly peers = new Map<string, string>();
  private readonly queue = new SerialQueue();
  private final: UdpCounters | null = null;

  constructor(private readonly d: UdpNetworkDeps) {
    this.lease = d.lease;
    this.mtu = d.mtu;
  }

  get device(): string {
    return this.d.loop.device;
  }

  get peerCount(): number {
    return this.peers.size;
  }

  counters(): UdpCounters {
    return this.final ?? this.d.loop.counters();
  }

  /** The loop's counters as Prometheus samples (flannel_udp_*). */
  samples(): BackendSample[] {
    return udpSamples(this.counters());
  }

  /**
   * Follows the leases until `signal` aborts, then stops the loop (the TUN device goes away) and
   * resolves. Rejects only when the lease watch fails; the loop is stopped then too. Calling it
   * again after it ended finds the loop stopped: it throws EBADF at the first lease.
   */
  async run(signal: AbortSignal): Promise<void> {
    try {
      for await (const batch of this.d.store.watchLeases(() => this.lease, signal)) this.handleBatch(batch);
    } catch (e) {
      if (!isAbort(e, signal)) throw e;
    } finally {
      await this.queue.idle();
      const c = this.d.loop.counters();
      const cpu = this.d.loop.cpuSeconds();
      this.final = c; // the loop's counters are gone with it
      this.d.loop.stop();
      this.d.logger.info(`udp loop stopped, ${this.d.loop.device} removed: ${c.txPackets} packets out, ${c.rxPackets} in, ${cpu.toFixed(2)} CPU s`, { counters: c });
    }
  }

  /** Our lease was re-acquired: move the TUN address and the ICMP source to the new subnet. */
  leaseChanged(lease: Lease): void {
    const old = this.lease;
    this.lease = lease;
    void this.queue
      .run(async () => {
        await readdressTun(this.d.native, this.d.ifindex, old.subnet, lease.subnet);
        this.d.loop.setLocalAddress(formatIP4(lease.subnet.ip));
        const mine = lease.subnet.toString();
        if (this.peers.delete(mine)) this.d.loop.deleteRoute(mine);
      })
      .catch((e: unknown) => {
        this.d.logger.error(`udp: could not move ${this.d.loop.device} to ${lease.subnet}: ${(e as Error).message}`, { error: e });
      });
  }

  /** Applies a batch: the last event per subnet wins. Routes change in the loop at once. */
  private handleBatch(events: readonly LeaseEvent[]): void {
    const latest = new Map<string, LeaseEvent>();
    for (const e of events) latest.set(e.lease.subnet.toString(), e);
    const added: string[] = [];
    const removed: string[] = [];
    for (const [subnet, ev] of latest) {
      if (isSameLease(ev.lease, this.lease)) continue;
      if (ev.type === 'removed') {
        if (this.peers.delete(subnet)) this.d.loop.deleteRoute(subnet);
        removed.push(subnet);
        continue;
      }
      const ip = ev.lease.attrs.publicIP;
      if (ip === 0) {
        this.d.logger.warn(`ignoring lease ${subnet}: it has no IPv4 PublicIP`);
        continue;
      }
      // The reference does not filter by BackendType either: any lease with a PublicIP is a peer.
      this.d.loop.setRoute(subnet, formatIP4(ip), this.d.port);
      this.peers.set(subnet, formatIP4(ip));
      added.push(`${subnet} at ${formatIP4(ip)}`);
    }
    logPeerChanges(this.d.logger, { added, removed, addedPeers: added.length, removedPeers: removed.length, total: this.peers.size });
  }
}

function udpSamples(c: UdpCounters): BackendSample[] {
  const sample = (name: string, help: string, value: number, labels?: Record<string, string>): BackendSample => ({ name, help, value, labels });
  const PKT = 'inner packets moved by the udp packet loop, by direction (tx: tun to peers, rx: peers to tun)';
  const BYTES = 'inner bytes moved by the udp packet loop, by direction';
  const DROPS = 'packets the udp packet loop dropped, by reason';
  const CALLS = 'system calls made by the udp packet loop (batching keeps them below the packet count)';
  return [
    sample('flannel_udp_packets_total', PKT, c.txPackets, { direction: 'tx' }),
    sample('flannel_udp_packets_total', PKT, c.rxPackets, { direction: 'rx' }),
    sample('flannel_udp_bytes_total', BYTES, c.txBytes, { direction: 'tx' }),
    sample('flannel_udp_bytes_total', BYTES, c.rxBytes, { direction: 'rx' }),
    ...Object.entries(c.drops).map(([reason, v]) => sample('flannel_udp_drops_total', DROPS, v, { reason })),
    sample('flannel_udp_icmp_unreachable_sent_total', 'ICMP net unreachable answers sent for destinations without a lease', c.icmpUnreachableSent),
    ...Object.entries(c.syscalls).map(([call, v]) => sample('flannel_udp_syscalls_total', CALLS, v, { call })),
  ];
}
