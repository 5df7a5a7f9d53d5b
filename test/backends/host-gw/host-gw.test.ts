// host-gw on the in-memory kernel (FakeNative): what ends up in the routing table for each lease event,
// the lease it asks for, the NAT refusal, the unreachable-host skip and the check loop's repairs.
import { expect } from 'chai';
import { HostGwError, NAT_REFUSAL, createHostGwBackend } from '../../../backends/host-gw/backend.js';
import type { ExternalInterface, Network } from '../../../backends/backend.js';
import { FakeNative } from '../../../native/fake.js';
import { FLANNEL_ROUTE_PROTOCOL } from '../../../backends/route-network/stale-routes.js';
import { RTPROT_KERNEL, type Link } from '../../../native/types.js';
import { checkNetworkConfig, parseNetworkConfig } from '../../../subnet-lease/config.js';
import { parseIP4, parseIP6 } from '../../../common/ip.js';
import { encodeLeaseAttrs } from '../../../subnet-lease/lease.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';
import { ScriptedStore, added, lease, removed } from '../../helpers/scripted-store.js';

const CONFIG = '{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}';
const HOUR = 3_600_000;

interface Harness {
  native: FakeNative;
  eth0: Link;
  store: ScriptedStore;
  log: RecordingLogger;
  network: Network;
  /** Our routes in `ip route` words (connected routes and the default route left out). */
  routes(): Promise<string[]>;
  stop(): Promise<void>;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function extIface(eth0: Link, over: Partial<ExternalInterface> = {}): ExternalInterface {
  const ip = parseIP4('198.18.0.1');
  return { name: 'eth0', index: eth0.index, mtu: eth0.mtu, ifaceAddr: ip, ifaceV6Addr: null, extAddr: ip, extV6Addr: null, ...over };
}

async function fakeHost(mtu = 1500): Promise<{ native: FakeNative; eth0: Link; eth1: Link }> {
  const native = new FakeNative();
  const eth0 = native.addTestLink({ name: 'eth0', kind: 'veth', mtu });
  const eth1 = native.addTestLink({ name: 'eth1', kind: 'veth' });
  await native.addrAdd({ ifindex: eth0.index, address: '198.18.0.1', prefixLen: 24 });
  await native.addrAdd({ ifindex: eth1.index, address: '192.168.5.1', prefixLen: 24 });
  await native.routeReplace({ dst: '0.0.0.0/0', gateway: '198.18.0.254' });
  return { native, eth0, eth1 };
}

async function start(opts: { checkIntervalMs?: number; config?: string; ext?: Partial<ExternalInterface>; mtu?: number; prepare?: (n: FakeNative) => Promise<void> } = {}): Promise<Harness> {
  const { native, eth0 } = await fakeHost(opts.mtu);
  await opts.prepare?.(native);
  const store = new ScriptedStore('10.244.1.0/24', opts.ext?.extV6Addr ? 'fd00:10:244:1::/64' : null);
  const log = new RecordingLogger();
  const backend = createHostGwBackend({ store, extIface: extIface(eth0, opts.ext), logger: log }, native, { checkIntervalMs: opts.checkIntervalMs ?? HOUR });
  const ac = new AbortController();
  const network = await backend.registerNetwork(checkNetworkConfig(parseNetworkConfig(opts.config ?? CONFIG)), ac.signal);
  const running = network.run(ac.signal);
  const names = new Map([...(await native.linkList())].map((l) => [l.index, l.name]));
  const routes = async (): Promise<string[]> =>
    (await native.routeList())
      .filter((r) => r.protocol !== RTPROT_KERNEL && r.dst !== '0.0.0.0/0')
      .map((r) => `${r.dst} via ${r.gateway} dev ${names.get(r.ifindex)}`)
      .sort();
  return { native, eth0, store, log, network, routes, stop: async () => (ac.abort(), await running) };
}

describe('host-gw backend on the fake kernel', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('leases {"PublicIP":…,"PublicIPv6":null,"BackendType":"host-gw"} and uses the interface MTU', async () => {
    h = await start({ mtu: 1432 });
    expect(h.store.acquired.map(encodeLeaseAttrs)).to.deep.equal(['{"PublicIP":"198.18.0.1","PublicIPv6":null,"BackendType":"host-gw"}']);
    expect(h.network.mtu).to.equal(1432);
    expect(h.network.lease.subnet.toString()).to.equal('10.244.1.0/24');
  });

  it('refuses, as the reference does, when the public IP is not the interface address (NAT), before leasing', async () => {
    const { native, eth0 } = await fakeHost();
    const store = new ScriptedStore();
    const ctx = { store, extIface: extIface(eth0, { extAddr: parseIP4('203.0.113.7') }), logger: new RecordingLogger() };
    expect(() => createHostGwBackend(ctx, native)).to.throw(HostGwError, NAT_REFUSAL);
    expect(NAT_REFUSAL).to.equal(
      "your PublicIP differs from interface IP, meaning that probably you're on a NAT, which is not supported by host-gw backend",
    );
    expect(store.acquired).to.deep.equal([]);
  });

  it('adds <subnet> via <public IP> dev <ext iface> for every remote host, and deletes it when the lease goes', async () => {
    h = await start();
    h.store.push(added(lease('10.244.2.0/24', '198.18.0.2', 'host-gw')), added(lease('10.244.3.0/24', '198.18.0.3', 'host-gw')));
    await h.store.drained();
    expect(await h.routes()).to.deep.equal(['10.244.2.0/24 via 198.18.0.2 dev eth0', '10.244.3.0/24 via 198.18.0.3 dev eth0']);
    h.store.push(removed(lease('10.244.2.0/24', '198.18.0.2', 'host-gw')));
    await h.store.drained();
    expect(await h.routes()).to.deep.equal(['10.244.3.0/24 via 198.18.0.3 dev eth0']);
    expect(h.log.messages('info')).to.include.members(['added route 10.244.3.0/24 via 198.18.0.3 dev eth0', 'deleted route 10.244.2.0/24 via 198.18.0.2 dev eth0']);
  });

  it('replaces a route to the same subnet with another gateway or another device, and says so', async () => {
    h = await start({
      prepare: async (n) => {
        await n.routeReplace({ dst: '10.244.2.0/24', gateway: '198.18.0.99' });
        await n.routeReplace({ dst: '10.244.3.0/24', gateway: '192.168.5.9' });
      },
    });
    expect(await h.routes()).to.deep.equal(['10.244.2.0/24 via 198.18.0.99 dev eth0', '10.244.3.0/24 via 192.168.5.9 dev eth1']);
    h.store.push(added(lease('10.244.2.0/24', '198.18.0.2', 'host-gw')), added(lease('10.244.3.0/24', '198.18.0.3', 'host-gw')));
    await h.store.drained();
    expect(await h.routes()).to.deep.equal(['10.244.2.0/24 via 198.18.0.2 dev eth0', '10.244.3.0/24 via 198.18.0.3 dev eth0']);
    expect(h.log.messages('warn')).to.include.members([
      'replaced existing route 10.244.2.0/24 via 198.18.0.99 dev eth0 with 10.244.2.0/24 via 198.18.0.2 dev eth0',
      'replaced existing route 10.244.3.0/24 via 192.168.5.9 dev #3 with 10.244.3.0/24 via 198.18.0.3 dev eth0',
    ]);
  });

  it('leaves an identical route of ours alone (no write at all)', async () => {
    h = await start({ prepare: (n) => n.routeReplace({ dst: '10.244.2.0/24', gateway: '198.18.0.2', ifindex: 2, protocol: FLANNEL_ROUTE_PROTOCOL }) });
    const writes = h.native.opsApplied;
    h.store.push(added(lease('10.244.2.0/24', '198.18.0.2', 'host-gw')));
    await h.store.drained();
    expect(h.native.opsApplied).to.equal(writes);
    expect(await h.routes()).to.deep.equal(['10.244.2.0/24 via 198.18.0.2 dev eth0']);
    expect(h.log.messages('info')).to.include('route 10.244.2.0/24 via 198.18.0.2 dev eth0 already exists, skipping');
  });

  it('takes over an identical route without our marker (e.g. the reference daemon\'s, proto boot): one rewrite, marked', async () => {
    h = await start({ prepare: (n) => n.routeReplace({ dst: '10.244.2.0/24', gateway: '198.18.0.2', ifindex: 2 }) });
    h.store.push(added(lease('10.244.2.0/24', '198.18.0.2', 'host-gw')));
    await h.store.drained();
    const mine = (await h.native.routeList()).filter((r) => r.dst === '10.244.2.0/24');
    expect(mine.map((r) => [r.gateway, r.protocol])).to.deep.equal([['198.18.0.2', FLANNEL_ROUTE_PROTOCOL]]);
    expect(h.log.messages('info')).to.include('route 10.244.2.0/24 via 198.18.0.2 dev eth0 existed without our marker (proto 3); rewritten as flannel-ts\'s (proto 157)');
  });

  it('deletes routes of ours that no lease wants after the first snapshot and at each check; leaves unmarked ones', async () => {
    h = await start({
      checkIntervalMs: 20,
      prepare: async (n) => {
        const via = (dst: string, gateway: string, protocol?: number) => n.routeReplace({ dst, gateway, ifindex: 2, ...(protocol ? { protocol } : {}) });
        await via('10.244.9.0/24', '198.18.0.9', FLANNEL_ROUTE_PROTOCOL); // a lease deleted while we were down
        await via('10.244.8.0/24', '198.18.0.8'); // made by hand (or by the reference daemon)
        await via('192.0.2.0/24', '198.18.0.7', FLANNEL_ROUTE_PROTOCOL); // outside the Network
      },
    });
    // Nothing is deleted before the first snapshot says which leases exist.
    await new Promise((r) => setTimeout(r, 100));
    expect(await h.routes()).to.include('10.244.9.0/24 via 198.18.0.9 dev eth0');
    h.store.push(added(lease('10.244.2.0/24', '198.18.0.2', 'host-gw')));
    await until('the stale route gone', async () => !(await h!.routes()).includes('10.244.9.0/24 via 198.18.0.9 dev eth0'));
    expect(await h.routes()).to.deep.equal(['10.244.2.0/24 via 198.18.0.2 dev eth0', '10.244.8.0/24 via 198.18.0.8 dev eth0', '192.0.2.0/24 via 198.18.0.7 dev eth0']);
    expect(h.log.messages('info')).to.include('deleted stale route 10.244.9.0/24 via 198.18.0.9 dev eth0 (made by flannel-ts, no lease wants it)');
    const warned = h.log.messages('warn').filter((m) => m.startsWith('route 10.244.8.0/24 via 198.18.0.8 dev eth0 (proto 3) into the flannel network matches no lease'));
    // A marked route that appears later (say, restored from a backup) goes at the next check; the warning is not repeated.
    await h.native.routeReplace({ dst: '10.244.7.0/24', gateway: '198.18.0.7', ifindex: 2, protocol: FLANNEL_ROUTE_PROTOCOL });
    await until('the marked route gone at a check', async () => !(await h!.routes()).includes('10.244.7.0/24 via 198.18.0.7 dev eth0'));
    expect(warned).to.have.length(1);
    expect(h.log.messages('warn').filter((m) => m.startsWith('route 10.244.8.0/24'))).to.have.length(1);
  });

  it('follows a host whose public IP changed, and drops its route when its lease turns into another type', async () => {
    h = await start();
    h.store.push(added(lease('10.244.2.0/24', '198.18.0.2', 'host-gw')));
    h.store.push(added(lease('10.244.2.0/24', '198.18.0.20', 'host-gw')));
    await h.store.drained();
    expect(await h.routes()).to.deep.equal(['10.244.2.0/24 via 198.18.0.20 dev eth0']);
    h.store.push(added(lease('10.244.2.0/24', '198.18.0.20', 'vxlan')));
    await h.store.drained();
    expect(await h.routes()).to.deep.equal([]);
  });

  it('ignores leases of another backend type with a warning', async () => {
    h = await start();
    h.store.push(added(lease('10.244.4.0/24', '198.18.0.4', 'vxlan')), added(lease('10.244.5.0/24', '198.18.0.5')));
    await h.store.drained();
    expect(await h.routes()).to.deep.equal([]);
    expect(h.log.messages('warn')).to.deep.equal([
      'ignoring non-host-gw subnet 10.244.4.0/24 (public IP 198.18.0.4): type=vxlan',
      'ignoring non-host-gw subnet 10.244.5.0/24 (public IP 198.18.0.5): type=(none)',
    ]);
  });

  it('routes no host whose public IP is behind a gateway, warns once naming it, and routes it once it is on-link', async () => {
    h = await start({ checkIntervalMs: 20 });
    h.store.push(added(lease('10.244.4.0/24', '198.18.1.4', 'host-gw')), added(lease('10.244.2.0/24', '198.18.0.2', 'host-gw')));
    await h.store.drained();
    expect(await h.routes()).to.deep.equal(['10.244.2.0/24 via 198.18.0.2 dev eth0']);
    const warning =
      'not routing to host 10.244.4.0/24 (public IP 198.18.1.4): its public IP 198.18.1.4 is not directly reachable on eth0 ' +
      '(the kernel routes it via gateway 198.18.0.254); host-gw needs every host on one L2 segment (vxlan works across routers), ' +
      'so no route to 10.244.4.0/24 is installed';
    expect(h.log.messages('warn')).to.deep.equal([warning]);
    // Each check asks the kernel again about the withheld host, without warning again.
    let asked = 0;
    const routeGet = h.native.routeGet.bind(h.native);
    h.native.routeGet = (dst) => (asked++, routeGet(dst));
    await until('three more checks', () => asked >= 3);
    expect(h.log.messages('warn')).to.deep.equal([warning]);
    // The underlay changes: 198.18.1.0/24 becomes on-link on eth0.
    await h.native.addrAdd({ ifindex: h.eth0.index, address: '198.18.1.1', prefixLen: 24 });
    await until('the route to the now reachable host', async () => (await h!.routes()).includes('10.244.4.0/24 via 198.18.1.4 dev eth0'));
    expect(h.log.messages('info')).to.include('host 10.244.4.0/24 (public IP 198.18.1.4) can be routed now');
  });

  it('does not route a host that claims one of our own addresses', async () => {
    h = await start();
    h.store.push(added(lease('10.244.9.0/24', '198.18.0.1', 'host-gw')));
    await h.store.drained();
    expect(await h.routes()).to.deep.equal([]);
    expect(h.log.messages('warn')[0]).to.match(/^not routing to host 10\.244\.9\.0\/24 .*198\.18\.0\.1 is an address of this host/);
  });

  it('puts back a route deleted by hand, and one overwritten by hand, at the next check, logging each repair', async () => {
    h = await start({ checkIntervalMs: 30 });
    h.store.push(added(lease('10.244.2.0/24', '198.18.0.2', 'host-gw')), added(lease('10.244.3.0/24', '198.18.0.3', 'host-gw')));
    await h.store.drained();
    await h.native.routeDelete({ dst: '10.244.2.0/24' });
    await h.native.routeReplace({ dst: '10.244.3.0/24', gateway: '198.18.0.77' });
    expect(await h.routes()).to.deep.equal(['10.244.3.0/24 via 198.18.0.77 dev eth0']);
    const want = ['10.244.2.0/24 via 198.18.0.2 dev eth0', '10.244.3.0/24 via 198.18.0.3 dev eth0'];
    await until('both routes back', async () => JSON.stringify(await h!.routes()) === JSON.stringify(want));
    expect(h.log.messages('warn')).to.include.members([
      'route check: route 10.244.2.0/24 via 198.18.0.2 dev eth0 was missing; put back',
      'route check: route 10.244.3.0/24 via 198.18.0.3 dev eth0 had been replaced by 10.244.3.0/24 via 198.18.0.77 dev eth0; restored',
    ]);
    // Once repaired, further checks write nothing.
    const writes = h.native.opsApplied;
    await new Promise((r) => setTimeout(r, 150));
    expect(h.native.opsApplied).to.equal(writes);
  });

  it('keeps a route the kernel refused and installs it at a later check, reporting the failure once', async () => {
    h = await start({ checkIntervalMs: 20 });
    h.native.faults = [(op) => (op.op === 'route.replace' ? 'EPERM' : null)];
    h.store.push(added(lease('10.244.2.0/24', '198.18.0.2', 'host-gw')));
    await h.store.drained();
    await new Promise((r) => setTimeout(r, 120));
    expect(await h.routes()).to.deep.equal([]);
    expect(h.log.messages('error').filter((m) => m.startsWith('cannot install route 10.244.2.0/24'))).to.have.length(1);
    h.native.faults = [];
    await until('the route after the fault cleared', async () => (await h!.routes()).length === 1);
  });

  it('stops on abort and leaves the routes in place', async () => {
    h = await start();
    h.store.push(added(lease('10.244.2.0/24', '198.18.0.2', 'host-gw')));
    await h.store.drained();
    await h.stop();
    expect(await h.routes()).to.deep.equal(['10.244.2.0/24 via 198.18.0.2 dev eth0']);
    h = undefined;
  });

  it('dual stack: leases PublicIPv6 too and routes the IPv6 subnet via it', async () => {
    const config = '{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"host-gw"}}';
    const v6 = parseIP6('fd00:18::1');
    h = await start({ config, ext: { ifaceV6Addr: v6, extV6Addr: v6 }, prepare: (n) => n.addrAdd({ ifindex: 2, address: 'fd00:18::1', prefixLen: 64 }) });
    expect(encodeLeaseAttrs(h.store.acquired[0]!)).to.equal('{"PublicIP":"198.18.0.1","PublicIPv6":"fd00:18::1","BackendType":"host-gw"}');
    h.store.push(added(lease('10.244.2.0/24', '198.18.0.2', 'host-gw', { subnet: 'fd00:10:244:2::/64', publicIP: 'fd00:18::2' })));
    await h.store.drained();
    expect(await h.routes()).to.deep.equal(['10.244.2.0/24 via 198.18.0.2 dev eth0', 'fd00:10:244:2::/64 via fd00:18::2 dev eth0']);
  });
});
