// Choosing the WireGuard data path. The kernel's WireGuard is present when the `wireguard` module is
// loaded (or built in: /sys/module/wireguard exists either way). flannel-ts does not yet speak the
// kernel's generic-netlink `wireguard` family, so it uses wireguard-go in both cases and says why;
// the WireGuard interface (wg-types.ts) is where a generic-netlink implementation would plug in.
import { existsSync } from 'node:fs';
import { UserspaceWireGuard, type UserspaceOptions } from './wg-userspace.js';
import type { WireGuard } from './wg-types.js';

export type * from './wg-types.js';
export { UAPI_SOCKET_DIR } from './wg-userspace.js';

/** Opens the WireGuard data path for this host. Never throws: a missing wireguard-go shows at the first device. */
export function openWireGuard(opts: Omit<UserspaceOptions, 'why'> = {}): WireGuard {
  const kernel = existsSync('/sys/module/wireguard');
  const why = kernel
    ? 'userspace WireGuard (wireguard-go): the kernel module is present, but flannel-ts does not configure it over generic netlink yet'
    : 'userspace WireGuard (wireguard-go): the kernel has no WireGuard (no /sys/module/wireguard)';
  return new UserspaceWireGuard({ ...opts, why });
}
