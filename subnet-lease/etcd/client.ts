// A small etcd v3 client: the eight RPCs flanneld makes (Range, Put, DeleteRange, Txn, LeaseGrant,
// LeaseRevoke, Watch, Authenticate) over grpc.ts, with failover between members and password auth.
// It replaced the etcd3 package (with @grpc/grpc-js and protobufjs), which cost a node process ~13 MiB.
import { EventEmitter } from 'node:events';
import { GrpcChannel, type GrpcCall, type TlsFiles } from './grpc.js';
import { ClientClosedError, EtcdInvalidAuthTokenError, GrpcError } from './errors.js';
import * as m from './messages.js';

export interface EtcdClientOptions {
  /** `http(s)://host:port` of each member; unary calls go to the next one when a member fails. */
  endpoints: readonly string[];
  /** TLS for every member; null: plaintext. */
  tls: TlsFiles | null;
  /** etcd user; its token is sent as the `token` metadata of every call. */
  auth?: { username: string; password: string };
  /** Deadline of each unary call attempt, connecting included. */
  timeoutMs: number;
}

/** A Watch call: responses as 'data', then 'error' (GrpcError) or 'end'. */
export interface WatchStream {
  on(event: 'data', listener: (res: m.WatchResponse) => void): this;
  on(event: 'error', listener: (err: unknown) => void): this;
  on(event: 'end', listener: () => void): this;
  write(req: m.WatchRequest): void;
  /** Half-closes the stream. */
  end(): void;
  /** Ends the call; an 'error' (CANCELLED) follows. Safe to call twice. */
  cancel(): void;
}

class EtcdWatchStream extends EventEmitter implements WatchStream {
  constructor(private readonly call: GrpcCall) {
    super();
    call.on('data', (buf: Buffer) => {
      let res: m.WatchResponse;
      try {
        res = m.decodeWatchResponse(buf);
      } catch (e) {
        this.emit('error', e);
        call.cancel();
        return;
      }
      this.emit('data', res);
    });
    call.on('error', (e: unknown) => this.emit('error', e));
    call.on('end', () => this.emit('end'));
  }

  write(req: m.WatchRequest): void {
    this.call.write(m.encodeWatchRequest(req));
  }
  end(): void {
    this.call.end();
  }
  cancel(): void {
    this.call.cancel();
  }
}

/**
 * Calls may run concurrently. A unary call rejects with GrpcError (its `recoverable` says whether trying
 * again can help) after trying each member once, and with ClientClosedError after close(). Nothing here
 * takes an AbortSignal: the registry races calls against its signal, and a call it gives up on still
 * ends by its deadline.
 */
export class EtcdClient {
  private readonly channels: GrpcChannel[];
  /** The member unary calls go to first: the one that answered last. */
  private preferred = 0;
  private token: Promise<string> | null = null;
  private closed = false;

  constructor(private readonly opts: EtcdClientOptions) {
    if (opts.endpoints.length === 0) throw new Error('no etcd endpoints given');
    this.channels = opts.endpoints.map((e) => new GrpcChannel(e, opts.tls));
  }

  range(req: m.RangeRequest): Promise<m.RangeResponse> {
    return this.unary('/etcdserverpb.KV/Range', m.encodeRange(req), m.decodeRangeResponse);
  }
  put(req: m.PutRequest): Promise<{ header: m.ResponseHeader }> {
    return this.unary('/etcdserverpb.KV/Put', m.encodePut(req), m.decodeHeaderOnly);
  }
  deleteRange(req: m.DeleteRangeRequest): Promise<{ header: m.ResponseHeader }> {
    return this.unary('/etcdserverpb.KV/DeleteRange', m.encodeDeleteRange(req), m.decodeHeaderOnly);
  }
  txn(req: m.TxnRequest): Promise<m.TxnResponse> {
    return this.unary('/etcdserverpb.KV/Txn', m.encodeTxn(req), m.decodeTxnResponse);
  }
  leaseGrant(ttlSeconds: number): Promise<m.LeaseGrantResponse> {
    return this.unary('/etcdserverpb.Lease/LeaseGrant', m.encodeLeaseGrant(ttlSeconds), m.decodeLeaseGrantResponse);
  }
  leaseRevoke(id: string): Promise<{ header: m.ResponseHeader }> {
    return this.unary('/etcdserverpb.Lease/LeaseRevoke', m.encodeLeaseRevoke(id), m.decodeHeaderOnly);
  }

  /**
   * Opens a Watch stream on the first member, with `hasleader: true` (etcd's WithRequireLeader): a member
   * cut off from the others ends it with "etcdserver: no leader" rather than keeping it open and silent.
   */
  async watch(): Promise<WatchStream> {
    const channel = this.usable(0);
    const metadata: Record<string, string> = { hasleader: 'true', ...(await this.tokenMetadata(channel)) };
    return new EtcdWatchStream(channel.call('/etcdserverpb.Watch/Watch', metadata));
  }

  /** Forgets the auth token and fetches a new one (from the first member). No-op without auth. */
  async reauthenticate(): Promise<void> {
    this.token = null;
    await this.tokenMetadata(this.usable(0));
  }

  /** Closes every connection; running calls fail, later ones reject with ClientClosedError. Safe to call twice. */
  close(): void {
    this.closed = true;
    for (const c of this.channels) c.close();
  }

  private usable(i: number): GrpcChannel {
    if (this.closed) throw new ClientClosedError('the etcd client is closed');
    return this.channels[i % this.channels.length]!;
  }

  private async unary<T>(path: string, body: Buffer, decode: (b: Buffer) => T): Promise<T> {
    let last: unknown;
    for (let tried = 0; tried < this.channels.length; tried++) {
      const i = this.preferred % this.channels.length;
      const channel = this.usable(i);
      try {
        const res = decode(await this.authorized(channel, (md) => channel.unary(path, body, md, this.opts.timeoutMs)));
        this.preferred = i;
        return res;
      } catch (e) {
        if (this.closed || !(e instanceof GrpcError) || !e.recoverable) throw e;
        last = e;
        // Another member may well answer; this one is tried last from now on.
        if (this.preferred % this.channels.length === i) this.preferred = i + 1;
      }
    }
    throw last;
  }

  /** Runs `fn` with the token metadata; once more with a fresh token when etcd says the token is invalid. */
  private async authorized(channel: GrpcChannel, fn: (md: Record<string, string>) => Promise<Buffer>): Promise<Buffer> {
    const md = await this.tokenMetadata(channel);
    try {
      return await fn(md);
    } catch (e) {
      if (!(e instanceof EtcdInvalidAuthTokenError) || !this.opts.auth) throw e;
      if (this.token && (await this.token.catch(() => null)) === md.token) this.token = null;
      return fn(await this.tokenMetadata(channel));
    }
  }

  private async tokenMetadata(channel: GrpcChannel): Promise<Record<string, string>> {
    const auth = this.opts.auth;
    if (!auth) return {};
    if (!this.token) {
      const body = m.encodeAuthenticate(auth.username, auth.password);
      const fetching = channel.unary('/etcdserverpb.Auth/Authenticate', body, {}, this.opts.timeoutMs).then((b) => m.decodeAuthenticateResponse(b).token);
      this.token = fetching;
      // A failed attempt is not cached: the next call tries again.
      fetching.catch(() => {
        if (this.token === fetching) this.token = null;
      });
    }
    return { token: await this.token };
  }
}
