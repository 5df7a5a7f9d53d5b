// Runs the benchmarks and prints their figures, then the README's performance table (markdown) built
// from this one run: the README's figures are pasted from it, never typed. Not a test: nothing here
// asserts. Needs root, as the benchmarks build their own network namespaces (fl-<pid>-bench-*, removed
// afterwards).
// Usage: npm run bench [-- --only program,start,footprint,kube,cni,idle,latency,udp --leases N --rounds R
//        --sizes 1000,5000,10000 --idle-seconds S --writes W]
import { LAUNCHER_ENV, LAUNCHER_FLAGS, benchFootprint } from './footprint.js';
import { benchKubeColdStart } from './kube-cold-start.js';
import { benchCniPlugin } from './cni-plugin.js';
import { markdownTable, type Row } from './table.js';
import { benchUdp } from './udp.js';
import { benchVxlanProgram } from './vxlan-program.js';
import { benchVxlanStart } from './vxlan-start.js';
import { benchVxlanIdle } from './vxlan-idle.js';
import { benchVxlanEventLatency } from './vxlan-event-latency.js';

async function idleRows(): Promise<Row[]> {
  const f = await benchVxlanIdle(num('leases', 5000), num('idle-seconds', 60));
  return [
    {
      what: `idle CPU holding ${f.leases} leases (vxlan, etcd), over ${f.windowSeconds} s after settling`,
      ours: `${f.flanneldMillicores.toFixed(1)} millicores (+${f.flanneldChildrenMillicores.toFixed(1)} in the iptables checks it runs)`,
      baseline: `bare idle \`node\`: ${f.bareNodeMillicores.toFixed(1)} millicores`,
      goal: '≤ 10 millicores',
      met: f.flanneldMillicores + f.flanneldChildrenMillicores <= 10,
    },
  ];
}

async function latencyRows(): Promise<Row[]> {
  const f = await benchVxlanEventLatency(num('leases', 5000), num('writes', 200), 100, 3);
  return [
    {
      what: `lease written in etcd → its route in a peer's kernel (seen by \`ip monitor\`), ${f.route.count} writes with ${f.leases} other leases, a full repair pass every ~${f.fullPassSeconds} s`,
      ours: `p50 ${f.route.p50.toFixed(1)} ms, p99 ${f.route.p99.toFixed(1)} ms`,
      baseline: `\`etcdctl watch\` sees the write: p50 ${f.etcdWatch.p50.toFixed(1)} ms, p99 ${f.etcdWatch.p99.toFixed(1)} ms`,
      goal: 'p99 ≤ 50 ms',
      met: f.route.p99 <= 50,
    },
  ];
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
}
const num = (name: string, dflt: number): number => Number(arg(name, String(dflt)));

async function kubeRows(): Promise<Row[]> {
  const n = num('nodes', 5000);
  const big = await benchKubeColdStart(n, { nodeFlags: LAUNCHER_FLAGS, env: LAUNCHER_ENV });
  const idle = await benchKubeColdStart(3, { nodeFlags: LAUNCHER_FLAGS, env: LAUNCHER_ENV });
  return [
    {
      what: `kube mode, ${n} Nodes of ~10 KB (fake API server, paginated list): every route, neighbour and FDB entry in the kernel after process start`,
      ours: `${big.allEntriesMs.toFixed(0)} ms`,
      baseline: `subnet.env after ${big.subnetEnvMs.toFixed(0)} ms`,
      goal: '≤ 5000 ms',
      met: big.allEntriesMs <= 5000,
    },
    { what: `RSS holding ${n} Nodes (kube, vxlan)`, ours: `${big.flanneldRssMiB.toFixed(1)} MiB`, baseline: `bare idle \`node\`: ${big.bareNodeRssMiB.toFixed(1)} MiB`, goal: '≤ 100 MiB', met: big.flanneldRssMiB <= 100 },
    { what: 'idle RSS, kube mode (vxlan, 3 Nodes)', ours: `${idle.flanneldRssMiB.toFixed(1)} MiB`, baseline: `bare idle \`node\`: ${idle.bareNodeRssMiB.toFixed(1)} MiB`, goal: '≤ 60 MiB', met: idle.flanneldRssMiB <= 60 },
  ];
}

async function cniRows(): Promise<Row[]> {
  const f = await benchCniPlugin({ pairs: num('pairs', 40) });
  return [
    {
      what: 'CNI plugin: ADD+DEL pairs per second through \`flannel\` (→ bridge → host-local), and its median cost per call over calling bridge directly',
      ours: `${f.pluginPairsPerSec.toFixed(1)} pairs/s, +${f.overheadMsPerCall.toFixed(0)} ms per call`,
      baseline: `\`bridge\` called directly: ${f.bridgePairsPerSec.toFixed(1)} pairs/s`,
      goal: '≤ 25 ms per call',
      met: f.overheadMsPerCall <= 25,
    },
  ];
}

const BENCHES: ReadonlyArray<[string, () => Promise<Row[]>]> = [
  ['program', () => benchVxlanProgram(num('leases', 5000), num('rounds', 3))],
  ['start', () => benchVxlanStart(arg('sizes', '1000,5000,10000').split(',').map(Number))],
  ['footprint', () => benchFootprint()],
  ['kube', () => kubeRows()],
  ['cni', () => cniRows()],
  ['idle', () => idleRows()],
  ['latency', () => latencyRows()],
  ['udp', () => benchUdp(num('seconds', 5), num('rounds', 3))],
];

const only = arg('only', '').split(',').filter(Boolean);
const rows: Row[] = [];
for (const [name, bench] of BENCHES) {
  if (only.length > 0 && !only.includes(name)) continue;
  rows.push(...(await bench()));
}
console.log(`\nPerformance (npm run bench, ${new Date().toISOString().slice(0, 10)}, ${(await import('node:os')).cpus().length} cores, Node ${process.version}):\n`);
console.log(markdownTable(rows));
