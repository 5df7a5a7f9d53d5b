// The comparisons of `flanneld diagnose` on the in-memory kernel: vxlan against the state the real
// backend programmed (then damaged by hand), host-gw against routes written by hand.
import { expect } from 'chai';
import type { ExternalInterface } from '../../../backends/backend.js';
import { checkHostGw } from '../../../flanneld/diagnose/check-routes.js';
import { checkVxlan } from '../../../flanneld/diagnose/check-vxlan.js';
import { exitCode, renderText, type CheckInput, type Finding } from '../../../flanneld/diagnose/findings.js';
import { FakeNative } from '../../../native/fake.js';
import { checkNetworkConfig, parseNetworkConfig } from '../../../subnet-lease/config.js';
import { parseIP4 } from '../../../subnet-lease/ip.js';
import { type Harness, startHarness, until } from '../../backends/vxlan/harness.js';
import { remoteLease, vxlanNetworkConfig } from '../../backends/vxlan/memory-store.js';
import { lease } from '../../backends/route-network/scripted-store.js';

const MAC2 = '0a:00:00:00:00:02';
const MAC3 = '0a:00:00:00:00:03';
const texts = (fs: Finding[], kind: Finding['kind']): string[] => fs.filter((f) => f.kind === kind).map((f) => f.text);

describe('flanneld diagnose: vxlan comparison on the fake kernel', () => {
  let h: Harness;
  let input: CheckInput;
  let dev: number;

  beforeEach(async () => {
    h = await startHarness();
    h.store.put(remoteLease('10.244.2.0/24', '198.18.0.2', MAC2));
    h.store.put(remoteLease('10.244.3.0/24', '198.18.0.3', MAC3));
    await until(() => h.network.peerCount === 2, 'two peers');
    await h.network.whenIdle();
    await h.stop();
    const own = h.network.lease;
    const others = [...h.store.leases.values()].filter((l) => !l.subnet.equals(own.subnet));
    input = { config: vxlanNetworkConfig(), own, leases: [own, ...others], native: h.native };
    dev = (await h.native.linkGet('flannel.1'))!.index;
  });

  it('finds nothing when the kernel is as the backend left it', async () => {
    const found = await checkVxlan(input);
    expect(found).to.deep.equal([]);
    expect(exitCode({ backend: 'vxlan', own: input.own, leases: input.leases, findings: found })).to.equal(0);
  });

  it('names a deleted route and a deleted FDB entry as missing, with their lease', async () => {
    await h.native.routeDelete({ dst: '10.244.2.0/24', gateway: '10.244.2.0', ifindex: dev });
    await h.native.fdbDelete({ ifindex: dev, mac: MAC3, dst: '198.18.0.3' });
    const found = await checkVxlan(input);
    expect(texts(found, 'missing')).to.deep.equal([
      `fdb ${MAC3} dst 198.18.0.3 dev flannel.1 (lease 10.244.3.0/24 of 198.18.0.3)`,
      'route 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink (lease 10.244.2.0/24 of 198.18.0.2)',
    ]);
    expect(texts(found, 'stale')).to.deep.equal([]);
  });

  it('names a neighbour no lease wants as stale, and one with another MAC as missing with what the kernel has', async () => {
    await h.native.neighReplace({ ifindex: dev, ip: '10.244.9.0', mac: '02:00:00:00:00:99' });
    await h.native.neighReplace({ ifindex: dev, ip: '10.244.2.0', mac: '02:00:00:00:00:22' });
    const found = await checkVxlan(input);
    expect(texts(found, 'stale')).to.deep.equal(['neigh 10.244.9.0 lladdr 02:00:00:00:00:99 dev flannel.1 (no lease wants it)']);
    expect(texts(found, 'missing')).to.deep.equal([
      `neigh 10.244.2.0 lladdr ${MAC2} dev flannel.1 (lease 10.244.2.0/24 of 198.18.0.2); the kernel has neigh 10.244.2.0 lladdr 02:00:00:00:00:22 dev flannel.1 instead`,
    ]);
  });

  it('reports the device: down, wrong MTU, a MAC other than our lease, our address gone, or no device at all', async () => {
    const own = (await h.native.linkGet('flannel.1'))!;
    await h.native.linkSet(dev, { up: false, mtu: 1400, mac: '02:00:00:00:00:aa' });
    await h.native.addrDelete({ ifindex: dev, address: '10.244.1.0', prefixLen: 32 });
    const found = await checkVxlan(input);
    expect(texts(found, 'device')).to.deep.equal([
      'flannel.1 is down',
      'flannel.1 has MTU 1400, expected 1450',
      `flannel.1 has MAC 02:00:00:00:00:aa, our lease says VtepMAC ${own.mac}`,
      'flannel.1 lacks address 10.244.1.0/32',
    ]);
    await h.native.linkDelete(dev);
    expect(await checkVxlan(input)).to.deep.equal([{ kind: 'device', text: 'device flannel.1 is missing (flanneld creates it at start-up)' }]);
  });

  it('renders the leases, one line per finding and a summary', async () => {
    await h.native.routeDelete({ dst: '10.244.3.0/24', gateway: '10.244.3.0', ifindex: dev });
    const text = renderText({ backend: 'vxlan', own: input.own, leases: input.leases, findings: await checkVxlan(input) });
    expect(text).to.match(/^  10\.244\.2\.0\/24  public IP 198\.18\.0\.2  backend vxlan  VTEP MAC 0a:00:00:00:00:02$/m);
    expect(text).to.match(/\(this host\)$/m);
    expect(text).to.match(/^missing: route 10\.244\.3\.0\/24 via 10\.244\.3\.0 dev flannel\.1 onlink \(lease 10\.244\.3\.0\/24 of 198\.18\.0\.3\)$/m);
    expect(text).to.match(/^summary: 1 missing, 0 stale, 0 device problems; PROBLEMS FOUND$/m);
  });
});

describe('flanneld diagnose: host-gw comparison on the fake kernel', () => {
  let native: FakeNative;
  let input: CheckInput;
  let eth0: number;

  beforeEach(async () => {
    native = new FakeNative();
    eth0 = native.addTestLink({ name: 'eth0', kind: 'veth' }).index;
    await native.addrAdd({ ifindex: eth0, address: '198.18.0.1', prefixLen: 24 });
    await native.routeReplace({ dst: '0.0.0.0/0', gateway: '198.18.0.254' });
    const ip = parseIP4('198.18.0.1');
    const ext: ExternalInterface = { name: 'eth0', index: eth0, mtu: 1500, ifaceAddr: ip, ifaceV6Addr: null, extAddr: ip, extV6Addr: null };
    const own = lease('10.244.1.0/24', '198.18.0.1', 'host-gw');
    const config = checkNetworkConfig(parseNetworkConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}'));
    const leases = [own, lease('10.244.2.0/24', '198.18.0.2', 'host-gw'), lease('10.244.3.0/24', '198.18.0.3', 'host-gw'), lease('10.244.4.0/24', '192.0.2.7', 'host-gw')];
    input = { config, own, leases, native, ext };
  });

  it('finds nothing missing when every reachable lease has its route; an unreachable one is a note', async () => {
    await native.routeReplace({ dst: '10.244.2.0/24', gateway: '198.18.0.2', ifindex: eth0 });
    await native.routeReplace({ dst: '10.244.3.0/24', gateway: '198.18.0.3', ifindex: eth0 });
    const found = await checkHostGw(input);
    expect(found.filter((f) => f.kind !== 'note')).to.deep.equal([]);
    expect(texts(found, 'note')).to.have.length(1);
    expect(texts(found, 'note')[0]).to.match(/^lease 10\.244\.4\.0\/24: its public IP 192\.0\.2\.7 is not directly reachable/);
  });

  it('names a missing route, a route via another gateway, and a route no lease wants', async () => {
    await native.routeReplace({ dst: '10.244.2.0/24', gateway: '198.18.0.9', ifindex: eth0 });
    await native.routeReplace({ dst: '10.244.9.0/24', gateway: '198.18.0.9', ifindex: eth0 });
    await native.routeReplace({ dst: '10.244.8.0/24', gateway: '198.18.0.8', ifindex: eth0, protocol: 157 });
    const found = await checkHostGw(input);
    expect(texts(found, 'missing')).to.deep.equal([
      'route 10.244.2.0/24 via 198.18.0.2 dev eth0 (lease 10.244.2.0/24 of 198.18.0.2); the kernel has 10.244.2.0/24 via 198.18.0.9 dev eth0 instead',
      'route 10.244.3.0/24 via 198.18.0.3 dev eth0 (lease 10.244.3.0/24 of 198.18.0.3)',
    ]);
    expect(texts(found, 'stale').sort()).to.deep.equal([
      'route 10.244.8.0/24 via 198.18.0.8 dev eth0 (no lease wants it; proto 157: made by flannel-ts, which deletes it at start-up and at every route check)',
      'route 10.244.9.0/24 via 198.18.0.9 dev eth0 (no lease wants it; proto 3: not made by flannel-ts, which leaves it; delete it by hand if an earlier flanneld left it)',
    ]);
  });
});
