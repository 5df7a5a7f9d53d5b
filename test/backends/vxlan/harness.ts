// Shared set-up for the vxlan backend's tests: a FakeNative with an underlay eth0 (198.18.0.1/24,
// default route via 198.18.0.254), a MemoryLeaseStore, a recording logger, and the backend's network
// running in the background until `stop()`; and for the namespace suites, the backend running in this
// process on a test-bed host through a native handle opened in its namespace (startNetnsHost).
import { createVxlanBackend } from '../../../backends/vxlan/backend.js';
import type { VxlanNetwork, VxlanNetworkOptions } from '../../../backends/vxlan/network.js';
import { FakeNative } from '../../../native/fake.js';
import { openNative } from '../../../native/kernel.js';
import type { Link, Native } from '../../../native/types.js';
import type { NetworkConfig } from '../../../subnet-lease/config.js';
import { parseIP4, parseIP6 } from '../../../common/ip.js';
import type { TestBed } from '../../helpers/netns.js';
import { MemoryLeaseStore, vxlanNetworkConfig } from '../../helpers/memory-store.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';

export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface Harness {
  native: FakeNative;
  eth0: Link;
  store: MemoryLeaseStore;
  log: RecordingLogger;
  network: VxlanNetwork;
  running: Promise<void>;
  stop(): Promise<void>;
}

export async function prepareFake(): Promise<{ native: FakeNative; eth0: Link }> {
  const native = new FakeNative();
  const eth0 = native.addTestLink({ name: 'eth0', kind: 'veth', mtu: 1500 });
  await native.addrAdd({ ifindex: eth0.index, address: '198.18.0.1', prefixLen: 24 });
  await native.routeReplace({ dst: '0.0.0.0/0', gateway: '198.18.0.254' });
  return { native, eth0 };
}

export async function startHarness(
  backend: Record<string, unknown> = { Type: 'vxlan' },
  opts: { options?: VxlanNetworkOptions; prepared?: { native: FakeNative; eth0: Link }; config?: NetworkConfig } = {},
): Promise<Harness> {
  const { native, eth0 } = opts.prepared ?? (await prepareFake());
  const config = opts.config ?? vxlanNetworkConfig(backend);
  const store = new MemoryLeaseStore(config);
  const log = new RecordingLogger();
  const extIface = { name: 'eth0', index: eth0.index, mtu: 1500, ifaceAddr: parseIP4('198.18.0.1'), ifaceV6Addr: null, extAddr: parseIP4('198.18.0.1'), extV6Addr: null };
  const be = createVxlanBackend({ store, extIface, logger: log }, native, opts.options ?? { reconcileIntervalMs: 50, recreateBackoffMs: { initial: 10, max: 40 } });
  const ac = new AbortController();
  const network = (await be.registerNetwork(config, ac.signal)) as VxlanNetwork;
  const running = network.run(ac.signal);
  return {
    native, eth0, store, log, network, running,
    stop: async () => {
      ac.abort();
      await running;
    },
  };
}

/** The backend running in this process for host `i` of a test bed. */
export interface NetnsHost {
  native: Native;
  network: VxlanNetwork;
  ac: AbortController;
  running: Promise<void>;
  log: RecordingLogger;
}

/**
 * Runs the vxlan backend for host `i` of `bed` against the real kernel in its namespace, with `store`
 * shared between the hosts of a test; with config.enableIPv6 the host's IPv6 underlay address too.
 */
export async function startNetnsHost(bed: TestBed, i: number, store: MemoryLeaseStore, config: NetworkConfig, options: VxlanNetworkOptions): Promise<NetnsHost> {
  const native = openNative({ netns: bed.host(i) });
  const eth0 = (await native.linkGet('eth0'))!;
  const v4 = parseIP4(bed.hostAddr(i));
  const v6 = config.enableIPv6 ? parseIP6(bed.hostAddr6(i)) : null;
  const log = new RecordingLogger();
  const extIface = { name: 'eth0', index: eth0.index, mtu: eth0.mtu, ifaceAddr: v4, ifaceV6Addr: v6, extAddr: v4, extV6Addr: v6 };
  const be = createVxlanBackend({ store, extIface, logger: log }, native, options);
  const ac = new AbortController();
  const network = (await be.registerNetwork(config, ac.signal)) as VxlanNetwork;
  return { native, network, ac, running: network.run(ac.signal), log };
}

/** Stops each host's network and closes its native handle. */
export async function stopNetnsHosts(hosts: readonly NetnsHost[]): Promise<void> {
  for (const h of hosts) {
    h.ac.abort();
    await h.running.catch(() => undefined);
    await h.native.close();
  }
}
