// Benchmark: flanneld (vxlan, etcd) starting next to N leases already in etcd, for several N.
//  - cold start: a fresh host; from process start until every route, neighbour and FDB entry is in the
//    kernel (counted from outside with `ip`/`bridge`);
//  - restart: the same host after SIGTERM (its N entries stay in the kernel); from process start until
//    the daemon has applied the snapshot (its "peers: N added" line), the entries still all there.
// Baseline in the same run: the same entries written by `ip -batch` + `bridge -batch` into a fresh
// namespace. Prints time per lease for each N and the ratio t(largest)/t(smallest).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startEtcd } from '../test/helpers/etcd.js';
import { FlanneldProcess, until } from '../test/helpers/flanneld.js';
import { TestBed } from '../test/helpers/netns.js';
import type { Row } from './table.js';
import { batchTools, peers } from './vxlan-program.js';

const run = promisify(execFile);

async function lines(argv: string[]): Promise<number> {
  const out = (await run(argv[0]!, argv.slice(1), { maxBuffer: 256 << 20 }).catch(() => ({ stdout: '' }))).stdout.trim();
  return out === '' ? 0 : out.split('\n').length;
}

export async function kernelCounts(ns: string): Promise<{ routes: number; neighs: number; fdb: number }> {
  const [routes, neighs, fdb] = await Promise.all([
    lines(['ip', '-n', ns, 'route', 'show', 'dev', 'flannel.1']),
    lines(['ip', '-n', ns, 'neigh', 'show', 'dev', 'flannel.1']),
    lines(['bridge', '-n', ns, 'fdb', 'show', 'dev', 'flannel.1', 'self', 'permanent']),
  ]);
  return { routes, neighs, fdb };
}

export async function rssMiB(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

/** The N whose RSS the goal names. */
const RSS_AT = 5000;

/** RSS 20-25 s after the entries are in: the largest of 6 samples a second apart; and the peak so far. */
async function steadyRss(pid: number): Promise<{ steady: number; peak: number }> {
  await new Promise((r) => setTimeout(r, 20_000));
  let steady = 0;
  let peak = 0;
  for (let i = 0; i < 6; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 1000));
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    steady = Math.max(steady, Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024);
    peak = Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024;
  }
  return { steady, peak };
}

interface StartFigures {
  n: number;
  coldMs: number;
  restartMs: number;
  rss: { steady: number; peak: number } | null;
  batchMs: number;
}

async function one(n: number): Promise<StartFigures> {
  const bed = await TestBed.create({ tag: `bench-st${n}`, hosts: 1 });
  const tmp = await mkdtemp(join(tmpdir(), 'fl-bench-start-'));
  const etcd = await startEtcd({ netns: bed.sw, listenHost: '198.18.0.254' });
  let daemon: FlanneldProcess | undefined;
  try {
    await etcd.etcdctl(['put', '/coreos.com/network/config', '{"Network":"10.0.0.0/8","Backend":{"Type":"vxlan"}}']);
    await bed.exec(bed.sw, [process.execPath, resolve('dist/bench/seed-leases.js'), etcd.endpoint, String(n)]);
    const subnetFile = join(tmp, 'subnet.env');
    let t0 = performance.now();
    daemon = new FlanneldProcess(bed, 1, subnetFile);
    await until(`${n} routes on flannel.1`, async () => (await lines(['ip', '-n', bed.host(1), 'route', 'show', 'dev', 'flannel.1'])) >= n, 180_000);
    const coldMs = performance.now() - t0;
    const cold = await kernelCounts(bed.host(1));
    if (cold.neighs < n || cold.fdb < n) throw new Error(`cold start: routes complete but ${JSON.stringify(cold)}`);
    // Holding N leases: once the start-up's garbage is collected (V8 shrinks the heap some seconds after
    // the burst), as the idle footprint is measured; the start-up peak (VmHWM) is printed beside it.
    const rss = n === RSS_AT ? await steadyRss(daemon.child.pid!) : null;
    await daemon.stop();
    t0 = performance.now();
    daemon = new FlanneldProcess(bed, 1, subnetFile);
    await until('the snapshot applied after the restart', () => /peers: \d+ added or updated/.test(daemon!.output()), 180_000);
    const restartMs = performance.now() - t0;
    const after = await kernelCounts(bed.host(1));
    if (after.routes < n || after.neighs < n || after.fdb < n) throw new Error(`restart: ${JSON.stringify(after)}`);
    const batch = await batchTools(peers(n), `bench-stb${n}`);
    return { n, coldMs, restartMs, rss, batchMs: batch.ms };
  } finally {
    await daemon?.kill();
    await etcd.stop();
    await bed.destroy();
    await rm(tmp, { recursive: true, force: true });
  }
}

const GOAL_MS: Record<number, number> = { 5000: 2000, 10000: 4000 };

export async function benchVxlanStart(sizes: readonly number[] = [1000, 5000, 10000]): Promise<Row[]> {
  const rows: Row[] = [];
  const figs: StartFigures[] = [];
  for (const n of sizes) {
    const f = await one(n);
    figs.push(f);
    console.log(
      `vxlan start with ${n} leases in etcd: cold ${f.coldMs.toFixed(0)} ms (${((f.coldMs * 1000) / n).toFixed(0)} µs/lease), ` +
        `restart ${f.restartMs.toFixed(0)} ms (${((f.restartMs * 1000) / n).toFixed(0)} µs/lease)${f.rss ? `, RSS ${f.rss.steady.toFixed(1)} MiB (start-up peak ${f.rss.peak.toFixed(1)})` : ''}; ` +
        `ip/bridge -batch of the same entries ${f.batchMs.toFixed(0)} ms`,
    );
    const goal = GOAL_MS[n];
    for (const [kind, ms] of [['cold start', f.coldMs], ['restart', f.restartMs]] as const) {
      rows.push({
        what: `${kind} with ${n} leases in etcd: ${kind === 'cold start' ? 'every route, neighbour and FDB entry in the kernel' : 'snapshot applied'} after process start`,
        ours: `${ms.toFixed(0)} ms (${((ms * 1000) / n).toFixed(0)} µs/lease)`,
        baseline: `\`ip -batch\` + \`bridge -batch\` of the same entries: ${f.batchMs.toFixed(0)} ms`,
        goal: goal ? `≤ ${goal} ms` : '',
        met: goal ? ms <= goal : undefined,
      });
    }
    if (f.rss) {
      rows.push({
        what: `RSS holding ${n} leases (etcd, vxlan), 20-25 s after they are in the kernel`,
        ours: `${f.rss.steady.toFixed(1)} MiB (start-up peak ${f.rss.peak.toFixed(1)} MiB)`,
        baseline: '',
        goal: '≤ 80 MiB',
        met: f.rss.steady <= 80,
      });
    }
  }
  if (figs.length >= 2) {
    const a = figs[0]!;
    const b = figs.at(-1)!;
    const ratio = b.coldMs / a.coldMs;
    const ideal = b.n / a.n;
    console.log(`vxlan start: t(${b.n})/t(${a.n}) = ${ratio.toFixed(1)} (linear would be ${ideal}; goal <= 12)`);
    rows.push({
      what: `cold start cost growth t(${b.n})/t(${a.n})`,
      ours: ratio.toFixed(1),
      baseline: `work grows ${ideal}×; \`ip -batch\`: ${(b.batchMs / a.batchMs).toFixed(1)}`,
      goal: '≤ 12',
      met: ratio <= 12,
    });
  }
  return rows;
}
