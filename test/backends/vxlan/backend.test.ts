// The vxlan backend on the fake native layer: device, lease data, per-peer entries, DirectRouting,
// reconcile, recreation and batching.
import { expect } from 'chai';
import { VxlanConfigError } from '../../../backends/vxlan/backend.js';
import { encodeLeaseAttrs } from '../../../subnet-lease/lease.js';
import { type Harness, prepareFake, startHarness, until } from './harness.js';
import { remoteLease, vxlanNetworkConfig } from '../../helpers/memory-store.js';
import { IP4Net } from '../../../common/ip.js';

const MAC_A = '0a:aa:00:00:00:02';
const MAC_B = '0a:bb:00:00:00:03';

async function dev(h: Harness) {
  return (await h.native.linkGet('flannel.1'))!;
}

async function entries(h: Harness) {
  const d = await dev(h);
  return {
    neighs: (await h.native.neighList({ ifindex: d.index })).map((n) => `${n.ip} ${n.mac}`).sort(),
    fdb: (await h.native.fdbList({ ifindex: d.index })).map((f) => `${f.mac} ${f.dst}`).sort(),
    routes: (await h.native.routeList({ family: 4 })).filter((r) => r.dst.startsWith('10.244.')).map((r) => `${r.dst} via ${r.gateway}${r.ifindex === d.index ? ' dev flannel.1' : ''}${r.onlink ? ' onlink' : ''}`).sort(),
  };
}

describe('vxlan backend (fake native)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  describe('registerNetwork', () => {
    it('creates flannel.1 with the reference attributes, the /32 address, up, and the lease data byte-exact', async () => {
      h = await startHarness();
      const d = await dev(h);
      expect(d).to.include({ kind: 'vxlan', mtu: 1450, up: true });
      expect(d.vxlan).to.include({ vni: 1, link: h.eth0.index, local: '198.18.0.1', port: 8472, learning: false, gbp: false, l2miss: false, l3miss: false, proxy: false, rsc: false });
      expect(parseInt(d.mac!.slice(0, 2), 16) & 0x03).to.equal(0x02); // locally administered, unicast
      expect(await h.native.addrList({ ifindex: d.index, family: 4 })).to.deep.equal([{ ifindex: d.index, family: 4, address: '10.244.1.0', prefixLen: 32, scope: 0 }]);
      expect(h.native.sysctls.get('net/ipv6/conf/flannel.1/accept_ra')).to.equal('0');
      expect(h.network.mtu).to.equal(1450);
      expect(h.store.values.get('10.244.1.0/24')).to.equal(`{"PublicIP":"198.18.0.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${d.mac}"}}`);
    });

    it('applies VNI, Port, GBP, Learning and MTU from the config (keys in any case)', async () => {
      h = await startHarness({ type: 'vxlan', vni: 7, PORT: 4789, gbp: true, Learning: true, mtu: 1400 });
      const d = (await h.native.linkGet('flannel.7'))!;
      expect(d.mtu).to.equal(1350);
      expect(d.vxlan).to.include({ vni: 7, port: 4789, gbp: true, learning: true });
      expect(h.network.mtu).to.equal(1350);
      expect(JSON.parse(h.store.values.get('10.244.1.0/24')!).BackendData).to.deep.equal({ VNI: 7, VtepMAC: d.mac });
    });

    it('rejects a bad option with VxlanConfigError naming the field', async () => {
      for (const bad of [{ VNI: 'one' }, { Port: 70000 }, { DirectRouting: 'yes' }, { MTU: 100 }]) {
        try {
          await startHarness({ Type: 'vxlan', ...bad });
          expect.fail(`accepted ${JSON.stringify(bad)}`);
        } catch (e) {
          expect(e).to.be.instanceOf(VxlanConfigError);
        }
      }
    });

    it('reuses a compatible existing device with its MAC, and removes other addresses inside Network only', async () => {
      const prepared = await prepareFake();
      const old = await prepared.native.linkAddVxlan({ name: 'flannel.1', vni: 1, mtu: 1450, mac: '0a:11:22:33:44:55', link: prepared.eth0.index, local: '198.18.0.1', learning: false, gbp: false });
      await prepared.native.addrAdd({ ifindex: old.index, address: '10.244.9.0', prefixLen: 32 });
      await prepared.native.addrAdd({ ifindex: old.index, address: '192.0.2.1', prefixLen: 32 });
      h = await startHarness(undefined, { prepared });
      const d = await dev(h);
      expect(d.index).to.equal(old.index);
      expect(d.mac).to.equal('0a:11:22:33:44:55');
      expect((await h.native.addrList({ ifindex: d.index, family: 4 })).map((a) => a.address).sort()).to.deep.equal(['10.244.1.0', '192.0.2.1']);
      expect(JSON.parse(h.store.values.get('10.244.1.0/24')!).BackendData.VtepMAC).to.equal('0a:11:22:33:44:55');
      expect(h.log.has('info', /reusing existing vxlan device flannel.1/)).to.equal(true);
    });

    it('replaces an incompatible existing device', async () => {
      const prepared = await prepareFake();
      const old = await prepared.native.linkAddVxlan({ name: 'flannel.1', vni: 1, mtu: 1450, link: prepared.eth0.index, local: '198.18.0.9', learning: false, gbp: false });
      h = await startHarness(undefined, { prepared });
      const d = await dev(h);
      expect(d.index).to.not.equal(old.index);
      expect(d.vxlan?.local).to.equal('198.18.0.1');
      expect(h.log.has('warn', /replacing incompatible device flannel.1 \(vtep \(external\) IP: 198.18.0.1 vs 198.18.0.9\)/)).to.equal(true);
    });
  });

  describe('peers', () => {
    it('installs neighbour, FDB entry and onlink route for a remote lease, and removes them with it', async () => {
      h = await startHarness();
      h.store.put(remoteLease('10.244.2.0/24', '198.18.0.2', MAC_A));
      await until(async () => (await entries(h!)).routes.length === 1, 'peer entries');
      expect(await entries(h)).to.deep.equal({
        neighs: [`10.244.2.0 ${MAC_A}`],
        fdb: [`${MAC_A} 198.18.0.2`],
        routes: ['10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink'],
      });
      h.store.remove('10.244.2.0/24');
      await until(async () => (await entries(h!)).routes.length === 0, 'removal');
      expect(await entries(h)).to.deep.equal({ neighs: [], fdb: [], routes: [] });
    });

    it('replaces the entries when a peer changes its VTEP MAC, dropping the old FDB entry', async () => {
      h = await startHarness();
      h.store.put(remoteLease('10.244.2.0/24', '198.18.0.2', MAC_A));
      await until(async () => (await entries(h!)).fdb.length === 1, 'first MAC');
      h.store.put(remoteLease('10.244.2.0/24', '198.18.0.2', MAC_B));
      await until(async () => (await entries(h!)).fdb[0] === `${MAC_B} 198.18.0.2`, 'second MAC');
      expect(await entries(h)).to.deep.equal({ neighs: [`10.244.2.0 ${MAC_B}`], fdb: [`${MAC_B} 198.18.0.2`], routes: ['10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink'] });
    });

    it('keeps an FDB entry that another peer still uses', async () => {
      h = await startHarness();
      h.store.emit([
        { type: 'added', lease: remoteLease('10.244.2.0/24', '198.18.0.2', MAC_A) },
        { type: 'added', lease: remoteLease('10.244.3.0/24', '198.18.0.2', MAC_A) },
      ]);
      await until(async () => (await entries(h!)).routes.length === 2, 'two peers');
      h.store.emit([{ type: 'removed', lease: remoteLease('10.244.2.0/24', '198.18.0.2', MAC_A) }]);
      await until(async () => (await entries(h!)).routes.length === 1, 'one removed');
      expect((await entries(h)).fdb).to.deep.equal([`${MAC_A} 198.18.0.2`]);
    });

    it('undoes the neighbour and FDB entry of a peer whose route fails, and leaves the others alone', async () => {
      h = await startHarness(undefined, { options: { reconcileIntervalMs: 60_000 } });
      h.native.faults.push((op) => (op.op === 'route.replace' && op.route.dst === '10.244.3.0/24' ? 'ENETUNREACH' : null));
      h.store.emit([
        { type: 'added', lease: remoteLease('10.244.2.0/24', '198.18.0.2', MAC_A) },
        { type: 'added', lease: remoteLease('10.244.3.0/24', '198.18.0.3', MAC_B) },
      ]);
      await until(() => h!.log.has('error', /could not install route 10.244.3.0\/24/), 'the failure');
      expect(await entries(h)).to.deep.equal({ neighs: [`10.244.2.0 ${MAC_A}`], fdb: [`${MAC_A} 198.18.0.2`], routes: ['10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink'] });
    });

    it('undoes the neighbour of a peer whose FDB entry fails', async () => {
      h = await startHarness(undefined, { options: { reconcileIntervalMs: 60_000 } });
      h.native.faults.push((op) => (op.op === 'fdb.replace' ? 'EINVAL' : null));
      h.store.put(remoteLease('10.244.2.0/24', '198.18.0.2', MAC_A));
      await until(() => h!.log.has('error', /could not install fdb/), 'the failure');
      expect(await entries(h)).to.deep.equal({ neighs: [], fdb: [], routes: [] });
    });

    it('ignores a lease of another backend type with a warning, and one with bad data with a warning', async () => {
      h = await startHarness();
      const hostgw = remoteLease('10.244.2.0/24', '198.18.0.2', MAC_A);
      hostgw.attrs = { publicIP: hostgw.attrs.publicIP, publicIPv6: null, backendType: 'host-gw' };
      const bad = remoteLease('10.244.3.0/24', '198.18.0.3', 'nonsense');
      h.store.emit([{ type: 'added', lease: hostgw }, { type: 'added', lease: bad }, { type: 'added', lease: remoteLease('10.244.4.0/24', '198.18.0.4', MAC_B) }]);
      await until(async () => (await entries(h!)).routes.length === 1, 'the good peer');
      expect(h.log.has('warn', /ignoring .*10.244.2.0\/24.*type="host-gw"/)).to.equal(true);
      expect(h.log.has('warn', /ignoring .*10.244.3.0\/24.*VtepMAC/)).to.equal(true);
    });

    it('programs 300 peers of one batch in a handful of native calls', async () => {
      const mac = (i: number): string => `0a:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
      const leases = Array.from({ length: 300 }, (_, i) => remoteLease(`10.${245 + (i >> 8)}.${i & 255}.0/24`, `198.18.1.${i % 250}`, mac(i)));
      const config = vxlanNetworkConfig();
      config.network = IP4Net.parse('10.0.0.0/8');
      h = await startHarness(undefined, { config, options: { reconcileIntervalMs: 60_000 } });
      const before = h.native.applyCalls;
      h.store.emit(leases.map((lease) => ({ type: 'added' as const, lease })));
      await until(() => h!.network.peerCount === 300 && h!.native.applyCalls - before >= 3, 'the batch');
      const d = await dev(h);
      expect(await h.native.neighList({ ifindex: d.index })).to.have.length(300);
      expect(await h.native.routeList({ ifindex: d.index })).to.have.length(300);
      expect(h.native.applyCalls - before).to.equal(3);
    });
  });

  describe('DirectRouting', () => {
    it('gives a peer on our segment a plain route via its public IP, and a peer behind a gateway the vxlan entries', async () => {
      h = await startHarness({ Type: 'vxlan', DirectRouting: true });
      h.store.emit([
        { type: 'added', lease: remoteLease('10.244.2.0/24', '198.18.0.2', MAC_A) },
        { type: 'added', lease: remoteLease('10.244.3.0/24', '203.0.113.3', MAC_B) },
      ]);
      await until(async () => (await entries(h!)).routes.length === 2, 'routes');
      expect(await entries(h)).to.deep.equal({
        neighs: [`10.244.3.0 ${MAC_B}`],
        fdb: [`${MAC_B} 203.0.113.3`],
        routes: ['10.244.2.0/24 via 198.18.0.2', '10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink'],
      });
      h.store.emit([{ type: 'removed', lease: remoteLease('10.244.2.0/24', '198.18.0.2', MAC_A) }]);
      await until(async () => (await entries(h!)).routes.length === 1, 'direct route removed');
      expect((await entries(h)).routes).to.deep.equal(['10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink']);
    });
  });

  describe('reconcile and recreation', () => {
    it('puts back a deleted FDB entry, neighbour and route, and removes stale entries of ours only', async () => {
      h = await startHarness();
      h.store.put(remoteLease('10.244.2.0/24', '198.18.0.2', MAC_A));
      await until(async () => (await entries(h!)).routes.length === 1, 'peer');
      const d = await dev(h);
      await h.native.apply([
        { op: 'fdb.delete', fdb: { ifindex: d.index, mac: MAC_A } },
        { op: 'neigh.delete', neigh: { ifindex: d.index, ip: '10.244.2.0' } },
        { op: 'route.delete', route: { dst: '10.244.2.0/24' } },
        { op: 'neigh.replace', neigh: { ifindex: d.index, ip: '10.244.7.0', mac: MAC_B } },
        { op: 'fdb.replace', fdb: { ifindex: d.index, mac: MAC_B, dst: '198.18.0.7' } },
        { op: 'route.replace', route: { dst: '10.244.7.0/24', gateway: '10.244.7.0', ifindex: d.index, onlink: true } },
        { op: 'route.replace', route: { dst: '172.16.0.0/24', gateway: '10.244.7.0', ifindex: d.index, onlink: true } },
      ]);
      await until(async () => (await entries(h!)).neighs.length === 1 && JSON.stringify((await entries(h!)).fdb) === JSON.stringify([`${MAC_A} 198.18.0.2`]), 'reconcile');
      expect(await entries(h)).to.deep.equal({ neighs: [`10.244.2.0 ${MAC_A}`], fdb: [`${MAC_A} 198.18.0.2`], routes: ['10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink'] });
      expect((await h.native.routeList({ family: 4 })).some((r) => r.dst === '172.16.0.0/24')).to.equal(true);
      expect(h.log.has('info', /reconcile flannel.1: restored \d+ entries, removed 3 stale ones/)).to.equal(true);
    });

    it('recreates a deleted flannel.1 with the same MAC and address and replays every peer', async () => {
      h = await startHarness();
      h.store.emit([
        { type: 'added', lease: remoteLease('10.244.2.0/24', '198.18.0.2', MAC_A) },
        { type: 'added', lease: remoteLease('10.244.3.0/24', '198.18.0.3', MAC_B) },
      ]);
      await until(async () => (await entries(h!)).routes.length === 2, 'peers');
      const before = await dev(h);
      const want = await entries(h);
      await h.native.linkDelete(before.index);
      await until(async () => (await h!.native.linkGet('flannel.1'))?.up === true && (await entries(h!)).routes.length === 2, 'recreation');
      const after = await dev(h);
      expect(after.index).to.not.equal(before.index);
      expect(after.mac).to.equal(before.mac);
      expect((await h.native.addrList({ ifindex: after.index, family: 4 })).map((a) => a.address)).to.deep.equal(['10.244.1.0']);
      expect(await entries(h)).to.deep.equal(want);
      expect(h.log.has('info', /recreated flannel.1 and replayed 2 of 2 peers/)).to.equal(true);
    });

    it('moves the device address when our lease changes', async () => {
      h = await startHarness();
      const lease = { ...h.network.lease, subnet: remoteLease('10.244.5.0/24', '198.18.0.1', MAC_A).subnet };
      h.network.leaseChanged(lease);
      const d = await dev(h);
      await until(async () => (await h!.native.addrList({ ifindex: d.index, family: 4 }))[0]?.address === '10.244.5.0', 'new address');
      expect((await h.native.addrList({ ifindex: d.index, family: 4 })).map((a) => a.address)).to.deep.equal(['10.244.5.0']);
    });
  });

  it('writes lease JSON that the reference reads (through the shared codec)', () => {
    const text = encodeLeaseAttrs(remoteLease('10.244.2.0/24', '198.18.0.2', MAC_A).attrs);
    expect(text).to.equal(`{"PublicIP":"198.18.0.2","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${MAC_A}"}}`);
  });
});
