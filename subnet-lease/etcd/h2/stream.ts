// One HTTP/2 stream as the session keeps it: what we still have to send (held back by flow control or
// by the peer's stream limit), the windows, and which side has ended. The session drives it.
import { ReceiveWindow, STREAM_WINDOW } from './flow.js';
import type { HeaderField } from './hpack.js';

/** How a stream ended: normally (neither field), reset, or with its connection. */
export interface StreamEnd {
  /** The RST_STREAM code: the server's, or CANCEL after cancel(). */
  reset?: number;
  /** Why the connection failed or the server refused the stream (GOAWAY), as the text of the error. */
  error?: string;
}

/** What the session tells the stream's user; `close` comes exactly once, last. */
export interface StreamHandler {
  headers(fields: HeaderField[], endStream: boolean): void;
  data(chunk: Buffer): void;
  close(end: StreamEnd): void;
}

/** What a stream needs of its session: to send what write() and end() queued, and to reset it. */
export interface StreamOwner {
  flushStream(s: H2Stream): void;
  cancelStream(s: H2Stream): void;
}

export class H2Stream {
  /** 0 until the HEADERS go out (queued behind the peer's MAX_CONCURRENT_STREAMS). */
  id = 0;
  sendWindow = 0;
  readonly recv = new ReceiveWindow(STREAM_WINDOW);
  readonly out: Buffer[] = [];
  outBytes = 0;
  /** end() was called: END_STREAM follows the queued data. */
  endQueued = false;
  endSent = false;
  closed = false;

  constructor(
    private readonly owner: StreamOwner,
    readonly headers: readonly HeaderField[],
    readonly handler: StreamHandler,
  ) {}

  /** Queues DATA; ignored after end() or the stream's close. */
  write(data: Buffer): void {
    if (this.closed || this.endQueued || data.length === 0) return;
    this.out.push(data);
    this.outBytes += data.length;
    this.owner.flushStream(this);
  }

  /** Half-closes: END_STREAM after the queued data. Safe to call twice. */
  end(): void {
    if (this.closed || this.endQueued) return;
    this.endQueued = true;
    this.owner.flushStream(this);
  }

  /** RST_STREAM(CANCEL) (or drops it from the queue); the handler's close follows. Safe to call twice. */
  cancel(): void {
    if (!this.closed) this.owner.cancelStream(this);
  }

  /** Removes and returns the first `n` queued bytes. */
  take(n: number): Buffer {
    const parts: Buffer[] = [];
    for (let left = n; left > 0; ) {
      const head = this.out[0]!;
      if (head.length <= left) {
        parts.push(head);
        this.out.shift();
        left -= head.length;
      } else {
        parts.push(head.subarray(0, left));
        this.out[0] = head.subarray(left);
        left = 0;
      }
    }
    this.outBytes -= n;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}
