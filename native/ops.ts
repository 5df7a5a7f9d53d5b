// Validation and normalisation of the writes a batch may carry, shared by the kernel binding and the
// fake so that both reject the same arguments with the same NativeArgumentError.
import { bytesToIP, canonicalIP, formatIP4, ipToBytes, mask4, maskBytes, parseIP4 } from '../common/ip.js';
import { NativeArgumentError } from './errors.js';
import type { Family, FdbSpec, NeighSpec, Op, RouteSpec, RouteType } from './types.js';
import { RT_TABLE_MAIN } from './types.js';
import { checkCIDR, checkIP, checkIndex, checkInt, checkMAC } from './validate.js';

export interface NRoute {
  family: Family;
  /** Masked network address and prefix length. */
  dst: string;
  dstLen: number;
  gateway: string | null;
  ifindex: number;
  onlink: boolean;
  /** null: the default (universe) for replace, any for delete. */
  scope: number | null;
  table: number;
  metric: number | null;
  /** null: unicast for replace, any type for delete. */
  type: RouteType | null;
  /** null: RTPROT_BOOT for replace, any protocol for delete. */
  protocol: number | null;
}

export interface NNeigh {
  family: Family;
  ifindex: number;
  ip: string;
  mac: string | null;
}

export interface NFdb {
  ifindex: number;
  mac: string;
  dst: string | null;
}

export type NOp =
  | { kind: 'route'; del: boolean; route: NRoute }
  | { kind: 'neigh'; del: boolean; neigh: NNeigh }
  | { kind: 'fdb'; del: boolean; fdb: NFdb };

export function normalizeRoute(ctx: string, r: RouteSpec, del: boolean): NRoute {
  if (typeof r !== 'object' || r === null) throw new NativeArgumentError(ctx, 'route must be an object');
  const { family, ip, prefixLen } = checkCIDR(ctx, 'dst', r.dst);
  const masked = family === 4 ? formatIP4((parseIP4(ip) & mask4(prefixLen)) >>> 0) : bytesToIP(maskBytes(ipToBytes(ip), prefixLen));
  if (masked !== canonicalIP(ip)) {
    throw new NativeArgumentError(ctx, `dst ${r.dst} has host bits set (the network is ${masked}/${prefixLen})`);
  }
  let gateway: string | null = null;
  if (r.gateway !== undefined) {
    if (checkIP(ctx, 'gateway', r.gateway) !== family) throw new NativeArgumentError(ctx, `gateway ${r.gateway} is not of the family of ${r.dst}`);
    gateway = canonicalIP(r.gateway);
  }
  const ifindex = r.ifindex === undefined ? 0 : checkIndex(ctx, r.ifindex);
  const onlink = r.onlink === true;
  if (r.type !== undefined && r.type !== 'unicast' && r.type !== 'blackhole') {
    throw new NativeArgumentError(ctx, `type must be "unicast" or "blackhole", got ${JSON.stringify(r.type)}`);
  }
  const type = r.type ?? null;
  if (type === 'blackhole') {
    if (gateway || ifindex || onlink) throw new NativeArgumentError(ctx, 'a blackhole route has no gateway, ifindex or onlink');
  } else {
    if (onlink && (!ifindex || !gateway)) throw new NativeArgumentError(ctx, 'onlink needs both a gateway and an ifindex');
    if (!del && !gateway && !ifindex) throw new NativeArgumentError(ctx, 'a route needs a gateway or an ifindex');
  }
  return {
    family,
    dst: masked,
    dstLen: prefixLen,
    gateway,
    ifindex,
    onlink,
    scope: r.scope === undefined ? null : checkInt(ctx, 'scope', r.scope, 0, 255),
    table: r.table === undefined ? RT_TABLE_MAIN : checkInt(ctx, 'table', r.table, 1, 0xffffffff),
    metric: r.metric === undefined ? null : checkInt(ctx, 'metric', r.metric, 0, 0xffffffff),
    type,
    protocol: r.protocol === undefined ? null : checkInt(ctx, 'protocol', r.protocol, 0, 255),
  };
}

export function normalizeNeigh(ctx: string, n: NeighSpec, del: boolean): NNeigh {
  if (typeof n !== 'object' || n === null) throw new NativeArgumentError(ctx, 'neighbour must be an object');
  const family = checkIP(ctx, 'ip', n.ip);
  const mac = del ? null : checkMAC(ctx, 'mac', n.mac);
  return { family, ifindex: checkIndex(ctx, n.ifindex), ip: canonicalIP(n.ip), mac };
}

export function normalizeFdb(ctx: string, f: FdbSpec): NFdb {
  if (typeof f !== 'object' || f === null) throw new NativeArgumentError(ctx, 'FDB entry must be an object');
  const dst = f.dst === undefined ? null : (checkIP(ctx, 'dst', f.dst), canonicalIP(f.dst));
  return { ifindex: checkIndex(ctx, f.ifindex), mac: checkMAC(ctx, 'mac', f.mac), dst };
}

export function normalizeOp(op: Op): NOp {
  const ctx = `native ${op?.op ?? 'op'}`;
  switch (op?.op) {
    case 'route.replace':
    case 'route.delete':
      return { kind: 'route', del: op.op === 'route.delete', route: normalizeRoute(ctx, op.route, op.op === 'route.delete') };
    case 'neigh.replace':
    case 'neigh.delete':
      return { kind: 'neigh', del: op.op === 'neigh.delete', neigh: normalizeNeigh(ctx, op.neigh, op.op === 'neigh.delete') };
    case 'fdb.replace':
    case 'fdb.delete':
      return { kind: 'fdb', del: op.op === 'fdb.delete', fdb: normalizeFdb(ctx, op.fdb) };
    default:
      throw new NativeArgumentError('native apply', `unknown op ${JSON.stringify((op as { op?: unknown })?.op)}`);
  }
}

/** Human-readable form of an op for error messages, in `ip`/`bridge` words. */
export function describeOp(op: NOp): string {
  const verb = op.del ? 'delete' : 'replace';
  if (op.kind === 'route') {
    const r = op.route;
    const via = r.gateway ? ` via ${r.gateway}` : '';
    const dev = r.ifindex ? ` dev #${r.ifindex}` : '';
    const type = r.type === 'blackhole' ? 'blackhole ' : '';
    const metric = r.metric !== null ? ` metric ${r.metric}` : '';
    const proto = r.protocol ? ` proto ${r.protocol}` : '';
    return `route ${verb} ${type}${r.dst}/${r.dstLen}${via}${dev}${r.onlink ? ' onlink' : ''}${metric}${proto}`;
  }
  if (op.kind === 'neigh') {
    const n = op.neigh;
    return `neigh ${verb} ${n.ip}${n.mac ? ` lladdr ${n.mac}` : ''} dev #${n.ifindex}`;
  }
  const f = op.fdb;
  return `fdb ${verb} ${f.mac} dev #${f.ifindex}${f.dst ? ` dst ${f.dst}` : ''} self`;
}
