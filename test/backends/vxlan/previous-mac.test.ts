// The VTEP MAC of the previous run (LeaseStore.previousLease) on the fake native layer: a device that has
// to be created gets it, when the previous data is usable; an existing compatible device keeps its own.
import { expect } from 'chai';
import { createVxlanBackend } from '../../../backends/vxlan/backend.js';
import { vtepMacProblem } from '../../../backends/vxlan/mac.js';
import type { VxlanNetwork } from '../../../backends/vxlan/network.js';
import type { FakeNative } from '../../../native/fake.js';
import type { Link } from '../../../native/types.js';
import type { NetworkConfig } from '../../../subnet-lease/config.js';
import { parseIP4, parseIP6 } from '../../../common/ip.js';
import type { LeaseAttrs } from '../../../subnet-lease/lease.js';
import type { LeaseStore } from '../../../subnet-lease/store.js';
import { prepareFake } from './harness.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';
import { MemoryLeaseStore, dualStackConfig, vxlanNetworkConfig } from '../../helpers/memory-store.js';

const PREV = '0a:11:22:33:44:55';
const PREV6 = '0e:66:77:88:99:aa';

function prevAttrs(data: unknown, v6data?: unknown, backendType = 'vxlan'): LeaseAttrs {
  const a: LeaseAttrs = { publicIP: parseIP4('198.18.0.1'), publicIPv6: null, backendType, backendData: data };
  if (v6data !== undefined) a.backendV6Data = v6data;
  return a;
}

interface Run {
  native: FakeNative;
  store: MemoryLeaseStore;
  log: RecordingLogger;
  stop(): Promise<void>;
}

async function run(opts: { previous: LeaseAttrs | null; config?: NetworkConfig; prepared?: { native: FakeNative; eth0: Link }; store?: (s: MemoryLeaseStore) => LeaseStore }): Promise<Run> {
  const { native, eth0 } = opts.prepared ?? (await prepareFake());
  const config = opts.config ?? vxlanNetworkConfig();
  const v6 = config.enableIPv6;
  if (v6) await native.addrAdd({ ifindex: eth0.index, address: 'fd00:198:18::1', prefixLen: 64 });
  const store = new MemoryLeaseStore(config);
  store.previous = opts.previous;
  const log = new RecordingLogger();
  const extIface = {
    name: 'eth0', index: eth0.index, mtu: 1500,
    ifaceAddr: parseIP4('198.18.0.1'), ifaceV6Addr: v6 ? parseIP6('fd00:198:18::1') : null,
    extAddr: parseIP4('198.18.0.1'), extV6Addr: v6 ? parseIP6('fd00:198:18::1') : null,
  };
  const be = createVxlanBackend({ store: opts.store ? opts.store(store) : store, extIface, logger: log }, native, { reconcileIntervalMs: 50, recreateBackoffMs: { initial: 10, max: 40 } });
  const ac = new AbortController();
  const network = (await be.registerNetwork(config, ac.signal)) as VxlanNetwork;
  const running = network.run(ac.signal);
  return { native, store, log, stop: async () => { ac.abort(); await running; } };
}

async function macOf(r: Run, name = 'flannel.1'): Promise<string> {
  return (await r.native.linkGet(name))!.mac!;
}

describe('vxlan backend: VTEP MAC of the previous run (fake native)', () => {
  let r: Run | undefined;
  afterEach(async () => {
    await r?.stop();
    r = undefined;
  });

  it('creates flannel.1 with the previous MAC, asks with our public IP, and writes the same lease bytes', async () => {
    r = await run({ previous: prevAttrs({ VNI: 1, VtepMAC: PREV }) });
    expect(await macOf(r)).to.equal(PREV);
    expect(r.store.previousAsked).to.deep.equal([parseIP4('198.18.0.1')]);
    expect(r.store.values.get('10.244.1.0/24')).to.equal(`{"PublicIP":"198.18.0.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${PREV}"}}`);
  });

  it('accepts the previous MAC in another spelling (upper case, dashes) and writes it canonical', async () => {
    r = await run({ previous: prevAttrs({ vni: 1, vtepmac: '0A-11-22-33-44-55' }) });
    expect(await macOf(r)).to.equal(PREV);
  });

  it('creates flannel-v6.1 with the MAC of BackendV6Data, and flannel.1 with that of BackendData', async () => {
    r = await run({ config: dualStackConfig(), previous: prevAttrs({ VNI: 1, VtepMAC: PREV }, { VNI: 1, VtepMAC: PREV6 }) });
    expect(await macOf(r)).to.equal(PREV);
    expect(await macOf(r, 'flannel-v6.1')).to.equal(PREV6);
    const lease = JSON.parse(r.store.values.get('10.244.1.0/24')!);
    expect(lease.BackendV6Data).to.deep.equal({ VNI: 1, VtepMAC: PREV6 });
  });

  const unusable: Array<[string, LeaseAttrs | null, RegExp]> = [
    ['no previous lease', null, /no previous lease/],
    ['another VNI', prevAttrs({ VNI: 2, VtepMAC: PREV }), /VNI 2 differs from VNI 1/],
    ['a multicast MAC', prevAttrs({ VNI: 1, VtepMAC: '0b:11:22:33:44:55' }), /multicast/],
    ['a broadcast MAC', prevAttrs({ VNI: 1, VtepMAC: 'ff:ff:ff:ff:ff:ff' }), /multicast/],
    ['a universally administered MAC', prevAttrs({ VNI: 1, VtepMAC: '00:11:22:33:44:55' }), /not locally administered/],
    ['an invalid MAC', prevAttrs({ VNI: 1, VtepMAC: 'not-a-mac' }), /VtepMAC must be a MAC/],
    ['no BackendData', { publicIP: parseIP4('198.18.0.1'), publicIPv6: null, backendType: 'vxlan' }, /no BackendData/],
    ['another backend type', prevAttrs({ VNI: 1, VtepMAC: PREV }, undefined, 'host-gw'), /backend type host-gw/],
  ];
  for (const [what, previous, why] of unusable) {
    it(`uses a random locally administered unicast MAC with ${what}, and says why at debug level`, async () => {
      r = await run({ previous });
      const mac = await macOf(r);
      expect(mac).to.not.equal(PREV);
      expect(vtepMacProblem(mac)).to.equal(null);
      expect(r.log.has('debug', why), JSON.stringify(r.log.lines)).to.equal(true);
      expect(JSON.parse(r.store.values.get('10.244.1.0/24')!).BackendData.VtepMAC).to.equal(mac);
    });
  }

  it('uses the v4 MAC but not a v6 one of another VNI', async () => {
    r = await run({ config: dualStackConfig(), previous: prevAttrs({ VNI: 1, VtepMAC: PREV }, { VNI: 9, VtepMAC: PREV6 }) });
    expect(await macOf(r)).to.equal(PREV);
    expect(await macOf(r, 'flannel-v6.1')).to.not.equal(PREV6);
    expect(r.log.has('debug', /BackendV6Data.VNI 9 differs/)).to.equal(true);
  });

  it('keeps the MAC of an existing compatible device, and advertises that one', async () => {
    const prepared = await prepareFake();
    await prepared.native.linkAddVxlan({ name: 'flannel.1', vni: 1, mtu: 1450, mac: '0a:99:99:99:99:99', link: prepared.eth0.index, local: '198.18.0.1', learning: false, gbp: false });
    r = await run({ prepared, previous: prevAttrs({ VNI: 1, VtepMAC: PREV }) });
    expect(await macOf(r)).to.equal('0a:99:99:99:99:99');
    expect(JSON.parse(r.store.values.get('10.244.1.0/24')!).BackendData.VtepMAC).to.equal('0a:99:99:99:99:99');
  });

  it('gives an incompatible existing device that it replaces the previous MAC', async () => {
    const prepared = await prepareFake();
    await prepared.native.linkAddVxlan({ name: 'flannel.1', vni: 1, mtu: 1450, mac: '0a:99:99:99:99:99', link: prepared.eth0.index, local: '198.18.0.9', learning: false, gbp: false });
    r = await run({ prepared, previous: prevAttrs({ VNI: 1, VtepMAC: PREV }) });
    expect(await macOf(r)).to.equal(PREV);
  });

  it('carries on with a random MAC when the store cannot read the previous lease, or has no such method', async () => {
    r = await run({
      previous: null,
      store: (s) => Object.assign(Object.create(s) as MemoryLeaseStore, { previousLease: () => Promise.reject(new Error('store down')) }),
    });
    expect(r.log.has('warn', /could not read the previous lease: store down/)).to.equal(true);
    expect(vtepMacProblem(await macOf(r))).to.equal(null);
    await r.stop();
    r = await run({ previous: prevAttrs({ VNI: 1, VtepMAC: PREV }), store: (s) => Object.assign(Object.create(s) as MemoryLeaseStore, { previousLease: undefined }) });
    expect(await macOf(r)).to.not.equal(PREV);
    expect(r.log.has('debug', /cannot tell the previous VTEP MAC/)).to.equal(true);
  });
});
