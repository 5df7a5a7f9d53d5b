// A small HTTP/1.1 server over node:net for the health port: requests in, one synchronous answer each.
// node:http is not loaded in etcd mode for this (what it would cost: `npm run bench -- --only footprint`,
// README "Dependencies"). What a health port meets is served as Go's net/http would: any method,
// keep-alive for HTTP/1.1 (Prometheus and kubelet reuse connections), pipelined requests answered in
// order, request bodies read past, HEAD without a body. What it refuses gets the status Go gives and
// the connection closed: a malformed request line or header (400), a head over `maxHeadBytes` (431),
// a chunked body (501: nothing here reads bodies). A connection idle for `idleMs`, or a request whose
// head takes longer than `headMs` to arrive, is closed.
import net from 'node:net';

export interface Http1Request {
  method: string;
  /** The target's path, percent-decoded, without the query. */
  path: string;
}

export interface Http1Answer {
  status: number;
  /** Content-Type and any other headers; Content-Length and Date are added. */
  headers: Record<string, string>;
  body: string;
}

export interface Http1Limits {
  headMs: number;
  idleMs: number;
  maxHeadBytes: number;
}

export const DEFAULT_LIMITS: Http1Limits = { headMs: 10_000, idleMs: 60_000, maxHeadBytes: 16_384 };

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.([01])$/;
const HEAD_END = Buffer.from('\r\n\r\n');

/** The serialized answer; `close` adds `Connection: close`. */
function encode(a: Http1Answer, head: boolean, close: boolean): Buffer {
  const body = Buffer.from(a.body);
  let text = `HTTP/1.1 ${a.status} ${REASONS[a.status] ?? 'Unknown'}\r\n`;
  for (const [k, v] of Object.entries(a.headers)) text += `${k}: ${v}\r\n`;
  text += `Date: ${new Date().toUTCString()}\r\nContent-Length: ${body.length}\r\n`;
  if (close) text += 'Connection: close\r\n';
  text += '\r\n';
  return head ? Buffer.from(text) : Buffer.concat([Buffer.from(text), body]);
}

const plain = (status: number, body: string): Http1Answer => ({ status, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body });

function pathOf(target: string): string {
  let raw = target;
  if (!raw.startsWith('/')) {
    // absolute-form (`GET http://host/healthz`), which a proxy may send
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*(.*)$/i.exec(raw);
    raw = m ? m[1] || '/' : raw;
  }
  raw = raw.split('?')[0]!.split('#')[0]!;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

type Parsed = { kind: 'more' } | { kind: 'bad'; answer: Http1Answer } | { kind: 'request'; req: Http1Request; close: boolean; length: number };

/** One request from the front of `buf`: its head, and the body it announces (which is skipped). */
function parse(buf: Buffer, limits: Http1Limits): Parsed {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return buf.length > limits.maxHeadBytes ? { kind: 'bad', answer: plain(431, '431 Request Header Fields Too Large') } : { kind: 'more' };
  if (end > limits.maxHeadBytes) return { kind: 'bad', answer: plain(431, '431 Request Header Fields Too Large') };
  // Go skips empty lines before a request line, as RFC 9112 §2.2 allows.
  const lines = buf.toString('latin1', 0, end).replace(/^(\r\n)+/, '').split('\r\n');
  const m = REQUEST_LINE.exec(lines[0]!);
  if (!m) return { kind: 'bad', answer: plain(400, '400 Bad Request') };
  const minor = m[3]!;
  let close = minor === '0';
  let bodyLength = 0;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) return { kind: 'bad', answer: plain(400, '400 Bad Request') };
    const value = line.slice(colon + 1).trim();
    switch (name.toLowerCase()) {
      case 'connection': {
        const tokens = value.toLowerCase().split(',').map((t) => t.trim());
        if (tokens.includes('close')) close = true;
        else if (minor === '0' && tokens.includes('keep-alive')) close = false;
        break;
      }
      case 'content-length':
        if (!/^\d{1,15}$/.test(value)) return { kind: 'bad', answer: plain(400, '400 Bad Request') };
        bodyLength = Number(value);
        break;
      case 'transfer-encoding':
        return { kind: 'bad', answer: plain(501, '501 Not Implemented') };
    }
  }
  return { kind: 'request', req: { method: m[1]!, path: pathOf(m[2]!) }, close, length: end + HEAD_END.length + bodyLength };
}

export class Http1Server {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly handler: (req: Http1Request) => Http1Answer,
    private readonly limits: Http1Limits = DEFAULT_LIMITS,
  ) {
    this.server = net.createServer((socket) => this.serve(socket));
  }

  /** Listens on host:port; rejects with the listen error (EADDRINUSE, EADDRNOTAVAIL, …). */
  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  on(event: 'error', fn: (e: Error) => void): void {
    this.server.on(event, fn);
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  /** Stops accepting; connections end once their answers are written, and are cut after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.end();
    const timer = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, graceMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
  }

  private serve(socket: net.Socket): void {
    let buf: Buffer = Buffer.alloc(0);
    /** Runs while part of a request is here: the rest of its head must follow within headMs. */
    let headTimer: NodeJS.Timeout | null = null;
    const stopHeadTimer = (): void => {
      if (headTimer) clearTimeout(headTimer);
      headTimer = null;
    };
    let done = false;
    const finish = (answer: Buffer): void => {
      done = true;
      stopHeadTimer();
      socket.end(answer);
    };
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      stopHeadTimer();
    });
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    socket.setTimeout(this.limits.idleMs, () => socket.destroy());
    /** Body bytes of the last request still to come: read past, not kept. */
    let skip = 0;
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      if (skip > 0) {
        const n = Math.min(skip, chunk.length);
        skip -= n;
        chunk = chunk.subarray(n);
      }
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        const p = parse(buf, this.limits);
        if (p.kind === 'more') break;
        if (p.kind === 'bad') return finish(encode(p.answer, false, true));
        skip = Math.max(0, p.length - buf.length);
        buf = buf.subarray(Math.min(p.length, buf.length));
        stopHeadTimer();
        const answer = encode(this.handler(p.req), p.req.method === 'HEAD', p.close);
        if (p.close) return finish(answer);
        socket.write(answer);
      }
      if (buf.length === 0) stopHeadTimer();
      else headTimer ??= setTimeout(() => socket.destroy(), this.limits.headMs);
    });
  }
}
