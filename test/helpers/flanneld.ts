// Runs the built flanneld as a process inside a test-bed host namespace, against the test etcd in the
// switch namespace, and collects its log. Killed by PID in `kill()` and by the test bed's exit hook.
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { TestBed } from './netns.js';

export const FLANNELD = resolve('dist/flanneld/main.js');
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
   * host `i`; with `{ etcd: false }` without --etcd-endpoints (kube mode passes its own flags in `args`).
   */
  constructor(
    bed: TestBed,
    readonly host: number,
    readonly subnetFile: string,
    args: readonly string[] = [],
    env: NodeJS.ProcessEnv = {},
    opts: { etcd?: boolean } = {},
  ) {
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    this.child = bed.spawn(bed.host(host), [
      'env',
      ...envArgs,
      process.execPath,
      FLANNELD,
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
