// Nodes as the kube lease store sees them: a validator from what the API returned (`unknown`) to the
// few fields it reads, the node's pod CIDRs, and the node → lease rule of the reference (fact sheet §6).
import { IP4Net, IP6Net, IPParseError, parseIP4, parseIP6 } from '../../common/ip.js';
import { NO_IPV4, type Lease, type LeaseAttrs } from '../lease.js';
import type { KubeAnnotations } from './annotations.js';

export interface NodeInfo {
  readonly name: string;
  readonly resourceVersion: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly podCIDR: string;
  readonly podCIDRs: readonly string[];
  /** metadata.creationTimestamp: the lease's age for the acceptance rule's "older wins". */
  readonly createdAt?: Date;
}

export class NodeParseError extends Error {
  override readonly name = 'NodeParseError';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringField(obj: Record<string, unknown>, field: string, where: string): string {
  const v = obj[field];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new NodeParseError(`${where}.${field} must be a string, got ${JSON.stringify(v)}`);
  return v;
}

/** The API's RFC 3339 creationTimestamp (a Date is taken as it is); anything unreadable is left out. */
function createdAt(v: unknown): { createdAt?: Date } {
  const d = v instanceof Date ? v : typeof v === 'string' ? new Date(v) : null;
  return d && !Number.isNaN(d.getTime()) ? { createdAt: d } : {};
}

/** Reads a Node object (JSON as the API returned it, or slimNode of it); NodeParseError names the bad field. */
export function parseNode(raw: unknown): NodeInfo {
  if (!isObject(raw)) throw new NodeParseError(`node is not an object: ${JSON.stringify(raw)}`);
  const meta = isObject(raw.metadata) ? raw.metadata : {};
  const spec = isObject(raw.spec) ? raw.spec : {};
  const name = stringField(meta, 'name', 'metadata');
  if (!name) throw new NodeParseError('node has no metadata.name');
  const annotations: Record<string, string> = {};
  if (meta.annotations !== undefined && meta.annotations !== null) {
    if (!isObject(meta.annotations)) throw new NodeParseError(`node "${name}": metadata.annotations must be an object`);
    for (const [k, v] of Object.entries(meta.annotations)) {
      if (typeof v !== 'string') throw new NodeParseError(`node "${name}": annotation ${k} must be a string, got ${JSON.stringify(v)}`);
      annotations[k] = v;
    }
  }
  const cidrs = spec.podCIDRs ?? [];
  if (!Array.isArray(cidrs) || cidrs.some((c) => typeof c !== 'string')) {
    throw new NodeParseError(`node "${name}": spec.podCIDRs must be a list of strings, got ${JSON.stringify(cidrs)}`);
  }
  return {
    name,
    resourceVersion: stringField(meta, 'resourceVersion', 'metadata'),
    annotations,
    podCIDR: stringField(spec, 'podCIDR', 'spec'),
    podCIDRs: cidrs as string[],
    ...createdAt(meta.creationTimestamp),
  };
}

export interface NodeSubnets {
  v4: IP4Net | null;
  v6: IP6Net | null;
}

/**
 * The node's pod subnets: the first IPv4 and the first IPv6 entry of spec.podCIDRs, or spec.podCIDR
 * when that list is empty. NodeParseError for an unparsable CIDR or more than two entries.
 */
export function nodeSubnets(node: NodeInfo): NodeSubnets {
  const list = node.podCIDRs.length > 0 ? node.podCIDRs : node.podCIDR ? [node.podCIDR] : [];
  if (list.length > 2) throw new NodeParseError(`node "${node.name}" pod cidrs should be IPv4/IPv6 only or dualstack`);
  const out: NodeSubnets = { v4: null, v6: null };
  for (const cidr of list) {
    try {
      if (cidr.includes(':')) out.v6 ??= IP6Net.parse(cidr);
      else out.v4 ??= IP4Net.parse(cidr);
    } catch (e) {
      if (e instanceof IPParseError) throw new NodeParseError(`node "${node.name}": pod CIDR ${JSON.stringify(cidr)}: ${e.message}`);
      throw e;
    }
  }
  return out;
}

export function isManaged(node: NodeInfo, keys: KubeAnnotations): boolean {
  return node.annotations[keys.subnetKubeManaged] === 'true';
}

export interface Families {
  enableIPv4: boolean;
  enableIPv6: boolean;
}

/** The lease another node advertises (reference nodeToLease); NodeParseError says why there is none. */
export function nodeToLease(node: NodeInfo, keys: KubeAnnotations, families: Families): Lease {
  const subnets = nodeSubnets(node);
  const ann = node.annotations;
  const attrs: LeaseAttrs = { publicIP: 0, publicIPv6: null };
  if (families.enableIPv4) {
    if (!subnets.v4) throw new NodeParseError(`node "${node.name}" has no IPv4 pod CIDR`);
    attrs.publicIP = parseAddress(node, keys.publicIP, parseIP4);
    const data = parseJSONAnnotation(node, keys.backendData);
    if (data !== undefined) attrs.backendData = data;
  }
  if (families.enableIPv6) {
    if (!subnets.v6) throw new NodeParseError(`node "${node.name}" has no IPv6 pod CIDR`);
    attrs.publicIPv6 = parseAddress(node, keys.publicIPv6, parseIP6);
    const data = parseJSONAnnotation(node, keys.backendV6Data);
    if (data !== undefined) attrs.backendV6Data = data;
  }
  const type = ann[keys.backendType];
  if (type) attrs.backendType = type;
  // IPv6-only: the reference's zero IPv4 subnet (0.0.0.0/0), whatever IPv4 pod CIDR the node may have.
  const lease: Lease = { subnet: families.enableIPv4 ? subnets.v4! : NO_IPV4, ipv6Subnet: families.enableIPv6 ? subnets.v6 : null, attrs, reservation: false };
  if (node.createdAt) lease.createdAt = node.createdAt;
  return lease;
}

function parseAddress<T>(node: NodeInfo, key: string, parse: (s: string) => T): T {
  const text = node.annotations[key] ?? '';
  try {
    return parse(text);
  } catch (e) {
    if (e instanceof IPParseError) throw new NodeParseError(`node "${node.name}": annotation ${key}=${JSON.stringify(text)}: ${e.message}`);
    throw e;
  }
}

/** The annotation's JSON value; undefined when absent, empty or JSON null. */
function parseJSONAnnotation(node: NodeInfo, key: string): unknown {
  const text = node.annotations[key];
  if (!text) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new NodeParseError(`node "${node.name}": annotation ${key} is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  return v === null ? undefined : v;
}
