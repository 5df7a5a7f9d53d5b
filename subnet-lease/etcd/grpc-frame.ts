// gRPC's message framing: each message is a 5-byte prefix (a compressed flag, which we never set nor
// accept, and the big-endian length) followed by the protobuf bytes. HTTP/2 delivers them in chunks that
// need not line up with messages; a listing of thousands of leases is one message over many chunks.
import { GrpcError, Status } from './errors.js';

/** A message larger than this is refused rather than buffered (etcd's own default limit is 2 MiB per request). */
const MAX_MESSAGE = 64 * 1024 * 1024;

/** Splits a byte stream into gRPC messages, whatever the chunking; each byte is copied at most once. */
export class FrameDecoder {
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Length of the message whose prefix was read; -1 while waiting for a prefix. */
  private need = -1;

  /** Feeds one chunk; returns the messages it completed, in order. Throws GrpcError on a bad prefix. */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.pendingBytes < 5) break;
        const prefix = this.take(5);
        if (prefix[0] !== 0) throw new GrpcError(Status.INTERNAL, 'compressed gRPC message, but no compression was negotiated');
        this.need = prefix.readUInt32BE(1);
        if (this.need > MAX_MESSAGE) throw new GrpcError(Status.RESOURCE_EXHAUSTED, `gRPC message of ${this.need} bytes is too large`);
      }
      if (this.pendingBytes < this.need) break;
      out.push(this.take(this.need));
      this.need = -1;
    }
    return out;
  }

  /** Bytes received and not yet returned as a message (an incomplete prefix or message). */
  get buffered(): number {
    return this.pendingBytes + (this.need >= 0 ? 5 : 0);
  }

  /** The next `n` buffered bytes: a view when one chunk holds them, else one copy. */
  private take(n: number): Buffer {
    const first = this.pending[0];
    if (n === 0 || !first) return Buffer.alloc(0);
    this.pendingBytes -= n;
    if (first.length >= n) {
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    for (let off = 0; off < n; ) {
      const c = this.pending[0]!;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.pending.shift();
      else this.pending[0] = c.subarray(k);
    }
    return out;
  }
}

export function frame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}
