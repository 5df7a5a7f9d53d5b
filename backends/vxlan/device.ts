// The vxlan device flannel.<VNI> (flannel-v6.<VNI>): created with the reference's attributes, reused
// when an existing one is compatible, replaced when not; then given our own subnet address, brought
// up, and its MAC checked (systemd's MACAddressPolicy may rewrite MACs of new links).
import type { NativeError } from '../../native/errors.js';
import type { Addr, Link, Native, VxlanLinkSpec } from '../../native/types.js';
import type { Logger } from '../../common/log.js';

export class VxlanDeviceError extends Error {
  override readonly name = 'VxlanDeviceError';
}

export interface DeviceSpec {
  family: 4 | 6;
  name: string;
  vni: number;
  /** Device MTU (base MTU minus the encapsulation overhead). */
  mtu: number;
  /** The MAC to create the device with. */
  mac: string;
  /** Underlay ifindex and address (the external interface's own address, not the public IP). */
  link: number;
  local: string;
  /** 0: not sent (kernel default 8472). */
  port: number;
  learning: boolean;
  gbp: boolean;
  /** Transmit checksum offload to set when the device is configured; null: leave it as the kernel has it. */
  txChecksum: boolean | null;
}

function linkSpec(s: DeviceSpec): VxlanLinkSpec {
  const spec: VxlanLinkSpec = { name: s.name, vni: s.vni, mtu: s.mtu, mac: s.mac, link: s.link, local: s.local, learning: s.learning, gbp: s.gbp };
  if (s.port > 0) spec.port = s.port;
  return spec;
}

/** Why `existing` cannot serve as the device `want` describes (the reference's vxlanLinksIncompat), or null. */
export function incompatibility(want: DeviceSpec, existing: Link): string | null {
  const v = existing.vxlan;
  if (existing.kind !== 'vxlan' || !v) return `link type: vxlan vs ${existing.kind ?? 'unknown'}`;
  if (v.vni !== want.vni) return `vni: ${want.vni} vs ${v.vni}`;
  if (v.link > 0 && want.link > 0 && v.link !== want.link) return `vtep (external) interface: ${want.link} vs ${v.link}`;
  if (v.local && want.local && v.local !== want.local) return `vtep (external) IP: ${want.local} vs ${v.local}`;
  if (v.l2miss) return 'l2miss: false vs true';
  if (v.port > 0 && want.port > 0 && v.port !== want.port) return `port: ${want.port} vs ${v.port}`;
  if (v.gbp !== want.gbp) return `gbp: ${want.gbp} vs ${v.gbp}`;
  return null;
}

/**
 * Creates the device, or reuses/replaces an existing one. Resolves with the link as the kernel has it
 * (a reused device keeps its own MAC). Calling it twice reuses what the first call made.
 */
export async function ensureDevice(native: Native, spec: DeviceSpec, log: Logger): Promise<Link> {
  let link: Link;
  try {
    link = await native.linkAddVxlan(linkSpec(spec));
    log.info(`created vxlan device ${spec.name}`, { vni: spec.vni, mac: link.mac, mtu: link.mtu, local: spec.local });
  } catch (e) {
    if ((e as NativeError).code !== 'EEXIST') throw e;
    link = await reuseOrReplace(native, spec, log);
  }
  if (link.mtu !== spec.mtu) {
    await native.linkSet(link.index, { mtu: spec.mtu });
    log.info(`set MTU of ${spec.name} to ${spec.mtu} (was ${link.mtu})`);
    link = { ...link, mtu: spec.mtu };
  }
  try {
    await native.writeSysctl(`net/ipv6/conf/${spec.name}/accept_ra`, '0');
  } catch (e) {
    log.debug(`could not turn off accept_ra on ${spec.name} (IPv6 disabled?)`, { error: (e as Error).message });
  }
  return link;
}

async function reuseOrReplace(native: Native, spec: DeviceSpec, log: Logger): Promise<Link> {
  const existing = await native.linkGet(spec.name);
  if (!existing) return native.linkAddVxlan(linkSpec(spec));
  const why = incompatibility(spec, existing);
  if (why === null) {
    log.info(`reusing existing vxlan device ${spec.name}`, { mac: existing.mac });
    return existing;
  }
  log.warn(`replacing incompatible device ${spec.name} (${why})`);
  await native.linkDelete(existing.index);
  const link = await native.linkAddVxlan(linkSpec(spec));
  log.info(`created vxlan device ${spec.name}`, { vni: spec.vni, mac: link.mac, mtu: link.mtu, local: spec.local });
  return link;
}

export interface DeviceAddress {
  family: 4 | 6;
  address: string;
  prefixLen: number;
  /** Addresses of ours that must go when they are not `address` (v4: inside Network; v6: not link-local). */
  ours(a: Addr): boolean;
}

/**
 * Puts our own address on the device, removes other addresses of ours, brings the link up and checks
 * that it still has `mac` (setting it back once if something changed it). Idempotent.
 */
export async function configureDevice(native: Native, link: Link, addr: DeviceAddress, mac: string, log: Logger, txChecksum: boolean | null = null): Promise<Link> {
  // After the address and before the link goes up, as Calico does (offload.ts says when and why).
  if (txChecksum !== null && (await native.txChecksumOffload(link.name)) !== txChecksum) {
    await native.txChecksumOffload(link.name, txChecksum);
    log.info(`turned tx checksum offload ${txChecksum ? 'on' : 'off'} on ${link.name}`);
  }
  const present = await native.addrList({ ifindex: link.index, family: addr.family });
  let have = false;
  for (const a of present) {
    if (a.address === addr.address && a.prefixLen === addr.prefixLen) have = true;
    else if (addr.ours(a)) {
      await native.addrDelete({ ifindex: link.index, address: a.address, prefixLen: a.prefixLen });
      log.info(`removed stale address ${a.address}/${a.prefixLen} from ${link.name}`);
    }
  }
  if (!have) await native.addrAdd({ ifindex: link.index, address: addr.address, prefixLen: addr.prefixLen });
  await native.linkSet(link.index, { up: true });
  return verifyMac(native, link.name, mac, log);
}

async function verifyMac(native: Native, name: string, mac: string, log: Logger): Promise<Link> {
  for (let attempt = 0; ; attempt++) {
    const now = await native.linkGet(name);
    if (!now) throw new VxlanDeviceError(`vxlan device ${name} disappeared while it was being configured`);
    if (now.mac === mac) return now;
    if (attempt > 0) throw new VxlanDeviceError(`vxlan device ${name} has MAC ${now.mac}, expected ${mac}, and it cannot be set back`);
    log.warn(`MAC of ${name} changed to ${now.mac} after it came up; setting it back to ${mac}`);
    await native.linkSet(now.index, { mac });
  }
}
