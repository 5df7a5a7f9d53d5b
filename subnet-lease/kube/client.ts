// The Kubernetes API as the kube lease store uses it, on node:http(s) (kubeconfig.ts, http.ts): get and
// paginated list of nodes, watch nodes, get a pod, strategic-merge-patch nodes/<name>/status. Every Node
// is cut down to the fields flanneld reads (slimNode) as soon as its page or event is decoded, so the
// images, conditions and managedFields of thousands of nodes are never held.
import type { IncomingMessage } from 'node:http';
import { abortReason } from '../../common/abort.js';
import { KubeApiError } from './errors.js';
import { KubeHttp, statusError } from './http.js';
import type { RestConfig } from './kubeconfig.js';

export { loadRestConfig, type KubeClientOptions, type RestConfig } from './kubeconfig.js';

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

export interface HttpKubeApiOptions {
  /** Nodes per list page (default 100, ~1 MB of JSON with realistic Nodes: listing 5000 grew RSS by 82 MiB, by 137 MiB with 500). */
  pageSize?: number;
  /** Only annotations with this prefix are kept (default: all). */
  annotationPrefix?: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A Node with only name, resourceVersion, creationTimestamp, (prefixed) annotations and spec.podCIDR(s). */
export function slimNode(raw: unknown, annotationPrefix = ''): unknown {
  if (!isObj(raw)) return raw;
  const meta = isObj(raw.metadata) ? raw.metadata : {};
  const spec = isObj(raw.spec) ? raw.spec : {};
  let annotations = meta.annotations;
  if (isObj(annotations) && annotationPrefix) {
    annotations = Object.fromEntries(Object.entries(annotations).filter(([k]) => k.startsWith(annotationPrefix)));
  }
  return {
    metadata: { name: meta.name, resourceVersion: meta.resourceVersion, creationTimestamp: meta.creationTimestamp, annotations },
    spec: { podCIDR: spec.podCIDR, podCIDRs: spec.podCIDRs },
  };
}

export class HttpKubeApi implements KubeApi {
  readonly http: KubeHttp;
  private readonly pageSize: number;
  private readonly prefix: string;

  constructor(config: RestConfig, opts: HttpKubeApiOptions = {}) {
    this.http = new KubeHttp(config);
    this.pageSize = opts.pageSize ?? 100;
    this.prefix = opts.annotationPrefix ?? '';
  }

  get server(): string {
    return this.http.config.server;
  }

  /** Every node, page by page (limit/continue); an expired continue token (410) starts over. */
  async listNodes(signal: AbortSignal): Promise<NodeList> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.listPages(signal);
      } catch (e) {
        if (!(e instanceof KubeApiError && e.statusCode === 410 && attempt < 3)) throw e;
      }
    }
  }

  private async listPages(signal: AbortSignal): Promise<NodeList> {
    const items: unknown[] = [];
    let token = '';
    let resourceVersion = '';
    do {
      const query: Record<string, string> = { limit: String(this.pageSize) };
      if (token) query.continue = token;
      const page = await this.http.json({ method: 'GET', path: '/api/v1/nodes', query, what: 'list nodes' }, signal);
      const p = (isObj(page) ? page : {}) as { metadata?: { resourceVersion?: unknown; continue?: unknown }; items?: unknown };
      if (!Array.isArray(p.items)) throw new KubeApiError(`list nodes: the answer has no items list`, 500);
      for (const item of p.items) items.push(slimNode(item, this.prefix));
      token = typeof p.metadata?.continue === 'string' ? p.metadata.continue : '';
      if (typeof p.metadata?.resourceVersion === 'string') resourceVersion = p.metadata.resourceVersion;
    } while (token);
    return { items, resourceVersion };
  }

  async getNode(name: string, signal: AbortSignal): Promise<unknown> {
    const node = await this.http.json({ method: 'GET', path: `/api/v1/nodes/${encodeURIComponent(name)}`, what: `get node "${name}"` }, signal);
    return slimNode(node, this.prefix);
  }

  getPod(namespace: string, name: string, signal: AbortSignal): Promise<unknown> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
    return this.http.json({ method: 'GET', path, what: `get pod "${namespace}/${name}"` }, signal);
  }

  async patchNodeStatus(name: string, patch: object, signal: AbortSignal): Promise<void> {
    const path = `/api/v1/nodes/${encodeURIComponent(name)}/status`;
    const body = { contentType: 'application/strategic-merge-patch+json', value: patch };
    await this.http.json({ method: 'PATCH', path, body, what: `patch node "${name}" status` }, signal);
  }

  async watchNodes(resourceVersion: string, onEvent: (e: WatchEvent) => void, opts: WatchOptions, signal: AbortSignal): Promise<void> {
    const query: Record<string, string> = { watch: 'true', allowWatchBookmarks: 'true', timeoutSeconds: String(opts.timeoutSeconds) };
    if (resourceVersion) query.resourceVersion = resourceVersion;
    const local = new AbortController();
    const onAbort = (): void => local.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal.aborted) throw abortReason(signal);
      const res = await this.http.stream({ method: 'GET', path: '/api/v1/nodes', query, what: 'watch nodes' }, local.signal);
      await readEvents(res, (line) => this.event(line, onEvent), (opts.timeoutSeconds + 30) * 1000);
    } catch (e) {
      if (signal.aborted) throw abortReason(signal);
      throw e;
    } finally {
      signal.removeEventListener('abort', onAbort);
      local.abort();
    }
  }

  private event(line: string, onEvent: (e: WatchEvent) => void): void {
    let ev: { type?: unknown; object?: unknown };
    try {
      ev = JSON.parse(line) as typeof ev;
    } catch {
      throw new KubeApiError(`watch nodes: the API server sent a line that is not JSON: ${JSON.stringify(line.slice(0, 200))}`, 500);
    }
    const type = ev.type;
    if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') onEvent({ type, object: slimNode(ev.object, this.prefix) });
    else if (type === 'BOOKMARK') onEvent({ type, object: ev.object });
    else if (type === 'ERROR') throw statusError('watch nodes', ev.object);
  }
}

/**
 * Feeds every line of `res` to `onLine` until the stream ends (resolves), `onLine` throws (rejects),
 * or nothing arrives for `idleMs` (resolves: a silent connection is dead and the caller resumes).
 */
function readEvents(res: IncomingMessage, onLine: (line: string) => void, idleMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let rest = '';
    let idle: NodeJS.Timeout | undefined;
    const finish = (err: Error | null): void => {
      clearTimeout(idle);
      res.removeAllListeners('data');
      res.destroy();
      if (err) reject(err);
      else resolve();
    };
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(null), idleMs);
      idle.unref();
    };
    arm();
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      arm();
      rest += chunk;
      let nl: number;
      try {
        while ((nl = rest.indexOf('\n')) >= 0) {
          const line = rest.slice(0, nl).trim();
          rest = rest.slice(nl + 1);
          if (line) onLine(line);
        }
      } catch (e) {
        finish(e as Error);
      }
    });
    res.on('end', () => finish(null));
    res.on('error', (e) => finish(new KubeApiError(`watch nodes: ${e.message}`)));
    res.on('close', () => finish(null));
  });
}
