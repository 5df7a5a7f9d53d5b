// Dual stack with wireguard-go, in process: two namespace hosts with IPv4 and IPv6 underlay addresses run
// the backend (each wireguard-go in a private mount namespace of its host) on one in-memory lease store,
// once per Mode. Both families cross the tunnel; in mode "ipv6" the peer's IPv6 endpoint uses the port the
// remote listens on (51820, its ListenPort), not its ListenPortV6 as the reference does.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Network } from '../../../backends/backend.js';
import { createWireguardBackend } from '../../../backends/wireguard/backend.js';
import { parseIP4, parseIP6 } from '../../../common/ip.js';
import { openNative } from '../../../native/kernel.js';
import type { Native } from '../../../native/types.js';
import { UserspaceWireGuard } from '../../../native/wg-userspace.js';
import { MemoryLeaseStore, dualStackConfig } from '../../helpers/memory-store.js';
import { until } from '../../helpers/flanneld.js';
import { TestBed } from '../../helpers/netns.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';

const run = promisify(execFile);

for (const mode of ['separate', 'ipv6', 'auto'] as const) {
  describe(`wireguard dual stack, Mode "${mode}", wireguard-go in namespaces @netns`, function () {
    this.timeout(60_000);
    let bed: TestBed;
    let tmp = '';
    const hosts: Array<{ native: Native; wg: UserspaceWireGuard; network: Network; ac: AbortController; running: Promise<void> }> = [];
    const config = { ...dualStackConfig({ Type: 'wireguard', Mode: mode }), backendType: 'wireguard' };

    before(async function () {
      bed = await TestBed.create({ tag: `wd${mode[0]}`, hosts: 2, ipv6: true });
      tmp = await mkdtemp(join(tmpdir(), 'fl-wgd-'));
      const store = new MemoryLeaseStore(config);
      for (const i of [1, 2]) {
        const runDir = join(tmp, `h${i}`);
        await mkdir(join(runDir, 'wireguard'), { recursive: true });
        const native = openNative({ netns: bed.host(i) });
        const script = 'mount --bind "$0" /run && exec wireguard-go -f "$1"';
        const wg = new UserspaceWireGuard({
          socketDir: join(runDir, 'wireguard'),
          command: (name) => ['ip', 'netns', 'exec', bed.host(i), 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, runDir, name],
        });
        const eth0 = (await native.linkGet('eth0'))!;
        const v4 = parseIP4(bed.hostAddr(i));
        const v6 = parseIP6(bed.hostAddr6(i));
        const extIface = { name: 'eth0', index: eth0.index, mtu: eth0.mtu, ifaceAddr: v4, ifaceV6Addr: v6, extAddr: v4, extV6Addr: v6 };
        const backend = createWireguardBackend({ store, extIface, logger: new RecordingLogger() }, native, wg, { keyFile: join(runDir, 'wgkey') });
        const ac = new AbortController();
        const network = await backend.registerNetwork(config, ac.signal);
        hosts.push({ native, wg, network, ac, running: network.run(ac.signal) });
      }
    });

    after(async function () {
      for (const h of hosts.splice(0)) {
        h.ac.abort();
        await h.running.catch(() => undefined);
        await h.native.close();
      }
      await bed?.destroy(); // kills the wireguard-go processes in the host namespaces
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    const ping = (args: string[]): Promise<boolean> =>
      run('ip', ['netns', 'exec', bed.host(1), 'ping', '-c', '1', '-W', '1', ...args]).then(() => true, () => false);

    it('carries IPv4 and IPv6 between the hosts through the tunnel(s)', async () => {
      const other = hosts[1]!.network.lease;
      const v4 = `10.244.${(other.subnet.ip >>> 8) & 0xff}.0`;
      const v6 = other.ipv6Subnet!.toString().replace('/64', '');
      await until(`IPv6 ping to ${v6}`, () => ping(['-6', v6]), 15_000);
      await until(`IPv4 ping to ${v4}`, () => ping([v4]), 15_000);
      const devices = (await bed.ip(bed.host(1), '-o', 'link', 'show')).match(/flannel-wg(-v6)?/g);
      expect([...new Set(devices)].sort()).to.deep.equal(mode === 'separate' ? ['flannel-wg', 'flannel-wg-v6'] : ['flannel-wg']);
    });

    it('points the peer at the right endpoint for the mode', async () => {
      const dev = mode === 'separate' ? 'flannel-wg-v6' : 'flannel-wg';
      const peers = (await hosts[0]!.wg.getDevice(dev))!.peers;
      const want = { separate: '[fd00:198:18::2]:51821', ipv6: '[fd00:198:18::2]:51820', auto: '198.18.0.2:51820' }[mode];
      expect(peers.map((p) => p.endpoint)).to.deep.equal([want]);
    });
  });
}
