// Runs the benchmarks and prints their figures, then the README's performance table (markdown) built
// from this one run: the README's figures are pasted from it, never typed. Not a test: nothing here
// asserts. Needs root, as the benchmarks build their own network namespaces (fl-<pid>-bench-*, removed
// afterwards).
// Usage: npm run bench [-- --only start,footprint --leases N --rounds R --sizes 1000,5000,10000]
import { benchFootprint } from './footprint.js';
import { markdownTable, type Row } from './table.js';
import { benchUdp } from './udp.js';
import { benchVxlanProgram } from './vxlan-program.js';
import { benchVxlanStart } from './vxlan-start.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
}
const num = (name: string, dflt: number): number => Number(arg(name, String(dflt)));

const BENCHES: ReadonlyArray<[string, () => Promise<Row[]>]> = [
  ['program', () => benchVxlanProgram(num('leases', 5000), num('rounds', 3))],
  ['start', () => benchVxlanStart(arg('sizes', '1000,5000,10000').split(',').map(Number))],
  ['footprint', () => benchFootprint()],
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
