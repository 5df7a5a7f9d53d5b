// A small in-memory LeaseStore for backend tests: one instance can be shared by several backends (one
// per simulated host), hands out /24s of 10.244.0.0/16 in order, and lets the test add and remove
// other hosts' leases. watchLeases yields the snapshot first, then one batch per change.
import type { NetworkConfig } from '../../subnet-lease/config.js';
import { IP4Net, IP6Net, parseIP4 } from '../../common/ip.js';
import { type Lease, type LeaseAttrs, type LeaseEvent, type SubnetPair, decodeLeaseAttrs, encodeLeaseAttrs, isSameLease } from '../../subnet-lease/lease.js';
import type { LeaseStore, PreviousLease } from '../../subnet-lease/store.js';

type Sink = (events: LeaseEvent[]) => void;

export class MemoryLeaseStore implements LeaseStore {
  readonly name = 'memory';
  readonly leases = new Map<string, Lease>();
  /** Lease values as JSON text, exactly as a registry would store them. */
  readonly values = new Map<string, string>();
  private readonly sinks = new Set<Sink>();
  private next = 1;
  /** What `previousLease` answers (our lease of a "previous run"); null: none. */
  previous: LeaseAttrs | null = null;
  /** The public IPs `previousLease` was asked for, in order. */
  readonly previousAsked: number[] = [];

  constructor(private readonly config: NetworkConfig) {}

  async previousLease(attrs: { publicIP: number }, signal: AbortSignal): Promise<PreviousLease> {
    signal.throwIfAborted();
    this.previousAsked.push(attrs.publicIP);
    return { attrs: this.previous, reading: null };
  }

  async getNetworkConfig(): Promise<NetworkConfig> {
    return this.config;
  }

  async acquireLease(attrs: LeaseAttrs, signal: AbortSignal): Promise<Lease> {
    signal.throwIfAborted();
    const net = this.config.network!;
    const n = this.next++;
    const subnet = new IP4Net(net.ip + n * 256, 24);
    const v6 = this.config.enableIPv6 ? this.config.ipv6Network : null;
    const ipv6Subnet = v6 ? new IP6Net(v6.ip + (BigInt(n) << 64n), 64) : null;
    return this.put({ subnet, ipv6Subnet, attrs, reservation: false });
  }

  async keepLease(_lease: Lease, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  /** Stores a lease (as its JSON round trip, like a registry) and tells every watcher. */
  put(lease: Lease): Lease {
    const text = encodeLeaseAttrs(lease.attrs);
    const stored: Lease = { ...lease, attrs: decodeLeaseAttrs(text) };
    this.values.set(lease.subnet.toString(), text);
    this.leases.set(lease.subnet.toString(), stored);
    this.emit([{ type: 'added', lease: stored }]);
    return stored;
  }

  /** Adds another host's lease from reference-format JSON, e.g. written by hand. */
  putJSON(subnet: string, json: string): Lease {
    return this.put({ subnet: IP4Net.parse(subnet), ipv6Subnet: null, attrs: decodeLeaseAttrs(json), reservation: false });
  }

  remove(subnet: string): void {
    const lease = this.leases.get(subnet);
    if (!lease) return;
    this.leases.delete(subnet);
    this.values.delete(subnet);
    this.emit([{ type: 'removed', lease }]);
  }

  /** Delivers several changes as one batch. */
  emit(events: LeaseEvent[]): void {
    for (const s of this.sinks) s(events);
  }

  async *watchLeases(ownSubnet: () => SubnetPair | null, signal: AbortSignal): AsyncIterable<LeaseEvent[]> {
    const queue: LeaseEvent[][] = [];
    let wake: (() => void) | null = null;
    const sink: Sink = (events) => {
      queue.push(events);
      wake?.();
    };
    const onAbort = (): void => wake?.();
    this.sinks.add(sink);
    signal.addEventListener('abort', onAbort);
    try {
      queue.unshift([...this.leases.values()].map((lease) => ({ type: 'added' as const, lease })));
      while (!signal.aborted) {
        const batch = queue.shift();
        if (!batch) {
          await new Promise<void>((r) => (wake = r));
          wake = null;
          continue;
        }
        const own = ownSubnet();
        const mine = batch.filter((e) => !own || !isSameLease(e.lease, own));
        if (mine.length > 0 || batch.length === 0) yield mine;
      }
    } finally {
      this.sinks.delete(sink);
      signal.removeEventListener('abort', onAbort);
    }
  }
}

export function vxlanNetworkConfig(backend: Record<string, unknown> = { Type: 'vxlan' }): NetworkConfig {
  return {
    enableIPv4: true,
    enableIPv6: false,
    enableNFTables: false,
    network: IP4Net.parse('10.244.0.0/16'),
    subnetLen: 24,
    subnetMin: parseIP4('10.244.1.0'),
    subnetMax: parseIP4('10.244.255.0'),
    ipv6Network: null,
    ipv6SubnetLen: 0,
    ipv6SubnetMin: 0n,
    ipv6SubnetMax: 0n,
    backendType: 'vxlan',
    backendDefaulted: false,
    backend,
  };
}

/** The same config with IPv6 on: IPv6Network fd00:10:244::/48, /64 per host. */
export function dualStackConfig(backend: Record<string, unknown> = { Type: 'vxlan' }): NetworkConfig {
  return { ...vxlanNetworkConfig(backend), enableIPv6: true, ipv6Network: IP6Net.parse('fd00:10:244::/48'), ipv6SubnetLen: 64 };
}

/** A lease of another host as the reference would write it. */
export function remoteLease(subnet: string, publicIP: string, mac: string, vni = 1): Lease {
  return {
    subnet: IP4Net.parse(subnet),
    ipv6Subnet: null,
    attrs: { publicIP: parseIP4(publicIP), publicIPv6: null, backendType: 'vxlan', backendData: { VNI: vni, VtepMAC: mac } },
    reservation: false,
  };
}
