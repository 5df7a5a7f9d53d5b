// The Kubernetes lease store (fact sheet §6): our subnet is our Node's spec.podCIDR, advertised to the
// others through annotations on that Node; everyone else's lease comes from their Nodes. Deliberately
// better than the reference: net-conf.json is validated like in etcd mode, an update of one address
// family is applied, and the deletion of our own Node stops the daemon instead of going unnoticed.
import { readFile } from 'node:fs/promises';
import { abortReason, sleep } from '../../common/abort.js';
import { checkNetworkConfig, parseNetworkConfig, type NetworkConfig } from '../config.js';
import { IPParseError, parseIP4, parseIP6 } from '../../common/ip.js';
import { describeLease, type Lease, type LeaseAttrs, type LeaseEvent, type SubnetPair } from '../lease.js';
import type { Logger } from '../../common/log.js';
import { isRetryable, type LeaseStore, type PreviousLease } from '../store.js';
import type { KubeAnnotations } from './annotations.js';
import type { KubeApi } from './client.js';
import { KubeApiError, KubeStoreError, OwnNodeDeletedError } from './errors.js';
import { NodeCache } from './node-cache.js';
import { parseNode, type NodeInfo } from './node.js';
import { watchNodeLeases } from './lease-view.js';
import { acquireNodeLease, type AcquireTiming } from './acquire.js';
import { networkAvailablePatch } from './patch.js';

/** Where our node's name comes from: NODE_NAME, or the pod flanneld runs in (POD_NAME/POD_NAMESPACE). */
export type NodeIdentity = { nodeName: string } | { podName: string; podNamespace: string };

export interface KubeStoreOptions {
  api: KubeApi;
  logger: Logger;
  keys: KubeAnnotations;
  identity: NodeIdentity;
  /** --net-config-path. */
  netConfigPath: string;
  /** --set-node-network-unavailable. */
  setNodeNetworkUnavailable: boolean;
  /** EVENT_QUEUE_DEPTH (default 5000). */
  eventQueueDepth?: number;
  /** CONT_WHEN_CACHE_NOT_READY=true: carry on when the first node list takes longer than `syncTimeoutMs`. */
  contWhenCacheNotReady?: boolean;
  /** Default 10 min, as the reference's informer sync wait. */
  syncTimeoutMs?: number;
  timing?: Partial<AcquireTiming>;
  watchTimeoutSeconds?: () => number;
}

export const DEFAULT_TIMING: AcquireTiming = { nodeWaitMs: 30_000, retryMs: 3000, patchTimeoutMs: 30_000 };

export class KubeSubnetManager implements LeaseStore {
  readonly name = 'kube';
  private config: NetworkConfig | null = null;
  private nodeName: string | null = null;
  private readonly cache: NodeCache;
  private readonly stopper = new AbortController();
  private cacheRun: Promise<void> | null = null;
  private readonly timing: AcquireTiming;

  constructor(private readonly opts: KubeStoreOptions) {
    this.cache = new NodeCache({ api: opts.api, logger: opts.logger, watchTimeoutSeconds: opts.watchTimeoutSeconds });
    this.timing = { ...DEFAULT_TIMING, ...opts.timing };
    if ('nodeName' in opts.identity) this.nodeName = opts.identity.nodeName;
  }

  /**
   * Reads --net-config-path and validates it like etcd mode does (IPv6-only included). ConfigError for an
   * invalid config; KubeStoreError (not retried) when the file cannot be read.
   */
  async getNetworkConfig(_signal: AbortSignal): Promise<NetworkConfig> {
    let text: string;
    try {
      text = await readFile(this.opts.netConfigPath, 'utf8');
    } catch (e) {
      throw new KubeStoreError(`failed to read net conf ${this.opts.netConfigPath}: ${(e as Error).message}`);
    }
    const cfg = checkNetworkConfig(parseNetworkConfig(text));
    this.config = cfg;
    return cfg;
  }

  /**
   * Our node's `node-public-ip` / `node-public-ipv6` annotations ("" when unset), which replace
   * --public-ip/--public-ipv6 at start-up. A failed read is logged and gives "" (as the reference);
   * a value that is not an address is a KubeStoreError.
   */
  async nodePublicIPs(signal: AbortSignal): Promise<{ publicIP: string; publicIPv6: string }> {
    const name = await this.ourNodeName(signal);
    let raw: unknown;
    try {
      raw = await this.opts.api.getNode(name, signal);
    } catch (e) {
      if (signal.aborted) throw e;
      this.opts.logger.error(`failed to get node "${name}" for its public IP annotations: ${(e as Error).message}`);
      return { publicIP: '', publicIPv6: '' };
    }
    const ann = ((raw as { metadata?: { annotations?: Record<string, unknown> } }).metadata?.annotations ?? {}) as Record<string, unknown>;
    const pick = (key: string, parse: (s: string) => unknown): string => {
      const v = ann[key];
      if (typeof v !== 'string' || v === '') return '';
      try {
        parse(v);
      } catch (e) {
        if (e instanceof IPParseError) throw new KubeStoreError(`node "${name}": annotation ${key}=${JSON.stringify(v)} is not an address: ${e.message}`);
        throw e;
      }
      this.opts.logger.info(`using ${v} from node annotation ${key} as the public IP`);
      return v;
    };
    return { publicIP: pick(this.opts.keys.nodePublicIP, parseIP4), publicIPv6: pick(this.opts.keys.nodePublicIPv6, parseIP6) };
  }

  /**
   * What our node's annotations say from the previous run: backend-type, public-ip(v6), backend-data and
   * backend-v6-data (each only when present and valid; `publicIP` is not needed), from one GET of the
   * node. Null attrs when the node cannot be read or carries none of them (logged at debug/warn, never
   * fatal); rejects with the abort reason on abort. Acquisition reads the node list, not this GET, so
   * nothing is handed on (`reading` null).
   */
  async previousLease(_attrs: { publicIP: number; publicIPv6?: bigint | null }, signal: AbortSignal): Promise<PreviousLease> {
    const name = await this.ourNodeName(signal);
    try {
      const raw = await this.opts.api.getNode(name, signal);
      return { attrs: previousAttrs(parseNode(raw), this.opts.keys, this.opts.logger), reading: null };
    } catch (e) {
      if (signal.aborted) throw abortReason(signal);
      this.opts.logger.warn(`could not read the previous backend data of node "${name}": ${(e as Error).message}`);
      return { attrs: null, reading: null };
    }
  }

  /**
   * Waits for our node (and its spec.podCIDR, up to 30 s), checks the podCIDR lies in Network, patches
   * our annotations on nodes/<name>/status when any differs, and returns the lease. Calling it twice
   * gives the same subnet and patches nothing the second time. Rejects with the abort reason on abort.
   */
  async acquireLease(attrs: LeaseAttrs, signal: AbortSignal): Promise<Lease> {
    const config = this.config ?? (await this.getNetworkConfig(signal));
    const name = await this.ourNodeName(signal);
    this.startCache();
    await this.waitForSync(signal);
    const lease = await acquireNodeLease({ api: this.opts.api, cache: this.cache, keys: this.opts.keys, logger: this.opts.logger, timing: this.timing }, name, config, attrs, signal);
    this.opts.logger.info(`acquired lease ${describeLease(lease)} from node "${name}"`);
    return lease;
  }

  /**
   * Sets NetworkUnavailable=False on our node (with --set-node-network-unavailable), then watches for
   * the deletion of our node until `signal` aborts (resolves). Rejects with OwnNodeDeletedError when our
   * node is deleted, so the daemon can stop and be restarted. There is no renewal in kube mode.
   */
  async keepLease(_lease: Lease, signal: AbortSignal, _onChange: (lease: Lease) => void): Promise<void> {
    const name = await this.ourNodeName(signal);
    this.startCache();
    const deleted = this.ownNodeDeletion(name, signal);
    if (this.opts.setNodeNetworkUnavailable) await this.markNetworkAvailable(name, signal);
    await deleted;
  }

  /**
   * Every other Node's lease. It reads the network config and finds our node name itself when no step
   * before it did, so it may be called at any point (before or after acquireLease).
   */
  async *watchLeases(ownSubnet: () => SubnetPair | null, signal: AbortSignal): AsyncIterable<LeaseEvent[]> {
    const config = this.config ?? (await this.getNetworkConfig(signal));
    const name = await this.ourNodeName(signal);
    this.startCache();
    await this.waitForSync(signal); // the first batch is the full set, as the interface promises
    yield* watchNodeLeases(
      { cache: this.cache, keys: this.opts.keys, families: config, ownNode: name, logger: this.opts.logger, queueDepth: this.opts.eventQueueDepth ?? 5000 },
      ownSubnet,
      signal,
    );
  }

  /** Stops the node watch. Safe to call twice. */
  async close(): Promise<void> {
    this.stopper.abort();
    await this.cacheRun;
  }

  private startCache(): void {
    this.cacheRun ??= this.cache.run(this.stopper.signal);
  }

  private async waitForSync(signal: AbortSignal): Promise<void> {
    if (this.cache.hasSynced) return;
    const limit = this.opts.syncTimeoutMs ?? 10 * 60_000;
    this.opts.logger.info(`waiting up to ${Math.round(limit / 1000)}s for the node list`);
    if (!(await timedOut(this.cache.synced, limit, signal))) return;
    const msg = `error waiting for the node list to sync: timed out after ${Math.round(limit / 1000)}s`;
    if (!this.opts.contWhenCacheNotReady) throw new KubeStoreError(`${msg} (set CONT_WHEN_CACHE_NOT_READY=true to carry on)`);
    this.opts.logger.warn(`${msg}; carrying on (CONT_WHEN_CACHE_NOT_READY=true)`);
  }

  /** NODE_NAME, or spec.nodeName of our pod (GET retried while the API is unreachable). */
  private async ourNodeName(signal: AbortSignal): Promise<string> {
    if (this.nodeName) return this.nodeName;
    const id = this.opts.identity as { podName: string; podNamespace: string };
    const where = `'${id.podNamespace}/${id.podName}'`;
    for (;;) {
      try {
        const pod = (await this.opts.api.getPod(id.podNamespace, id.podName, signal)) as { spec?: { nodeName?: unknown } };
        const nodeName = pod.spec?.nodeName;
        if (typeof nodeName !== 'string' || nodeName === '') throw new KubeStoreError(`node name not present in pod spec ${where}`);
        this.opts.logger.info(`running on node "${nodeName}" (from pod ${where})`);
        return (this.nodeName = nodeName);
      } catch (e) {
        if (signal.aborted || !isRetryable(e)) {
          if (e instanceof KubeApiError) throw new KubeStoreError(`error retrieving pod spec for ${where}: ${e.message}`);
          throw e;
        }
        this.opts.logger.warn(`error retrieving pod spec for ${where}: ${(e as Error).message}; retrying in ${this.timing.retryMs} ms`);
        await sleep(this.timing.retryMs, signal);
      }
    }
  }

  private async markNetworkAvailable(name: string, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.timing.patchTimeoutMs;
    for (;;) {
      try {
        await this.opts.api.patchNodeStatus(name, networkAvailablePatch(new Date()), signal);
        this.opts.logger.info(`set condition NetworkUnavailable=False on node "${name}"`);
        return;
      } catch (e) {
        if (signal.aborted) throw e;
        if (!isRetryable(e) || Date.now() >= deadline) {
          // As the reference: logged, not fatal; pods may stay unscheduled until someone looks.
          this.opts.logger.error(`failed to set NetworkUnavailable=False on node "${name}": ${(e as Error).message}`);
          return;
        }
        await sleep(this.timing.retryMs, signal);
      }
    }
  }

  /** Rejects with OwnNodeDeletedError once our node is gone; resolves when `signal` aborts. */
  private ownNodeDeletion(name: string, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stop = (err?: Error): void => {
        unsubscribe();
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = (): void => stop();
      const unsubscribe = this.cache.subscribe((changes) => {
        if (changes.some((c) => c.type === 'delete' && c.node.name === name)) {
          this.opts.logger.error(`node "${name}" was deleted from the Kubernetes API; stopping so that flanneld is restarted and annotates it again`);
          stop(new OwnNodeDeletedError(name));
        }
      });
      if (signal.aborted) stop();
      else if (this.cache.hasSynced && !this.cache.get(name)) {
        this.opts.logger.error(`node "${name}" no longer exists in the Kubernetes API; stopping so that flanneld is restarted`);
        stop(new OwnNodeDeletedError(name));
      } else signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** The annotations of our previous run as LeaseAttrs; null when none of them is there. Invalid ones are skipped. */
function previousAttrs(node: NodeInfo, keys: KubeAnnotations, log: Logger): LeaseAttrs | null {
  const ann = node.annotations;
  const attrs: LeaseAttrs = { publicIP: 0, publicIPv6: null };
  let any = false;
  const json = (key: string): unknown => {
    const text = ann[key];
    if (!text) return undefined;
    try {
      const v: unknown = JSON.parse(text);
      if (v !== null) any = true;
      return v ?? undefined;
    } catch {
      log.debug(`node "${node.name}": annotation ${key} is not JSON; ignoring it`);
      return undefined;
    }
  };
  const address = <T>(key: string, parse: (s: string) => T): T | undefined => {
    const text = ann[key];
    if (!text) return undefined;
    try {
      const v = parse(text);
      any = true;
      return v;
    } catch {
      log.debug(`node "${node.name}": annotation ${key}=${JSON.stringify(text)} is not an address; ignoring it`);
      return undefined;
    }
  };
  attrs.publicIP = address(keys.publicIP, parseIP4) ?? 0;
  attrs.publicIPv6 = address(keys.publicIPv6, parseIP6) ?? null;
  const type = ann[keys.backendType];
  if (type) {
    attrs.backendType = type;
    any = true;
  }
  const data = json(keys.backendData);
  if (data !== undefined) attrs.backendData = data;
  const v6data = json(keys.backendV6Data);
  if (v6data !== undefined) attrs.backendV6Data = v6data;
  return any ? attrs : null;
}

/** Whether `ms` passed before `p` resolved; the timer and the abort listener are gone either way. */
function timedOut(p: Promise<void>, ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const onAbort = (): void => finish(() => reject(abortReason(signal)));
    const timer = setTimeout(() => finish(() => resolve(true)), ms);
    const finish = (f: () => void): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      f();
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(() => finish(() => resolve(false)));
  });
}
