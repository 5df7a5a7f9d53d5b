// Shared set-up for the vxlan backend's unit tests: a FakeNative with an underlay eth0
// (198.18.0.1/24, default route via 198.18.0.254), a MemoryLeaseStore, a recording logger, and the
// backend's network running in the background until `stop()`.
import { createVxlanBackend } from '../../../backends/vxlan/backend.js';
import type { VxlanNetwork, VxlanNetworkOptions } from '../../../backends/vxlan/network.js';
import { FakeNative } from '../../../native/fake.js';
import type { Link } from '../../../native/types.js';
import type { NetworkConfig } from '../../../subnet-lease/config.js';
import { parseIP4 } from '../../../common/ip.js';
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
