// gRPC over our HTTP/2 client (h2/), as much as an etcd client needs: one HTTP/2 connection per member,
// unary calls with a deadline, and bidirectional streams. Messages are framed as grpc-frame.ts says; the
// call's outcome is the grpc-status trailer (or header, for a trailers-only answer). Failures are
// GrpcError with the status code (errors.ts names them).
import { EventEmitter } from 'node:events';
import { GrpcError, Status, grpcError } from './errors.js';
import { FrameDecoder, frame } from './grpc-frame.js';
import { connectSocket } from './h2/connect.js';
import { ErrorCode } from './h2/frames.js';
import type { HeaderField } from './h2/hpack.js';
import { H2Session } from './h2/session.js';
import type { H2Stream, StreamEnd, StreamHandler } from './h2/stream.js';

export interface TlsFiles {
  /** PEM; absent: the system's roots. */
  ca?: Buffer;
  key?: Buffer;
  cert?: Buffer;
}

/** As long as the watch waits for a progress answer (watch.ts): a live member answers a PING in milliseconds. */
export const DEFAULT_PING_TIMEOUT_MS = 3000;

/** The call's status from the grpc-status / grpc-message fields; null when there is none. */
function statusOf(headers: Record<string, string>): GrpcError | null | 'ok' {
  const raw = headers['grpc-status'];
  if (raw === undefined) return null;
  const code = Number(raw);
  if (code === Status.OK) return 'ok';
  return grpcError(Number.isInteger(code) ? code : Status.UNKNOWN, grpcMessage(headers['grpc-message']));
}

/** grpc-message is percent-encoded; a malformed one is shown as it came rather than lost. */
function grpcMessage(raw: string | undefined): string {
  const text = raw ?? '';
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
export class GrpcCall extends EventEmitter implements StreamHandler {
  private readonly decoder = new FrameDecoder();
  private readonly stream: H2Stream;
  private status: GrpcError | null | 'ok' = null;
  private gotResponse = false;
  private finished = false;

  /** `open` starts the HTTP/2 stream with this call as its handler. */
  constructor(open: (handler: StreamHandler) => H2Stream) {
    super();
    this.stream = open(this);
  }

  headers(fields: HeaderField[]): void {
    const headers = headerMap(fields);
    if (this.gotResponse) {
      this.status = statusOf(headers) ?? this.status;
      return;
    }
    const code = headers[':status'] ?? '';
    if (code.startsWith('1')) return; // informational: the response follows
    this.gotResponse = true;
    if (code !== '200') this.status = new GrpcError(httpStatusToGrpc(Number(code)), `HTTP status ${code}`);
    this.status = statusOf(headers) ?? this.status; // trailers-only answer
  }

  data(chunk: Buffer): void {
    try {
      for (const m of this.decoder.push(chunk)) this.emit('data', m);
    } catch (e) {
      this.finish(e as GrpcError);
      this.stream.cancel();
    }
  }

  close(end: StreamEnd): void {
    // A status that already came (trailers, then a reset) says more than the connection's failure.
    if (end.error !== undefined) this.finish(this.status instanceof GrpcError ? this.status : new GrpcError(Status.UNAVAILABLE, end.error));
    else this.finish(this.closeStatus(end.reset));
  }

  private closeStatus(rst: number | undefined): GrpcError | 'ok' {
    if (this.status) return this.status;
    if (rst === ErrorCode.REFUSED_STREAM) return new GrpcError(Status.UNAVAILABLE, 'stream refused by the server');
    if (rst === ErrorCode.CANCEL) return new GrpcError(Status.CANCELLED, 'call cancelled');
    if (rst !== undefined && rst !== ErrorCode.NO_ERROR) return new GrpcError(Status.INTERNAL, `stream reset with code ${rst}`);
    return new GrpcError(Status.UNAVAILABLE, 'connection closed before the call ended');
  }

  private finish(status: GrpcError | 'ok'): void {
    if (this.finished) return;
    this.finished = true;
    if (status === 'ok') this.emit('end');
    else this.emit('error', status);
  }

  write(message: Buffer): void {
    if (!this.finished) this.stream.write(frame(message));
  }

  /** Half-closes: no more messages from us. */
  end(): void {
    this.stream.end();
  }

  /** Ends the call at once (RST_STREAM CANCEL); 'error' with CANCELLED follows unless it had ended. Safe to call twice. */
  cancel(): void {
    this.finish(new GrpcError(Status.CANCELLED, 'call cancelled'));
    this.stream.cancel();
  }
}

/** Header fields by name; a repeated field's values joined with commas. */
function headerMap(fields: HeaderField[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const [name, value] of fields) map[name] = name in map ? `${map[name]},${value}` : value;
  return map;
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
  private session: H2Session | null = null;
  private readonly pings = new WeakMap<H2Session, Promise<boolean>>();
  private closed = false;
  private readonly url: URL;
  readonly authority: string;

  constructor(
    endpoint: string,
    private readonly tls: TlsFiles | null,
    /** How long a member may take to answer a PING during a unary call before the call gives up on it. */
    private readonly pingTimeoutMs = DEFAULT_PING_TIMEOUT_MS,
  ) {
    this.url = new URL(endpoint.includes('://') ? endpoint : `http://${endpoint}`);
    this.authority = `${tls ? 'https' : 'http'}://${this.url.host}`;
  }

  private connect(): H2Session {
    if (this.closed) throw new GrpcError(Status.CANCELLED, 'channel closed');
    if (this.session?.usable) return this.session;
    const scheme = this.tls ? 'https' : 'http';
    // The session keeps the process alive only while a call runs on it.
    const session: H2Session = new H2Session(connectSocket(this.url, this.tls), { scheme, authority: this.url.host }, () => this.drop(session));
    this.session = session;
    return session;
  }

  private drop(session: H2Session): void {
    if (this.session === session) this.session = null;
  }

  /** Starts a call on `path` (`/etcdserverpb.KV/Range`) with `metadata` as headers. */
  call(path: string, metadata: Record<string, string>): GrpcCall {
    const session = this.connect();
    const fields: HeaderField[] = [['content-type', 'application/grpc'], ['te', 'trailers'], ...Object.entries(metadata)];
    try {
      return new GrpcCall((handler) => session.request('POST', path, fields, handler));
    } catch (e) {
      // A connection that is going away refuses new streams: the next call opens another.
      this.reset();
      throw new GrpcError(Status.UNAVAILABLE, (e as Error).message);
    }
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
      void session.ping().then(() => {
        clearTimeout(timer);
        resolve(true);
      });
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
