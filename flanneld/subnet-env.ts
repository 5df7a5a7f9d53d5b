// subnet.env: written once the lease is known (read by the CNI plugin and by the next flanneld start).
// Lines, order and formats are the reference's; the write is atomic (temp file, fsync, rename) with
// mode 0644 whatever the umask.
import { open, mkdir, rename, readFile, unlink } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { IP4Net, IP6Net, formatIP4, formatIP6 } from '../common/ip.js';
import type { NetworkConfig } from '../subnet-lease/config.js';
import type { Lease } from '../subnet-lease/lease.js';

export interface SubnetEnv {
  network: IP4Net | null;
  subnet: IP4Net | null;
  ipv6Network: IP6Net | null;
  ipv6Subnet: IP6Net | null;
  mtu: number;
  ipMasq: boolean;
}

/**
 * What flanneld writes for `lease` under `config`: the lines of each enabled family only. IPv6-only
 * (EnableIPv4 false) therefore has no FLANNEL_NETWORK/FLANNEL_SUBNET, even with a leftover `Network`.
 */
export function subnetEnvOf(config: NetworkConfig, lease: Pick<Lease, 'subnet' | 'ipv6Subnet'>, mtu: number, ipMasq: boolean): SubnetEnv {
  return {
    network: config.enableIPv4 ? config.network : null,
    subnet: config.enableIPv4 ? lease.subnet : null,
    ipv6Network: config.enableIPv6 ? config.ipv6Network : null,
    ipv6Subnet: config.enableIPv6 ? lease.ipv6Subnet : null,
    mtu,
    ipMasq,
  };
}

/** The file content, e.g. FLANNEL_SUBNET=10.244.1.1/24 (the first usable address, not the network). */
export function renderSubnetEnv(env: SubnetEnv): string {
  const lines: string[] = [];
  if (env.network && env.subnet) {
    lines.push(`FLANNEL_NETWORK=${env.network}`);
    lines.push(`FLANNEL_SUBNET=${formatIP4(env.subnet.ip + 1)}/${env.subnet.prefixLen}`);
  }
  if (env.ipv6Network && env.ipv6Subnet) {
    lines.push(`FLANNEL_IPV6_NETWORK=${env.ipv6Network}`);
    lines.push(`FLANNEL_IPV6_SUBNET=${formatIP6(env.ipv6Subnet.ip + 1n)}/${env.ipv6Subnet.prefixLen}`);
  }
  lines.push(`FLANNEL_MTU=${env.mtu}`);
  lines.push(`FLANNEL_IPMASQ=${env.ipMasq}`);
  return lines.map((l) => `${l}\n`).join('');
}

/** Writes the file atomically; creates the directory (0755) when missing. Safe to call again. */
export async function writeSubnetEnv(path: string, env: SubnetEnv): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(renderSubnetEnv(env));
    await fh.chmod(0o644); // open()'s mode is filtered by the umask; the reference's is not
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/**
 * Parses a dotenv-style file (KEY=value, `#` comments, optional quotes and `export`), as godotenv does
 * for the keys we use. Unknown keys are kept.
 */
export function parseEnvFile(text: string, onBadLine?: (lineNo: number, line: string) => void): Map<string, string> {
  const out = new Map<string, string>();
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*[=:]\s*(.*)$/.exec(line);
    if (!m) {
      onBadLine?.(i + 1, line);
      continue;
    }
    let value = m[2]!;
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2]!;
    else value = value.replace(/\s+#.*$/, '').trim();
    out.set(m[1]!, value);
  }
  return out;
}

export interface PreviousSubnets {
  subnet: IP4Net | null;
  ipv6Subnet: IP6Net | null;
  network: IP4Net | null;
  ipv6Network: IP6Net | null;
  /** Problems found (a value that is not a CIDR, several values in one key); each made that key empty. */
  warnings: string[];
}

/** Reads the previous run's subnets; a missing file yields nulls. Invalid values are skipped with a warning. */
export async function readPreviousSubnets(path: string): Promise<PreviousSubnets> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      return { subnet: null, ipv6Subnet: null, network: null, ipv6Network: null, warnings: [] };
    }
    throw e;
  }
  const warnings: string[] = [];
  const env = parseEnvFile(text, (n, line) => warnings.push(`${path}: line ${n} is not KEY=VALUE (${JSON.stringify(line.slice(0, 80))}); ignoring it`));
  const cidr = <T>(key: string, parse: (s: string) => T): T | null => {
    const v = env.get(key);
    if (!v) return null;
    if (v.includes(',')) {
      warnings.push(`${path}: ${key}=${v} holds several values; ignoring it`);
      return null;
    }
    try {
      return parse(v);
    } catch {
      warnings.push(`${path}: ${key}=${v} is not a valid CIDR; ignoring it`);
      return null;
    }
  };
  return {
    subnet: cidr('FLANNEL_SUBNET', IP4Net.parse),
    ipv6Subnet: cidr('FLANNEL_IPV6_SUBNET', IP6Net.parse),
    network: cidr('FLANNEL_NETWORK', IP4Net.parse),
    ipv6Network: cidr('FLANNEL_IPV6_NETWORK', IP6Net.parse),
    warnings,
  };
}
