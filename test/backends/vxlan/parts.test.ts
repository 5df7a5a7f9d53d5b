// The vxlan backend's pure parts: config decoding, MACs, lease data, device compatibility, the
// reconcile diff and the DirectRouting decision.
import { expect } from 'chai';
import { VxlanConfigError, parseVxlanConfig } from '../../../backends/vxlan/config.js';
import { type DeviceSpec, incompatibility } from '../../../backends/vxlan/device.js';
import { decodeLeaseData, encodeLeaseData } from '../../../backends/vxlan/lease-data.js';
import { parseMac, randomVtepMac } from '../../../backends/vxlan/mac.js';
import { directReachability } from '../../../backends/vxlan/peers.js';
import { type OwnedScope, diffEntries } from '../../../backends/vxlan/reconcile.js';
import type { Entry } from '../../../backends/vxlan/entries.js';
import type { Link } from '../../../native/types.js';
import { prepareFake } from './harness.js';
import { decideOffload, kernelVersion } from '../../../backends/vxlan/offload.js';

describe('vxlan backend parts', () => {
  it('decodes the config with the reference defaults', () => {
    expect(parseVxlanConfig({ Type: 'vxlan' })).to.deep.equal({ vni: 1, port: 0, mtu: 0, gbp: false, learning: false, directRouting: false, txChecksumOffload: 'auto' });
    expect(parseVxlanConfig({ Type: 'vxlan', VNI: 0, directrouting: true })).to.include({ vni: 0, directRouting: true });
  });

  it('reads TxChecksumOffload (auto, on, off) and refuses anything else naming the field', () => {
    expect(parseVxlanConfig({ txchecksumoffload: 'off' }).txChecksumOffload).to.equal('off');
    expect(parseVxlanConfig({ TxChecksumOffload: 'on' }).txChecksumOffload).to.equal('on');
    expect(() => parseVxlanConfig({ TxChecksumOffload: 'OFF' })).to.throw(VxlanConfigError, 'vxlan backend: TxChecksumOffload must be "auto", "on" or "off", got "OFF"');
    expect(() => parseVxlanConfig({ TxChecksumOffload: false })).to.throw(VxlanConfigError, /TxChecksumOffload/);
  });

  it('turns tx checksum offload off on kernels <= 5.7.0 or unreadable ones, leaves it elsewhere, and obeys on/off', () => {
    expect(kernelVersion('6.18.44-fc-v1147')).to.deep.equal([6, 18, 44]);
    expect(kernelVersion('5.4.0-150-generic')).to.deep.equal([5, 4, 0]);
    expect(kernelVersion('5.7')).to.deep.equal([5, 7, 0]);
    expect(kernelVersion('weird')).to.equal(null);
    expect(decideOffload('auto', '5.7.0').set).to.equal(false);
    expect(decideOffload('auto', '3.10.0-1160.el7.x86_64').set).to.equal(false);
    expect(decideOffload('auto', '5.7.1').set).to.equal(null);
    expect(decideOffload('auto', '6.1.0-18-amd64').set).to.equal(null);
    expect(decideOffload('auto', 'weird').set).to.equal(false);
    expect(decideOffload('on', '4.19.0').set).to.equal(true);
    expect(decideOffload('off', '6.18.0').set).to.equal(false);
    expect(decideOffload('auto', '4.19.0').why).to.match(/kernel 4\.19\.0 is <= 5\.7\.0/);
  });

  it('generates locally administered unicast MACs and parses the forms Go accepts', () => {
    const macs = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const mac = randomVtepMac();
      expect(mac).to.match(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      expect(parseInt(mac.slice(0, 2), 16) & 3).to.equal(2);
      macs.add(mac);
    }
    expect(macs.size, 'random MACs differ').to.equal(50);
    expect(parseMac('0A-1B-2C-3D-4E-5F')).to.equal('0a:1b:2c:3d:4e:5f');
    expect(parseMac('0a1b.2c3d.4e5f')).to.equal('0a:1b:2c:3d:4e:5f');
    expect(parseMac('0a:1b:2c:3d:4e')).to.equal(null);
    expect(parseMac('0a:1b-2c:3d:4e:5f')).to.equal(null);
  });

  it('encodes lease data in the reference key order and decodes case-insensitively', () => {
    expect(JSON.stringify(encodeLeaseData(1, '0a:00:00:00:00:01'))).to.equal('{"VNI":1,"VtepMAC":"0a:00:00:00:00:01"}');
    expect(decodeLeaseData({ vni: 2, vtepmac: '0A:00:00:00:00:01' })).to.deep.equal({ vni: 2, vtepMac: '0a:00:00:00:00:01' });
    expect(decodeLeaseData({ VNI: 1 })).to.be.a('string');
    expect(decodeLeaseData('x')).to.be.a('string');
  });

  describe('device compatibility (reuse versus replacement)', () => {
    const want: DeviceSpec = { family: 4, name: 'flannel.1', vni: 1, mtu: 1450, mac: '0a:00:00:00:00:01', link: 2, local: '198.18.0.1', port: 0, learning: false, gbp: false, txChecksum: null };
    const existing = (over: Partial<NonNullable<Link['vxlan']>> = {}, kind = 'vxlan'): Link => ({
      index: 5, name: 'flannel.1', kind, mtu: 1450, mac: '0a:00:00:00:00:09', up: true,
      vxlan: { vni: 1, link: 2, local: '198.18.0.1', group: null, port: 8472, ttl: 0, tos: 0, learning: true, proxy: false, rsc: false, l2miss: false, l3miss: false, gbp: false, udp6ZeroCsumTx: false, udp6ZeroCsumRx: false, ...over },
    });
    it('reuses a device that differs only in what the reference does not compare', () => {
      expect(incompatibility(want, existing())).to.equal(null);
      expect(incompatibility({ ...want, port: 8472 }, existing())).to.equal(null);
    });
    it('replaces one of another type, VNI, interface, local IP, port, GBP or with l2miss', () => {
      expect(incompatibility(want, { ...existing(), kind: 'bridge', vxlan: undefined })).to.match(/link type/);
      expect(incompatibility(want, existing({ vni: 2 }))).to.match(/vni/);
      expect(incompatibility(want, existing({ link: 3 }))).to.match(/interface/);
      expect(incompatibility(want, existing({ local: '198.18.0.2' }))).to.match(/IP/);
      expect(incompatibility({ ...want, port: 4789 }, existing())).to.match(/port/);
      expect(incompatibility(want, existing({ gbp: true }))).to.match(/gbp/);
      expect(incompatibility(want, existing({ l2miss: true }))).to.match(/l2miss/);
    });
  });

  describe('reconcile diff', () => {
    const scope: OwnedScope = {
      family: 4, ifindex: 5, networkPrefixLen: 16, subnetLen: 24, ownSubnet: '10.244.1.0/24', directRouting: false,
      inNetwork: (ip) => ip.startsWith('10.244.'),
    };
    const wanted: Entry[] = [
      { kind: 'neigh', ifindex: 5, ip: '10.244.2.0', mac: '0a:00:00:00:00:02' },
      { kind: 'fdb', ifindex: 5, mac: '0a:00:00:00:00:02', dst: '198.18.0.2' },
      { kind: 'route', dst: '10.244.2.0/24', gateway: '10.244.2.0', ifindex: 5, onlink: true },
    ];
    const route = (dst: string, gateway: string, ifindex: number, protocol = 3) => ({ family: 4 as const, dst, gateway, ifindex, onlink: ifindex === 5, scope: 0, table: 254, protocol, type: 1, metric: 0, prefsrc: null });

    it('finds missing and changed entries (in install order) and stale entries of ours', () => {
      const diff = diffEntries(wanted, {
        neighs: [
          { ifindex: 5, family: 4, ip: '10.244.2.0', mac: '0a:00:00:00:00:99', state: 0x80, flags: 0 },
          { ifindex: 5, family: 4, ip: '10.244.7.0', mac: '0a:00:00:00:00:07', state: 0x80, flags: 0 },
          { ifindex: 5, family: 4, ip: '10.244.8.0', mac: null, state: 0x20, flags: 0 },
          { ifindex: 6, family: 4, ip: '10.244.9.0', mac: '0a:00:00:00:00:09', state: 0x80, flags: 0 },
        ],
        fdb: [{ ifindex: 5, mac: '0a:00:00:00:00:07', dst: '198.18.0.7', self: true, state: 0x80, vni: null }],
        routes: [route('10.244.7.0/24', '10.244.7.0', 5), route('192.168.0.0/24', '10.244.7.0', 5), route('10.244.3.0/24', '198.18.0.3', 2)],
      }, scope);
      expect(diff.missing.map((e) => e.kind)).to.deep.equal(['neigh', 'fdb', 'route']);
      expect(diff.stale).to.deep.equal([
        { kind: 'neigh', ifindex: 5, ip: '10.244.7.0', mac: '0a:00:00:00:00:07' },
        { kind: 'fdb', ifindex: 5, mac: '0a:00:00:00:00:07', dst: '198.18.0.7' },
        { kind: 'route', dst: '10.244.7.0/24', gateway: '10.244.7.0', ifindex: 5, onlink: true },
      ]);
    });

    it('is empty when the kernel matches; direct routes count as ours only with DirectRouting', () => {
      const kernel = {
        neighs: [{ ifindex: 5, family: 4 as const, ip: '10.244.2.0', mac: '0a:00:00:00:00:02', state: 0x80, flags: 0 }],
        fdb: [{ ifindex: 5, mac: '0a:00:00:00:00:02', dst: '198.18.0.2', self: true, state: 0x80, vni: null }],
        routes: [route('10.244.2.0/24', '10.244.2.0', 5), route('10.244.3.0/24', '198.18.0.3', 2)],
      };
      expect(diffEntries(wanted, kernel, scope)).to.deep.equal({ missing: [], stale: [] });
      expect(diffEntries(wanted, kernel, { ...scope, directRouting: true }).stale).to.deep.equal([{ kind: 'route', dst: '10.244.3.0/24', gateway: '198.18.0.3', ifindex: 0, onlink: false }]);
    });
  });

  it('decides DirectRouting from one gateway-less route to the public IP, for a whole batch in one lookup', async () => {
    const { native } = await prepareFake();
    const direct = await directReachability(native, ['198.18.0.7', '203.0.113.7', '198.18.0.7']);
    expect([...direct]).to.deep.equal([['198.18.0.7', true], ['203.0.113.7', false]]);
    await native.close();
    expect((await directReachability(native, ['198.18.0.7'])).get('198.18.0.7')).to.equal(false);
  });
});
