// Builds the lease store the flags ask for: etcd, or the Kubernetes API with --kube-subnet-mgr. Each
// store's client is imported only in its mode (the Kubernetes client is not needed in etcd mode, nor the etcd client in kube mode).
import { LocalManager } from '../subnet-lease/local-manager.js';
import type { Logger } from '../common/log.js';
import type { LeaseStore, Registry } from '../subnet-lease/store.js';
import type { Flags } from './flags.js';
import type { PreviousSubnets } from './subnet-env.js';

export interface StoreParts {
  store: LeaseStore;
  /** Closed by the daemon on exit. */
  registry: Pick<Registry, 'close'>;
  /** Kube mode: our node's node-public-ip/-ipv6 annotations ("" when unset), which replace --public-ip/-ipv6. */
  nodePublicIPs?: (signal: AbortSignal) => Promise<{ publicIP: string; publicIPv6: string }>;
}

/** Callbacks for flanneld's metrics; every one optional. */
export interface StoreHooks {
  onRenewed?: () => void;
  onWatchReconnected?: () => void;
  onWatchEndpoint?: (endpoint: string, previous: string | null) => void;
  onWatchInterrupted?: (why: string) => void;
}

/** `previous` is the previous run's subnet.env (null when there is none): etcd mode takes its subnet back. */
export async function createStore(
  flags: Flags,
  log: (component: string) => Logger,
  previous: Pick<PreviousSubnets, 'subnet' | 'ipv6Subnet'> | null,
  hooks: StoreHooks = {},
): Promise<StoreParts> {
  if (flags.kubeSubnetMgr) {
    const { createKubeStore } = await import('../subnet-lease/kube/index.js');
    const kube = await createKubeStore(flags, process.env, log('kube'));
    return { store: kube, registry: kube, nodePublicIPs: (signal) => kube.nodePublicIPs(signal) };
  }
  const logger = log('subnet');
  const { EtcdRegistry } = await import('../subnet-lease/etcd/registry.js');
  const registry = new EtcdRegistry({
    endpoints: [...flags.etcdEndpoints],
    prefix: flags.etcdPrefix,
    keyFile: flags.etcdKeyfile || undefined,
    certFile: flags.etcdCertfile || undefined,
    caFile: flags.etcdCafile || undefined,
    username: flags.etcdUsername || undefined,
    password: flags.etcdPassword || undefined,
    logger: log('etcd'),
    onWatchReconnected: hooks.onWatchReconnected,
    onWatchEndpoint: hooks.onWatchEndpoint,
    onWatchInterrupted: hooks.onWatchInterrupted,
  });
  const store = new LocalManager({
    registry,
    logger,
    previousSubnet: previous?.subnet ?? null,
    previousIPv6Subnet: previous?.ipv6Subnet ?? null,
    renewMarginMs: flags.subnetLeaseRenewMargin * 60_000,
    onRenewed: hooks.onRenewed,
    ...testOverrides(),
  });
  return { store, registry };
}

/**
 * Test-only knobs (a 24 h lease cannot be waited for in a test): FLANNELTS_TEST_LEASE_TTL (seconds) and
 * FLANNELTS_TEST_RENEW_MARGIN_MS. Not FLANNELD_* names, so they never collide with the flag environment.
 */
function testOverrides(): { ttlSeconds?: number; renewMarginMs?: number } {
  const ttl = Number(process.env.FLANNELTS_TEST_LEASE_TTL);
  const margin = Number(process.env.FLANNELTS_TEST_RENEW_MARGIN_MS);
  return {
    ...(ttl > 0 ? { ttlSeconds: ttl } : {}),
    ...(margin > 0 ? { renewMarginMs: margin } : {}),
  };
}
