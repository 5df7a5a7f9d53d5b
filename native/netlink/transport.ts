// One rtnetlink socket with a FIFO of requests: each request is a batch of messages with consecutive
// sequence numbers, sent by the addon in as few sendmsg calls as fit, and answered per sequence number.
import type { RawSocket } from '../addon.js';
import { NativeError, errnoName, fromAddonError } from '../errors.js';
import * as C from './constants.js';
import { type RawMsg, decodeError, splitMessages } from './decode.js';
import { MsgWriter } from './writer.js';
import { SerialQueue } from '../../common/serial.js';

export interface Answer {
  /** Data messages answering this request (dump entries, a GET reply). */
  msgs: RawMsg[];
  /** 0 on success. */
  errno: number;
  kernelMessage?: string;
  /** A dump that changed while it was read (NLM_F_DUMP_INTR): read it again. */
  interrupted: boolean;
}

export class Transport {
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly queue = new SerialQueue();
  private closed = false;

  constructor(private readonly sock: RawSocket) {}

  /**
   * Runs `build` to write requests (it receives a fresh sequence number per message through `next`),
   * sends them, and returns the answers in request order.
   */
  request(context: string, build: (w: MsgWriter, next: () => number) => void): Promise<Answer[]> {
    const run = async (): Promise<Answer[]> => {
      if (this.closed) throw new NativeError('EBADF', 9, 'sendmsg', `${context}: the native handle is closed`);
      const w = new MsgWriter();
      const seqs: number[] = [];
      build(w, () => {
        this.seq = (this.seq + 1) >>> 0;
        seqs.push(this.seq);
        return this.seq;
      });
      if (seqs.length === 0) return [];
      let reply: Buffer;
      try {
        reply = await this.sock.transact(w.bytes());
      } catch (e) {
        throw fromAddonError(e, context);
      }
      return collate(reply, seqs);
    };
    return this.queue.run(run);
  }

  /** The socket's netlink address, which the kernel names in the notifications of changes made through it. */
  portid(): number {
    return this.sock.portid();
  }

  /** Waits for queued requests, then closes the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.idle();
    this.sock.close();
  }
}

function collate(reply: Buffer, seqs: number[]): Answer[] {
  const bySeq = new Map<number, Answer>();
  for (const s of seqs) bySeq.set(s, { msgs: [], errno: 0, interrupted: false });
  for (const m of splitMessages(reply)) {
    const a = bySeq.get(m.seq);
    if (!a) continue;
    if (m.flags & C.NLM_F_DUMP_INTR) a.interrupted = true;
    if (m.type === C.NLMSG_ERROR) {
      const { errno, message } = decodeError(m);
      a.errno = errno;
      a.kernelMessage = message;
    } else if (m.type === C.NLMSG_DONE) {
      const err = m.body.length >= 4 ? -m.body.readInt32LE(0) : 0;
      if (err > 0) a.errno = err;
    } else {
      a.msgs.push(m);
    }
  }
  return seqs.map((s) => bySeq.get(s)!);
}

export function answerError(a: Answer, syscall: string, context: string): NativeError | null {
  if (a.errno === 0) return null;
  return new NativeError(errnoName(a.errno), a.errno, syscall, context, a.kernelMessage);
}

/** A transport over a socket `make` opens; NativeError (with `ctx`) when the addon cannot open it. */
export function openTransport(make: () => RawSocket, ctx: string): Transport {
  try {
    return new Transport(make());
  } catch (e) {
    throw fromAddonError(e, ctx);
  }
}

/** One request and its answer; rejects with the kernel's error for it as a NativeError. */
export async function requestOne(t: Transport, ctx: string, syscall: string, build: (w: MsgWriter, seq: number) => void): Promise<Answer> {
  const [a] = await t.request(ctx, (w, next) => build(w, next()));
  const err = answerError(a!, syscall, ctx);
  if (err) throw err;
  return a!;
}
