// subnet.env as the flannel CNI plugin reads it (fact sheet §8): FLANNEL_NETWORK and
// FLANNEL_IPV6_NETWORK may be comma lists (deduplicated), the subnets are masked to their network,
// FLANNEL_IPMASQ is true only when literally "true", unknown keys are ignored. The file is flanneld's
// (§4); a missing one means flanneld has not started on this node yet, which is worth a retry.
import { readFileSync } from 'node:fs';
import { parseEnvFile } from '../flanneld/subnet-env.js';
import { IP4Net, IP6Net } from '../common/ip.js';
import { CniCode, CniError } from './errors.js';

export interface FlannelSubnetEnv {
  networks: IP4Net[];
  /** FLANNEL_SUBNET masked: 10.244.1.1/24 gives 10.244.1.0/24. */
  subnet: IP4Net | null;
  ipv6Networks: IP6Net[];
  ipv6Subnet: IP6Net | null;
  mtu: number;
  ipMasq: boolean;
}

const LOAD_FAILED = "failed to load flannel 'subnet.env' file";

/** Reads and parses the file; code 11 when it does not exist, 5 when it cannot be read. */
export function loadSubnetEnv(path: string): FlannelSubnetEnv {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') {
      throw new CniError(
        CniCode.TryAgainLater,
        `${LOAD_FAILED}: ${path} is missing. Check that flanneld is running on this node (the flannel pod log for this node).`,
        `open ${path}: no such file or directory`,
      );
    }
    throw new CniError(CniCode.IOFailure, `${LOAD_FAILED}: cannot read ${path}`, err.message);
  }
  return parseSubnetEnv(text, path);
}

/** Parses the text of `path`; code 7 naming the key and value that is wrong, or every key missing. */
export function parseSubnetEnv(text: string, path: string): FlannelSubnetEnv {
  const env = parseEnvFile(text);
  const bad = (key: string, expected: string): never => {
    throw new CniError(CniCode.InvalidNetworkConfig, `${LOAD_FAILED}: ${key}="${env.get(key)}" in ${path} is not ${expected}`);
  };
  const list = <T extends IP4Net | IP6Net>(key: string, parse: (s: string) => T, what: string): T[] => {
    const out: T[] = [];
    if (!env.has(key)) return out;
    for (const item of env.get(key)!.split(',')) {
      const n = tryParse(item, parse) ?? bad(key, what);
      if (!out.some((o) => o.toString() === n.toString())) out.push(n);
    }
    return out;
  };
  const one = <T>(key: string, parse: (s: string) => T, what: string): T | null =>
    env.has(key) ? (tryParse(env.get(key)!, parse) ?? bad(key, what)) : null;
  const se: Partial<FlannelSubnetEnv> = {
    networks: list('FLANNEL_NETWORK', IP4Net.parse, 'a list of IPv4 CIDRs'),
    subnet: one('FLANNEL_SUBNET', IP4Net.parse, 'an IPv4 CIDR'),
    ipv6Networks: list('FLANNEL_IPV6_NETWORK', IP6Net.parse, 'a list of IPv6 CIDRs'),
    ipv6Subnet: one('FLANNEL_IPV6_SUBNET', IP6Net.parse, 'an IPv6 CIDR'),
  };
  const mtu = one('FLANNEL_MTU', parseUint32, 'an unsigned integer');
  const ipMasq = env.has('FLANNEL_IPMASQ') ? env.get('FLANNEL_IPMASQ') === 'true' : null;
  const missing = missingKeys(se, mtu, ipMasq);
  if (missing.length > 0) throw new CniError(CniCode.InvalidNetworkConfig, `${path} is missing ${missing.join(', ')}`);
  return { ...(se as Required<typeof se>), mtu: mtu!, ipMasq: ipMasq! };
}

/** The reference's rule: one network and one subnet of either family, the MTU and the masquerade flag. */
function missingKeys(se: Partial<FlannelSubnetEnv>, mtu: number | null, ipMasq: boolean | null): string[] {
  const m: string[] = [];
  if (se.networks!.length === 0 && se.ipv6Networks!.length === 0) m.push('FLANNEL_NETWORK', 'FLANNEL_IPV6_NETWORK');
  if (!se.subnet && !se.ipv6Subnet) m.push('FLANNEL_SUBNET', 'FLANNEL_IPV6_SUBNET');
  if (mtu === null) m.push('FLANNEL_MTU');
  if (ipMasq === null) m.push('FLANNEL_IPMASQ');
  return m;
}

function tryParse<T>(text: string, parse: (s: string) => T): T | null {
  try {
    return parse(text);
  } catch {
    return null;
  }
}

function parseUint32(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 0xffffffff) throw new Error(`not a uint32: ${text}`);
  return n;
}
