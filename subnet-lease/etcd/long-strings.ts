// etcd's int64 fields (revisions, lease IDs, versions) reach us as decimal strings: etcd3 loads its
// protocol with `longs: String`, so protobufjs turns every 64-bit value into a Long and calls
// Long#toString(10), which divides in 32-bit pieces. Listing 5000 leases converts 20000 of them, and in
// flanneld's interpreter-only V8 (--lite-mode) that was ~150 ms of a 2 s start. Values below 2^53 (every
// revision and version in practice) are exact as a JavaScript number, so they take a direct path here;
// everything else (lease IDs are often larger, and negative or unsigned-high values) keeps the original.
import { createRequire } from 'node:module';

interface LongLike {
  high: number;
  low: number;
  toString(radix?: number): string;
}

type LongClass = { prototype: LongLike; isLong?: (x: unknown) => boolean };

let installed = false;

/** The Long class protobufjs uses, or null when it has none (then it decodes int64 to numbers itself). */
export function protobufLong(): LongClass | null {
  try {
    const pb = createRequire(import.meta.url)('protobufjs/minimal') as { util?: { Long?: LongClass | null } };
    return pb.util?.Long ?? null;
  } catch {
    return null;
  }
}

/** Decimal text of a Long: exact, and without division while the value is in 0..2^53-1. */
export function fastLongString(original: (this: LongLike, radix?: number) => string): (this: LongLike, radix?: number) => string {
  return function (this: LongLike, radix?: number): string {
    if ((radix === undefined || radix === 10) && this.high >= 0 && this.high < 0x200000) {
      return String(this.high * 4294967296 + (this.low >>> 0));
    }
    return original.call(this, radix);
  };
}

/** Installs the fast path once per process; calling it again does nothing. */
export function installLongFastPath(): void {
  if (installed) return;
  installed = true;
  const Long = protobufLong();
  if (Long) Long.prototype.toString = fastLongString(Long.prototype.toString);
}
