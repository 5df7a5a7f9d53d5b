// The vxlan backend (fact sheet §5.1), the recommended one.
//
// Design note: kernel state per remote host, and why.
// One vxlan device per address family (flannel.<VNI>, flannel-v6.<VNI>) carries all overlay traffic;
// it holds our own subnet's network address (/32, /128) so no broadcast route appears, and learning is
// off, so the kernel knows only what we tell it. For every remote host we install three entries:
//   1. a permanent neighbour  <remote subnet .0> → <remote VTEP MAC>  on the device, so the kernel never
//      ARPs across the overlay for the next hop;
//   2. a self permanent FDB entry  <remote VTEP MAC> → dst <remote public IP>  on the device, which tells
//      the vxlan driver which host to send frames for that MAC to;
//   3. a route  <remote subnet> via <remote .0> dev <device> onlink,  which sends the subnet's packets into
//      the device with that next hop (onlink: the .0 is not on any local prefix).
// With DirectRouting, a host reachable on our own L2 segment gets only  <remote subnet> via <public IP>:
// plain routing, no encapsulation. The lease carries {"VNI":n,"VtepMAC":"…"} so that others can build
// the same three entries for us. Entries are written in batches (native/), checked against the kernel
// every 10 s or less (missing ones back, stale ones removed), and replayed onto a recreated device.
// The VTEP MAC is what the peers' neighbour and FDB entries point at, so it is kept stable: an existing
// device keeps its own, and a device we create gets the VtepMAC of our previous lease
// (LeaseStore.previousLease: our Node's annotations in kube mode, our etcd lease by public IP), so a
// reboot does not leave peers with stale entries until they see our new lease.
import type { Backend, BackendContext, Network } from '../backend.js';
import type { Link, Native } from '../../native/types.js';
import type { NetworkConfig } from '../../subnet-lease/config.js';
import { formatIP4, formatIP6 } from '../../common/ip.js';
import type { LeaseAttrs } from '../../subnet-lease/lease.js';
import type { PreviousLease, StoreReading } from '../../subnet-lease/store.js';
import { type VxlanConfig, VxlanConfigError, parseVxlanConfig } from './config.js';
import { type DeviceSpec, configureDevice, ensureDevice } from './device.js';
import { FamilyDevice } from './family-device.js';
import { decodeLeaseData, encodeLeaseData } from './lease-data.js';
import { randomVtepMac, vtepMacProblem } from './mac.js';
import { VxlanNetwork, type VxlanNetworkOptions } from './network.js';
import { release } from 'node:os';
import { decideOffload } from './offload.js';

export { VxlanConfigError } from './config.js';
export { VxlanDeviceError } from './device.js';
export type { VxlanNetworkOptions } from './network.js';

/** Encapsulation overhead: 50 bytes over IPv4; 70 over IPv6 (the reference says 50 for both, wrongly). */
export const OVERHEAD = { 4: 50, 6: 70 } as const;

/**
 * The vxlan backend. `registerNetwork` creates (or reuses) the devices, acquires our lease with the
 * VTEP MACs in it, and configures the devices; it rejects with the abort reason when `signal` aborts
 * during the lease acquisition. Calling it twice reuses the devices the first call made.
 */
export function createVxlanBackend(ctx: BackendContext, native: Native, options: VxlanNetworkOptions = {}): Backend {
  return {
    async registerNetwork(config: NetworkConfig, signal: AbortSignal): Promise<Network> {
      const cfg = parseVxlanConfig(config.backend);
      const base = cfg.mtu || ctx.extIface.mtu;
      const specs = deviceSpecs(ctx, config, cfg, base);
      const reading = await usePreviousMacs(ctx, cfg, specs, signal);
      const links: Link[] = [];
      for (const spec of specs) {
        signal.throwIfAborted();
        const link = await ensureDevice(native, spec, ctx.logger);
        // A reused device keeps its MAC: that is the one peers must learn.
        spec.mac = link.mac ?? spec.mac;
        links.push(link);
      }
      const lease = await ctx.store.acquireLease(leaseAttrs(ctx, cfg, specs), signal, reading);
      const devices = specs.map((s, i) => new FamilyDevice(s.family, s, links[i]!, s.family === 4 ? config.network! : config.ipv6Network!, s.family === 4 ? config.subnetLen : config.ipv6SubnetLen));
      for (const dev of devices) dev.link = await configureDevice(native, dev.link, dev.address(lease), dev.spec.mac, ctx.logger, dev.spec.txChecksum);
      const mtu = Math.min(...specs.map((s) => s.mtu));
      const opts = { reconcileIntervalMs: fullPassFromEnv(process.env[FULL_PASS_ENV]), ...options };
      return new VxlanNetwork({ native, store: ctx.store, logger: ctx.logger, config: cfg, devices, lease, mtu, options: opts });
    },
  };
}

/** flannel-ts only, for benchmarks and tests of a running daemon: the mean full-pass period in seconds. */
const FULL_PASS_ENV = 'FLANNEL_TS_VXLAN_FULL_PASS_SECONDS';

function fullPassFromEnv(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const s = Number(text);
  if (!Number.isInteger(s) || s < 1 || s > 86_400) throw new VxlanConfigError(`${FULL_PASS_ENV} must be a whole number of seconds from 1 to 86400 (${FULL_PASS_ENV}=${JSON.stringify(text)})`, FULL_PASS_ENV);
  return s * 1000;
}

function deviceSpecs(ctx: BackendContext, config: NetworkConfig, cfg: VxlanConfig, base: number): DeviceSpec[] {
  const ext = ctx.extIface;
  const specs: DeviceSpec[] = [];
  const offload = decideOffload(cfg.txChecksumOffload, release());
  ctx.logger.info(`tx checksum offload on the vxlan devices: ${offload.set === null ? 'left as the kernel has it' : offload.set ? 'on' : 'off'}; ${offload.why}`);
  const common = { vni: cfg.vni, link: ext.index, port: cfg.port, learning: cfg.learning, gbp: cfg.gbp, txChecksum: offload.set };
  for (const family of [4, 6] as const) {
    if (family === 4 ? !config.enableIPv4 : !config.enableIPv6) continue;
    const mtu = base - OVERHEAD[family];
    if (mtu < 68) throw new VxlanConfigError(`vxlan backend: MTU ${base} leaves ${mtu} for the device, below the minimum 68`, 'Backend.MTU');
    if (family === 4) {
      if (!config.network) throw new VxlanConfigError('vxlan backend: IPv4 is enabled but Network is not set', 'Network');
      specs.push({ family, name: `flannel.${cfg.vni}`, mtu, mac: randomVtepMac(), local: formatIP4(ext.ifaceAddr), ...common });
    } else {
      if (!config.ipv6Network) throw new VxlanConfigError('vxlan backend: IPv6 is enabled but IPv6Network is not set', 'IPv6Network');
      if (ext.ifaceV6Addr === null) throw new VxlanConfigError(`vxlan backend: IPv6 is enabled but ${ext.name} has no IPv6 address`, 'EnableIPv6');
      specs.push({ family, name: `flannel-v6.${cfg.vni}`, mtu, mac: randomVtepMac(), local: formatIP6(ext.ifaceV6Addr), ...common });
    }
  }
  return specs;
}

/**
 * Gives each spec the VTEP MAC of our previous run (store.previousLease: BackendData for v4,
 * BackendV6Data for v6), so that a device we have to create gets the MAC peers still have in their
 * neighbour and FDB entries (after a reboot, or a device deleted while we were down). An existing
 * compatible device keeps its own MAC anyway (ensureDevice). Kept random, with a debug line saying why,
 * when there is no previous lease, it was another backend's or another VNI's, or its MAC is not a
 * unicast locally administered one. A failed read is not fatal (the store logs it). Resolves with what
 * the store read, for the acquisition to start from.
 */
async function usePreviousMacs(ctx: BackendContext, cfg: VxlanConfig, specs: DeviceSpec[], signal: AbortSignal): Promise<StoreReading | null> {
  const log = ctx.logger;
  if (!ctx.store.previousLease) {
    log.debug(`lease store ${ctx.store.name} cannot tell the previous VTEP MAC; using a random one`);
    return null;
  }
  let previous: PreviousLease;
  try {
    previous = await ctx.store.previousLease({ publicIP: ctx.extIface.extAddr, publicIPv6: ctx.extIface.extV6Addr }, signal);
  } catch (e) {
    if (signal.aborted) throw e;
    log.warn(`could not read the previous lease: ${(e as Error).message}; using a random VTEP MAC`);
    return null;
  }
  const prev = previous.attrs;
  for (const spec of specs) {
    const mac = previousMac(prev, spec.family, cfg.vni);
    if (typeof mac === 'string') {
      spec.mac = mac;
      log.debug(`${spec.name} will be created with VTEP MAC ${mac} of the previous run if it does not exist`);
    } else {
      log.debug(`not reusing a previous VTEP MAC for ${spec.name} (${mac.why}); a new one is random`);
    }
  }
  return previous.reading;
}

/** The reusable MAC of `family` in `prev`, or why there is none. */
function previousMac(prev: LeaseAttrs | null, family: 4 | 6, vni: number): string | { why: string } {
  if (!prev) return { why: 'no previous lease' };
  if (prev.backendType && prev.backendType !== 'vxlan') return { why: `the previous lease is of backend type ${prev.backendType}` };
  const raw = family === 4 ? prev.backendData : prev.backendV6Data;
  const field = family === 4 ? 'BackendData' : 'BackendV6Data';
  if (raw === undefined || raw === null) return { why: `the previous lease has no ${field}` };
  const data = decodeLeaseData(raw);
  if (typeof data === 'string') return { why: `previous ${data}` };
  if (data.vni !== vni) return { why: `previous ${field}.VNI ${data.vni} differs from VNI ${vni}` };
  const problem = vtepMacProblem(data.vtepMac);
  if (problem) return { why: `previous ${field}.VtepMAC ${problem}` };
  return data.vtepMac;
}

function leaseAttrs(ctx: BackendContext, cfg: VxlanConfig, specs: readonly DeviceSpec[]): LeaseAttrs {
  const v4 = specs.find((s) => s.family === 4);
  const v6 = specs.find((s) => s.family === 6);
  const attrs: LeaseAttrs = { publicIP: v4 ? ctx.extIface.extAddr : 0, publicIPv6: v6 ? ctx.extIface.extV6Addr : null, backendType: 'vxlan' };
  if (v4) attrs.backendData = encodeLeaseData(cfg.vni, v4.mac);
  if (v6) attrs.backendV6Data = encodeLeaseData(cfg.vni, v6.mac);
  return attrs;
}
