// The etcd watch state machine against a scripted stream (no etcd): where it resumes, when it
// re-lists, how it backs off, and which errors end it.
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { GrpcError } from '../../../subnet-lease/etcd/errors.js';
import type { WatchRequest, WatchResponse } from '../../../subnet-lease/etcd/messages.js';
import { SubnetWatch } from '../../../subnet-lease/etcd/watch.js';
import type { WatchSource, WatchStream } from '../../../subnet-lease/etcd/watch.js';
import { LeaseStoreError, isRetryable } from '../../../subnet-lease/store.js';
import type { RegistryWatchItem } from '../../../subnet-lease/store.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';
import { JSON_A } from '../registry-fixtures.js';

class FakeStream extends EventEmitter {
  readonly requests: WatchRequest[] = [];
  cancelled = false;
  write(req: WatchRequest): void {
    this.requests.push(req);
  }
  end(): void {}
  cancel(): void {
    this.cancelled = true;
  }
  respond(r: Partial<WatchResponse>): void {
    const header = { cluster_id: '1', member_id: '1', revision: '0', raft_term: '1' };
    this.emit('data', { header, watch_id: '0', created: false, canceled: false, compact_revision: '0', cancel_reason: '', fragment: false, events: [], ...r });
  }
  fail(code = 14, details = 'Connection dropped'): void {
    this.emit('error', new GrpcError(code, details));
  }
}

const put = (subnet: string, rev: number) => ({
  type: 'Put' as const,
  kv: { key: Buffer.from(`/p/subnets/${subnet}`), value: Buffer.from(JSON_A), lease: '5', mod_revision: String(rev), create_revision: String(rev), version: '1' },
});

class FakeSource implements WatchSource {
  readonly key = Buffer.from('/p/subnets/');
  readonly rangeEnd = Buffer.from('/p/subnets0');
  readonly endpoints = ['http://fake:2379'];
  readonly logger = new RecordingLogger();
  readonly streams: FakeStream[] = [];
  liveness?: { silenceMs: number; answerMs: number };
  lists = 0;
  listRevision = 5n;
  private onOpen: ((s: FakeStream) => void) | null = null;

  async list(): Promise<{ leases: never[]; revision: bigint }> {
    this.lists++;
    return { leases: [], revision: this.listRevision };
  }
  async open(): Promise<WatchStream> {
    const s = new FakeStream();
    this.streams.push(s);
    setImmediate(() => this.onOpen?.(s));
    return s as unknown as WatchStream;
  }
  async refreshAuth(): Promise<void> {}
  /** Runs `fn` on each stream as it opens. */
  script(fn: (s: FakeStream, n: number) => void): void {
    this.onOpen = (s) => fn(s, this.streams.length);
  }
  startRevisions(): string[] {
    return this.streams.map((s) => String(s.requests[0]?.create_request?.start_revision));
  }
}

async function take(it: AsyncIterator<RegistryWatchItem>): Promise<RegistryWatchItem> {
  const r = await it.next();
  if (r.done) throw new Error('watch ended');
  return r.value;
}

describe('etcd subnet watch state machine', () => {
  let src: FakeSource;
  let ac: AbortController;
  let watch: AsyncGenerator<RegistryWatchItem, void, undefined>;
  beforeEach(() => {
    src = new FakeSource();
    ac = new AbortController();
    watch = new SubnetWatch(src, ac.signal).run();
  });
  afterEach(async () => {
    ac.abort();
    await watch.return();
  });

  it('resumes after the last delivered event revision, not the response header revision', async () => {
    src.script((s, n) => {
      if (n === 1) {
        s.respond({ created: true, header: { cluster_id: '', member_id: '', raft_term: '', revision: '5' } });
        s.respond({ events: [put('10.5.52.0-24', 7)], header: { cluster_id: '', member_id: '', raft_term: '', revision: '10' } });
        s.fail();
      } else s.respond({ events: [put('10.5.53.0-24', 8)] });
    });
    expect((await take(watch)).kind).to.equal('snapshot');
    expect((await take(watch)).kind).to.equal('events');
    expect((await take(watch)).kind).to.equal('events');
    expect(src.startRevisions()).to.deep.equal(['6', '8']);
    expect(src.streams[0]!.cancelled).to.equal(true);
  });

  it('re-lists and resumes after the new snapshot when etcd says the revision was compacted', async () => {
    src.script((s, n) => {
      if (n === 1) {
        src.listRevision = 20n;
        s.respond({ created: true, canceled: true, compact_revision: '15' });
      }
    });
    expect((await take(watch)).kind).to.equal('snapshot');
    expect((await take(watch)).kind).to.equal('snapshot');
    void watch.next();
    while (!src.streams[1]?.requests.length) await new Promise((r) => setTimeout(r, 5));
    expect(src.lists).to.equal(2);
    expect(src.startRevisions()).to.deep.equal(['6', '21']);
  });

  it('backs off 100 ms doubling while the stream keeps failing, and starts over after a success', async () => {
    src.script((s, n) => (n === 5 ? s.respond({ created: true }) : s.fail()));
    expect((await take(watch)).kind).to.equal('snapshot');
    const next = watch.next();
    const delays = (): number[] => src.logger.messages('warn').map((m) => Number(/retrying in (\d+) ms/.exec(m)![1]));
    while (src.logger.messages('info').length === 0) await new Promise((r) => setTimeout(r, 20));
    expect(delays()).to.deep.equal([100, 200, 400, 800]);
    src.script((s) => s.fail());
    src.streams[4]!.fail();
    while (src.streams.length < 6) await new Promise((r) => setTimeout(r, 20));
    expect(delays().slice(0, 5)).to.deep.equal([100, 200, 400, 800, 100]);
    expect(src.logger.messages('info')).to.include('subnet watch reconnected, resuming after revision 5');
    ac.abort();
    expect((await next).done).to.equal(true);
  });

  it('reconnects when etcd ends the stream on its own', async () => {
    src.script((s, n) => {
      if (n === 1) s.emit('end');
      else s.respond({ events: [put('10.5.53.0-24', 6)] });
    });
    expect((await take(watch)).kind).to.equal('snapshot');
    expect((await take(watch)).kind).to.equal('events');
    expect(src.startRevisions()).to.deep.equal(['6', '6']);
  });

  it('ends with a final error when etcd denies the watch', async () => {
    src.script((s) => s.respond({ created: true, canceled: true, cancel_reason: 'etcdserver: permission denied' }));
    expect((await take(watch)).kind).to.equal('snapshot');
    const err = await watch.next().then(() => null, (e: unknown) => e as Error);
    expect(err).to.be.instanceOf(LeaseStoreError);
    expect(isRetryable(err)).to.equal(false);
    expect(err!.message).to.contain('http://fake:2379');
  });

  it('stops waiting out the backoff as soon as the signal aborts', async () => {
    src.script((s) => s.fail());
    expect((await take(watch)).kind).to.equal('snapshot');
    const next = watch.next();
    // After five failures it waits 1600 ms; ending well before that shows the wait was cut short.
    while (src.logger.messages('warn').length < 5) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    ac.abort();
    expect((await next).done).to.equal(true);
    expect(Date.now() - t0).to.be.below(800);
  });

  describe('a quiet stream', () => {
    const created = (s: FakeStream) => s.respond({ created: true, header: { cluster_id: '', member_id: '', raft_term: '', revision: '5' } });

    it('is asked for progress after the silence, and opened again when it does not answer; events after that are not lost', async () => {
      ac.abort();
      await watch.return();
      src = new FakeSource();
      src.liveness = { silenceMs: 40, answerMs: 30 };
      ac = new AbortController();
      watch = new SubnetWatch(src, ac.signal).run();
      src.script((s, n) => {
        created(s);
        if (n === 2) setTimeout(() => s.respond({ events: [put('10.5.60.0-24', 9)] }), 5);
      });
      expect((await take(watch)).kind).to.equal('snapshot');
      const next = await take(watch);
      expect(next.kind).to.equal('events');
      expect(src.streams).to.have.length(2);
      expect(src.streams[0]!.requests.map((r) => Object.keys(r)[0])).to.deep.equal(['create_request', 'progress_request']);
      expect(src.streams[0]!.cancelled).to.equal(true);
      expect(src.startRevisions()).to.deep.equal(['6', '6']);
      expect(src.logger.messages('warn').join('\n')).to.match(/subnet watch interrupted .*stayed silent for 40 ms and did not answer a progress request within 30 ms/);
    });

    it('is kept when it answers the progress request', async () => {
      ac.abort();
      await watch.return();
      src = new FakeSource();
      src.liveness = { silenceMs: 30, answerMs: 200 };
      ac = new AbortController();
      watch = new SubnetWatch(src, ac.signal).run();
      src.script((s) => {
        created(s);
        const write = s.write.bind(s);
        s.write = (req) => {
          write(req);
          if (req.progress_request) setImmediate(() => s.respond({ header: { cluster_id: '', member_id: '', raft_term: '', revision: '5' } }));
        };
        setTimeout(() => s.respond({ events: [put('10.5.61.0-24', 9)] }), 150);
      });
      expect((await take(watch)).kind).to.equal('snapshot');
      expect((await take(watch)).kind).to.equal('events');
      expect(src.streams).to.have.length(1);
      expect(src.streams[0]!.requests.filter((r) => r.progress_request).length).to.be.at.least(2);
    });
  });
});
