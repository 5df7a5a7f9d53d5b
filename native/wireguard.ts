// Choosing the WireGuard data path. The kernel's WireGuard when the kernel has it: its generic netlink
// family "wireguard" resolves (the kernel loads the module on that request by itself), or, failing
// that, a link of kind "wireguard" can be created (rtnetlink's own module autoload; the probe link is
// deleted at once and the family asked for again). Otherwise wireguard-go, and the `why` names each
// attempt and its error, for the start-up log and `flanneld --diagnose`.
import { NativeError } from './errors.js';
import type { Transport } from './netlink/transport.js';
import { loadAddon } from './addon.js';
import { deleteLink, linkByName, netnsPath, openRtnetlink } from './kernel.js';
import { addWireguardLink, notSupported, openKernelWireGuard } from './wg-kernel.js';
import { UserspaceWireGuard, type UserspaceOptions } from './wg-userspace.js';
import type { WireGuard } from './wg-types.js';

export type * from './wg-types.js';
export { UAPI_SOCKET_DIR } from './wg-userspace.js';

export interface OpenWireGuardOptions extends Omit<UserspaceOptions, 'why'> {
  /** Namespace (name or path) for the kernel data path; default our own. */
  netns?: string;
  /** Try creating a link of kind wireguard when the family is missing (default true; diagnose passes false: it changes nothing). */
  probeLink?: boolean;
  /** 'auto' (the default): the kernel's when it has WireGuard, else wireguard-go; or one of them forced. */
  dataPath?: WgDataPathChoice;
}

export type WgDataPathChoice = 'auto' | 'kernel' | 'userspace';

/** The environment variable that forces a data path (for a kernel module known to be broken, or for tests). */
export const DATA_PATH_ENV = 'FLANNEL_TS_WIREGUARD_DATAPATH';

/** A data path that was asked for and cannot be had, or a bad FLANNEL_TS_WIREGUARD_DATAPATH. */
export class WireGuardDataPathError extends Error {
  override readonly name = 'WireGuardDataPathError';
}

/** The data path FLANNEL_TS_WIREGUARD_DATAPATH asks for ('auto' when unset or empty). */
export function dataPathFromEnv(env: NodeJS.ProcessEnv = process.env): WgDataPathChoice {
  const v = env[DATA_PATH_ENV] ?? '';
  if (v === '' || v === 'auto' || v === 'kernel' || v === 'userspace') return v === '' ? 'auto' : v;
  throw new WireGuardDataPathError(`${DATA_PATH_ENV}=${JSON.stringify(v)}: must be auto, kernel or userspace`);
}

const KERNEL_WHY = 'kernel WireGuard (generic netlink family wireguard)';

/**
 * Opens the WireGuard data path for this host. With `dataPath` 'auto' it never rejects (a missing
 * wireguard-go shows at the first device); 'kernel' rejects with WireGuardDataPathError when the kernel
 * has no WireGuard, naming why; 'userspace' never tries the kernel.
 */
export async function openWireGuard(opts: OpenWireGuardOptions = {}): Promise<WireGuard> {
  const { netns, probeLink = true, dataPath = 'auto', ...userspace } = opts;
  if (dataPath === 'userspace') return new UserspaceWireGuard({ ...userspace, why: `userspace WireGuard (wireguard-go): chosen by ${DATA_PATH_ENV}=userspace` });
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
  if (dataPath === 'kernel') throw new WireGuardDataPathError(`${DATA_PATH_ENV}=kernel, but the kernel has no WireGuard (${reasons.join(', ')})`);
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
    rt = openRtnetlink(loadAddon(), netnsPath(netns));
  } catch (e) {
    return describe(e, 'opening rtnetlink');
  }
  const name = `flwgprobe${process.pid % 1_000_000}`;
  try {
    await addWireguardLink(rt, name);
    const link = await linkByName(rt, name);
    if (link) await deleteLink(rt, link.index, `link delete ${name}`);
    return null;
  } catch (e) {
    return code(e);
  } finally {
    await rt.close();
  }
}
