// The udp backend (fact sheet §5.3): the fallback for kernels without VXLAN, wire-compatible with the
// reference's udp backend and much faster.
//
// Design note: kernel state per remote host, and why.
// None. One TUN device, flannel0, holds our subnet's network address as a /32 and one route for the
// whole Network, so every packet for another host's pods enters the TUN; its MTU is the external
// MTU - 28 (outer IPv4 + UDP). The packet loop (native/udp.ts, C++ threads) reads the TUN, finds the
// peer owning the destination subnet in its own hash table, and sends the raw inner IP packet as the
// payload of a UDP datagram to <peer public IP>:Port (8285); datagrams arriving on Port from a known
// peer go the other way, into the TUN. So a remote host is one entry in the loop's table, not in the
// kernel: lease added -> set route, lease removed -> delete route. A destination with no lease draws
// ICMP net unreachable; datagrams from addresses that are no peer's public IP are dropped and counted.
// Our lease carries only PublicIP (no BackendType, no BackendData), as the reference writes it.
// Unlike vxlan, the data path lives in this process: when flanneld stops, flannel0 goes with it.
import type { Backend, BackendContext, Network } from '../backend.js';
import type { Native } from '../../native/types.js';
import type { UdpLoopOpener } from '../../native/udp.js';
import type { NetworkConfig } from '../../subnet-lease/config.js';
import { formatIP4 } from '../../common/ip.js';
import { UdpConfigError, parseUdpConfig } from './config.js';
import { TUN_DEVICE, TUN_NAME_PATTERN, configureTun } from './device.js';
import { UdpNetwork } from './network.js';

export { UdpConfigError } from './config.js';
export { UdpDeviceError } from './device.js';
export { UdpNetwork } from './network.js';

/** Outer IPv4 (20) + UDP (8) headers. */
export const UDP_OVERHEAD = 28;

export interface UdpBackendOptions {
  /** TUN queues, each with a tx and an rx thread (default 1). */
  queues?: number;
  /** TUN TSO and UDP GSO/GRO (default on). */
  offload?: boolean;
  /** The namespace the loop opens its TUN and socket in (tests); default: the process's own. */
  netns?: string;
}

/**
 * The udp backend. `registerNetwork` acquires our lease (PublicIP only), opens the packet loop (TUN
 * `flannel%d` and the UDP socket on the interface address), and configures the TUN. It rejects with
 * the abort reason when `signal` aborts during the lease acquisition; with EADDRINUSE when the port is
 * taken (e.g. a second call while the first network still runs).
 */
export function createUdpBackend(ctx: BackendContext, native: Native, openLoop: UdpLoopOpener, options: UdpBackendOptions = {}): Backend {
  return {
    async registerNetwork(config: NetworkConfig, signal: AbortSignal): Promise<Network> {
      const cfg = parseUdpConfig(config.backend);
      if (!config.enableIPv4 || !config.network) throw new UdpConfigError('udp backend: IPv4 Network must be set; the udp backend carries IPv4 only', 'Network');
      if (config.enableIPv6) throw new UdpConfigError('udp backend: IPv6 is not supported (EnableIPv6); use vxlan', 'EnableIPv6');
      const ext = ctx.extIface;
      const mtu = ext.mtu - UDP_OVERHEAD;
      if (mtu < 68) throw new UdpConfigError(`udp backend: MTU ${ext.mtu} of ${ext.name} leaves ${mtu} for ${TUN_DEVICE}, below the minimum 68`, 'MTU');
      const lease = await ctx.store.acquireLease({ publicIP: ext.extAddr, publicIPv6: null }, signal);
      const loop = openLoop({
        netns: options.netns,
        tunName: TUN_NAME_PATTERN,
        bindAddress: formatIP4(ext.ifaceAddr),
        port: cfg.port,
        localAddress: formatIP4(lease.subnet.ip),
        queues: options.queues,
        offload: options.offload,
      });
      try {
        const ifindex = await configureTun(native, loop.device, lease.subnet, config.network, mtu, ctx.logger);
        const f = loop.features;
        ctx.logger.info(`udp loop on ${formatIP4(ext.ifaceAddr)}:${cfg.port}, ${f.queues} queue(s); offloads: TUN TSO ${f.tso}, UDP GSO ${f.gso}, UDP GRO ${f.gro}`);
        return new UdpNetwork({ native, store: ctx.store, logger: ctx.logger, loop, ifindex, port: cfg.port, lease, mtu });
      } catch (e) {
        loop.stop();
        throw e;
      }
    },
  };
}
