// KernelWireGuard's own logic (no root, no WireGuard module): the WireGuard contract and a few flows of
// its own, run over the simulated kernel in wg-kernel-sim.ts. The bytes cross the real codec both ways;
// only the kernel's side is simulated (see that file for what it does and does not prove).
import { expect } from 'chai';
import { Transport } from '../../native/netlink/transport.js';
import { KernelWireGuard } from '../../native/wg-kernel.js';
import type { WgLostEvent, WgPeerConfig } from '../../native/wg-types.js';
import { describeWgContract } from './wg-contract.js';
import { SimKernel } from './wg-kernel-sim.js';

function open(sim: SimKernel): KernelWireGuard {
  return new KernelWireGuard(sim.addon(), '', new Transport(sim.socket('genl')), new Transport(sim.socket('rt')), sim.familyId, 'simulated kernel');
}

describe('WireGuard contract: KernelWireGuard over a simulated kernel', () => {
  describeWgContract(async () => {
    const sim = new SimKernel();
    const wg = open(sim);
    return {
      wg,
      linkKind: 'wireguard',
      unsetPort: 'zero',
      linkGet: async (n) => sim.linkGet(n),
      kill: async (n) => sim.deleteLink(n),
      teardown: async () => wg.close(),
    };
  });
});

describe('KernelWireGuard over a simulated kernel', () => {
  const key = (i: number): string => {
    const b = Buffer.alloc(32, 0x11);
    b.writeUInt32BE(i + 1);
    return b.toString('base64');
  };

  it('sets 2000 peers in several SET_DEVICE messages and reads every one back from a multi-message dump', async () => {
    const sim = new SimKernel();
    const wg = open(sim);
    await wg.ensureDevice('flannel-wg');
    const peers: WgPeerConfig[] = Array.from({ length: 2000 }, (_, i) => ({
      publicKey: key(i),
      endpoint: `198.18.${i >> 8}.${i & 255}:51820`,
      allowedIPs: [`10.${100 + (i >> 8)}.${i & 255}.0/24`],
      presharedKey: null,
      persistentKeepalive: 0,
    }));
    await wg.configure('flannel-wg', { privateKey: key(9999), listenPort: 51820, setPeers: peers });
    expect(sim.setMessages).to.be.greaterThan(10);
    const s = (await wg.getDevice('flannel-wg'))!;
    expect(s.listenPort).to.equal(51820);
    expect(s.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIPs])).to.deep.equal(peers.map((p) => [p.publicKey, p.endpoint, p.allowedIPs]));
    wg.close();
  });

  it('names a link of another kind: getDevice null, configure ENODEV, ensureDevice EEXIST, deleteDevice ENODEV', async () => {
    const sim = new SimKernel();
    sim.addLink('flannel-wg', 'vxlan');
    const wg = open(sim);
    const code = (p: Promise<unknown>): Promise<string | undefined> => p.then(() => undefined, (e: { code?: string }) => e.code);
    expect(await wg.getDevice('flannel-wg')).to.equal(null);
    expect(await code(wg.configure('flannel-wg', { listenPort: 1 }))).to.equal('ENODEV');
    expect(await code(wg.ensureDevice('flannel-wg'))).to.equal('EEXIST');
    expect(await code(wg.deleteDevice('flannel-wg'))).to.equal('ENODEV');
    expect(sim.linkGet('flannel-wg')?.kind).to.equal('vxlan');
    wg.close();
  });

  it('finds a device lost while the link monitor overflowed, and one recreated under the same name is not lost', async () => {
    const sim = new SimKernel();
    const wg = open(sim);
    const events: WgLostEvent[] = [];
    const stop = wg.watchDevices((e) => events.push(e));
    await wg.ensureDevice('flannel-wg');
    await wg.ensureDevice('flannel-wg-v6');
    sim.deleteLink('flannel-wg', false); // the RTM_DELLINK is lost: the monitor reports an overflow instead
    for (let i = 0; i < 50 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(events).to.deep.equal([{ name: 'flannel-wg', why: 'its link is gone (found missing after the link monitor overflowed)' }]);
    await wg.ensureDevice('flannel-wg');
    await wg.deleteDevice('flannel-wg');
    await new Promise((r) => setTimeout(r, 20));
    expect(events).to.have.length(1);
    stop();
    wg.close();
  });

  it('refuses calls after close with EBADF', async () => {
    const wg = open(new SimKernel());
    wg.close();
    wg.close();
    const err = await wg.getDevice('flannel-wg').then(() => null, (e: unknown) => e);
    expect(err).to.include({ code: 'EBADF' });
  });
});
