// Benchmark: lease written in etcd → route in the kernel of a host running flanneld (vxlan) that
// already follows N other leases, measured from outside the daemon: a writer in the switch namespace
// puts `writes` new leases one at a time; `ip monitor route` in the host's namespace and a plain
// `etcdctl watch` (the baseline: how fast anyone can hear of a write) report to this process, which
// stamps each line on arrival. flanneld runs with a short full-pass period, so some writes land while
// a full pass runs. Returns the figures and prints them.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startEtcd } from '../test/helpers/etcd.js';
import { FlanneldProcess, until } from '../test/helpers/flanneld.js';
import { TestBed } from '../test/helpers/netns.js';

const run = promisify(execFile);
const now = (): number => performance.timeOrigin + performance.now();

export interface LatencyFigures {
  p50: number;
  p99: number;
  max: number;
  count: number;
}

export interface VxlanEventLatencyFigures {
  leases: number;
  fullPassSeconds: number;
  /** Write → route visible in the host's namespace, ms. */
  route: LatencyFigures;
  /** Write → `etcdctl watch` prints the event, ms (baseline). */
  etcdWatch: LatencyFigures;
}

/** Stamps the lines of `child`'s stdout; `key` picks the subnet key a line is about, or null. */
function stampLines(child: ChildProcess, key: (line: string) => string | null, into: Map<string, number>): void {
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const t = now();
    const k = key(line);
    if (k && !into.has(k)) into.set(k, t);
  });
}

function figures(writes: Map<string, number>, seen: Map<string, number>): LatencyFigures {
  const d = [...writes].flatMap(([k, t]) => (seen.has(k) ? [seen.get(k)! - t] : [])).sort((a, b) => a - b);
  const q = (p: number): number => d[Math.min(d.length - 1, Math.ceil(p * d.length) - 1)] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), max: d[d.length - 1] ?? NaN, count: d.length };
}

const fmt = (f: LatencyFigures): string => `p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms, max ${f.max.toFixed(1)} ms (${f.count} writes)`;

async function routeCount(bed: TestBed): Promise<number> {
  const out = (await run('ip', ['-n', bed.host(1), 'route', 'show', 'dev', 'flannel.1'], { maxBuffer: 64 << 20 }).catch(() => ({ stdout: '' }))).stdout.trim();
  return out === '' ? 0 : out.split('\n').length;
}

export async function benchVxlanEventLatency(n = 5000, writes = 200, spacingMs = 100, fullPassSeconds = 3): Promise<VxlanEventLatencyFigures> {
  const bed = await TestBed.create({ tag: 'bench-lat', hosts: 1 });
  const tmp = await mkdtemp(join(tmpdir(), 'fl-bench-lat-'));
  const etcd = await startEtcd({ netns: bed.sw, listenHost: '198.18.0.254' });
  let daemon: FlanneldProcess | undefined;
  try {
    await etcd.etcdctl(['put', '/coreos.com/network/config', '{"Network":"10.0.0.0/8","Backend":{"Type":"vxlan"}}']);
    await bed.exec(bed.sw, [process.execPath, resolve('dist/bench/seed-leases.js'), etcd.endpoint, String(n)]);
    daemon = new FlanneldProcess(bed, 1, join(tmp, 'subnet.env'), [], { FLANNEL_TS_VXLAN_FULL_PASS_SECONDS: String(fullPassSeconds) });
    await daemon.waitForSubnetEnv(60_000);
    await until(`${n} routes on flannel.1`, async () => (await routeCount(bed)) >= n, 180_000);
    const routes = new Map<string, number>();
    const watched = new Map<string, number>();
    const written = new Map<string, number>();
    const monitor = bed.spawn(bed.host(1), ['ip', 'monitor', 'route']);
    stampLines(monitor, (l) => (/^(\d+\.\d+\.\d+\.\d+)\/(\d+) via .* dev flannel\.1/.exec(l)?.slice(1, 3).join('-') ?? null), routes);
    const watcher = bed.spawn(bed.sw, ['etcdctl', '--endpoints', etcd.endpoint, 'watch', '--prefix', '/coreos.com/network/subnets/']);
    stampLines(watcher, (l) => /^\/coreos\.com\/network\/subnets\/(.+)$/.exec(l)?.[1] ?? null, watched);
    await new Promise((r) => setTimeout(r, 1000)); // both listeners connected
    const writer = bed.spawn(bed.sw, [process.execPath, resolve('dist/bench/lease-writer.js'), etcd.endpoint, String(n), String(writes), String(spacingMs)]);
    createInterface({ input: writer.stdout! }).on('line', (l) => {
      const m = /^W (\S+) ([\d.]+)$/.exec(l);
      if (m) written.set(m[1]!, Number(m[2]));
    });
    await new Promise((r) => writer.once('exit', r));
    await until('every route', () => [...written.keys()].every((k) => routes.has(k)), 30_000).catch(() => undefined);
    monitor.kill();
    watcher.kill();
    const out: VxlanEventLatencyFigures = { leases: n, fullPassSeconds, route: figures(written, routes), etcdWatch: figures(written, watched) };
    console.log(`vxlan event latency, ${n} other leases, ${written.size} writes ${spacingMs} ms apart, full pass every ~${fullPassSeconds} s:`);
    console.log(`  write -> route in the peer's kernel: ${fmt(out.route)} (goal p99 <= 50 ms)`);
    console.log(`  write -> etcdctl watch event (baseline): ${fmt(out.etcdWatch)}`);
    return out;
  } finally {
    await daemon?.kill();
    await etcd.stop();
    await bed.destroy();
    await rm(tmp, { recursive: true, force: true });
  }
}
