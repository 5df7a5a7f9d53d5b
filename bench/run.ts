// Runs the benchmarks and prints their figures (not a test: nothing here asserts). Needs root, as the
// benchmarks build their own network namespaces (named fl-<pid>-bench-*, removed afterwards).
// Usage: npm run bench [-- --leases N --rounds R]
import { benchVxlanColdStart } from './vxlan-cold-start.js';
import { benchVxlanProgram } from './vxlan-program.js';
import { benchUdp } from './udp.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

await benchVxlanProgram(arg('leases', 5000), arg('rounds', 3));
await benchVxlanColdStart(arg('leases', 5000));
await benchUdp(arg('seconds', 5), arg('rounds', 3));
