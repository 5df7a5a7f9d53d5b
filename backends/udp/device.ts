// The TUN device's addressing (fact sheet §5.3): our subnet's network address as a /32, MTU = external
// MTU - 28, link up, and one route for the whole Network through the device. The device itself is
// made by the packet loop (native/udp.ts), which holds its only file descriptor.
import type { Native } from '../../native/types.js';
import { RT_SCOPE_UNIVERSE } from '../../native/types.js';
import { formatIP4, type IP4Net } from '../../common/ip.js';
import type { Logger } from '../../common/log.js';

/** The packet loop's TUN name pattern (the kernel fills in %d), and the name it gets on a host with one. */
export const TUN_NAME_PATTERN = 'flannel%d';
export const TUN_DEVICE = 'flannel0';

export class UdpDeviceError extends Error {
  override readonly name = 'UdpDeviceError';
}

/** Configures `name` (just created by the loop). Rejects with the native error when a step fails. */
export async function configureTun(native: Native, name: string, subnet: IP4Net, network: IP4Net, mtu: number, logger: Logger): Promise<number> {
  const link = await native.linkGet(name);
  if (!link) throw new UdpDeviceError(`udp backend: TUN device ${name} vanished right after it was created`);
  await native.linkSet(link.index, { mtu });
  await native.addrAdd({ ifindex: link.index, address: formatIP4(subnet.ip), prefixLen: 32 });
  // The loop answers packets for unleased subnets with ICMP from this address; without accept_local
  // the kernel drops those answers as martians (a local source arriving from outside). The reference
  // leaves it off, so its answers never reach the sender.
  await native.writeSysctl(`net/ipv4/conf/${name}/accept_local`, '1');
  // IPv4 only: no IPv6 router or multicast chatter into the TUN (absent when IPv6 is off altogether).
  await native.writeSysctl(`net/ipv6/conf/${name}/disable_ipv6`, '1').catch(() => undefined);
  await native.linkSet(link.index, { up: true });
  // "ip route replace": a route for the Network left by someone else (Docker, an old run) is taken over.
  await native.routeReplace({ dst: network.toString(), ifindex: link.index, scope: RT_SCOPE_UNIVERSE });
  logger.info(`configured ${name}: ${formatIP4(subnet.ip)}/32, MTU ${mtu}, route ${network} dev ${name}`);
  return link.index;
}

/** Moves the device's /32 to a new subnet (our lease was re-acquired with another one). */
export async function readdressTun(native: Native, ifindex: number, from: IP4Net, to: IP4Net): Promise<void> {
  if (from.ip === to.ip) return;
  await native.addrAdd({ ifindex, address: formatIP4(to.ip), prefixLen: 32 }).catch((e: unknown) => {
    if ((e as { code?: unknown }).code !== 'EEXIST') throw e;
  });
  await native.addrDelete({ ifindex, address: formatIP4(from.ip), prefixLen: 32 }).catch(() => undefined);
}
