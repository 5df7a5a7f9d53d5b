// The udp packet loop's lifecycle against the real kernel, in a namespace of its own: the TUN it
// makes, multi-queue, stop (twice), commands after stop, a taken port, argument checks in TypeScript.
import { expect } from 'chai';
import { NativeArgumentError, NativeError } from '../../native/errors.js';
import { openUdpLoop, type UdpLoop } from '../../native/udp.js';
import { TestBed } from '../helpers/netns.js';

describe('udp packet loop lifecycle in a namespace @netns', function () {
  this.timeout(60_000);
  let bed: TestBed;
  const loops: UdpLoop[] = [];
  const open = (extra: { queues?: number; port?: number } = {}): UdpLoop => {
    const l = openUdpLoop({ netns: bed.prefix, tunName: 'flannel%d', bindAddress: '127.0.0.1', port: extra.port ?? 8285, localAddress: '10.244.1.0', queues: extra.queues });
    loops.push(l);
    return l;
  };
  const links = async (): Promise<string> => bed.ip(bed.prefix, '-d', 'link', 'show');

  before(async () => {
    bed = await TestBed.single('udploop');
  });
  after(async () => {
    for (const l of loops) l.stop();
    await bed?.destroy();
  });

  it('makes flannel0 with offloads, and removes it on stop; stop twice is harmless, commands after it throw EBADF', async () => {
    const l = open();
    expect(l.device).to.equal('flannel0');
    expect(l.features).to.deep.equal({ vnetHdr: true, tso: true, gso: true, gro: true, queues: 1 });
    expect(await links()).to.match(/flannel0: .*\n.*\n\s+tun type tun pi off vnet_hdr on/);
    l.setRoute('10.244.2.0/24', '198.18.0.2', 8285);
    expect(l.deleteRoute('10.244.2.0/24')).to.equal(true);
    expect(l.deleteRoute('10.244.2.0/24')).to.equal(false);
    expect(l.cpuSeconds()).to.be.a('number').and.at.least(0);
    l.stop();
    l.stop();
    expect(await links()).to.not.include('flannel0');
    expect(() => l.setRoute('10.244.2.0/24', '198.18.0.2', 8285)).to.throw(NativeError).with.property('code', 'EBADF');
    expect(l.counters().txPackets).to.equal(0);
  });

  it('opens a multi-queue TUN with a socket per queue', async () => {
    const l = open({ queues: 2 });
    expect(l.features.queues).to.equal(2);
    expect(await links()).to.match(/tun type tun pi off vnet_hdr on multi_queue numqueues 2/);
    l.stop();
  });

  it('fails with EADDRINUSE on a taken port and leaves no TUN behind', async () => {
    const first = open({ port: 8300 });
    let err: unknown;
    try {
      open({ port: 8300 });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(NativeError).with.property('code', 'EADDRINUSE');
    expect((err as NativeError).syscall).to.equal('bind');
    expect(await links()).to.not.include('flannel1');
    first.stop();
  });

  it('checks arguments before they reach C++', () => {
    const l = open({ port: 8301 });
    expect(() => l.setRoute('10.244.2.0', '198.18.0.2', 8285)).to.throw(NativeArgumentError, /CIDR/);
    expect(() => l.setRoute('fd00::/64', '198.18.0.2', 8285)).to.throw(NativeArgumentError, /IPv4/);
    expect(() => l.setRoute('10.244.2.0/24', 'fd00::1', 8285)).to.throw(NativeArgumentError, /nextHop must be an IPv4 address/);
    expect(() => l.setRoute('10.244.2.0/24', '198.18.0.2', 0)).to.throw(NativeArgumentError, /port/);
    expect(() => openUdpLoop({ tunName: 'flannel%d', bindAddress: '127.0.0.1', port: 8302, localAddress: '10.244.1.0', queues: 0 })).to.throw(NativeArgumentError, /queues/);
    l.stop();
  });
});
