// The wireguard backend on the in-memory kernel and WireGuard (FakeNative + FakeWireGuard): the lease it
// asks for, the device it builds, peers following lease events, a lost device recreated with its
// peers replayed, the check putting back what was removed by hand, a restart leaving peers alone, and
// the peer rules of every Mode in dual stack (peers.ts).
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExternalInterface, Network } from '../../../backends/backend.js';
import { createWireguardBackend, WireguardConfigError } from '../../../backends/wireguard/backend.js';
import { parseWireguardConfig } from '../../../backends/wireguard/config.js';
import { publicKeyOf } from '../../../backends/wireguard/key.js';
import { wantedPeers, type PeerContext } from '../../../backends/wireguard/peers.js';
import { checkWireguard } from '../../../backends/wireguard/diagnose.js';
import { parseIP4, parseIP6 } from '../../../common/ip.js';
import { FakeNative } from '../../../native/fake.js';
import { FakeWireGuard } from '../../../native/wg-fake.js';
import { checkNetworkConfig, parseNetworkConfig } from '../../../subnet-lease/config.js';
import { encodeLeaseAttrs, type Lease } from '../../../subnet-lease/lease.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';
import { ScriptedStore, added, lease, removed } from '../../helpers/scripted-store.js';

const CONFIG = '{"Network":"10.244.0.0/16","Backend":{"Type":"wireguard","PersistentKeepaliveInterval":25}}';
const key = (n: number): string => Buffer.alloc(32, n).toString('base64');

function wgLease(subnet: string, ip: string, n: number, v6?: { subnet: string; publicIP: string; port?: number }): Lease {
  const l = lease(subnet, ip, 'wireguard', v6);
  l.attrs.backendData = { PublicKey: key(n), Port: 51820 };
  if (v6) l.attrs.backendV6Data = { PublicKey: key(n), Port: v6.port ?? 51821 };
  return l;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Host {
  native: FakeNative;
  wg: FakeWireGuard;
  store: ScriptedStore;
  log: RecordingLogger;
  network: Network;
  keyFile: string;
  peers(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

describe('wireguard backend on the fake kernel', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fl-wgb-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function host(opts: { config?: string; native?: FakeNative; wg?: FakeWireGuard; checkIntervalMs?: number } = {}): Promise<Host> {
    const native = opts.native ?? new FakeNative();
    let eth0 = await native.linkGet('eth0');
    if (!eth0) {
      eth0 = native.addTestLink({ name: 'eth0', kind: 'veth', mtu: 1500 });
      await native.addrAdd({ ifindex: eth0.index, address: '198.18.0.1', prefixLen: 24 });
    }
    const wg = opts.wg ?? new FakeWireGuard(native);
    const store = new ScriptedStore('10.244.1.0/24');
    const log = new RecordingLogger();
    const ip = parseIP4('198.18.0.1');
    const ext: ExternalInterface = { name: 'eth0', index: eth0.index, mtu: 1500, ifaceAddr: ip, ifaceV6Addr: null, extAddr: ip, extV6Addr: null };
    const keyFile = join(dir, 'wgkey');
    const backend = createWireguardBackend({ store, extIface: ext, logger: log }, native, wg, { keyFile, checkIntervalMs: opts.checkIntervalMs ?? 3_600_000 });
    const ac = new AbortController();
    const network = await backend.registerNetwork(checkNetworkConfig(parseNetworkConfig(opts.config ?? CONFIG)), ac.signal);
    const running = network.run(ac.signal);
    const peers = async (): Promise<Record<string, string>> => {
      const s = await wg.getDevice('flannel-wg');
      return Object.fromEntries((s?.peers ?? []).map((p) => [p.allowedIPs.join(','), `${p.endpoint} ${p.publicKey} ka=${p.persistentKeepalive}`]));
    };
    return { native, wg, store, log, network, keyFile, peers, stop: async () => (ac.abort(), await running) };
  }

  it('asks for the reference lease, builds flannel-wg (MTU 1420, /32, Network route, key, port) and reports MTU 1420', async () => {
    const h = await host();
    const own = await import('node:fs/promises').then((fs) => fs.readFile(h.keyFile, 'utf8'));
    expect(encodeLeaseAttrs(h.store.acquired[0]!)).to.equal(
      `{"PublicIP":"198.18.0.1","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"${publicKeyOf(own)}","Port":51820}}`,
    );
    expect(h.network.mtu).to.equal(1420);
    const link = (await h.native.linkGet('flannel-wg'))!;
    expect(link).to.include({ mtu: 1420, up: true });
    expect((await h.native.addrList({ ifindex: link.index })).map((a) => `${a.address}/${a.prefixLen}`)).to.deep.equal(['10.244.1.0/32']);
    const routes = (await h.native.routeList({ family: 4 })).filter((r) => r.ifindex === link.index);
    expect(routes.map((r) => `${r.dst} scope ${r.scope}`)).to.deep.equal(['10.244.0.0/16 scope 253']);
    expect(await h.wg.getDevice('flannel-wg')).to.deep.include({ privateKey: own, listenPort: 51820, peers: [] });
    await h.stop();
  });

  it('adds, updates and removes peers as leases come and go; other backend types are ignored', async () => {
    const h = await host();
    h.store.push(added(wgLease('10.244.2.0/24', '198.18.0.2', 2)), added(wgLease('10.244.3.0/24', '198.18.0.3', 3)), added(lease('10.244.9.0/24', '198.18.0.9', 'vxlan')));
    await h.store.drained();
    expect(await h.peers()).to.deep.equal({
      '10.244.2.0/24': `198.18.0.2:51820 ${key(2)} ka=25`,
      '10.244.3.0/24': `198.18.0.3:51820 ${key(3)} ka=25`,
    });
    expect(h.log.has('info', new RegExp(`peer added: 10\\.244\\.2\\.0/24 at 198\\.18\\.0\\.2:51820 key ${key(2).replace(/[+/]/g, '.')} on flannel-wg`))).to.equal(true);
    expect(h.log.has('warn', /ignoring non-wireguard subnet .*10\.244\.9\.0\/24.*type=vxlan/)).to.equal(true);
    // Host 3 rebooted: new key and address. Its old peer goes, the new one takes the subnet.
    const moved = wgLease('10.244.3.0/24', '198.18.0.33', 33);
    h.store.push(added(moved));
    await h.store.drained();
    expect((await h.peers())['10.244.3.0/24']).to.equal(`198.18.0.33:51820 ${key(33)} ka=25`);
    expect((await h.wg.getDevice('flannel-wg'))!.peers).to.have.length(2);
    h.store.push(removed(wgLease('10.244.2.0/24', '198.18.0.2', 2)));
    await h.store.drained();
    expect(Object.keys(await h.peers())).to.deep.equal(['10.244.3.0/24']);
    expect(h.log.has('info', /peer removed: 10\.244\.2\.0\/24 key/)).to.equal(true);
    await h.stop();
  });

  it('recreates a lost device (wireguard-go died) and replays address, route, key and peers', async () => {
    const h = await host();
    h.store.push(added(wgLease('10.244.2.0/24', '198.18.0.2', 2)));
    await h.store.drained();
    const before = await h.peers();
    h.wg.kill('flannel-wg');
    await until('the device back with its peer', async () => JSON.stringify(await h.peers()) === JSON.stringify(before));
    const link = (await h.native.linkGet('flannel-wg'))!;
    expect(link.up).to.equal(true);
    expect((await h.native.routeList({ family: 4 })).some((r) => r.ifindex === link.index && r.dst === '10.244.0.0/16')).to.equal(true);
    expect(h.log.has('warn', /WireGuard device flannel-wg lost: killed \(fake\); recreating it and replaying its peers/)).to.equal(true);
    await h.stop();
  });

  it('the check puts back a peer and the route removed by hand, and removes a peer no lease wants', async () => {
    const h = await host({ checkIntervalMs: 20 });
    h.store.push(added(wgLease('10.244.2.0/24', '198.18.0.2', 2)));
    await h.store.drained();
    const link = (await h.native.linkGet('flannel-wg'))!;
    await h.wg.configure('flannel-wg', { removePeers: [key(2)], setPeers: [{ publicKey: key(7), endpoint: null, allowedIPs: ['10.244.7.0/24'], presharedKey: null, persistentKeepalive: 0 }] });
    await h.native.routeDelete({ dst: '10.244.0.0/16', ifindex: link.index });
    await until('peer and route back', async () => Object.keys(await h.peers()).join() === '10.244.2.0/24' && (await h.native.routeList({ family: 4 })).some((r) => r.dst === '10.244.0.0/16'));
    expect(h.log.has('warn', /check: route 10\.244\.0\.0\/16 dev flannel-wg was missing or wrong; put back/)).to.equal(true);
    expect(h.log.has('warn', /check: 1 peer\(s\) of flannel-wg were missing or differed, 1 unwanted; put right/)).to.equal(true);
    await h.stop();
  });

  it('after a restart, reuses the device and leaves its peers alone: no request changes them', async () => {
    const native = new FakeNative();
    const wg = new FakeWireGuard(native);
    const first = await host({ native, wg });
    first.store.push(added(wgLease('10.244.2.0/24', '198.18.0.2', 2)));
    await first.store.drained();
    await first.stop();
    expect(await native.linkGet('flannel-wg'), 'the device stays when flanneld stops').to.not.equal(null);
    const requests = wg.requests;
    const again = await host({ native, wg });
    expect(Object.keys(await again.peers())).to.deep.equal(['10.244.2.0/24']);
    again.store.push(added(wgLease('10.244.2.0/24', '198.18.0.2', 2)));
    await again.store.drained();
    expect(wg.requests).to.equal(requests);
    expect(again.log.messages().join('\n')).to.not.match(/peer added|created WireGuard device/);
    await again.stop();
  });

  it('diagnose compares the device\'s peers with the leases: a missing peer, a stale one, a missing route', async () => {
    const h = await host();
    const l2 = wgLease('10.244.2.0/24', '198.18.0.2', 2);
    const l3 = wgLease('10.244.3.0/24', '198.18.0.3', 3);
    h.store.push(added(l2));
    await h.store.drained();
    await h.stop();
    await h.wg.configure('flannel-wg', { setPeers: [{ publicKey: key(7), endpoint: null, allowedIPs: ['10.244.7.0/24'], presharedKey: null, persistentKeepalive: 0 }] });
    const link = (await h.native.linkGet('flannel-wg'))!;
    await h.native.routeDelete({ dst: '10.244.0.0/16', ifindex: link.index });
    const config = checkNetworkConfig(parseNetworkConfig(CONFIG));
    const own = { ...lease('10.244.1.0/24', '198.18.0.1', 'wireguard') };
    const ip = parseIP4('198.18.0.1');
    const ext = async (): Promise<ExternalInterface> => ({ name: 'eth0', index: 2, mtu: 1500, ifaceAddr: ip, ifaceV6Addr: null, extAddr: ip, extV6Addr: null });
    const findings = await checkWireguard({ config, own, leases: [own, l2, l3], native: h.native, ext }, h.wg);
    expect(findings.filter((f) => f.kind !== 'note').map((f) => `${f.kind}: ${f.text}`)).to.deep.equal([
      'missing: route 10.244.0.0/16 dev flannel-wg',
      `missing: peer 10.244.3.0/24 at 198.18.0.3:51820 key ${key(3)} on flannel-wg`,
      `stale: peer ${key(7)} (10.244.7.0/24) on flannel-wg matches no lease`,
    ]);
  });

  it('refuses IPv6 without an IPv6 address on the interface, naming the field', async () => {
    const config = '{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/48","Backend":{"Type":"wireguard"}}';
    const err = await host({ config }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(WireguardConfigError);
    expect((err as WireguardConfigError).field).to.equal('EnableIPv6');
  });

  it('IPv6-only: one peer per remote host on flannel-wg-v6, although every such lease has 0.0.0.0/0', async () => {
    const native = new FakeNative();
    const eth0 = native.addTestLink({ name: 'eth0', kind: 'veth', mtu: 1500 });
    await native.addrAdd({ ifindex: eth0.index, address: 'fd00::1', prefixLen: 64 });
    const wg = new FakeWireGuard(native);
    const store = new ScriptedStore('0.0.0.0/0', 'fd00:10:244:1::/64');
    const ext: ExternalInterface = { name: 'eth0', index: eth0.index, mtu: 1500, ifaceAddr: 0, ifaceV6Addr: parseIP6('fd00::1'), extAddr: 0, extV6Addr: parseIP6('fd00::1') };
    const backend = createWireguardBackend({ store, extIface: ext, logger: new RecordingLogger() }, native, wg, { keyFile: join(dir, 'wgkey'), checkIntervalMs: 3_600_000 });
    const ac = new AbortController();
    const config = '{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"wireguard"}}';
    const network = await backend.registerNetwork(checkNetworkConfig(parseNetworkConfig(config)), ac.signal);
    const running = network.run(ac.signal);
    const v6only = (n: number): Lease => {
      const l = lease('0.0.0.0/0', '0.0.0.0', 'wireguard', { subnet: `fd00:10:244:${n}::/64`, publicIP: `fd00::${n}` });
      l.attrs.backendV6Data = { PublicKey: key(n), Port: 51821 };
      return l;
    };
    const peers = async (): Promise<string[]> => ((await wg.getDevice('flannel-wg-v6'))?.peers ?? []).map((p) => `${p.allowedIPs.join(',')} ${p.endpoint}`).sort();
    try {
      store.push(added(v6only(2)), added(v6only(3)));
      await store.drained();
      expect(await peers()).to.deep.equal(['fd00:10:244:2::/64 [fd00::2]:51821', 'fd00:10:244:3::/64 [fd00::3]:51821']);
      expect(await wg.getDevice('flannel-wg')).to.equal(null);
      store.push(removed(v6only(2)));
      await store.drained();
      expect(await peers()).to.deep.equal(['fd00:10:244:3::/64 [fd00::3]:51821']);
    } finally {
      ac.abort();
      await running;
    }
  });
});

describe('wireguard: peers per Mode (peers.ts)', () => {
  const remote = wgLease('10.244.2.0/24', '198.18.0.2', 2, { subnet: 'fd00:10:244:2::/64', publicIP: 'fd00::2' });
  const ctx = (backend: Record<string, unknown>, over: Partial<PeerContext> = {}): PeerContext => ({
    cfg: parseWireguardConfig(backend),
    enableIPv4: true,
    enableIPv6: true,
    extAddr: parseIP4('198.18.0.1'),
    extV6Addr: parseIP6('fd00::1'),
    ...over,
  });
  const show = (p: PeerContext, l: Lease = remote): Record<string, string[]> => {
    const out: Record<string, string[]> = {};
    for (const [dev, peers] of wantedPeers(p, [l])) out[dev] = [...peers.values()].map((w) => `${w.peer.allowedIPs.join(',')} ${w.peer.endpoint}`);
    return out;
  };

  it('separate: one peer per family on its own device, v6 on the BackendV6Data port', () => {
    expect(show(ctx({}))).to.deep.equal({ 'flannel-wg': ['10.244.2.0/24 198.18.0.2:51820'], 'flannel-wg-v6': ['fd00:10:244:2::/64 [fd00::2]:51821'] });
  });

  it('ipv6: one peer with both subnets on flannel-wg, the v6 endpoint on the port the remote listens on (its ListenPort)', () => {
    expect(show(ctx({ Mode: 'ipv6' }))).to.deep.equal({ 'flannel-wg': ['10.244.2.0/24,fd00:10:244:2::/64 [fd00::2]:51820'] });
  });

  it('auto: v4 for a ULA remote, v6 for a global one when we have a global v6 too', () => {
    expect(show(ctx({ Mode: 'auto' }))).to.deep.equal({ 'flannel-wg': ['10.244.2.0/24,fd00:10:244:2::/64 198.18.0.2:51820'] });
    const global = wgLease('10.244.2.0/24', '10.0.0.2', 2, { subnet: 'fd00:10:244:2::/64', publicIP: '2001:db8::2' });
    expect(show(ctx({ Mode: 'auto' }, { extAddr: parseIP4('10.0.0.1'), extV6Addr: parseIP6('2001:db8::1') }), global)).to.deep.equal({
      'flannel-wg': ['10.244.2.0/24,fd00:10:244:2::/64 [2001:db8::2]:51820'],
    });
  });

  it('a single-tunnel mode with IPv6 disabled carries v4 only and does not crash', () => {
    expect(show(ctx({ Mode: 'ipv4' }, { enableIPv6: false }))).to.deep.equal({ 'flannel-wg': ['10.244.2.0/24 198.18.0.2:51820'] });
  });

  it('skips a lease whose data is unusable for a family', () => {
    const bad = wgLease('10.244.3.0/24', '198.18.0.3', 3);
    bad.attrs.backendData = { PublicKey: 'x' };
    expect(show(ctx({}, { enableIPv6: false }), bad)).to.deep.equal({ 'flannel-wg': [] });
  });
});
