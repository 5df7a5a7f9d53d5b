// ICMP echo for the peer probes (issue 16), on the addon's raw ICMP sockets (native/src/icmp.cc): one
// request out, its reply matched by sequence number and source address, or a loss after the timeout.
// Requests carry Don't Fragment and ignore the kernel's path-MTU cache, so a full-size probe tests the
// path as it is now. Needs CAP_NET_RAW (flanneld has it; it already needs CAP_NET_ADMIN).
import { bytesToIP, canonicalIP, familyOfIP } from '../common/ip.js';
import { loadAddon, type RawIcmpSocket } from './addon.js';
import { NativeError } from './errors.js';

/** An answer (round trip in seconds), a loss, or a send the kernel refused (e.g. EMSGSIZE, ENETUNREACH). */
export type EchoResult = { kind: 'reply'; rttSeconds: number } | { kind: 'lost' } | { kind: 'error'; code: string; message: string };

export interface Echo {
  /** One echo request of `size` bytes (the whole IP packet) to `address`; never rejects. */
  echo(address: string, size: number, timeoutMs: number): Promise<EchoResult>;
  close(): void;
}

interface Waiting {
  address: string;
  sentAt: number;
  deadline: number;
  resolve: (r: EchoResult) => void;
}

/**
 * Losses are found by one sweep every SWEEP_MS rather than a timer per request: each wake-up of an
 * idle Node.js process costs CPU, and a timeout is only ever late by up to this much.
 */
const SWEEP_MS = 250;

const RECORD = 24;

/** The ICMP sockets of this process; each family's opened on its first request. */
export class IcmpEcho implements Echo {
  private readonly sockets = new Map<4 | 6, RawIcmpSocket>();
  private readonly waiting = new Map<string, Waiting>();
  private seq = 0;
  private sweeper: NodeJS.Timeout | null = null;
  /** Our ICMP identifier: replies to other processes' pings are not ours. */
  private readonly ident = (process.pid ^ Math.floor(Math.random() * 0x10000)) & 0xffff;

  echo(address: string, size: number, timeoutMs: number): Promise<EchoResult> {
    const family = familyOfIP(address);
    let socket: RawIcmpSocket;
    try {
      socket = this.socket(family);
    } catch (e) {
      return Promise.resolve(errorResult(e));
    }
    const seq = this.nextSeq(family);
    return new Promise((resolve) => {
      const key = `${family}/${seq}`;
      const sentAt = performance.now();
      try {
        socket.send(address, seq, size);
      } catch (e) {
        resolve(errorResult(e));
        return;
      }
      this.waiting.set(key, { address: canonicalIP(address), sentAt, deadline: sentAt + timeoutMs, resolve });
      this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
    });
  }

  private sweep(): void {
    const now = performance.now();
    for (const [key, w] of this.waiting) {
      if (w.deadline > now) continue;
      this.waiting.delete(key);
      w.resolve({ kind: 'lost' });
    }
    if (this.waiting.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const w of this.waiting.values()) w.resolve({ kind: 'lost' });
    this.waiting.clear();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  /** A sequence number not in flight for this family (65536 of them: more than any probe rate needs). */
  private nextSeq(family: 4 | 6): number {
    for (;;) {
      this.seq = (this.seq + 1) & 0xffff;
      if (!this.waiting.has(`${family}/${this.seq}`)) return this.seq;
    }
  }

  private socket(family: 4 | 6): RawIcmpSocket {
    let s = this.sockets.get(family);
    if (!s) {
      s = new (loadAddon().IcmpSocket)(family, this.ident, (err, replies) => {
        if (replies) this.replies(replies);
        // A receive error loses nothing we cannot afford: the probes in flight time out.
        void err;
      });
      this.sockets.set(family, s);
    }
    return s;
  }

  private replies(buf: Buffer): void {
    const now = performance.now();
    for (let off = 0; off + RECORD <= buf.length; off += RECORD) {
      const seq = buf.readUInt16LE(off);
      const family = buf[off + 2] === 6 ? 6 : 4;
      const key = `${family}/${seq}`;
      const w = this.waiting.get(key);
      if (!w || formatSource(buf, off + 4, family) !== w.address) continue;
      this.waiting.delete(key);
      w.resolve({ kind: 'reply', rttSeconds: (now - w.sentAt) / 1000 });
    }
  }
}

function formatSource(buf: Buffer, off: number, family: 4 | 6): string {
  return bytesToIP(buf.subarray(off, off + (family === 4 ? 4 : 16)));
}

function errorResult(e: unknown): EchoResult {
  const code = e instanceof NativeError ? e.code : ((e as { code?: unknown }).code as string | undefined);
  return { kind: 'error', code: typeof code === 'string' ? code : 'EUNKNOWN', message: e instanceof Error ? e.message : String(e) };
}
