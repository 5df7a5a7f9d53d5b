// The frame codec: what encodeFrame writes, FrameReader reads back whatever the chunking; padding and
// the priority fields are cut off; frames above the allowed size and bad padding are connection errors.
import { expect } from 'chai';
import {
  ConnectionError, Flag, FrameReader, FrameType, encodeFrame, encodeGoaway, encodeSettings, unpad,
} from '../../../../subnet-lease/etcd/h2/frames.js';
import type { Frame } from '../../../../subnet-lease/etcd/h2/frames.js';

const frames: Array<[FrameType, number, number, Buffer]> = [
  [FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from('block')],
  [FrameType.DATA, Flag.END_STREAM, 0x7fff_fffd, Buffer.alloc(16_384, 9)],
  [FrameType.PING, 0, 0, Buffer.alloc(8, 1)],
  [FrameType.DATA, 0, 3, Buffer.alloc(0)],
];
const plain = (f: Frame): [number, number, number, string] => [f.type, f.flags, f.streamId, f.payload.toString('hex')];

describe('HTTP/2 frame codec', () => {
  const wire = Buffer.concat(frames.map(([t, fl, id, p]) => encodeFrame(t, fl, id, p)));
  const expected = frames.map(([t, fl, id, p]) => [t, fl, id, p.toString('hex')]);

  it('writes the 9-byte header: 24-bit length, type, flags, 31-bit stream id', () => {
    expect(encodeFrame(FrameType.WINDOW_UPDATE, 0, 5, Buffer.from([0, 0, 1, 0])).toString('hex')).to.equal('000004080000000005' + '00000100');
    expect(encodeSettings([[4, 65_535], [2, 0]]).toString('hex')).to.equal('00000c040000000000' + '00040000ffff' + '000200000000');
    expect(encodeGoaway(7, 1).toString('hex')).to.equal('000008070000000000' + '00000007' + '00000001');
  });

  it('reads back frames whole, in one chunk or one byte at a time', () => {
    expect(new FrameReader().push(wire).map(plain)).to.deep.equal(expected);
    const reader = new FrameReader();
    const got: Frame[] = [];
    for (let i = 0; i < wire.length; i++) got.push(...reader.push(wire.subarray(i, i + 1)));
    expect(got.map(plain)).to.deep.equal(expected);
  });

  it('ignores the reserved bit of the stream id', () => {
    const f = encodeFrame(FrameType.DATA, 0, 1);
    f[5] = f[5]! | 0x80;
    expect(new FrameReader().push(f)[0]!.streamId).to.equal(1);
  });

  it('refuses a frame longer than the allowed size with FRAME_SIZE_ERROR, from its header alone', () => {
    const header = encodeFrame(FrameType.DATA, 0, 1, Buffer.alloc(16_385)).subarray(0, 9);
    expect(() => new FrameReader().push(header)).to.throw(ConnectionError, /16385 bytes/).with.property('code', 0x6);
    expect(new FrameReader(1 << 20).push(header)).to.deep.equal([]);
  });

  it('cuts off padding and the priority fields', () => {
    const padded = { type: FrameType.HEADERS, flags: Flag.PADDED | Flag.PRIORITY, streamId: 1, payload: Buffer.from('03' + '8000000310' + 'abcd' + '000000', 'hex') };
    expect(unpad(padded, 5).toString('hex')).to.equal('abcd');
    expect(unpad({ ...padded, flags: 0, payload: Buffer.from('abcd', 'hex') }, 0).toString('hex')).to.equal('abcd');
    expect(() => unpad({ ...padded, payload: Buffer.from('09abcd', 'hex') }, 0)).to.throw(ConnectionError, /padding/).with.property('code', 0x1);
  });
});
