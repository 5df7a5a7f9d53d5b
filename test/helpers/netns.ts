// A test bed of network namespaces, following the safety rules in the README's "Tests" section. Everything
// lives in namespaces named with a prefix unique to the run ("fl-<pid>-<tag>"), nothing is added to the
// root namespace, and everything is removed again: by `destroy()`, and by a process `exit` handler if a
// test run dies before that.
//
// API
//   const bed = await TestBed.create({ tag: 'vx', hosts: 3 });
//     switch namespace `${bed.prefix}-sw` with bridge br0 198.18.0.254/24, and hosts 1..N in
//     namespaces `${bed.prefix}-h<i>`, each with eth0 = 198.18.0.<i>/24 (veth to br0), lo up,
//     net.ipv4.ip_forward=1. Leftover namespaces with the same prefix are removed first.
//     With { ipv6: true } also fd00:198:18::<i>/64 on eth0 (fd00:198:18::fe on br0), without DAD,
//     and IPv6 forwarding on. With { ipv6: true, ipv4: false } the underlay is IPv6-only: no IPv4
//     address on br0 or eth0.
//   bed.host(i)                  namespace name of host i
//   bed.hostAddr(i)              "198.18.0.<i>"
//   bed.hostAddr6(i)             "fd00:198:18::<i>"
//   bed.sw                       the switch namespace
//   await bed.ip(ns, ...args)    runs `ip -n <ns> args...`, resolves with stdout, rejects with stderr
//   await bed.exec(ns, argv)     runs argv inside the namespace (`ip netns exec`), resolves with stdout
//   await bed.sh(ns, script)     the same for a `sh -c` script
//   await bed.addPod(i, name, '10.244.1.2/24', '10.244.1.1')
//                                a pod namespace `${prefix}-<name>` with eth0 on a bridge cni0 of host i
//                                (created with the gateway address on first use); returns the namespace
//   bed.spawn(ns, argv)          starts a long-running process inside the namespace; killed by destroy()
//   await bed.destroy()          kills spawned processes (by PID), then every process still inside its
//                                namespaces (`ip netns pids`: daemons a spawned process left behind,
//                                like wireguard-go), and deletes every namespace; idempotent
//   await TestBed.single(tag)    one bare namespace `${prefix}` with lo up (for contract tests)
// Also: `netnsPath(name)` gives /run/netns/<name>; `removeNamespaces(prefix)` deletes leftovers.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const live = new Set<string>();
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of children) if (c.pid && c.exitCode === null) tryKill(c.pid);
    for (const ns of live) for (const pid of pidsInSync(ns)) tryKill(pid);
    for (const ns of live) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
  });
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already exited */
  }
}

/** PIDs of the processes inside namespace `ns` (none when it is gone). */
function pidsInSync(ns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

/** Removes every namespace whose name starts with `prefix-` or equals `prefix` (leftovers of a crashed run). */
export async function removeNamespaces(prefix: string): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0];
    if (name && (name === prefix || name.startsWith(`${prefix}-`))) await run('ip', ['netns', 'del', name]).catch(() => undefined);
  }
}

export class TestBed {
  readonly sw: string;
  private readonly own: string[] = [];
  private readonly procs = new Set<ChildProcess>();
  private readonly bridges = new Set<number>();

  private constructor(
    readonly prefix: string,
    readonly hosts: number,
    readonly ipv6 = false,
    readonly ipv4 = true,
  ) {
    this.sw = `${prefix}-sw`;
  }

  static async create(opts: { tag: string; hosts?: number; ipv6?: boolean; ipv4?: boolean }): Promise<TestBed> {
    const bed = new TestBed(`fl-${process.pid}-${opts.tag}`, opts.hosts ?? 3, opts.ipv6 === true, opts.ipv4 !== false);
    installExitHook();
    await removeNamespaces(bed.prefix);
    try {
      await bed.build();
    } catch (e) {
      await bed.destroy();
      throw e;
    }
    return bed;
  }

  /** One namespace with only lo (up) in it; `destroy()` removes it. */
  static async single(tag: string): Promise<TestBed> {
    const bed = new TestBed(`fl-${process.pid}-${tag}`, 0);
    installExitHook();
    await removeNamespaces(bed.prefix);
    await bed.addNamespace(bed.prefix);
    return bed;
  }

  host(i: number): string {
    return `${this.prefix}-h${i}`;
  }

  hostAddr(i: number): string {
    return `198.18.0.${i}`;
  }

  hostAddr6(i: number): string {
    return `fd00:198:18::${i.toString(16)}`;
  }

  private async addNamespace(name: string): Promise<void> {
    await run('ip', ['netns', 'add', name]);
    live.add(name);
    this.own.push(name);
    await this.ip(name, 'link', 'set', 'lo', 'up');
  }

  private async build(): Promise<void> {
    await this.addNamespace(this.sw);
    await this.ip(this.sw, 'link', 'add', 'br0', 'type', 'bridge');
    if (this.ipv4) await this.ip(this.sw, 'addr', 'add', '198.18.0.254/24', 'dev', 'br0');
    await this.ip(this.sw, 'link', 'set', 'br0', 'up');
    if (this.ipv6) await this.ip(this.sw, 'addr', 'add', 'fd00:198:18::fe/64', 'dev', 'br0', 'nodad');
    for (let i = 1; i <= this.hosts; i++) {
      const h = this.host(i);
      await this.addNamespace(h);
      await this.ip(h, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `sw${i}`, 'netns', this.sw);
      await this.ip(this.sw, 'link', 'set', `sw${i}`, 'master', 'br0', 'up');
      if (this.ipv4) await this.ip(h, 'addr', 'add', `${this.hostAddr(i)}/24`, 'dev', 'eth0');
      await this.ip(h, 'link', 'set', 'eth0', 'up');
      await this.exec(h, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      if (this.ipv6) {
        await this.ip(h, 'addr', 'add', `${this.hostAddr6(i)}/64`, 'dev', 'eth0', 'nodad');
        await this.exec(h, ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
      }
    }
  }

  async ip(ns: string, ...args: string[]): Promise<string> {
    return (await run('ip', ['-n', ns, ...args])).stdout;
  }

  async exec(ns: string, argv: string[]): Promise<string> {
    return (await run('ip', ['netns', 'exec', ns, ...argv], { maxBuffer: 64 << 20 })).stdout;
  }

  async sh(ns: string, script: string): Promise<string> {
    return this.exec(ns, ['sh', '-c', script]);
  }

  /** A pod: namespace `${prefix}-<name>`, veth eth0 inside, its peer on bridge cni0 of host `i`. */
  async addPod(i: number, name: string, cidr: string, gateway: string): Promise<string> {
    const h = this.host(i);
    const pod = `${this.prefix}-${name}`;
    if (!this.bridges.has(i)) {
      await this.ip(h, 'link', 'add', 'cni0', 'type', 'bridge');
      await this.ip(h, 'addr', 'add', `${gateway}/${cidr.split('/')[1]}`, 'dev', 'cni0');
      await this.ip(h, 'link', 'set', 'cni0', 'up');
      this.bridges.add(i);
    }
    await this.addNamespace(pod);
    const peer = `v${name}`.slice(0, 15);
    await this.ip(pod, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', peer, 'netns', h);
    await this.ip(h, 'link', 'set', peer, 'master', 'cni0', 'up');
    await this.ip(pod, 'addr', 'add', cidr, 'dev', 'eth0');
    await this.ip(pod, 'link', 'set', 'eth0', 'up');
    await this.ip(pod, 'route', 'add', 'default', 'via', gateway);
    return pod;
  }

  /** Starts argv inside `ns`; destroy() (or process exit) kills it by PID. */
  spawn(ns: string, argv: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.add(child);
    children.add(child);
    child.once('exit', () => {
      this.procs.delete(child);
      children.delete(child);
    });
    return child;
  }

  async destroy(): Promise<void> {
    for (const c of this.procs) if (c.pid) tryKill(c.pid);
    this.procs.clear();
    for (const ns of this.own) for (const pid of pidsInSync(ns)) tryKill(pid);
    for (const ns of this.own.splice(0).reverse()) {
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
      live.delete(ns);
    }
  }
}
