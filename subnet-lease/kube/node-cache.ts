// Every Node of the cluster, kept current by list + watch (client-go's reflector, reduced to what
// flannel needs). The watch resumes from the last resourceVersion seen (events and BOOKMARKs); when
// the server says that version is gone (410 Gone / Expired), the cache lists again and turns the
// difference into changes, so a subscriber sees every change exactly once and nothing twice.
import { sleep } from '../../common/abort.js';
import type { Logger } from '../../common/log.js';
import type { KubeApi, WatchEvent } from './client.js';
import { KubeApiError } from './errors.js';
import { NodeParseError, parseNode, type NodeInfo } from './node.js';
import { Backoff } from '../../common/backoff.js';

export type NodeChange = { type: 'upsert'; node: NodeInfo } | { type: 'delete'; node: NodeInfo };

export interface NodeCacheOptions {
  api: KubeApi;
  logger: Logger;
  /** Per watch request; default a random 300–600 s, as client-go. */
  watchTimeoutSeconds?: () => number;
  /** Backoff after a failed request: doubling from `initialMs` to `maxMs` (default 100 ms → 5 s). */
  backoff?: { initialMs: number; maxMs: number };
}

export class NodeCache {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly listeners = new Set<(changes: NodeChange[]) => void>();
  private resourceVersion = '';
  private syncedFlag = false;
  private markSynced!: () => void;
  /** Resolves after the first successful list. */
  readonly synced = new Promise<void>((r) => (this.markSynced = r));

  constructor(private readonly opts: NodeCacheOptions) {}

  get hasSynced(): boolean {
    return this.syncedFlag;
  }

  get(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  list(): NodeInfo[] {
    return [...this.nodes.values()];
  }

  /** Calls `listener` synchronously with every later batch of changes; returns the unsubscribe function. */
  subscribe(listener: (changes: NodeChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Lists and watches until `signal` aborts, then resolves. Never rejects: failures are logged and retried. */
  async run(signal: AbortSignal): Promise<void> {
    const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 100, maxMs: 5000 };
    const delays = new Backoff(initialMs, maxMs);
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist(signal);
          needList = false;
        }
        const received = await this.watchOnce(signal);
        if (received) delays.reset();
        else await sleep(delays.next(), signal); // closed at once without a word: do not hammer the server
      } catch (e) {
        if (signal.aborted) break;
        if (e instanceof KubeApiError && e.statusCode === 410) {
          this.opts.logger.info(`node watch: resource version ${this.resourceVersion} expired (${e.message}); listing again`);
          needList = true;
          continue;
        }
        const delay = delays.next();
        this.opts.logger.warn(`node ${needList ? 'list' : 'watch'} failed: ${(e as Error).message}; retrying in ${delay} ms`);
        await sleep(delay, signal).catch(() => undefined);
      }
    }
  }

  /** One watch request from the current resourceVersion; true when it delivered anything. */
  private async watchOnce(signal: AbortSignal): Promise<boolean> {
    let received = false;
    const timeoutSeconds = this.opts.watchTimeoutSeconds?.() ?? 300 + Math.floor(Math.random() * 300);
    await this.opts.api.watchNodes(
      this.resourceVersion,
      (e) => {
        received = true;
        this.apply(e);
      },
      { timeoutSeconds },
      signal,
    );
    return received;
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const list = await this.opts.api.listNodes(signal);
    const fresh = new Map<string, NodeInfo>();
    for (const raw of list.items) {
      const node = this.parse(raw);
      if (node) fresh.set(node.name, node);
    }
    const changes: NodeChange[] = [];
    for (const [name, node] of this.nodes) {
      if (!fresh.has(name)) changes.push({ type: 'delete', node });
    }
    for (const [name, node] of fresh) {
      if (this.nodes.get(name)?.resourceVersion !== node.resourceVersion) changes.push({ type: 'upsert', node });
    }
    this.nodes.clear();
    for (const [name, node] of fresh) this.nodes.set(name, node);
    this.resourceVersion = list.resourceVersion;
    this.opts.logger.debug(`listed ${fresh.size} nodes at resourceVersion ${list.resourceVersion} (${changes.length} changes)`);
    this.emit(changes);
    if (!this.syncedFlag) {
      this.syncedFlag = true;
      this.markSynced();
    }
  }

  private apply(e: WatchEvent): void {
    const rv = resourceVersionOf(e.object);
    if (e.type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const node = this.parse(e.object);
    if (rv) this.resourceVersion = rv;
    if (!node) return;
    if (e.type === 'DELETED') {
      const last = this.nodes.get(node.name) ?? node;
      this.nodes.delete(node.name);
      this.emit([{ type: 'delete', node: last }]);
    } else {
      this.nodes.set(node.name, node);
      this.emit([{ type: 'upsert', node }]);
    }
  }

  private parse(raw: unknown): NodeInfo | null {
    try {
      return parseNode(raw);
    } catch (e) {
      if (!(e instanceof NodeParseError)) throw e;
      this.opts.logger.warn(`skipping a node object: ${e.message}`);
      return null;
    }
  }

  private emit(changes: NodeChange[]): void {
    if (changes.length === 0) return;
    for (const l of this.listeners) l(changes);
  }
}

function resourceVersionOf(obj: unknown): string {
  const meta = (obj as { metadata?: { resourceVersion?: unknown } } | null)?.metadata;
  return typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : '';
}
