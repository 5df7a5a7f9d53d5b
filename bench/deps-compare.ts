// Benchmark (as root): the packages a reader would expect flanneld to use and that it does not, measured
// against what it uses instead, in one run — the figures of the README's dependency section.
//   - npm `netlink` 0.3.0 vs our batched rtnetlink codec vs `ip -batch`: 5000 routes into a namespace;
//   - npm `ip-cidr` 4.0.2 vs common/ip.ts: parsing 65536 CIDRs, and the allocation walk (every /24 of a
//     /16, each checked against the Network and formatted);
//   - resident memory of a bare node after importing each.
// The two npm packages are not project dependencies: the bench loads them from a scratch folder,
// FLANNEL_DEPBENCH_DIR (default /tmp/depbench), and says how to fill it when they are missing.
// Usage: npm run build && node dist/bench/deps-compare.js [--routes N] [--rounds R]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const DIR = process.env.FLANNEL_DEPBENCH_DIR ?? '/tmp/depbench';
const NS = `fl-${process.pid}-bench-deps`;
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const dep = (name: string): string => pathToFileURL(join(DIR, 'node_modules', name, name === 'netlink' ? 'dist/index.js' : 'index.js')).href;

/** Child mode: runs inside the namespace (ip netns exec), programs N routes one way, prints the ms. */
async function child(mode: string, n: number): Promise<void> {
  const dst = (i: number): string => `10.${(i >> 8) & 255}.${i & 255}.0`;
  let ms: number;
  if (mode === 'ours') {
    const { openNative } = await import(pathToFileURL(resolve('dist/native/index.js')).href);
    const native = openNative();
    const link = await native.linkGet('eth0');
    const ops = Array.from({ length: n }, (_, i) => ({ op: 'route.replace', route: { dst: `${dst(i)}/24`, gateway: '198.18.0.2', ifindex: link.index } }));
    const t0 = performance.now();
    const errs = (await native.apply(ops)).filter((e: unknown) => e !== null);
    ms = performance.now() - t0;
    if (errs.length > 0) throw new Error(`${errs.length} routes refused`);
    await native.close();
  } else {
    const nl = await import(dep('netlink'));
    const sock = nl.createRtNetlink();
    const link = (await sock.getLinks()).find((l: { attrs: { ifname?: string } }) => l.attrs.ifname === 'eth0');
    const gw = Buffer.from([198, 18, 0, 2]);
    const add = (i: number): Promise<unknown> =>
      sock.newRoute(
        { family: 2, dstLen: 24, table: 254, protocol: 'BOOT', scope: 'UNIVERSE', type: 'UNICAST' },
        { dst: Buffer.from(dst(i).split('.').map(Number)), gateway: gw, oif: link.index },
        { flags: 0x400 | 0x100 }, // NLM_F_CREATE | NLM_F_REPLACE, as `ip route replace`
      );
    // One request per route, each awaiting its ack, WINDOW in flight: with all 5000 at once the
    // package's socket overflows and its native callback aborts the process (seen with 300).
    const WINDOW = 32;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: WINDOW }, async () => {
      while (next < n) await add(next++);
    }));
    ms = performance.now() - t0;
    sock.socket.close();
  }
  process.stdout.write(`${ms}\n`);
}

function ip(...a: string[]): string {
  return execFileSync('ip', ['-n', NS, ...a], { encoding: 'utf8' });
}

function routeCount(): number {
  return ip('-4', 'route', 'show').split('\n').filter((l) => l.startsWith('10.')).length;
}

function programRoutes(mode: string, n: number): number {
  ip('route', 'flush', '10.0.0.0/8');
  let ms: number;
  if (mode === 'ip -batch') {
    const batch = Array.from({ length: n }, (_, i) => `route replace 10.${(i >> 8) & 255}.${i & 255}.0/24 via 198.18.0.2 dev eth0`).join('\n');
    const t0 = performance.now();
    const r = spawnSync('ip', ['-n', NS, '-batch', '-'], { input: batch });
    ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`ip -batch failed: ${r.stderr}`);
  } else {
    const r = spawnSync('ip', ['netns', 'exec', NS, process.execPath, resolve('dist/bench/deps-compare.js'), '--child', mode === 'ours' ? 'ours' : 'netlink', '--routes', String(n)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`);
    ms = Number(r.stdout.trim());
  }
  const have = routeCount();
  if (have !== n) throw new Error(`${mode}: ${have} routes in the kernel, expected ${n}`);
  return ms;
}

async function cidrFigures(rounds: number): Promise<Record<string, { ours: number; ipCidr: number }>> {
  const ours = await import(pathToFileURL(resolve('dist/common/ip.js')).href);
  const IPCIDR = (await import(dep('ip-cidr'))).default;
  const texts = Array.from({ length: 65536 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  const time = (f: () => void): number => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  };
  const parse = { ours: [] as number[], ipCidr: [] as number[] };
  const walk = { ours: [] as number[], ipCidr: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    parse.ours.push(time(() => texts.forEach((t) => ours.IP4Net.parse(t))));
    parse.ipCidr.push(time(() => texts.forEach((t) => new IPCIDR(t))));
    // The allocation walk: every /24 of 10.244.0.0/16, checked against the Network and formatted.
    walk.ours.push(
      time(() => {
        const net = ours.IP4Net.parse('10.244.0.0/16');
        for (let ip = net.ip; ip < net.end; ip += 256) {
          const s = new ours.IP4Net(ip, 24);
          if (!net.contains(s.ip)) throw new Error('walk');
          s.toString();
        }
      }),
    );
    walk.ipCidr.push(
      time(() => {
        const net = new IPCIDR('10.244.0.0/16');
        for (let i = 0; i < 256; i++) {
          const s = new IPCIDR(`10.244.${i}.0/24`);
          if (!net.contains(s.start())) throw new Error('walk');
          s.toString();
        }
      }),
    );
  }
  return {
    parse: { ours: median(parse.ours), ipCidr: median(parse.ipCidr) },
    walk: { ours: median(walk.ours), ipCidr: median(walk.ipCidr) },
  };
}

/** RSS (MiB) of a bare node after importing `url` (null: nothing). */
function rssAfterImport(url: string | null): number {
  const code = `${url ? `await import(${JSON.stringify(url)});` : ''} await new Promise((r) => setTimeout(r, 500)); process.stdout.write(String(process.memoryUsage.rss() / 1048576));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`import ${url}: ${r.stderr}`);
  return Number(r.stdout);
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) return child(process.argv[process.argv.indexOf('--child') + 1]!, arg('routes', 5000));
  if (!existsSync(join(DIR, 'node_modules', 'netlink')) || !existsSync(join(DIR, 'node_modules', 'ip-cidr'))) {
    process.stderr.write(`the packages to compare with are missing; run: mkdir -p ${DIR} && npm install --prefix ${DIR} netlink@0.3.0 ip-cidr@4.0.2\n`);
    process.exit(2);
  }
  const n = arg('routes', 5000);
  const rounds = arg('rounds', 3);
  execFileSync('ip', ['netns', 'add', NS]);
  try {
    ip('link', 'set', 'lo', 'up');
    ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
    ip('link', 'set', 'eth0', 'up');
    ip('link', 'set', 'eth1', 'up');
    ip('addr', 'add', '198.18.0.1/24', 'dev', 'eth0');
    const modes = ['ours', 'npm netlink', 'ip -batch'];
    const times = new Map(modes.map((m) => [m, [] as number[]]));
    for (let r = 0; r < rounds; r++) for (const m of modes) times.get(m)!.push(programRoutes(m, n));
    for (const m of modes) console.log(`${n} routes, ${m}: ${times.get(m)!.map((x) => x.toFixed(0)).join(', ')} ms (median ${median(times.get(m)!).toFixed(0)})`);
  } finally {
    execFileSync('ip', ['netns', 'del', NS]);
  }
  const c = await cidrFigures(rounds);
  console.log(`parse 65536 CIDRs: common/ip.ts ${c.parse!.ours.toFixed(1)} ms, ip-cidr ${c.parse!.ipCidr.toFixed(1)} ms`);
  console.log(`allocation walk (256 /24s of a /16): common/ip.ts ${c.walk!.ours.toFixed(2)} ms, ip-cidr ${c.walk!.ipCidr.toFixed(2)} ms`);
  const bare = rssAfterImport(null);
  for (const [what, url] of [
    ['native/ (our rtnetlink addon)', pathToFileURL(resolve('dist/native/index.js')).href],
    ['common/ip.ts', pathToFileURL(resolve('dist/common/ip.js')).href],
    ['npm netlink', dep('netlink')],
    ['npm ip-cidr', dep('ip-cidr')],
  ] as const) {
    console.log(`RSS after importing ${what}: ${rssAfterImport(url).toFixed(1)} MiB (bare node ${bare.toFixed(1)})`);
  }
}

await main();
