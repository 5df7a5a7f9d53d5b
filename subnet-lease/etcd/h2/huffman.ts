// The Huffman code of HPACK (RFC 7541 Appendix B), decoding only: our encoder sends plain literals.
// The code is canonical (codes of one length are consecutive, in symbol order, and each length continues
// where the shorter one ended), so the bit length of each symbol defines it: 257 small numbers instead
// of the RFC's table of codes, and decoding needs no tree. Tests check it against RFC 7541 C.4 and C.6.
import { ConnectionError, ErrorCode } from './frames.js';

/** Code length in bits of each symbol 0..255, then of EOS (256). */
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];
const EOS = 256;
const MAX_BITS = 30;

/** Per bit length: the first code of that length, how many codes have it, and where their symbols start in SYMBOLS. */
const FIRST = new Int32Array(MAX_BITS + 1);
const COUNT = new Int32Array(MAX_BITS + 1);
const OFFSET = new Int32Array(MAX_BITS + 1);
/** The symbols ordered by (length, symbol), i.e. by code. */
const SYMBOLS = new Uint16Array(LENGTHS.length);

(function buildCanonical(): void {
  for (const len of LENGTHS) COUNT[len]!++;
  let code = 0;
  let offset = 0;
  for (let len = 1; len <= MAX_BITS; len++) {
    code = (code + COUNT[len - 1]!) << 1;
    FIRST[len] = code;
    OFFSET[len] = offset;
    offset += COUNT[len]!;
  }
  const next = OFFSET.slice();
  LENGTHS.forEach((len, sym) => (SYMBOLS[next[len]!++] = sym));
})();

/**
 * Decodes a Huffman-coded string literal. The padding must be the most significant bits of EOS (all
 * ones) and shorter than a byte, and EOS must not occur: otherwise COMPRESSION_ERROR (§5.2).
 */
export function huffmanDecode(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil((bytes.length * 8) / 5));
  let n = 0;
  let code = 0;
  let len = 0;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      len++;
      const i = code - FIRST[len]!;
      if (i >= 0 && i < COUNT[len]!) {
        const sym = SYMBOLS[OFFSET[len]! + i]!;
        if (sym === EOS) throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, 'EOS in a Huffman-coded string');
        out[n++] = sym;
        code = 0;
        len = 0;
      } else if (len === MAX_BITS) {
        throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, 'invalid Huffman code');
      }
    }
  }
  if (len > 7 || code !== (1 << len) - 1) throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, 'invalid Huffman padding');
  return out.subarray(0, n);
}
