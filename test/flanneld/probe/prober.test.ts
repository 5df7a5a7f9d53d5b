// The peer-probe scheduler on a fake clock: the rate bound with 5000 peers, every peer visited, the
// reachable/unreachable transitions (3 misses, 1 answer, each logged once), removal, and the path-MTU
// search with its warning.
import { expect } from 'chai';
import type { EchoResult } from '../../../native/icmp.js';
import { PeerProber, type PeerTarget } from '../../../flanneld/probe/prober.js';
import type { ProbeClock } from '../../../flanneld/probe/pacing.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';

class FakeClock implements ProbeClock {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  random(): number {
    return 0.5;
  }
  /** Runs every timer due within `ms`, in time order, letting promise chains settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

interface Sent {
  at: number;
  address: string;
  size: number;
}

/** An echo whose answers a test decides: `answers(address, size)` true → a reply after 1 ms, else lost after the timeout. */
function fakeEcho(clock: FakeClock, answers: (address: string, size: number) => boolean | 'error') {
  const sent: Sent[] = [];
  const echo = (address: string, size: number, timeoutMs: number): Promise<EchoResult> => {
    sent.push({ at: clock.now(), address, size });
    const a = answers(address, size);
    if (a === 'error') return Promise.resolve({ kind: 'error', code: 'ENETUNREACH', message: 'sendto failed' });
    return new Promise((resolve) => {
      if (a) clock.setTimeout(() => resolve({ kind: 'reply', rttSeconds: 0.001 }), 1);
      else clock.setTimeout(() => resolve({ kind: 'lost' }), timeoutMs);
    });
  };
  return { echo, sent };
}

function target(i: number, mtu = 1450): PeerTarget {
  const subnet = `10.${(i >> 8) & 255}.${i & 255}.0/24`;
  return { subnet, ipv6Subnet: null, publicIP: `198.18.${(i >> 8) & 255}.${i & 255}`, address: subnet.replace('/24', ''), path: 'through flannel.1', mtu };
}

describe('peer probe scheduler (fake clock)', () => {
  it('keeps 5000 peers within 50 probes/s, MTU checks included, and reaches every peer', async () => {
    const clock = new FakeClock();
    const { echo, sent } = fakeEcho(clock, () => true);
    const prober = new PeerProber({ intervalSeconds: 5, echo, clock, logger: new RecordingLogger() });
    for (let i = 0; i < 5000; i++) prober.set(target(i));
    prober.start();
    await clock.advance(130_000);
    prober.stop();
    // No window of one second ever holds more than 50 probes.
    let worst = 0;
    for (let lo = 0, hi = 0; hi < sent.length; hi++) {
      while (sent[hi]!.at - sent[lo]!.at >= 1000) lo++;
      worst = Math.max(worst, hi - lo + 1);
    }
    expect(worst).to.be.at.most(50);
    // The budget is used: about 50/s for 130 s, shared by regular and full-size (MTU) probes.
    expect(sent.length).to.be.above(0.9 * 50 * 130);
    const probed = new Set(sent.filter((s) => s.size === 84).map((s) => s.address));
    expect(probed.size).to.equal(5000);
    expect(prober.status().filter((p) => p.reachable === true)).to.have.length(5000);
  });

  it('probes each of a few peers once per interval, spread over it', async () => {
    const clock = new FakeClock();
    const { echo, sent } = fakeEcho(clock, () => true);
    const prober = new PeerProber({ intervalSeconds: 2, echo, clock, logger: new RecordingLogger() });
    for (let i = 1; i <= 3; i++) prober.set(target(i));
    prober.start();
    await clock.advance(20_000);
    prober.stop();
    for (let i = 1; i <= 3; i++) {
      const regular = sent.filter((s) => s.address === target(i).address && s.size === 84);
      expect(regular.length, `probes of peer ${i}`).to.be.within(9, 11);
    }
    // Spread: no two regular probes leave at the same moment.
    const times = sent.filter((s) => s.size === 84).map((s) => s.at);
    expect(new Set(times).size).to.equal(times.length);
  });

  it('marks a peer unreachable after 3 misses and reachable after 1 answer, logging each change once', async () => {
    const clock = new FakeClock();
    let up = true;
    const { echo } = fakeEcho(clock, (address) => address !== target(2).address || up);
    const log = new RecordingLogger();
    const prober = new PeerProber({ intervalSeconds: 1, echo, clock, logger: log });
    prober.set(target(1));
    prober.set(target(2));
    prober.start();
    await clock.advance(5_000);
    const peer2 = () => prober.status().find((p) => p.target.subnet === target(2).subnet)!;
    expect(peer2().reachable).to.equal(true);
    up = false;
    await clock.advance(2_200); // two probes of peer 2 lost: not yet
    expect(peer2().reachable).to.equal(true);
    expect(peer2().misses).to.be.within(1, 2);
    await clock.advance(10_000);
    expect(peer2().reachable).to.equal(false);
    expect(prober.status().find((p) => p.target.subnet === target(1).subnet)!.reachable).to.equal(true);
    const down = log.messages('info').filter((m) => /peer 10\.0\.2\.0\/24 \(198\.18\.0\.2\) is unreachable: 3 probes in a row/.test(m));
    expect(down).to.have.length(1);
    up = true;
    await clock.advance(1_200);
    expect(peer2().reachable).to.equal(true);
    await clock.advance(5_000);
    expect(log.messages('info').filter((m) => /peer 10\.0\.2\.0\/24 .* is reachable again/.test(m))).to.have.length(1);
    expect(log.messages('info').filter((m) => /10\.0\.1\.0/.test(m))).to.deep.equal([]);
    prober.stop();
  });

  it('counts a send the kernel refuses as a miss, and says why', async () => {
    const clock = new FakeClock();
    const { echo } = fakeEcho(clock, () => 'error');
    const log = new RecordingLogger();
    const prober = new PeerProber({ intervalSeconds: 1, echo, clock, logger: log });
    prober.set(target(1));
    prober.start();
    await clock.advance(5_000);
    prober.stop();
    expect(prober.status()[0]!.reachable).to.equal(false);
    expect(log.has('info', /unreachable: 3 probes .*ENETUNREACH/)).to.equal(true);
  });

  it('stops probing a removed peer and forgets it', async () => {
    const clock = new FakeClock();
    const { echo, sent } = fakeEcho(clock, () => true);
    const prober = new PeerProber({ intervalSeconds: 1, echo, clock, logger: new RecordingLogger() });
    prober.set(target(1));
    prober.set(target(2));
    prober.start();
    await clock.advance(3_000);
    prober.delete(target(2).subnet);
    const before = sent.length;
    await clock.advance(5_000);
    prober.stop();
    expect(sent.slice(before).map((s) => s.address)).to.not.include(target(2).address);
    expect(sent.slice(before).length).to.be.above(3);
    expect(prober.status().map((p) => p.target.subnet)).to.deep.equal([target(1).subnet]);
  });

  it('finds the size that passes when full-size probes are lost, warns once naming the peer, and checks again after a lease change', async () => {
    const clock = new FakeClock();
    let pathMtu = 1400;
    const { echo, sent } = fakeEcho(clock, (_a, size) => size <= pathMtu);
    const log = new RecordingLogger();
    const prober = new PeerProber({
      intervalSeconds: 1,
      echo,
      clock,
      logger: log,
      mtuRecheckMs: 60_000,
      mtuAdvice: (works) => `Set "MTU": ${works + 50} in the vxlan Backend config`,
    });
    prober.set(target(7));
    prober.start();
    await clock.advance(30_000);
    const m = prober.status()[0]!.mtu;
    expect(m.state).to.equal('too-small');
    if (m.state !== 'too-small') return;
    expect(m.works).to.be.within(1392, 1400);
    const warnings = log.messages('warn');
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/path MTU to peer 10\.0\.7\.0\/24 \(198\.18\.0\.7\) .*1450-byte packets .* lost/);
    expect(warnings[0]).to.include(`${m.works}-byte ones pass`).and.include(`"MTU": ${m.works + 50}`);
    // Every probe of the search carried at most the overlay MTU.
    expect(Math.max(...sent.map((s) => s.size))).to.equal(1450);
    // The periodic re-check finds the same: no second warning.
    await clock.advance(70_000);
    expect(log.messages('warn')).to.have.length(1);
    // The path is fixed and the lease changes: checked again at once, and said to be fine.
    pathMtu = 1500;
    prober.set({ ...target(7), publicIP: '198.18.9.9' });
    await clock.advance(5_000);
    expect(prober.status()[0]!.mtu.state).to.equal('ok');
    prober.stop();
  });

  it('leaves the MTU unchecked while the peer does not answer at all', async () => {
    const clock = new FakeClock();
    let up = true;
    const { echo } = fakeEcho(clock, (_a, size) => up && size <= 1000);
    const log = new RecordingLogger();
    const prober = new PeerProber({ intervalSeconds: 1, echo, clock, logger: log });
    prober.set(target(3));
    prober.start();
    // The first answer queues the MTU check; the peer goes away before the search.
    await clock.advance(1_001);
    up = false;
    await clock.advance(10_000);
    expect(prober.status()[0]!.mtu.state).to.equal('unchecked');
    expect(log.messages('warn')).to.deep.equal([]);
    prober.stop();
  });
});
