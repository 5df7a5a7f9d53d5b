// The contract of the WireGuard data path (native/wg-types.ts), run against the in-memory fake and
// against wireguard-go in a namespace of its own: the same calls must give the same answers.
import { expect } from 'chai';
import type { Link } from '../../native/types.js';
import type { WgLostEvent, WgPeerConfig, WireGuard } from '../../native/wg-types.js';

export interface WgContractEnv {
  wg: WireGuard;
  linkGet(name: string): Promise<Link | null>;
  /** The device's process dies unasked (the kernel's: its link is deleted by someone else). */
  kill(name: string): Promise<void>;
  /** The kind of the device's link: "tun" for wireguard-go (the default), "wireguard" for the kernel's. */
  linkKind?: string;
  /** The port a fresh, down device reports: wireguard-go picks a random one (the default), the kernel says 0. */
  unsetPort?: 'random' | 'zero';
  teardown(): Promise<void>;
}

const key = (n: number): string => Buffer.alloc(32, n).toString('base64');
const peer = (n: number, allowedIPs: string[], over: Partial<WgPeerConfig> = {}): WgPeerConfig => ({
  publicKey: key(n),
  endpoint: `198.18.0.${n}:51820`,
  allowedIPs,
  presharedKey: null,
  persistentKeepalive: 0,
  ...over,
});

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function describeWgContract(makeEnv: () => Promise<WgContractEnv>): void {
  let env: WgContractEnv;
  beforeEach(async () => {
    env = await makeEnv();
  });
  afterEach(async () => {
    await env.teardown();
  });

  it('knows no device before ensureDevice; configure then fails with ENODEV', async () => {
    expect(await env.wg.getDevice('flannel-wg')).to.equal(null);
    const err = await env.wg.configure('flannel-wg', { listenPort: 1 }).then(() => null, (e: unknown) => e);
    expect((err as { code?: string }).code).to.equal('ENODEV');
  });

  it('creates a device once ("created", then "existing"): a down link without key or peers', async () => {
    expect(await env.wg.ensureDevice('flannel-wg')).to.equal('created');
    expect(await env.wg.ensureDevice('flannel-wg')).to.equal('existing');
    const link = (await env.linkGet('flannel-wg'))!;
    expect(link.kind).to.equal(env.linkKind ?? 'tun');
    expect(link.up).to.equal(false);
    const s = (await env.wg.getDevice('flannel-wg'))!;
    expect(s).to.deep.include({ privateKey: null, peers: [] });
    if (env.unsetPort === 'zero') expect(s.listenPort, 'no port until one is set or the link goes up').to.equal(0);
    else expect(s.listenPort, 'a random port until one is set').to.be.within(1, 65535);
  });

  it('reads back key, port and peers as set (base64 keys, PSK, keepalive, AllowedIPs)', async () => {
    await env.wg.ensureDevice('flannel-wg');
    const p2 = peer(2, ['10.244.2.0/24'], { presharedKey: key(9), persistentKeepalive: 25 });
    // A private key reads back clamped for Curve25519 (as `wg genkey` makes them): 0x01… becomes 0x00…0x41.
    const clamped = Buffer.alloc(32, 1);
    clamped[0] = 0;
    clamped[31] = 0x41;
    await env.wg.configure('flannel-wg', { privateKey: key(1), listenPort: 51999, setPeers: [p2, peer(3, ['10.244.3.0/24', 'fd00:10:244:3::/64'], { endpoint: '[fd00::3]:51821' })] });
    const s = (await env.wg.getDevice('flannel-wg'))!;
    expect(s.privateKey).to.equal(clamped.toString('base64'));
    expect(s.listenPort).to.equal(51999);
    const byKey = Object.fromEntries(s.peers.map((p) => [p.publicKey, { ...p, lastHandshakeSec: 0, rxBytes: 0, txBytes: 0 }]));
    expect(byKey[key(2)]).to.deep.equal({ ...p2, lastHandshakeSec: 0, rxBytes: 0, txBytes: 0 });
    expect(byKey[key(3)]).to.deep.include({ endpoint: '[fd00::3]:51821', allowedIPs: ['10.244.3.0/24', 'fd00:10:244:3::/64'] });
  });

  it("replaces a peer's AllowedIPs, moves an allowed IP to the peer that takes it, removes peers (unknown keys ignored)", async () => {
    await env.wg.ensureDevice('flannel-wg');
    await env.wg.configure('flannel-wg', { setPeers: [peer(2, ['10.244.2.0/24', '10.244.20.0/24']), peer(3, ['10.244.3.0/24'])] });
    await env.wg.configure('flannel-wg', { setPeers: [peer(2, ['10.244.21.0/24']), peer(4, ['10.244.3.0/24'])] });
    const allowed = async (): Promise<Record<string, readonly string[]>> =>
      Object.fromEntries(((await env.wg.getDevice('flannel-wg'))?.peers ?? []).map((p) => [p.publicKey, p.allowedIPs]));
    expect(await allowed()).to.deep.equal({ [key(2)]: ['10.244.21.0/24'], [key(3)]: [], [key(4)]: ['10.244.3.0/24'] });
    await env.wg.configure('flannel-wg', { removePeers: [key(3), key(8)] });
    expect(Object.keys(await allowed()).sort()).to.deep.equal([key(2), key(4)].sort());
  });

  it('refuses a bad key before anything is sent, with EINVAL naming it', async () => {
    await env.wg.ensureDevice('flannel-wg');
    const err = await env.wg.configure('flannel-wg', { setPeers: [{ ...peer(2, []), publicKey: 'short' }] }).then(() => null, (e: unknown) => e);
    expect((err as { code?: string }).code).to.equal('EINVAL');
    expect((err as Error).message).to.match(/wireguard public key: .*not a base64 key of 32 bytes: "short"/);
    expect((await env.wg.getDevice('flannel-wg'))!.peers).to.deep.equal([]);
  });

  it('deletes a device (link gone, getDevice null); a second delete is ENODEV', async () => {
    await env.wg.ensureDevice('flannel-wg');
    await env.wg.deleteDevice('flannel-wg');
    await until('the link gone', async () => (await env.linkGet('flannel-wg')) === null);
    expect(await env.wg.getDevice('flannel-wg')).to.equal(null);
    const err = await env.wg.deleteDevice('flannel-wg').then(() => null, (e: unknown) => e);
    expect((err as { code?: string }).code).to.equal('ENODEV');
  });

  it('reports a device whose process died unasked, once; a deleted one is not reported', async () => {
    const events: WgLostEvent[] = [];
    const stop = env.wg.watchDevices((e) => events.push(e));
    await env.wg.ensureDevice('flannel-wg');
    await env.wg.ensureDevice('wg-other');
    await env.wg.deleteDevice('wg-other');
    await env.kill('flannel-wg');
    await until('the lost event', () => events.length > 0);
    await new Promise((r) => setTimeout(r, 100));
    expect(events.map((e) => e.name)).to.deep.equal(['flannel-wg']);
    expect(await env.wg.getDevice('flannel-wg')).to.equal(null);
    stop();
    stop();
  });
}
