// Starts a throw-away etcd (Debian's 3.4 binary) for a test: fresh --data-dir in a temp folder, free
// ports on 127.0.0.1 (or fixed ports inside a network namespace), ready when `etcdctl endpoint health`
// says so. Stopped by PID in an `after` hook, and by a process 'exit' handler should mocha die first.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { makeTestCerts, type TestCerts } from './tls.js';

export interface EtcdTLSOptions {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** --client-cert-auth: clients must present a certificate signed by caFile. */
  clientCertAuth: boolean;
  /** The certificate etcdctl presents (needed when clientCertAuth is on). */
  clientCertFile?: string;
  clientKeyFile?: string;
}

export interface EtcdOptions {
  /** Run etcd (and etcdctl) inside this existing network namespace, through `ip netns exec`. */
  netns?: string;
  /** Client address to listen on; default 127.0.0.1. Also listens on 127.0.0.1 when different. */
  listenHost?: string;
  /** Default: a free port when not in a netns, 2379 inside one. */
  clientPort?: number;
  peerPort?: number;
  tls?: EtcdTLSOptions;
  extraArgs?: string[];
  /**
   * A member of a cluster: its name, the address its peer URL listens on (default 127.0.0.1), and the
   * whole --initial-cluster ("a=http://198.18.0.2:2380,b=…"). Members of one cluster must be started
   * together (Promise.all): none is healthy before a quorum is up.
   */
  member?: { name: string; peerHost: string; initialCluster: string };
}

export interface EtcdInstance {
  /** `http://host:port` (https with TLS). */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  /** Runs etcdctl (API 3) against this etcd and returns its stdout; rejects with stderr on failure. */
  etcdctl(args: string[], opts?: { user?: string }): Promise<string>;
  /**
   * One sample of etcd's Prometheus metrics, e.g. metric('grpc_server_started_total', { grpc_method: 'Range' })
   * (labels not given are ignored; matching samples are summed). Plain http outside a netns only.
   */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** SIGTERM, then SIGKILL after 5 s; removes the temp folder. Safe to call twice. */
  stop(): Promise<void>;
}

const TMP_PREFIX = 'flannel-ts-etcd-';
const live = new Map<number, string>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const [pid, dir] of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills the etcd of an earlier run whose mocha died without cleaning up (checked by its cmdline). */
function cleanLeftovers(): void {
  for (const name of readdirSync(os.tmpdir())) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    let owner: { ownerPid: number; etcdPid: number };
    try {
      owner = JSON.parse(readFileSync(path.join(dir, 'owner.json'), 'utf8')) as typeof owner;
    } catch {
      continue;
    }
    if (alive(owner.ownerPid)) continue;
    try {
      if (readFileSync(`/proc/${owner.etcdPid}/cmdline`, 'utf8').includes(dir)) process.kill(owner.etcdPid, 'SIGKILL');
    } catch {
      // not running any more
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function inNetns(netns: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];
}

function etcdArgs(o: EtcdOptions, dir: string, host: string, clientPort: number, peerPort: number): string[] {
  const scheme = o.tls ? 'https' : 'http';
  const listen = [`${scheme}://${host}:${clientPort}`];
  if (host !== '127.0.0.1') listen.push(`${scheme}://127.0.0.1:${clientPort}`);
  const peer = `http://${o.member?.peerHost ?? '127.0.0.1'}:${peerPort}`;
  const name = o.member?.name ?? 'default';
  const args = [
    '--name', name, '--data-dir', path.join(dir, 'data'),
    '--listen-client-urls', listen.join(','), '--advertise-client-urls', listen[0]!,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', o.member?.initialCluster ?? `default=${peer}`,
    '--log-outputs', path.join(dir, 'etcd.log'), '--logger', 'zap',
  ];
  if (o.tls) {
    args.push('--cert-file', o.tls.certFile, '--key-file', o.tls.keyFile, '--trusted-ca-file', o.tls.caFile);
    if (o.tls.clientCertAuth) args.push('--client-cert-auth');
  }
  return [...args, ...(o.extraArgs ?? [])];
}

function ctlTLSArgs(tls: EtcdTLSOptions | undefined): string[] {
  if (!tls) return [];
  const args = ['--cacert', tls.caFile];
  if (tls.clientCertFile && tls.clientKeyFile) args.push('--cert', tls.clientCertFile, '--key', tls.clientKeyFile);
  return args;
}

export async function startEtcd(o: EtcdOptions = {}): Promise<EtcdInstance> {
  installExitHandler();
  cleanLeftovers();
  const dir = mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX));
  const host = o.listenHost ?? '127.0.0.1';
  const clientPort = o.clientPort ?? (o.netns ? 2379 : await freePort());
  const peerPort = o.peerPort ?? (o.netns ? 2380 : await freePort());
  const [cmd, args] = inNetns(o.netns, 'etcd', etcdArgs(o, dir, host, clientPort, peerPort));
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid!;
  live.set(pid, dir);
  writeFileSync(path.join(dir, 'owner.json'), JSON.stringify({ ownerPid: process.pid, etcdPid: pid }));
  const endpoint = `${o.tls ? 'https' : 'http'}://${host}:${clientPort}`;

  const etcdctl = (ctlArgs: string[], opts: { user?: string } = {}): Promise<string> => {
    const all = ['--endpoints', endpoint, ...ctlTLSArgs(o.tls), ...(opts.user ? ['--user', opts.user] : []), ...ctlArgs];
    const [c, a] = inNetns(o.netns, 'etcdctl', all);
    return new Promise((resolve, reject) => {
      execFile(c, a, { env: { ...process.env, ETCDCTL_API: '3' } }, (err, out, errOut) => {
        if (err) reject(new Error(`etcdctl ${ctlArgs.join(' ')}: ${errOut || err.message}`));
        else resolve(out);
      });
    });
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => alive(pid) && process.kill(pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    live.delete(pid);
    rmSync(dir, { recursive: true, force: true });
  };
  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
    if (o.tls || o.netns) throw new Error('metric() needs plain http outside a network namespace');
    const text = await (await fetch(`${endpoint}/metrics`)).text();
    return sumSamples(text, name, labels);
  };
  const instance: EtcdInstance = { endpoint, host, port: clientPort, pid, dataDir: dir, etcdctl, metric, stop };
  await waitHealthy(instance, child, () => stderr, dir).catch(async (e: unknown) => {
    await stop();
    throw e;
  });
  return instance;
}

function sumSamples(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** Polls `etcdctl endpoint health` (no fixed sleep); fails early if etcd exits. */
async function waitHealthy(etcd: EtcdInstance, child: ReturnType<typeof spawn>, stderr: () => string, dir: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      let log = '';
      try {
        log = readFileSync(path.join(dir, 'etcd.log'), 'utf8').slice(-2000);
      } catch {
        // no log written
      }
      throw new Error(`etcd exited early (${child.exitCode ?? child.signalCode}): ${stderr()}${log}`);
    }
    try {
      await etcd.etcdctl(['endpoint', 'health', '--command-timeout=1s']);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`etcd at ${etcd.endpoint} not healthy after 20 s: ${(e as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Registers mocha hooks in the enclosing describe: etcd starts in `before` and stops in `after`.
 * Returns a getter for the running instance.
 */
export function useEtcd(o: EtcdOptions | (() => EtcdOptions) = {}): () => EtcdInstance {
  let etcd: EtcdInstance | undefined;
  before(async function () {
    this.timeout(30_000);
    etcd = await startEtcd(typeof o === 'function' ? o() : o);
  });
  after(async function () {
    this.timeout(10_000);
    await etcd?.stop();
  });
  return () => {
    if (!etcd) throw new Error('etcd is not running (used outside the describe that called useEtcd?)');
    return etcd;
  };
}

/**
 * useEtcd with TLS and client-certificate auth: an openssl-made CA and certificates in a temp folder made
 * in a `before` hook (a filtered-out suite leaves no folder behind) and removed in `after`.
 */
export function useTlsEtcd(): { etcd: () => EtcdInstance; certs: () => TestCerts } {
  let dir: string | undefined;
  let certs: TestCerts | undefined;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'flannel-ts-certs-'));
    certs = makeTestCerts(dir);
  });
  const getCerts = (): TestCerts => {
    if (!certs) throw new Error('no test certificates (used outside the describe that called useTlsEtcd?)');
    return certs;
  };
  const etcd = useEtcd(() => {
    const c = getCerts();
    return {
      tls: {
        certFile: c.serverCertFile, keyFile: c.serverKeyFile, caFile: c.caFile, clientCertAuth: true,
        clientCertFile: c.clientCertFile, clientKeyFile: c.clientKeyFile,
      },
    };
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));
  return { etcd, certs: getCerts };
}
