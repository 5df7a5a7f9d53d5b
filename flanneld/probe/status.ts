// The /status document (issue 16): this host's lease, backend and MTU, the store's health and every
// peer's probe state, as JSON. `flanneld status` reads it from a running daemon and prints it; the
// shape is the contract between the two (and anyone scripting against /status).
import type { PeerStatus } from './prober.js';

export interface StatusDocument {
  /** flannel-ts version of the daemon. */
  version: string;
  /** When the document was made (ISO 8601). */
  time: string;
  ready: boolean;
  lease: { subnet: string | null; ipv6Subnet: string | null; publicIP: string | null; publicIPv6: string | null; expiration: string | null } | null;
  backend: string | null;
  mtu: number | null;
  store: { name: string; connected: boolean; degraded: string | null; lastEvent: string | null; leasesKnown: number };
  probes: { enabled: boolean; intervalSeconds: number };
  peers: PeerDocument[];
  summary: { peers: number; reachable: number; unreachable: number; unknown: number; mtuProblems: number };
}

export interface PeerDocument {
  subnet: string;
  ipv6Subnet: string | null;
  publicIP: string;
  probeAddress: string;
  path: string;
  /** null until known. */
  reachable: boolean | null;
  misses: number;
  lastRttMs: number | null;
  avgRttMs: number | null;
  lastChange: string | null;
  lastProbe: string | null;
  lastError: string | null;
  mtu: { state: 'unchecked' | 'checking' | 'ok' | 'too-small'; size: number; works: number | null; checkedAt: string | null };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const ms3 = (seconds: number): number => Math.round(seconds * 1e6) / 1000;

export function peerDocument(p: PeerStatus): PeerDocument {
  const m = p.mtu;
  return {
    subnet: p.target.subnet,
    ipv6Subnet: p.target.ipv6Subnet,
    publicIP: p.target.publicIP,
    probeAddress: p.target.address,
    path: p.target.path,
    reachable: p.reachable,
    misses: p.misses,
    lastRttMs: p.lastRtt === null ? null : ms3(p.lastRtt),
    avgRttMs: p.rttCount === 0 ? null : ms3(p.rttSum / p.rttCount),
    lastChange: iso(p.lastChange),
    lastProbe: iso(p.lastProbe),
    lastError: p.lastError,
    mtu: {
      state: m.state,
      size: p.target.mtu,
      works: m.state === 'too-small' ? m.works : null,
      checkedAt: m.state === 'ok' || m.state === 'too-small' ? iso(m.checkedAt) : null,
    },
  };
}

export function summarize(peers: readonly PeerDocument[]): StatusDocument['summary'] {
  return {
    peers: peers.length,
    reachable: peers.filter((p) => p.reachable === true).length,
    unreachable: peers.filter((p) => p.reachable === false).length,
    unknown: peers.filter((p) => p.reachable === null).length,
    mtuProblems: peers.filter((p) => p.mtu.state === 'too-small').length,
  };
}
