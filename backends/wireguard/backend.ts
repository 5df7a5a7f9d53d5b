// The wireguard backend (fact sheet §1), wire-compatible with the reference: same config keys, device
// names, key file, lease BackendData, MTU and routes, so a flannel-ts host and a reference host share one
// encrypted overlay.
//
// Design note: kernel state per remote host, and why.
// None outside the WireGuard device. Per mode one or two devices (`flannel-wg`, `flannel-wg-v6` in mode
// "separate"), each holding our subnet's network address as /32 (/128), MTU base − 80, and one route
// for the whole Network (IPv6Network) `dev flannel-wg scope link`. A remote host is one peer of the
// device: its public key, endpoint <PublicIP>:<Port> and AllowedIPs = its subnet(s); WireGuard's
// cryptokey routing picks the peer by destination, so no per-host route, neighbour or FDB entry exists.
// Pod traffic between hosts leaves only as UDP to the WireGuard port.
//
// The data path sits behind native/wg-types.ts: the kernel's WireGuard (a link of kind wireguard,
// configured over generic netlink) where the kernel has it; elsewhere wireguard-go, started by
// flanneld, configured over its UAPI socket and restarted with its configuration replayed when it dies
// (network.ts; a kernel device deleted by hand is recreated the same way). Where the reference is weak
// (§1 ⚠) this one keeps the device, its peers (and wireguard-go) when flanneld stops (a restart does
// not cut traffic, and the key file keeps the public key, so peers need no update); in single-tunnel
// modes an IPv6 endpoint uses the port the remote listens on; a disabled family gets no route (no
// crash, no default route).
import type { Backend, BackendContext, Network } from '../backend.js';
import { formatIP4, formatIP6 } from '../../common/ip.js';
import type { Native } from '../../native/types.js';
import type { WireGuard } from '../../native/wg-types.js';
import type { NetworkConfig } from '../../subnet-lease/config.js';
import { hasIPv4, type Lease, type LeaseAttrs } from '../../subnet-lease/lease.js';
import { WireguardConfigError, parseWireguardConfig, type WireguardConfig } from './config.js';
import type { DeviceSpec } from './device.js';
import { keyFilePath, loadOrCreateKey } from './key.js';
import { encodeLeaseData } from './lease-data.js';
import { WireguardNetwork } from './network.js';
import { DEVICE, DEVICE_V6, devicesFor, type PeerContext } from './peers.js';

export { WireguardConfigError } from './config.js';
export { WireguardKeyError } from './key.js';
export const BACKEND_TYPE = 'wireguard';

/** IPv6 40 + UDP 8 + WireGuard header 16 + tag 16, for both families as in the reference. */
export const WG_OVERHEAD = 80;

export interface WireguardBackendOptions {
  /** Where the key file is; default $WIREGUARD_KEY_FILE or /run/flannel/wgkey. */
  keyFile?: string;
  checkIntervalMs?: number;
}

/**
 * The wireguard backend. `registerNetwork` checks the config (WireguardConfigError naming the field),
 * reads or creates the key file (WireguardKeyError), acquires our lease with the BackendData, and sets
 * up the devices; it rejects with the abort reason when `signal` aborts during the acquisition, and with
 * the failing step's error otherwise. Calling it again reuses the running devices.
 */
export function createWireguardBackend(ctx: BackendContext, native: Native, wg: WireGuard, opts: WireguardBackendOptions = {}): Backend {
  return {
    async registerNetwork(config: NetworkConfig, signal: AbortSignal): Promise<Network> {
      const cfg = parseWireguardConfig(config.backend);
      const ext = ctx.extIface;
      if (config.enableIPv6 && ext.extV6Addr === null) {
        throw new WireguardConfigError(`wireguard backend: IPv6 is enabled, but interface ${ext.name} has no global IPv6 address`, 'EnableIPv6');
      }
      const mtu = (cfg.mtu || ext.mtu) - WG_OVERHEAD;
      if (mtu < 1280 && config.enableIPv6) throw new WireguardConfigError(`wireguard backend: MTU ${mtu} is below IPv6's 1280`, 'Backend.MTU');
      if (mtu < 576) throw new WireguardConfigError(`wireguard backend: MTU ${cfg.mtu || ext.mtu} leaves ${mtu} for the device, below 576`, 'Backend.MTU');
      const key = await loadOrCreateKey(opts.keyFile ?? keyFilePath());
      ctx.logger.info(`${key.created ? 'created' : 'using'} WireGuard key file ${key.path}; public key ${key.publicKey}`);
      ctx.logger.info(`WireGuard data path: ${wg.why}`);
      const attrs: LeaseAttrs = { publicIP: ext.extAddr, publicIPv6: config.enableIPv6 ? ext.extV6Addr : null, backendType: BACKEND_TYPE };
      if (config.enableIPv4) attrs.backendData = encodeLeaseData(key.publicKey, cfg.listenPort);
      if (config.enableIPv6) attrs.backendV6Data = encodeLeaseData(key.publicKey, cfg.listenPortV6);
      const lease = await ctx.store.acquireLease(attrs, signal);
      checkLeaseFamilies(config, lease);
      const peers: PeerContext = { cfg, enableIPv4: config.enableIPv4, enableIPv6: config.enableIPv6, extAddr: ext.extAddr, extV6Addr: ext.extV6Addr };
      const network = new WireguardNetwork({
        native,
        wg,
        store: ctx.store,
        logger: ctx.logger,
        lease,
        mtu,
        peers,
        specsFor: (own) => deviceSpecs(config, cfg, own, key.privateKey, mtu),
        checkIntervalMs: opts.checkIntervalMs,
      });
      await network.prepare();
      const ours = [hasIPv4(lease) ? formatIP4(lease.subnet.ip) : '', lease.ipv6Subnet ? formatIP6(lease.ipv6Subnet.ip) : ''].filter((a) => a !== '');
      ctx.logger.info(`wireguard: ${devicesFor(peers).join(', ')} up, MTU ${mtu}, our address ${ours.join(' and ')}`);
      return network;
    },
  };
}

function checkLeaseFamilies(config: NetworkConfig, lease: Lease): void {
  if (config.enableIPv6 && !lease.ipv6Subnet) throw new WireguardConfigError('failed to configure wg interface: IPv6 is enabled but the lease has no IPv6', 'EnableIPv6');
}

/** The devices of the mode with their addresses and routes; a disabled family contributes neither. */
export function deviceSpecs(config: NetworkConfig, cfg: WireguardConfig, own: Lease, privateKey: string, mtu: number): DeviceSpec[] {
  const v4 = config.enableIPv4 && config.network ? { subnet: own.subnet, network: config.network } : null;
  const v6 = config.enableIPv6 && config.ipv6Network && own.ipv6Subnet ? { subnet: own.ipv6Subnet, network: config.ipv6Network } : null;
  const spec = (name: string, port: number, fams: Array<typeof v4 | typeof v6>): DeviceSpec => {
    const present = fams.filter((f) => f !== null);
    return { name, mtu, listenPort: port, privateKey, addrs: present, routes: present.map((f) => f.network) };
  };
  if (cfg.mode !== 'separate') return [spec(DEVICE, cfg.listenPort, [v4, v6])];
  return [...(v4 ? [spec(DEVICE, cfg.listenPort, [v4])] : []), ...(v6 ? [spec(DEVICE_V6, cfg.listenPortV6, [v6])] : [])];
}
