// The udp backend on the in-memory fake native and a recording fake loop: config, lease attributes,
// device set-up, lease events as loop commands, lease change, stop. No root needed.
import { expect } from 'chai';
import { createUdpBackend, UdpConfigError } from '../../../backends/udp/backend.js';
import { parseUdpConfig } from '../../../backends/udp/config.js';
import type { UdpNetwork } from '../../../backends/udp/network.js';
import { FakeNative } from '../../../native/fake.js';
import { countersFrom, type UdpLoop, type UdpLoopSpec } from '../../../native/udp.js';
import { IP4Net, parseIP4 } from '../../../common/ip.js';
import { FlannelMetrics } from '../../../flanneld/metrics.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';
import { until } from '../../helpers/flanneld.js';
import { MemoryLeaseStore, vxlanNetworkConfig } from '../../helpers/memory-store.js';

class FakeLoop implements UdpLoop {
  readonly device = 'flannel0';
  readonly features = { vnetHdr: true, tso: true, gso: true, gro: true, queues: 1 };
  readonly routes = new Map<string, string>();
  readonly calls: string[] = [];
  local = '';
  stopped = false;
  constructor(
    readonly spec: UdpLoopSpec,
    native: FakeNative,
  ) {
    native.addTestLink({ name: 'flannel0', kind: 'tun', mtu: 1500 });
    this.local = spec.localAddress;
  }
  setRoute(subnet: string, nextHop: string, port: number): void {
    this.calls.push(`set ${subnet} ${nextHop}:${port}`);
    this.routes.set(subnet, `${nextHop}:${port}`);
  }
  deleteRoute(subnet: string): boolean {
    this.calls.push(`delete ${subnet}`);
    return this.routes.delete(subnet);
  }
  setLocalAddress(ip: string): void {
    this.local = ip;
  }
  raw: number[] = [];
  counters() {
    return countersFrom(this.raw);
  }
  cpuSeconds(): number {
    return 0;
  }
  stop(): void {
    this.stopped = true;
  }
}

describe('udp backend on fakes', () => {
  const config = { ...vxlanNetworkConfig({ Type: 'udp' }), backendType: 'udp' };
  let native: FakeNative;
  let store: MemoryLeaseStore;
  let loop: FakeLoop | undefined;
  let log: RecordingLogger;

  async function start(backend: Record<string, unknown> = { Type: 'udp' }, mtu = 1500) {
    native = new FakeNative();
    const eth0 = native.addTestLink({ name: 'eth0', kind: 'veth', mtu });
    store = new MemoryLeaseStore(config);
    log = new RecordingLogger();
    const ext = { name: 'eth0', index: eth0.index, mtu, ifaceAddr: parseIP4('198.18.0.1'), ifaceV6Addr: null, extAddr: parseIP4('203.0.113.1'), extV6Addr: null };
    const be = createUdpBackend({ store, extIface: ext, logger: log }, native, (spec) => (loop = new FakeLoop(spec, native)));
    const ac = new AbortController();
    const network = (await be.registerNetwork({ ...config, backend }, ac.signal)) as UdpNetwork;
    const running = network.run(ac.signal);
    return { network, ac, running };
  }

  it('exposes the loop counters on /metrics, and keeps the last values after the loop stopped', async () => {
    const { network, ac, running } = await start();
    loop!.raw = [7, 700, 5, 500, 3, 2, 0, 0, 0, 0, 3, 4, 5, 6, 7, 9];
    const metrics = new FlannelMetrics();
    metrics.backend.collectFrom(() => network.samples());
    const text = metrics.registry.render();
    for (const line of [
      'flannel_udp_packets_total{direction="tx"} 7',
      'flannel_udp_bytes_total{direction="rx"} 500',
      'flannel_udp_drops_total{reason="noRoute"} 3',
      'flannel_udp_drops_total{reason="unknownSource"} 2',
      'flannel_udp_drops_total{reason="sourceOutsideSubnet"} 9',
      'flannel_udp_icmp_unreachable_sent_total 3',
      'flannel_udp_syscalls_total{call="udpRecvs"} 7',
    ]) {
      expect(text).to.include(`\n${line}\n`);
    }
    expect(text.match(/# TYPE flannel_udp_packets_total counter/g)).to.have.length(1);
    ac.abort();
    await running;
    loop!.raw = [];
    expect(metrics.registry.render()).to.include('flannel_udp_packets_total{direction="tx"} 7');
  });

  it('reads Port (default 8285) and refuses a bad one', () => {
    expect(parseUdpConfig({ Type: 'udp' })).to.deep.equal({ port: 8285 });
    expect(parseUdpConfig({ port: 9000 })).to.deep.equal({ port: 9000 });
    expect(() => parseUdpConfig({ Port: 70000 })).to.throw(UdpConfigError, /Port must be an integer in 1\.\.65535, got 70000/);
    expect(() => parseUdpConfig({ Port: '8285' })).to.throw(UdpConfigError, /Port/);
  });

  it('acquires a lease with PublicIP = the external address only, binds the loop to the interface address', async () => {
    const { network, ac, running } = await start({ Type: 'udp', Port: 9000 });
    expect(store.values.get(network.lease.subnet.toString())).to.equal('{"PublicIP":"203.0.113.1","PublicIPv6":null}');
    expect(loop!.spec).to.include({ tunName: 'flannel%d', bindAddress: '198.18.0.1', port: 9000, localAddress: network.lease.subnet.toString().split('/')[0] });
    expect(network.mtu).to.equal(1472);
    ac.abort();
    await running;
  });

  it('gives the TUN its /32, MTU, accept_local and the route for the Network', async () => {
    const { network, ac, running } = await start({ Type: 'udp' }, 9000);
    const tun = (await native.linkGet('flannel0'))!;
    expect(tun).to.include({ mtu: 8972, up: true });
    const addrs = await native.addrList({ ifindex: tun.index });
    expect(addrs.map((a) => `${a.address}/${a.prefixLen}`)).to.deep.equal([`${network.lease.subnet.toString().split('/')[0]}/32`]);
    const routes = await native.routeList({ ifindex: tun.index });
    expect(routes.map((r) => `${r.dst} scope ${r.scope}`)).to.deep.equal(['10.244.0.0/16 scope 0']);
    expect(native.sysctls.get('net/ipv4/conf/flannel0/accept_local')).to.equal('1');
    ac.abort();
    await running;
  });

  it('turns leases into loop routes to <PublicIP>:Port, whatever their BackendType, and takes them out again', async () => {
    const { ac, running } = await start();
    store.putJSON('10.244.20.0/24', '{"PublicIP":"198.18.0.2","PublicIPv6":null}');
    store.putJSON('10.244.30.0/24', '{"PublicIP":"198.18.0.3","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:00:00:00:00:03"}}');
    store.putJSON('10.244.40.0/24', '{"PublicIPv6":"fd00::4"}');
    await until('routes', () => loop!.routes.size === 2);
    expect([...loop!.routes]).to.deep.equal([
      ['10.244.20.0/24', '198.18.0.2:8285'],
      ['10.244.30.0/24', '198.18.0.3:8285'],
    ]);
    expect(log.messages('warn').some((m) => /ignoring lease 10\.244\.40\.0\/24: it has no IPv4 PublicIP/.test(m))).to.equal(true);
    store.remove('10.244.20.0/24');
    await until('route removed', () => !loop!.routes.has('10.244.20.0/24'));
    ac.abort();
    await running;
    expect(loop!.stopped, 'the loop stops with run').to.equal(true);
  });

  it('moves the TUN address and the ICMP source when our lease changes, dropping a route to our new subnet', async () => {
    const { network, ac, running } = await start();
    store.putJSON('10.244.50.0/24', '{"PublicIP":"198.18.0.5","PublicIPv6":null}');
    await until('route', () => loop!.routes.has('10.244.50.0/24'));
    const mine = { ...network.lease, subnet: IP4Net.parse('10.244.50.0/24') };
    network.leaseChanged(mine);
    await until('moved', () => loop!.local === '10.244.50.0');
    const tun = (await native.linkGet('flannel0'))!;
    expect((await native.addrList({ ifindex: tun.index })).map((a) => a.address)).to.deep.equal(['10.244.50.0']);
    expect(loop!.routes.has('10.244.50.0/24')).to.equal(false);
    ac.abort();
    await running;
  });

  it('refuses IPv6 and tiny MTUs with a message naming the field', async () => {
    const be = (mtu: number) =>
      createUdpBackend({ store: new MemoryLeaseStore(config), extIface: { name: 'eth0', index: 2, mtu, ifaceAddr: 1, ifaceV6Addr: null, extAddr: 1, extV6Addr: null }, logger: new RecordingLogger() }, new FakeNative(), () => {
        throw new Error('no loop expected');
      });
    const signal = new AbortController().signal;
    await be(1500).registerNetwork({ ...config, enableIPv6: true }, signal).then(
      () => expect.fail('accepted IPv6'),
      (e: UdpConfigError) => expect(e.field).to.equal('EnableIPv6'),
    );
    await be(90).registerNetwork(config, signal).then(
      () => expect.fail('accepted MTU 90'),
      (e: UdpConfigError) => expect(e.message).to.match(/MTU 90 of eth0 leaves 62 for flannel0/),
    );
  });
});
