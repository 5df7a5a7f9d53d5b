// The only place that loads the C++ addon. Its raw surface is typed here; everything else goes through
// KernelNative (kernel.ts), which validates arguments before they reach these functions.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NativeError, errnoNumber } from './errors.js';

export interface RawSocket {
  /** Sends a buffer of netlink requests; resolves with every non-ACK answer. One call in flight at a time. */
  transact(requests: Buffer): Promise<Buffer>;
  /** The kernel's address of this socket: the nlmsg_pid of the notifications of its own changes. */
  portid(): number;
  close(): void;
}

export interface RawMonitor {
  close(): void;
}

export interface RawIcmpSocket {
  /** One echo request whose IP packet is `size` bytes; throws the errno (EMSGSIZE: larger than the route's MTU). */
  send(address: string, seq: number, size: number): void;
  close(): void;
}

export interface RawAddon {
  /** Replies arrive as 24-byte records: seq u16 LE, family, pad, 16 address bytes, ICMP length u32 LE. */
  IcmpSocket: new (family: 4 | 6, ident: number, cb: (err: Error | null, replies: Buffer | null) => void) => RawIcmpSocket;
  /** `protocol`: NETLINK_ROUTE (0) unless given; the WireGuard data path passes NETLINK_GENERIC (16). */
  NlSocket: new (netnsPath: string, protocol?: number) => RawSocket;
  /** With `ignorePortid`, notifications of changes made by that socket are dropped before JavaScript sees them. */
  NlMonitor: new (netnsPath: string, groups: number, cb: (err: Error | null, datagram: Buffer | null) => void, ignorePortid?: number) => RawMonitor;
  writeSysctl(netnsPath: string, key: string, value: string): void;
  txChecksum(netnsPath: string, ifname: string, set: -1 | 0 | 1): boolean;
}

let cached: RawAddon | null = null;

/** Where the addon is looked for: $FLANNEL_NATIVE_ADDON, else native/build/Release next to the sources. */
export function addonPath(): string {
  // dist/native/addon.js -> <repo>/native/build/Release
  return process.env.FLANNEL_NATIVE_ADDON ?? fileURLToPath(new URL('../../native/build/Release/flannel_native.node', import.meta.url));
}

/** Loads the addon once. Throws NativeError ENOENT with the build command when it has not been built. */
export function loadAddon(): RawAddon {
  if (cached) return cached;
  const path = addonPath();
  if (!existsSync(path)) {
    throw new NativeError('ENOENT', errnoNumber('ENOENT'), 'dlopen', `native addon ${path} not found; build it with "npm run build" (node native/build-addon.mjs)`);
  }
  cached = createRequire(import.meta.url)(path) as RawAddon;
  return cached;
}
