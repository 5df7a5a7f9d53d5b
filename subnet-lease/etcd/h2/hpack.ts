// HPACK (RFC 7541). The decoder is complete, because the server chooses the representations: indexed
// fields, every literal form, the dynamic table with its size updates and eviction, Huffman strings.
// The encoder stays minimal: literals without indexing (a static-table name where there is one), no
// Huffman, and its dynamic table announced as 0 bytes, so no SETTINGS_HEADER_TABLE_SIZE can conflict.
import { ConnectionError, ErrorCode } from './frames.js';
import { huffmanDecode } from './huffman.js';

export type HeaderField = [name: string, value: string];

/** RFC 7541 Appendix A, index 1 first. */
const STATIC: readonly HeaderField[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

/** Integers larger than this in a header block are refused rather than trusted (no index or length is near it). */
const MAX_INT = 0x7fff_ffff;

function compressionError(why: string): ConnectionError {
  return new ConnectionError(ErrorCode.COMPRESSION_ERROR, `HPACK: ${why}`);
}

/** Reads a header block front to back; every read checks the block's end. */
class BlockReader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  peek(): number {
    return this.buf[this.pos]!;
  }

  /** An integer with an N-bit prefix (§5.1). */
  int(prefixBits: number): number {
    if (this.done) throw compressionError('header block ends inside an integer');
    const max = (1 << prefixBits) - 1;
    let value = this.buf[this.pos++]! & max;
    if (value < max) return value;
    for (let shift = 0; ; shift += 7) {
      if (this.done) throw compressionError('header block ends inside an integer');
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (value > MAX_INT) throw compressionError('integer too large');
      if ((b & 0x80) === 0) return value;
    }
  }

  /** A string literal (§5.2), Huffman-coded or not. */
  string(): string {
    if (this.done) throw compressionError('header block ends before a string');
    const huffman = (this.peek() & 0x80) !== 0;
    const length = this.int(7);
    if (this.pos + length > this.buf.length) throw compressionError('string longer than the header block');
    const raw = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return (huffman ? huffmanDecode(raw) : raw).toString('utf8');
  }
}

/** One side's dynamic table (§2.3.2, §4): newest entry first, sizes in octets plus 32 per entry. */
class DynamicTable {
  readonly entries: HeaderField[] = [];
  size = 0;
  constructor(public maxSize: number) {}

  add(field: HeaderField): void {
    const size = entrySize(field);
    this.entries.unshift(field);
    this.size += size;
    // An entry larger than the whole table empties it and is not kept (§4.4).
    this.evict();
  }

  resize(maxSize: number): void {
    this.maxSize = maxSize;
    this.evict();
  }

  private evict(): void {
    while (this.size > this.maxSize) this.size -= entrySize(this.entries.pop()!);
  }
}

function entrySize([name, value]: HeaderField): number {
  return Buffer.byteLength(name) + Buffer.byteLength(value) + 32;
}

/**
 * Decodes the header blocks of one connection, in order. Any error is a COMPRESSION_ERROR
 * (ConnectionError): the table may be out of step with the peer's, so the connection cannot go on.
 */
export class HpackDecoder {
  private readonly table: DynamicTable;

  /** `maxTableSize`: our SETTINGS_HEADER_TABLE_SIZE, the limit of the size updates the peer may send. */
  constructor(private readonly maxTableSize = 4096) {
    this.table = new DynamicTable(maxTableSize);
  }

  /** The dynamic table, newest first, and its size (§4.1): for tests and diagnostics. */
  get dynamicTable(): { entries: readonly HeaderField[]; size: number } {
    return { entries: this.table.entries.slice(), size: this.table.size };
  }

  decode(block: Buffer): HeaderField[] {
    const r = new BlockReader(block);
    const fields: HeaderField[] = [];
    while (!r.done) {
      const b = r.peek();
      if (b & 0x80) fields.push(this.field(r.int(7)));
      else if (b & 0x40) fields.push(this.literal(r, 6, true));
      else if (b & 0x20) this.sizeUpdate(r.int(5), fields.length);
      else fields.push(this.literal(r, 4, false)); // without indexing (0000) or never indexed (0001)
    }
    return fields;
  }

  private sizeUpdate(size: number, fieldsBefore: number): void {
    // §4.2: only at the start of a block; §6.3: never above the limit we announced.
    if (fieldsBefore > 0) throw compressionError('dynamic table size update after a header field');
    if (size > this.maxTableSize) throw compressionError(`dynamic table size update to ${size}, above ${this.maxTableSize}`);
    this.table.resize(size);
  }

  private literal(r: BlockReader, prefixBits: number, index: boolean): HeaderField {
    const nameIndex = r.int(prefixBits);
    const name = nameIndex === 0 ? r.string() : this.field(nameIndex)[0];
    const field: HeaderField = [name, r.string()];
    if (index) this.table.add(field);
    return field;
  }

  private field(index: number): HeaderField {
    if (index === 0) throw compressionError('index 0');
    if (index <= STATIC.length) return STATIC[index - 1]!;
    const entry = this.table.entries[index - STATIC.length - 1];
    if (!entry) throw compressionError(`index ${index} beyond the tables`);
    return entry;
  }
}

const STATIC_NAMES = new Map<string, number>();
STATIC.forEach(([name], i) => STATIC_NAMES.has(name) || STATIC_NAMES.set(name, i + 1));

function writeInt(out: number[], value: number, prefixBits: number, first: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) return void out.push(first | value);
  out.push(first | max);
  for (value -= max; value >= 0x80; value = Math.floor(value / 128)) out.push((value % 128) | 0x80);
  out.push(value);
}

/**
 * Encodes our request headers; stateless but for the table size announcement. The first block sets our
 * dynamic table to 0 bytes, which no SETTINGS_HEADER_TABLE_SIZE the peer sends later can be below, so no
 * later size update is ever due (§4.2).
 */
export class HpackEncoder {
  private announceTableSize = true;

  encode(fields: readonly HeaderField[]): Buffer {
    const parts: Buffer[] = [];
    const head: number[] = [];
    if (this.announceTableSize) {
      writeInt(head, 0, 5, 0x20);
      this.announceTableSize = false;
    }
    for (const [name, value] of fields) {
      const nameIndex = STATIC_NAMES.get(name) ?? 0;
      writeInt(head, nameIndex, 4, 0x00);
      if (nameIndex === 0) pushString(parts, head, name);
      pushString(parts, head, value);
    }
    if (head.length > 0) parts.push(Buffer.from(head));
    return Buffer.concat(parts);
  }
}

/** Appends a plain string literal: its length goes into `head`, which is flushed before the bytes. */
function pushString(parts: Buffer[], head: number[], s: string): void {
  const bytes = Buffer.from(s, 'utf8');
  writeInt(head, bytes.length, 7, 0x00);
  parts.push(Buffer.from(head.splice(0)), bytes);
}
