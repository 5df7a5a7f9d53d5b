// The vxlan check of `flanneld diagnose` on the in-memory kernel, against the state the real backend
// programmed (then damaged by hand).
import { expect } from 'chai';
import { checkVxlan } from '../../../backends/vxlan/diagnose.js';
import { exitCode, renderText } from '../../../flanneld/diagnose/findings.js';
import type { CheckInput, Finding } from '../../../backends/module.js';
import { type Harness, startHarness, until } from './harness.js';
import { remoteLease, vxlanNetworkConfig } from '../../helpers/memory-store.js';

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
    input = { config: vxlanNetworkConfig(), own, leases: [own, ...others], native: h.native, ext: () => Promise.reject(new Error('the vxlan check does not read the external interface')) };
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
