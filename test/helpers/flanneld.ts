// Runs the built flanneld as a process inside a test-bed host namespace, against the test etcd in the
// switch namespace, and collects its log. Killed by PID in `kill()` and by the test bed's exit hook.
import { execFile, type ChildProcess } from 'node:child_process';
import type { StatusDocument } from '../../flanneld/probe/status.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { privateMounts } from './cni.js';
import { startEtcd, type EtcdInstance } from './etcd.js';
import { TestBed } from './netns.js';

export const FLANNELD = resolve('dist/flanneld/main.js');
/** The launcher users run (flanneld/flanneld): main.js with the V8 flags of the README's figures. */
export const FLANNELD_LAUNCHER = resolve('flanneld/flanneld');
export const SWITCH_ADDR = '198.18.0.254';

/** Polls `cond` every 100 ms until it holds; rejects naming `what` after `timeoutMs`. */
export async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class FlanneldProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private log = '';

  /**
   * Starts `flanneld --etcd-endpoints=http://198.18.0.254:2379 --iface=eth0 --subnet-file=… <args>` on
   * host `i`; with `{ etcd: false }` without --etcd-endpoints (kube mode passes its own flags in `args`);
   * with `{ root }` inside a private mount namespace whose /run is `<root>/run` (cni.ts privateMounts).
   */
  constructor(
    bed: TestBed,
    readonly host: number,
    readonly subnetFile: string,
    args: readonly string[] = [],
    env: NodeJS.ProcessEnv = {},
    opts: { etcd?: boolean; root?: string } = {},
  ) {
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    this.child = bed.spawn(bed.host(host), [
      ...(opts.root ? privateMounts(opts.root) : []),
      'env',
      ...envArgs,
      `FLANNELD_NODE=${process.execPath}`,
      FLANNELD_LAUNCHER,
      ...(opts.etcd === false ? [] : [`--etcd-endpoints=http://${SWITCH_ADDR}:2379`]),
      '--iface=eth0',
      `--subnet-file=${subnetFile}`,
      ...args,
    ]);
    this.child.stdout?.on('data', (b: Buffer) => (this.log += b.toString()));
    this.child.stderr?.on('data', (b: Buffer) => (this.log += b.toString()));
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
  }

  output(): string {
    return this.log;
  }

  subnetEnv(): Promise<string> {
    return readFile(this.subnetFile, 'utf8').catch(() => '');
  }

  async waitForSubnetEnv(timeoutMs = 30_000): Promise<string> {
    await until(`subnet.env of host ${this.host} (log so far:\n${this.log})`, async () => (await this.subnetEnv()) !== '', timeoutMs);
    return this.subnetEnv();
  }

  /** SIGTERM, then the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** A test bed with etcd in the switch namespace and the flanneld processes a test starts on its hosts. */
export interface FlanneldCluster {
  readonly bed: TestBed;
  readonly etcd: EtcdInstance;
  /** A temp folder removed afterwards; host i keeps its subnet.env in <tmp>/h<i>/. */
  readonly tmp: string;
  subnetFile(host: number): string;
  /** Every flanneld started through `start`, in order. */
  readonly started: readonly FlanneldProcess[];
  /** Starts flanneld on `host` with `subnetFile(host)`; killed by PID in the `after` hook. */
  start(host: number, args?: readonly string[], env?: NodeJS.ProcessEnv): FlanneldProcess;
}

/**
 * Registers hooks in the enclosing describe: `before` builds a TestBed of `hosts` hosts, starts etcd on the
 * switch (198.18.0.254) and, when given, puts `config` as the network config; `after` kills every flanneld
 * started through the cluster, stops etcd, removes the namespaces and the temp folder (also after a failure).
 */
export function useFlanneldCluster(opts: { tag: string; hosts: number; config?: string }): FlanneldCluster {
  let state: { bed: TestBed; etcd: EtcdInstance; tmp: string } | undefined;
  const daemons: FlanneldProcess[] = [];
  const get = (): NonNullable<typeof state> => {
    if (!state) throw new Error('the flanneld cluster is not up (used outside its describe, or before failed)');
    return state;
  };
  before(async function () {
    this.timeout(120_000);
    const bed = await TestBed.create({ tag: opts.tag, hosts: opts.hosts });
    const tmp = await mkdtemp(join(tmpdir(), `fl-${opts.tag}-`));
    const etcd = await startEtcd({ netns: bed.sw, listenHost: SWITCH_ADDR }).catch(async (e: unknown) => {
      await bed.destroy();
      await rm(tmp, { recursive: true, force: true });
      throw e;
    });
    state = { bed, etcd, tmp };
    if (opts.config) await etcd.etcdctl(['put', '/coreos.com/network/config', opts.config]);
  });
  after(async function () {
    this.timeout(60_000);
    for (const d of daemons) await d.kill();
    await state?.etcd.stop();
    await state?.bed.destroy();
    if (state) await rm(state.tmp, { recursive: true, force: true });
  });
  const subnetFile = (host: number): string => join(get().tmp, `h${host}`, 'subnet.env');
  return {
    get bed() {
      return get().bed;
    },
    get etcd() {
      return get().etcd;
    },
    get tmp() {
      return get().tmp;
    },
    subnetFile,
    started: daemons,
    start(host, args = [], env = {}) {
      const d = new FlanneldProcess(get().bed, host, subnetFile(host), args, env);
      daemons.push(d);
      return d;
    },
  };
}

/**
 * `flanneld status --output=json` run inside host `host`'s namespace against the daemon's health server
 * on `port`: the /status document, or null when the command printed none (no daemon, not started yet).
 */
export function statusOf(bed: TestBed, host: number, port: number): Promise<StatusDocument | null> {
  return new Promise((resolveDoc) => {
    execFile('ip', ['netns', 'exec', bed.host(host), process.execPath, FLANNELD, 'status', `--healthz-port=${port}`, '--output=json'], (_err, stdout) => {
      try {
        resolveDoc(JSON.parse(stdout) as StatusDocument);
      } catch {
        resolveDoc(null);
      }
    });
  });
}
