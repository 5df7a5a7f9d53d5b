// What the devices should hold, from the leases (fact sheet §1.5): a pure function, so every mode and
// family rule is unit-tested without a device.
//   separate:         per family in the lease, on that family's device, one peer with AllowedIPs =
//                     exactly that subnet, endpoint <PublicIP>:<Port> or [<PublicIPv6>]:<Port>.
//   auto, ipv4, ipv6: one peer on flannel-wg with both subnets; key from the v6 data when the lease
//                     has v6; endpoint by mode (auto picks as the reference does).
// Improvement on the reference (§1.5 ⚠): in a single-tunnel mode the remote listens only on its
// ListenPort, which its BackendData carries; a v6 endpoint uses that port, falling back to the
// BackendV6Data port only when the lease has no v4 data.
import { IP4Net, IP6Net, formatIP4, formatIP6 } from '../../common/ip.js';
import type { WgPeerConfig } from '../../native/wg-types.js';
import type { Lease } from '../../subnet-lease/lease.js';
import type { WireguardConfig } from './config.js';
import { decodeLeaseData, type WgLeaseData } from './lease-data.js';

export const DEVICE = 'flannel-wg';
export const DEVICE_V6 = 'flannel-wg-v6';

/** What the peer computation needs of us. */
export interface PeerContext {
  cfg: WireguardConfig;
  enableIPv4: boolean;
  enableIPv6: boolean;
  extAddr: number;
  extV6Addr: bigint | null;
}

/** The devices the mode makes (§1.2). */
export function devicesFor(p: Pick<PeerContext, 'cfg' | 'enableIPv4' | 'enableIPv6'>): string[] {
  if (p.cfg.mode !== 'separate') return [DEVICE];
  return [...(p.enableIPv4 ? [DEVICE] : []), ...(p.enableIPv6 ? [DEVICE_V6] : [])];
}

/** A wanted peer and the text the peer log shows for it. */
export interface WantedPeer {
  peer: WgPeerConfig;
  describe: string;
}

/** device → public key → wanted peer. Leases without usable data for a family are skipped for it. */
export function wantedPeers(p: PeerContext, leases: Iterable<Lease>): Map<string, Map<string, WantedPeer>> {
  const out = new Map<string, Map<string, WantedPeer>>(devicesFor(p).map((d) => [d, new Map()]));
  const put = (dev: string, peer: WgPeerConfig): void => {
    out.get(dev)?.set(peer.publicKey, { peer, describe: `${peer.allowedIPs.join(', ')} at ${peer.endpoint ?? '(no endpoint)'} key ${peer.publicKey}` });
  };
  for (const lease of leases) {
    const v4 = p.enableIPv4 ? data(lease.attrs.backendData, 'BackendData') : null;
    const v6 = p.enableIPv6 && lease.ipv6Subnet ? data(lease.attrs.backendV6Data, 'BackendV6Data') : null;
    if (p.cfg.mode === 'separate') {
      if (v4 && lease.attrs.publicIP !== 0) put(DEVICE, peer(p, v4.publicKey, [lease.subnet], endpoint4(lease, v4.port || p.cfg.listenPort)));
      if (v6 && lease.ipv6Subnet && lease.attrs.publicIPv6 !== null) put(DEVICE_V6, peer(p, v6.publicKey, [lease.ipv6Subnet], endpoint6(lease, v6.port || p.cfg.listenPortV6)));
      continue;
    }
    const key = (v6 ?? v4)?.publicKey;
    if (!key) continue;
    const nets = [...(v4 ? [lease.subnet] : []), ...(v6 && lease.ipv6Subnet ? [lease.ipv6Subnet] : [])];
    put(DEVICE, peer(p, key, nets, singleEndpoint(p, lease, v4, v6)));
  }
  return out;
}

function data(raw: unknown, field: 'BackendData' | 'BackendV6Data'): WgLeaseData | null {
  const d = decodeLeaseData(raw, field);
  return typeof d === 'string' ? null : d;
}

function peer(p: PeerContext, publicKey: string, nets: Array<IP4Net | IP6Net>, endpoint: string | null): WgPeerConfig {
  return { publicKey, endpoint, allowedIPs: nets.map((n) => n.toString()), presharedKey: p.cfg.psk, persistentKeepalive: p.cfg.persistentKeepalive };
}

function endpoint4(lease: Lease, port: number): string | null {
  return lease.attrs.publicIP === 0 ? null : `${formatIP4(lease.attrs.publicIP)}:${port}`;
}

function endpoint6(lease: Lease, port: number): string | null {
  return lease.attrs.publicIPv6 === null ? null : `[${formatIP6(lease.attrs.publicIPv6)}]:${port}`;
}

/** The single-tunnel endpoint: the remote listens on the port in its BackendData (see the note above). */
function singleEndpoint(p: PeerContext, lease: Lease, v4: WgLeaseData | null, v6: WgLeaseData | null): string | null {
  const port = v4?.port || v6?.port || p.cfg.listenPort;
  const e4 = endpoint4(lease, port);
  const e6 = endpoint6(lease, port);
  if (p.cfg.mode === 'ipv4') return e4;
  if (p.cfg.mode === 'ipv6') return e6;
  if (lease.attrs.publicIPv6 === null) return e4;
  if (!isPrivate4(lease.attrs.publicIP) && p.extAddr !== 0) return e4 ?? e6;
  if (!isULA(lease.attrs.publicIPv6) && p.extV6Addr !== null && !isULA(p.extV6Addr)) return e6;
  return e4 ?? e6;
}

const RFC1918 = [IP4Net.parse('10.0.0.0/8'), IP4Net.parse('172.16.0.0/12'), IP4Net.parse('192.168.0.0/16')];
const ULA = IP6Net.parse('fc00::/7');

function isPrivate4(ip: number): boolean {
  return RFC1918.some((n) => n.contains(ip));
}

function isULA(ip: bigint): boolean {
  return ULA.contains(ip);
}
