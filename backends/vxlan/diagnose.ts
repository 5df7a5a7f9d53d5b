// The vxlan check: per family, the device (present, up, MTU, VTEP MAC of our lease, our subnet's
// address) and the backend's own diff of wanted entries against the kernel's (reconcile.ts).
import type { Link } from '../../native/types.js';
import { IP4Net, formatIP4, formatIP6, parseIP4, parseIP6 } from '../../common/ip.js';
import { parseVxlanConfig, type VxlanConfig } from './config.js';
import { type Entry, describeEntry, entryKey } from './entries.js';
import { OVERHEAD } from './backend.js';
import { decodeLeaseData } from './lease-data.js';
import { type OwnedScope, diffEntries, ownedEntries, readKernel } from './reconcile.js';
import { type WantedEntry, wantedEntries } from './wanted.js';
import { type CheckInput, type Finding, leaseRef } from '../module.js';

type Family = 4 | 6;

export async function checkVxlan(input: CheckInput): Promise<Finding[]> {
  const cfg = parseVxlanConfig(input.config.backend);
  const findings: Finding[] = [];
  for (const family of families(input)) {
    const name = family === 4 ? `flannel.${cfg.vni}` : `flannel-v6.${cfg.vni}`;
    const link = await input.native.linkGet(name);
    if (!link) {
      findings.push({ kind: 'device', text: `device ${name} is missing (flanneld creates it at start-up)` });
      continue;
    }
    findings.push(...(await deviceProblems(input, cfg, link, family)));
    findings.push(...(await entryProblems(input, cfg, link, family)));
  }
  return findings;
}

function families(input: CheckInput): Family[] {
  return [...(input.config.enableIPv4 ? [4 as const] : []), ...(input.config.enableIPv6 ? [6 as const] : [])];
}

/** Our address on the device: the subnet's network address as /32 (/128). */
function ownAddress(input: CheckInput, family: Family): string | null {
  if (family === 4) return formatIP4(input.own.subnet.ip);
  return input.own.ipv6Subnet ? formatIP6(input.own.ipv6Subnet.ip) : null;
}

async function deviceProblems(input: CheckInput, cfg: VxlanConfig, link: Link, family: Family): Promise<Finding[]> {
  const out: string[] = [];
  const name = link.name;
  if (link.kind !== 'vxlan') out.push(`${name} is of kind ${link.kind ?? '(none)'}, not vxlan`);
  else if (link.vxlan && link.vxlan.vni !== cfg.vni) out.push(`${name} has VNI ${link.vxlan.vni}, the config says ${cfg.vni}`);
  if (!link.up) out.push(`${name} is down`);
  const mtu = await expectedMtu(input, cfg, link, family);
  if (mtu !== null && link.mtu !== mtu) out.push(`${name} has MTU ${link.mtu}, expected ${mtu}`);
  const data = decodeLeaseData(family === 4 ? input.own.attrs.backendData : input.own.attrs.backendV6Data);
  if (typeof data === 'string') out.push(`our lease ${input.own.subnet}: ${data}`);
  else if (link.mac !== data.vtepMac) out.push(`${name} has MAC ${link.mac ?? '(none)'}, our lease says VtepMAC ${data.vtepMac}`);
  const addr = ownAddress(input, family);
  const addrs = await input.native.addrList({ ifindex: link.index, family });
  const prefixLen = family === 4 ? 32 : 128;
  if (addr && !addrs.some((a) => a.address === addr && a.prefixLen === prefixLen)) out.push(`${name} lacks address ${addr}/${prefixLen}`);
  return out.map((text) => ({ kind: 'device', text }));
}

/** (Backend.MTU or the underlay's MTU) minus the encapsulation overhead; null when the underlay is unknown. */
async function expectedMtu(input: CheckInput, cfg: VxlanConfig, link: Link, family: Family): Promise<number | null> {
  if (cfg.mtu) return cfg.mtu - OVERHEAD[family];
  const underlay = link.vxlan?.link ? (await input.native.linkList()).find((l) => l.index === link.vxlan?.link) : undefined;
  return underlay ? underlay.mtu - OVERHEAD[family] : null;
}

function scopeOf(input: CheckInput, cfg: VxlanConfig, link: Link, family: Family): OwnedScope {
  const { config, own } = input;
  const net = family === 4 ? config.network : config.ipv6Network;
  return {
    family,
    ifindex: link.index,
    networkPrefixLen: net?.prefixLen ?? 0,
    subnetLen: family === 4 ? config.subnetLen : config.ipv6SubnetLen,
    ownSubnet: family === 4 ? own.subnet.toString() : (own.ipv6Subnet?.toString() ?? ''),
    directRouting: cfg.directRouting,
    inNetwork: (ip) => {
      if (!net || ip.includes(':') !== (family === 6)) return false;
      return net instanceof IP4Net ? net.contains(parseIP4(ip)) : net.contains(parseIP6(ip));
    },
  };
}

async function entryProblems(input: CheckInput, cfg: VxlanConfig, link: Link, family: Family): Promise<Finding[]> {
  const wanted = await wantedEntries(input.native, input.leases, input.own, [{ family, ifindex: link.index }], cfg.directRouting);
  const kernel = await readKernel(input.native, link.index, family);
  const scope = scopeOf(input, cfg, link, family);
  const diff = diffEntries(wanted.entries.map((w) => w.entry), kernel, scope);
  const have = new Map(ownedEntries(kernel, scope).map((e) => [entryKey(e), e]));
  const out: Finding[] = wanted.ignored.map(({ lease, why }) => ({ kind: 'note', text: `lease ${lease.subnet} is ignored by the vxlan backend: ${why}` }));
  for (const e of diff.missing) out.push({ kind: 'missing', text: missingText(e, link.name, wanted.entries, have.get(entryKey(e))) });
  for (const e of diff.stale) out.push({ kind: 'stale', text: `${describeEntry(e, link.name)} (no lease wants it)` });
  return out;
}

function missingText(e: Entry, dev: string, wanted: readonly WantedEntry[], had: Entry | undefined): string {
  const owner = wanted.find((w) => w.entry === e);
  const ref = owner ? ` ${leaseRef(owner.lease)}` : '';
  const instead = had ? `; the kernel has ${describeEntry(had, dev)} instead` : '';
  return `${describeEntry(e, dev)}${ref}${instead}`;
}
