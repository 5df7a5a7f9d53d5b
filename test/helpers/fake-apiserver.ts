// A small Kubernetes API server for tests, speaking the real REST and watch wire format for Nodes and
// Pods (core/v1), so the kube lease store's own client (subnet-lease/kube/client.ts) is tested on the real wire format.
//
// API
//   const api = await FakeApiServer.start({ token: 't', rules, tls, socketPath })
//   api.url                        http(s)://127.0.0.1:<port> (or the host/port asked for)
//   api.createNode(obj) / updateNode(name, fn) / deleteNode(name) / node(name)
//   api.createPod(ns, name, nodeName)
//   api.seedNodes(objs)             many nodes at once (see fake-apiserver-nodes.ts for realistic ones)
//   api.rotateToken(t)             only the new token is accepted from now on
//   api.compact()                  every resourceVersion so far becomes too old: a watch from one gets 410
//   api.dropWatches()              the server closes every open watch (as on an apiserver restart)
//   api.bookmark()                 a BOOKMARK on every watch that asked for them
//   api.requests                   every request: method, path, query, content type, body, status
//   POST /fake/compact, /fake/drop-watches, /fake/bookmark, /fake/requests: the same over HTTP
//   await api.stop()
//
// What it does, as the real API server documents it:
// - a global resourceVersion (a decimal counter) bumped by every write; lists carry it in metadata;
// - LIST with limit/continue (fake-apiserver-list.ts): pages in name order, metadata.continue and
//   remainingItemCount, 410 Expired for a token older than the last compact();
// - GET/LIST (items without kind/apiVersion), POST, PUT, PATCH (strategic merge and JSON merge), DELETE;
//   a patch that changes nothing is a no-op (no new resourceVersion, no event);
// - nodes/<name>/status: spec changes are dropped, metadata and status kept; nodes/<name>: status dropped;
// - `?watch=1|true`: chunked JSON lines {"type","object"}; without resourceVersion (or "0") first a
//   synthetic ADDED per object, else every change after that version; a version older than the last
//   compact() gets an ERROR event with a 410 Expired Status (or HTTP 410 with expiredWatch: 'http');
//   BOOKMARKs only with allowWatchBookmarks; the stream ends after timeoutSeconds;
// - bearer-token auth (401) or, with tls.ca, a client certificate (CN as user, lastClientCN), and RBAC rules in ClusterRole form (403 with the real message);
// - errors are Status objects (NotFound, AlreadyExists, Conflict, UnsupportedMediaType, BadRequest).
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { rm } from 'node:fs/promises';
import { HttpError, isTrue, jsonBody, nameOf, parseMaybe, readBody, reply, send, status } from './fake-apiserver-http.js';
import { listPage } from './fake-apiserver-list.js';
import { NODE_MERGE_KEYS, PatchError, mergePatch, strategicMergePatch } from './fake-apiserver-patch.js';

type Obj = Record<string, unknown>;

export interface PolicyRule {
  apiGroups?: string[];
  resources: string[];
  verbs: string[];
}

export interface FakeApiServerOptions {
  token?: string;
  /** HTTPS; with `ca` a client certificate signed by it authenticates as its CN (required when `requireClientCert`). */
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer; requireClientCert?: boolean };
  host?: string;
  port?: number;
  /** Also serve on this unix socket (reachable from every network namespace). */
  socketPath?: string;
  /** What the token may do; everything when omitted. */
  rules?: PolicyRule[];
  /** A second token that may do everything (the test's own, like a cluster admin's). */
  adminToken?: string;
  user?: string;
  expiredWatch?: 'event' | 'http';
  /** Called with every request before it is answered (tests: compact between two list pages). */
  onRequest?: (rec: RecordedRequest) => void;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string;
  body: unknown;
  status: number;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface Watcher {
  res: ServerResponse;
  bookmarks: boolean;
  timer: NodeJS.Timeout;
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  private rv = 1000;
  private compactedRV = 0;
  private readonly nodes = new Map<string, Obj>();
  private readonly pods = new Map<string, Obj>();
  private readonly history: Array<{ rv: number; type: EventType; object: Obj }> = [];
  private readonly watchers = new Set<Watcher>();
  private readonly servers: Server[] = [];
  url = '';

  private constructor(private opts: FakeApiServerOptions) {}

  static async start(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const api = new FakeApiServer(opts);
    const handler = (req: IncomingMessage, res: ServerResponse): void => void api.handle(req, res);
    const t = opts.tls;
    const main = t ? createHttps({ key: t.key, cert: t.cert, ca: t.ca, requestCert: !!t.ca, rejectUnauthorized: !!t.requireClientCert }, handler) : createHttp(handler);
    await new Promise<void>((r) => main.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', r));
    api.servers.push(main);
    const addr = main.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    api.url = `${opts.tls ? 'https' : 'http'}://${host}:${addr.port}`;
    if (opts.socketPath) {
      await rm(opts.socketPath, { force: true });
      const local = createHttp(handler);
      await new Promise<void>((r) => local.listen(opts.socketPath, r));
      api.servers.push(local);
    }
    return api;
  }

  async stop(): Promise<void> {
    this.dropWatches();
    for (const s of this.servers) {
      s.closeAllConnections?.();
      await new Promise((r) => s.close(r));
    }
  }

  // ---- state, in process -------------------------------------------------------------------------

  node(name: string): Obj | undefined {
    const n = this.nodes.get(name);
    return n && structuredClone(n);
  }

  createNode(obj: Obj): Obj {
    const name = nameOf(obj);
    if (this.nodes.has(name)) throw new HttpError(409, 'AlreadyExists', `nodes "${name}" already exists`, { name, kind: 'nodes' });
    const meta = (obj.metadata ?? {}) as Obj;
    const node = { ...structuredClone(obj), kind: 'Node', apiVersion: 'v1' } as Obj;
    node.metadata = { ...meta, uid: `uid-${name}-${this.rv + 1}`, creationTimestamp: new Date().toISOString().slice(0, 19) + 'Z' };
    return this.write('ADDED', this.nodes, name, node);
  }

  /** Applies `fn` to a copy of the node and stores it (a new resourceVersion, a MODIFIED event). */
  updateNode(name: string, fn: (node: Obj) => void): Obj {
    const old = this.mustGet(this.nodes, 'nodes', name);
    const next = structuredClone(old);
    fn(next);
    return this.write('MODIFIED', this.nodes, name, next);
  }

  /** From now on only `token` is accepted (a rotated service account token). */
  rotateToken(token: string): void {
    this.opts.token = token;
  }

  seedNodes(objs: Obj[]): void {
    for (const o of objs) this.createNode(o);
  }

  deleteNode(name: string): Obj {
    const old = this.mustGet(this.nodes, 'nodes', name);
    this.nodes.delete(name);
    const gone = structuredClone(old);
    (gone.metadata as Obj).resourceVersion = String(++this.rv);
    this.record('DELETED', gone);
    return gone;
  }

  createPod(namespace: string, name: string, nodeName: string): Obj {
    const pod: Obj = { kind: 'Pod', apiVersion: 'v1', metadata: { name, namespace, uid: `uid-pod-${name}` }, spec: { nodeName, containers: [] } };
    return this.write('ADDED', this.pods, `${namespace}/${name}`, pod);
  }

  compact(): void {
    this.compactedRV = this.rv;
    this.history.length = 0;
  }

  dropWatches(): void {
    for (const w of [...this.watchers]) this.endWatch(w);
  }

  bookmark(): void {
    for (const w of this.watchers) {
      if (w.bookmarks) send(w.res, { type: 'BOOKMARK', object: { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } } });
    }
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  private mustGet(map: Map<string, Obj>, kind: string, key: string): Obj {
    const v = map.get(key);
    if (!v) {
      const name = key.split('/').pop()!;
      throw new HttpError(404, 'NotFound', `${kind} "${name}" not found`, { name, kind });
    }
    return v;
  }

  private write(type: EventType, map: Map<string, Obj>, key: string, obj: Obj): Obj {
    const stored = structuredClone(obj);
    (stored.metadata as Obj).resourceVersion = String(++this.rv);
    map.set(key, stored);
    if (map === this.nodes) this.record(type, stored);
    return structuredClone(stored);
  }

  private record(type: EventType, object: Obj): void {
    const rv = Number((object.metadata as Obj).resourceVersion);
    this.history.push({ rv, type, object: structuredClone(object) });
    for (const w of this.watchers) send(w.res, { type, object });
  }

  // ---- HTTP --------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const text = await readBody(req);
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers['content-type'] ?? '',
      body: parseMaybe(text),
      status: 200,
    };
    this.requests.push(rec);
    this.opts.onRequest?.(rec);
    try {
      const admin = this.authenticate(req);
      this.admin = admin;
      const result = this.route(rec, text, url.searchParams, res);
      if (result !== undefined) reply(res, 200, result);
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(500, 'InternalError', (e as Error).message);
      rec.status = err.code;
      if (!res.headersSent) reply(res, err.code, status(err));
      else res.end();
    }
  }

  /** True for the admin token; 401 for anything but the two tokens or a client certificate of the CA. */
  private authenticate(req: IncomingMessage): boolean {
    const auth = req.headers.authorization;
    const sock = req.socket as TLSSocket;
    this.lastClientCN = '';
    if (!auth && sock.encrypted && sock.authorized) {
      const cn = sock.getPeerCertificate().subject?.CN;
      if (cn) {
        this.lastClientCN = String(cn);
        return false;
      }
    }
    if (this.opts.adminToken && auth === `Bearer ${this.opts.adminToken}`) return true;
    if (auth !== `Bearer ${this.opts.token ?? 'test-token'}`) throw new HttpError(401, 'Unauthorized', 'Unauthorized');
    return false;
  }

  private admin = false;
  /** The CN of the client certificate the last request authenticated with ('' for a token). */
  lastClientCN = '';

  private authorize(verb: string, resource: string, name: string, namespace?: string): void {
    const rules = this.opts.rules;
    if (!rules || this.admin) return;
    const ok = rules.some((r) => (r.apiGroups ?? ['']).includes('') && r.resources.includes(resource) && r.verbs.includes(verb));
    if (ok) return;
    const user = this.opts.user ?? 'system:serviceaccount:kube-flannel:flannel';
    const base = resource.split('/')[0];
    const subject = name ? `${base} "${name}"` : base;
    const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
    throw new HttpError(403, 'Forbidden', `${subject} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "" ${scope}`, {
      name,
      kind: base,
    });
  }

  /** Returns the body to send, or undefined when it answered itself (watch). */
  private route(rec: RecordedRequest, text: string, q: URLSearchParams, res: ServerResponse): unknown {
    const m = rec.method;
    const parts = rec.path.split('/').filter(Boolean);
    if (parts[0] === 'fake') return this.control(parts[1] ?? '');
    if (parts[0] !== 'api' || parts[1] !== 'v1') throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
    const rest = parts.slice(2);
    if (rest[0] === 'nodes') return this.nodesRoute(m, rest[1], rest[2], rec, text, q, res);
    if (rest[0] === 'namespaces' && rest[2] === 'pods' && rest.length === 3 && m === 'POST') {
      this.authorize('create', 'pods', '', rest[1]);
      const pod = jsonBody(text);
      return this.createPod(rest[1]!, nameOf(pod), String((pod.spec as Obj | undefined)?.nodeName ?? ''));
    }
    if (rest[0] === 'namespaces' && rest[2] === 'pods' && rest[3] && rest.length === 4) {
      const key = `${rest[1]}/${rest[3]}`;
      if (m === 'GET') {
        this.authorize('get', 'pods', rest[3], rest[1]);
        return this.mustGet(this.pods, 'pods', key);
      }
    }
    throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
  }

  private nodesRoute(m: string, name: string | undefined, sub: string | undefined, rec: RecordedRequest, text: string, q: URLSearchParams, res: ServerResponse): unknown {
    if (!name) {
      if (m === 'GET' && isTrue(q.get('watch'))) {
        this.authorize('watch', 'nodes', '');
        this.watch(q, res);
        return undefined;
      }
      if (m === 'GET') {
        this.authorize('list', 'nodes', '');
        return listPage(this.nodes, q, this.rv, this.compactedRV);
      }
      if (m === 'POST') {
        this.authorize('create', 'nodes', '');
        return this.createNode(jsonBody(text));
      }
    } else if (sub === undefined || sub === 'status') {
      const resource = sub ? 'nodes/status' : 'nodes';
      if (m === 'GET') {
        this.authorize('get', resource, name);
        return this.mustGet(this.nodes, 'nodes', name);
      }
      if (m === 'PATCH') {
        this.authorize('patch', resource, name);
        return this.patchNode(name, sub === 'status', rec.contentType, jsonBody(text));
      }
      if (m === 'PUT') {
        this.authorize('update', resource, name);
        return this.putNode(name, sub === 'status', jsonBody(text));
      }
      if (m === 'DELETE' && !sub) {
        this.authorize('delete', 'nodes', name);
        this.mustGet(this.nodes, 'nodes', name);
        return this.deleteNode(name);
      }
    }
    throw new HttpError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  }

  private patchNode(name: string, status: boolean, contentType: string, patch: unknown): Obj {
    const old = this.mustGet(this.nodes, 'nodes', name);
    const type = contentType.split(';')[0]!.trim();
    let next: Obj;
    try {
      if (type === 'application/strategic-merge-patch+json') next = strategicMergePatch(old, patch, NODE_MERGE_KEYS) as Obj;
      else if (type === 'application/merge-patch+json') next = mergePatch(old, patch) as Obj;
      else throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (the fake serves the merge kinds)`);
    } catch (e) {
      if (e instanceof PatchError) throw new HttpError(400, 'BadRequest', e.message);
      throw e;
    }
    return this.store(name, old, next, status);
  }

  private putNode(name: string, status: boolean, body: Obj): Obj {
    const old = this.mustGet(this.nodes, 'nodes', name);
    return this.store(name, old, body, status);
  }

  /** The status subresource keeps the old spec; the main resource keeps the old status. */
  private store(name: string, old: Obj, next: Obj, status: boolean): Obj {
    const meta = (next.metadata ?? {}) as Obj;
    const oldMeta = old.metadata as Obj;
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== oldMeta.resourceVersion) {
      throw new HttpError(409, 'Conflict', `Operation cannot be fulfilled on nodes "${name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    const merged: Obj = { ...next, kind: 'Node', apiVersion: 'v1', metadata: { ...meta, name, uid: oldMeta.uid, creationTimestamp: oldMeta.creationTimestamp, resourceVersion: oldMeta.resourceVersion } };
    if (status) merged.spec = old.spec;
    else merged.status = old.status;
    if (JSON.stringify(merged) === JSON.stringify(old)) return structuredClone(old);
    return this.write('MODIFIED', this.nodes, name, merged);
  }

  private watch(q: URLSearchParams, res: ServerResponse): void {
    const from = q.get('resourceVersion') ?? '';
    const since = from === '' || from === '0' ? null : Number(from);
    if (since !== null && (!Number.isInteger(since) || since < this.compactedRV)) {
      const err = new HttpError(410, 'Expired', `too old resource version: ${from} (${this.compactedRV})`);
      if (this.opts.expiredWatch === 'http') throw err;
      res.writeHead(200, { 'content-type': 'application/json' });
      send(res, { type: 'ERROR', object: status(err) });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (since === null) for (const n of this.nodes.values()) send(res, { type: 'ADDED', object: n });
    else for (const h of this.history) if (h.rv > since) send(res, { type: h.type, object: h.object });
    const seconds = Number(q.get('timeoutSeconds') ?? '1800');
    const w: Watcher = { res, bookmarks: isTrue(q.get('allowWatchBookmarks')), timer: setTimeout(() => this.endWatch(w), seconds * 1000) };
    this.watchers.add(w);
    res.on('close', () => this.endWatch(w));
  }

  private endWatch(w: Watcher): void {
    if (!this.watchers.delete(w)) return;
    clearTimeout(w.timer);
    w.res.end();
  }

  private control(op: string): unknown {
    if (op === 'compact') this.compact();
    else if (op === 'drop-watches') this.dropWatches();
    else if (op === 'bookmark') this.bookmark();
    else if (op === 'requests') return { items: this.requests };
    else throw new HttpError(404, 'NotFound', `no fake control ${op}`);
    return { ok: true, resourceVersion: String(this.rv) };
  }
}
