// The fast decimal path for etcd's int64 fields gives exactly what Long#toString gives, for every
// range (small, around 2^32 and 2^53, lease-ID-sized, negative, unsigned above 2^63).
import { expect } from 'chai';
import Long from 'long';
import { fastLongString, protobufLong } from '../../../subnet-lease/etcd/long-strings.js';

describe('etcd int64 decimal fast path', () => {
  it('finds the Long class protobufjs decodes int64 into', () => {
    expect(protobufLong(), 'protobufjs has a Long class here').to.not.equal(null);
  });

  it('prints every value exactly as Long#toString does', () => {
    const original = Long.prototype.toString;
    const fast = fastLongString(original as unknown as Parameters<typeof fastLongString>[0]);
    const values = [
      Long.ZERO, Long.ONE, Long.fromNumber(4294967295), Long.fromNumber(4294967296), Long.fromNumber(2 ** 53 - 1),
      Long.fromNumber(2 ** 53), Long.fromString('7587862170283913216'), Long.fromNumber(-1), Long.MIN_VALUE, Long.MAX_VALUE,
      Long.fromString('18446744073709551615', true), Long.fromString('9223372036854775808', true), Long.fromNumber(123456789, true),
    ];
    for (let i = 0; i < 2000; i++) values.push(new Long((Math.random() * 2 ** 32) | 0, (Math.random() * 2 ** 32) | 0, Math.random() < 0.3));
    for (const v of values) {
      expect(fast.call(v), v.toString()).to.equal(original.call(v));
      expect(fast.call(v, 16)).to.equal(original.call(v, 16));
    }
  });
});
