// One WireGuard device and the kernel state around it (fact sheet §1.2, §1.4): the device made (or
// found running), its MTU (base − 80), our subnet's network address as /32 (/128) with any other
// address of the flannel network removed, the link up, private key and listen port, and one route
// per family for the whole network: `<Network> dev flannel-wg scope link`. `ensure` is idempotent and
// doubles as the repair: it changes only what differs and says what it put back.
import { formatIP4, formatIP6, parseIP4, type IP4Net, type IP6Net } from '../../common/ip.js';
import type { Logger } from '../../common/log.js';
import { RT_SCOPE_LINK, RT_TABLE_MAIN, type Native } from '../../native/types.js';
import type { WgDeviceState, WireGuard } from '../../native/wg-types.js';

export interface DeviceSpec {
  name: string;
  mtu: number;
  listenPort: number;
  privateKey: string;
  /** Our subnets on this device (v4 as /32, v6 as /128) and the networks they belong to. */
  addrs: Array<{ subnet: IP4Net | IP6Net; network: IP4Net | IP6Net }>;
  /** Networks routed into the device. */
  routes: Array<IP4Net | IP6Net>;
}

export interface EnsureResult {
  ifindex: number;
  /** The device was (re)made now: it holds no peers. */
  created: boolean;
  /** What was missing or wrong and has been put right ("route 10.244.0.0/16", "address …"). */
  fixed: string[];
  state: WgDeviceState;
}

/**
 * Makes the device match `spec`. A link of that name that is no working WireGuard device is deleted
 * first ("recreating"). Rejects with the NativeError of the failing step; a second call finds
 * everything in place and changes nothing.
 */
export async function ensureDevice(native: Native, wg: WireGuard, spec: DeviceSpec, log: Logger): Promise<EnsureResult> {
  const fixed: string[] = [];
  let state = await wg.getDevice(spec.name);
  let created = false;
  if (state === null) {
    const stale = await native.linkGet(spec.name);
    if (stale) {
      log.warn(`${spec.name} exists (kind ${stale.kind ?? 'none'}) but is no working WireGuard device; recreating it`);
      await native.linkDelete(stale.index);
    }
    created = (await wg.ensureDevice(spec.name)) === 'created';
    state = (await wg.getDevice(spec.name)) ?? { privateKey: null, listenPort: 0, peers: [] };
    if (created) log.info(`created WireGuard device ${spec.name} (${wg.kind}), listening on UDP ${spec.listenPort}`);
  }
  const link = await native.linkGet(spec.name);
  if (!link) throw new Error(`WireGuard device ${spec.name} has no link`);
  if (state.privateKey !== spec.privateKey || state.listenPort !== spec.listenPort) {
    await wg.configure(spec.name, { privateKey: spec.privateKey, listenPort: spec.listenPort });
    if (!created) fixed.push(`private key and listen port ${spec.listenPort}`);
  }
  if (link.mtu !== spec.mtu) await native.linkSet(link.index, { mtu: spec.mtu });
  for (const a of spec.addrs) fixed.push(...(await ensureAddress(native, link.index, a.subnet, a.network)));
  if (!link.up) await native.linkSet(link.index, { up: true });
  for (const r of spec.routes) if (await ensureRoute(native, link.index, r)) fixed.push(`route ${r} dev ${spec.name}`);
  return { ifindex: link.index, created, fixed: created ? [] : fixed, state };
}

/** Our /32 (/128) on the device; other addresses inside the network go (§1.4). */
async function ensureAddress(native: Native, ifindex: number, subnet: IP4Net | IP6Net, network: IP4Net | IP6Net): Promise<string[]> {
  const v6 = typeof subnet.ip === 'bigint';
  const family = v6 ? 6 : 4;
  const want = v6 ? formatIP6(subnet.ip as bigint) : formatIP4(subnet.ip as number);
  const prefixLen = v6 ? 128 : 32;
  const have = await native.addrList({ ifindex, family });
  const out: string[] = [];
  for (const a of have) {
    if (a.address === want && a.prefixLen === prefixLen) continue;
    const inside = v6 ? !a.address.startsWith('fe80:') : (network as IP4Net).contains(parseIP4(a.address));
    if (inside) await native.addrDelete({ ifindex, address: a.address, prefixLen: a.prefixLen });
  }
  if (!have.some((a) => a.address === want && a.prefixLen === prefixLen)) {
    await native.addrAdd({ ifindex, address: want, prefixLen });
    out.push(`address ${want}/${prefixLen}`);
  }
  return out;
}

/** `ip route replace <net> dev <device> scope link` unless that route is there; true when it was missing. */
async function ensureRoute(native: Native, ifindex: number, net: IP4Net | IP6Net): Promise<boolean> {
  const family = typeof net.ip === 'bigint' ? 6 : 4;
  const dst = net.toString();
  const routes = await native.routeList({ family, table: RT_TABLE_MAIN });
  if (routes.some((r) => r.dst === dst && r.ifindex === ifindex && r.gateway === null)) return false;
  await native.routeReplace({ dst, ifindex, scope: RT_SCOPE_LINK });
  return true;
}
