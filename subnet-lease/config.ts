// The network config (`<prefix>/config` in etcd, net-conf.json in kube mode): parsing with Go's
// case-insensitive key matching, and the reference's CheckNetworkConfig defaults and messages.
// Every error names the field and the value, with the reference's wording kept inside it.
import { getField } from '../common/json.js';
import { IP4Net, IP6Net, IPParseError, formatIP4, formatIP6, parseIP4, parseIP6 } from '../common/ip.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface NetworkConfig {
  enableIPv4: boolean;
  enableIPv6: boolean;
  enableNFTables: boolean;
  network: IP4Net | null;
  subnetLen: number;
  subnetMin: number;
  subnetMax: number;
  ipv6Network: IP6Net | null;
  ipv6SubnetLen: number;
  ipv6SubnetMin: bigint;
  ipv6SubnetMax: bigint;
  /** Lower-cased backend type; "vxlan" when the config has no Backend (see `backendDefaulted`). */
  backendType: string;
  /** True when `Backend` was missing or empty and vxlan was chosen for it. */
  backendDefaulted: boolean;
  /** The Backend object as given, for the backend alone to decode. */
  backend: Record<string, unknown>;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

function bool(obj: Json, field: string, dflt: boolean): boolean {
  const v = getField(obj, field);
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new ConfigError(`${field} must be true or false, got ${show(v)}`, field);
  return v;
}

function uint(obj: Json, field: string): number {
  const v = getField(obj, field);
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new ConfigError(`${field} must be a non-negative integer, got ${show(v)}`, field);
  }
  return v;
}

function parsed<T>(obj: Json, field: string, parse: (s: string) => T, what: string): T | null {
  const v = getField(obj, field);
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw new ConfigError(`${field} must be ${what} string, got ${show(v)}`, field);
  try {
    return parse(v);
  } catch (e) {
    if (e instanceof IPParseError) throw new ConfigError(`${field} ${show(v)} is not ${what}: ${e.message}`, field);
    throw e;
  }
}

function parseV4Network(s: string): IP4Net {
  if (s.includes(':')) throw new IPParseError('invalid IPv4 CIDR format');
  return IP4Net.parse(s);
}

/**
 * Parses the config JSON text. Throws ConfigError for text that is not a JSON object or a field of the
 * wrong shape; does not apply defaults (see checkNetworkConfig).
 */
export function parseNetworkConfig(text: string): NetworkConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`network config is not valid JSON (${(e as Error).message}): ${text.slice(0, 200)}`);
  }
  if (!isObject(raw)) throw new ConfigError(`network config must be a JSON object, got ${show(raw)}`);
  const { backendType, backendDefaulted, backend } = parseBackend(getField(raw, 'Backend'));
  return {
    enableIPv4: bool(raw, 'EnableIPv4', true),
    enableIPv6: bool(raw, 'EnableIPv6', false),
    enableNFTables: bool(raw, 'EnableNFTables', false),
    network: parsed(raw, 'Network', parseV4Network, 'an IPv4 CIDR'),
    subnetLen: uint(raw, 'SubnetLen'),
    subnetMin: parsed(raw, 'SubnetMin', parseIP4, 'an IPv4 address') ?? 0,
    subnetMax: parsed(raw, 'SubnetMax', parseIP4, 'an IPv4 address') ?? 0,
    ipv6Network: parsed(raw, 'IPv6Network', IP6Net.parse, 'an IPv6 CIDR'),
    ipv6SubnetLen: uint(raw, 'IPv6SubnetLen'),
    ipv6SubnetMin: parsed(raw, 'IPv6SubnetMin', parseIP6, 'an IPv6 address') ?? 0n,
    ipv6SubnetMax: parsed(raw, 'IPv6SubnetMax', parseIP6, 'an IPv6 address') ?? 0n,
    backendType,
    backendDefaulted,
    backend,
  };
}

function parseBackend(v: unknown): Pick<NetworkConfig, 'backendType' | 'backendDefaulted' | 'backend'> {
  // The reference documents vxlan as the default (its code says udp); we follow the documentation.
  if (v === undefined || v === null || (isObject(v) && Object.keys(v).length === 0)) {
    return { backendType: 'vxlan', backendDefaulted: true, backend: {} };
  }
  if (!isObject(v)) throw new ConfigError(`error decoding Backend property of config: got ${show(v)}`, 'Backend');
  const type = getField(v, 'Type');
  if (type === undefined || type === null || type === '') {
    throw new ConfigError(`unknown backend type: Backend has no "Type" (got ${show(v)}); set e.g. {"Type":"vxlan"}`, 'Backend.Type');
  }
  if (typeof type !== 'string') throw new ConfigError(`Backend.Type must be a string, got ${show(type)}`, 'Backend.Type');
  return { backendType: type.toLowerCase(), backendDefaulted: false, backend: v };
}

/**
 * The reference's CheckNetworkConfig: fills in SubnetLen/Min/Max (and the IPv6 ones) in place and
 * throws ConfigError with the reference's message plus the offending field and value.
 */
export function checkNetworkConfig(cfg: NetworkConfig): NetworkConfig {
  if (!cfg.enableIPv4 && !cfg.enableIPv6) {
    // The reference exits 1 at start-up for this too; say which fields turn every family off.
    throw new ConfigError('EnableIPv4 and EnableIPv6 are both false: at least one address family must be enabled (EnableIPv4=false, EnableIPv6=false)', 'EnableIPv4');
  }
  if (cfg.enableIPv4) checkV4(cfg);
  if (cfg.enableIPv6) checkV6(cfg);
  return cfg;
}

function checkV4(cfg: NetworkConfig): void {
  const net = cfg.network;
  if (!net) throw new ConfigError('please define a correct Network parameter in the flannel config', 'Network');
  if (cfg.subnetLen > 0) {
    if (cfg.subnetLen > 30) throw new ConfigError(`SubnetLen must be less than /31 (SubnetLen=${cfg.subnetLen})`, 'SubnetLen');
    if (cfg.subnetLen < net.prefixLen + 2) {
      throw new ConfigError(
        `network must be able to accommodate at least four subnets (SubnetLen=${cfg.subnetLen}, Network=${net})`,
        'SubnetLen',
      );
    }
  } else if (net.prefixLen > 28) {
    throw new ConfigError(`network is too small. Minimum useful network prefix is /28 (Network=${net})`, 'Network');
  } else {
    cfg.subnetLen = net.prefixLen <= 22 ? 24 : net.prefixLen + 2;
  }
  const size = 2 ** (32 - cfg.subnetLen);
  if (cfg.subnetMin === 0) cfg.subnetMin = net.ip + size;
  else if (!net.contains(cfg.subnetMin)) {
    throw new ConfigError(`SubnetMin is not in the range of the Network (SubnetMin=${formatIP4(cfg.subnetMin)}, Network=${net})`, 'SubnetMin');
  }
  if (cfg.subnetMax === 0) cfg.subnetMax = net.end - size;
  else if (!net.contains(cfg.subnetMax)) {
    throw new ConfigError(`SubnetMax is not in the range of the Network (SubnetMax=${formatIP4(cfg.subnetMax)}, Network=${net})`, 'SubnetMax');
  }
  for (const [field, v] of [['SubnetMin', cfg.subnetMin], ['SubnetMax', cfg.subnetMax]] as const) {
    if (v % size !== 0) throw new ConfigError(`${field} is not on a SubnetLen boundary: ${formatIP4(v)} (SubnetLen=${cfg.subnetLen})`, field);
  }
  if (cfg.subnetMin > cfg.subnetMax) {
    throw new ConfigError(`SubnetMin is greater than SubnetMax (SubnetMin=${formatIP4(cfg.subnetMin)}, SubnetMax=${formatIP4(cfg.subnetMax)})`, 'SubnetMin');
  }
}

function checkV6(cfg: NetworkConfig): void {
  const net = cfg.ipv6Network;
  if (!net) throw new ConfigError('please define a correct IPv6Network parameter in the flannel config', 'IPv6Network');
  if (cfg.ipv6SubnetLen > 0) {
    if (cfg.ipv6SubnetLen > 126) {
      throw new ConfigError(`SubnetLen must be less than /127 (IPv6SubnetLen=${cfg.ipv6SubnetLen})`, 'IPv6SubnetLen');
    }
    if (cfg.ipv6SubnetLen < net.prefixLen + 2) {
      throw new ConfigError(
        `network must be able to accommodate at least four subnets (IPv6SubnetLen=${cfg.ipv6SubnetLen}, IPv6Network=${net})`,
        'IPv6SubnetLen',
      );
    }
  } else if (net.prefixLen > 124) {
    throw new ConfigError(`IPv6Network is too small. Minimum useful network prefix is /124 (IPv6Network=${net})`, 'IPv6Network');
  } else {
    cfg.ipv6SubnetLen = net.prefixLen <= 62 ? 64 : net.prefixLen + 2;
  }
  const size = 1n << BigInt(128 - cfg.ipv6SubnetLen);
  if (cfg.ipv6SubnetMin === 0n) cfg.ipv6SubnetMin = net.ip + size;
  else if (!net.contains(cfg.ipv6SubnetMin)) {
    throw new ConfigError(
      `IPv6SubnetMin is not in the range of the IPv6Network (IPv6SubnetMin=${formatIP6(cfg.ipv6SubnetMin)}, IPv6Network=${net})`,
      'IPv6SubnetMin',
    );
  }
  if (cfg.ipv6SubnetMax === 0n) cfg.ipv6SubnetMax = net.end - size;
  else if (!net.contains(cfg.ipv6SubnetMax)) {
    throw new ConfigError(
      `IPv6SubnetMax is not in the range of the IPv6Network (IPv6SubnetMax=${formatIP6(cfg.ipv6SubnetMax)}, IPv6Network=${net})`,
      'IPv6SubnetMax',
    );
  }
  for (const [field, v] of [['IPv6SubnetMin', cfg.ipv6SubnetMin], ['IPv6SubnetMax', cfg.ipv6SubnetMax]] as const) {
    if (v % size !== 0n) {
      throw new ConfigError(`${field} is not on a SubnetLen boundary: ${formatIP6(v)} (IPv6SubnetLen=${cfg.ipv6SubnetLen})`, field);
    }
  }
  if (cfg.ipv6SubnetMin > cfg.ipv6SubnetMax) {
    throw new ConfigError(
      `IPv6SubnetMin is greater than IPv6SubnetMax (IPv6SubnetMin=${formatIP6(cfg.ipv6SubnetMin)}, IPv6SubnetMax=${formatIP6(cfg.ipv6SubnetMax)})`,
      'IPv6SubnetMin',
    );
  }
}
