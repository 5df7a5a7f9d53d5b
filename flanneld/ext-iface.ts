// Choosing the external (underlay) interface and its addresses, fact sheet §1a, through the Native
// layer (links, addresses, routes of the current network namespace):
//   1. every --iface (a name or an address), in order; then every --iface-regex (matched against the
//      interfaces' addresses first, then their names); then --iface-can-reach (the route the kernel
//      picks for that address). The first that yields an interface wins; when flags were given and
//      none matches, the error names each attempt and why it failed;
//      An empty --iface or --iface-regex (microk8s's `--iface=""`) means the default-route interface,
//      as in the reference, whose lookup falls through to it when name, regex and can-reach are empty;
//   2. without any of those flags: the interface holding --public-ip (or --public-ipv6), else the
//      interface of the default route (v4, v6 for IPv6-only; in dual stack both must agree).
// The address is the matched one (--iface by address, a regex match, can-reach's source), else the
// preferred address of the interface (ext-iface-addr.ts). --public-ip/--public-ipv6 override the
// address other hosts use.
import type { ExternalInterface } from '../backends/backend.js';
import type { Link, Native } from '../native/types.js';
import { IPParseError, formatIP4, formatIP6, parseIP4, parseIP6 } from '../common/ip.js';
import { type FlaggedAddr, preferredAddrs, readInet6Flags, withFlags } from './ext-iface-addr.js';

export class InterfaceError extends Error {
  override readonly name = 'InterfaceError';
}

export interface IfaceOptions {
  iface: readonly string[];
  ifaceRegex?: readonly string[];
  ifaceCanReach?: string;
  publicIP: string;
  publicIPv6?: string;
  /** Families in use (EnableIPv4 / EnableIPv6); default IPv4 only. */
  ipv4?: boolean;
  ipv6?: boolean;
  /** Where IPv6 address flags are read; tests may point elsewhere. */
  inet6Path?: string;
}

/** What a matcher found: the interface, and the address when the match itself named one. */
interface Found {
  link: Link;
  v4?: string;
  v6?: string;
}

class Host {
  private constructor(
    readonly links: Link[],
    readonly addrs: FlaggedAddr[],
  ) {}
  static async read(native: Native, inet6Path?: string): Promise<Host> {
    const [links, addrs, inet6] = await Promise.all([native.linkList(), native.addrList(), readInet6Flags(inet6Path)]);
    return new Host(links, withFlags(addrs, inet6));
  }
  addrsOf(link: Link, family: 4 | 6): FlaggedAddr[] {
    return preferredAddrs(this.addrs.filter((a) => a.ifindex === link.index && a.family === family));
  }
  holding(ip: string): Link | undefined {
    const want = canonical(ip);
    const a = this.addrs.find((x) => canonical(x.address) === want);
    return a && this.links.find((l) => l.index === a.ifindex);
  }
  describe(): string {
    return this.links.map((l) => `${l.name} [${this.addrs.filter((a) => a.ifindex === l.index).map((a) => a.address).join(' ')}]`).join(', ');
  }
}

function canonical(ip: string): string {
  try {
    return ip.includes(':') ? formatIP6(parseIP6(ip)) : formatIP4(parseIP4(ip));
  } catch {
    return ip;
  }
}

function isIP(s: string): boolean {
  try {
    if (s.includes(':')) parseIP6(s);
    else parseIP4(s);
    return true;
  } catch (e) {
    if (e instanceof IPParseError) return false;
    throw e;
  }
}

/** Resolves the interface to use; rejects with InterfaceError naming what was tried. */
export async function chooseExternalInterface(opts: IfaceOptions, native: Native): Promise<ExternalInterface> {
  const v4 = opts.ipv4 ?? true;
  const v6 = opts.ipv6 ?? false;
  if (!v4 && !v6) throw new InterfaceError('neither IPv4 nor IPv6 is enabled in the network config');
  const host = await Host.read(native, opts.inet6Path);
  const found = await pick(opts, host, native, v4, v6);
  return finish(found, host, opts, v4, v6);
}

async function pick(opts: IfaceOptions, host: Host, native: Native, v4: boolean, v6: boolean): Promise<Found> {
  const regexes = opts.ifaceRegex ?? [];
  const canReach = opts.ifaceCanReach ?? '';
  if (opts.iface.length === 0 && regexes.length === 0 && canReach === '') return byDefault(opts, host, native, v4, v6);
  const failures: string[] = [];
  for (const want of opts.iface) {
    // `--iface=` (microk8s ships `--iface=""`): the reference then looks up the default route.
    if (want === '') {
      const f = await orFailure(byDefaultRoute(host, native, v4, v6));
      if (typeof f !== 'string') return f;
      failures.push(`--iface= (an empty name means the default-route interface: ${f})`);
      continue;
    }
    const link = isIP(want) ? host.holding(want) : host.links.find((l) => l.name === want);
    if (link) return isIP(want) ? { link, ...(want.includes(':') ? { v6: canonical(want) } : { v4: canonical(want) }) } : { link };
    failures.push(`--iface=${want} (${isIP(want) ? 'no interface holds that address' : 'no interface has that name'})`);
  }
  for (const re of regexes) {
    const f = re === '' ? await orFailure(byDefaultRoute(host, native, v4, v6)) : byRegex(re, host, v4, v6);
    if (typeof f !== 'string') return f;
    failures.push(`--iface-regex=${re} (${f})`);
  }
  if (canReach) {
    const f = await byRoute(canReach, host, native);
    if (typeof f !== 'string') return f;
    failures.push(`--iface-can-reach=${canReach} (${f})`);
  }
  throw new InterfaceError(`no interface matches what was asked for: ${failures.join('; ')}. Interfaces here: ${host.describe()}`);
}

function byRegex(source: string, host: Host, v4: boolean, v6: boolean): Found | string {
  let re: RegExp;
  try {
    re = new RegExp(source);
  } catch (e) {
    return `not a valid regular expression: ${(e as Error).message}`;
  }
  for (const link of host.links) {
    const m4 = host.addrsOf(link, 4).find((a) => re.test(a.address))?.address;
    const m6 = host.addrsOf(link, 6).find((a) => re.test(a.address))?.address;
    if ((!v4 || m4) && (!v6 || m6)) return { link, ...(m4 && v4 ? { v4: m4 } : {}), ...(m6 && v6 ? { v6: m6 } : {}) };
  }
  const link = host.links.find((l) => re.test(l.name));
  return link ? { link } : 'it matches no address and no interface name';
}

async function byRoute(ip: string, host: Host, native: Native): Promise<Found | string> {
  if (!isIP(ip)) return 'not an IP address';
  try {
    const [route] = await native.routeGet(ip);
    const link = route && host.links.find((l) => l.index === route.ifindex);
    if (!route || !link) return 'the kernel returned no route with an interface';
    return { link, ...(route.prefsrc ? (route.family === 6 ? { v6: route.prefsrc } : { v4: route.prefsrc }) : {}) };
  } catch (e) {
    return `no route: ${(e as Error).message}`;
  }
}

async function byDefault(opts: IfaceOptions, host: Host, native: Native, v4: boolean, v6: boolean): Promise<Found> {
  for (const ip of [opts.publicIP, opts.publicIPv6 ?? '']) {
    const link = ip ? host.holding(ip) : undefined;
    if (link) return { link, ...(ip.includes(':') ? { v6: canonical(ip) } : { v4: canonical(ip) }) };
  }
  return byDefaultRoute(host, native, v4, v6);
}

/** The interface of the default route (v4, v6 for IPv6-only; in dual stack both must agree). */
async function byDefaultRoute(host: Host, native: Native, v4: boolean, v6: boolean): Promise<Found> {
  const viaDefault = async (family: 4 | 6): Promise<Link> => {
    const dst = family === 4 ? '0.0.0.0/0' : '::/0';
    const route = (await native.routeList({ family })).find((r) => r.dst === dst);
    if (!route) throw new InterfaceError(`no IPv${family} default route found: pass --iface=<name or address>, --iface-regex or --iface-can-reach to choose the interface`);
    const link = host.links.find((l) => l.index === route.ifindex);
    if (!link) throw new InterfaceError(`found an IPv${family} default route but could not determine its interface`);
    return link;
  };
  const link = await viaDefault(v4 ? 4 : 6);
  if (v4 && v6) {
    const l6 = await viaDefault(6);
    if (l6.index !== link.index) throw new InterfaceError(`v6 default route interface ${l6.name} must be the same with v4 default route interface ${link.name}`);
  }
  return { link };
}

/** An InterfaceError as the text of a failed attempt, so the next flag is tried. */
async function orFailure(p: Promise<Found>): Promise<Found | string> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof InterfaceError) return e.message;
    throw e;
  }
}

function finish(found: Found, host: Host, opts: IfaceOptions, v4: boolean, v6: boolean): ExternalInterface {
  const { link } = found;
  const addr4 = found.v4 ?? (v4 ? host.addrsOf(link, 4)[0]?.address : undefined);
  const addr6 = found.v6 ?? (v6 ? host.addrsOf(link, 6)[0]?.address : undefined);
  if (v4 && !addr4) throw new InterfaceError(`failed to find IPv4 address for interface ${link.name}`);
  if (v6 && !addr6) throw new InterfaceError(`failed to find IPv6 address for interface ${link.name}`);
  if (!link.mtu) throw new InterfaceError(`failed to determine MTU for ${link.name} interface`);
  const ifaceAddr = addr4 ? parseIP4(addr4) : 0;
  const ifaceV6Addr = addr6 ? parseIP6(addr6) : null;
  return {
    name: link.name,
    index: link.index,
    mtu: link.mtu,
    ifaceAddr,
    ifaceV6Addr,
    extAddr: opts.publicIP ? parsePublic(opts.publicIP, parseIP4, '--public-ip') : ifaceAddr,
    extV6Addr: opts.publicIPv6 ? parsePublic(opts.publicIPv6, parseIP6, '--public-ipv6') : ifaceV6Addr,
  };
}

function parsePublic<T>(text: string, parse: (s: string) => T, flag: string): T {
  try {
    return parse(text);
  } catch {
    throw new InterfaceError(`invalid public IP address: ${text} (${flag})`);
  }
}

export function describeExternalInterface(e: ExternalInterface): string {
  const v6 = e.ifaceV6Addr !== null ? `, v6 address ${formatIP6(e.ifaceV6Addr)}` : '';
  const pub6 = e.extV6Addr !== null && e.extV6Addr !== e.ifaceV6Addr ? `, public IPv6 ${formatIP6(e.extV6Addr)}` : '';
  // IPv6-only: no IPv4 address was looked for, so none is shown.
  if (e.ifaceAddr === 0 && e.extAddr === 0 && e.ifaceV6Addr !== null) return `${e.name} (index ${e.index}, MTU ${e.mtu}, IPv6 only${v6}${pub6})`;
  return `${e.name} (index ${e.index}, MTU ${e.mtu}, address ${formatIP4(e.ifaceAddr)}${v6}, public IP ${formatIP4(e.extAddr)}${pub6})`;
}
