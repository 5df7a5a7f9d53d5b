// flanneld's start-up sequence and lifecycle (fact sheet §1 "Startup sequence"): lease store → health
// server → network config → external interface → backend (acquires the lease) → traffic rules →
// subnet.env → run until SIGTERM/SIGINT. One AbortSignal stops everything; the data plane, the lease,
// the rules and subnet.env stay.
import { access } from 'node:fs/promises';
import type { Network } from '../backends/backend.js';
import type { NetworkConfig } from '../subnet-lease/config.js';
import { isAbort } from '../common/abort.js';
import { OwnNodeDeletedError } from '../subnet-lease/kube/errors.js';
import { describeSubnets, hasIPv4, type Lease } from '../subnet-lease/lease.js';
import type { Logger } from '../common/log.js';
import type { LeaseStore } from '../subnet-lease/store.js';
import { openNative, type Native } from '../native/index.js';
import { backendModule } from './backends.js';
import { acceptingStore, type AcceptingStore } from './accepting.js';
import { rulesFor, type AcceptRules } from '../subnet-lease/acceptance.js';
import { previousSubnetProblem } from '../subnet-lease/allocate.js';
import { chooseExternalInterface, describeExternalInterface } from './ext-iface.js';
import type { ExternalInterface } from '../backends/backend.js';
import type { Flags } from './flags.js';
import { fetchNetworkConfig } from './network-config.js';
import { createStore, type StoreParts } from './store.js';
import { FatalError } from './errors.js';
import { readPreviousSubnets, subnetEnvOf, writeSubnetEnv, type PreviousSubnets } from './subnet-env.js';
import { HealthServer } from './health.js';
import { EventTracker, meteredNative, meteredStore } from './metered.js';
import { FlannelMetrics } from './metrics.js';
import { notifyReady } from './notify.js';
import { TrafficManager } from './traffic/manager.js';
import { BlackholeRoutes } from './blackhole.js';
import { PeerProbes } from './probe/peers.js';
import { peerDocument, summarize, type StatusDocument } from './probe/status.js';
import { IcmpEcho } from '../native/icmp.js';
import { formatIP4, formatIP6 } from '../common/ip.js';
import { readVersion } from './cli.js';
import { previousTargets, trafficTargets } from './traffic/targets.js';

export interface DaemonOptions {
  flags: Flags;
  log: (component: string) => Logger;
  signal: AbortSignal;
}

/** Runs until `signal` aborts (resolves) or something fatal happens (rejects). */
export async function runDaemon(opts: DaemonOptions): Promise<void> {
  const previous = await readPrevious(opts);
  const metrics = new FlannelMetrics();
  const tracker = new EventTracker(metrics);
  const storeStatus = new StoreStatus();
  const parts = await createStore(opts.flags, opts.log, previous, {
    onRenewed: () => metrics.leaseRenewals.inc(),
    onWatchReconnected: () => {
      metrics.storeReconnects.inc();
      storeStatus.recovered();
    },
    onWatchInterrupted: (why) => storeStatus.interrupted(why),
    onWatchEndpoint: (endpoint, prev) => {
      metrics.storeEndpoint.set(1, { endpoint });
      if (prev) {
        metrics.storeEndpoint.set(0, { endpoint: prev });
        metrics.storeEndpointMoves.inc();
      }
      storeStatus.recovered();
    },
  });
  const daemon = new Daemon(opts, parts, metrics, tracker, previous, storeStatus);
  try {
    await daemon.run();
  } catch (e) {
    // Kube mode, our Node was deleted: stop cleanly (exit 0) so that the DaemonSet starts us again.
    if (!isAbort(e, opts.signal) && !(e instanceof OwnNodeDeletedError)) throw e;
  } finally {
    await daemon.close();
  }
  opts.log('flanneld').info('Exiting cleanly...');
}

/** The previous run's subnet.env: the subnet to take back (etcd mode) and the rules to remove. */
async function readPrevious({ flags, log }: DaemonOptions): Promise<PreviousSubnets | null> {
  try {
    const previous = await readPreviousSubnets(flags.subnetFile);
    for (const w of previous.warnings) log('subnet').warn(w);
    return previous;
  } catch (e) {
    log('subnet').warn(`cannot read the previous ${flags.subnetFile}: ${(e as Error).message}`);
    return null;
  }
}

/** /readyz: the rules are in place and subnet.env is written (fact sheet §10). */
class Readiness {
  private rules = false;
  private subnetEnv = false;
  constructor(private readonly metrics: FlannelMetrics) {}
  get ready(): boolean {
    return this.rules && this.subnetEnv;
  }
  set(part: 'rules' | 'subnetEnv', value: boolean): void {
    this[part] = value;
    this.metrics.ready.set(this.ready ? 1 : 0);
  }
}

/**
 * Whether the lease watch is interrupted, and since when: /readyz adds a line saying so (it stays 200, and
 * /healthz too: a store outage is not a node failure while the kernel state is kept).
 */
class StoreStatus {
  private since: Date | null = null;
  private why = '';
  /** When the last batch of lease events arrived (ms), for /status. */
  lastEvent: number | null = null;
  get connected(): boolean {
    return this.since === null;
  }
  interrupted(why: string): void {
    this.since ??= new Date();
    this.why = why;
  }
  recovered(): void {
    this.since = null;
  }
  describe(): string | null {
    if (!this.since) return null;
    return `degraded: the lease watch has been reconnecting since ${this.since.toISOString()} (${this.why}); every kernel entry is kept`;
  }
}

class Daemon {
  private readonly logger: Logger;
  private readonly store: LeaseStore;
  /** The store behind the acceptance rule (issue 12); its rules come from the network config. */
  private readonly accepting: AcceptingStore;
  private rules: AcceptRules | null = null;
  private readonly readiness: Readiness;
  private readonly health: HealthServer | null;
  private native: Native | undefined;
  /** --ip-blackhole-route: the blackhole route of our subnet (null when the flag is off). */
  private blackhole: BlackholeRoutes | null = null;
  /** The peer probes (null with --peer-probe-interval=0, and until the network config is known). */
  private probes: PeerProbes | null = null;
  private echo: IcmpEcho | null = null;
  /** package.json's version, read on the first /status (not at start-up). */
  private version: string | null = null;
  /** What /status says about this host, filled in as start-up goes. */
  private readonly shown: { lease: Lease | null; backend: string | null; mtu: number | null } = { lease: null, backend: null, mtu: null };

  constructor(
    private readonly o: DaemonOptions,
    private readonly parts: StoreParts,
    private readonly metrics: FlannelMetrics,
    private readonly tracker: EventTracker,
    private readonly previous: PreviousSubnets | null,
    private readonly storeStatus: StoreStatus,
  ) {
    this.logger = o.log('flanneld');
    this.accepting = acceptingStore(parts.store, () => this.acceptRules(), metrics, o.log('accept'));
    this.store = meteredStore(this.accepting, metrics, tracker, (batch) => {
      storeStatus.lastEvent = Date.now();
      this.probes?.apply(batch);
    });
    this.readiness = new Readiness(metrics);
    const { healthzIP: host, healthzPort: port } = o.flags;
    this.health =
      port > 0
        ? new HealthServer({
            host,
            port,
            isReady: () => this.readiness.ready,
            degraded: () => storeStatus.describe(),
            metrics: metrics.registry,
            status: () => this.status(),
            logger: o.log('healthz'),
          })
        : null;
  }

  /** The /status document. */
  private status(): StatusDocument {
    const { lease, backend, mtu } = this.shown;
    const peers = (this.probes?.status() ?? []).map(peerDocument);
    return {
      version: (this.version ??= readVersion()),
      time: new Date().toISOString(),
      ready: this.readiness.ready,
      lease: lease && {
        subnet: hasIPv4(lease) ? lease.subnet.toString() : null,
        ipv6Subnet: lease.ipv6Subnet?.toString() ?? null,
        publicIP: lease.attrs.publicIP === 0 ? null : formatIP4(lease.attrs.publicIP),
        publicIPv6: lease.attrs.publicIPv6 === null ? null : formatIP6(lease.attrs.publicIPv6),
        expiration: lease.expiration?.toISOString() ?? null,
      },
      backend,
      mtu,
      store: {
        name: this.parts.store.name,
        connected: this.storeStatus.connected,
        degraded: this.storeStatus.describe(),
        lastEvent: this.storeStatus.lastEvent === null ? null : new Date(this.storeStatus.lastEvent).toISOString(),
        leasesKnown: this.metrics.leasesKnown.get(),
      },
      probes: { enabled: this.o.flags.peerProbeInterval > 0, intervalSeconds: this.o.flags.peerProbeInterval },
      peers,
      summary: summarize(peers),
    };
  }

  /** etcd mode takes back the previous run's subnet: say when it cannot, and why (as the reference does). */
  private warnUnusablePrevious(config: NetworkConfig): void {
    const prev = this.previous;
    const shown = config.enableIPv4 ? prev?.subnet : prev?.ipv6Subnet;
    if (!prev || !shown || this.o.flags.kubeSubnetMgr) return;
    const why = previousSubnetProblem(config, prev.subnet, prev.ipv6Subnet);
    if (why) this.logger.warn(`cannot reuse the previous subnet ${shown} from ${this.o.flags.subnetFile}: ${why}; leasing another one`);
  }

  private acceptRules(): AcceptRules {
    if (!this.rules) throw new Error('internal: lease watch started before the network config was read');
    return this.rules;
  }

  private nativeLayer = (): Native => (this.native ??= meteredNative(openNative(), this.tracker, this.metrics));

  async run(): Promise<void> {
    const { signal, log } = this.o;
    await this.health?.start();
    const config = await fetchNetworkConfig(this.store, signal, log('config'));
    if (config.backendDefaulted) {
      this.logger.warn('the network config has no "Backend": using vxlan, as Flannel documents (the reference code would use udp)');
    }
    const mod = backendModule(config.backendType);
    this.shown.backend = config.backendType;
    this.rules = rulesFor(config, !this.o.flags.kubeSubnetMgr, mod.leaseDataValidator(config));
    if (this.o.flags.peerProbeInterval > 0) {
      // Made before the backend starts its lease watch, so that the probes see the first listing too.
      this.echo = new IcmpEcho();
      const echo = this.echo;
      this.probes = new PeerProbes({
        module: mod,
        config,
        intervalSeconds: this.o.flags.peerProbeInterval,
        echo: (address, size, timeoutMs) => echo.echo(address, size, timeoutMs),
        logger: log('probe'),
      });
      const probes = this.probes;
      this.metrics.peers.renderFrom(() => probes.renderMetrics());
    }
    this.warnUnusablePrevious(config);
    if (!config.enableNFTables) await requireBrNetfilter(config);
    const extIface = await this.externalInterface(config);
    const backend = await mod.create({ store: this.store, extIface, logger: log(`backend-${config.backendType}`) }, { native: this.nativeLayer });
    const network = await backend.registerNetwork(config, signal);
    this.shown.lease = network.lease;
    this.shown.mtu = network.mtu;
    if (network.samples) this.metrics.backend.collectFrom(() => network.samples?.() ?? []);
    const traffic = await this.setUpTraffic(config, network.lease);
    if (this.o.flags.ipBlackholeRoute) {
      // Step 11: the blackhole route of our subnet, kept every --iptables-resync seconds.
      this.blackhole = new BlackholeRoutes({ native: this.nativeLayer, resyncSeconds: this.o.flags.iptablesResync, logger: log('blackhole') });
      await this.blackhole.setUp(ownSubnets(config, network.lease));
    }
    this.readiness.set('subnetEnv', await this.writeEnv(config, network, network.lease));
    this.logger.info(`running backend ${config.backendType}`);
    await this.runParts(config, network, traffic);
  }

  private async externalInterface(config: NetworkConfig): Promise<ExternalInterface> {
    const { flags } = this.o;
    // Kube mode: the node-public-ip(v6) annotations replace --public-ip(v6), and so choose the interface.
    const annotated = await this.parts.nodePublicIPs?.(this.o.signal);
    const extIface = await chooseExternalInterface(
      {
        iface: flags.iface,
        ifaceRegex: flags.ifaceRegex,
        ifaceCanReach: flags.ifaceCanReach,
        publicIP: annotated?.publicIP || flags.publicIP,
        publicIPv6: annotated?.publicIPv6 || flags.publicIPv6,
        ipv4: config.enableIPv4,
        ipv6: config.enableIPv6,
      },
      this.nativeLayer(),
    );
    this.logger.info(`using interface ${describeExternalInterface(extIface)}`);
    return extIface;
  }

  private async setUpTraffic(config: NetworkConfig, lease: Lease): Promise<TrafficManager> {
    const { flags, log } = this.o;
    const traffic = new TrafficManager({
      mode: config.enableNFTables ? 'nftables' : 'iptables',
      ipMasq: flags.ipMasq,
      forwardRules: flags.iptablesForwardRules,
      randomFullyDisable: flags.ipMasqFullyRandomDisable,
      resyncSeconds: flags.iptablesResync,
      logger: log('traffic'),
      metrics: { ruleCheck: (mode, family, result) => this.metrics.ruleChecks.inc({ mode, family: `ipv${family}`, result }) },
    });
    await traffic.cleanUpOtherMode();
    await traffic.setUp(trafficTargets(config, lease), previousTargets(this.previous));
    void traffic.whenInPlace().then(() => this.readiness.set('rules', true));
    return traffic;
  }

  /** The backend, the rule resync and the lease keeper, until the signal aborts or our Node is deleted. */
  private async runParts(config: NetworkConfig, network: Network, traffic: TrafficManager): Promise<void> {
    const nodeGone = new AbortController();
    const signal = AbortSignal.any([this.o.signal, nodeGone.signal]);
    const onChange = (lease: Lease): void => void this.leaseChanged(config, network, traffic, lease);
    const running = Promise.all([
      network.run(signal),
      traffic.run(signal),
      this.blackhole?.run(signal),
      this.store.keepLease(network.lease, signal, onChange).catch((e: unknown) => {
        if (!(e instanceof OwnNodeDeletedError)) throw e;
        nodeGone.abort(e);
      }),
    ]);
    await notifyReady(process.env, this.logger);
    this.probes?.start(network.mtu);
    try {
      await running;
    } finally {
      this.probes?.stop();
      this.echo?.close();
    }
  }

  private async leaseChanged(config: NetworkConfig, network: Network, traffic: TrafficManager, lease: Lease): Promise<void> {
    this.shown.lease = lease;
    network.leaseChanged?.(lease);
    await traffic.setUp(trafficTargets(config, lease));
    await this.blackhole?.setUp(ownSubnets(config, lease));
    // A later successful write makes the host ready even when the first one failed.
    this.readiness.set('subnetEnv', await this.writeEnv(config, network, lease));
  }

  /** Resolves true when subnet.env was written. */
  private async writeEnv(config: NetworkConfig, network: Network, lease: Lease): Promise<boolean> {
    const { subnetFile, ipMasq } = this.o.flags;
    try {
      await writeSubnetEnv(subnetFile, subnetEnvOf(config, lease, network.mtu, ipMasq));
      this.logger.info(`wrote ${subnetFile} (subnet ${describeSubnets(lease)}, MTU ${network.mtu})`);
      return true;
    } catch (e) {
      // The reference carries on (and stays not ready); pods on this host cannot start until it is fixed.
      this.logger.warn(`failed to write ${subnetFile}: ${(e as Error).message}`);
      return false;
    }
  }

  /** Stops the health server and releases the kernel sockets and the store; the data plane stays. */
  async close(): Promise<void> {
    await this.health?.stop();
    await this.native?.close();
    await this.parts.registry.close();
  }
}

/** Our lease's subnet of every family in use, as CIDR text. */
function ownSubnets(config: NetworkConfig, lease: Lease): string[] {
  return trafficTargets(config, lease).map((t) => t.podCidr);
}

/** IPv6-only checks the ip6tables switch alone, as the reference does. */
async function requireBrNetfilter(config: NetworkConfig): Promise<void> {
  const path = `/proc/sys/net/bridge/bridge-nf-call-${config.enableIPv4 ? 'iptables' : 'ip6tables'}`;
  try {
    await access(path);
  } catch {
    throw new FatalError(`${path} is missing: load the br_netfilter module (modprobe br_netfilter), or set EnableNFTables`);
  }
}
