// The protobuf codec of the etcd client: int64 values exact over the whole range (lease IDs are often
// above 2^53), the bytes of the create-if-absent transaction, and responses decoded with unknown
// fields skipped. client.test.ts sends the same golden bytes to a real etcd.
import { expect } from 'chai';
import { ProtoError, ProtoReader, ProtoWriter } from '../../../subnet-lease/etcd/proto.js';
import * as m from '../../../subnet-lease/etcd/messages.js';
import { GOLDEN_TXN, goldenTxnRequest } from './golden.js';

function int64RoundTrip(v: bigint): string {
  const r = new ProtoReader(new ProtoWriter().int64(1, v, true).finish());
  expect(r.next()).to.equal(1);
  return r.int64();
}

describe('etcd protobuf codec', () => {
  it('writes and reads int64 exactly, from 0 to 2^63-1 and negative', () => {
    const values = [0n, 1n, 127n, 128n, 300n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 49n - 1n, 2n ** 49n, 2n ** 53n - 1n, 2n ** 53n,
      7587862170283913216n, 2n ** 63n - 1n, -1n, -(2n ** 63n), -123456789n];
    for (let i = 0; i < 2000; i++) values.push(BigInt.asIntN(64, BigInt(Math.floor(Math.random() * 2 ** 32)) << BigInt(i % 33) | BigInt(i)));
    for (const v of values) expect(int64RoundTrip(v), String(v)).to.equal(String(v));
  });

  it('takes int64 from numbers and decimal strings alike, and leaves zero out (proto3) unless asked', () => {
    expect(new ProtoWriter().int64(1, 300).finish().toString('hex')).to.equal('08ac02');
    expect(new ProtoWriter().int64(1, '300').finish().toString('hex')).to.equal('08ac02');
    expect(new ProtoWriter().int64(1, -1).finish().toString('hex')).to.equal('08ffffffffffffffffff01');
    expect(new ProtoWriter().int64(1, 0).finish().length).to.equal(0);
    expect(new ProtoWriter().int64(1, '0', true).finish().toString('hex')).to.equal('0800');
  });

  it('reads uint64 above 2^63 (cluster and member IDs) as unsigned', () => {
    const r = new ProtoReader(new ProtoWriter().int64(2, 2n ** 64n - 2n).finish());
    expect(r.next()).to.equal(2);
    expect(r.uint64()).to.equal('18446744073709551614');
  });

  it('encodes the create-if-absent transaction byte for byte', () => {
    expect(m.encodeTxn(goldenTxnRequest()).toString('hex')).to.equal(GOLDEN_TXN.toString('hex'));
  });

  it('encodes watch requests: create with start revision and progress_notify, progress, cancel', () => {
    const create = m.encodeWatchRequest({ create_request: { key: Buffer.from('/a/'), range_end: Buffer.from('/a0'), start_revision: '6', progress_notify: true } });
    expect(create.toString('hex')).to.equal('0a0e' + '0a032f612f' + '12032f6130' + '1806' + '2001');
    expect(m.encodeWatchRequest({ progress_request: {} }).toString('hex')).to.equal('1a00');
    expect(m.encodeWatchRequest({ cancel_request: { watch_id: '3' } }).toString('hex')).to.equal('12020803');
  });

  it('decodes a watch response with events, skipping fields it does not know', () => {
    const kv = new ProtoWriter().bytes(1, 'key').int64(2, 7).int64(3, 9).int64(4, 2).bytes(5, 'value').int64(6, '7587862170283913216').finish();
    const del = new ProtoWriter().int64(1, 1).bytes(2, new ProtoWriter().bytes(1, 'gone').int64(3, 10).finish()).finish();
    const header = new ProtoWriter().int64(1, 2n ** 64n - 1n).int64(3, 12).finish();
    const unknown = Buffer.from('4d01020304' + '510102030405060708' + 'fa0102abcd', 'hex'); // fixed32 #9, fixed64 #10, bytes #31
    const buf = Buffer.concat([
      new ProtoWriter().bytes(1, header).int64(2, 1).bool(3, true).finish(),
      unknown,
      new ProtoWriter().bytes(11, new ProtoWriter().bytes(2, kv).finish(), true).bytes(11, del).finish(),
    ]);
    const res = m.decodeWatchResponse(buf);
    expect(res.header).to.deep.equal({ cluster_id: '18446744073709551615', member_id: '0', revision: '12', raft_term: '0' });
    expect([res.watch_id, res.created, res.canceled, res.compact_revision]).to.deep.equal(['1', true, false, '0']);
    expect(res.events).to.have.length(2);
    const [put, gone] = res.events;
    expect(put!.type).to.equal('Put');
    expect(put!.kv.key.toString()).to.equal('key');
    expect(put!.kv.value.toString()).to.equal('value');
    expect([put!.kv.create_revision, put!.kv.mod_revision, put!.kv.version, put!.kv.lease]).to.deep.equal(['7', '9', '2', '7587862170283913216']);
    expect(gone!.type).to.equal('Delete');
    expect([gone!.kv.key.toString(), gone!.kv.mod_revision, gone!.kv.lease]).to.deep.equal(['gone', '10', '0']);
  });

  it('decodes a compaction notice', () => {
    const res = m.decodeWatchResponse(new ProtoWriter().bool(3, true).bool(4, true).int64(5, 15).bytes(6, 'mvcc: required revision has been compacted').finish());
    expect([res.canceled, res.compact_revision, res.cancel_reason]).to.deep.equal([true, '15', 'mvcc: required revision has been compacted']);
  });

  it('refuses truncated input instead of reading past it', () => {
    const kv = new ProtoWriter().bytes(1, 'key').int64(2, 300).finish();
    for (let n = 1; n < kv.length; n++) {
      if (n === 5) continue; // ends exactly after the key field: a valid, shorter message
      expect(() => m.decodeKeyValue(kv.subarray(0, n)), `first ${n} bytes`).to.throw(ProtoError);
    }
  });
});
