// Benchmark: the resident memory of an idle flanneld (etcd, vxlan, two other hosts' leases, the health
// port on), next to a bare idle `node` started with the same flags in the same run, and what importing
// each runtime dependency costs a bare node (check this when adding a dependency).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEtcd } from '../test/helpers/etcd.js';
import { FlanneldProcess } from '../test/helpers/flanneld.js';
import { TestBed } from '../test/helpers/netns.js';
import type { Row } from './table.js';
import { rssMiB } from './vxlan-start.js';

/** The flags flanneld/flanneld passes to node (kept in step by hand: the launcher is a shell script). */
export const LAUNCHER_FLAGS = ['--max-semi-space-size=1', '--lite-mode', '--no-expose-wasm'];
/** The environment the launcher sets (the same script). */
export const LAUNCHER_ENV = { MALLOC_ARENA_MAX: '1' };
const SETTLE_MS = 20_000;

/** RSS of `node <flags> -e <code>` after it has idled for `settleMs`. */
async function nodeRss(flags: readonly string[], code: string, settleMs = 5000): Promise<number> {
  const child = spawn(process.execPath, [...flags, '--input-type=module', '-e', `${code}; setInterval(() => {}, 1 << 30);`], {
    stdio: 'ignore',
    env: flags.length > 0 ? { ...process.env, ...LAUNCHER_ENV } : process.env,
  });
  try {
    await new Promise((r) => setTimeout(r, settleMs));
    return await rssMiB(child.pid!);
  } finally {
    child.kill('SIGKILL');
  }
}

async function idleFlanneld(): Promise<number> {
  const bed = await TestBed.create({ tag: 'bench-fp', hosts: 1 });
  const tmp = await mkdtemp(join(tmpdir(), 'fl-bench-fp-'));
  const etcd = await startEtcd({ netns: bed.sw, listenHost: '198.18.0.254' });
  let daemon: FlanneldProcess | undefined;
  try {
    await etcd.etcdctl(['put', '/coreos.com/network/config', '{"Network":"10.0.0.0/8","Backend":{"Type":"vxlan"}}']);
    await bed.exec(bed.sw, [process.execPath, resolve('dist/bench/seed-leases.js'), etcd.endpoint, '2']);
    // With the health port on, as kube-flannel.yml, the snap and the systemd unit run it.
    daemon = new FlanneldProcess(bed, 1, join(tmp, 'subnet.env'), ['--healthz-port=8471', '--healthz-ip=127.0.0.1']);
    await daemon.waitForSubnetEnv(60_000);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return await rssMiB(daemon.child.pid!);
  } finally {
    await daemon?.kill();
    await etcd.stop();
    await bed.destroy();
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * What the Node built-ins an etcd-mode daemon no longer loads would cost it (README, "Dependencies"):
 * each imported on top of those it does load (node:net, child_process, fs/promises).
 */
async function builtinCosts(): Promise<void> {
  const base = "await import('node:net'); await import('node:child_process'); await import('node:fs/promises')";
  const baseRss = await nodeRss(LAUNCHER_FLAGS, base);
  const costs: string[] = [];
  for (const mod of ['node:http2', 'node:http', 'node:crypto']) {
    const rss = await nodeRss(LAUNCHER_FLAGS, `${base}; await import('${mod}')`);
    costs.push(`${mod} +${(rss - baseRss).toFixed(1)}`);
  }
  console.log(`footprint: built-ins etcd mode does not load, each over a bare node with node:net, child_process and fs/promises (${baseRss.toFixed(1)} MiB): ${costs.join(', ')} MiB`);
}

export async function benchFootprint(): Promise<Row[]> {
  const idle = await idleFlanneld();
  const bare = await nodeRss(LAUNCHER_FLAGS, 'void 0');
  const bareDefault = await nodeRss([], 'void 0');
  console.log(`footprint: idle flanneld (etcd, vxlan, 2 peers, health port on) ${idle.toFixed(1)} MiB; bare node ${bare.toFixed(1)} MiB with the launcher's flags, ${bareDefault.toFixed(1)} MiB without`);
  const rows: Row[] = [
    {
      what: 'idle RSS, etcd mode (vxlan, 2 peers, health port on), 20 s after subnet.env',
      ours: `${idle.toFixed(1)} MiB`,
      baseline: `bare idle \`node\` with the same flags: ${bare.toFixed(1)} MiB (${bareDefault.toFixed(1)} MiB without)`,
      goal: '≤ 50 MiB',
      met: idle <= 50,
    },
  ];
  // The etcd client is ours now, HTTP/2 included (it replaced etcd3, 51.5 MiB here, then node:http2):
  // node:net is its floor; node:tls joins only when TLS is configured.
  const floor = await nodeRss(LAUNCHER_FLAGS, "await import('node:net')");
  for (const [what, mod] of [['the etcd registry (`subnet-lease/etcd/`)', '../subnet-lease/etcd/registry.js']] as const) {
    const rss = await nodeRss(LAUNCHER_FLAGS, `await import(${JSON.stringify(new URL(mod, import.meta.url).href)})`);
    console.log(`footprint: a bare node that imports ${what}: ${rss.toFixed(1)} MiB (node:net alone: ${floor.toFixed(1)} MiB)`);
    rows.push({ what: `RSS of a bare node that imports ${what}`, ours: `${rss.toFixed(1)} MiB`, baseline: `bare node: ${bare.toFixed(1)} MiB; with node:net: ${floor.toFixed(1)} MiB`, goal: '' });
  }
  await builtinCosts();
  return rows;
}
