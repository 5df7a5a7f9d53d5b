// Peer probes (issue 16): every other host is pinged through the data path of the backend (ICMP echo,
// answered by the peer's kernel, so nothing is needed on the peer beyond what flanneld sets up), at a
// total rate bounded whatever the number of peers, spread evenly and jittered. A peer is unreachable
// after 3 unanswered probes in a row and reachable again after one answer; each transition is logged
// once. Once per peer (again after its lease changes, and every ~10 minutes) a probe of the full overlay
// MTU with Don't Fragment checks the path; when it is lost but a small one passes, a search finds the
// size that works and a warning says what to set.
//
// Everything time-related goes through `ProbeClock`, so the unit tests run 5000 peers on a fake clock.
import type { EchoResult } from '../../native/icmp.js';
import type { Logger } from '../../common/log.js';
import { realClock, SendWindow, type ProbeClock } from './pacing.js';
import { searchPathMtu } from './mtu-search.js';

/** One peer as the prober sees it: which host, where its probes go, and the overlay MTU to check. */
export interface PeerTarget {
  /** The peer's subnet (CIDR text): its identity here and its metrics label. */
  subnet: string;
  ipv6Subnet: string | null;
  publicIP: string;
  /** Where the probes go (vxlan: the peer's overlay address, host-gw: its public IP). */
  address: string;
  /** How that address is reached, for messages: "through flannel.1", "on the underlay". */
  path: string;
  /** The largest packet (IP header included) the overlay promises pods: the full-size probe. */
  mtu: number;
}

export type MtuState =
  | { state: 'unchecked' }
  | { state: 'checking' }
  | { state: 'ok'; checkedAt: number }
  /** Probes of `mtu` bytes are lost, `works` bytes pass. */
  | { state: 'too-small'; works: number; checkedAt: number };

export interface PeerStatus {
  target: PeerTarget;
  /** null until the first answer or the third loss. */
  reachable: boolean | null;
  /** Unanswered probes in a row. */
  misses: number;
  /** When `reachable` last changed (ms), null before the first verdict. */
  lastChange: number | null;
  lastProbe: number | null;
  /** Seconds, of the last answered probe. */
  lastRtt: number | null;
  rttSum: number;
  rttCount: number;
  lastError: string | null;
  mtu: MtuState;
}

export interface ProberOptions {
  /** Each peer is probed this often when the rate bound allows (seconds, > 0). */
  intervalSeconds: number;
  /** The bound on all probes of this host together, per second. */
  maxPerSecond?: number;
  timeoutMs?: number;
  /** Unanswered probes in a row that make a peer unreachable. */
  missesToUnreachable?: number;
  mtuRecheckMs?: number;
  echo: (address: string, size: number, timeoutMs: number) => Promise<EchoResult>;
  clock?: ProbeClock;
  logger: Logger;
  /** Turns the size that works into what to set, e.g. `set "MTU": 1400 in the vxlan backend config`. */
  mtuAdvice?: (works: number, target: PeerTarget) => string;
}

const IPV4_SMALL = 84; // ping's default: 20-byte header, 8-byte ICMP header, 56 bytes of data
const IPV6_SMALL = 104;
/** Regular probes leave in batches at most this often (see nextTickMs). */
const TICK_MS = 200;

interface Peer extends PeerStatus {
  /** Bumped when the peer is replaced or removed: results of older probes are dropped. */
  generation: number;
}

export class PeerProber {
  private readonly peers = new Map<string, Peer>();
  /** The round-robin order of regular probes; rebuilt lazily when peers come or go. */
  private order: string[] = [];
  private orderDirty = false;
  private cursor = 0;
  private readonly clock: ProbeClock;
  private readonly spacingMs: number;
  private readonly timeoutMs: number;
  private readonly missesToUnreachable: number;
  private readonly mtuRecheckMs: number;
  /** The rate bound, shared by regular and MTU probes: at most maxPerSecond in any second. */
  private readonly window: SendWindow;
  /** Regular probes owed (fractional), and when they were last counted. */
  private credit = 0;
  private lastTick: number | null = null;
  private tickTimer: unknown = null;
  /** Peers waiting for their MTU check, in order (a Set: first in, first out, and O(1) membership). */
  private readonly mtuQueue = new Set<string>();
  private mtuRunning = false;
  private lastMtuProbe = -Infinity;
  private stopped = true;
  /** Counts by result, for /metrics. */
  readonly sent = { reply: 0, lost: 0, error: 0 };

  constructor(private readonly o: ProberOptions) {
    this.clock = o.clock ?? realClock;
    this.spacingMs = 1000 / (o.maxPerSecond ?? 50);
    this.window = new SendWindow(o.maxPerSecond ?? 50);
    this.timeoutMs = o.timeoutMs ?? 1000;
    this.missesToUnreachable = o.missesToUnreachable ?? 3;
    this.mtuRecheckMs = o.mtuRecheckMs ?? 10 * 60_000;
  }

  /** Adds or replaces a peer. A changed target (address, public IP, MTU) starts it over: unknown, MTU unchecked. */
  set(target: PeerTarget): void {
    const old = this.peers.get(target.subnet);
    if (old && sameTarget(old.target, target)) return;
    this.peers.set(target.subnet, {
      target,
      reachable: null,
      misses: 0,
      lastChange: null,
      lastProbe: null,
      lastRtt: null,
      rttSum: 0,
      rttCount: 0,
      lastError: null,
      mtu: { state: 'unchecked' },
      generation: (old?.generation ?? 0) + 1,
    });
    if (!old) this.orderDirty = true;
    this.kick();
  }

  /** The full-size probe of every peer (FLANNEL_MTU); a change starts each peer's MTU check over. */
  setMtu(mtu: number): void {
    for (const peer of this.peers.values()) {
      if (peer.target.mtu === mtu) continue;
      peer.target = { ...peer.target, mtu };
      peer.mtu = { state: 'unchecked' };
      peer.generation++;
    }
  }

  /** Forgets a peer (its lease went): no more probes, no more metrics. */
  delete(subnet: string): void {
    if (!this.peers.delete(subnet)) return;
    this.orderDirty = true;
    this.mtuQueue.delete(subnet);
  }

  /** Every peer's state, in subnet order (a copy). */
  status(): PeerStatus[] {
    return [...this.peers.values()]
      .map(({ generation: _g, ...s }) => ({ ...s, target: { ...s.target }, mtu: { ...s.mtu } }))
      .sort((a, b) => a.target.subnet.localeCompare(b.target.subnet, 'en', { numeric: true }));
  }

  get size(): number {
    return this.peers.size;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    if (this.tickTimer !== null) this.clock.clearTimeout(this.tickTimer);
    this.tickTimer = null;
    this.lastTick = null;
    this.credit = 0;
  }

  /** Milliseconds between two regular probes: each peer once per interval. */
  private perProbeMs(): number {
    return (this.o.intervalSeconds * 1000) / Math.max(1, this.peers.size);
  }

  /**
   * The next tick: one probe per tick while probes are 200 ms apart or more, else a tick every 200 ms
   * sending the probes due since the last one. Every wake-up of an idle Node.js process costs CPU
   * (~0.2 ms here, measured), so 50 probes/s as 50 wake-ups would cost ~10 millicores for timers alone.
   * Jittered by ±20% so that hosts started together drift apart.
   */
  private nextTickMs(): number {
    return Math.max(this.perProbeMs(), TICK_MS) * (0.8 + 0.4 * this.clock.random());
  }

  private kick(): void {
    if (this.stopped || this.tickTimer !== null || this.peers.size === 0) return;
    this.lastTick ??= this.clock.now();
    this.tickTimer = this.clock.setTimeout(() => this.tick(), this.nextTickMs());
  }

  private tick(): void {
    this.tickTimer = null;
    if (this.stopped) return;
    const now = this.clock.now();
    const maxBurst = Math.max(1, Math.round(TICK_MS / this.spacingMs));
    this.credit = Math.min(this.credit + (now - (this.lastTick ?? now)) / this.perProbeMs(), maxBurst);
    this.lastTick = now;
    // (1e-6: a tick one period after the last owes exactly one probe, whatever the rounding.)
    while (this.credit >= 1 - 1e-6 && this.window.allows(now)) {
      const key = this.nextInOrder();
      const peer = key === null ? undefined : this.peers.get(key);
      if (!peer) break;
      this.credit--;
      this.window.take(now);
      void this.regularProbe(peer);
    }
    this.kick();
  }

  private nextInOrder(): string | null {
    if (this.orderDirty) {
      // Keep going from the same peer, so a steady trickle of lease changes cannot starve the tail.
      const at = this.order[this.cursor];
      this.order = [...this.peers.keys()];
      this.cursor = Math.max(0, at === undefined ? 0 : this.order.indexOf(at));
      this.orderDirty = false;
    }
    if (this.order.length === 0) return null;
    if (this.cursor >= this.order.length) this.cursor = 0;
    return this.order[this.cursor++] ?? null;
  }

  /** Waits until the rate bound allows one more probe, and takes it. */
  private async slot(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      if (this.window.allows(now)) {
        this.window.take(now);
        return;
      }
      await new Promise<void>((resolve) => this.clock.setTimeout(resolve, this.window.nextAt() - now));
    }
  }

  private async regularProbe(peer: Peer): Promise<void> {
    const { generation, target } = peer;
    const size = target.address.includes(':') ? IPV6_SMALL : IPV4_SMALL;
    peer.lastProbe = this.clock.now();
    const r = await this.o.echo(target.address, size, this.timeoutMs);
    this.sent[r.kind]++;
    const current = this.peers.get(target.subnet);
    if (!current || current.generation !== generation) return;
    if (r.kind === 'reply') this.answered(current, r.rttSeconds);
    else this.missed(current, r.kind === 'error' ? `${r.code}` : null);
  }

  private answered(peer: Peer, rtt: number): void {
    peer.misses = 0;
    peer.lastRtt = rtt;
    peer.rttSum += rtt;
    peer.rttCount++;
    peer.lastError = null;
    if (peer.reachable !== true) {
      const was = peer.reachable;
      peer.reachable = true;
      peer.lastChange = this.clock.now();
      const { target } = peer;
      const msg = `peer ${target.subnet} (${target.publicIP}) is reachable${was === false ? ' again' : ''}: ${target.address} ${target.path} answered in ${(rtt * 1000).toFixed(1)} ms`;
      if (was === false) this.o.logger.info(msg);
      else this.o.logger.debug(msg);
    }
    if (this.mtuDue(peer)) this.queueMtu(peer.target.subnet);
  }

  private missed(peer: Peer, error: string | null): void {
    peer.misses++;
    peer.lastError = error;
    if (peer.misses < this.missesToUnreachable || peer.reachable === false) return;
    peer.reachable = false;
    peer.lastChange = this.clock.now();
    const { target } = peer;
    const why = error ? ` (the last one failed to send: ${error})` : '';
    this.o.logger.info(`peer ${target.subnet} (${target.publicIP}) is unreachable: ${peer.misses} probes in a row to ${target.address} ${target.path} went unanswered${why}`);
  }

  private mtuDue(peer: Peer): boolean {
    const m = peer.mtu;
    if (m.state === 'unchecked') return true;
    if (m.state === 'checking') return false;
    return this.clock.now() - m.checkedAt >= this.mtuRecheckMs;
  }

  private queueMtu(subnet: string): void {
    const peer = this.peers.get(subnet);
    if (!peer || peer.mtu.state === 'checking' || this.mtuQueue.has(subnet)) return;
    this.mtuQueue.add(subnet);
    void this.runMtuQueue();
  }

  /** One MTU check at a time: each costs up to ~12 probes, and they share the rate bound with the rest. */
  private async runMtuQueue(): Promise<void> {
    if (this.mtuRunning) return;
    this.mtuRunning = true;
    try {
      while (!this.stopped) {
        const key = this.mtuQueue.values().next();
        if (key.done) break;
        this.mtuQueue.delete(key.value);
        const peer = this.peers.get(key.value);
        if (peer) await this.checkMtu(peer);
      }
    } finally {
      this.mtuRunning = false;
    }
  }

  /**
   * Sends one probe of `size` under the rate bound; true when answered. MTU probes take at most a fifth
   * of the bound (one per 5 slots), so that with thousands of peers the first MTU checks cannot slow
   * the reachability probes by more than that.
   */
  private async passes(address: string, size: number): Promise<boolean> {
    const wait = this.lastMtuProbe + 5 * this.spacingMs - this.clock.now();
    if (wait > 0) await new Promise<void>((resolve) => this.clock.setTimeout(resolve, wait));
    this.lastMtuProbe = this.clock.now();
    await this.slot();
    const r = await this.o.echo(address, size, this.timeoutMs);
    this.sent[r.kind]++;
    return r.kind === 'reply';
  }

  private async checkMtu(peer: Peer): Promise<void> {
    const { generation, target } = peer;
    const previous = peer.mtu;
    peer.mtu = { state: 'checking' };
    const small = target.address.includes(':') ? IPV6_SMALL : IPV4_SMALL;
    const still = (): Peer | null => {
      const p = this.peers.get(target.subnet);
      return p && p.generation === generation && !this.stopped ? p : null;
    };
    const verdict = await searchPathMtu((size) => this.passes(target.address, size), target.mtu, small, () => still() !== null);
    const p = still();
    if (!p || verdict.kind === 'abandoned') return;
    if (verdict.kind === 'no-answer') {
      p.mtu = previous;
      return;
    }
    if (verdict.kind === 'ok') {
      p.mtu = { state: 'ok', checkedAt: this.clock.now() };
      if (previous.state === 'too-small') this.o.logger.info(`path MTU to peer ${target.subnet} (${target.publicIP}) is fine again: ${target.mtu}-byte probes pass`);
      return;
    }
    const { works } = verdict;
    p.mtu = { state: 'too-small', works, checkedAt: this.clock.now() };
    if (previous.state === 'too-small' && previous.works === works) return;
    const advice = this.o.mtuAdvice?.(works, target) ?? `Lower the MTU pods get to ${works} or below`;
    this.o.logger.warn(
      `path MTU to peer ${target.subnet} (${target.publicIP}) is too small for the overlay: ${target.mtu}-byte packets to ${target.address} ${target.path} ` +
        `are lost with Don't Fragment set, ${works}-byte ones pass; pods there will ping but stall on large transfers. ${advice}, or raise the MTU of the underlay path`,
    );
  }
}

function sameTarget(a: PeerTarget, b: PeerTarget): boolean {
  return a.address === b.address && a.publicIP === b.publicIP && a.mtu === b.mtu && a.ipv6Subnet === b.ipv6Subnet && a.path === b.path;
}
