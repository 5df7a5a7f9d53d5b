// Benchmark: program 5000 remote vxlan leases (neighbour + FDB + route each) through the backend and
// native layer, against the same entries written by `ip -batch` / `bridge -batch`, each in a fresh
// network namespace, in the same run. Prints both times, the ratio and this process's RSS.
import { execFile } from 'node:child_process';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createVxlanBackend } from '../backends/vxlan/backend.js';
import type { VxlanNetwork } from '../backends/vxlan/network.js';
import { openNative } from '../native/kernel.js';
import { IP4Net, parseIP4 } from '../common/ip.js';
import { silentLogger } from '../common/log.js';
import type { Lease } from '../subnet-lease/lease.js';
import { TestBed } from '../test/helpers/netns.js';
import { median, type Row } from './table.js';
import { MemoryLeaseStore, remoteLease, vxlanNetworkConfig } from '../test/helpers/memory-store.js';

const run = promisify(execFile);

interface Peer {
  subnet: string;
  net: string;
  publicIP: string;
  mac: string;
}

export function peers(n: number): Peer[] {
  return Array.from({ length: n }, (_, i) => {
    const net = `10.${1 + (i >> 8)}.${i & 255}.0`;
    const hex = (x: number): string => x.toString(16).padStart(2, '0');
    return { subnet: `${net}/24`, net, publicIP: `198.18.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`, mac: `0a:00:00:00:${hex(i >> 8)}:${hex(i & 255)}` };
  });
}

async function underlay(bed: TestBed): Promise<void> {
  const ns = bed.prefix;
  await bed.ip(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
  await bed.ip(ns, 'addr', 'add', '198.18.0.1/24', 'dev', 'eth0');
  await bed.ip(ns, 'link', 'set', 'eth0', 'up');
  await bed.ip(ns, 'link', 'set', 'peer0', 'up');
}

async function countEntries(bed: TestBed): Promise<string> {
  const ns = bed.prefix;
  const routes = (await bed.ip(ns, 'route', 'show', 'dev', 'flannel.1')).trim().split('\n').length;
  const neighs = (await bed.ip(ns, 'neigh', 'show', 'dev', 'flannel.1')).trim().split('\n').length;
  const fdb = (await run('bridge', ['-n', ns, 'fdb', 'show', 'dev', 'flannel.1'], { maxBuffer: 64 << 20 })).stdout.trim().split('\n').length;
  return `${routes} routes, ${neighs} neighbours, ${fdb} FDB entries`;
}

/** Our path: one lease batch into a running vxlan network; timed until the network is idle again. */
async function ours(list: Peer[], tag: string): Promise<{ ms: number; counts: string }> {
  const bed = await TestBed.single(tag);
  const native = openNative({ netns: bed.prefix });
  const ac = new AbortController();
  try {
    await underlay(bed);
    const config = vxlanNetworkConfig();
    config.network = IP4Net.parse('10.0.0.0/8');
    const store = new MemoryLeaseStore(config);
    const eth0 = (await native.linkGet('eth0'))!;
    const addr = parseIP4('198.18.0.1');
    const extIface = { name: 'eth0', index: eth0.index, mtu: 1500, ifaceAddr: addr, ifaceV6Addr: null, extAddr: addr, extV6Addr: null };
    const network = (await createVxlanBackend({ store, extIface, logger: silentLogger }, native, { reconcileIntervalMs: 600_000 }).registerNetwork(config, ac.signal)) as VxlanNetwork;
    const running = network.run(ac.signal);
    await network.whenIdle();
    const leases: Lease[] = list.map((p) => remoteLease(p.subnet, p.publicIP, p.mac));
    const t0 = process.hrtime.bigint();
    store.emit(leases.map((lease) => ({ type: 'added' as const, lease })));
    while (network.peerCount < list.length) await new Promise((r) => setImmediate(r));
    await network.whenIdle();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    ac.abort();
    await running;
    return { ms, counts: await countEntries(bed) };
  } finally {
    ac.abort();
    await native.close();
    await bed.destroy();
  }
}

/** The baseline: the same entries with iproute2's batch mode, in the reference's order. */
export async function batchTools(list: Peer[], tag: string): Promise<{ ms: number; counts: string }> {
  const bed = await TestBed.single(tag);
  const dir = await mkdtemp(join(tmpdir(), 'fl-bench-'));
  try {
    await underlay(bed);
    const ns = bed.prefix;
    await bed.ip(ns, 'link', 'add', 'flannel.1', 'address', '0a:ff:00:00:00:01', 'mtu', '1450', 'type', 'vxlan', 'id', '1', 'local', '198.18.0.1', 'dev', 'eth0', 'nolearning', 'dstport', '8472');
    await bed.ip(ns, 'addr', 'add', '10.0.1.0/32', 'dev', 'flannel.1');
    await bed.ip(ns, 'link', 'set', 'flannel.1', 'up');
    await writeFile(join(dir, 'neigh'), list.map((p) => `neigh replace ${p.net} lladdr ${p.mac} dev flannel.1 nud permanent\n`).join(''));
    await writeFile(join(dir, 'fdb'), list.map((p) => `fdb replace ${p.mac} dev flannel.1 dst ${p.publicIP} self permanent\n`).join(''));
    await writeFile(join(dir, 'route'), list.map((p) => `route replace ${p.subnet} via ${p.net} dev flannel.1 onlink\n`).join(''));
    const t0 = process.hrtime.bigint();
    await run('ip', ['-n', ns, '-batch', join(dir, 'neigh')]);
    await run('bridge', ['-n', ns, '-batch', join(dir, 'fdb')]);
    await run('ip', ['-n', ns, '-batch', join(dir, 'route')]);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { ms, counts: await countEntries(bed) };
  } finally {
    await rm(dir, { recursive: true, force: true });
    await bed.destroy();
  }
}


/** Runs the comparison `rounds` times (alternating) and prints every round and the medians. */
export async function benchVxlanProgram(n = 5000, rounds = 3): Promise<Row[]> {
  const list = peers(n);
  const a: number[] = [];
  const b: number[] = [];
  console.log(`vxlan: programming ${n} remote leases (neighbour + FDB + route each), ${rounds} rounds`);
  for (let r = 0; r < rounds; r++) {
    const x = await ours(list, `bench-ours${r}`);
    const y = await batchTools(list, `bench-ip${r}`);
    a.push(x.ms);
    b.push(y.ms);
    console.log(`  round ${r + 1}: flannel-ts ${x.ms.toFixed(0)} ms (${x.counts}); ip/bridge -batch ${y.ms.toFixed(0)} ms (${y.counts})`);
  }
  const mem = process.memoryUsage();
  console.log(`  median: flannel-ts ${median(a).toFixed(0)} ms, ip/bridge -batch ${median(b).toFixed(0)} ms, ratio ${(median(a) / median(b)).toFixed(2)} (goal <= 1.5)`);
  console.log(`  RSS after the runs: ${(mem.rss / 2 ** 20).toFixed(1)} MiB (heap used ${(mem.heapUsed / 2 ** 20).toFixed(1)} MiB)`);
  const ratio = median(a) / median(b);
  return [
    {
      what: `program ${n} remote leases (route + neighbour + FDB each) in a running vxlan network, median of ${rounds}`,
      ours: `${median(a).toFixed(0)} ms`,
      baseline: `\`ip -batch\` + \`bridge -batch\`: ${median(b).toFixed(0)} ms (ratio ${ratio.toFixed(2)})`,
      goal: 'ratio ≤ 1.5',
      met: ratio <= 1.5,
    },
  ];
}
