// Choosing the external (underlay) interface, fact sheet §1a, for the cases this version supports:
// --iface by name or address (in order, first match wins), else the interface holding --public-ip,
// else the interface of the default route. Reads /proc and /sys of the current network namespace.
import { readFile } from 'node:fs/promises';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { ExternalInterface } from '../backends/backend.js';
import { formatIP4, parseIP4, parseIP6 } from '../subnet-lease/ip.js';

export class InterfaceError extends Error {
  override readonly name = 'InterfaceError';
}

export interface IfaceOptions {
  iface: readonly string[];
  publicIP: string;
}

export async function chooseExternalInterface(opts: IfaceOptions): Promise<ExternalInterface> {
  const ifaces = networkInterfaces();
  const name = await pickName(opts, ifaces);
  const addrs = ifaces[name] ?? [];
  const v4 = preferred(addrs.filter((a) => a.family === 'IPv4'));
  if (!v4) throw new InterfaceError(`interface ${name} has no IPv4 address`);
  const v6 = preferred(addrs.filter((a) => a.family === 'IPv6' && !a.address.startsWith('fe80')));
  const mtu = Number((await readFile(`/sys/class/net/${name}/mtu`, 'utf8')).trim());
  if (!mtu) throw new InterfaceError(`interface ${name} reports MTU 0`);
  const index = Number((await readFile(`/sys/class/net/${name}/ifindex`, 'utf8')).trim());
  const ifaceAddr = parseIP4(v4.address);
  return {
    name,
    index,
    mtu,
    ifaceAddr,
    ifaceV6Addr: v6 ? parseIP6(v6.address) : null,
    extAddr: opts.publicIP ? parseIP4(opts.publicIP) : ifaceAddr,
    extV6Addr: v6 ? parseIP6(v6.address) : null,
  };
}

async function pickName(opts: IfaceOptions, ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>): Promise<string> {
  if (opts.iface.length > 0) {
    for (const want of opts.iface) {
      const found = Object.entries(ifaces).find(([n, as]) => n === want || (as ?? []).some((a) => a.address === want));
      if (found) return found[0];
    }
    throw new InterfaceError(`none of the interfaces given with --iface exists or holds such an address: ${opts.iface.join(', ')}`);
  }
  if (opts.publicIP) {
    const found = Object.entries(ifaces).find(([, as]) => (as ?? []).some((a) => a.address === opts.publicIP));
    if (found) return found[0];
  }
  return defaultRouteInterface();
}

/** The interface of the first IPv4 route to 0.0.0.0/0 in /proc/net/route. */
async function defaultRouteInterface(): Promise<string> {
  const table = await readFile('/proc/net/route', 'utf8');
  for (const line of table.split('\n').slice(1)) {
    const [iface, dest, , , , , , mask] = line.trim().split(/\s+/);
    if (iface && dest === '00000000' && mask === '00000000') return iface;
  }
  throw new InterfaceError('no default route found: pass --iface=<name or address> (or --public-ip) to choose the interface');
}

/** Global before link-local; os.networkInterfaces() does not expose the other preferences of §1a. */
function preferred(addrs: NetworkInterfaceInfo[]): NetworkInterfaceInfo | undefined {
  return addrs.find((a) => !isLinkLocal(a)) ?? addrs.find(isLinkLocal);
}

function isLinkLocal(a: NetworkInterfaceInfo): boolean {
  return a.family === 'IPv4' ? a.address.startsWith('169.254.') : a.address.toLowerCase().startsWith('fe80');
}

export function describeExternalInterface(e: ExternalInterface): string {
  return `${e.name} (index ${e.index}, MTU ${e.mtu}, address ${formatIP4(e.ifaceAddr)}, public IP ${formatIP4(e.extAddr)})`;
}
