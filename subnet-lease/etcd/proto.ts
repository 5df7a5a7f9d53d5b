// The protobuf wire format, just as much of it as etcd's messages need: varints (int64 as decimal text,
// exact over the whole range), length-delimited fields (bytes, strings, nested messages) and skipping
// what we do not read. Field numbers and message shapes live in messages.ts.

/** Wire types (the low three bits of a field's tag). */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const I32 = 5;

export class ProtoError extends Error {
  override name = 'ProtoError';
}

/** Builds one message. Nested messages are encoded first and written as bytes (ours are small). */
export class ProtoWriter {
  private readonly parts: Buffer[] = [];
  private scratch: number[] = [];

  /** An unsigned varint of a number in 0..2^53-1, or of a bigint (negative ones as 64-bit two's complement). */
  private varint(v: number | bigint): void {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v) || v < 0) throw new ProtoError(`varint out of range: ${v}`);
      while (v > 0x7f) {
        this.scratch.push((v % 128) | 0x80);
        v = Math.floor(v / 128);
      }
      this.scratch.push(v);
      return;
    }
    let u = BigInt.asUintN(64, v);
    while (u > 0x7fn) {
      this.scratch.push(Number(u & 0x7fn) | 0x80);
      u >>= 7n;
    }
    this.scratch.push(Number(u));
  }

  private flush(): void {
    if (this.scratch.length === 0) return;
    this.parts.push(Buffer.from(this.scratch));
    this.scratch = [];
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** An int64 field from a number, bigint or decimal string; zero is left out (proto3) unless `always`. */
  int64(field: number, v: number | bigint | string | undefined, always = false): this {
    if (v === undefined) return this;
    const n = typeof v === 'string' ? BigInt(v) : v;
    if (!always && (n === 0 || n === 0n)) return this;
    this.tag(field, VARINT);
    this.varint(typeof n === 'number' && n < 0 ? BigInt(n) : n);
    return this;
  }

  bool(field: number, v: boolean | undefined): this {
    if (!v) return this;
    this.tag(field, VARINT);
    this.varint(1);
    return this;
  }

  /** Bytes, a string (UTF-8) or an encoded message; empty ones are left out unless `always` (a oneof member). */
  bytes(field: number, v: Uint8Array | string | undefined, always = false): this {
    if (v === undefined || (v.length === 0 && !always)) return this;
    const b = typeof v === 'string' ? Buffer.from(v) : v;
    this.tag(field, LEN);
    this.varint(b.length);
    this.flush();
    this.parts.push(Buffer.from(b.buffer, b.byteOffset, b.length));
    return this;
  }

  finish(): Buffer {
    this.flush();
    return Buffer.concat(this.parts);
  }
}

/** Reads the fields of one message in order: `for (let f; (f = r.next()); ) switch (f.field) …`. */
export class ProtoReader {
  private pos = 0;
  private wire = -1;

  constructor(private readonly buf: Buffer) {}

  /** The next field's number, or 0 at the end of the message. */
  next(): number {
    if (this.pos >= this.buf.length) return 0;
    const tag = this.varintNumber();
    this.wire = tag & 7;
    const field = Math.floor(tag / 8);
    if (field === 0) throw new ProtoError('field number 0');
    return field;
  }

  /** The raw varint bytes' value as a number when below 2^53 (exact), else as a bigint. */
  private varintRaw(): number | bigint {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new ProtoError('truncated varint');
      const b = this.buf[this.pos++]!;
      if (i < 7) {
        n += (b & 0x7f) * mul;
        mul *= 128;
        if (b < 0x80) return n;
      } else {
        // Past 49 bits: finish in bigint (lease IDs and negative int64 values land here).
        let big = BigInt(n) + BigInt(b & 0x7f) * (1n << BigInt(7 * i));
        for (let j = i + 1, last = b; last >= 0x80; j++) {
          if (j >= 10 || this.pos >= this.buf.length) throw new ProtoError('truncated varint');
          last = this.buf[this.pos++]!;
          big += BigInt(last & 0x7f) * (1n << BigInt(7 * j));
        }
        return BigInt.asUintN(64, big);
      }
    }
    throw new ProtoError('varint longer than 10 bytes');
  }

  private varintNumber(): number {
    const v = this.varintRaw();
    if (typeof v !== 'number') throw new ProtoError('varint too large');
    return v;
  }

  private expect(wire: number): void {
    if (this.wire !== wire) throw new ProtoError(`wire type ${this.wire} where ${wire} was expected`);
  }

  /** A signed int64 as decimal text: exact, and without bigint arithmetic for values in 0..2^53-1. */
  int64(): string {
    this.expect(VARINT);
    const v = this.varintRaw();
    return typeof v === 'number' ? String(v) : BigInt.asIntN(64, v).toString();
  }

  /** An unsigned uint64 as decimal text. */
  uint64(): string {
    this.expect(VARINT);
    return String(this.varintRaw());
  }

  bool(): boolean {
    this.expect(VARINT);
    return this.varintRaw() !== 0;
  }

  /** An enum's number. */
  enum(): number {
    this.expect(VARINT);
    return Number(BigInt.asIntN(32, BigInt(this.varintRaw())));
  }

  /** Length-delimited bytes, a view into the message buffer (copy it to keep it beyond the message). */
  bytes(): Buffer {
    this.expect(LEN);
    const len = this.varintNumber();
    if (this.pos + len > this.buf.length) throw new ProtoError('truncated length-delimited field');
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  string(): string {
    return this.bytes().toString('utf8');
  }

  /** Skips a field we do not read (unknown fields of newer etcd versions included). */
  skip(): void {
    switch (this.wire) {
      case VARINT:
        this.varintRaw();
        return;
      case I64:
        this.pos += 8;
        break;
      case LEN:
        this.bytes();
        return;
      case I32:
        this.pos += 4;
        break;
      default:
        throw new ProtoError(`unsupported wire type ${this.wire}`);
    }
    if (this.pos > this.buf.length) throw new ProtoError('truncated fixed-size field');
  }
}
