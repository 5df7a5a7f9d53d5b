// gRPC over node:http2, as much as an etcd client needs: one HTTP/2 connection per member, unary calls
// with a deadline, and bidirectional streams. Messages are framed as grpc-frame.ts says; the call's
// outcome is the grpc-status trailer (or header, for a trailers-only answer). Failures are GrpcError with the status code (errors.ts names them).
import http2 from 'node:http2';
import { EventEmitter } from 'node:events';
import { GrpcError, Status, grpcError } from './errors.js';
import { FrameDecoder, frame } from './grpc-frame.js';

export interface TlsFiles {
  /** PEM; absent: the system's roots. */
  ca?: Buffer;
  key?: Buffer;
  cert?: Buffer;
}

/** As long as the watch waits for a progress answer (watch.ts): a live member answers a PING in milliseconds. */
export const DEFAULT_PING_TIMEOUT_MS = 3000;

/** The call's status from the grpc-status / grpc-message fields; null when there is none. */
function statusOf(headers: http2.IncomingHttpHeaders): GrpcError | null | 'ok' {
  const raw = headers['grpc-status'];
  if (raw === undefined) return null;
  const code = Number(raw);
  if (code === Status.OK) return 'ok';
  return grpcError(Number.isInteger(code) ? code : Status.UNKNOWN, grpcMessage(headers['grpc-message']));
}

/** grpc-message is percent-encoded; a malformed one is shown as it came rather than lost. */
function grpcMessage(raw: string | string[] | undefined): string {
  const text = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * One bidirectional call. Emits 'data' (a message), then exactly one of 'error' (GrpcError; CANCELLED
 * after cancel()) or 'end' (status OK). write() after the end is ignored.
 */
export class GrpcCall extends EventEmitter {
  private readonly decoder = new FrameDecoder();
  private status: GrpcError | null | 'ok' = null;
  private finished = false;

  constructor(private readonly req: http2.ClientHttp2Stream) {
    super();
    req.on('response', (headers) => {
      const code = headers[':status'];
      if (code !== 200) this.status = new GrpcError(httpStatusToGrpc(Number(code)), `HTTP status ${code}`);
      this.status = statusOf(headers) ?? this.status; // trailers-only answer
    });
    req.on('trailers', (trailers) => (this.status = statusOf(trailers) ?? this.status));
    req.on('data', (chunk: Buffer) => {
      try {
        for (const m of this.decoder.push(chunk)) this.emit('data', m);
      } catch (e) {
        this.finish(e as GrpcError);
        req.close(http2.constants.NGHTTP2_CANCEL);
      }
    });
    // A status that already came (trailers, then a reset) says more than the stream error.
    req.on('error', (e: Error) => this.finish(this.status instanceof GrpcError ? this.status : new GrpcError(Status.UNAVAILABLE, e.message)));
    req.on('close', () => this.finish(this.closeStatus()));
  }

  private closeStatus(): GrpcError | 'ok' {
    if (this.status) return this.status;
    const rst = this.req.rstCode ?? 0;
    const session = this.req.session;
    if (!session || session.destroyed || session.closed) return new GrpcError(Status.UNAVAILABLE, 'connection closed before the call ended');
    if (rst === http2.constants.NGHTTP2_REFUSED_STREAM) return new GrpcError(Status.UNAVAILABLE, 'stream refused by the server');
    if (rst === http2.constants.NGHTTP2_CANCEL) return new GrpcError(Status.CANCELLED, 'call cancelled');
    if (rst !== 0) return new GrpcError(Status.INTERNAL, `stream reset with code ${rst}`);
    return new GrpcError(Status.UNAVAILABLE, 'connection closed before the call ended');
  }

  private finish(status: GrpcError | 'ok'): void {
    if (this.finished) return;
    this.finished = true;
    if (status === 'ok') this.emit('end');
    else this.emit('error', status);
  }

  write(message: Buffer): void {
    if (this.finished || this.req.destroyed || this.req.writableEnded) return;
    this.req.write(frame(message));
  }

  /** Half-closes: no more messages from us. */
  end(): void {
    if (!this.req.destroyed && !this.req.writableEnded) this.req.end();
  }

  /** Ends the call at once (RST_STREAM CANCEL); 'error' with CANCELLED follows unless it had ended. Safe to call twice. */
  cancel(): void {
    this.finish(new GrpcError(Status.CANCELLED, 'call cancelled'));
    if (!this.req.destroyed) this.req.close(http2.constants.NGHTTP2_CANCEL);
  }
}

function httpStatusToGrpc(http: number): Status {
  // The mapping gRPC specifies for a non-gRPC HTTP answer.
  if (http === 400) return Status.INTERNAL;
  if (http === 401) return Status.UNAUTHENTICATED;
  if (http === 403) return Status.PERMISSION_DENIED;
  if (http === 404) return Status.UNIMPLEMENTED;
  if (http === 429 || http === 502 || http === 503 || http === 504) return Status.UNAVAILABLE;
  return Status.UNKNOWN;
}

/**
 * The HTTP/2 connection to one member, opened on first use and again after it failed or closed.
 * TLS when `tls` is given (whatever the URL's scheme, as grpc-js does with explicit credentials).
 */
export class GrpcChannel {
  private session: http2.ClientHttp2Session | null = null;
  private readonly active = new WeakMap<http2.ClientHttp2Session, number>();
  private readonly pings = new WeakMap<http2.ClientHttp2Session, Promise<boolean>>();
  private closed = false;
  readonly authority: string;

  constructor(
    endpoint: string,
    private readonly tls: TlsFiles | null,
    /** How long a member may take to answer a PING during a unary call before the call gives up on it. */
    private readonly pingTimeoutMs = DEFAULT_PING_TIMEOUT_MS,
  ) {
    const url = new URL(endpoint.includes('://') ? endpoint : `http://${endpoint}`);
    this.authority = `${tls ? 'https' : 'http'}://${url.host}`;
  }

  private connect(): http2.ClientHttp2Session {
    if (this.closed) throw new GrpcError(Status.CANCELLED, 'channel closed');
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect(this.authority, this.tls ? { ...this.tls } : {});
    // Errors reach each stream too; the session-level event must have a listener or it would throw.
    session.on('error', () => {});
    session.on('goaway', () => this.drop(session));
    session.on('close', () => this.drop(session));
    // An idle connection must not keep the process alive (streams ref it while they run).
    session.unref();
    this.session = session;
    return session;
  }

  private drop(session: http2.ClientHttp2Session): void {
    if (this.session === session) this.session = null;
  }

  /** Starts a call on `path` (`/etcdserverpb.KV/Range`) with `metadata` as headers. */
  call(path: string, metadata: Record<string, string>): GrpcCall {
    const session = this.connect();
    let req: http2.ClientHttp2Stream;
    try {
      req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...metadata });
    } catch (e) {
      // A connection that is going away refuses new streams: the next call opens another.
      this.reset();
      throw new GrpcError(Status.UNAVAILABLE, (e as Error).message);
    }
    // The connection holds the process alive only while a call runs on it.
    if (this.active.get(session) === undefined) session.ref();
    this.active.set(session, (this.active.get(session) ?? 0) + 1);
    req.on('close', () => {
      const left = (this.active.get(session) ?? 1) - 1;
      if (left > 0) return void this.active.set(session, left);
      this.active.delete(session);
      if (!session.destroyed) session.unref();
    });
    return new GrpcCall(req);
  }

  /** One request, one response, within `timeoutMs` (connecting included); GrpcError otherwise. */
  unary(path: string, message: Buffer, metadata: Record<string, string>, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let call: GrpcCall;
      try {
        call = this.call(path, { ...metadata, 'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m` });
      } catch (e) {
        reject(e);
        return;
      }
      let answer: Buffer | null = null;
      let settled = false;
      const giveUp = (err: GrpcError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
        call.cancel();
        // A member that does not answer is left: the next call connects afresh.
        this.reset();
      };
      const timer = setTimeout(() => giveUp(new GrpcError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded')), timeoutMs);
      if (timeoutMs > this.pingTimeoutMs) {
        void this.answersPing().then((ok) => {
          if (!ok) giveUp(new GrpcError(Status.UNAVAILABLE, `the member did not answer an HTTP/2 ping within ${this.pingTimeoutMs} ms`));
        });
      }
      call.on('data', (m: Buffer) => (answer ??= m));
      call.on('error', (e: GrpcError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(e);
      });
      call.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (answer) resolve(answer);
        else reject(new GrpcError(Status.INTERNAL, 'no response message'));
      });
      call.write(message);
      call.end();
    });
  }

  /**
   * False when the member does not answer an HTTP/2 PING in time: a frozen process or a dead link (the
   * kernel may still accept the connection). A member without quorum answers at once and is waited for.
   * One ping per connection at a time, shared by the calls that start meanwhile.
   */
  private answersPing(): Promise<boolean> {
    const session = this.session;
    if (!session) return Promise.resolve(true);
    let pending = this.pings.get(session);
    if (pending) return pending;
    pending = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), this.pingTimeoutMs);
      // A failed ping is the connection failing: the call reports that itself, with the reason.
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const send = (): void => {
        try {
          if (!session.ping(done)) done();
        } catch {
          done();
        }
      };
      if (session.connecting) session.once('connect', send);
      else send();
    });
    this.pings.set(session, pending);
    void pending.then(() => this.pings.delete(session));
    return pending;
  }

  /** Drops the connection (running calls fail with UNAVAILABLE); the next call connects again. */
  reset(): void {
    const s = this.session;
    this.session = null;
    s?.destroy();
  }

  /** Closes for good; calls fail with CANCELLED afterwards. Safe to call twice. */
  close(): void {
    this.closed = true;
    this.reset();
  }
}
