// The Kubernetes API as the kube lease store uses it, on @kubernetes/client-node: the client config
// (kubeconfig file, --kube-api-url, or in-cluster service account), and five calls (list/get/watch
// nodes, get a pod, strategic-merge-patch nodes/<name>/status) with errors turned into KubeApiError.
import { existsSync } from 'node:fs';
import type { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { abortReason } from '../abort.js';
import { KubeApiError, KubeStoreError } from './errors.js';

export interface KubeClientOptions {
  /** --kube-api-url: overrides the kubeconfig's server, or is the server when there is no kubeconfig. */
  apiUrl: string;
  /** --kubeconfig-file. */
  kubeconfigFile: string;
  /** In-cluster mode reads KUBERNETES_SERVICE_HOST/PORT from here (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Prepended to /var/run/secrets/kubernetes.io/serviceaccount (tests only). */
  serviceAccountRoot?: string;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

type ClientNode = typeof import('@kubernetes/client-node');
let clientNode: Promise<ClientNode> | null = null;

/** client-node is loaded on first use: etcd mode never pays for it (about 0.5 s and 70 MB). */
function loadClientNode(): Promise<ClientNode> {
  return (clientNode ??= import('@kubernetes/client-node'));
}

/**
 * client-go's BuildConfigFromFlags: a kubeconfig file (its server replaced by apiUrl when given), or
 * apiUrl alone, or in-cluster config when both are empty. KubeStoreError says what is missing.
 */
export async function buildKubeConfig(opts: KubeClientOptions): Promise<KubeConfig> {
  const { KubeConfig } = await loadClientNode();
  return allowPlainHTTP(loadKubeConfig(new KubeConfig(), opts));
}

/**
 * client-node refuses an http:// server unless TLS verification is "skipped", which means nothing
 * without TLS; client-go simply talks plain HTTP there (a kubectl proxy, a test API server). Do the same.
 */
function allowPlainHTTP(kc: KubeConfig): KubeConfig {
  kc.clusters = kc.clusters.map((c) => (c.server.startsWith('http://') ? { ...c, skipTLSVerify: true } : c));
  return kc;
}

function loadKubeConfig(kc: KubeConfig, opts: KubeClientOptions): KubeConfig {
  if (opts.kubeconfigFile) {
    try {
      kc.loadFromFile(opts.kubeconfigFile);
    } catch (e) {
      throw new KubeStoreError(`fail to create kubernetes config: reading --kubeconfig-file=${opts.kubeconfigFile}: ${(e as Error).message}`);
    }
    const current = kc.getCurrentCluster();
    if (!current) throw new KubeStoreError(`fail to create kubernetes config: ${opts.kubeconfigFile} has no current context/cluster`);
    if (opts.apiUrl) kc.clusters = kc.clusters.map((c) => (c.name === current.name ? { ...c, server: opts.apiUrl } : c));
    return kc;
  }
  if (opts.apiUrl) {
    kc.loadFromOptions({
      clusters: [{ name: 'flanneld', server: opts.apiUrl, skipTLSVerify: false }],
      users: [{ name: 'flanneld' }],
      contexts: [{ name: 'flanneld', cluster: 'flanneld', user: 'flanneld' }],
      currentContext: 'flanneld',
    });
    return kc;
  }
  return inClusterConfig(kc, opts.env ?? process.env, `${opts.serviceAccountRoot ?? ''}${SA_DIR}`);
}

/** The service account's token (re-read as it rotates) and CA, and the API service from the environment. */
function inClusterConfig(kc: KubeConfig, env: NodeJS.ProcessEnv, dir: string): KubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeStoreError(
      'unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined ' +
        '(outside a cluster pass --kubeconfig-file or --kube-api-url)',
    );
  }
  if (!existsSync(`${dir}/token`)) throw new KubeStoreError(`unable to load in-cluster configuration: ${dir}/token does not exist`);
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  kc.loadFromOptions({
    clusters: [{ name: 'inCluster', server, caFile: `${dir}/ca.crt`, skipTLSVerify: false }],
    users: [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: `${dir}/token` } } }],
    contexts: [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser' }],
    currentContext: 'inClusterContext',
  });
  return kc;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: unknown;
}

export interface WatchOptions {
  /** Asked of the server (it closes the stream then); also bounds a silent connection. */
  timeoutSeconds: number;
}

export interface NodeList {
  items: unknown[];
  resourceVersion: string;
}

/** What the kube store needs from the API. Every call rejects with the abort reason when `signal` aborts. */
export interface KubeApi {
  listNodes(signal: AbortSignal): Promise<NodeList>;
  /** KubeApiError with statusCode 404 when the node does not exist. */
  getNode(name: string, signal: AbortSignal): Promise<unknown>;
  getPod(namespace: string, name: string, signal: AbortSignal): Promise<unknown>;
  /** PATCH nodes/<name>/status with Content-Type application/strategic-merge-patch+json. */
  patchNodeStatus(name: string, patch: object, signal: AbortSignal): Promise<void>;
  /**
   * Streams node events after `resourceVersion` to `onEvent` until the server ends the stream
   * (resolves) or it fails: an ERROR event or HTTP error rejects with KubeApiError (410 when the
   * version expired).
   */
  watchNodes(resourceVersion: string, onEvent: (e: WatchEvent) => void, opts: WatchOptions, signal: AbortSignal): Promise<void>;
}

export class ClientNodeApi implements KubeApi {
  private constructor(
    private readonly lib: ClientNode,
    private readonly core: CoreV1Api,
    private readonly watcher: Watch,
  ) {}

  static async create(config: KubeConfig): Promise<ClientNodeApi> {
    const lib = await loadClientNode();
    return new ClientNodeApi(lib, config.makeApiClient(lib.CoreV1Api), new lib.Watch(config));
  }

  async listNodes(signal: AbortSignal): Promise<NodeList> {
    const list = await call('list nodes', () => this.core.listNode(), signal);
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  getNode(name: string, signal: AbortSignal): Promise<unknown> {
    return call(`get node "${name}"`, () => this.core.readNode({ name }), signal);
  }

  getPod(namespace: string, name: string, signal: AbortSignal): Promise<unknown> {
    return call(`get pod "${namespace}/${name}"`, () => this.core.readNamespacedPod({ namespace, name }), signal);
  }

  async patchNodeStatus(name: string, patch: object, signal: AbortSignal): Promise<void> {
    const options = this.lib.setHeaderOptions('Content-Type', this.lib.PatchStrategy.StrategicMergePatch);
    await call(`patch node "${name}" status`, () => this.core.patchNodeStatus({ name, body: patch }, options), signal);
  }

  watchNodes(resourceVersion: string, onEvent: (e: WatchEvent) => void, opts: WatchOptions, signal: AbortSignal): Promise<void> {
    return new NodeWatchStream(this.watcher, resourceVersion, onEvent, opts, signal).result;
  }
}

/** One watch request: settles once, aborts the HTTP request on every way out. */
class NodeWatchStream {
  readonly result: Promise<void>;
  private settle!: (err: Error | null) => void;
  private request: AbortController | null = null;
  private idle: NodeJS.Timeout | undefined;

  constructor(watcher: Watch, rv: string, private readonly onEvent: (e: WatchEvent) => void, private readonly opts: WatchOptions, private readonly signal: AbortSignal) {
    this.result = new Promise<void>((resolve, reject) => {
      let done = false;
      this.settle = (err) => {
        if (done) return;
        done = true;
        clearTimeout(this.idle);
        signal.removeEventListener('abort', onAbort);
        this.request?.abort();
        if (err) reject(err);
        else resolve();
      };
    });
    const onAbort = (): void => this.settle(abortReason(signal));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    this.armIdle();
    const query = { resourceVersion: rv || undefined, allowWatchBookmarks: true, timeoutSeconds: opts.timeoutSeconds };
    watcher.watch('/api/v1/nodes', query, (type, obj) => this.event(type, obj), (err) => this.settle(err ? toApiError('watch nodes', err) : null)).then(
      (req) => {
        this.request = req;
        if (signal.aborted) req.abort();
      },
      (err: unknown) => this.settle(toApiError('watch nodes', err)),
    );
  }

  /** A connection that stays silent well past the server's own timeout is dead: end it, the caller resumes. */
  private armIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.settle(null), (this.opts.timeoutSeconds + 30) * 1000);
    this.idle.unref();
  }

  private event(type: string, obj: unknown): void {
    this.armIdle();
    if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED' || type === 'BOOKMARK') {
      this.onEvent({ type, object: obj });
    } else if (type === 'ERROR') {
      this.settle(statusError('watch nodes', obj));
    }
  }
}

/** Runs one request; rejects with the abort reason as soon as `signal` aborts (the request is left to finish). */
async function call<T>(what: string, fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([fn(), aborted]);
  } catch (e) {
    if (signal.aborted) throw abortReason(signal);
    throw toApiError(what, e);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

/** A Status object (error body or watch ERROR event) as KubeApiError. */
function statusError(what: string, body: unknown): KubeApiError {
  const s = (typeof body === 'object' && body !== null ? body : {}) as { code?: unknown; reason?: unknown; message?: unknown };
  const code = typeof s.code === 'number' ? s.code : 500;
  const reason = typeof s.reason === 'string' ? s.reason : undefined;
  const message = typeof s.message === 'string' ? s.message : JSON.stringify(body);
  return new KubeApiError(`${what}: ${message} (HTTP ${code}${reason ? ` ${reason}` : ''})`, code, reason);
}

/** client-node's ApiException (code + Status text body), the watch's {statusCode}, or a network error. */
export function toApiError(what: string, e: unknown): KubeApiError {
  if (e instanceof KubeApiError) return e;
  const err = (typeof e === 'object' && e !== null ? e : {}) as { name?: unknown; code?: unknown; statusCode?: unknown; body?: unknown; message?: unknown };
  const code = typeof err.code === 'number' ? err.code : typeof err.statusCode === 'number' ? err.statusCode : undefined;
  if (code === undefined) {
    // node-fetch's FetchError and socket errors (code ECONNREFUSED…) mean the server was not reached.
    const network = err.name === 'FetchError' || typeof err.code === 'string';
    return new KubeApiError(`${what}: ${typeof err.message === 'string' ? err.message : String(e)}`, undefined, undefined, network);
  }
  if (typeof err.body === 'string') {
    try {
      return statusError(what, { code, ...(JSON.parse(err.body) as object) });
    } catch {
      /* not a Status: fall through */
    }
  }
  const text = code === 401 ? 'Unauthorized' : typeof err.message === 'string' ? err.message.split('\n')[0]! : '';
  return new KubeApiError(`${what}: ${text} (HTTP ${code})`, code, code === 401 ? 'Unauthorized' : undefined);
}
