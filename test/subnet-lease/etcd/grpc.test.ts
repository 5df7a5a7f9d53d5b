// gRPC framing and call outcomes of the etcd client, against an in-process HTTP/2 server: messages
// split across chunks or packed into one, the status in trailers or in a trailers-only answer, etcd's
// error texts mapped to their classes, the deadline, and a connection that goes away mid-call.
import { expect } from 'chai';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { GrpcChannel } from '../../../subnet-lease/etcd/grpc.js';
import { FrameDecoder, frame } from '../../../subnet-lease/etcd/grpc-frame.js';
import { EtcdAuthenticationFailedError, EtcdInvalidAuthTokenError, GrpcError, Status } from '../../../subnet-lease/etcd/errors.js';

describe('gRPC framing', () => {
  const a = Buffer.from('first message');
  const b = Buffer.alloc(70_000, 7);
  const empty = Buffer.alloc(0);
  const wire = Buffer.concat([frame(a), frame(empty), frame(b)]);

  it('puts together a message split across chunks, one byte at a time', () => {
    const d = new FrameDecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < wire.length; i++) out.push(...d.push(wire.subarray(i, i + 1)));
    expect(out.map((x) => x.length)).to.deep.equal([a.length, 0, b.length]);
    expect(out[0]!.equals(a) && out[2]!.equals(b)).to.equal(true);
    expect(d.buffered).to.equal(0);
  });

  it('splits several messages that arrive in one chunk, keeping the incomplete rest', () => {
    const d = new FrameDecoder();
    const out = d.push(wire.subarray(0, wire.length - 10));
    expect(out.map((x) => x.toString())).to.deep.equal([a.toString(), '']);
    expect(d.buffered).to.equal(5 + b.length - 10);
    expect(d.push(wire.subarray(wire.length - 10))[0]!.equals(b)).to.equal(true);
  });

  it('puts together a 1 MiB message (a large listing) from 16 KiB chunks, with the next message in its last chunk', () => {
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const bytes = Buffer.concat([frame(big), frame(a)]);
    const d = new FrameDecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 16384) out.push(...d.push(bytes.subarray(i, i + 16384)));
    expect(out).to.have.length(2);
    expect(out[0]!.equals(big)).to.equal(true);
    expect(out[1]!.equals(a)).to.equal(true);
  });

  it('refuses a compressed message (none was negotiated)', () => {
    const f = frame(a);
    f[0] = 1;
    expect(() => new FrameDecoder().push(f)).to.throw(GrpcError, /compressed/);
  });
});

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;

describe('gRPC calls over node:http2', () => {
  let server: http2.Http2Server;
  let handler: Handler;
  let channel: GrpcChannel;
  const seen: http2.IncomingHttpHeaders[] = [];
  before(async () => {
    server = http2.createServer();
    server.on('stream', (stream, headers) => {
      seen.push(headers);
      handler(stream, headers);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    channel = new GrpcChannel(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, null);
  });
  after(async () => {
    channel.close();
    await new Promise((r) => server.close(r));
  });

  const answer = (status: number, message?: string, body?: Buffer[]): Handler => (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(status), ...(message ? { 'grpc-message': encodeURIComponent(message) } : {}) }));
    // Several messages in one write, the way a server may coalesce them.
    stream.end(Buffer.concat((body ?? []).map(frame)));
  };
  const failure = (p: Promise<unknown>): Promise<Error> => p.then(() => { throw new Error('resolved'); }, (e: Error) => e);

  it('sends the gRPC headers and metadata, and returns the one response message', async () => {
    handler = answer(0, undefined, [Buffer.from('pong')]);
    const res = await channel.unary('/etcdserverpb.KV/Range', Buffer.from('ping'), { token: 't0k' }, 2000);
    expect(res.toString()).to.equal('pong');
    const h = seen.at(-1)!;
    expect([h[':path'], h['content-type'], h.te, h.token, h['grpc-timeout']]).to.deep.equal(['/etcdserverpb.KV/Range', 'application/grpc', 'trailers', 't0k', '2000m']);
  });

  it('gives the status of a trailers-only answer, with etcd\'s text deciding the class', async () => {
    handler = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '3', 'grpc-message': 'etcdserver: authentication failed, invalid user ID or password' }, { endStream: true });
    };
    const err = await failure(channel.unary('/etcdserverpb.Auth/Authenticate', Buffer.alloc(0), {}, 2000));
    expect(err).to.be.instanceOf(EtcdAuthenticationFailedError);
    expect((err as GrpcError).recoverable).to.equal(false);
    expect(err.message).to.equal('3 INVALID_ARGUMENT: etcdserver: authentication failed, invalid user ID or password');
  });

  it('maps "no leader" to a recoverable GRPCUnavailableError and an expired token to EtcdInvalidAuthTokenError', async () => {
    handler = answer(14, 'etcdserver: no leader');
    const noLeader = await failure(channel.unary('/x', Buffer.alloc(0), {}, 2000));
    expect([noLeader.name, (noLeader as GrpcError).recoverable, noLeader.message]).to.deep.equal(['GRPCUnavailableError', true, '14 UNAVAILABLE: etcdserver: no leader']);
    handler = answer(3, 'etcdserver: invalid auth token');
    expect(await failure(channel.unary('/x', Buffer.alloc(0), {}, 2000))).to.be.instanceOf(EtcdInvalidAuthTokenError);
  });

  it('shows a grpc-message that is not valid percent-encoding as it came', async () => {
    handler = (stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '2', 'grpc-message': 'bad %zz text' }, { endStream: true });
    expect((await failure(channel.unary('/x', Buffer.alloc(0), {}, 2000))).message).to.equal('2 UNKNOWN: bad %zz text');
  });

  it('streams: several requests and responses, then the end', async () => {
    handler = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      const d = new FrameDecoder();
      stream.on('data', (c: Buffer) => {
        for (const msg of d.push(c)) stream.write(frame(Buffer.from(`echo ${msg.toString()}`)));
      });
      stream.on('end', () => stream.end());
    };
    const call = channel.call('/etcdserverpb.Watch/Watch', { hasleader: 'true' });
    const got: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      call.on('data', (msg: Buffer) => got.push(msg.toString()));
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.write(Buffer.from('1'));
    call.write(Buffer.from('2'));
    call.end();
    await ended;
    expect(got).to.deep.equal(['echo 1', 'echo 2']);
    expect(seen.at(-1)!.hasleader).to.equal('true');
  });

  it('fails with DEADLINE_EXCEEDED when the answer does not come in time', async () => {
    handler = () => {};
    const err = await failure(channel.unary('/x', Buffer.alloc(0), {}, 100));
    expect([err.name, (err as GrpcError).code]).to.deep.equal(['GRPCDeadlineExceededError', Status.DEADLINE_EXCEEDED]);
  });

  it('fails a running stream with UNAVAILABLE when the connection drops, and connects again for the next call', async () => {
    handler = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      setTimeout(() => stream.session?.destroy(), 20);
    };
    const call = channel.call('/etcdserverpb.Watch/Watch', {});
    const err = await new Promise<GrpcError>((resolve) => call.on('error', resolve));
    expect(err.code).to.equal(Status.UNAVAILABLE);
    handler = answer(0, undefined, [Buffer.from('again')]);
    expect((await channel.unary('/x', Buffer.alloc(0), {}, 2000)).toString()).to.equal('again');
  });

  it('gives up on a member that accepts the connection but answers nothing (a frozen process) after the ping timeout, not the deadline', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const frozen = new GrpcChannel(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, null, 200);
    try {
      const t0 = Date.now();
      const err = await failure(frozen.unary('/x', Buffer.alloc(0), {}, 10_000));
      expect(err.message).to.equal('14 UNAVAILABLE: the member did not answer an HTTP/2 ping within 200 ms');
      expect(Date.now() - t0).to.be.below(5000);
    } finally {
      frozen.close();
      silent.close();
    }
  });

  it('waits for a slow answer from a member that answers pings (etcd without quorum)', async () => {
    const slow = new GrpcChannel(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, null, 100);
    handler = (stream) => setTimeout(() => answer(0, undefined, [Buffer.from('late')])(stream, {}), 400);
    try {
      expect((await slow.unary('/x', Buffer.alloc(0), {}, 5000)).toString()).to.equal('late');
    } finally {
      slow.close();
    }
  });

  it('reports cancel() as CANCELLED, once', async () => {
    handler = (stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
    const call = channel.call('/etcdserverpb.Watch/Watch', {});
    const errors: GrpcError[] = [];
    call.on('error', (e: GrpcError) => errors.push(e));
    call.cancel();
    call.cancel();
    await new Promise((r) => setTimeout(r, 50));
    expect(errors.map((e) => e.code)).to.deep.equal([Status.CANCELLED]);
  });
});
