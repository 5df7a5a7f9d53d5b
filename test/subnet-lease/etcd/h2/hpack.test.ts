// HPACK against the examples of RFC 7541 Appendix C: each block decoded in sequence on one decoder, with
// the dynamic table compared after each (C.3/C.4 with the default 4096 bytes, C.5/C.6 with 256 so that
// entries are evicted), plain and Huffman-coded. Then the encoder, and the errors a peer can cause.
import { expect } from 'chai';
import { ConnectionError } from '../../../../subnet-lease/etcd/h2/frames.js';
import { HpackDecoder, HpackEncoder, type HeaderField } from '../../../../subnet-lease/etcd/h2/hpack.js';
import { huffmanDecode } from '../../../../subnet-lease/etcd/h2/huffman.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

interface Step {
  block: string;
  fields: HeaderField[];
  /** The dynamic table after the block, newest first, and its size. */
  table: HeaderField[];
  size: number;
}

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const AUTH: HeaderField = [':authority', 'www.example.com'];
const NOCACHE: HeaderField = ['cache-control', 'no-cache'];
const CUSTOM: HeaderField = ['custom-key', 'custom-value'];
const GET_HTTP: HeaderField[] = [[':method', 'GET'], [':scheme', 'http'], [':path', '/']];
const requests = (blocks: [string, string, string]): Step[] => [
  { block: blocks[0], fields: [...GET_HTTP, AUTH], table: [AUTH], size: 57 },
  { block: blocks[1], fields: [...GET_HTTP, AUTH, NOCACHE], table: [NOCACHE, AUTH], size: 110 },
  {
    block: blocks[2],
    fields: [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], AUTH, CUSTOM],
    table: [CUSTOM, NOCACHE, AUTH],
    size: 164,
  },
];
const PRIVATE: HeaderField = ['cache-control', 'private'];
const LOCATION: HeaderField = ['location', 'https://www.example.com'];
const responses = (blocks: [string, string, string]): Step[] => [
  {
    block: blocks[0],
    fields: [[':status', '302'], PRIVATE, ['date', DATE1], LOCATION],
    table: [LOCATION, ['date', DATE1], PRIVATE, [':status', '302']],
    size: 222,
  },
  {
    block: blocks[1],
    fields: [[':status', '307'], PRIVATE, ['date', DATE1], LOCATION],
    table: [[':status', '307'], LOCATION, ['date', DATE1], PRIVATE],
    size: 222,
  },
  {
    block: blocks[2],
    fields: [[':status', '200'], PRIVATE, ['date', DATE2], LOCATION, ['content-encoding', 'gzip'], ['set-cookie', COOKIE]],
    table: [['set-cookie', COOKIE], ['content-encoding', 'gzip'], ['date', DATE2]],
    size: 215,
  },
];

const SEQUENCES: Array<[string, number, Step[]]> = [
  ['C.3 requests without Huffman coding', 4096, requests([
    '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    '8286 84be 5808 6e6f 2d63 6163 6865',
    '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
  ])],
  ['C.4 requests with Huffman coding', 4096, requests([
    '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
    '8286 84be 5886 a8eb 1064 9cbf',
    '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
  ])],
  ['C.5 responses without Huffman coding, 256-byte table', 256, responses([
    '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    '4803 3330 37c1 c0bf',
    '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
  ])],
  ['C.6 responses with Huffman coding, 256-byte table', 256, responses([
    '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
    '4883 640e ffc1 c0bf',
    '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
  ])],
];

describe('HPACK decoder (RFC 7541 Appendix C)', () => {
  it('C.2.1 literal with indexing adds the field to the table', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'))).to.deep.equal([['custom-key', 'custom-header']]);
    expect(d.dynamicTable).to.deep.equal({ entries: [['custom-key', 'custom-header']], size: 55 });
  });

  it('C.2.2 literal without indexing and C.2.3 never indexed leave the table empty; C.2.4 indexed from the static table', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('040c 2f73 616d 706c 652f 7061 7468'))).to.deep.equal([[':path', '/sample/path']]);
    expect(d.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74'))).to.deep.equal([['password', 'secret']]);
    expect(d.decode(hex('82'))).to.deep.equal([[':method', 'GET']]);
    expect(d.dynamicTable).to.deep.equal({ entries: [], size: 0 });
  });

  for (const [name, tableSize, steps] of SEQUENCES) {
    it(name, () => {
      const d = new HpackDecoder(tableSize);
      steps.forEach((step, i) => {
        expect(d.decode(hex(step.block)), `block ${i + 1}`).to.deep.equal(step.fields);
        expect(d.dynamicTable, `table after block ${i + 1}`).to.deep.equal({ entries: step.table, size: step.size });
      });
    });
  }

  it('a size update shrinks the table, evicting the oldest entries, and an entry larger than the table empties it', () => {
    const d = new HpackDecoder();
    d.decode(hex(SEQUENCES[0]![2][0]!.block));
    d.decode(hex(SEQUENCES[0]![2][1]!.block));
    d.decode(Buffer.from([0x3f, 22])); // size update to 53 (5-bit prefix: 31 + 22)
    expect(d.dynamicTable).to.deep.equal({ entries: [NOCACHE], size: 53 });
    // A literal with indexing of 62 bytes (> 53): the table is emptied and the field still decoded.
    expect(d.decode(hex('4003 6162 6319' + '78'.repeat(25)))).to.deep.equal([['abc', 'x'.repeat(25)]]);
    expect(d.dynamicTable).to.deep.equal({ entries: [], size: 0 });
  });

  for (const [what, block] of [
    ['a size update above the announced limit', '3fe21f'], // 31 + 98 + 31 * 128 = 4097
    ['a size update after a field', '82 20'],
    ['index 0', '80'],
    ['an index beyond both tables', 'be'],
    ['a string longer than the block', '0003 6162'],
    ['an integer that never ends', '1fff ffff ffff'],
    ['Huffman padding that is not all ones', '0081 00'],
    ['Huffman padding of 8 bits or more', '0082 1fff'],
    ['EOS inside a Huffman string', '0084 ffff ffff'],
  ] as const) {
    it(`refuses ${what} with COMPRESSION_ERROR`, () => {
      expect(() => new HpackDecoder().decode(hex(block))).to.throw(ConnectionError, /HPACK|Huffman/).with.property('code', 0x9);
    });
  }

  it('decodes the longest codes too: symbols 0, 255 and 10 (13, 26 and 30 bits), padded with ones', () => {
    // Codes from RFC 7541 Appendix B, concatenated most significant bit first: 'a' 0x3/5, 0xff 0x3ffffee/26,
    // 0x00 0x1ff8/13, '\n' 0x3ffffffc/30, then 6 bits of padding: 80 bits.
    let bits = 0n;
    for (const [code, len] of [[0x3n, 5n], [0x3ffffeen, 26n], [0x1ff8n, 13n], [0x3ffffffcn, 30n], [0x3fn, 6n]] as const) bits = (bits << len) | code;
    const bytes = Buffer.from(bits.toString(16).padStart(20, '0'), 'hex');
    expect([...huffmanDecode(bytes)]).to.deep.equal([0x61, 0xff, 0x00, 0x0a]);
  });
});

describe('HPACK encoder', () => {
  it('announces a 0-byte table in its first block, then writes literals without indexing, with a static-table name where there is one (C.2.2)', () => {
    const e = new HpackEncoder();
    expect(e.encode([[':path', '/sample/path']]).toString('hex')).to.equal(`20${'040c 2f73 616d 706c 652f 7061 7468'.replace(/ /g, '')}`);
    expect(e.encode([[':path', '/sample/path']]).toString('hex')).to.equal('040c2f73616d706c652f70617468');
  });

  it('round-trips through the decoder: new names, long values (multi-byte lengths) and UTF-8, leaving its table empty', () => {
    const fields: HeaderField[] = [
      [':method', 'POST'], [':path', '/etcdserverpb.KV/Range'], ['content-type', 'application/grpc'], ['te', 'trailers'],
      ['token', 'x'.repeat(300)], ['grpc-timeout', '5000m'], ['x-utf8', 'Grüße ✓'], ['empty', ''],
    ];
    const d = new HpackDecoder();
    const e = new HpackEncoder();
    expect(d.decode(e.encode(fields))).to.deep.equal(fields);
    expect(d.decode(e.encode(fields))).to.deep.equal(fields);
    expect(d.dynamicTable.size).to.equal(0);
  });
});
