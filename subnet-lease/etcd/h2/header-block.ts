// Header blocks as they arrive: one HEADERS frame, then CONTINUATION frames on the same stream until
// END_HEADERS (§6.10), decoded in order on the connection's one HPACK decoder.
import { ConnectionError, ErrorCode, Flag, FrameType, unpad } from './frames.js';
import type { Frame } from './frames.js';
import { HpackDecoder } from './hpack.js';
import type { HeaderField } from './hpack.js';

/** Header blocks larger than this are refused rather than buffered. */
const MAX_HEADER_BLOCK = 1 << 20;

export interface HeaderBlock {
  streamId: number;
  endStream: boolean;
  fields: HeaderField[];
}

export class HeaderBlockReader {
  private readonly decoder = new HpackDecoder();
  private pending: { streamId: number; endStream: boolean; parts: Buffer[]; bytes: number } | null = null;

  /** The stream whose CONTINUATION must be the next frame, or 0: any other frame is a protocol error. */
  get continuing(): number {
    return this.pending?.streamId ?? 0;
  }

  /** Takes a HEADERS or CONTINUATION frame; returns the block it completes, decoded, else null. */
  push(f: Frame): HeaderBlock | null {
    if (f.type === FrameType.HEADERS) {
      if (f.streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
      // The priority fields (PRIORITY flag) are deprecated and ignored (§5.3.2).
      const fragment = unpad(f, f.flags & Flag.PRIORITY ? 5 : 0);
      this.pending = { streamId: f.streamId, endStream: (f.flags & Flag.END_STREAM) !== 0, parts: [], bytes: 0 };
      return this.add(fragment, f.flags);
    }
    if (!this.pending) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without HEADERS');
    return this.add(f.payload, f.flags);
  }

  private add(fragment: Buffer, flags: number): HeaderBlock | null {
    const block = this.pending!;
    block.parts.push(fragment);
    block.bytes += fragment.length;
    if (block.bytes > MAX_HEADER_BLOCK) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `header block over ${MAX_HEADER_BLOCK} bytes`);
    if (!(flags & Flag.END_HEADERS)) return null;
    this.pending = null;
    return { streamId: block.streamId, endStream: block.endStream, fields: this.decoder.decode(Buffer.concat(block.parts)) };
  }
}
