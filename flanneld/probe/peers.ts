// The peer probes wired to flanneld: lease events (those the acceptance rule let through, as the backend
// sees them) become probe targets through the backend module's `probeTargets`; the prober's state becomes
// the flannel_peer_* metrics (one series per peer, gone with its lease) and the /status peers.
import { underlayProbeTargets, type BackendModule, type ProbeTargetOf } from '../../backends/module.js';
import { familyOfIP } from '../../common/ip.js';
import type { Logger } from '../../common/log.js';
import type { NetworkConfig } from '../../subnet-lease/config.js';
import { leaseKey, publicAddress, type Lease, type LeaseEvent } from '../../subnet-lease/lease.js';
import type { EchoResult } from '../../native/icmp.js';
import { PeerProber, type PeerStatus, type PeerTarget } from './prober.js';
import type { ProbeClock } from './pacing.js';

export interface PeerProbesOptions {
  module: BackendModule;
  config: NetworkConfig;
  intervalSeconds: number;
  echo: (address: string, size: number, timeoutMs: number) => Promise<EchoResult>;
  logger: Logger;
  clock?: ProbeClock;
  maxPerSecond?: number;
}

export class PeerProbes {
  readonly prober: PeerProber;
  /** The backend's probe address of a lease (made once for the config: this runs per lease event). */
  private readonly targetOf: ProbeTargetOf;
  /** FLANNEL_MTU, the largest packet a pod may send: the size of the path-MTU probe (known at start). */
  private mtu = 0;

  constructor(o: PeerProbesOptions) {
    const { module: mod, config } = o;
    this.targetOf = mod.probeTargets?.(config) ?? underlayProbeTargets(config);
    const advice = mod.mtuAdvice?.bind(mod);
    this.prober = new PeerProber({
      intervalSeconds: o.intervalSeconds,
      echo: o.echo,
      logger: o.logger,
      ...(o.clock && { clock: o.clock }),
      ...(o.maxPerSecond && { maxPerSecond: o.maxPerSecond }),
      ...(advice && { mtuAdvice: (works: number, target: PeerTarget) => advice(works, familyOfIP(target.address), config) }),
    });
  }

  /** Follows a batch of lease events (other hosts' leases only). */
  apply(events: readonly LeaseEvent[]): void {
    for (const e of events) {
      const key = leaseKey(e.lease);
      if (e.type === 'removed') {
        this.prober.delete(key);
        continue;
      }
      const target = this.target(e.lease, key);
      if (target) this.prober.set(target);
      else this.prober.delete(key);
    }
  }

  private target(lease: Lease, key: string): PeerTarget | null {
    const t = this.targetOf(lease);
    if (!t) return null;
    return {
      subnet: key,
      ipv6Subnet: lease.ipv6Subnet?.toString() ?? null,
      publicIP: publicAddress(lease) ?? '(none)',
      address: t.address,
      path: t.path,
      // A host-gw probe to the public IP may be as large as the pods' packets; an overlay probe too.
      mtu: this.mtu,
    };
  }

  /** Starts probing; `mtu` is FLANNEL_MTU, known once the backend registered the network. */
  start(mtu: number): void {
    this.mtu = mtu;
    this.prober.setMtu(mtu);
    this.prober.start();
  }

  stop(): void {
    this.prober.stop();
  }

  status(): PeerStatus[] {
    return this.prober.status();
  }

  /** The flannel_peer_* families in the Prometheus text format, one series per peer. */
  renderMetrics(): string[] {
    const peers = this.prober.status();
    const label = (p: PeerStatus): string => `{peer_subnet="${p.target.subnet}",public_ip="${p.target.publicIP}"}`;
    const lines = [
      '# HELP flannel_peer_reachable 1 when the peer answers its probes, 0 after 3 unanswered in a row (absent until known)',
      '# TYPE flannel_peer_reachable gauge',
      ...peers.filter((p) => p.reachable !== null).map((p) => `flannel_peer_reachable${label(p)} ${p.reachable ? 1 : 0}`),
      '# HELP flannel_peer_rtt_seconds round-trip time of the answered probes to each peer',
      '# TYPE flannel_peer_rtt_seconds summary',
      ...peers.flatMap((p) => [`flannel_peer_rtt_seconds_sum${label(p)} ${p.rttSum}`, `flannel_peer_rtt_seconds_count${label(p)} ${p.rttCount}`]),
      '# HELP flannel_peer_path_mtu_ok 1 when a probe of the full overlay MTU with Don\'t Fragment reaches the peer, 0 when only smaller ones do (absent until checked)',
      '# TYPE flannel_peer_path_mtu_ok gauge',
      ...peers.flatMap((p) => (p.mtu.state === 'ok' ? [`flannel_peer_path_mtu_ok${label(p)} 1`] : p.mtu.state === 'too-small' ? [`flannel_peer_path_mtu_ok${label(p)} 0`] : [])),
      '# HELP flannel_peer_probes_total peer probes sent, by result (reply, lost, error)',
      '# TYPE flannel_peer_probes_total counter',
      ...Object.entries(this.prober.sent).map(([result, n]) => `flannel_peer_probes_total{result="${result}"} ${n}`),
    ];
    return lines;
  }
}

