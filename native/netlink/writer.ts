// Appends netlink messages to one growing buffer, so that a whole batch of requests goes to the kernel
// in a few sendmsg calls. Layout follows <linux/netlink.h>: 16-byte nlmsghdr, fixed family header,
// then 4-byte aligned TLV attributes.
import { ipToBytes } from '../../common/ip.js';
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

  // The buffer is zero-filled and written once, front to back: padding and reserved bytes are already 0.
  private align(): void {
    const pad = (4 - (this.off & 3)) & 3;
    this.ensure(pad);
    this.off += pad;
  }

  /** Starts a message; `header` is the family header (ifinfomsg, rtmsg, ...) already encoded. */
  begin(type: number, flags: number, seq: number, header: Buffer): this {
    this.head(type, flags, seq);
    return this.raw(header);
  }

  /** Starts a message whose family header is an rtmsg, written in place (the route hot path). */
  beginRtmsg(type: number, flags: number, seq: number, f: RtmsgFields): this {
    this.head(type, flags, seq);
    this.ensure(12);
    const b = this.buf;
    const o = this.off;
    b[o] = f.family;
    b[o + 1] = f.dstLen;
    b[o + 4] = f.table < 256 ? f.table : 252;
    b[o + 5] = f.protocol;
    b[o + 6] = f.scope;
    b[o + 7] = f.type;
    b.writeUInt32LE(f.flags >>> 0, o + 8);
    this.off += 12;
    return this;
  }

  /** Starts a message whose family header is an ndmsg, written in place (the neighbour and FDB hot path). */
  beginNdmsg(type: number, flags: number, seq: number, family: number, index: number, state: number, ntFlags: number, ntType: number): this {
    this.head(type, flags, seq);
    this.ensure(12);
    const b = this.buf;
    const o = this.off;
    b[o] = family;
    b.writeInt32LE(index, o + 4);
    b.writeUInt16LE(state, o + 8);
    b[o + 10] = ntFlags;
    b[o + 11] = ntType;
    this.off += 12;
    return this;
  }

  private head(type: number, flags: number, seq: number): void {
    this.align();
    this.msgStart = this.off;
    this.ensure(16);
    this.buf.writeUInt16LE(type, this.off + 4);
    this.buf.writeUInt16LE(flags, this.off + 6);
    this.buf.writeUInt32LE(seq >>> 0, this.off + 8);
    this.off += 16;
  }

  /** An attribute of `len` bytes whose payload the caller writes at the returned offset. */
  private slot(type: number, len: number): number {
    this.align();
    this.ensure(4 + len);
    this.buf.writeUInt16LE(4 + len, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    const at = this.off + 4;
    this.off = at + len;
    return at;
  }

  /** An address attribute from its text (IPv4 written digit by digit; IPv6 through ipToBytes). */
  ip(type: number, ip: string): this {
    if (!ip.includes(':')) {
      const at = this.slot(type, 4);
      let octet = 0;
      let k = at;
      for (let i = 0; i < ip.length; i++) {
        const c = ip.charCodeAt(i);
        if (c === 46) {
          this.buf[k++] = octet;
          octet = 0;
        } else octet = octet * 10 + (c - 48);
      }
      this.buf[k] = octet;
      return this;
    }
    return this.attr(type, ipToBytes(ip));
  }

  /** A 6-byte MAC attribute from its text (aa:bb:cc:dd:ee:ff). */
  mac(type: number, mac: string): this {
    const at = this.slot(type, 6);
    for (let i = 0; i < 6; i++) this.buf[at + i] = parseInt(mac.slice(i * 3, i * 3 + 2), 16);
    return this;
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
    this.buf.writeUInt32LE(v >>> 0, this.slot(type, 4));
    return this;
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
