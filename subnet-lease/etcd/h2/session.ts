// The client side of one HTTP/2 connection (RFC 9113), as much as a gRPC client of etcd needs: streams
// we open (the server may not push), flow control both ways, SETTINGS, PING and GOAWAY. node:http2
// would do this too, but loading it costs a node process ~3 MiB of RSS, most of an idle flanneld's margin.
//
// Errors: a violation by the server ends the connection with GOAWAY and fails every stream with the
// reason; a closed or failed socket fails them with the socket's message (`connect ECONNREFUSED …`).
import type { Socket } from 'node:net';
import {
  ConnectionError, DEFAULT_WINDOW, ErrorCode, Flag, FrameReader, FrameType, MAX_WINDOW, PREFACE, Setting, encodeFrame, encodeGoaway,
  encodeSettings, errorCodeName, u32, unpad,
} from './frames.js';
import type { Frame } from './frames.js';
import { CONNECTION_WINDOW, ReceiveWindow, STREAM_WINDOW } from './flow.js';
import { HeaderBlockReader } from './header-block.js';
import type { HeaderBlock } from './header-block.js';
import { HpackEncoder } from './hpack.js';
import { PeerSettings } from './peer-settings.js';
import type { HeaderField } from './hpack.js';
import { H2Stream } from './stream.js';
import type { StreamEnd, StreamHandler, StreamOwner } from './stream.js';

export class H2Session implements StreamOwner {
  private readonly reader = new FrameReader();
  private readonly headerBlocks = new HeaderBlockReader();
  private readonly encoder = new HpackEncoder();
  private readonly streams = new Map<number, H2Stream>();
  private readonly queued: H2Stream[] = [];
  /** Our PINGs waiting for their ACK, by payload. */
  private readonly pings = new Map<string, () => void>();
  private nextStreamId = 1;
  private pingCount = 0;
  private gotSettings = false;
  private readonly peer = new PeerSettings();
  private connSendWindow = DEFAULT_WINDOW;
  private readonly connRecv = new ReceiveWindow(CONNECTION_WINDOW);
  /** GOAWAY came (or the stream ids ran out): no new streams; the socket ends after the last one. */
  private goingAway = false;
  private closed = false;

  /**
   * `onGone` is called once, when the session takes no more streams (GOAWAY, failure or close): the
   * owner opens the next connection for the next call.
   */
  constructor(
    private readonly socket: Socket,
    private readonly pseudo: { scheme: string; authority: string },
    private readonly onGone: () => void,
  ) {
    socket.setNoDelay(true);
    // An idle connection does not keep the process alive; a stream open or queued does (see holdWhileBusy).
    socket.unref();
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (e: Error) => this.fail(e.message));
    socket.on('close', () => this.fail('connection closed before the call ended'));
    socket.write(Buffer.concat([
      PREFACE,
      encodeSettings([[Setting.ENABLE_PUSH, 0], [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW]]),
      encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(CONNECTION_WINDOW - DEFAULT_WINDOW)),
    ]));
  }

  /** False once the session takes no more streams. */
  get usable(): boolean {
    return !this.closed && !this.goingAway;
  }

  /** Opens a stream (or queues it while the server's stream limit is reached). Throws when !usable. */
  request(method: string, path: string, headers: readonly HeaderField[], handler: StreamHandler): H2Stream {
    if (!this.usable) throw new Error('the HTTP/2 connection is closing');
    const fields: HeaderField[] = [[':method', method], [':scheme', this.pseudo.scheme], [':authority', this.pseudo.authority], [':path', path], ...headers];
    const stream = new H2Stream(this, fields, handler);
    this.queued.push(stream);
    this.holdWhileBusy();
    this.openQueued();
    return stream;
  }

  /** Resolves when the server answers a PING, or when the connection ends (its streams say why). */
  ping(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(++this.pingCount, 4);
    const key = payload.toString('hex');
    return new Promise((resolve) => {
      this.pings.set(key, resolve);
      this.send(encodeFrame(FrameType.PING, 0, 0, payload));
    });
  }

  /** The socket keeps the process alive while a stream is open or queued, and not once it is idle. */
  private holdWhileBusy(): void {
    if (this.streams.size + this.queued.length > 0) this.socket.ref();
    else this.socket.unref();
  }

  /** Closes the connection at once; open streams fail with `why`. Safe to call twice. */
  destroy(why = 'connection closed before the call ended'): void {
    this.fail(why);
  }

  flushStream(s: H2Stream): void {
    if (s.id === 0 || s.closed) return;
    while (s.outBytes > 0) {
      const n = Math.min(s.outBytes, s.sendWindow, this.connSendWindow, this.peer.maxFrameSize);
      if (n <= 0) return;
      s.sendWindow -= n;
      this.connSendWindow -= n;
      const chunk = s.take(n);
      const last = s.outBytes === 0 && s.endQueued;
      this.send(encodeFrame(FrameType.DATA, last ? Flag.END_STREAM : 0, s.id, chunk));
      if (last) s.endSent = true;
    }
    if (s.endQueued && !s.endSent) {
      s.endSent = true;
      this.send(encodeFrame(FrameType.DATA, Flag.END_STREAM, s.id));
    }
  }

  cancelStream(s: H2Stream): void {
    if (s.id !== 0) this.send(encodeFrame(FrameType.RST_STREAM, 0, s.id, u32(ErrorCode.CANCEL)));
    this.closeStream(s, { reset: ErrorCode.CANCEL });
  }

  private send(bytes: Buffer): void {
    if (!this.closed) this.socket.write(bytes);
  }

  private openQueued(): void {
    while (this.queued.length > 0 && this.streams.size < this.peer.maxStreams && this.usable) {
      const s = this.queued.shift()!;
      s.id = this.nextStreamId;
      this.nextStreamId += 2;
      s.sendWindow = this.peer.initialWindow;
      this.streams.set(s.id, s);
      this.sendHeaders(s);
      this.flushStream(s);
      // Stream ids are 31 bits: past them, a new connection.
      if (this.nextStreamId > MAX_WINDOW) this.goAway();
    }
  }

  private sendHeaders(s: H2Stream): void {
    const block = this.encoder.encode(s.headers);
    const frames: Buffer[] = [];
    for (let off = 0; off === 0 || off < block.length; off += this.peer.maxFrameSize) {
      const part = block.subarray(off, off + this.peer.maxFrameSize);
      const last = off + this.peer.maxFrameSize >= block.length;
      frames.push(encodeFrame(off === 0 ? FrameType.HEADERS : FrameType.CONTINUATION, last ? Flag.END_HEADERS : 0, s.id, part));
    }
    this.send(Buffer.concat(frames));
  }

  /** `later`: the handler hears of it on the next tick, as node:http2 tells of a destroyed session. */
  private closeStream(s: H2Stream, end: StreamEnd, later = false): void {
    if (s.closed) return;
    s.closed = true;
    if (s.id === 0) this.queued.splice(this.queued.indexOf(s), 1);
    else this.streams.delete(s.id);
    this.holdWhileBusy();
    if (later) process.nextTick(() => s.handler.close(end));
    else s.handler.close(end);
    if (this.goingAway && this.streams.size === 0) this.socket.end();
    else this.openQueued();
  }

  private goAway(): void {
    if (this.goingAway) return;
    this.goingAway = true;
    this.onGone();
  }

  private fail(why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.goAway();
    this.socket.destroy();
    // Deferred: destroy() may run while a caller is still attaching its listeners to a call it just made.
    for (const s of [...this.queued, ...this.streams.values()]) this.closeStream(s, { error: why }, true);
    for (const resolve of this.pings.values()) resolve();
    this.pings.clear();
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    try {
      for (const f of this.reader.push(chunk)) {
        if (this.closed) return;
        this.handle(f);
      }
    } catch (e) {
      if (!(e instanceof ConnectionError)) throw e;
      this.send(encodeGoaway(0, e.code));
      this.fail(`HTTP/2 ${errorCodeName(e.code)} from the server: ${e.message}`);
    }
  }

  private handle(f: Frame): void {
    if (!this.gotSettings && (f.type !== FrameType.SETTINGS || f.flags & Flag.ACK)) throw protocolError('the server did not start with SETTINGS');
    const continuing = this.headerBlocks.continuing;
    if (continuing && (f.type !== FrameType.CONTINUATION || f.streamId !== continuing)) throw protocolError('header block interrupted');
    switch (f.type) {
      case FrameType.DATA: return this.onData(f);
      case FrameType.HEADERS:
      case FrameType.CONTINUATION: {
        const block = this.headerBlocks.push(f);
        return block ? this.onHeaderBlock(block) : undefined;
      }
      case FrameType.PRIORITY: return this.onPriority(f);
      case FrameType.RST_STREAM: return this.onReset(f);
      case FrameType.SETTINGS: return this.onSettings(f);
      case FrameType.PUSH_PROMISE: throw protocolError('PUSH_PROMISE, though we disabled push');
      case FrameType.PING: return this.onPing(f);
      case FrameType.GOAWAY: return this.onGoaway(f);
      case FrameType.WINDOW_UPDATE: return this.onWindowUpdate(f);
      default: // Unknown frame types are ignored (§4.1).
    }
  }

  /** The open stream a frame is for; null for one that is closed; a protocol error for one never opened. */
  private streamFor(id: number, frame: string): H2Stream | null {
    if (id === 0) throw protocolError(`${frame} on stream 0`);
    const s = this.streams.get(id);
    if (s) return s;
    if (id % 2 === 0 || id >= this.nextStreamId) throw protocolError(`${frame} on idle stream ${id}`);
    return null;
  }

  private onData(f: Frame): void {
    const s = this.streamFor(f.streamId, 'DATA');
    // The whole frame, padding included, counts against the windows (§6.9.1).
    if (!this.connRecv.receive(f.payload.length)) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    this.sendWindowUpdate(0, this.connRecv);
    const body = unpad(f, 0);
    if (!s) return;
    if (!s.recv.receive(f.payload.length)) return this.resetStream(s, ErrorCode.FLOW_CONTROL_ERROR);
    if (body.length > 0) s.handler.data(body);
    if (f.flags & Flag.END_STREAM) return this.remoteEnd(s);
    if (!s.closed) this.sendWindowUpdate(s.id, s.recv);
  }

  private sendWindowUpdate(streamId: number, window: ReceiveWindow): void {
    const increment = window.takeUpdate();
    if (increment > 0) this.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, u32(increment)));
  }

  private onHeaderBlock(block: HeaderBlock): void {
    // Decoded even for a stream we closed (the HPACK table must follow every block), then dropped.
    const s = this.streamFor(block.streamId, 'HEADERS');
    if (!s) return;
    s.handler.headers(block.fields, block.endStream);
    if (block.endStream) this.remoteEnd(s);
  }

  /** The server ended its side: the stream is over; a request side still open is reset, nobody reads it. */
  private remoteEnd(s: H2Stream): void {
    if (!s.endSent) this.send(encodeFrame(FrameType.RST_STREAM, 0, s.id, u32(ErrorCode.NO_ERROR)));
    this.closeStream(s, {});
  }

  private resetStream(s: H2Stream, code: ErrorCode): void {
    this.send(encodeFrame(FrameType.RST_STREAM, 0, s.id, u32(code)));
    this.closeStream(s, { reset: code });
  }

  private onPriority(f: Frame): void {
    if (f.streamId === 0) throw protocolError('PRIORITY on stream 0');
    if (f.payload.length !== 5) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY frame not 5 bytes long');
  }

  private onReset(f: Frame): void {
    if (f.payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM frame not 4 bytes long');
    const s = this.streamFor(f.streamId, 'RST_STREAM');
    if (s) this.closeStream(s, { reset: f.payload.readUInt32BE(0) });
  }

  private onSettings(f: Frame): void {
    if (f.streamId !== 0) throw protocolError('SETTINGS on a stream');
    if (f.flags & Flag.ACK) {
      if (f.payload.length !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    const change = this.peer.apply(f.payload);
    this.gotSettings = true;
    // A new initial window applies to the open streams' windows too, which may go negative (§6.9.2).
    for (const s of this.streams.values()) {
      s.sendWindow += change.windowDelta;
      if (s.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, `stream ${s.id} window over 2^31-1`);
    }
    this.send(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0));
    this.openQueued();
    for (const s of this.streams.values()) this.flushStream(s);
  }

  private onPing(f: Frame): void {
    if (f.streamId !== 0) throw protocolError('PING on a stream');
    if (f.payload.length !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PING frame not 8 bytes long');
    if (!(f.flags & Flag.ACK)) return this.send(encodeFrame(FrameType.PING, Flag.ACK, 0, f.payload));
    const key = f.payload.toString('hex');
    this.pings.get(key)?.();
    this.pings.delete(key);
  }

  private onGoaway(f: Frame): void {
    if (f.streamId !== 0) throw protocolError('GOAWAY on a stream');
    if (f.payload.length < 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY frame shorter than 8 bytes');
    const last = f.payload.readUInt32BE(0) & MAX_WINDOW;
    const code = f.payload.readUInt32BE(4);
    this.goAway();
    // Streams above `last` were not processed and never will be; those below it go on.
    const why = `the server is going away (GOAWAY ${errorCodeName(code)}) and did not take the call`;
    for (const s of [...this.queued, ...this.streams.values()]) if (s.id === 0 || s.id > last) this.closeStream(s, { error: why });
    if (this.streams.size === 0) this.socket.end();
  }

  private onWindowUpdate(f: Frame): void {
    if (f.payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE frame not 4 bytes long');
    const inc = f.payload.readUInt32BE(0) & MAX_WINDOW;
    if (f.streamId === 0) {
      if (inc === 0) throw protocolError('WINDOW_UPDATE of 0 on the connection');
      this.connSendWindow += inc;
      if (this.connSendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window over 2^31-1');
      for (const s of this.streams.values()) this.flushStream(s);
      return;
    }
    const s = this.streamFor(f.streamId, 'WINDOW_UPDATE');
    if (!s) return;
    if (inc === 0) return this.resetStream(s, ErrorCode.PROTOCOL_ERROR);
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) return this.resetStream(s, ErrorCode.FLOW_CONTROL_ERROR);
    this.flushStream(s);
  }
}

function protocolError(why: string): ConnectionError {
  return new ConnectionError(ErrorCode.PROTOCOL_ERROR, why);
}
