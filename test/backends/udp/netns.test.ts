// The udp backend in namespaces, in process: hosts 1 and 2 run our backend (real TUN, real packet
// loop, rtnetlink through the addon) on a shared in-memory lease store; host 3 runs a stand-in for the
// reference's proxy (one packet per system call, no offloads). Pods are namespaces on a bridge cni0.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUdpBackend } from '../../../backends/udp/backend.js';
import type { UdpNetwork } from '../../../backends/udp/network.js';
import { openNative } from '../../../native/kernel.js';
import type { Native } from '../../../native/types.js';
import { openUdpLoop } from '../../../native/udp.js';
import { parseIP4 } from '../../../common/ip.js';
import { until } from '../../helpers/flanneld.js';
import { TestBed } from '../../helpers/netns.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';
import { MemoryLeaseStore, vxlanNetworkConfig } from '../../helpers/memory-store.js';
import { ipv4 } from './packets.js';
import { udpProbeScript } from './cluster.js';
import { writeReferenceProxy } from './reference-proxy.js';

interface IperfResult {
  end: { sum_sent: { bytes: number }; sum_received: { bytes: number } };
}

interface Host {
  native: Native;
  network: UdpNetwork;
  ac: AbortController;
  running: Promise<void>;
  log: RecordingLogger;
}

/** Prints every UDP payload that arrives on `port`, for 20 s. */
const listenerScript = (port: number): string => `import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', ${port}))
s.settimeout(20)
while True:
    print(s.recv(2048).decode(), flush=True)`;

/** A UDP header (checksum 0: none, allowed over IPv4) followed by `text`. */
function udpHeader(port: number, text: string): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(4444, 0);
  h.writeUInt16BE(port, 2);
  h.writeUInt16BE(8 + text.length, 4);
  return Buffer.concat([h, Buffer.from(text)]);
}

describe('udp backend in namespaces: TUN, packet loop, reference proxy interop @netns', function () {
  this.timeout(120_000);
  const config = { ...vxlanNetworkConfig({ Type: 'udp' }), backendType: 'udp' };
  let bed: TestBed;
  let tmp: string;
  let store: MemoryLeaseStore;
  const hosts = new Map<number, Host>();
  const podIP = (i: number): string => `10.244.${i}.2`;
  const pod = (i: number): string => `${bed.prefix}-p${i}`;
  const ping = (from: number, to: string, ...extra: string[]) => bed.exec(pod(from), ['ping', '-c', '1', '-W', '2', ...extra, to]);
  const pings = (from: number, to: string, ...extra: string[]) => ping(from, to, ...extra).then(() => true, () => false);

  async function startHost(i: number): Promise<Host> {
    const native = openNative({ netns: bed.host(i) });
    const eth0 = (await native.linkGet('eth0'))!;
    const addr = parseIP4(bed.hostAddr(i));
    const extIface = { name: 'eth0', index: eth0.index, mtu: 1500, ifaceAddr: addr, ifaceV6Addr: null, extAddr: addr, extV6Addr: null };
    const log = new RecordingLogger();
    const be = createUdpBackend({ store, extIface, logger: log }, native, openUdpLoop, { netns: bed.host(i) });
    const ac = new AbortController();
    const network = (await be.registerNetwork(config, ac.signal)) as UdpNetwork;
    const h = { native, network, ac, running: network.run(ac.signal), log };
    hosts.set(i, h);
    return h;
  }

  async function startReferenceProxy(): Promise<void> {
    const script = await writeReferenceProxy(tmp);
    const child = bed.spawn(bed.host(3), ['python3', script, '198.18.0.3', '8285', '10.244.1.0/24=198.18.0.1', '10.244.2.0/24=198.18.0.2']);
    let out = '';
    child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    await until(`the reference proxy to start (${out})`, () => out.includes('ready flannel0'));
    const h = bed.host(3);
    await bed.ip(h, 'link', 'set', 'flannel0', 'mtu', '1472');
    await bed.ip(h, 'addr', 'add', '10.244.3.0/32', 'dev', 'flannel0');
    await bed.ip(h, 'link', 'set', 'flannel0', 'up');
    await bed.ip(h, 'route', 'add', '10.244.0.0/16', 'dev', 'flannel0');
    // Its lease as the reference writes it (PublicIP only); through acquireLease, so the store hands out 10.244.3.0/24.
    const lease = await store.acquireLease({ publicIP: parseIP4('198.18.0.3'), publicIPv6: null }, new AbortController().signal);
    expect(store.values.get(lease.subnet.toString())).to.equal('{"PublicIP":"198.18.0.3","PublicIPv6":null}');
  }

  const udpProbe = async (from: number, to: string): Promise<string> => (await bed.exec(pod(from), ['python3', '-c', udpProbeScript(to)])).trim();

  /** Sends one UDP datagram with `payload` from inside `ns` (bound to `from`) to host 1's loop. */
  async function sendDatagram(ns: string, from: string, payload: Buffer): Promise<void> {
    const py = `import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('${from}',0)); s.sendto(bytes.fromhex(sys.argv[1]),('198.18.0.1',8285))`;
    await bed.exec(ns, ['python3', '-c', py, payload.toString('hex')]);
  }

  before(async function () {
    this.timeout(120_000);
    bed = await TestBed.create({ tag: 'udpns', hosts: 3 });
    tmp = await mkdtemp(join(tmpdir(), 'fl-udpns-'));
    store = new MemoryLeaseStore(config);
    await startHost(1); // 10.244.1.0/24
    await startHost(2); // 10.244.2.0/24
    for (const i of [1, 2, 3]) await bed.addPod(i, `p${i}`, `${podIP(i)}/24`, `10.244.${i}.1`);
    await startReferenceProxy();
    await until('host 1 routes to hosts 2 and 3', () => hosts.get(1)!.network.peerCount === 2);
  });

  after(async function () {
    for (const h of hosts.values()) {
      h.ac.abort();
      await h.running.catch(() => undefined);
      await h.native.close();
    }
    await bed?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('makes flannel0 as the reference: TUN, our subnet .0/32, MTU 1472, the Network routed into it; lease with PublicIP only', async () => {
    const link = await bed.ip(bed.host(1), '-d', 'link', 'show', 'flannel0');
    expect(link).to.match(/mtu 1472 .*state UNKNOWN/);
    expect(link).to.match(/\btun type tun pi off vnet_hdr on\b/);
    expect(await bed.ip(bed.host(1), '-4', 'addr', 'show', 'dev', 'flannel0')).to.match(/inet 10\.244\.1\.0\/32 scope global flannel0/);
    expect(await bed.ip(bed.host(1), 'route', 'show', 'dev', 'flannel0')).to.match(/^10\.244\.0\.0\/16 *$/m);
    expect(await bed.exec(bed.host(1), ['sysctl', '-n', 'net.ipv4.conf.flannel0.accept_local'])).to.equal('1\n');
    expect(store.values.get('10.244.1.0/24')).to.equal('{"PublicIP":"198.18.0.1","PublicIPv6":null}');
    expect(hosts.get(1)!.network.mtu).to.equal(1472);
  });

  it('carries pings between pods of our hosts, up to the MTU', async () => {
    await ping(1, podIP(2));
    await ping(2, podIP(1));
    expect(await pings(1, podIP(2), '-M', 'do', '-s', String(1472 - 28))).to.equal(true);
    expect(await pings(1, podIP(2), '-M', 'do', '-s', String(1473 - 28))).to.equal(false);
  });

  it('carries a TCP stream with TUN TSO, UDP GSO/GRO: fewer system calls than packets', async () => {
    const f = hosts.get(1)!.network;
    const c0 = f.counters();
    bed.spawn(pod(2), ['iperf3', '-s', '-1']);
    await until('iperf3 server', async () => (await bed.exec(pod(2), ['ss', '-ltn'])).includes(':5201'));
    const out = JSON.parse(await bed.exec(pod(1), ['iperf3', '-c', podIP(2), '-t', '2', '-J'])) as { end: { sum_received: { bytes: number } } };
    expect(out.end.sum_received.bytes).to.be.greaterThan(1e6);
    const c1 = f.counters();
    const sent = c1.txPackets - c0.txPackets;
    expect(sent).to.be.greaterThan(500);
    expect(c1.syscalls.tunReads - c0.syscalls.tunReads, 'TUN reads').to.be.lessThan(sent / 2);
    expect(c1.syscalls.udpSends - c0.syscalls.udpSends, 'sendmmsg calls').to.be.lessThan(sent / 2);
  });

  it('interoperates with a reference-style proxy: pings and TCP both ways', async () => {
    for (const [a, b] of [[1, 3], [3, 1], [2, 3], [3, 2]] as const) expect(await pings(a, podIP(b)), `pod ${a} -> pod ${b}`).to.equal(true);
    for (const [client, server] of [[1, 3], [3, 1]] as const) {
      bed.spawn(pod(server), ['iperf3', '-s', '-1']);
      await until('iperf3 server', async () => (await bed.exec(pod(server), ['ss', '-ltn'])).includes(':5201'));
      const out = JSON.parse(await bed.exec(pod(client), ['iperf3', '-c', podIP(server), '-n', '4M', '-J'])) as IperfResult;
      expect(out.end.sum_sent.bytes, `TCP pod ${client} -> pod ${server}`).to.be.at.least(4 << 20);
    }
  });

  it('drops and counts a datagram whose source is no peer; delivers the same one from a peer', async () => {
    const f = hosts.get(1)!.network;
    const listener = bed.spawn(pod(1), ['python3', '-c', listenerScript(9999)]);
    let got = '';
    listener.stdout?.on('data', (b: Buffer) => (got += b.toString()));
    await until('the listener in pod 1', async () => (await bed.exec(pod(1), ['ss', '-lun'])).includes(':9999'));
    const datagram = (tag: string) => ipv4({ src: '10.244.2.9', dst: podIP(1), proto: 17, payload: udpHeader(9999, tag) });
    const c0 = f.counters();
    await sendDatagram(bed.sw, '198.18.0.254', datagram('spoofed'));
    await until('the drop to be counted', () => f.counters().drops.unknownSource === c0.drops.unknownSource + 1);
    await sendDatagram(bed.host(2), '198.18.0.2', datagram('genuine'));
    await until('the peer datagram to reach the pod', () => got.includes('genuine'));
    expect(got).to.not.include('spoofed');
    expect(f.counters().drops.unknownSource).to.equal(c0.drops.unknownSource + 1);
  });

  it("drops and counts a peer's packet whose inner source is outside that peer's subnet (another host's, or outside the Network)", async () => {
    const f = hosts.get(1)!.network;
    const listener = bed.spawn(pod(1), ['python3', '-c', listenerScript(9998)]);
    let got = '';
    listener.stdout?.on('data', (b: Buffer) => (got += b.toString()));
    await until('the listener in pod 1', async () => (await bed.exec(pod(1), ['ss', '-lun'])).includes(':9998'));
    const datagram = (src: string, tag: string) => ipv4({ src, dst: podIP(1), proto: 17, payload: udpHeader(9998, tag) });
    const c0 = f.counters();
    // Host 2 is a genuine peer (its public IP), but these inner sources are not in its 10.244.2.0/24.
    await sendDatagram(bed.host(2), '198.18.0.2', datagram('10.244.3.9', 'as-host-3'));
    await sendDatagram(bed.host(2), '198.18.0.2', datagram('192.0.2.7', 'outside'));
    await until('both drops to be counted', () => f.counters().drops.sourceOutsideSubnet === c0.drops.sourceOutsideSubnet + 2);
    // An ordering barrier: a packet from inside its subnet, sent after them, arrives.
    await sendDatagram(bed.host(2), '198.18.0.2', datagram('10.244.2.9', 'inside'));
    await until('the genuine datagram to reach the pod', () => got.includes('inside'));
    expect(got).to.not.include('as-host-3');
    expect(got).to.not.include('outside');
    expect(f.counters().drops.unknownSource).to.equal(c0.drops.unknownSource);
    listener.kill();
  });

  it('answers a packet for a subnet without a lease with ICMP net unreachable from flannel0', async () => {
    const f = hosts.get(1)!.network;
    const c0 = f.counters();
    expect(await udpProbe(1, '10.244.77.5')).to.equal('ENETUNREACH');
    expect(f.counters().drops.noRoute).to.be.greaterThan(c0.drops.noRoute);
    expect(f.counters().icmpUnreachableSent).to.be.greaterThan(c0.icmpUnreachableSent);
  });

  it('takes a removed lease out of the loop, and puts it back when the lease returns', async () => {
    const lease = store.leases.get('10.244.2.0/24')!;
    store.remove('10.244.2.0/24');
    await until('host 1 forgets host 2', () => hosts.get(1)!.network.peerCount === 1);
    expect(await udpProbe(1, podIP(2))).to.equal('ENETUNREACH');
    store.put(lease);
    await until('host 1 routes to host 2 again', () => hosts.get(1)!.network.peerCount === 2);
    expect(await pings(1, podIP(2))).to.equal(true);
  });

  it('stops the loop and frees flannel0 and the port when the network stops', async () => {
    const h = hosts.get(2)!;
    h.ac.abort();
    await h.running;
    expect(await bed.ip(bed.host(2), 'link', 'show', 'flannel0').then(() => 'present', () => 'gone')).to.equal('gone');
    expect(h.log.messages('info').some((m) => /udp loop stopped, flannel0 removed/.test(m))).to.equal(true);
    expect(() => h.network.counters()).to.not.throw();
    await h.native.close();
    hosts.delete(2);
    const again = await startHost(2); // same port, new TUN: nothing was left behind
    expect(again.network.device).to.equal('flannel0');
    // A new lease (the in-memory store hands out the next subnet, 10.244.4.0/24); the old one still points here.
    expect(again.network.lease.subnet.toString()).to.equal('10.244.4.0/24');
    await until(`host 2 routes again (${again.log.text()})`, () => again.network.peerCount === 3);
    expect(await pings(2, podIP(1))).to.equal(true);
  });
});
