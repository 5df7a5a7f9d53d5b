// Benchmark: N vxlan leases already in etcd, then flanneld starts on a fresh host: the time until
// subnet.env is written and until every route, neighbour and FDB entry is in the kernel, and the
// daemon's RSS afterwards. The figures of `ip -batch` for the same entries come from vxlan-program.ts.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startEtcd } from '../test/helpers/etcd.js';
import { FlanneldProcess, until } from '../test/helpers/flanneld.js';
import { TestBed } from '../test/helpers/netns.js';

const run = promisify(execFile);

async function entryCount(bed: TestBed, what: 'route' | 'neigh'): Promise<number> {
  const out = (await run('ip', ['-n', bed.host(1), what, 'show', 'dev', 'flannel.1'], { maxBuffer: 64 << 20 }).catch(() => ({ stdout: '' }))).stdout;
  return out.trim() === '' ? 0 : out.trim().split('\n').length;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

export async function benchVxlanColdStart(n = 5000): Promise<void> {
  const bed = await TestBed.create({ tag: 'bench-cold', hosts: 1 });
  const tmp = await mkdtemp(join(tmpdir(), 'fl-bench-cold-'));
  const etcd = await startEtcd({ netns: bed.sw, listenHost: '198.18.0.254' });
  let daemon: FlanneldProcess | undefined;
  try {
    await etcd.etcdctl(['put', '/coreos.com/network/config', '{"Network":"10.0.0.0/8","Backend":{"Type":"vxlan"}}']);
    const seeded = await bed.exec(bed.sw, [process.execPath, resolve('dist/bench/seed-leases.js'), etcd.endpoint, String(n)]);
    process.stdout.write(`cold start: ${seeded.trim()}\n`);
    const t0 = performance.now();
    daemon = new FlanneldProcess(bed, 1, join(tmp, 'subnet.env'));
    await daemon.waitForSubnetEnv(60_000);
    const tEnv = performance.now() - t0;
    await until(`${n} routes on flannel.1`, async () => (await entryCount(bed, 'route')) >= n, 120_000);
    const tRoutes = performance.now() - t0;
    const neighs = await entryCount(bed, 'neigh');
    const rss = await rssMiB(daemon.child.pid!);
    process.stdout.write(
      `cold start with ${n} leases in etcd: subnet.env after ${tEnv.toFixed(0)} ms, all ${n} routes after ${tRoutes.toFixed(0)} ms ` +
        `(${neighs} neighbours) (goal <= 2000 ms); flanneld RSS ${rss.toFixed(1)} MiB\n`,
    );
  } finally {
    await daemon?.kill();
    await etcd.stop();
    await bed.destroy();
    await rm(tmp, { recursive: true, force: true });
  }
}
