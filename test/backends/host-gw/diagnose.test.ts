// The host-gw check of `flanneld diagnose` on the in-memory kernel, against routes written by hand.
import { expect } from 'chai';
import type { ExternalInterface } from '../../../backends/backend.js';
import { checkHostGw } from '../../../backends/host-gw/diagnose.js';
import type { CheckInput, Finding } from '../../../backends/module.js';
import { FakeNative } from '../../../native/fake.js';
import { checkNetworkConfig, parseNetworkConfig } from '../../../subnet-lease/config.js';
import { parseIP4 } from '../../../common/ip.js';
import { lease } from '../../helpers/scripted-store.js';
const texts = (fs: Finding[], kind: Finding['kind']): string[] => fs.filter((f) => f.kind === kind).map((f) => f.text);

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
    input = { config, own, leases, native, ext: async () => ext };
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
