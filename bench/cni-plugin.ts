// Benchmark: ADD+DEL pairs per second through the flannel plugin (→ bridge + host-local) versus
// calling bridge directly with the very config flannel hands it, in the same run, in a fresh host
// namespace and pod namespace; and the plugin's own start-up time (VERSION wall time). The plugin is
// the shipped native executable, dist/cni/flannel, run with the environment a container runtime
// gives it.
//   sudo node dist/bench/cni-plugin.js [--pairs 60] [--startups 40]
// The outer process builds the namespaces and runs itself inside the host namespace (`--inner`),
// so every plugin is spawned directly, without an `ip netns exec` in the timed path.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestBed } from '../test/helpers/netns.js';

const SELF = fileURLToPath(import.meta.url);
const PLUGIN = resolve(SELF, '../../cni/flannel');
const MARK = 'cni-bench-figures ';

/** What benchCniPlugin returns: throughput of both and the plugin's median cost per call over bridge. */
export interface CniBenchFigures {
  pluginPairsPerSec: number;
  bridgePairsPerSec: number;
  overheadMsPerCall: number;
}
const SUBNET_ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';

interface InnerArgs {
  tmp: string;
  podNs: string;
  pairs: number;
  startups: number;
}

function option(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** Runs the benchmark (root), prints the table and returns the figures. */
export async function benchCniPlugin(opts: { pairs?: number; startups?: number } = {}): Promise<CniBenchFigures> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark builds network namespaces');
  const host = await TestBed.single('bench-cni-h');
  const pod = await TestBed.single('bench-cni-p');
  const tmp = mkdtempSync(join(tmpdir(), 'fl-bench-cni-'));
  try {
    mkdirSync(join(tmp, 'bin'));
    symlinkSync(PLUGIN, join(tmp, 'bin', 'flannel'));
    writeFileSync(join(tmp, 'subnet.env'), SUBNET_ENV);
    const args: InnerArgs = { tmp, podNs: pod.prefix, pairs: opts.pairs ?? 60, startups: opts.startups ?? 40 };
    const env = { ...process.env };
    delete env['NODE_EXTRA_CA_CERTS'];
    delete env['NODE_OPTIONS'];
    const r = spawnSync('ip', ['netns', 'exec', host.prefix, process.execPath, SELF, '--inner', JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', env,
    });
    if (r.status !== 0) throw new Error(`the benchmark inside ${host.prefix} failed (status ${r.status})`);
    const lines = r.stdout.split('\n');
    process.stdout.write(lines.filter((l) => !l.startsWith(MARK)).join('\n'));
    const figures = lines.find((l) => l.startsWith(MARK));
    if (figures === undefined) throw new Error('the benchmark printed no figures');
    return JSON.parse(figures.slice(MARK.length)) as CniBenchFigures;
  } finally {
    await pod.destroy();
    await host.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}

interface Invoker {
  tmp: string;
  podNs: string;
}

/** Runs a plugin once; throws with its output when it fails. Returns the wall time in ms. */
function invoke(inv: Invoker, path: string, command: string, containerId: string, config: string): number {
  const env = {
    PATH: `${process.env['PATH'] ?? '/usr/bin:/bin'}:${resolve(process.execPath, '..')}`,
    CNI_COMMAND: command,
    CNI_CONTAINERID: containerId,
    CNI_NETNS: `/run/netns/${inv.podNs}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: `${join(inv.tmp, 'bin')}:/usr/lib/cni`,
  };
  const t0 = process.hrtime.bigint();
  const r = spawnSync(path, [], { env, input: config, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${path} ${command} failed: ${r.stdout} ${r.stderr}`);
  return ms;
}

function flannelConf(tmp: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0', name: 'benchnet', type: 'flannel', subnetFile: join(tmp, 'subnet.env'),
    dataDir: join(tmp, 'flannel'), ipam: { dataDir: join(tmp, 'host-local') },
  });
}

/** Times `pairs` ADD+DEL pairs of each kind, interleaved so both see the same machine load. */
function pairs(inv: Invoker, n: number): { flannel: number[]; bridge: number[] } {
  const flannel = join(inv.tmp, 'bin', 'flannel');
  const fconf = flannelConf(inv.tmp);
  // The delegate config flannel renders, taken from its saved copy, for bridge to run directly.
  invoke(inv, flannel, 'ADD', 'probe', fconf);
  const bconf = readFileSync(join(inv.tmp, 'flannel', 'probe'), 'utf8');
  invoke(inv, flannel, 'DEL', 'probe', fconf);
  const out = { flannel: [] as number[], bridge: [] as number[] };
  for (let i = -3; i < n; i++) {
    const f = invoke(inv, flannel, 'ADD', `f${i}`, fconf) + invoke(inv, flannel, 'DEL', `f${i}`, fconf);
    const b = invoke(inv, '/usr/lib/cni/bridge', 'ADD', `b${i}`, bconf) + invoke(inv, '/usr/lib/cni/bridge', 'DEL', `b${i}`, bconf);
    if (i >= 0) {
      out.flannel.push(f);
      out.bridge.push(b);
    }
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Median VERSION wall time of each command, run round-robin so every one sees the same machine load. */
function startups(argvs: string[][], n: number, env: NodeJS.ProcessEnv): number[] {
  const times: number[][] = argvs.map(() => []);
  for (let i = -2; i < n; i++) {
    argvs.forEach((argv, k) => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
      if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stdout} ${r.stderr}`);
      if (i >= 0) times[k]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  }
  return times.map(median);
}

function inner(args: InnerArgs): void {
  const p = pairs(args, args.pairs);
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const fRate = (1000 * p.flannel.length) / sum(p.flannel);
  const bRate = (1000 * p.bridge.length) / sum(p.bridge);
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', CNI_COMMAND: 'VERSION' };
  const [flannelUp, bridgeUp, nodeUp] = startups([[PLUGIN], ['/usr/lib/cni/bridge'], [process.execPath, '-e', '']], args.startups, env) as [
    number,
    number,
    number,
  ];
  const f2 = (x: number): string => x.toFixed(1);
  console.log(`cni plugin benchmark: ${args.pairs} ADD+DEL pairs each (after 3 warm-up pairs), interleaved, fresh namespaces`);
  console.log(`  flannel -> bridge + host-local : ${f2(fRate)} pairs/s  (median ${f2(median(p.flannel))} ms/pair)`);
  console.log(`  bridge + host-local directly   : ${f2(bRate)} pairs/s  (median ${f2(median(p.bridge))} ms/pair)`);
  const overhead = (median(p.flannel) - median(p.bridge)) / 2;
  console.log(`  ratio flannel/bridge throughput: ${(fRate / bRate).toFixed(2)}  (flannel adds ${f2(overhead)} ms per call, median; goal <= 25)`);
  console.log(`  start-up, VERSION wall time, median of ${args.startups} (round-robin):`);
  console.log(`    flannel (native) ${f2(flannelUp)} ms | Debian bridge ${f2(bridgeUp)} ms | bare \`node -e ''\` (node ${process.version}) ${f2(nodeUp)} ms, what a plugin in Node pays before its first line`);
  const figures: CniBenchFigures = { pluginPairsPerSec: fRate, bridgePairsPerSec: bRate, overheadMsPerCall: overhead };
  console.log(`${MARK}${JSON.stringify(figures)}`);
}

if (process.argv[2] === '--inner') {
  inner(JSON.parse(process.argv[3]!) as InnerArgs);
} else if (process.argv[1] === SELF) {
  benchCniPlugin({ pairs: option('--pairs', 60), startups: option('--startups', 40) }).then(() => undefined).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
