// The udp backend's packet loop (native/src/udp-*.cc), typed. The loop owns a TUN device and a UDP
// socket and moves packets between them on its own threads; JavaScript only sends commands (set
// route, delete route, stop) and reads counters. Arguments are checked here before they cross into
// C++. Addresses are dotted quads, subnets CIDR text.
import { loadAddon, type RawAddon } from './addon.js';
import { NativeArgumentError, NativeError, fromAddonError } from './errors.js';
import { checkCIDR, checkIP, checkInt, checkIfName } from './validate.js';
import { formatIP4, parseIP4 } from '../common/ip.js';

export interface UdpLoopSpec {
  /** Namespace name (in /run/netns) or path; default: the caller's own. */
  netns?: string;
  /** The TUN name to ask for; "flannel%d" lets the kernel number it (flannel0). */
  tunName: string;
  /** The address the UDP socket binds to (the interface address, as the reference). */
  bindAddress: string;
  port: number;
  /** The TUN's own address: the source of the ICMP "net unreachable" answers. */
  localAddress: string;
  /** TUN queues, one tx and one rx thread each (default 1). */
  queues?: number;
  /** TUN TSO + UDP GSO/GRO where the kernel allows (default true). */
  offload?: boolean;
  /** SO_RCVBUF/SO_SNDBUF in bytes (default 8 MiB). */
  socketBufferBytes?: number;
}

export interface UdpCounters {
  /** Inner packets (and their bytes) sent to peers: tun -> udp. */
  txPackets: number;
  txBytes: number;
  /** Inner packets (and their bytes) written into the TUN: udp -> tun. */
  rxPackets: number;
  rxBytes: number;
  drops: {
    /** tun -> udp: no lease covers the destination (an ICMP answer went back unless it was ICMP or a later fragment). */
    noRoute: number;
    /** udp -> tun: the datagram's source is not a peer's public IP. */
    unknownSource: number;
    /** udp -> tun: the inner packet's source is outside every subnet the sending peer leases. */
    sourceOutsideSubnet: number;
    /** The TTL would have reached 0. */
    ttl: number;
    /** Not a whole IPv4 packet. */
    malformed: number;
    sendError: number;
    tunWriteError: number;
  };
  icmpUnreachableSent: number;
  /** System calls, to show the batching. */
  syscalls: { tunReads: number; tunWrites: number; udpSends: number; udpRecvs: number };
}

/** What the kernel granted the loop. */
export interface UdpLoopFeatures {
  vnetHdr: boolean;
  tso: boolean;
  gso: boolean;
  gro: boolean;
  queues: number;
}

export interface UdpLoop {
  /** The TUN device's name, as the kernel gave it (e.g. "flannel0"). */
  readonly device: string;
  readonly features: UdpLoopFeatures;
  /** Sends packets for `subnet` to `nextHop:port` and accepts datagrams from `nextHop`. Replaces a route for the same subnet. */
  setRoute(subnet: string, nextHop: string, port: number): void;
  /** Forgets the route; false when there was none. */
  deleteRoute(subnet: string): boolean;
  /** The source address of the ICMP answers (our TUN address), e.g. after our lease changed. */
  setLocalAddress(ip: string): void;
  counters(): UdpCounters;
  /** CPU seconds the loop's threads have used. */
  cpuSeconds(): number;
  /** Joins the threads and closes the TUN (the device disappears) and the socket. Idempotent; later commands throw EBADF. */
  stop(): void;
}

export type UdpLoopOpener = (spec: UdpLoopSpec) => UdpLoop;

interface RawUdpLoop {
  name(): string;
  features(): UdpLoopFeatures;
  setRoute(net: number, len: number, nextHop: number, port: number): boolean;
  deleteRoute(net: number, len: number): boolean;
  setLocalAddr(addr: number): void;
  counters(): number[];
  cpuSeconds(): number;
  stop(): void;
}

interface RawUdpAddon {
  UdpLoop: new (netns: string, tunName: string, bindAddr: number, port: number, localAddr: number, queues: number, offload: boolean, socketBuffer: number) => RawUdpLoop;
}

function udpAddon(): RawAddon & RawUdpAddon {
  return loadAddon() as RawAddon & RawUdpAddon;
}

/** "10.244.1.2" as a uint32 (host order). */
export function ip4ToNumber(ctx: string, field: string, ip: string): number {
  if (checkIP(ctx, field, ip) !== 4) throw new NativeArgumentError(ctx, `${field} must be an IPv4 address, got ${JSON.stringify(ip)}`);
  return parseIP4(ip);
}

function cidr4(ctx: string, subnet: string): { net: number; len: number } {
  const c = checkCIDR(ctx, 'subnet', subnet);
  if (c.family !== 4) throw new NativeArgumentError(ctx, `subnet must be IPv4, got ${JSON.stringify(subnet)}`);
  return { net: ip4ToNumber(ctx, 'subnet', c.ip), len: c.prefixLen };
}

/**
 * Opens the TUN and the socket (inside `spec.netns`) and starts the loop. Throws NativeError: EPERM
 * without CAP_NET_ADMIN, EADDRINUSE when the port is taken, EADDRNOTAVAIL when bindAddress is not
 * ours, ENOENT for a missing namespace. Each call makes a new TUN device.
 */
export function openUdpLoop(spec: UdpLoopSpec): UdpLoop {
  const ctx = 'open udp loop';
  const tunName = checkIfName(ctx, spec.tunName.replace('%d', '0')) && spec.tunName;
  const bind = ip4ToNumber(ctx, 'bindAddress', spec.bindAddress);
  const port = checkInt(ctx, 'port', spec.port, 1, 65535);
  const local = ip4ToNumber(ctx, 'localAddress', spec.localAddress);
  const queues = checkInt(ctx, 'queues', spec.queues ?? 1, 1, 64);
  const buffer = checkInt(ctx, 'socketBufferBytes', spec.socketBufferBytes ?? 8 << 20, 4096, 1 << 30);
  const netns = !spec.netns ? '' : spec.netns.includes('/') ? spec.netns : `/run/netns/${spec.netns}`;
  const Loop = udpAddon().UdpLoop;
  let raw: RawUdpLoop;
  try {
    raw = new Loop(netns, tunName, bind, port, local, queues, spec.offload !== false, buffer);
  } catch (e) {
    throw fromAddonError(e, `${ctx} ${spec.tunName} on ${spec.bindAddress}:${port}`);
  }
  return new KernelUdpLoop(raw);
}

class KernelUdpLoop implements UdpLoop {
  readonly device: string;
  readonly features: UdpLoopFeatures;

  constructor(private readonly raw: RawUdpLoop) {
    this.device = raw.name();
    this.features = raw.features();
  }

  private call<T>(ctx: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw e instanceof NativeError ? e : fromAddonError(e, ctx);
    }
  }

  setRoute(subnet: string, nextHop: string, port: number): void {
    const ctx = `udp route ${subnet} via ${nextHop}:${port}`;
    const { net, len } = cidr4(ctx, subnet);
    const hop = ip4ToNumber(ctx, 'nextHop', nextHop);
    const p = checkInt(ctx, 'port', port, 1, 65535);
    this.call(ctx, () => this.raw.setRoute(net, len, hop, p));
  }

  deleteRoute(subnet: string): boolean {
    const ctx = `udp route delete ${subnet}`;
    const { net, len } = cidr4(ctx, subnet);
    return this.call(ctx, () => this.raw.deleteRoute(net, len));
  }

  setLocalAddress(ip: string): void {
    const ctx = 'udp loop local address';
    const addr = ip4ToNumber(ctx, 'localAddress', ip);
    this.call(ctx, () => this.raw.setLocalAddr(addr));
  }

  counters(): UdpCounters {
    return countersFrom(this.raw.counters());
  }

  cpuSeconds(): number {
    return this.raw.cpuSeconds();
  }

  stop(): void {
    this.raw.stop();
  }
}

/** The counters in the order of udp::Counter (native/src/udp-loop.h). */
export function countersFrom(v: readonly number[]): UdpCounters {
  const at = (i: number): number => v[i] ?? 0;
  return {
    txPackets: at(0),
    txBytes: at(1),
    rxPackets: at(2),
    rxBytes: at(3),
    drops: { noRoute: at(4), unknownSource: at(5), sourceOutsideSubnet: at(15), ttl: at(6), malformed: at(7), sendError: at(8), tunWriteError: at(9) },
    icmpUnreachableSent: at(10),
    syscalls: { tunReads: at(11), tunWrites: at(12), udpSends: at(13), udpRecvs: at(14) },
  };
}

/** The loop's packet functions on buffers, for unit tests (udp-addon-test.cc). */
export interface UdpPacketProbe {
  /** Decrements the TTL in place, patching the checksum; returns the new TTL (0: the loop drops it). */
  decrementTTL(packet: Buffer): number;
  /** The ICMP net unreachable the loop writes back into the TUN for `packet`, or null when none is due. */
  netUnreachable(packet: Buffer, localAddress: string): Buffer | null;
  /** The Internet checksum field value over `bytes` (0 when the bytes include a correct checksum). */
  checksum(bytes: Buffer): number;
  /** The wire packets the loop sends for a TCP/IPv4 TSO super-packet, or null when it cannot cut it. */
  segment(superPacket: Buffer, gsoSize: number): Buffer[] | null;
  /** What the udp -> tun side writes into the TUN for these packets. */
  coalesce(packets: Buffer[]): CoalescedWrite[];
  /** A bare route table (no loop). */
  routeTable(): UdpRouteTableProbe;
}

export interface CoalescedWrite {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
  packets: number;
  packet: Buffer;
}

export interface UdpRouteTableProbe {
  set(subnet: string, nextHop: string, port: number): boolean;
  delete(subnet: string): boolean;
  lookup(ip: string): { nextHop: string; port: number } | null;
  isPeer(ip: string): boolean;
  size(): number;
}

interface RawRouteTable {
  set(net: number, len: number, hop: number, port: number): boolean;
  delete(net: number, len: number): boolean;
  lookup(ip: number): [number, number] | null;
  isPeer(ip: number): boolean;
  size(): number;
}

interface RawProbeAddon {
  UdpRouteTable: new () => RawRouteTable;
  udpTestDecrementTTL(b: Buffer): number;
  udpTestNetUnreachable(b: Buffer, local: number): Buffer | null;
  udpTestChecksum(b: Buffer): number;
  udpTestSegment(b: Buffer, gso: number): Buffer[] | null;
  udpTestCoalesce(bs: Buffer[]): CoalescedWrite[];
}


export function udpPacketProbe(): UdpPacketProbe {
  const a = loadAddon() as RawAddon & RawProbeAddon;
  const ctx = 'udp probe';
  return {
    decrementTTL: (b) => a.udpTestDecrementTTL(b),
    netUnreachable: (b, local) => a.udpTestNetUnreachable(b, ip4ToNumber(ctx, 'localAddress', local)),
    checksum: (b) => a.udpTestChecksum(b),
    segment: (b, gso) => a.udpTestSegment(b, checkInt(ctx, 'gsoSize', gso, 1, 65535)),
    coalesce: (bs) => a.udpTestCoalesce(bs),
    routeTable: () => {
      const t = new a.UdpRouteTable();
      return {
        set: (s, hop, port) => (({ net, len }) => t.set(net, len, ip4ToNumber(ctx, 'nextHop', hop), checkInt(ctx, 'port', port, 1, 65535)))(cidr4(ctx, s)),
        delete: (s) => (({ net, len }) => t.delete(net, len))(cidr4(ctx, s)),
        lookup: (ip) => {
          const r = t.lookup(ip4ToNumber(ctx, 'ip', ip));
          return r ? { nextHop: formatIP4(r[0]), port: r[1] } : null;
        },
        isPeer: (ip) => t.isPeer(ip4ToNumber(ctx, 'ip', ip)),
        size: () => t.size(),
      };
    },
  };
}
