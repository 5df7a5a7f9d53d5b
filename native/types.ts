// The plain data that crosses the native boundary, and the `Native` interface itself: the one typed
// way into the kernel's routing tables, links, neighbours and FDB. Addresses are text ("10.244.1.0",
// "fd00::1"), networks are CIDR text ("10.244.1.0/24"), MACs are lower-case "aa:bb:cc:dd:ee:ff".
// Implemented by the kernel binding (kernel.ts, rtnetlink through the C++ addon) and by the in-memory
// fake (fake.ts); one contract suite (test/native) holds both to the same behaviour.
import type { NativeError } from './errors.js';

export type Family = 4 | 6;

export interface VxlanAttrs {
  vni: number;
  /** ifindex of the underlay device (IFLA_VXLAN_LINK); 0 when unset. */
  link: number;
  /** Source address (IFLA_VXLAN_LOCAL / LOCAL6); null when unset. */
  local: string | null;
  /** Multicast group or default remote; null when unset. */
  group: string | null;
  /** UDP destination port; the kernel reports its default, 8472, when none was given at creation. */
  port: number;
  ttl: number;
  tos: number;
  learning: boolean;
  proxy: boolean;
  rsc: boolean;
  l2miss: boolean;
  l3miss: boolean;
  gbp: boolean;
  udp6ZeroCsumTx: boolean;
  udp6ZeroCsumRx: boolean;
}

export interface Link {
  index: number;
  name: string;
  /** IFLA_INFO_KIND ("vxlan", "veth", "bridge", ...); null for links without one (lo, physical). */
  kind: string | null;
  mtu: number;
  mac: string | null;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Present for kind "vxlan". */
  vxlan?: VxlanAttrs;
}

/** What `linkAddVxlan` creates. Absent fields are not sent, so the kernel defaults apply. */
export interface VxlanLinkSpec {
  name: string;
  vni: number;
  mtu?: number;
  mac?: string;
  /** Underlay ifindex. */
  link?: number;
  local?: string;
  /** 0 or absent: not sent (kernel default 8472). */
  port?: number;
  learning: boolean;
  gbp: boolean;
}

export interface LinkChange {
  up?: boolean;
  mtu?: number;
  mac?: string;
}

export interface Addr {
  ifindex: number;
  family: Family;
  address: string;
  prefixLen: number;
  /** RT_SCOPE_* number: 0 global, 253 link, 254 host. */
  scope: number;
}

export interface AddrSpec {
  ifindex: number;
  address: string;
  prefixLen: number;
}

export const RT_TABLE_MAIN = 254;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const NUD_PERMANENT = 0x80;
export const RTN_UNICAST = 1;
export const RTN_BLACKHOLE = 6;

/** The route types a RouteSpec may ask for (RTN_UNICAST, RTN_BLACKHOLE). */
export type RouteType = 'unicast' | 'blackhole';

export interface Route {
  family: Family;
  /** Destination network, e.g. "10.244.2.0/24" ("0.0.0.0/0" for a default route). */
  dst: string;
  gateway: string | null;
  /** Output device; 0 when none (e.g. a multipath route). */
  ifindex: number;
  onlink: boolean;
  scope: number;
  table: number;
  protocol: number;
  /** RTN_* (1 unicast, 2 local, 6 blackhole, ...). */
  type: number;
  metric: number;
  prefsrc: string | null;
}

/**
 * A route to install. `replace` creates or overwrites the route with the same dst/table/metric
 * (whatever its type: a metric-0 blackhole replaces a connected route for the same dst);
 * `delete` removes the route matching every field that is given.
 */
export interface RouteSpec {
  dst: string;
  /**
   * Defaults to 'unicast' for replace; any type for delete. A 'blackhole' route has no gateway, no
   * ifindex and no onlink (the kernel drops what it matches); listed with `type` RTN_BLACKHOLE (6).
   */
  type?: RouteType;
  gateway?: string;
  ifindex?: number;
  onlink?: boolean;
  /** Defaults to RT_SCOPE_UNIVERSE for replace; any scope for delete. */
  scope?: number;
  /** Defaults to RT_TABLE_MAIN. */
  table?: number;
  metric?: number;
  /**
   * rtm_protocol (0..255): who made the route, shown by `ip route` as `proto N`. Defaults to
   * RTPROT_BOOT (3) for replace; for delete, 0 or absent matches any protocol, another value only that one.
   */
  protocol?: number;
}

export interface Neigh {
  ifindex: number;
  family: Family;
  ip: string;
  mac: string | null;
  /** NUD_* bits. */
  state: number;
  flags: number;
}

/** A permanent neighbour (ARP/NDP entry): `ip` → `mac` on `ifindex`. `mac` is ignored by delete. */
export interface NeighSpec {
  ifindex: number;
  ip: string;
  mac?: string;
}

export interface FdbEntry {
  ifindex: number;
  mac: string;
  /** Remote VTEP address for vxlan entries; null for plain bridge entries. */
  dst: string | null;
  /** NTF_SELF: the entry lives in the device's own table (vxlan), not in a bridge master's. */
  self: boolean;
  state: number;
  /** The VNI of the remote (NDA_VNI) when the kernel reports one. */
  vni: number | null;
}

/** `bridge fdb replace <mac> dev <ifindex> dst <dst> self permanent`; delete with or without dst. */
export interface FdbSpec {
  ifindex: number;
  mac: string;
  dst?: string;
}

/** One write in a batch. */
export type Op =
  | { op: 'route.replace'; route: RouteSpec }
  | { op: 'route.delete'; route: RouteSpec }
  | { op: 'neigh.replace'; neigh: NeighSpec }
  | { op: 'neigh.delete'; neigh: NeighSpec }
  | { op: 'fdb.replace'; fdb: FdbSpec }
  | { op: 'fdb.delete'; fdb: FdbSpec };

export type LinkEvent =
  | { type: 'deleted'; link: Link }
  | { type: 'changed'; link: Link }
  /** The kernel dropped notifications (socket overflow): the listener must re-read what it cares about. */
  | { type: 'overflow' };

/**
 * A neighbour, FDB or route notification (RTM_NEWNEIGH/DELNEIGH with AF_INET/AF_INET6 or AF_BRIDGE,
 * RTM_NEWROUTE/DELROUTE), whoever made the change, this process included. `overflow`: the kernel
 * dropped notifications; the listener must re-read what it cares about.
 */
export type EntryEvent =
  | { type: 'neigh'; deleted: boolean; neigh: Neigh }
  | { type: 'fdb'; deleted: boolean; fdb: FdbEntry }
  | { type: 'route'; deleted: boolean; route: Route }
  | { type: 'overflow' };

export interface Native {
  /** The link called `name`, or null when there is none. */
  linkGet(name: string): Promise<Link | null>;
  linkList(): Promise<Link[]>;
  /** Creates a vxlan link. Rejects with code EEXIST when a link with that name exists (nothing changes). */
  linkAddVxlan(spec: VxlanLinkSpec): Promise<Link>;
  /** Deletes the link; ENODEV when there is none. */
  linkDelete(index: number): Promise<void>;
  /** Sets any of up/MTU/MAC; setting a value the link already has is a no-op. ENODEV when missing. */
  linkSet(index: number, change: LinkChange): Promise<void>;

  addrList(filter?: { ifindex?: number; family?: Family }): Promise<Addr[]>;
  /** EEXIST when the address is already on the link. */
  addrAdd(addr: AddrSpec): Promise<void>;
  /** EADDRNOTAVAIL when the address is not on the link. */
  addrDelete(addr: AddrSpec): Promise<void>;

  /** Routes of the main table (or `table`), optionally only those out of `ifindex`. */
  routeList(filter?: { family?: Family; table?: number; ifindex?: number }): Promise<Route[]>;
  /** The route the kernel would use for `dst` (like `ip route get`). ENETUNREACH when there is none. */
  routeGet(dst: string): Promise<Route[]>;
  /**
   * `routeGet` for each of `dsts` in one batch: per destination its routes or its NativeError
   * (ENETUNREACH, EINVAL for a bad address). Rejects only when the channel to the kernel fails.
   */
  routeGetMany(dsts: readonly string[]): Promise<Array<Route[] | NativeError>>;
  neighList(filter?: { ifindex?: number; family?: Family }): Promise<Neigh[]>;
  fdbList(filter?: { ifindex?: number }): Promise<FdbEntry[]>;

  /**
   * Applies the writes in order, batching them into as few system calls as the kernel allows, and
   * returns one result per op: null for success, else the NativeError of that op alone. An op that
   * fails does not stop the ones after it. Rejects (without a per-op answer) only when the channel to
   * the kernel itself fails. Not cancellable once started: a batch is short.
   */
  apply(ops: readonly Op[]): Promise<Array<NativeError | null>>;
  /** One-op forms of `apply`; they reject with the op's NativeError. */
  routeReplace(route: RouteSpec): Promise<void>;
  /** ESRCH when no route matches. */
  routeDelete(route: RouteSpec): Promise<void>;
  neighReplace(neigh: NeighSpec): Promise<void>;
  /** ENOENT when there is no such neighbour. */
  neighDelete(neigh: NeighSpec): Promise<void>;
  fdbReplace(fdb: FdbSpec): Promise<void>;
  /** ENOENT when there is no such entry. */
  fdbDelete(fdb: FdbSpec): Promise<void>;

  /**
   * Calls `listener` for every link change and deletion in this namespace until the returned function
   * is called (calling that twice is harmless). Never keeps the process alive on its own.
   */
  watchLinks(listener: (event: LinkEvent) => void): () => void;
  /**
   * Calls `listener` for every neighbour, FDB entry and route (any table, both families) that is
   * added, changed or deleted in this namespace, until the returned function is called (twice is
   * harmless). Events arrive after the change, in kernel order; never keeps the process alive.
   * Notifications of this handle's own route and neighbour writes may be left out (the kernel binding
   * drops them: the kernel names their writer); changes made by anyone else always arrive.
   */
  watchEntries(listener: (event: EntryEvent) => void): () => void;
  /** Writes /proc/sys/<key> in this namespace (e.g. "net/ipv6/conf/flannel-v6.1/accept_ra"). */
  writeSysctl(key: string, value: string): Promise<void>;
  /**
   * The transmit checksum offload of device `ifname` (as `ethtool -k`'s tx-checksumming), after setting it
   * to `on` when given (as `ethtool -K <dev> tx on|off`; the kernel then also turns TSO off). ENODEV when
   * there is no such device.
   */
  txChecksumOffload(ifname: string, on?: boolean): Promise<boolean>;
  /** Releases the kernel sockets after in-flight calls finish. Safe to call twice; later calls reject with EBADF. */
  close(): Promise<void>;
}
