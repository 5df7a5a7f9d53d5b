// Benchmark: kube mode cold start. The fake API server (in the switch namespace) holds n Nodes of
// realistic size (~10 KB each: ~40 images, conditions, managedFields), each with a podCIDR and the
// flannel vxlan annotations of a distinct public IP and VtepMAC; flanneld --kube-subnet-mgr starts on a
// fresh host: the time until subnet.env is written and until all n routes, neighbours and FDB entries
// are on flannel.1, the daemon's RSS once settled, and the RSS of a bare idle `node` in the same run.
//   benchKubeColdStart(5000)                                    plain `node dist/flanneld/main.js`
//   benchKubeColdStart(5000, { nodeFlags: ['--lite-mode'] })    with V8 flags before the script
//   benchKubeColdStart(3)                                       the idle kube-mode RSS figure
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { RemoteFakeApi } from '../test/helpers/fake-apiserver-remote.js';
import { FLANNELD, SWITCH_ADDR, until } from '../test/helpers/flanneld.js';
import { TestBed } from '../test/helpers/netns.js';

const run = promisify(execFile);
const TOKEN = 'bench-token';

export interface KubeColdStartOptions {
  /** V8/node flags put before the script. */
  nodeFlags?: string[];
  /** Environment variables for the daemon (the launcher's, when its flags are given). */
  env?: Readonly<Record<string, string>>;
  /** The flanneld entry point (default dist/flanneld/main.js of this checkout). */
  flanneld?: string;
}

export interface KubeColdStartFigures {
  nodes: number;
  subnetEnvMs: number;
  allEntriesMs: number;
  routes: number;
  neighbours: number;
  fdb: number;
  flanneldRssMiB: number;
  bareNodeRssMiB: number;
}

async function lines(argv: string[]): Promise<number> {
  const out = (await run(argv[0]!, argv.slice(1), { maxBuffer: 64 << 20 }).catch(() => ({ stdout: '' }))).stdout.trim();
  return out === '' ? 0 : out.split('\n').length;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** The node process itself (`ip netns exec` execs it, so the spawned PID is node's after the exec). */
async function settledRss(child: ChildProcess, ms = 3000): Promise<number> {
  await new Promise((r) => setTimeout(r, ms));
  return rssMiB(child.pid!);
}

async function startFakeApi(bed: TestBed, tmp: string, n: number): Promise<RemoteFakeApi> {
  const socket = join(tmp, 'api.sock');
  const child = bed.spawn(bed.sw, [process.execPath, resolve('dist/test/helpers/fake-apiserver-main.js'), `--host=${SWITCH_ADDR}`, '--port=6443', `--token=${TOKEN}`, `--socket=${socket}`, `--seed=${n}`]);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  await until(`the fake API server to listen (${out})`, () => out.includes('listening '), 300_000);
  return new RemoteFakeApi(socket, TOKEN);
}

export async function benchKubeColdStart(n: number, opts: KubeColdStartOptions = {}): Promise<KubeColdStartFigures> {
  const bed = await TestBed.create({ tag: 'bench-kube', hosts: 1 });
  const tmp = await mkdtemp(join(tmpdir(), 'fl-bench-kube-'));
  const ns = bed.host(1);
  try {
    const api = await startFakeApi(bed, tmp, n);
    await api.createNode({ metadata: { name: 'bench-host' }, spec: { podCIDR: '10.250.0.0/24', podCIDRs: ['10.250.0.0/24'] } });
    const kubeconfig = JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'k', cluster: { server: `http://${SWITCH_ADDR}:6443` } }],
      users: [{ name: 'u', user: { token: TOKEN } }],
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
    });
    await writeFile(join(tmp, 'kubeconfig'), kubeconfig);
    await writeFile(join(tmp, 'net-conf.json'), '{"Network":"10.0.0.0/8","Backend":{"Type":"vxlan"}}');
    const bare = bed.spawn(ns, [process.execPath, '-e', 'setInterval(() => {}, 1 << 30)']);
    const bareNodeRssMiB = await settledRss(bare, 1000);
    bare.kill('SIGKILL');
    const subnetFile = join(tmp, 'subnet.env');
    const t0 = performance.now();
    const daemon = bed.spawn(ns, [
      'env', 'NODE_NAME=bench-host', ...Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`), process.execPath, ...(opts.nodeFlags ?? []), opts.flanneld ?? FLANNELD,
      '--kube-subnet-mgr', `--kubeconfig-file=${join(tmp, 'kubeconfig')}`, `--net-config-path=${join(tmp, 'net-conf.json')}`,
      '--iface=eth0', `--subnet-file=${subnetFile}`,
    ]);
    let log = '';
    daemon.stderr?.on('data', (b: Buffer) => (log += b.toString()));
    daemon.stdout?.on('data', (b: Buffer) => (log += b.toString()));
    await until(`subnet.env (log: ${log.slice(-2000)})`, async () => (await readFile(subnetFile, 'utf8').catch(() => '')) !== '', 120_000);
    const subnetEnvMs = performance.now() - t0;
    const count = {
      routes: () => lines(['ip', '-n', ns, 'route', 'show', 'dev', 'flannel.1']),
      neighbours: () => lines(['ip', '-n', ns, 'neigh', 'show', 'dev', 'flannel.1']),
      fdb: () => lines(['bridge', '-n', ns, 'fdb', 'show', 'dev', 'flannel.1']),
    };
    await until(`${n} routes, neighbours, FDB entries on flannel.1 (log: ${log.slice(-2000)})`, async () => (await count.routes()) >= n && (await count.neighbours()) >= n && (await count.fdb()) >= n, 300_000);
    const allEntriesMs = performance.now() - t0;
    const figures: KubeColdStartFigures = {
      nodes: n, subnetEnvMs, allEntriesMs,
      routes: await count.routes(), neighbours: await count.neighbours(), fdb: await count.fdb(),
      flanneldRssMiB: await settledRss(daemon), bareNodeRssMiB,
    };
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    if (process.env.KUBE_BENCH_LOG) await writeFile(process.env.KUBE_BENCH_LOG, log);
    const envText = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v} `).join('');
    const flags = opts.nodeFlags?.length ? ` (${envText}node ${opts.nodeFlags.join(' ')})` : '';
    process.stdout.write(
      `kube cold start with ${n} realistic Nodes${flags}: subnet.env after ${subnetEnvMs.toFixed(0)} ms, all ${figures.routes} routes / ` +
        `${figures.neighbours} neighbours / ${figures.fdb} FDB entries after ${allEntriesMs.toFixed(0)} ms (goal <= 5000 ms); ` +
        `flanneld RSS ${figures.flanneldRssMiB.toFixed(1)} MiB (goal <= ${n > 100 ? 100 : 60}), bare node ${bareNodeRssMiB.toFixed(1)} MiB\n`,
    );
    return figures;
  } finally {
    await bed.destroy();
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Run directly: `node dist/bench/kube-cold-start.js [n] [node flags…]`. */
if (process.argv[1] && resolve(process.argv[1]) === resolve('dist/bench/kube-cold-start.js')) {
  const [n = '5000', ...flags] = process.argv.slice(2);
  await benchKubeColdStart(Number(n), { nodeFlags: flags });
}
