// Appends netlink messages to one growing buffer, so that a whole batch of requests goes to the kernel
// in a few sendmsg calls. Layout follows <linux/netlink.h>: 16-byte nlmsghdr, fixed family header,
// then 4-byte aligned TLV attributes.
export class MsgWriter {
  private buf = Buffer.alloc(64 * 1024);
  private off = 0;
  private msgStart = -1;
  private readonly nests: number[] = [];
  count = 0;

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  private align(): void {
    const pad = (4 - (this.off & 3)) & 3;
    this.ensure(pad);
    this.buf.fill(0, this.off, this.off + pad);
    this.off += pad;
  }

  /** Starts a message; `header` is the family header (ifinfomsg, rtmsg, ...) already encoded. */
  begin(type: number, flags: number, seq: number, header: Buffer): this {
    this.align();
    this.msgStart = this.off;
    this.ensure(16);
    this.buf.writeUInt32LE(0, this.off);
    this.buf.writeUInt16LE(type, this.off + 4);
    this.buf.writeUInt16LE(flags, this.off + 6);
    this.buf.writeUInt32LE(seq >>> 0, this.off + 8);
    this.buf.writeUInt32LE(0, this.off + 12);
    this.off += 16;
    return this.raw(header);
  }

  private raw(b: Buffer): this {
    this.ensure(b.length);
    b.copy(this.buf, this.off);
    this.off += b.length;
    return this;
  }

  attr(type: number, data: Buffer): this {
    this.align();
    this.ensure(4);
    this.buf.writeUInt16LE(4 + data.length, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.off += 4;
    return this.raw(data);
  }

  u8(type: number, v: number): this {
    return this.attr(type, Buffer.from([v & 0xff]));
  }

  u16be(type: number, v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    return this.attr(type, b);
  }

  u32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return this.attr(type, b);
  }

  str(type: number, s: string): this {
    return this.attr(type, Buffer.from(`${s}\0`));
  }

  flag(type: number): this {
    return this.attr(type, Buffer.alloc(0));
  }

  nest(type: number, body: (w: this) => void): this {
    this.align();
    this.nests.push(this.off);
    this.attr(type, Buffer.alloc(0));
    body(this);
    const start = this.nests.pop()!;
    this.buf.writeUInt16LE(this.off - start, start);
    return this;
  }

  /** Ends the message; its length counts the padding of its last attribute, as the kernel's and iproute2's do. */
  end(): this {
    this.align();
    this.buf.writeUInt32LE(this.off - this.msgStart, this.msgStart);
    this.msgStart = -1;
    this.count++;
    return this;
  }

  /** The messages written so far (a view: do not keep writing while it is in use). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.off);
  }
}

export function ifinfomsg(family: number, index: number, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(family, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}

export function ifaddrmsg(family: number, prefixLen: number, scope: number, index: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(family, 0);
  b.writeUInt8(prefixLen, 1);
  b.writeUInt8(scope, 3);
  b.writeUInt32LE(index, 4);
  return b;
}

export interface RtmsgFields {
  family: number;
  dstLen: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

export function rtmsg(f: RtmsgFields): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(f.family, 0);
  b.writeUInt8(f.dstLen, 1);
  b.writeUInt8(f.table < 256 ? f.table : 252, 4);
  b.writeUInt8(f.protocol, 5);
  b.writeUInt8(f.scope, 6);
  b.writeUInt8(f.type, 7);
  b.writeUInt32LE(f.flags, 8);
  return b;
}

export function ndmsg(family: number, index: number, state: number, flags: number, type: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(family, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt16LE(state, 8);
  b.writeUInt8(flags, 10);
  b.writeUInt8(type, 11);
  return b;
}
