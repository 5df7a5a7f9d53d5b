// The one list of backend modules: what flanneld's start-up and `flanneld diagnose` both read.
import { expect } from 'chai';
import { BACKENDS, backendModule, findBackendModule } from '../../flanneld/backends.js';
import { FatalError } from '../../flanneld/errors.js';
import { parseIP4 } from '../../common/ip.js';
import type { ExternalInterface } from '../../backends/backend.js';
import { MemoryLeaseStore, remoteLease, vxlanNetworkConfig } from '../helpers/memory-store.js';
import { RecordingLogger } from '../helpers/recording-logger.js';
import { prepareFake } from '../backends/vxlan/harness.js';

describe('flanneld: the backend modules', () => {
  it('lists each backend once, by its lower-case type', () => {
    const types = BACKENDS.map((m) => m.type);
    expect(types).to.have.members(['alloc', 'vxlan', 'host-gw', 'udp', 'extension', 'wireguard']);
    expect(new Set(types).size).to.equal(types.length);
    for (const t of types) expect(backendModule(t).type).to.equal(t);
  });

  it('refuses a reference-only type and an unknown one, naming the supported types', () => {
    expect(() => backendModule('ipip')).to.throw(FatalError, 'backend type "ipip" is not supported by flannel-ts yet; supported: alloc, vxlan, host-gw, udp, extension, wireguard');
    expect(() => backendModule('bogus')).to.throw(FatalError, 'unknown backend type: "bogus" (Backend.Type in the network config); supported: alloc, vxlan, host-gw, udp, extension, wireguard');
    expect(findBackendModule('bogus')).to.equal(undefined);
  });

  it('creates the vxlan backend on first use and registers the network on the fake kernel', async () => {
    const { native, eth0 } = await prepareFake();
    const ip = parseIP4('198.18.0.1');
    const extIface: ExternalInterface = { name: 'eth0', index: eth0.index, mtu: 1500, ifaceAddr: ip, ifaceV6Addr: null, extAddr: ip, extV6Addr: null };
    const store = new MemoryLeaseStore(vxlanNetworkConfig());
    const backend = await backendModule('vxlan').create({ store, extIface, logger: new RecordingLogger() }, { native: () => native });
    const ctl = new AbortController();
    const network = await backend.registerNetwork(vxlanNetworkConfig(), ctl.signal);
    expect(network.mtu).to.equal(1450);
    expect((await native.linkGet('flannel.1'))?.up).to.equal(true);
    ctl.abort();
  });

  it("vxlan's lease-data check refuses another VNI and a broadcast VTEP MAC; route backends read no BackendData", () => {
    const validate = backendModule('vxlan').leaseDataValidator(vxlanNetworkConfig());
    expect(validate).to.be.a('function');
    const good = remoteLease('10.244.2.0/24', '198.18.0.2', '0a:00:00:00:00:02');
    expect(validate!(good.attrs, good)).to.equal(null);
    const otherVni = remoteLease('10.244.3.0/24', '198.18.0.3', '0a:00:00:00:00:03', 2);
    expect(validate!(otherVni.attrs, otherVni)).to.equal('BackendData.VNI 2 is not our VNI 1');
    const bcast = remoteLease('10.244.4.0/24', '198.18.0.4', 'ff:ff:ff:ff:ff:ff');
    expect(validate!(bcast.attrs, bcast)).to.match(/VtepMAC ff:ff:ff:ff:ff:ff is a multicast or broadcast MAC/);
    expect(backendModule('host-gw').leaseDataValidator(vxlanNetworkConfig())).to.equal(null);
    expect(backendModule('udp').leaseDataValidator(vxlanNetworkConfig())).to.equal(null);
    expect(backendModule('vxlan').vtepMac?.(good)).to.equal('0a:00:00:00:00:02');
  });

  it("wireguard's lease-data check wants a 32-byte base64 PublicKey and a u16 Port, naming the field", () => {
    const validate = backendModule('wireguard').leaseDataValidator(vxlanNetworkConfig());
    const lease = remoteLease('10.244.2.0/24', '198.18.0.2', '0a:00:00:00:00:02');
    const key = Buffer.alloc(32, 7).toString('base64');
    const withData = (d: unknown): typeof lease => ({ ...lease, attrs: { ...lease.attrs, backendType: 'wireguard', backendData: d } });
    const check = (d: unknown): string | null => validate!(withData(d).attrs, withData(d));
    expect(check({ PublicKey: key, Port: 51820 })).to.equal(null);
    expect(check({ PublicKey: key })).to.equal(null); // flannel before Mar 2025: our own port applies
    expect(check({ PublicKey: 'abc', Port: 51820 })).to.equal('BackendData.PublicKey is not the base64 of a 32-byte key: "abc"');
    expect(check({ PublicKey: key, Port: 70000 })).to.equal('BackendData.Port must be an integer in 0..65535, got 70000');
    expect(check(undefined)).to.equal('BackendData is not a JSON object: missing');
  });
});
