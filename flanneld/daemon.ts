// flanneld's start-up sequence and lifecycle (fact sheet §1 "Startup sequence"): flags → lease store →
// network config → external interface → backend (acquires the lease) → subnet.env → run until
// SIGTERM/SIGINT. One AbortController stops everything; the data plane, the lease and subnet.env stay.
import { access } from 'node:fs/promises';
import type { Network } from '../backends/backend.js';
import type { NetworkConfig } from '../subnet-lease/config.js';
import { isAbort } from '../subnet-lease/abort.js';
import { OwnNodeDeletedError } from '../subnet-lease/kube/errors.js';
import type { Lease } from '../subnet-lease/lease.js';
import type { Logger } from '../subnet-lease/log.js';
import { openNative, type Native } from '../native/index.js';
import { backendFactory } from './backends.js';
import { chooseExternalInterface, describeExternalInterface } from './ext-iface.js';
import type { Flags } from './flags.js';
import { fetchNetworkConfig } from './network-config.js';
import { createStore } from './store.js';
import { FatalError } from './errors.js';
import { readPreviousSubnets, writeSubnetEnv } from './subnet-env.js';
import { HealthServer } from './health.js';
import { EventTracker, meteredNative, meteredStore } from './metered.js';
import { FlannelMetrics } from './metrics.js';
import { notifyReady } from './notify.js';
import { TrafficManager } from './traffic/manager.js';
import { previousTargets, trafficTargets } from './traffic/targets.js';


export interface DaemonOptions {
  flags: Flags;
  log: (component: string) => Logger;
  signal: AbortSignal;
}

/** Runs until `signal` aborts (resolves) or something fatal happens (rejects). */
export async function runDaemon({ flags, log, signal }: DaemonOptions): Promise<void> {
  const logger = log('flanneld');
  const metrics = new FlannelMetrics();
  const tracker = new EventTracker(metrics);
  // Read before anything rewrites it: the old network/subnet whose rules must go.
  const previous = await readPreviousSubnets(flags.subnetFile).catch(() => null);
  const parts = await createStore(flags, log, {
    onRenewed: () => metrics.leaseRenewals.inc(),
    onWatchReconnected: () => metrics.storeReconnects.inc(),
  });
  const { registry } = parts;
  const store = meteredStore(parts.store, metrics, tracker);
  // /readyz: rules in place and subnet.env written (fact sheet §10).
  const ready = { rules: false, subnetEnv: false };
  const isReady = (): boolean => ready.rules && ready.subnetEnv;
  const refreshReady = (): void => metrics.ready.set(isReady() ? 1 : 0);
  const health = flags.healthzPort > 0 ? new HealthServer({ host: flags.healthzIP, port: flags.healthzPort, isReady, metrics: metrics.registry, logger: log('healthz') }) : null;
  let native: Native | undefined;
  const nativeOf = (): Native => (native ??= meteredNative(openNative(), tracker, metrics));
  try {
    await health?.start();
    const config = await fetchNetworkConfig(store, signal, log('config'));
    if (config.backendDefaulted) {
      logger.warn('the network config has no "Backend": using vxlan, as Flannel documents (the reference code would use udp)');
    }
    const factory = backendFactory(config.backendType);
    if (!config.enableNFTables) await requireBrNetfilter();
    // Kube mode: the node-public-ip(v6) annotations replace --public-ip(v6), and so choose the interface.
    const annotated = await parts.nodePublicIPs?.(signal);
    const publicIP = annotated?.publicIP || flags.publicIP;
    const publicIPv6 = annotated?.publicIPv6 || flags.publicIPv6;
    const extIface = await chooseExternalInterface(
      { iface: flags.iface, ifaceRegex: flags.ifaceRegex, ifaceCanReach: flags.ifaceCanReach, publicIP, publicIPv6, ipv4: config.enableIPv4, ipv6: config.enableIPv6 },
      nativeOf(),
    );
    logger.info(`using interface ${describeExternalInterface(extIface)}`);
    const backend = factory({ store, extIface, logger: log(`backend-${config.backendType}`) }, { native: nativeOf });
    const network = await backend.registerNetwork(config, signal);
    if (network.samples) metrics.backend.collectFrom(() => network.samples?.() ?? []);
    const traffic = newTrafficManager(flags, config, log('traffic'), metrics);
    await traffic.cleanUpOtherMode();
    await traffic.setUp(trafficTargets(config, network.lease), previousTargets(previous));
    void traffic.whenInPlace().then(() => {
      ready.rules = true;
      refreshReady();
    });
    ready.subnetEnv = await writeEnv(flags, config, network, network.lease, logger);
    refreshReady();
    logger.info(`running backend ${config.backendType}`);
    const nodeGone = new AbortController();
    const runSignal = AbortSignal.any([signal, nodeGone.signal]);
    const running = Promise.all([
      network.run(runSignal),
      traffic.run(runSignal),
      store.keepLease(network.lease, runSignal, (lease) => void onLeaseChanged(flags, config, network, lease, logger, traffic)).catch((e: unknown) => {
        // Kube mode, our Node was deleted: stop cleanly (exit 0) so that the DaemonSet starts us again.
        if (!(e instanceof OwnNodeDeletedError)) throw e;
        nodeGone.abort(e);
      }),
    ]);
    await notifyReady(process.env, logger);
    await running;
  } catch (e) {
    if (!isAbort(e, signal) && !(e instanceof OwnNodeDeletedError)) throw e;
  } finally {
    await health?.stop();
    await native?.close();
    await registry.close();
  }
  logger.info('Exiting cleanly...');
}

async function onLeaseChanged(flags: Flags, config: NetworkConfig, network: Network, lease: Lease, logger: Logger, traffic: TrafficManager): Promise<void> {
  network.leaseChanged?.(lease);
  await traffic.setUp(trafficTargets(config, lease));
  await writeEnv(flags, config, network, lease, logger);
}

function newTrafficManager(flags: Flags, config: NetworkConfig, logger: Logger, metrics: FlannelMetrics): TrafficManager {
  return new TrafficManager({
    mode: config.enableNFTables ? 'nftables' : 'iptables',
    ipMasq: flags.ipMasq,
    forwardRules: flags.iptablesForwardRules,
    randomFullyDisable: flags.ipMasqFullyRandomDisable,
    resyncSeconds: flags.iptablesResync,
    logger,
    metrics: { ruleCheck: (mode, family, result) => metrics.ruleChecks.inc({ mode, family: `ipv${family}`, result }) },
  });
}

/** Resolves true when subnet.env was written. */
async function writeEnv(flags: Flags, config: NetworkConfig, network: Network, lease: Lease, logger: Logger): Promise<boolean> {
  try {
    await writeSubnetEnv(flags.subnetFile, {
      network: config.enableIPv4 ? config.network : null,
      subnet: config.enableIPv4 ? lease.subnet : null,
      ipv6Network: config.enableIPv6 ? config.ipv6Network : null,
      ipv6Subnet: config.enableIPv6 ? lease.ipv6Subnet : null,
      mtu: network.mtu,
      ipMasq: flags.ipMasq,
    });
    logger.info(`wrote ${flags.subnetFile} (subnet ${lease.subnet}, MTU ${network.mtu})`);
    return true;
  } catch (e) {
    // The reference carries on (and stays not ready); pods on this host cannot start until it is fixed.
    logger.warn(`failed to write ${flags.subnetFile}: ${(e as Error).message}`);
    return false;
  }
}

async function requireBrNetfilter(): Promise<void> {
  const path = '/proc/sys/net/bridge/bridge-nf-call-iptables';
  try {
    await access(path);
  } catch {
    throw new FatalError(`${path} is missing: load the br_netfilter module (modprobe br_netfilter), or set EnableNFTables`);
  }
}
