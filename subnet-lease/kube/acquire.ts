// Acquiring our lease in kube mode (the reference's AcquireLease): wait for our node and its podCIDR,
// check the podCIDR against the network config, and patch our annotations onto nodes/<name>/status when
// any differs. The lease is the podCIDR; Kubernetes, not flannel, decides it.
import { abortReason, sleep } from '../../common/abort.js';
import type { NetworkConfig } from '../config.js';
import type { IP4Net, IP6Net } from '../../common/ip.js';
import { NO_IPV4, type Lease, type LeaseAttrs } from '../lease.js';
import type { Logger } from '../../common/log.js';
import { isRetryable } from '../store.js';
import type { KubeAnnotations } from './annotations.js';
import type { KubeApi } from './client.js';
import { KubeStoreError } from './errors.js';
import type { NodeCache } from './node-cache.js';
import { NodeParseError, nodeSubnets, parseNode, type NodeInfo, type NodeSubnets } from './node.js';
import { annotationPatch } from './patch.js';

export interface AcquireTiming {
  /** How long to wait for our node and its spec.podCIDR (30 s). */
  nodeWaitMs: number;
  /** Pause between attempts of a failed patch (3 s). */
  retryMs: number;
  /** Give up patching after this long (30 s). */
  patchTimeoutMs: number;
}

export interface AcquireDeps {
  api: KubeApi;
  cache: NodeCache;
  keys: KubeAnnotations;
  logger: Logger;
  timing: AcquireTiming;
}

const LEASE_TTL_MS = 24 * 60 * 60 * 1000;
const PODCIDR_HINT =
  'the node needs spec.podCIDR: run kube-controller-manager with --allocate-node-cidrs=true --cluster-cidr=<Network> ' +
  '(kubeadm init --pod-network-cidr=<Network>), or set it when registering the node';

export async function acquireNodeLease(deps: AcquireDeps, name: string, config: NetworkConfig, attrs: LeaseAttrs, signal: AbortSignal): Promise<Lease> {
  const node = await waitForPodCIDR(deps, name, signal);
  const subnets = checkedSubnets(node, config);
  // Kubernetes chose the subnet size (--node-cidr-mask-size), not SubnetLen: the backends follow it.
  if (subnets.v4) config.subnetLen = subnets.v4.prefixLen;
  if (subnets.v6) config.ipv6SubnetLen = subnets.v6.prefixLen;
  const patch = annotationPatch(node, attrs, deps.keys);
  if (patch) {
    await patchWithRetry(deps, name, patch, signal);
    deps.logger.info(`annotated node "${name}": ${Object.keys(patch.metadata.annotations).join(', ')}`);
  } else {
    deps.logger.info(`node "${name}" already carries our annotations; nothing to patch`);
  }
  return {
    subnet: subnets.v4 ?? NO_IPV4,
    ipv6Subnet: config.enableIPv6 ? subnets.v6 : null,
    attrs,
    reservation: false,
    expiration: new Date(Date.now() + LEASE_TTL_MS),
  };
}

/** Our node from the cache once it has a podCIDR; after `nodeWaitMs` the reference's errors. */
async function waitForPodCIDR(deps: AcquireDeps, name: string, signal: AbortSignal): Promise<NodeInfo> {
  const deadline = Date.now() + deps.timing.nodeWaitMs;
  let logged = false;
  for (;;) {
    const node = deps.cache.hasSynced ? deps.cache.get(name) : await getDirect(deps, name, signal);
    if (node?.podCIDR || (node && node.podCIDRs.length > 0)) return node;
    if (Date.now() >= deadline) {
      if (!node) throw new KubeStoreError(`node "${name}" not found in the Kubernetes API (is NODE_NAME or the pod's spec.nodeName right?)`);
      throw new KubeStoreError(`node "${name}" pod cidr not assigned: ${PODCIDR_HINT}`);
    }
    if (!logged) {
      deps.logger.info(`waiting up to ${deps.timing.nodeWaitMs / 1000}s for node "${name}" ${node ? 'to get spec.podCIDR' : 'to appear'}`);
      logged = true;
    }
    await wake(deps.cache, name, Math.min(deps.timing.retryMs, deadline - Date.now()), signal);
  }
}

/** Without a synced cache (CONT_WHEN_CACHE_NOT_READY), a direct GET as the reference's alloc mode does. */
async function getDirect(deps: AcquireDeps, name: string, signal: AbortSignal): Promise<NodeInfo | undefined> {
  try {
    return parseNode(await deps.api.getNode(name, signal));
  } catch (e) {
    if (signal.aborted) throw e;
    deps.logger.warn(`get node "${name}": ${(e as Error).message}`);
    return undefined;
  }
}

/** Sleeps `ms`, or less when our node changes in the cache. Rejects with the abort reason on abort. */
async function wake(cache: NodeCache, name: string, ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: () => void = () => undefined;
  let onAbort = (): void => undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(resolve, Math.max(ms, 0));
      unsubscribe = cache.subscribe((changes) => {
        if (changes.some((c) => c.node.name === name)) resolve();
      });
      onAbort = () => reject(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
    });
  } finally {
    clearTimeout(timer);
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}

/** The node's subnets of the families in use (v4 null in an IPv6-only network); KubeStoreError otherwise. */
function checkedSubnets(node: NodeInfo, config: NetworkConfig): { v4: IP4Net | null; v6: IP6Net | null } {
  let subnets: NodeSubnets;
  try {
    subnets = nodeSubnets(node);
  } catch (e) {
    if (e instanceof NodeParseError) throw new KubeStoreError(e.message);
    throw e;
  }
  if (config.enableIPv4) {
    const network = config.network!;
    if (!subnets.v4) throw new KubeStoreError(`node "${node.name}" has no IPv4 pod CIDR (spec.podCIDRs ${JSON.stringify(node.podCIDRs)}) but EnableIPv4 is set`);
    if (!(network.prefixLen <= subnets.v4.prefixLen && network.contains(subnets.v4.ip))) {
      throw new KubeStoreError(`subnet "${network}" specified in the flannel net config doesn't contain "${subnets.v4}" PodCIDR of the "${node.name}" node`);
    }
  }
  if (config.enableIPv6) {
    const net6 = config.ipv6Network!;
    if (!subnets.v6) {
      throw new KubeStoreError(`node "${node.name}": missing IPv6 address on n.Spec.PodCIDRs (spec.podCIDRs ${JSON.stringify(node.podCIDRs)}) but EnableIPv6 is set`);
    }
    if (!(net6.prefixLen <= subnets.v6.prefixLen && net6.contains(subnets.v6.ip))) {
      throw new KubeStoreError(`subnet "${net6}" specified in the flannel net config doesn't contain "${subnets.v6}" IPv6 PodCIDR of the "${node.name}" node`);
    }
  }
  return { v4: config.enableIPv4 ? subnets.v4 : null, v6: subnets.v6 };
}

/** Retried every `retryMs` for up to `patchTimeoutMs` while the failure is transient. */
async function patchWithRetry(deps: AcquireDeps, name: string, patch: object, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + deps.timing.patchTimeoutMs;
  for (;;) {
    try {
      await deps.api.patchNodeStatus(name, patch, signal);
      return;
    } catch (e) {
      if (signal.aborted || !isRetryable(e) || Date.now() >= deadline) throw e;
      deps.logger.warn(`patching node "${name}" failed: ${(e as Error).message}; retrying in ${deps.timing.retryMs} ms`);
      await sleep(deps.timing.retryMs, signal);
    }
  }
}
