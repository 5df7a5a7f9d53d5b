// Our HTTP/2 client (through GrpcChannel, the way the etcd client uses it) against node:http2's server,
// a complete and independent implementation: flow control both ways, header blocks over CONTINUATION,
// padding, SETTINGS changed mid-connection, GOAWAY, RST_STREAM and PING; then a raw TCP server that
// breaks the protocol.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GrpcChannel } from '../../../../subnet-lease/etcd/grpc.js';
import { FrameDecoder, frame } from '../../../../subnet-lease/etcd/grpc-frame.js';
import { GrpcError, Status } from '../../../../subnet-lease/etcd/errors.js';
import { FrameReader, FrameType, PREFACE, encodeFrame, encodeSettings } from '../../../../subnet-lease/etcd/h2/frames.js';

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;

interface Peer {
  channel: GrpcChannel;
  sessions: http2.ServerHttp2Session[];
  close(): Promise<void>;
}

async function peer(options: http2.ServerOptions, handler: Handler): Promise<Peer> {
  const server = http2.createServer(options);
  const sessions: http2.ServerHttp2Session[] = [];
  server.on('session', (s) => sessions.push(s));
  server.on('stream', (stream, headers) => {
    // A stream the test resets or refuses ends with an error on this side too.
    stream.on('error', () => {});
    handler(stream, headers);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const channel = new GrpcChannel(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, null);
  return {
    channel,
    sessions,
    close: async () => {
      channel.close();
      for (const s of sessions) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Answers with `messages` and grpc-status 0 (or `status`/`message`) in trailers. */
function reply(stream: http2.ServerHttp2Stream, messages: Buffer[], status = 0, message?: string): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(status), ...(message ? { 'grpc-message': message } : {}) }));
  stream.end(Buffer.concat(messages.map(frame)));
}

/** The gRPC messages of a request, once it is complete. */
function requestMessages(stream: http2.ServerHttp2Stream): Promise<Buffer[]> {
  const d = new FrameDecoder();
  const got: Buffer[] = [];
  stream.on('data', (c: Buffer) => got.push(...d.push(c)));
  return new Promise((resolve) => stream.on('end', () => resolve(got)));
}

const failure = (p: Promise<unknown>): Promise<GrpcError> => p.then(() => { throw new Error('resolved'); }, (e: GrpcError) => e);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('HTTP/2 client against node:http2', () => {
  let p: Peer | null = null;
  afterEach(async () => {
    await p?.close();
    p = null;
  });

  it('receives a 5 MB answer, beyond the initial windows, in padded DATA frames', async () => {
    const big = Buffer.alloc(5 << 20);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
    p = await peer({ paddingStrategy: http2.constants.PADDING_STRATEGY_MAX }, (stream) => reply(stream, [big]));
    const got = await p.channel.unary('/x', Buffer.alloc(0), {}, 20_000);
    expect(got.length).to.equal(big.length);
    expect(sha(got)).to.equal(sha(big));
  });

  it('sends a 1 MiB request to a server with a 1000-byte stream window: split by frame size and window, whole on arrival', async () => {
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    p = await peer({ settings: { initialWindowSize: 1000 } }, (stream) => {
      void requestMessages(stream).then((msgs) => reply(stream, msgs.map((m) => Buffer.from(sha(m)))));
    });
    expect((await p.channel.unary('/x', big, {}, 20_000)).toString()).to.equal(sha(big));
  });

  it('reads response headers and trailers that span HEADERS and CONTINUATION frames', async () => {
    const text = Array.from({ length: 40_000 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join('');
    p = await peer({ maxSendHeaderBlockLength: 1 << 20 }, (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'x-big': text }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '9', 'grpc-message': text }));
      stream.end();
    });
    const err = await failure(p.channel.unary('/x', Buffer.alloc(0), {}, 5000));
    expect([err.code, err.details]).to.deep.equal([Status.FAILED_PRECONDITION, text]);
  });

  it('queues a call while the server\'s MAX_CONCURRENT_STREAMS (lowered to 1 mid-connection) is reached', async () => {
    const order: string[] = [];
    p = await peer({}, (stream, headers) => {
      const path = String(headers[':path']);
      if (path === '/warm-up') {
        stream.session!.settings({ maxConcurrentStreams: 1 });
        return reply(stream, [Buffer.from('ok')]);
      }
      order.push(`start ${path}`);
      stream.on('close', () => order.push(`end ${path}`));
      setTimeout(() => reply(stream, [Buffer.from(path)]), 100);
    });
    await p.channel.unary('/warm-up', Buffer.alloc(0), {}, 5000);
    await sleep(50); // the SETTINGS frame arrives after the answer
    const [a, b] = await Promise.all([p.channel.unary('/a', Buffer.alloc(0), {}, 5000), p.channel.unary('/b', Buffer.alloc(0), {}, 5000)]);
    expect([a.toString(), b.toString()]).to.deep.equal(['/a', '/b']);
    expect(order).to.deep.equal(['start /a', 'end /a', 'start /b', 'end /b']);
  });

  it('applies a change of the server\'s INITIAL_WINDOW_SIZE to a stream already open (0, then 1 MiB)', async () => {
    const body = Buffer.alloc(100_000, 3);
    p = await peer({}, (stream, headers) => {
      if (headers[':path'] === '/warm-up') {
        stream.session!.settings({ initialWindowSize: 0 });
        return reply(stream, [Buffer.from('ok')]);
      }
      void requestMessages(stream).then((msgs) => reply(stream, [Buffer.from(String(msgs[0]?.length))]));
      setTimeout(() => stream.session!.settings({ initialWindowSize: 1 << 20 }), 100);
    });
    await p.channel.unary('/warm-up', Buffer.alloc(0), {}, 5000);
    await sleep(50);
    expect((await p.channel.unary('/x', body, {}, 5000)).toString()).to.equal(String(body.length));
  });

  it('on GOAWAY, fails the calls above the last stream id with UNAVAILABLE, finishes the others, and connects anew', async () => {
    const arrived: http2.ServerHttp2Stream[] = [];
    p = await peer({}, (stream, headers) => {
      if (headers[':path'] === '/after') return reply(stream, [Buffer.from('after')]);
      arrived.push(stream);
      if (arrived.length < 2) return;
      const [first] = arrived;
      stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, first!.id!);
      setTimeout(() => reply(first!, [Buffer.from('first')]), 50);
    });
    const one = p.channel.unary('/one', Buffer.alloc(0), {}, 5000);
    const two = failure(p.channel.unary('/two', Buffer.alloc(0), {}, 5000));
    expect((await one).toString()).to.equal('first');
    const err = await two;
    expect([err.code, err.details]).to.deep.equal([Status.UNAVAILABLE, 'the server is going away (GOAWAY NO_ERROR) and did not take the call']);
    expect((await p.channel.unary('/after', Buffer.alloc(0), {}, 5000)).toString()).to.equal('after');
    expect(p.sessions).to.have.length(2);
  });

  for (const [code, status, details] of [
    [http2.constants.NGHTTP2_REFUSED_STREAM, Status.UNAVAILABLE, 'stream refused by the server'],
    [http2.constants.NGHTTP2_CANCEL, Status.CANCELLED, 'call cancelled'],
    [http2.constants.NGHTTP2_INTERNAL_ERROR, Status.INTERNAL, 'stream reset with code 2'],
  ] as const) {
    it(`maps RST_STREAM ${code} to ${Status[status]}`, async () => {
      p = await peer({}, (stream) => stream.close(code));
      const err = await failure(p.channel.unary('/x', Buffer.alloc(0), {}, 5000));
      expect([err.code, err.details]).to.deep.equal([status, details]);
    });
  }

  it('follows a server that lowers HEADER_TABLE_SIZE to 0 mid-connection (our first block set our table to 0 bytes)', async () => {
    p = await peer({}, (stream, headers) => {
      if (headers[':path'] === '/warm-up') stream.session!.settings({ headerTableSize: 0 });
      reply(stream, [Buffer.from('ok')]);
    });
    await p.channel.unary('/warm-up', Buffer.alloc(0), {}, 3000);
    await sleep(50);
    for (let i = 0; i < 3; i++) expect((await p.channel.unary('/x', Buffer.alloc(0), { n: String(i) }, 3000)).toString()).to.equal('ok');
  });

  it('answers the server\'s PING', async () => {
    p = await peer({}, (stream) => {
      const payload = Buffer.from('8 bytes!');
      stream.session!.ping(payload, (err, _ms, echoed) => reply(stream, [Buffer.from(err ? err.message : echoed.toString())]));
    });
    expect((await p.channel.unary('/x', Buffer.alloc(0), {}, 3000)).toString()).to.equal('8 bytes!');
  });
  it('keeps the process alive while a call runs, and not once its connection is idle', async () => {
    p = await peer({}, (stream) => setTimeout(() => reply(stream, [Buffer.from('late')]), 300));
    const grpc = pathToFileURL(fileURLToPath(new URL('../../../../subnet-lease/etcd/grpc.js', import.meta.url))).href;
    // Nothing else holds the child's event loop: it ends when the call is over, or early if the call does not hold it.
    const script = `
      const { GrpcChannel } = await import(${JSON.stringify(grpc)});
      const call = new GrpcChannel(${JSON.stringify(p.channel.authority)}, null).call('/x', {});
      call.on('data', (m) => console.log('data', m.toString()));
      call.on('end', () => console.log('end'));
      call.on('error', (e) => console.log('error', e.message));
      call.write(Buffer.from('x'));
      call.end();`;
    const t0 = Date.now();
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    expect(out).to.equal('data late\nend\n');
    expect(Date.now() - t0).to.be.below(5000);
  });
});

describe('HTTP/2 client against a server that breaks the protocol', () => {
  for (const [what, bad, code] of [
    ['DATA on stream 0', encodeFrame(FrameType.DATA, 0, 0, Buffer.from('x')), 0x1],
    ['HEADERS on a stream the client never opened', encodeFrame(FrameType.HEADERS, 0x4, 2, Buffer.from([0x88])), 0x1],
    ['a PING of 7 bytes', encodeFrame(FrameType.PING, 0, 0, Buffer.alloc(7)), 0x6],
    ['a header block the decoder cannot read', encodeFrame(FrameType.HEADERS, 0x4 | 0x1, 1, Buffer.from([0x80])), 0x9],
  ] as const) {
    it(`answers ${what} with GOAWAY and fails the call with UNAVAILABLE`, async () => {
      const received: Buffer[] = [];
      const server = net.createServer((socket) => {
        socket.on('data', (c: Buffer) => received.push(c));
        socket.on('error', () => {});
        socket.write(Buffer.concat([encodeSettings([]), bad]));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const channel = new GrpcChannel(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, null);
      try {
        const err = await failure(channel.unary('/x', Buffer.alloc(0), {}, 3000));
        expect(err.code).to.equal(Status.UNAVAILABLE);
        expect(err.details).to.match(/^HTTP\/2 (PROTOCOL_ERROR|FRAME_SIZE_ERROR|COMPRESSION_ERROR) from the server: /);
        await sleep(50);
        const bytes = Buffer.concat(received);
        expect(bytes.subarray(0, PREFACE.length).equals(PREFACE)).to.equal(true);
        const goaway = new FrameReader(1 << 20).push(bytes.subarray(PREFACE.length)).find((f) => f.type === FrameType.GOAWAY);
        expect(goaway?.payload.readUInt32BE(4)).to.equal(code);
      } finally {
        channel.close();
        server.close();
      }
    });
  }
});
