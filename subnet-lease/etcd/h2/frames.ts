// HTTP/2 frames (RFC 9113 §4, §6): the 9-byte header, the codes, and a reader that cuts a byte stream
// into frames whatever the TCP chunking. Only what the session needs to write has an encoder here.

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const enum FrameType {
  DATA = 0x0,
  HEADERS = 0x1,
  PRIORITY = 0x2,
  RST_STREAM = 0x3,
  SETTINGS = 0x4,
  PUSH_PROMISE = 0x5,
  PING = 0x6,
  GOAWAY = 0x7,
  WINDOW_UPDATE = 0x8,
  CONTINUATION = 0x9,
}

export const enum Flag {
  END_STREAM = 0x1,
  ACK = 0x1,
  END_HEADERS = 0x4,
  PADDED = 0x8,
  PRIORITY = 0x20,
}

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 §7). */
export const enum ErrorCode {
  NO_ERROR = 0x0,
  PROTOCOL_ERROR = 0x1,
  FLOW_CONTROL_ERROR = 0x3,
  FRAME_SIZE_ERROR = 0x6,
  REFUSED_STREAM = 0x7,
  CANCEL = 0x8,
  COMPRESSION_ERROR = 0x9,
}

const CODE_NAMES: Record<number, string> = {
  0: 'NO_ERROR', 1: 'PROTOCOL_ERROR', 2: 'INTERNAL_ERROR', 3: 'FLOW_CONTROL_ERROR', 4: 'SETTINGS_TIMEOUT', 5: 'STREAM_CLOSED',
  6: 'FRAME_SIZE_ERROR', 7: 'REFUSED_STREAM', 8: 'CANCEL', 9: 'COMPRESSION_ERROR', 10: 'CONNECT_ERROR', 11: 'ENHANCE_YOUR_CALM',
  12: 'INADEQUATE_SECURITY', 13: 'HTTP_1_1_REQUIRED',
};

/** The name of an error code, for messages. */
export function errorCodeName(code: number): string {
  return CODE_NAMES[code] ?? `0x${code.toString(16)}`;
}

export const enum Setting {
  ENABLE_PUSH = 0x2,
  MAX_CONCURRENT_STREAMS = 0x3,
  INITIAL_WINDOW_SIZE = 0x4,
  MAX_FRAME_SIZE = 0x5,
}

/** Frames of at most this payload are legal until the peer's SETTINGS say more; we never ask for more. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const DEFAULT_WINDOW = 65_535;
export const MAX_WINDOW = 0x7fff_ffff;

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** A violation by the peer that ends the whole connection with GOAWAY(`code`). */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function encodeFrame(type: FrameType, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId & MAX_WINDOW, 5);
  payload.copy(out, 9);
  return out;
}

export function encodeSettings(values: ReadonlyArray<[Setting, number]>): Buffer {
  const payload = Buffer.allocUnsafe(6 * values.length);
  values.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i);
    payload.writeUInt32BE(value, 6 * i + 2);
  });
  return encodeFrame(FrameType.SETTINGS, 0, 0, payload);
}

/** `value` as a 31-bit big-endian number (WINDOW_UPDATE increments, RST_STREAM codes use 32 bits: same writer). */
export function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

export function encodeGoaway(lastStreamId: number, code: ErrorCode): Buffer {
  return encodeFrame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(lastStreamId), u32(code)]));
}

/**
 * The payload without its padding (PADDED flag: a length byte first, that many zero bytes last) and,
 * for HEADERS with the PRIORITY flag, without the 5 priority bytes that we ignore.
 */
export function unpad(f: Frame, priorityBytes: number): Buffer {
  let body = f.payload;
  let pad = 0;
  if (f.flags & Flag.PADDED) {
    if (body.length < 1) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'padded frame without a pad length');
    pad = body[0]!;
    body = body.subarray(1);
  }
  if (pad + priorityBytes > body.length) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'padding longer than the frame');
  return body.subarray(priorityBytes, body.length - pad);
}

/** Cuts the bytes that arrive into frames; a frame longer than `maxFrameSize` is a connection error. */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {}

  /** The frames `chunk` completes, in order; their payloads are views of the received bytes. */
  push(chunk: Buffer): Frame[] {
    let buf = this.buffered.length > 0 ? Buffer.concat([this.buffered, chunk]) : chunk;
    const frames: Frame[] = [];
    while (buf.length >= 9) {
      const length = buf.readUIntBE(0, 3);
      if (length > this.maxFrameSize) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes, more than the ${this.maxFrameSize} we allow`);
      if (buf.length < 9 + length) break;
      frames.push({ type: buf[3]!, flags: buf[4]!, streamId: buf.readUInt32BE(5) & MAX_WINDOW, payload: buf.subarray(9, 9 + length) });
      buf = buf.subarray(9 + length);
    }
    this.buffered = buf;
    return frames;
  }
}
