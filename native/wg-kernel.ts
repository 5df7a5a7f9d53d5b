// WireGuard in the kernel: the device is an rtnetlink link of kind "wireguard", configured over the
// generic netlink family "wireguard" (codec in wg-netlink.ts and wg-netlink-decode.ts). Two netlink
// sockets through the addon, both opened in the handle's namespace: NETLINK_GENERIC for the WireGuard
// commands, NETLINK_ROUTE for creating, finding and deleting the link. The kernel keeps the device and
// its peers when flanneld exits, so a restarted flanneld finds it ("existing") and traffic goes on.
// A device is lost unasked when its link is deleted: seen as an RTM_DELLINK on a link monitor, or,
// when that monitor overflowed, by looking for each watched device again.
import { loadAddon, type RawAddon, type RawMonitor } from './addon.js';
import { type NativeError, fromAddonError, nativeError } from './errors.js';
import * as C from './netlink/constants.js';
import { type RawMsg, decodeLink, splitMessages } from './netlink/decode.js';
import { encodeLinkAddKind } from './netlink/encode.js';
import { NETLINK_GENERIC, resolveFamily } from './netlink/genl.js';
import { Transport, answerError, openTransport, requestOne } from './netlink/transport.js';
import { deleteLink, linkByName, netnsPath, openRtnetlink } from './kernel.js';
import { checkIfName } from './validate.js';
import { WG_GENL_NAME, encodeGetDevice, encodeSetDevice } from './wg-netlink.js';
import { decodeDevice } from './wg-netlink-decode.js';
import type { WgChange, WgDeviceState, WgLostEvent, WireGuard } from './wg-types.js';

export interface KernelOptions {
  /** A namespace name (looked up in /run/netns) or a path like /proc/<pid>/ns/net. Default: our own. */
  netns?: string;
  why?: string;
}

const DUMP_RETRIES = 5;

/**
 * Opens the kernel data path: loads the addon, opens both sockets and resolves the family. Rejects
 * with NativeError: ENOENT "generic netlink family wireguard not found" when the kernel has no
 * WireGuard (after the kernel's own attempt to load the module), ENOENT from dlopen without the addon.
 */
export async function openKernelWireGuard(opts: KernelOptions = {}): Promise<KernelWireGuard> {
  const addon = loadAddon();
  const netns = netnsPath(opts.netns);
  const where = netns || 'the current namespace';
  const genl = openTransport(() => new addon.NlSocket(netns, NETLINK_GENERIC), `opening generic netlink in ${where}`);
  let familyId: number;
  try {
    familyId = await resolveFamily(genl, WG_GENL_NAME);
  } catch (e) {
    await genl.close();
    throw e;
  }
  let rt: Transport;
  try {
    rt = openRtnetlink(addon, netns);
  } catch (e) {
    await genl.close();
    throw e;
  }
  return new KernelWireGuard(addon, netns, genl, rt, familyId, opts.why ?? `kernel WireGuard (generic netlink family ${WG_GENL_NAME})`);
}

/** `ip link add <name> type wireguard`; rejects with the kernel's error (EEXIST, EOPNOTSUPP without WireGuard). */
export async function addWireguardLink(rt: Transport, name: string): Promise<void> {
  await requestOne(rt, `link add ${name} type wireguard`, 'RTM_NEWLINK', (w, seq) => encodeLinkAddKind(w, name, 'wireguard', seq));
}

/** EOPNOTSUPP, which Node names ENOTSUP (the same errno, 95, on Linux). */
export function notSupported(e: NativeError | null | undefined): boolean {
  return e?.code === 'EOPNOTSUPP' || e?.code === 'ENOTSUP';
}

export class KernelWireGuard implements WireGuard {
  readonly kind = 'kernel' as const;
  /** Devices this handle made or found, by name: their ifindex, to tell them from a later namesake. */
  private readonly tracked = new Map<string, number>();
  private readonly listeners = new Set<(e: WgLostEvent) => void>();
  private monitor: RawMonitor | null = null;
  private closed = false;

  constructor(
    private readonly addon: RawAddon,
    private readonly netns: string,
    private readonly genl: Transport,
    private readonly rt: Transport,
    private readonly familyId: number,
    readonly why: string,
  ) {}

  async getDevice(name: string): Promise<WgDeviceState | null> {
    const ctx = `wireguard get ${checkIfName('wireguard get', name)}`;
    for (let attempt = 1; ; attempt++) {
      const [a] = await this.genl.request(ctx, (w, next) => encodeGetDevice(w, this.familyId, name, next()));
      const err = answerError(a!, 'WG_CMD_GET_DEVICE', ctx);
      // ENODEV: no link of that name; EOPNOTSUPP: a link that is not WireGuard.
      if (err?.code === 'ENODEV' || notSupported(err)) return null;
      if (err) throw err;
      if (a!.interrupted && attempt < DUMP_RETRIES) continue;
      return decodeDevice(a!.msgs);
    }
  }

  /**
   * Sends `change` as one batch of SET_DEVICE messages (several for a large peer list, see
   * wg-netlink.ts). Like `wg`, that is not atomic: when message k fails, the ones before it stay
   * applied; the backend's next pass compares the device with what it wants and puts the rest right.
   */
  async configure(name: string, change: WgChange): Promise<void> {
    const ctx = `wireguard set ${checkIfName('wireguard set', name)}`;
    const answers = await this.genl.request(ctx, (w, next) => encodeSetDevice(w, this.familyId, name, change, next));
    for (const [i, a] of answers.entries()) {
      const err = answerError(a, 'WG_CMD_SET_DEVICE', answers.length > 1 ? `${ctx} (message ${i + 1} of ${answers.length})` : ctx);
      if (notSupported(err)) throw nativeError('ENODEV', 'WG_CMD_SET_DEVICE', `${ctx}: ${name} is not a WireGuard device`);
      if (err) throw err;
    }
  }

  async ensureDevice(name: string): Promise<'existing' | 'created'> {
    checkIfName('wireguard device', name);
    let result: 'existing' | 'created' = 'existing';
    if ((await this.getDevice(name)) === null) {
      await addWireguardLink(this.rt, name);
      result = 'created';
    }
    const link = await linkByName(this.rt, name);
    if (!link) throw nativeError('ENODEV', 'RTM_GETLINK', `wireguard device ${name}: the link vanished right after ${result === 'created' ? 'its creation' : 'it was found'}`);
    this.tracked.set(name, link.index);
    return result;
  }

  async deleteDevice(name: string): Promise<void> {
    checkIfName('wireguard delete', name);
    const link = await linkByName(this.rt, name);
    if (!link || link.kind !== 'wireguard') throw nativeError('ENODEV', 'RTM_DELLINK', `wireguard delete ${name}: no WireGuard link of that name`);
    // Forgotten before the RTM_DELLINK goes out, so its echo on the monitor is not reported as lost.
    if (this.tracked.get(name) === link.index) this.tracked.delete(name);
    await deleteLink(this.rt, link.index, `link delete ${name}`);
  }

  watchDevices(listener: (event: WgLostEvent) => void): () => void {
    this.listeners.add(listener);
    if (!this.monitor && !this.closed) {
      try {
        this.monitor = new this.addon.NlMonitor(this.netns, C.RTMGRP_LINK, (err, buf) => this.onLinkEvents(err, buf));
      } catch (e) {
        this.listeners.delete(listener);
        throw fromAddonError(e, 'watching wireguard links');
      }
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopMonitor();
    };
  }

  private onLinkEvents(err: Error | null, buf: Buffer | null): void {
    if (err || !buf) {
      void this.checkTracked(); // the monitor lost messages: look for each device
      return;
    }
    for (const m of splitMessages(buf)) if (m.type === C.RTM_DELLINK) this.onDelLink(m);
  }

  private onDelLink(m: RawMsg): void {
    const link = decodeLink(m);
    if (link && this.tracked.get(link.name) === link.index) this.lost(link.name, 'its link was deleted (RTM_DELLINK)');
  }

  private async checkTracked(): Promise<void> {
    for (const [name, index] of [...this.tracked]) {
      const link = await linkByName(this.rt, name).catch(() => undefined);
      if (link === undefined || this.tracked.get(name) !== index) continue; // unknown, or changed meanwhile
      if (link === null || link.index !== index) this.lost(name, 'its link is gone (found missing after the link monitor overflowed)');
    }
  }

  private lost(name: string, why: string): void {
    this.tracked.delete(name);
    if (this.closed) return;
    for (const l of [...this.listeners]) l({ name, why });
  }

  private stopMonitor(): void {
    this.monitor?.close();
    this.monitor = null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopMonitor();
    this.listeners.clear();
    void this.genl.close();
    void this.rt.close();
  }
}
