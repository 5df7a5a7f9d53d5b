// flanneld's start-up sequence and lifecycle (fact sheet §1 "Startup sequence"): flags → lease store →
// network config → external interface → backend (acquires the lease) → subnet.env → run until
// SIGTERM/SIGINT. One AbortController stops everything; the data plane, the lease and subnet.env stay.
import { access } from 'node:fs/promises';
import type { Network } from '../backends/backend.js';
import type { NetworkConfig } from '../subnet-lease/config.js';
import { isAbort } from '../subnet-lease/abort.js';
import type { Lease } from '../subnet-lease/lease.js';
import type { Logger } from '../subnet-lease/log.js';
import { openNative, type Native } from '../native/index.js';
import { backendFactory } from './backends.js';
import { chooseExternalInterface, describeExternalInterface } from './ext-iface.js';
import type { Flags } from './flags.js';
import { fetchNetworkConfig } from './network-config.js';
import { createStore } from './store.js';
import { FatalError } from './errors.js';
import { writeSubnetEnv } from './subnet-env.js';


export interface DaemonOptions {
  flags: Flags;
  log: (component: string) => Logger;
  signal: AbortSignal;
}

/** Runs until `signal` aborts (resolves) or something fatal happens (rejects). */
export async function runDaemon({ flags, log, signal }: DaemonOptions): Promise<void> {
  const logger = log('flanneld');
  const { store, registry } = await createStore(flags, log);
  let native: Native | undefined;
  try {
    const config = await fetchNetworkConfig(store, signal, log('config'));
    if (config.backendDefaulted) {
      logger.warn('the network config has no "Backend": using vxlan, as Flannel documents (the reference code would use udp)');
    }
    const factory = backendFactory(config.backendType);
    if (!config.enableNFTables) await requireBrNetfilter();
    const extIface = await chooseExternalInterface({ iface: flags.iface, publicIP: flags.publicIP });
    logger.info(`using interface ${describeExternalInterface(extIface)}`);
    const backend = factory({ store, extIface, logger: log(`backend-${config.backendType}`) }, { native: () => (native ??= openNative()) });
    const network = await backend.registerNetwork(config, signal);
    await writeEnv(flags, config, network, network.lease, logger);
    logger.info(`running backend ${config.backendType}`);
    await Promise.all([
      network.run(signal),
      store.keepLease(network.lease, signal, (lease) => void onLeaseChanged(flags, config, network, lease, logger)),
    ]);
  } catch (e) {
    if (!isAbort(e, signal)) throw e;
  } finally {
    await native?.close();
    await registry.close();
  }
  logger.info('Exiting cleanly...');
}

async function onLeaseChanged(flags: Flags, config: NetworkConfig, network: Network, lease: Lease, logger: Logger): Promise<void> {
  network.leaseChanged?.(lease);
  await writeEnv(flags, config, network, lease, logger);
}

async function writeEnv(flags: Flags, config: NetworkConfig, network: Network, lease: Lease, logger: Logger): Promise<void> {
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
  } catch (e) {
    // The reference carries on (and stays not ready); pods on this host cannot start until it is fixed.
    logger.warn(`failed to write ${flags.subnetFile}: ${(e as Error).message}`);
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
