// HTTP(S) to the Kubernetes API on node:http / node:https: one JSON request, or a watch stream of JSON
// lines. A non-2xx answer becomes KubeApiError from its Status body; a 401 with rotating credentials
// (token file, exec plugin) fetches them again and retries once.
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { abortReason } from '../../common/abort.js';
import { Credentials } from './credentials.js';
import { KubeApiError } from './errors.js';
import type { RestConfig } from './kubeconfig.js';

export interface KubeRequest {
  method: 'GET' | 'PATCH';
  path: string;
  query?: Record<string, string>;
  body?: { contentType: string; value: unknown };
  /** For messages: "list nodes", "get node \"n1\"". */
  what: string;
}

export class KubeHttp {
  private readonly base: URL;
  private readonly creds: Credentials;
  private readonly agent: Agent | undefined;

  constructor(readonly config: RestConfig) {
    this.base = new URL(config.server);
    this.creds = new Credentials(config.auth);
    const tls = this.base.protocol === 'https:';
    this.agent = tls ? new Agent({ keepAlive: true, ca: config.ca, cert: config.cert, key: config.key, rejectUnauthorized: !config.insecure }) : undefined;
  }

  /** The decoded JSON answer of a 2xx response. */
  async json(req: KubeRequest, signal: AbortSignal): Promise<unknown> {
    const res = await this.send(req, signal);
    const text = await readAll(res, req.what, signal);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new KubeApiError(`${req.what}: the API server answered no JSON: ${JSON.stringify(text.slice(0, 200))}`, res.statusCode);
    }
  }

  /** The open 2xx response (for a watch). */
  async stream(req: KubeRequest, signal: AbortSignal): Promise<IncomingMessage> {
    return this.send(req, signal);
  }

  private async send(req: KubeRequest, signal: AbortSignal): Promise<IncomingMessage> {
    const res = await this.once(req, signal);
    if (res.statusCode === 401 && this.creds.refreshable) {
      res.resume();
      this.creds.invalidate();
      return this.checked(await this.once(req, signal), req, signal);
    }
    return this.checked(res, req, signal);
  }

  private async checked(res: IncomingMessage, req: KubeRequest, signal: AbortSignal): Promise<IncomingMessage> {
    const code = res.statusCode ?? 0;
    if (code >= 200 && code < 300) return res;
    const text = await readAll(res, req.what, signal).catch(() => '');
    throw statusError(req.what, text, code);
  }

  private async once(req: KubeRequest, signal: AbortSignal): Promise<IncomingMessage> {
    signal.throwIfAborted();
    const creds = await this.creds.get();
    const url = new URL(this.base.pathname.replace(/\/$/, '') + req.path, this.base);
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'flanneld-ts' };
    if (creds.token) headers.authorization = `Bearer ${creds.token}`;
    const body = req.body ? JSON.stringify(req.body.value) : undefined;
    if (req.body) headers['content-type'] = req.body.contentType;
    const tls = url.protocol === 'https:';
    const opts: RequestOptions & { cert?: Buffer; key?: Buffer; ca?: Buffer; rejectUnauthorized?: boolean } = { method: req.method, headers, signal };
    if (tls && creds.cert) Object.assign(opts, { ca: this.config.ca, cert: creds.cert, key: creds.key, rejectUnauthorized: !this.config.insecure });
    else if (tls) opts.agent = this.agent;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const r = (tls ? httpsRequest : httpRequest)(url, opts, resolve);
      r.on('error', (e: NodeJS.ErrnoException) => reject(signal.aborted ? abortReason(signal) : networkError(req.what, e)));
      r.end(body);
    });
  }
}

function networkError(what: string, e: NodeJS.ErrnoException): KubeApiError {
  return new KubeApiError(`${what}: ${e.message}`, undefined, undefined, true);
}

function readAll(res: IncomingMessage, what: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', (e: NodeJS.ErrnoException) => reject(signal.aborted ? abortReason(signal) : networkError(what, e)));
  });
}

/** A Status object (error body or watch ERROR event) as KubeApiError. */
export function statusError(what: string, body: unknown, httpCode?: number): KubeApiError {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = { message: body.trim().slice(0, 300) || (httpCode === 401 ? 'Unauthorized' : '') };
    }
  }
  const s = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { code?: unknown; reason?: unknown; message?: unknown };
  const code = typeof s.code === 'number' ? s.code : (httpCode ?? 500);
  const reason = typeof s.reason === 'string' ? s.reason : code === 401 ? 'Unauthorized' : undefined;
  const message = typeof s.message === 'string' ? s.message : JSON.stringify(parsed);
  return new KubeApiError(`${what}: ${message} (HTTP ${code}${reason ? ` ${reason}` : ''})`, code, reason);
}
