// Choosing the WireGuard data path. The kernel's WireGuard when the kernel has it: its generic netlink
// family "wireguard" resolves (the kernel loads the module on that request by itself), or, failing
// that, a link of kind "wireguard" can be created (rtnetlink's own module autoload; the probe link is
// deleted at once and the family asked for again). Otherwise wireguard-go, and the `why` names each
// attempt and its error, for the start-up log and `flanneld --diagnose`.
import { NativeError } from './errors.js';
import type { Transport } from './netlink/transport.js';
import { addWireguardLink, deleteLink, linkByName, netnsPath, notSupported, openKernelWireGuard, openRtnetlink } from './wg-kernel.js';
import { UserspaceWireGuard, type UserspaceOptions } from './wg-userspace.js';
import type { WireGuard } from './wg-types.js';

export type * from './wg-types.js';
export { UAPI_SOCKET_DIR } from './wg-userspace.js';

export interface OpenWireGuardOptions extends Omit<UserspaceOptions, 'why'> {
  /** Namespace (name or path) for the kernel data path; default our own. */
  netns?: string;
  /** Try creating a link of kind wireguard when the family is missing (default true; diagnose passes false: it changes nothing). */
  probeLink?: boolean;
}

const KERNEL_WHY = 'kernel WireGuard (generic netlink family wireguard)';

/** Opens the WireGuard data path for this host. Never rejects: a missing wireguard-go shows at the first device. */
export async function openWireGuard(opts: OpenWireGuardOptions = {}): Promise<WireGuard> {
  const { netns, probeLink = true, ...userspace } = opts;
  const reasons: string[] = [];
  try {
    return await openKernelWireGuard({ netns, why: KERNEL_WHY });
  } catch (e) {
    reasons.push(describe(e, 'resolving generic netlink family wireguard'));
  }
  if (probeLink) {
    const probe = await probeWireguardLink(netns);
    if (probe === null) {
      try {
        return await openKernelWireGuard({ netns, why: `${KERNEL_WHY}, loaded by creating a link of kind wireguard` });
      } catch (e) {
        reasons.push(`a link of kind wireguard could be created, but ${describe(e, 'resolving the family')}`);
      }
    } else reasons.push(`creating a link of kind wireguard failed: ${probe}`);
  }
  return new UserspaceWireGuard({ ...userspace, why: `userspace WireGuard (wireguard-go): the kernel has no WireGuard (${reasons.join(', ')})` });
}

function describe(e: unknown, what: string): string {
  if (e instanceof NativeError && e.syscall === 'CTRL_CMD_GETFAMILY' && e.code === 'ENOENT') return 'generic netlink family wireguard not found';
  if (e instanceof NativeError && e.syscall === 'dlopen') return `${what}: the native addon is not built`;
  return `${what} failed: ${code(e)}`;
}

/** The errno name as the kernel's sources spell it (Node says ENOTSUP for EOPNOTSUPP). */
function code(e: unknown): string {
  if (!(e instanceof NativeError)) return (e as Error)?.message ?? String(e);
  return notSupported(e) ? 'EOPNOTSUPP' : e.code;
}

/** Creates and deletes a link of kind wireguard; null when that worked, else the errno name. */
async function probeWireguardLink(netns: string | undefined): Promise<string | null> {
  let rt: Transport;
  try {
    rt = openRtnetlink(netnsPath(netns));
  } catch (e) {
    return describe(e, 'opening rtnetlink');
  }
  const name = `flwgprobe${process.pid % 1_000_000}`;
  try {
    await addWireguardLink(rt, name);
    const link = await linkByName(rt, name);
    if (link) await deleteLink(rt, link.index, name);
    return null;
  } catch (e) {
    return code(e);
  } finally {
    await rt.close();
  }
}
