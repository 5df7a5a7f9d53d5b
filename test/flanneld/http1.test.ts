// The health port's HTTP/1.1 server (flanneld/http1.ts) against raw sockets and real clients: keep-alive
// and pipelining as Prometheus and kubelet use them, requests split byte by byte, bodies read past,
// HEAD, and what it refuses (malformed, oversized, chunked, too slow) with the connection closed.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { Http1Server, type Http1Request } from '../../flanneld/http1.js';

const LIMITS = { headMs: 300, idleMs: 600, maxHeadBytes: 1024 };

interface Conn {
  /** Everything the server sent so far. */
  text: () => string;
  closed: Promise<void>;
  write: (s: string) => void;
  socket: net.Socket;
}

async function connect(port: number): Promise<Conn> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let text = '';
  socket.on('data', (b: Buffer) => (text += b.toString('latin1')));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.on('error', () => {});
  return { text: () => text, closed, write: (s) => socket.write(s), socket };
}

async function until(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The answers in `text`, each as status line, headers (lower-cased names) and body. */
function answers(text: string): { status: string; headers: Map<string, string>; body: string }[] {
  const out = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`incomplete answer: ${JSON.stringify(rest)}`);
    const [status, ...lines] = rest.slice(0, end).split('\r\n');
    const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const bodyLen = Number(headers.get('content-length'));
    out.push({ status: status!, headers, body: rest.slice(end + 4, end + 4 + bodyLen) });
    rest = rest.slice(end + 4 + bodyLen);
  }
  return out;
}

describe('health port HTTP/1.1 server', () => {
  let server: Http1Server;
  const seen: Http1Request[] = [];

  beforeEach(async () => {
    seen.length = 0;
    server = new Http1Server((req) => {
      seen.push(req);
      if (req.path === '/big') return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: 'x'.repeat(200_000) };
      return { status: req.path === '/ok' ? 200 : 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: `${req.method} ${req.path}` };
    }, LIMITS);
    await server.listen(0, '127.0.0.1');
  });
  afterEach(async () => server.close(100));

  it('answers several requests on one kept-alive connection, with Date and Content-Length', async () => {
    const c = await connect(server.port);
    c.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => answers(c.text()).length === 1, 'first answer');
    c.write('GET /nope?x=1 HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => answers(c.text()).length === 2, 'second answer');
    const [a, b] = answers(c.text());
    expect(a!.status).to.equal('HTTP/1.1 200 OK');
    expect(a!.body).to.equal('GET /ok');
    expect(a!.headers.get('content-length')).to.equal('7');
    expect(new Date(a!.headers.get('date')!).getTime()).to.be.closeTo(Date.now(), 5000);
    expect(a!.headers.has('connection')).to.equal(false);
    expect(b!.status).to.equal('HTTP/1.1 404 Not Found');
    expect(b!.body).to.equal('GET /nope');
    expect(c.socket.destroyed).to.equal(false);
  });

  it('answers pipelined requests in order, and a request that arrives one byte at a time', async () => {
    const c = await connect(server.port);
    c.write('GET /ok HTTP/1.1\r\n\r\nPOST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\n\r\n');
    await until(() => answers(c.text()).length === 3, 'three answers');
    expect(answers(c.text()).map((a) => a.body)).to.deep.equal(['GET /ok', 'POST /a', 'GET /b']);
    const req = '\r\nGET /%6Fk HTTP/1.1\r\nUser-Agent: slow\r\n\r\n';
    for (const ch of req) {
      c.write(ch);
      await new Promise((r) => setTimeout(r, 1));
    }
    await until(() => answers(c.text()).length === 4, 'the byte-by-byte answer');
    expect(answers(c.text())[3]!.body).to.equal('GET /ok');
  });

  it('reads past a body that comes in pieces after the head, and serves the next request', async () => {
    const c = await connect(server.port);
    c.write('PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n01234');
    await until(() => answers(c.text()).length === 1, 'answer to the PUT');
    c.write('56789GET /ok HTTP/1.1\r\n\r\n');
    await until(() => answers(c.text()).length === 2, 'answer after the body');
    expect(seen.map((r) => `${r.method} ${r.path}`)).to.deep.equal(['PUT /x', 'GET /ok']);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const c = await connect(server.port);
    c.write('HEAD /ok HTTP/1.1\r\n\r\nGET /ok HTTP/1.1\r\n\r\n');
    await until(() => c.text().includes('GET /ok'), 'the GET after the HEAD');
    const [head, rest] = c.text().split(/(?<=\r\n\r\n)/, 2);
    expect(head).to.match(/^HTTP\/1\.1 200 OK\r\n[^]*Content-Length: 8\r\n/);
    expect(rest).to.match(/^HTTP\/1\.1 200 OK/);
  });

  it('closes after answering Connection: close and HTTP/1.0; keeps HTTP/1.0 keep-alive open', async () => {
    for (const req of ['GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n', 'GET /ok HTTP/1.0\r\n\r\n']) {
      const c = await connect(server.port);
      c.write(req);
      await c.closed;
      expect(c.text()).to.match(/^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n\r\nGET \/ok$/);
    }
    const c = await connect(server.port);
    c.write('GET /ok HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /ok HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n');
    await until(() => answers(c.text()).length === 2, 'two answers');
    expect(c.socket.destroyed).to.equal(false);
  });

  for (const [what, req, status] of [
    ['a malformed request line', 'GET /ok\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
    ['HTTP/2 prior knowledge on the HTTP/1 port', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
    ['a header line without a name', 'GET /ok HTTP/1.1\r\n: x\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
    ['a Content-Length that is not a number', 'GET /ok HTTP/1.1\r\nContent-Length: -1\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
    ['a chunked body', 'POST /ok HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'HTTP/1.1 501 Not Implemented'],
    ['a head over the limit', `GET /ok HTTP/1.1\r\nX: ${'a'.repeat(2000)}\r\n\r\n`, 'HTTP/1.1 431 Request Header Fields Too Large'],
    ['a head over the limit that never ends', `GET /ok HTTP/1.1\r\nX: ${'a'.repeat(2000)}`, 'HTTP/1.1 431 Request Header Fields Too Large'],
  ] as const) {
    it(`refuses ${what} with "${status.slice(9)}" and closes the connection`, async () => {
      const c = await connect(server.port);
      c.write(req);
      await c.closed;
      expect(c.text().split('\r\n')[0]).to.equal(status);
      expect(c.text()).to.include('Connection: close\r\n');
      expect(seen).to.deep.equal([]);
    });
  }

  it('closes a connection whose request head does not complete in time, and one left idle', async () => {
    const slow = await connect(server.port);
    slow.write('GET /ok HTTP/1.1\r\n');
    const t0 = Date.now();
    await slow.closed;
    expect(Date.now() - t0).to.be.within(LIMITS.headMs - 50, LIMITS.idleMs - 50);
    expect(slow.text()).to.equal('');
    const idle = await connect(server.port);
    idle.write('GET /ok HTTP/1.1\r\n\r\n');
    await until(() => answers(idle.text()).length === 1, 'answer');
    const t1 = Date.now();
    await idle.closed;
    expect(Date.now() - t1).to.be.at.least(LIMITS.idleMs - 50);
  });

  it('on close, stops accepting and ends open connections after their answers', async () => {
    const c = await connect(server.port);
    c.write('GET /big HTTP/1.1\r\n\r\n');
    await until(() => c.text().length > 0, 'the start of the answer');
    await server.close(2000);
    await c.closed;
    expect(answers(c.text())[0]!.body.length).to.equal(200_000);
    const refused = net.connect(server.port || 1, '127.0.0.1');
    const err = await new Promise<Error | null>((r) => {
      refused.once('error', r);
      refused.once('connect', () => r(null));
    });
    expect(err).to.be.an('error');
  });

  it('is understood by real clients: fetch, and curl with keep-alive across two URLs', async () => {
    const r = await fetch(`http://127.0.0.1:${server.port}/ok`);
    expect([r.status, r.headers.get('content-type'), await r.text()]).to.deep.equal([200, 'text/plain; charset=utf-8', 'GET /ok']);
    const { stdout, stderr } = await promisify(execFile)('curl', ['-sv', `http://127.0.0.1:${server.port}/ok`, `http://127.0.0.1:${server.port}/x`]);
    expect(stdout).to.equal('GET /okGET /x');
    expect(stderr).to.match(/Re-using existing connection|Reusing existing/);
  });

  it('rejects listen on a port in use with the system error', async () => {
    const other = new Http1Server(() => ({ status: 200, headers: {}, body: '' }));
    const err = await other.listen(server.port, '127.0.0.1').then(() => null, (e: Error) => e);
    expect(err?.message).to.match(/EADDRINUSE/);
  });
});
