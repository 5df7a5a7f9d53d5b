// Benchmark: the idle cost of flanneld (vxlan, etcd) holding N leases. After every route is in the
// kernel and `settle` seconds more, CPU over `window` seconds from /proc/<pid>/stat, next to a bare
// idle `node` process measured the same way over the same window. Children (iptables runs) are
// reported apart. Returns the figures and prints them.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { startEtcd } from '../test/helpers/etcd.js';
import { FlanneldProcess, until } from '../test/helpers/flanneld.js';
import { TestBed } from '../test/helpers/netns.js';
import { cpuTicks, millicores } from './proc-cpu.js';

const run = promisify(execFile);

export interface VxlanIdleFigures {
  leases: number;
  windowSeconds: number;
  /** flanneld's own CPU (utime + stime), millicores. */
  flanneldMillicores: number;
  /** CPU of the processes flanneld ran and waited for (iptables), millicores. */
  flanneldChildrenMillicores: number;
  /** A bare `node` process doing nothing, millicores: the floor of any Node.js daemon. */
  bareNodeMillicores: number;
}

async function routeCount(bed: TestBed): Promise<number> {
  const out = (await run('ip', ['-n', bed.host(1), 'route', 'show', 'dev', 'flannel.1'], { maxBuffer: 64 << 20 }).catch(() => ({ stdout: '' }))).stdout.trim();
  return out === '' ? 0 : out.split('\n').length;
}

/** `fullPassSeconds` (default: flanneld's own, 5 min) shows what a frequent full pass would cost. */
export async function benchVxlanIdle(n = 5000, windowSeconds = 60, settleSeconds = 10, fullPassSeconds?: number): Promise<VxlanIdleFigures> {
  const bed = await TestBed.create({ tag: 'bench-idle', hosts: 1 });
  const tmp = await mkdtemp(join(tmpdir(), 'fl-bench-idle-'));
  const etcd = await startEtcd({ netns: bed.sw, listenHost: '198.18.0.254' });
  let daemon: FlanneldProcess | undefined;
  try {
    await etcd.etcdctl(['put', '/coreos.com/network/config', '{"Network":"10.0.0.0/8","Backend":{"Type":"vxlan"}}']);
    await bed.exec(bed.sw, [process.execPath, resolve('dist/bench/seed-leases.js'), etcd.endpoint, String(n)]);
    daemon = new FlanneldProcess(bed, 1, join(tmp, 'subnet.env'), [], fullPassSeconds ? { FLANNEL_TS_VXLAN_FULL_PASS_SECONDS: String(fullPassSeconds) } : {});
    await daemon.waitForSubnetEnv(60_000);
    await until(`${n} routes on flannel.1`, async () => (await routeCount(bed)) >= n, 180_000);
    await sleep(settleSeconds * 1000);
    const bare = bed.spawn(bed.host(1), [process.execPath, '-e', 'setInterval(() => {}, 1 << 30)']);
    await sleep(1000); // past the bare process's start-up
    const pid = daemon.child.pid!;
    const [d0, b0] = [await cpuTicks(pid), await cpuTicks(bare.pid!)];
    await sleep(windowSeconds * 1000);
    const [d1, b1] = [await cpuTicks(pid), await cpuTicks(bare.pid!)];
    bare.kill('SIGKILL');
    const figures: VxlanIdleFigures = {
      leases: n,
      windowSeconds,
      flanneldMillicores: millicores(d0.self, d1.self, windowSeconds),
      flanneldChildrenMillicores: millicores(d0.children, d1.children, windowSeconds),
      bareNodeMillicores: millicores(b0.self, b1.self, windowSeconds),
    };
    console.log(
      `vxlan idle, ${n} leases, ${windowSeconds} s after settling${fullPassSeconds ? `, full pass every ~${fullPassSeconds} s` : ''}: flanneld ${figures.flanneldMillicores.toFixed(1)} millicores ` +
        `(+${figures.flanneldChildrenMillicores.toFixed(1)} in iptables children) (goal <= 10); bare idle node ${figures.bareNodeMillicores.toFixed(1)} millicores`,
    );
    return figures;
  } finally {
    await daemon?.kill();
    await etcd.stop();
    await bed.destroy();
    await rm(tmp, { recursive: true, force: true });
  }
}
